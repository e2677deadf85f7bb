"""`watchdesk db prune [--dry-run]`: what would go / what went, per kind, on the configured
database (the CLI only parses and prints; the rules are tested in tests/store/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.feeds.poll import record_entries
from bot.models import NewEntry
from bot.store import db
from bot.store.repo import Store
from bot.store.schema import ArticleRow, FeedEntryRow
from tests.factories import entry
from tests.test_cli import write_config


def run(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def history(url: str) -> Store:
    """A feed polled 200 days ago (stories 1 and 2), then 197 days ago listing only 2."""
    engine = db.make_engine(url)
    now = [datetime.now(UTC) - timedelta(days=200)]
    store = Store(engine, clock=lambda: now[0])
    feed = store.feeds.add_feed("https://a.example/feed", interval_s=600, now=now[0])
    for ns in ([1, 2], [2]):
        items = [NewEntry(f"guid:{n}", f"link:{n}", entry(n)) for n in ns]
        for article_id in record_entries(store.articles, feed.id, items, primed=True, backfill=0):
            store.articles.mark_not_matched(article_id)
        now[0] += timedelta(days=3)
    return store


def rows(store: Store) -> tuple[int, int]:
    with store.engine.connect() as c:
        return (
            c.scalar(select(func.count()).select_from(ArticleRow)) or 0,
            c.scalar(select(func.count()).select_from(FeedEntryRow)) or 0,
        )


def test_dry_run_prints_what_would_go_and_deletes_nothing_then_prune_deletes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert run(config, capsys, "db", "upgrade")[0] == 0
    store = history(f"sqlite:///{tmp_path / 'wd.db'}")
    try:
        code, out, err = run(config, capsys, "db", "prune", "--dry-run")
        assert code == 0 and err == ""
        assert out.splitlines() == [
            "would delete 0 sent or given-up notices and thread posts",
            "would delete 0 alerts (with their claims, verdicts and messages)",
            "would delete 1 feed entries no feed lists any more",
            "would delete 1 articles that never alerted",
            "would delete 2 row(s) in all",
        ]
        assert rows(store) == (2, 2)

        code, out, _ = run(config, capsys, "db", "prune")
        assert code == 0
        assert "deleted 1 feed entries no feed lists any more" in out.splitlines()
        assert out.splitlines()[-1].startswith("deleted 2 row(s) in all, in 2 batch(es), ")
        assert rows(store) == (1, 1)  # story 2, still listed, stays
        assert run(config, capsys, "db", "prune", "--dry-run")[1].splitlines()[-1] == (
            "would delete 0 row(s) in all"
        )
    finally:
        store.engine.dispose()


def test_prune_on_an_old_schema_says_to_upgrade_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}")
    db.upgrade(engine, "0004")
    engine.dispose()
    code, out, err = run(config, capsys, "db", "prune", "--dry-run")
    assert code == 2 and out == ""
    assert "watchdesk db upgrade" in err
