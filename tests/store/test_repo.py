"""The store's named queries on SQLite and (when configured) Postgres."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import UserError
from bot.feeds.poll import record_entries
from bot.models import Entity, MessageRef, NewEntry, Verdict
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from tests.factories import entry, give_verdict, stored_alert

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_entries_are_stored_once_per_feed_and_articles_once_across_feeds(store: Store) -> None:
    a = store.feeds.add_feed("https://a.example/feed", interval_s=600, now=NOW)
    b = store.feeds.add_feed("https://b.example/feed", interval_s=600, now=NOW)
    shared = NewEntry("guid:x1", "link:https://news.example/x", entry(1))
    first = record_entries(
        store.articles,
        a.id,
        [shared, NewEntry("guid:x2", "link:y", entry(2))],
        primed=True,
        backfill=0,
    )
    again = record_entries(store.articles, a.id, [shared], primed=True, backfill=0)
    other_feed = record_entries(
        store.articles,
        b.id,
        [NewEntry("guid:other", shared.key, entry(1))],
        primed=True,
        backfill=0,
    )
    assert len(first) == 2
    assert again == [] and other_feed == []
    assert store.articles.count_feed_entries(b.id) == 1


def test_first_poll_records_without_alerting_unless_backfill(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/feed", interval_s=600, now=NOW)
    items = [NewEntry(f"guid:{i}", f"link:{i}", entry(i)) for i in range(5)]
    assert record_entries(store.articles, feed.id, items[:3], primed=False, backfill=0) == []
    assert len(record_entries(store.articles, feed.id, items, primed=False, backfill=1)) == 1
    assert store.articles.articles_awaiting_analysis() != []


def test_duplicate_feed_url_is_a_user_error(store: Store) -> None:
    store.feeds.add_feed("https://a.example/feed", interval_s=600)
    with pytest.raises(UserError, match="already watched"):
        store.feeds.add_feed("https://a.example/feed", interval_s=600)


def test_claim_due_feeds_leases_them(store: Store) -> None:
    for i in range(5):
        store.feeds.add_feed(
            f"https://a.example/{i}", interval_s=600, now=NOW - timedelta(minutes=1)
        )
    store.feeds.add_feed("https://later.example/", interval_s=600, now=NOW + timedelta(hours=1))
    claimed = store.feeds.claim_due_feeds(NOW, limit=3, lease_s=300)
    rest = store.feeds.claim_due_feeds(NOW, limit=10, lease_s=300)
    assert len(claimed) == 3 and len(rest) == 2
    assert not {f.id for f in claimed} & {f.id for f in rest}
    assert store.feeds.claim_due_feeds(NOW, limit=10, lease_s=300) == []
    # an expired lease (worker died) makes the feed claimable again
    assert len(store.feeds.claim_due_feeds(NOW + timedelta(minutes=6), limit=10, lease_s=300)) == 5


def test_concurrent_workers_never_claim_the_same_feed(store: Store) -> None:
    for i in range(200):
        store.feeds.add_feed(f"https://many.example/{i}", interval_s=600, now=NOW)
    results: list[list[int]] = []

    def worker() -> None:
        mine: list[int] = []
        while batch := store.feeds.claim_due_feeds(NOW, limit=7, lease_s=300):
            mine.extend(f.id for f in batch)
        results.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for r in results for i in r]
    assert len(claimed) == 200 and len(set(claimed)) == 200


def test_failures_back_off_then_disable(store: Store) -> None:
    feed = store.feeds.add_feed("https://dead.example/", interval_s=600, now=NOW)
    for attempt in range(1, 4):
        count, disabled = store.feeds.record_poll_failure(
            feed.id,
            now=NOW,
            error="HTTP 500",
            next_poll_at=NOW + timedelta(hours=attempt),
            disable_after=3,
        )
        assert count == attempt
    assert disabled
    info = store.feeds.get_feed(feed.url)
    assert (
        info is not None and info.state == "disabled" and "HTTP 500" in (info.disabled_reason or "")
    )
    assert store.feeds.claim_due_feeds(NOW + timedelta(days=1), limit=10, lease_s=60) == []
    assert store.feeds.enable_feed(feed.url, NOW)
    assert [f.url for f in store.feeds.claim_due_feeds(NOW, limit=10, lease_s=60)] == [feed.url]


def test_verdict_history_kept_latest_wins_and_rearms_the_edit(store: Store) -> None:
    alert_id = stored_alert(store)
    [post] = store.outbox.intents_for_alert(alert_id, IntentKind.POST_ALERT)
    store.outbox.mark_sent(post.id, MessageRef("console", "m1"))
    assert store.outbox.pending(kind=IntentKind.EDIT_ALERT) == []
    give_verdict(store, alert_id, 2, Verdict.FALSE, source_url="https://src.example")
    give_verdict(store, alert_id, 2, Verdict.MISLEADING, by="Bo", note="numbers from 2021")
    view = store.alerts.alert_view(alert_id)
    assert view is not None
    claim = view.claims[1]
    assert (claim.verdict, claim.checked_by, claim.note) == (
        Verdict.MISLEADING,
        "Bo",
        "numbers from 2021",
    )
    assert [v[1] for v in store.alerts.verdict_history(alert_id)] == ["false", "misleading"]
    [edit] = store.outbox.pending(kind=IntentKind.EDIT_ALERT)
    assert (edit.alert_id, edit.revision, str(edit.destination)) == (alert_id, 2, "console")
    assert store.outbox.pending("slack") == []
    assert store.alerts.alert_for_message("console", "m1") == alert_id


def test_open_claims_oldest_first_without_checked_ones(store: Store) -> None:
    first = stored_alert(store, 1, claims=2)
    second = stored_alert(store, 2, claims=1)
    give_verdict(store, first, 1, Verdict.TRUE)
    assert [(c.alert_id, c.n) for c in store.alerts.open_claims()] == [(first, 2), (second, 1)]


def test_watchlist_seed_respects_user_removals(store: Store) -> None:
    config = [Entity("Belarus", ("Беларусь",)), Entity("Zapad", ("Zapad-2025",))]
    assert store.watchlist.seed_watchlist(config) == 2
    assert store.watchlist.remove_entity("беларусь") == "Belarus"  # by alias, case-insensitive
    assert store.watchlist.seed_watchlist(config) == 0
    assert [e.name for e in store.watchlist.active_entities()] == ["Zapad"]
    assert store.watchlist.upsert_entity(Entity("belarus", ("Belarusian",)), added_by="slack:U1")
    [belarus] = [e for e in store.watchlist.active_entities() if e.name == "Belarus"]
    assert belarus.aliases == ("Беларусь", "Belarusian")


def test_removed_feeds_stay_removed_and_can_be_added_back(store: Store) -> None:
    url = "https://belta.example/rss"
    store.feeds.seed_feeds([(url, "BelTA", "state media", 600, ())])
    feed = store.feeds.get_feed(url)
    assert feed is not None
    record_entries(
        store.articles, feed.id, [NewEntry("guid:1", "link:1", entry(1))], primed=False, backfill=0
    )
    assert store.feeds.remove_feed(url)
    assert store.feeds.get_feed(url) is None and store.feeds.list_feeds() == []
    assert store.feeds.seed_feeds([(url, "BelTA", "state media", 600, ())]) == 0
    assert store.feeds.list_feeds() == []
    back = store.feeds.add_feed(url, interval_s=900, name="BelTA again", now=NOW)
    assert back.state == "active" and back.interval_s == 900
    assert not back.primed and back.etag is None  # polled afresh: today's items don't alert
    # its history came back with it: the old entry is still known, so it never re-alerts
    assert (
        record_entries(
            store.articles,
            back.id,
            [NewEntry("guid:1", "link:1", entry(1))],
            primed=True,
            backfill=0,
        )
        == []
    )


def test_watch_add_finds_existing_entity_by_alias_and_unicode_case(store: Store) -> None:
    store.watchlist.seed_watchlist([Entity("Lukashenko", ("Лукашенко",))])
    assert not store.watchlist.upsert_entity(Entity("лукашенко"), added_by="slack:U1")
    assert not store.watchlist.upsert_entity(
        Entity("LUKASHENKO", ("Lukashenka",)), added_by="slack:U1"
    )
    assert store.watchlist.upsert_entity(Entity("Хренин"), added_by="slack:U1")
    assert not store.watchlist.upsert_entity(Entity("хренин"), added_by="slack:U1")
    names = [e.name for e in store.watchlist.active_entities()]
    assert names == ["Lukashenko", "Хренин"]
    assert store.watchlist.active_entities()[0].aliases == ("Лукашенко", "Lukashenka")


def test_a_failing_article_is_retried_then_left(store: Store) -> None:
    feed = store.feeds.add_feed("https://a.example/feed", interval_s=600, now=NOW)
    [article_id] = record_entries(
        store.articles, feed.id, [NewEntry("guid:1", "link:1", entry(1))], primed=True, backfill=0
    )
    for _ in range(3):
        assert store.articles.articles_awaiting_analysis() == [article_id]
        store.articles.count_analysis_failure(article_id)
    assert store.articles.articles_awaiting_analysis() == []


def test_one_injected_clock_dates_everything_the_store_writes(database_url: str) -> None:
    from bot.store import db

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    store = Store(engine, clock=lambda: NOW)
    try:
        feed = store.feeds.add_feed("https://clock.example/", interval_s=600)
        assert feed.next_poll_at == NOW
        alert_id = stored_alert(store)
        give_verdict(store, alert_id, 1, Verdict.TRUE)
        assert [when for *_, when in store.alerts.verdict_history(alert_id)] == [NOW]
        [claim] = [c for c in store.alerts.open_claims() if c.alert_id == alert_id][:1]
        assert claim.created_at == NOW
        store.outbox.add_notice("console", "hello")
        assert store.outbox.claim_due("console", NOW, NOW) != []  # due at the store's now
    finally:
        engine.dispose()
