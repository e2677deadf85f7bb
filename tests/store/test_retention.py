"""Retention on SQLite and Postgres: what goes, what never goes, in bounded batches, and a
database that stays flat while its feeds keep changing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import event, func, select, text

from bot.feeds.client import HttpClient
from bot.feeds.poll import Poller, record_entries
from bot.models import MessageRef, NewEntry, Verdict
from bot.retention import prune
from bot.settings import FetchSettings, PollSettings, RetentionSettings
from bot.store import db
from bot.store.articles import LISTED_REFRESH
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from bot.store.retention import PrunePlan
from bot.store.schema import (
    AlertClaimRow,
    AlertRow,
    ArticleRow,
    FeedEntryRow,
    OutboxRow,
    VerdictRow,
)
from tests.factories import analysis, entry, give_verdict
from tests.loopback import LoopbackServer

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RSS = "application/rss+xml; charset=utf-8"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(store: Store, clock: Clock) -> Store:
    """The fixture's migrated store on both backends, on the test's clock."""
    return Store(store.engine, clock=clock)


def rules(**overrides: object) -> RetentionSettings:
    values: dict[str, object] = {
        "articles_days": 90,
        "alerts_days": 0,
        "entries_grace_days": 14,
        "outbox_days": 30,
        "batch_size": 500,
        **overrides,
    }
    return RetentionSettings(**values)


def listed(n: int) -> NewEntry:
    return NewEntry(f"guid:{n}", f"link:https://news.example/{n}", entry(n))


def poll_lists(store: Store, feed_id: int, ns: list[int]) -> list[int]:
    """What a parsed poll records: the feed now lists exactly the entries ``ns``."""
    return record_entries(store.articles, feed_id, [listed(n) for n in ns], primed=True, backfill=0)


def count(store: Store, model: type) -> int:
    with store.engine.connect() as c:
        return c.scalar(select(func.count()).select_from(model)) or 0


def analysed(store: Store, article_ids: list[int]) -> None:
    """What analysis does with an article that matched nothing."""
    for article_id in article_ids:
        store.articles.mark_not_matched(article_id)


def deliver(store: Store, alert_id: int) -> None:
    """Mark the alert's pending rows (its post, an edit a verdict re-armed) sent, as the
    delivery worker would after the sink answered."""
    for intent in store.outbox.intents_for_alert(alert_id):
        if intent.state == "pending":
            store.outbox.mark_sent(intent.id, MessageRef("console", f"m{alert_id}", None))


# ---------------------------------------------------------------------------- articles, entries


def test_old_unalerted_articles_go_with_their_entries_once_no_feed_lists_them(
    desk: Store, clock: Clock
) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, feed.id, [1, 2, 3]))
    clock.advance(3 * DAY)
    poll_lists(desk, feed.id, [3])  # 1 and 2 dropped out; 3 is still listed
    clock.advance(100 * DAY)  # past the grace and the 90 days, and the feed answers 304 since

    settings = rules()
    dry = prune(desk, settings, dry_run=True)
    assert dry.counts == PrunePlan(intents=0, alerts=0, entries=2, articles=2)
    assert count(desk, FeedEntryRow) == 3 and count(desk, ArticleRow) == 3  # dry run: nothing

    done = prune(desk, settings, dry_run=False)
    assert done.counts == dry.counts
    assert desk.articles.count_feed_entries(feed.id) == 1
    with desk.engine.connect() as c:
        assert list(c.scalars(select(ArticleRow.key))) == ["link:https://news.example/3"]
    assert prune(desk, settings, dry_run=True).counts.total() == 0


def test_a_feed_that_never_changes_keeps_its_entries_however_long(
    desk: Store, clock: Clock
) -> None:
    """304s and same bodies never move the feed's listing, so nothing of it looks dropped."""
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, feed.id, [1, 2]))
    clock.advance(400 * DAY)
    assert prune(desk, rules(), dry_run=False).counts.total() == 0
    assert desk.articles.count_feed_entries(feed.id) == 2


def test_entries_dropped_within_the_grace_are_kept_and_protect_their_article(
    desk: Store, clock: Clock
) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, feed.id, [1, 2]))
    clock.advance(95 * DAY)  # both articles are past articles_days
    poll_lists(desk, feed.id, [2])
    clock.advance(2 * DAY)
    poll_lists(desk, feed.id, [2])  # 1 was last listed 97 days ago: long past the grace
    assert prune(desk, rules(), dry_run=True).counts == PrunePlan(entries=1, articles=1)

    clock.advance(2 * DAY)
    analysed(desk, poll_lists(desk, feed.id, [3]))  # 2 leaves, last listed two days ago
    clock.advance(10 * DAY)
    # 2 is within the grace: its entry stays, and so does its 109-day-old article
    assert prune(desk, rules(), dry_run=True).counts == PrunePlan(entries=1, articles=1)
    clock.advance(3 * DAY)  # 15 days since a poll last listed 2
    assert prune(desk, rules(), dry_run=True).counts == PrunePlan(entries=2, articles=2)


