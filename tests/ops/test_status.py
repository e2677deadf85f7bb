"""`watchdesk status`: the operator's table, from the store alone (no worker running)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.ops.status import ago
from bot.store import db
from bot.store.repo import Store
from tests.factories import stored_alert


def config_for(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "watchdesk.toml"
    config.write_text(f'database_url = "{url}"\n[analysis]\nencoder = "none"\n', encoding="utf-8")
    return config


def test_status_shows_feeds_by_state_last_poll_outbox_and_alerts_today(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    store = Store(engine)
    now = datetime.now(UTC)
    stored_alert(store, 1, destinations=("console", "slack:C0123ABCD"))  # feed 1, polled fine
    failing = store.feeds.add_feed("https://feeds.example/down.xml", interval_s=600)
    store.feeds.record_poll_failure(
        failing.id,
        now=now,
        error="HTTP 500",
        next_poll_at=now + timedelta(minutes=10),
        disable_after=8,
    )
    dead = store.feeds.add_feed("https://feeds.example/dead.xml", interval_s=600)
    store.feeds.record_poll_failure(
        dead.id, now=now, error="gone", next_poll_at=now, disable_after=1
    )
    store.outbox.add_notice("console", "a notice")
    engine.dispose()

    code = main(["--config", str(config_for(tmp_path, database_url)), "status"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "feeds        2 active (1 backing off), 1 disabled"
    assert re.fullmatch(r"last poll    \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+s ago\)", lines[1])
    assert lines[2] == "alerts today 1 (since 00:00 UTC)"
    assert lines[3] == "articles     1"
    assert lines[4] == "encoder      none (configured)"
    assert lines[5].split() == ["outbox", "platform", "kind", "pending", "oldest"]
    queues = [line.split() for line in lines[6:]]
    assert [q[:3] for q in queues] == [
        ["console", "notice", "1"],
        ["console", "post_alert", "1"],
        ["slack", "post_alert", "1"],
    ]
    assert all(q[3].endswith("s") and q[4] == "ago" for q in queues)


def test_status_of_an_empty_desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    db.upgrade(db.make_engine(url))
    assert main(["--config", str(config_for(tmp_path, url)), "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "feeds        0 active (0 backing off), 0 disabled"
    assert out[1] == "last poll    never"
    assert out[-1] == "outbox       empty: nothing waiting to be sent"


def test_status_never_creates_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["--config", str(config_for(tmp_path, url)), "status"]) == 2
    assert "watchdesk db upgrade" in capsys.readouterr().err
    assert not (tmp_path / "w.db").exists()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s ago"), (59, "59s ago"), (61, "1m ago"), (3599, "59m ago"), (7300, "2h ago")],
)
def test_ages_read_like_the_config_durations(seconds: int, text: str) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=seconds), now) == text
