"""Logs: readable text by default, one JSON object per line on request, never a secret."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.ops.logs import REDACTED, Redactor, configure_logging
from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[2]

SLACK_BOT = "xoxb-2210535565-4185238721-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_APP = "xapp-1-A04RFLEW1-4858837219510-0f5c8e3a1b2d4c6e8f0a1b2c3d4e5f6a"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
DISCORD = "MTA4NzY1NDMyMTAxMjM0NTY3OA.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab"
ENV = {
    "SLACK_BOT_TOKEN": SLACK_BOT,
    "SLACK_APP_TOKEN": SLACK_APP,
    "SLACK_SIGNING_SECRET": SIGNING,
    "DISCORD_TOKEN": DISCORD,
}
# Token-shaped strings that are NOT the configured ones: caught by their shape.
OTHER_SLACK = "xoxb-9999999999-8888888888-ZyXwVuTsRqPoNmLkJiHgFeDc"
OTHER_DISCORD = "ODc2NTQzMjEwOTg3NjU0MzIx.Xy12Ab.zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210zz"
DB_PASSWORD = "s3cr3t-Passw0rd"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A JSON log handler as `watchdesk` installs it, with the test's secrets configured."""
    out = io.StringIO()
    env = {**ENV, "WATCHDESK_LOG_FORMAT": "json"}
    handler = configure_logging(logging.DEBUG, env=env, stream=out, force=True)
    try:
        yield logging.getLogger("bot.test"), out
    finally:
        logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]


def records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def assert_clean(text: str) -> None:
    for secret in (*ENV.values(), OTHER_SLACK, OTHER_DISCORD, DB_PASSWORD, "Bearer-less-xyz123"):
        assert secret not in text, secret


def test_json_lines_carry_time_level_logger_message_and_the_ids(logged) -> None:
    log, out = logged
    log.warning("feed %s failed", 7, extra={"feed_id": 7})
    log.info("sent", extra={"delivery_id": 12, "alert_id": 3, "article_id": 40})
    first, second = records(out)
    assert first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert first["message"] == "feed 7 failed" and first["feed_id"] == 7
    assert first["time"].endswith("+00:00") and "exception" not in first
    assert {k: second[k] for k in ("delivery_id", "alert_id", "article_id")} == {
        "delivery_id": 12,
        "alert_id": 3,
        "article_id": 40,
    }
    assert "feed_id" not in second


def test_configured_tokens_are_redacted_in_messages_and_args(logged) -> None:
    log, out = logged
    log.info(f"connecting with {SLACK_BOT} and {SLACK_APP}")
    log.info("secret %s, token %r", SIGNING, DISCORD)
    log.info("headers: %s", {"Authorization": "Bot Bearer-less-xyz123", "Accept": "json"})
    text = out.getvalue()
    assert_clean(text)
    assert text.count(REDACTED) >= 5
    assert "'Accept': 'json'" in records(out)[2]["message"]  # the rest of the line survives


def test_token_shaped_strings_are_redacted_even_when_not_configured(logged) -> None:
    log, out = logged
    log.info("old token %s", OTHER_SLACK)
    log.info("discord %s", OTHER_DISCORD)
    log.info("Authorization: Bearer abc.def.ghi-123 sent")
    log.info("db postgresql+psycopg://watchdesk:%s@db.internal:5432/desk", DB_PASSWORD)
    messages = [r["message"] for r in records(out)]
    assert_clean(out.getvalue())
    assert "abc.def.ghi-123" not in messages[2] and messages[2].endswith("sent")
    assert messages[3] == f"db postgresql+psycopg://watchdesk:{REDACTED}@db.internal:5432/desk"


def test_tracebacks_are_redacted(logged) -> None:
    log, out = logged
    try:
        raise RuntimeError(f"Slack said invalid_auth for {SLACK_BOT} (also {OTHER_DISCORD})")
    except RuntimeError:
        log.exception("posting failed", extra={"alert_id": 5})
    [record] = records(out)
    assert "Traceback" in record["exception"] and "RuntimeError" in record["exception"]
    assert record["alert_id"] == 5
    assert_clean(out.getvalue())


def test_the_text_format_is_readable_and_redacted_too() -> None:
    out = io.StringIO()
    handler = configure_logging(logging.INFO, env=ENV, stream=out, force=True)
    try:
        log = logging.getLogger("bot.feeds.poll")
        log.warning("feed 3 failed", extra={"feed_id": 3})
        try:
            raise ValueError(SLACK_APP)
        except ValueError:
            log.exception("crash with %s", DISCORD)
    finally:
        logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert lines[0].endswith(" WARNING bot.feeds.poll: feed 3 failed")
    assert not lines[0].startswith("{")
    assert "Traceback (most recent call last):" in out.getvalue()
    assert_clean(out.getvalue())


def test_other_handlers_see_the_redacted_record_too() -> None:
    """The filter rewrites the record itself, before any formatter sees it."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", (SLACK_BOT,), None)
    Redactor([SLACK_BOT]).filter(record)
    assert record.getMessage() == f"token {REDACTED}" and record.args is None


def test_an_unknown_log_format_is_a_clear_mistake() -> None:
    with pytest.raises(ConfigError, match="WATCHDESK_LOG_FORMAT must be one of text, json"):
        configure_logging(logging.INFO, env={"WATCHDESK_LOG_FORMAT": "yaml"}, force=True)


def test_watchdesk_run_logs_json_with_the_feed_id_and_no_token(tmp_path: Path) -> None:
    """The real command in its own process: every stderr line is a JSON object, the failing
    feed's warning carries its feed id, and the token in the feed's URL (a private feed key
    shaped like a Slack token) is redacted."""
    config = tmp_path / "watchdesk.toml"
    with LoopbackServer() as server:
        url = server.add("/down.xml", b"boom", status=500) + f"?key={OTHER_SLACK}"
        config.write_text(
            f'database_url = "sqlite:///{tmp_path / "w.db"}"\n'
            f'[fetch]\nallow_private_hosts = ["127.0.0.1"]\n'
            f"[poll]\nparse_workers = 0\n"
            f'[[feeds]]\nurl = "{url}"\nname = "Down"\n',
            encoding="utf-8",
        )
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "WATCHDESK_LOG_FORMAT": "json"}
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--once"],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
    err = result.stderr.decode()
    assert result.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # all JSON
    [failed] = [r for r in lines if "failed (1 in a row)" in r["message"]]
    assert failed["level"] == "WARNING" and failed["logger"] == "bot.feeds.poll"
    assert failed["feed_id"] == 1 and f"key={REDACTED}" in failed["message"]
    assert OTHER_SLACK not in err
