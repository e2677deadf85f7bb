"""Loopback feeds for the story tests: one Zapad story told by three outlets (a wire copy, an
English rewrite with a different figure and a new claim, a Russian version) and a different
story about the same man the same day. Texts written for these tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import update

from bot.store.repo import Store
from bot.store.schema import FeedRow
from tests.loopback import LoopbackServer

DAY = datetime(2025, 9, 12, 10, 30, tzinfo=UTC)


@dataclass(frozen=True)
class StoryFeed:
    path: str
    outlet: str
    guid: str
    title: str
    link: str
    body: str


FEEDS = (
    StoryFeed(
        "/wire.xml",
        "Minsk Wire",
        "wire-7",
        "Lukashenko greets foreign officers at Zapad-2025 drills",
        "https://wire.example/zapad-7",
        "Lukashenko greeted officers from 23 countries at the Zapad-2025 drills near Borisov "
        "on Friday. The exercise ends on Tuesday, the defence ministry said. Minsk said 52 "
        "political prisoners had been released in the past year.",
    ),
    StoryFeed(
        "/today.xml",
        "Belarus Today",
        "bt-1001",
        "Foreign observers watch Zapad-2025 as Lukashenko hosts officers",
        "https://today.example/news/1001",
        "Officers from 25 countries watched the Zapad-2025 exercise near Borisov on Friday, "
        "where Lukashenko greeted them in person. The drills involve about 7,000 troops, the "
        "defence ministry said.",
    ),
    StoryFeed(
        "/zerkalo.xml",
        "Зеркало",
        "zk-55",
        "Лукашенко встретил иностранных офицеров на учениях «Запад-2025»",
        "https://zerkalo.example/news/55",
        "В пятницу Лукашенко приветствовал офицеров из 23 стран на учениях «Запад-2025» под "
        "Борисовом. Учения завершатся во вторник, сообщило министерство обороны.",
    ),
)

PARDON = StoryFeed(
    "/pardon.xml",
    "Minsk Wire",
    "wire-8",
    "Lukashenko pardons 16 prisoners before Independence Day",
    "https://wire.example/pardon-8",
    "Lukashenko pardoned 16 people convicted of extremism on Friday, his press service said. "
    "Those freed include two journalists, according to the Viasna rights group.",
)


def rss(feed: StoryFeed, *items: StoryFeed) -> bytes:
    body = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f"<guid>{escape(i.guid)}</guid><pubDate>{format_datetime(DAY)}</pubDate>"
        f"<description>{escape(i.body)}</description></item>"
        for i in (items or (feed,))
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(feed.outlet)}</title><link>https://example.org/</link>{body}"
        f"</channel></rss>"
    ).encode()


class StorySite(LoopbackServer):
    def url_for(self, feed: StoryFeed) -> str:
        return self.add(feed.path, rss(feed), headers=[("Content-Type", "application/rss+xml")])


THREAD_POSTS = (
    "Also reported by Belarus Today: Foreign observers watch Zapad-2025 as Lukashenko hosts "
    "officers, https://today.example/news/1001\n"
    "Adds:\n"
    "• The drills involve about 7,000 troops, the defence ministry said.\n"
    "Note: Belarus Today gives 25 countries where the story has 23 countries.",
    "Also reported by Зеркало: Лукашенко встретил иностранных офицеров на учениях "
    "«Запад-2025», https://zerkalo.example/news/55",
)
"""What the story's thread receives, in order, as the desk writes it (before platform markup)."""


def make_due(store: Store) -> None:
    """Every feed due now (the next cycle polls them again)."""
    with store.engine.begin() as c:
        c.execute(update(FeedRow).values(next_poll_at=store.clock() - timedelta(seconds=1)))


@contextmanager
def serve_feeds() -> Iterator[StorySite]:
    with StorySite() as site:
        yield site
