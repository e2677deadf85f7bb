"""Building the Slack side: the Web API client (with its configurable base URL) and the Bolt
`App` with Watchdesk's listeners attached.

Wiring order, because the desk needs its sinks and the listeners need the desk::

    client = build_web_client(settings.slack.bot_token, settings.slack.api_url)
    sink = SlackSink(client)                       # registered with the outbox
    app = build_app(desk, client, signing_secret=settings.slack.signing_secret,
                    group_ids=settings.permissions.groups)
    running = runner.start(app, mode=settings.slack.mode, app_token=settings.slack.app_token,
                           host=settings.slack.http_host, port=settings.slack.http_port)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot.chat.slack.client import build_web_client
from bot.chat.slack.directory import SlackDirectory
from bot.chat.slack.listeners import commands, messages
from bot.desk.commands import Desk
from bot.errors import ConfigError

__all__ = ["build_app", "build_web_client", "has_signing_secret"]

BOLT_LOGGER = "slack_bolt.App"


class _ExpectedBoltNotes(logging.Filter):
    """Drops the one Bolt warning every correct start logs: Bolt reads SLACK_BOT_TOKEN from the
    environment even though we hand it a ready `WebClient`, then warns that the token is
    unused. Every other Bolt message passes."""

    NOTES = frozenset({warning_client_prioritized_and_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.NOTES


_BOLT_FILTER = _ExpectedBoltNotes()


def quiet_expected_bolt_notes() -> None:
    """Install the filter once (idempotent: logging keeps one copy of the same filter)."""
    logging.getLogger(BOLT_LOGGER).addFilter(_BOLT_FILTER)


def build_app(
    desk: Desk,
    client: WebClient,
    *,
    signing_secret: str | None = None,
    group_ids: Sequence[str] = (),
    directory: SlackDirectory | None = None,
) -> App:
    """The Bolt app with every Watchdesk listener. Construction calls ``auth.test`` once, so a
    wrong token fails here, at start, with what to do.

    ``signing_secret`` is required for HTTP mode (requests are verified with it); Socket Mode
    needs none. `runner.serve_http` refuses an app built without one.
    """
    quiet_expected_bolt_notes()
    try:
        app = App(
            client=client,
            signing_secret=signing_secret or "",
            name="watchdesk",
            process_before_response=False,
            # Acks and the slow lazy halves share this pool; room for bursts keeps acks < 3 s.
            listener_executor=ThreadPoolExecutor(
                max_workers=16, thread_name_prefix="slack-listener"
            ),
        )
    except BoltError as exc:
        raise ConfigError(
            f"Slack refused SLACK_BOT_TOKEN ({exc}); copy the Bot User OAuth Token (xoxb-…) again, "
            "check SLACK_API_URL, then run `watchdesk doctor`"
        ) from exc
    # Verdict groups must be resolved too, or a checker in one could never record a verdict.
    directory = directory or SlackDirectory(client, [*group_ids, *desk.verdict_groups])
    commands.register(app, desk, directory)
    messages.register(app, desk, directory)
    return app


def has_signing_secret(app: App) -> bool:
    """Whether HTTP requests to this app can be verified (Bolt keeps the secret privately)."""
    return bool(getattr(app, "_signing_secret", ""))
