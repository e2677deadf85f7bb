"""Slash commands ``/watch``, ``/feeds`` and ``/claims``: acknowledge at once, run later, answer
the user privately.

Slack gives a command 3 seconds to be acknowledged. The ack carries no text; the desk call (which
may touch the database or fetch a URL for ``/watch test``) runs in a Bolt lazy listener and its
reply goes back through the command's ``response_url`` as an ephemeral message. Parsing the
command text, Slack's markup included (the manifest sets ``should_escape: true`` so channels
arrive as ``<#C0123|news>``), is the desk's job (`Desk.run_text_command`); this module only
builds the `Actor` and escapes the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.chat.slack.blocks import render_reply
from bot.chat.slack.directory import SlackDirectory
from bot.desk.commands import Desk

log = logging.getLogger(__name__)

COMMANDS = ("watch", "feeds", "claims")
FAILURE_TEXT = "Watchdesk could not run that command (the error is logged); try again in a minute."


def register(app: App, desk: Desk, directory: SlackDirectory) -> None:
    """Attach one listener per slash command (names as in config/slack-manifest.yml)."""
    for name in COMMANDS:
        app.command(f"/{name}")(ack=acknowledge, lazy=[command_runner(desk, directory, name)])


def acknowledge(ack: Ack) -> None:
    """Empty ack within Slack's 3 s: the real answer follows via response_url."""
    ack()


def command_runner(desk: Desk, directory: SlackDirectory, name: str) -> Callable[..., None]:
    """The lazy half of one command. Bolt injects arguments by parameter name."""

    def run_command(command: dict[str, Any], respond: Respond) -> None:
        try:
            actor = directory.actor(
                command["user_id"], command.get("channel_id", ""), command.get("user_name", "")
            )
            reply_text = desk.run_text_command(actor, name, command.get("text") or "").text
        except Exception:
            log.exception("/%s %r failed", name, command.get("text"))
            reply_text = FAILURE_TEXT
        respond(text=render_reply(reply_text), response_type="ephemeral", replace_original=False)

    run_command.__name__ = f"run_{name}_command"
    return run_command
