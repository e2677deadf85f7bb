"""A feed that re-publishes its items under new guids and links every poll: recognised by title
and normalised body as the same articles, through the real Poller over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds.client import HttpClient
from bot.feeds.decide import decide, identify
from bot.feeds.identity import content_identity
from bot.feeds.poll import Poller
from bot.models import FeedEntry, StoredState
from bot.settings import FetchSettings, PollSettings
from bot.store.repo import Store
from tests.loopback import LoopbackServer

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"
STORIES = [
    (
        "Zapad drills begin near Grodno",
        "<p>Belarusian and Russian troops began the Zapad exercise near Grodno on Monday, "
        "the defence ministry said.</p>",
    ),
    (
        "Minsk raises fuel prices",
        "<p>Fuel prices in Minsk rose by 3 per cent overnight, the third rise this year, "
        "according to the state oil company.</p>",
    ),
    (
        "Border crossing reopens",
        "<p>The Kozlovichi border crossing reopened after a two-day closure, with queues of "
        "lorries stretching for kilometres.</p>",
    ),
]


def rss(poll: int, stories: list[tuple[str, str]], *, curly: bool = False) -> bytes:
    """Every poll mints new guids and links (as some CMSes do on each rebuild); ``curly``
    re-types the text with typographic quotes and non-breaking spaces."""
    items = ""
    for i, (title, body) in enumerate(stories):
        if curly:
            body = body.replace(" per cent", "\u00a0per cent").replace("the ", "the\u00a0", 1)
            title = title.replace("Zapad", "\u201cZapad\u201d")
        items += (
            f"<item><title>{title}</title>"
            f"<link>https://news.example/p{poll}/story-{i}?utm_source=rss{poll}</link>"
            f'<guid isPermaLink="false">build-{poll}-{i}</guid>'
            f"<description><![CDATA[{body}]]></description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Re-publisher</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


HTTP = HttpClient(FetchSettings(timeout_s=3, allow_private_hosts=("127.0.0.1",)))


@pytest.fixture(scope="module", autouse=True)
def close_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_five_polls_of_re_minted_ids_add_no_article_after_the_first(
    store: Store, server: LoopbackServer
) -> None:
    """Before: 15 alerts for 3 stories over 5 polls. Now the first (priming) poll stores the
    three stories and the four re-published copies add no article and alert nothing."""
    now = [T0]
    url = server.add("/feed.xml", rss(0, STORIES), headers=[("Content-Type", RSS)])
    store.feeds.add_feed(url, interval_s=600, now=T0)
    poller = Poller(
        store, HTTP, PollSettings(interval_s=600, parse_workers=0), clock=lambda: now[0]
    )
    assert poller.poll_due().new_articles == []  # priming: history, stored, not alerted
    feed = store.feeds.get_feed(url)
    assert feed is not None
    for poll in range(1, 5):
        server.add(
            "/feed.xml", rss(poll, STORIES, curly=poll % 2 == 1), headers=[("Content-Type", RSS)]
        )
        now[0] += timedelta(seconds=601)
        report = poller.poll_due()
        assert report.new_articles == [], f"poll {poll} alerted a re-published copy"
    # every guid was recorded (so none is decided again) and all point at the 3 articles
    assert store.articles.count_feed_entries(feed.id) == 5 * 3  # content identities aside

    server.add(
        "/feed.xml",
        rss(
            5,
            [
                *STORIES,
                (
                    "Minsk raises fuel prices",
                    "<p>Fuel prices in Minsk fell by 2 per cent, "
                    "reversing last week's rise, the state oil company said.</p>",
                ),
            ],
        ),
        headers=[("Content-Type", RSS)],
    )
    now[0] += timedelta(seconds=601)
    assert len(poller.poll_due().new_articles) == 1  # same title, new text: a new article


def entry(guid: str, title: str, body: str, link: str) -> FeedEntry:
    return FeedEntry(guid=guid, link=link, title=title, summary="", content=body)


def test_content_identity_ignores_markup_typography_and_case_but_not_words() -> None:
    title, body = STORIES[0]
    base = content_identity(entry("a", title, body, "https://a.example/1"))
    retyped = content_identity(
        entry("b", f"  {title.upper()} ", body.replace("<p>", "<div>").replace(" ", "\u00a0"), "x")
    )
    reworded = content_identity(entry("c", title, body.replace("Monday", "Tuesday"), "y"))
    assert base is not None and base == retyped and reworded != base
    assert content_identity(entry("d", "Live updates", "<p>Read more</p>", "z")) is None


def test_the_decider_links_a_re_published_copy_and_a_duplicate_within_one_document() -> None:
    title, body = STORIES[1]
    first = identify([entry("g1", title, body, "https://a.example/1")])
    state = StoredState(seen=frozenset({first[0].identity, first[0].content_identity or ""}))
    copies = identify(
        [
            entry("g2", title, body, "https://a.example/2"),
            entry("g3", title, body, "https://a.example/3"),
        ]
    )
    decision = decide(copies, state, primed=True, backfill=0)
    assert decision.new_articles == () and len(decision.unseen) == 2
    assert decision.republished == tuple(copies)

    fresh = decide(copies, StoredState(), primed=True, backfill=0)
    assert [a.entry.identity for a in fresh.new_articles] == [copies[0].identity]
    assert fresh.republished == (copies[1],)