def test_an_article_another_feed_still_lists_stays(desk: Store, clock: Clock) -> None:
    a = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    b = desk.feeds.add_feed("https://b.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, a.id, [1]))
    poll_lists(desk, b.id, [1])  # the same story through b: linked, one article
    clock.advance(3 * DAY)
    analysed(desk, poll_lists(desk, a.id, [2]))
    poll_lists(desk, b.id, [1])
    clock.advance(120 * DAY)
    analysed(desk, poll_lists(desk, b.id, [1, 2]))
    plan = prune(desk, rules(), dry_run=True).counts
    assert plan.entries == 1 and plan.articles == 0  # a's entry goes; b still lists story 1


def test_an_article_waiting_for_analysis_is_never_deleted(desk: Store, clock: Clock) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    [waiting] = poll_lists(desk, feed.id, [1])  # alertable, not analysed yet (a crash)
    clock.advance(3 * DAY)
    analysed(desk, poll_lists(desk, feed.id, [2]))
    clock.advance(200 * DAY)
    assert prune(desk, rules(), dry_run=False).counts == PrunePlan(entries=1)
    assert desk.articles.article(waiting) is not None
    assert desk.articles.articles_awaiting_analysis() == [waiting]


# ---------------------------------------------------------------------------- alerts, outbox


def alerted(desk: Store, feed_id: int, n: int) -> int:
    [article_id] = poll_lists(desk, feed_id, [n])
    return desk.alerts.create_alert(
        article_id, source="Feed", analysis=analysis(claims=2), destinations=("console",)
    )


def test_alerted_articles_keep_claims_and_verdicts_until_alerts_days_says(
    desk: Store, clock: Clock
) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    alert_id = alerted(desk, feed.id, 1)
    give_verdict(desk, alert_id, 1, Verdict.FALSE)
    clock.advance(3 * DAY)
    analysed(desk, poll_lists(desk, feed.id, [2]))  # the alerted story left the feed
    clock.advance(400 * DAY)

    # alerts_days = 0: kept for ever, with the article (only the dropped entry goes)
    assert prune(desk, rules(), dry_run=False).counts == PrunePlan(entries=1)
    assert desk.alerts.alert_view(alert_id) is not None
    assert count(desk, AlertClaimRow) == 2 and count(desk, VerdictRow) == 1

    # alerts_days = 30, but the alert's post was never sent: nothing of it goes
    assert prune(desk, rules(alerts_days=30), dry_run=False).counts == PrunePlan()
    assert desk.alerts.alert_view(alert_id) is not None

    deliver(desk, alert_id)
    plan = prune(desk, rules(alerts_days=30), dry_run=True).counts
    assert plan == PrunePlan(alerts=1, articles=1)  # the alert, then its article
    assert prune(desk, rules(alerts_days=30), dry_run=False).counts == plan
    assert desk.alerts.alert_view(alert_id) is None
    for model in (AlertRow, AlertClaimRow, VerdictRow, OutboxRow):
        assert count(desk, model) == 0, model


def test_a_recent_alert_stays_when_alerts_days_is_set(desk: Store, clock: Clock) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    alert_id = alerted(desk, feed.id, 1)
    deliver(desk, alert_id)
    clock.advance(29 * DAY)
    assert prune(desk, rules(alerts_days=30), dry_run=True).counts.alerts == 0
    clock.advance(2 * DAY)
    assert prune(desk, rules(alerts_days=30), dry_run=True).counts.alerts == 1


def test_sent_notices_go_after_outbox_days_pending_ones_and_alert_posts_stay(
    desk: Store, clock: Clock
) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    alert_id = alerted(desk, feed.id, 1)
    deliver(desk, alert_id)
    desk.outbox.add_notice("console", "feed disabled")
    desk.outbox.add_notice("console", "still to send")
    desk.outbox.add_thread_post(alert_id, "console", "a keyed reply", key="reply-1")
    sent_notice = next(i for i in desk.outbox.pending(kind=IntentKind.NOTICE))
    desk.outbox.mark_sent(sent_notice.id)
    clock.advance(31 * DAY)

    assert prune(desk, rules(), dry_run=False).counts == PrunePlan(intents=1)
    kinds = sorted(
        (i.kind, i.state) for i in desk.outbox.intents_for_alert(alert_id)
    )  # the alert's own rows
    assert kinds == [
        (IntentKind.EDIT_ALERT, "sent"),
        (IntentKind.POST_ALERT, "sent"),
        (IntentKind.THREAD_POST, "pending"),
    ]
    assert [i.text for i in desk.outbox.pending(kind=IntentKind.NOTICE)] == ["still to send"]


# ---------------------------------------------------------------------------- batches


def test_batches_are_bounded(desk: Store, clock: Clock) -> None:
    """No transaction deletes more than batch_size rows of one kind."""
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, feed.id, list(range(25))))
    clock.advance(3 * DAY)
    poll_lists(desk, feed.id, [99])
    clock.advance(100 * DAY)
    deletes: list[tuple[str, int]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("DELETE FROM"):
            deletes.append((statement.split()[2].strip('"'), cursor.rowcount))

    event.listen(desk.engine, "after_cursor_execute", seen)
    try:
        result = desk.retention.prune(clock(), prune_rules(), batch_size=10)
    finally:
        event.remove(desk.engine, "after_cursor_execute", seen)
    assert result.deleted == PrunePlan(entries=25, articles=25)
    assert result.batches == 6 and result.largest_batch == 10
    by_table = {t: [n for table, n in deletes if table == t] for t, n in deletes if n}
    assert by_table == {"feed_entries": [10, 10, 5], "articles": [10, 10, 5]}
    assert max(n for _, n in deletes) <= 10


def test_a_prune_asked_to_stop_ends_after_the_current_batch(desk: Store, clock: Clock) -> None:
    feed = desk.feeds.add_feed("https://a.example/feed", interval_s=600, now=T0)
    analysed(desk, poll_lists(desk, feed.id, list(range(25))))
    clock.advance(3 * DAY)
    poll_lists(desk, feed.id, [99])
    clock.advance(100 * DAY)
    result = desk.retention.prune(  # a shutdown arrives during the first batch of entries
        clock(),
        prune_rules(),
        batch_size=10,
        keep_going=lambda: count(desk, FeedEntryRow) == 26,
    )
    assert result.stopped and result.deleted == PrunePlan(entries=10) and result.batches == 1
    rest = prune(desk, rules(), dry_run=False)  # the next run does the rest
    assert not rest.stopped and rest.counts == PrunePlan(entries=15, articles=25)


def prune_rules():  # noqa: ANN201 - RetentionRules
    from bot.retention import rules as to_rules

    return to_rules(rules())


# ---------------------------------------------------------------------------- through the poller

HTTP = HttpClient(FetchSettings(timeout_s=3, allow_private_hosts=("127.0.0.1",)))


@pytest.fixture(scope="module", autouse=True)
def close_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def rss(ns: list[int]) -> bytes:
    items = "".join(
        f"<item><title>Story {n}</title><link>https://news.example/{n}</link>"
        f'<guid isPermaLink="false">id-{n}</guid><description>About story {n}.</description>'
        f"<pubDate>{format_datetime(T0)}</pubDate></item>"
        for n in ns
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Changing feed</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


def poller(store: Store, clock: Clock) -> Poller:
    return Poller(store, HTTP, PollSettings(interval_s=600, parse_workers=0), clock=clock)


def poll_after(store: Store, clock: Clock, server: LoopbackServer, ns: list[int]) -> list[int]:
    """The feed now lists ``ns``; one poll cycle a day later; the new articles that may alert."""
    server.add("/feed.xml", rss(ns), headers=[("Content-Type", RSS)])
    clock.advance(DAY)
    report = poller(store, clock).poll_due()
    assert [r.outcome for r in report.results] in (["new"], ["unchanged"], ["same_body"])
    analysed(store, report.new_articles)
    return report.new_articles


def test_entries_relisted_within_the_grace_never_alert_again(
    desk: Store, clock: Clock, server: LoopbackServer
) -> None:
    """Items leave the feed and come back 12 days later: their articles are past articles_days
    (1), but the grace (14 days) kept their entries, so they are not new. Each day the feed also
    publishes one new item (a feed that keeps changing)."""
    settings = rules(articles_days=1, entries_grace_days=14)
    url = server.add("/feed.xml", rss([1, 2, 3]), headers=[("Content-Type", RSS)])
    desk.feeds.add_feed(url, interval_s=600, now=clock())
    assert poller(desk, clock).poll_due().new_articles == []  # the first poll primes
    days = iter(range(101, 1000))

    def next_day(ns: list[int]) -> int:
        return len(poll_after(desk, clock, server, [*ns, next(days)]))

    assert next_day([3]) == 1  # 1 and 2 leave; the day's item is new
    for _ in range(11):
        assert next_day([3]) == 1
        prune(desk, settings, dry_run=False)
    assert next_day([1, 2, 3]) == 1  # 1 and 2 are back after 12 days: only the day's item is new

    # Gone for longer than the grace, they are forgotten; only then do they count as new.
    for _ in range(20):
        next_day([3])
        prune(desk, settings, dry_run=False)
    assert next_day([1, 2, 3]) == 3


def test_the_database_stays_flat_while_its_feeds_keep_changing(
    desk: Store, clock: Clock, server: LoopbackServer
) -> None:
    """Two months of daily cycles over three feeds that each publish 5 items a day and list
    their latest 20, every 20th new article alerting (and delivered), pruned every other day:
    row counts stop growing once the oldest rows reach their retention."""
    settings = rules(articles_days=10, alerts_days=15, entries_grace_days=3)
    feeds = ["/a.xml", "/b.xml", "/c.xml"]

    def publish(day: int) -> None:
        for i, path in enumerate(feeds):
            newest = 1000 * i + 5 * day
            ns = list(range(max(1000 * i, newest - 19), newest + 1))
            server.add(path, rss(ns), headers=[("Content-Type", RSS)])

    publish(0)
    for path in feeds:
        desk.feeds.add_feed(server.url(path), interval_s=600, now=clock())
    poller(desk, clock).poll_due()
    sizes: list[tuple[int, int, int, int]] = []
    new_total = 0
    for day in range(1, 61):
        publish(day)
        clock.advance(DAY)
        for article_id in poller(desk, clock).poll_due().new_articles:
            new_total += 1
            if new_total % 20 == 0:
                alert_id = desk.alerts.create_alert(
                    article_id, source="Feed", analysis=analysis(), destinations=("console",)
                )
                deliver(desk, alert_id)
            else:
                desk.articles.mark_not_matched(article_id)
        if day % 2 == 0:
            prune(desk, settings, dry_run=False)
        sizes.append(
            (
                count(desk, ArticleRow),
                count(desk, FeedEntryRow),
                count(desk, AlertRow),
                count(desk, OutboxRow),
            )
        )
    assert new_total == 60 * 15  # every cycle brought 5 new items per feed
    # Articles: 10 days (+ up to two refreshes, + 2 days between prunes) of 15 a day, plus
    # the alerted ones kept for 15 days; entries: 4 days listed + 3 of grace (+ the same slack).
    articles_bound = (10 + 2 * LISTED_REFRESH.days + 2 + 1) * 15 + (15 + 3) * 15 // 20
    entries_bound = (4 + 3 + 2 * LISTED_REFRESH.days + 2 + 1) * 15
    for articles, entries, alerts, intents in sizes[20:]:
        assert articles <= articles_bound and entries <= entries_bound
        assert alerts <= (15 + 2 + 1) * 15 // 20 + 1
        assert intents == 2 * alerts  # a post and an edit per alert
    # Flat: the last 20 days are no bigger than the 20 before them.
    for kind in range(3):
        assert max(s[kind] for s in sizes[40:]) <= max(s[kind] for s in sizes[20:40]) + 15
    assert sizes[-1][0] < new_total // 4


# ---------------------------------------------------------------------------- migration


def test_0005_starts_existing_entries_at_seen_and_their_feeds_unknown(database_url: str) -> None:
    """Rows from before 0005: entries get last_listed_at = seen_at; their feed has no listing
    yet, so nothing of it is pruned until its next parse says what it lists."""
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0004")
    with engine.begin() as c:
        feed_id = c.scalar(
            text(
                "INSERT INTO feeds (url, interval_s, state, channels, next_poll_at, "
                "error_count, primed, created_at) VALUES ('https://f.example/', 600, "
                "'active', '[]', :now, 0, true, :now) RETURNING id"
            ),
            {"now": T0},
        )
        article_id = c.scalar(
            text(
                "INSERT INTO articles (key, feed_id, title, summary, content, alertable, "
                "analysis_failures, analysed_at, created_at) "
                "VALUES ('k', :feed, 't', '', '', false, 0, :now, :now) RETURNING id"
            ),
            {"now": T0, "feed": feed_id},
        )
        c.execute(
            text(
                "INSERT INTO feed_entries (feed_id, identity, article_id, seen_at) "
                "VALUES (:feed, 'guid:old', :article, :now)"
            ),
            {"now": T0, "feed": feed_id, "article": article_id},
        )
    db.upgrade(engine)
    clock = Clock(T0 + 400 * DAY)
    store = Store(engine, clock=clock)
    with engine.connect() as c:
        assert c.scalar(select(FeedEntryRow.last_listed_at)) == T0
    assert prune(store, rules(), dry_run=True).counts == PrunePlan()
    poll_lists(store, feed_id, [7])  # the next parse: guid:old is not listed any more
    clock.advance(20 * DAY)
    assert prune(store, rules(), dry_run=True).counts == PrunePlan(entries=1, articles=1)
    engine.dispose()
