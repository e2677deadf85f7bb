"""A feed article to a Discord alert: loopback feed → poll → analysis → outbox → discord.py →
fake Discord, with the alert's thread opened and a feed title that tries to ping and spoof."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chat.discord.fake_discord import FakeDiscord
from tests.chat.discord.world import DiscordWorld, assert_no_mentions_anywhere
from tests.factories import posts_of
from tests.loopback import LoopbackServer

ARTICLE = (
    "Lukashenko said on Monday that 52 political prisoners had been released this year. "
    "The Viasna human rights centre said more than 1,100 people remain behind bars. "
    "Officials claimed the Zapad-2025 drills would involve 13,000 troops."
)
# Its own story (the same text under another title would join the first alert's thread).
HOSTILE_ARTICLE = (
    "Lukashenko opened a new potash mine near Soligorsk on Thursday, state television "
    "reported. The mine is expected to employ 1,500 people by 2028."
)
HOSTILE_TITLE = (
    "@everyone Lukashenko pardons <@&123456789012345678> [bank.com](http://evil.example/login)"
)


def rss(base: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Daily</title><link>{base}/</link><description>news</description>
<item><title>Lukashenko says 52 prisoners were released</title><link>{base}/a/1</link><guid>a-1</guid>
<pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate><description>{ARTICLE}</description></item>
<item><title>{HOSTILE_TITLE.replace("&", "&amp;").replace("<", "&lt;")}</title><link>{base}/a/2</link>
<guid>a-2</guid><description>{HOSTILE_ARTICLE}</description></item>
<item><title>Weather is mild in Paris</title><link>{base}/a/3</link><guid>a-3</guid>
<description>Nothing to see here.</description></item>
</channel></rss>""".encode()


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.add(
            "/rss.xml", rss(server.base_url), headers=[("Content-Type", "application/rss+xml")]
        )
        yield server


@pytest.fixture(scope="module")
def world(  # overrides conftest: this world polls a real (loopback) feed
    fake: FakeDiscord, site: LoopbackServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DiscordWorld]:
    built = DiscordWorld.build(
        fake,
        tmp_path_factory.mktemp("discord-e2e"),
        feeds=[{"url": site.url("/rss.xml"), "name": "Minsk Daily"}],
    )
    yield built
    built.close()


def test_a_matching_article_becomes_an_embed_with_a_thread(world: DiscordWorld) -> None:
    fake = world.fake
    summary = world.watchdesk.run_cycle()
    assert len(summary.alerts) == 2  # the weather story matches nothing
    assert summary.outbox.sent == 2
    posts = fake.calls_to("POST", rf"/channels/{fake.alerts_channel}/messages")
    threads = fake.calls_to("POST", rf"/channels/{fake.alerts_channel}/messages/\d+/threads")
    assert len(posts) == 2 and len(threads) == 2
    by_title = {p.body["embeds"][0]["title"]: p.body for p in posts}

    plain = by_title["Lukashenko says 52 prisoners were released"]["embeds"][0]
    first_alert = summary.alerts[0]
    assert plain["url"] == world_site_url(world, "/a/1")
    assert plain["footer"] == {"text": f"Watchdesk alert #{first_alert} · Minsk Daily"}
    assert plain["timestamp"] == "2026-03-02T09:00:00+00:00"
    names = [f["name"] for f in plain["fields"]]
    assert "🔎 Lukashenko" in names
    claim_names = [n for n in names if " Claim " in n]
    assert claim_names and all(n.startswith("⬜ Claim ") for n in claim_names)
    assert "52 political prisoners" in plain["description"] or any(
        "52 political prisoners" in f["value"] for f in plain["fields"]
    )

    [delivery] = posts_of(world.watchdesk.store, first_alert)
    assert delivery.thread_id == delivery.message_id
    assert fake.channels[int(delivery.thread_id)]["parent_id"] == str(fake.alerts_channel)


def test_a_hostile_feed_title_neither_pings_nor_spoofs(world: DiscordWorld) -> None:
    fake = world.fake
    posts = fake.calls_to("POST", rf"/channels/{fake.alerts_channel}/messages")
    hostile = next(p.body for p in posts if "pardons" in p.body["embeds"][0]["title"])
    assert hostile["embeds"][0]["title"] == (
        "@\u200beveryone Lukashenko pardons \\<@\u200b&123456789012345678> \\[bank.com\\](http://evil.example/login)"
    )
    assert hostile["allowed_mentions"] == {"parse": []}
    assert_no_mentions_anywhere(fake.calls)


def world_site_url(world: DiscordWorld, path: str) -> str:
    [feed] = world.watchdesk.store.feeds.list_feeds()
    return feed.url.rsplit("/", 1)[0] + path
