"""Slash commands `/watch`, `/feeds`, `/claims`, `/digest` and `/why`: acknowledge at once, run later,
the user privately.

Slack gives a command 3 seconds to be acknowledged. The ack carries no text; the desk call (which
may touch the database or fetch a URL for ``/watch test``) runs in a Bolt lazy listener and its
reply goes back through the command's ``response_url`` as an ephemeral message. Slack's markup
(the manifest sets ``should_escape: true`` so channels arrive as ``<#C0123|news>``) is undone by
`bot.chat.slack.inbound` before the desk parses the command; the whole handler runs behind the
desk's one boundary (`bot.desk.boundary`), and the structured reply is rendered in Slack syntax.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.chat.slack.directory import SlackDirectory
from bot.chat.slack.inbound import inbound_text
from bot.chat.slack.replies import render_reply
from bot.desk import boundary
from bot.desk.commands import Desk, Reply

log = logging.getLogger(__name__)

COMMANDS = ("watch", "feeds", "claims", "digest", "why")


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
        def run() -> Reply:
            actor = directory.actor(
                command["user_id"], command.get("channel_id", ""), command.get("user_name", "")
            )
            return desk.run_text_command(actor, name, inbound_text(command.get("text") or ""))

        reply = boundary.answer(run, f"/{name} {command.get('text')!r}")
        text = render_reply(reply, directory.workspace_url())
        respond(text=text, response_type="ephemeral", replace_original=False)

    run_command.__name__ = f"run_{name}_command"
    return run_command
