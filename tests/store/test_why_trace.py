"""What the store records for `/why`: which identity folded a duplicate entry into an article,
the gate's outcome per article, and migration 0008 that adds both without losing a row."""

from __future__ import annotations

from dataclasses import replace

from alembic import command
from sqlalchemy import inspect, text

from bot.feeds.decide import identify
from bot.feeds.poll import record_entries
from bot.models import AnalysisTrace, TermTrace
from bot.store import db
from bot.store.repo import Store
from tests.factories import analysis, entry, stored_alert


def folds(store: Store, article_id: int) -> list[tuple[int, str | None]]:
    history = store.articles.history(article_id)
    assert history is not None
    return [(s.feed_id, s.folded_by) for s in history.sightings]


def test_each_duplicate_entry_records_the_identity_that_folded_it(store: Store) -> None:
    a = store.feeds.add_feed("https://a.example/rss", interval_s=600).id
    b = store.feeds.add_feed("https://b.example/rss", interval_s=600).id
    by_link = entry(1, link="https://news.example/1?utm_source=a")
    by_guid = entry(2, link=None, guid="tag:2")
    by_content = entry(3, link=None, guid=None)
    ids = record_entries(
        store.articles, a, identify([by_link, by_guid, by_content]), primed=True, backfill=0
    )
    assert len(ids) == 3
    again = [
        entry(1, guid="other-guid", link="http://news.example/1#top"),
        by_guid,
        by_content,
    ]
    assert record_entries(store.articles, b, identify(again), primed=True, backfill=0) == []
    assert [folds(store, i) for i in ids] == [
        [(a, None), (b, "link")],
        [(a, None), (b, "guid")],
        [(a, None), (b, "content")],
    ]


def test_two_entries_of_one_poll_with_one_link_fold_into_the_first(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/rss", interval_s=600).id
    twins = [entry(1), entry(2, link="https://news.example/a/1")]  # two guids, one link
    [article] = record_entries(store.articles, feed, identify(twins), primed=True, backfill=0)
    assert folds(store, article) == [(feed, None), (feed, "link")]


def test_the_analysis_trace_is_stored_with_the_alert_or_the_miss(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/rss", interval_s=600).id
    hit, miss = record_entries(
        store.articles, feed, identify([entry(1), entry(2)]), primed=True, backfill=0
    )
    matched = AnalysisTrace((TermTrace("Lukashenko", "Lukashenka", 0.63),))
    alert_id = store.alerts.create_alert(
        hit, source="A", analysis=replace(analysis(), trace=matched), destinations=["console"]
    )
    assert store.alerts.article_for_alert(alert_id) == hit
    assert store.alerts.alert_for_article(hit) == alert_id
    history = store.articles.history(hit)
    assert history is not None and history.trace == matched and history.matched is True
    closest = AnalysisTrace((), TermTrace("Zapad", "Zapad", 0.0, "'zapad': a common word here"))
    store.articles.mark_not_matched(miss, closest)
    history = store.articles.history(miss)
    assert history is not None and history.trace == closest and history.matched is False
    assert store.alerts.alert_for_article(miss) is None


def test_0008_adds_the_trace_columns_and_walks_back_keeping_every_row(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0004")
    columns = {c["name"] for c in inspect(engine).get_columns("articles")}
    assert "analysis_trace" not in columns
    db.upgrade(engine)
    store = Store(engine)
    alert_id = stored_alert(store, destinations=("console", "slack:C1"))
    assert "folded_by" in {c["name"] for c in inspect(engine).get_columns("feed_entries")}
    config = db.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert "analysis_trace" not in {c["name"] for c in inspect(engine).get_columns("articles")}
    with engine.connect() as c:
        counts = [
            c.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("articles", "feed_entries", "alerts", "outbox")
        ]
    assert counts == [1, 1, 1, 4]  # a post and an edit per destination survive the walk back
    db.upgrade(engine)
    assert store.alerts.article_for_alert(alert_id) is not None
    engine.dispose()


def test_a_story_republished_under_a_new_link_is_recorded_once_as_an_alias(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/rss", interval_s=600).id
    first = entry(1, guid="story-1", link="https://news.example/old-slug")
    [article] = record_entries(store.articles, feed, identify([first]), primed=True, backfill=0)
    moved = entry(1, guid="story-1", link="https://news.example/new-slug")
    for _ in range(2):  # the next poll knows the new address: no second row, no new article
        assert (
            record_entries(store.articles, feed, identify([moved]), primed=True, backfill=0) == []
        )
    history = store.articles.history(article)
    assert history is not None
    assert [(s.identity, s.folded_by, s.other_link) for s in history.sightings] == [
        ("guid:story-1", None, None),
        ("https://news.example/new-slug", "guid", "https://news.example/new-slug"),
    ]
    assert store.articles.article_id_for("https://news.example/new-slug") == article
    # another feed carrying the new address joins the same article
    other = store.feeds.add_feed("https://b.example/rss", interval_s=600).id
    elsewhere = entry(9, guid="b-9", link="https://news.example/new-slug")
    assert (
        record_entries(store.articles, other, identify([elsewhere]), primed=True, backfill=0) == []
    )
    assert folds(store, article)[-1] == (other, "link")


def test_two_links_under_one_guid_in_one_document(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/rss", interval_s=600).id
    twins = [entry(1, guid="g"), entry(1, guid="g", link="https://news.example/other")]
    [article] = record_entries(store.articles, feed, identify(twins), primed=True, backfill=0)
    history = store.articles.history(article)
    assert history is not None
    assert [s.other_link for s in history.sightings] == [None, "https://news.example/other"]
