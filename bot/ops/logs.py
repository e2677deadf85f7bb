"""The one place logging is configured: readable text by default, one JSON object per line with
``WATCHDESK_LOG_FORMAT=json``, and no secret in either.

Every record goes through `Redactor` before it is formatted: the configured chat tokens (the
values of ``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``, ``SLACK_SIGNING_SECRET``, ``DISCORD_TOKEN``)
and anything shaped like a token (``xoxb-…``, ``xapp-…``, a Discord bot token, an
``Authorization`` header's value, the password in a database URL) are replaced by
``[redacted]`` in the message, its arguments, the traceback and the id fields. A library that
logs a request's headers or a URL with a password cannot leak it this way.

The pipeline passes the ids an operator searches by with ``extra=`` (`ID_FIELDS`); the JSON
format makes them fields of their own, the text format leaves them out (they are in the words).
Only the standard library is imported here: the CLI configures logging before anything else.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

from bot.errors import ConfigError

FORMAT_ENV = "WATCHDESK_LOG_FORMAT"
FORMATS = ("text", "json")
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")
ID_FIELDS = ("feed_id", "article_id", "alert_id", "delivery_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
OURS = "_watchdesk_handler"  # marks the handler `configure_logging` installed
MIN_SECRET_CHARS = 8  # shorter configured "secrets" are test values, not worth mangling text for

TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack bot/user/app-level/config tokens
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}"), REDACTED),
    # a Discord bot token: base64 user id . timestamp . HMAC
    (re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"), REDACTED),
    # an Authorization header as text, in a dict's repr or in a header list
    (
        re.compile(
            r"""(?i)(authorization['"]?\s*[:=,]\s*\(?\s*['"]?)"""
            r"""(?:(?:bearer|bot|basic|token)\s+)?[^\s'",)}\]]+"""
        ),
        rf"\1{REDACTED}",
    ),
    # user:password@ in any URL (database URLs above all)
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)", re.IGNORECASE),
        rf"\1{REDACTED}\2",
    ),
)


class Redactor(logging.Filter):
    """Rewrites a record so that no configured secret or token-shaped string survives in it.

    Installed on the handler, so records from every library pass through it. The message is
    rendered (msg % args) and redacted, and the traceback formatted here and redacted, so no
    formatter ever sees the original."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True
        )

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in TOKEN_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the exception
    text when there is one, and whichever of `ID_FIELDS` the call passed."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def log_format(env: Mapping[str, str]) -> str:
    """``WATCHDESK_LOG_FORMAT``: "text" (the default) or "json"; anything else is a mistake
    that would silently lose structured logs, so it is refused."""
    value = (env.get(FORMAT_ENV) or "text").strip().lower()
    if value not in FORMATS:
        raise ConfigError(f"{FORMAT_ENV} must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def configured_secrets(env: Mapping[str, str]) -> list[str]:
    return [env[name] for name in SECRET_ENV if env.get(name)]


def configure_logging(
    level: int,
    *,
    quiet: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    force: bool = False,
) -> logging.Handler | None:
    """Install one redacting handler on ``stream`` (stderr) in the format ``env`` asks for, at
    ``level``; ``quiet`` loggers only speak up for warnings. Like `logging.basicConfig`, a
    process whose root logger already has someone else's handlers (an embedding host, pytest)
    is left as it is unless ``force``; a handler installed here before is replaced. Returns the
    handler installed, if any."""
    env = os.environ if env is None else env
    fmt = log_format(env)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, OURS, False)]:
        root.removeHandler(old)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    if root.handlers and not force:
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, OURS, True)
    handler.addFilter(Redactor(configured_secrets(env)))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
