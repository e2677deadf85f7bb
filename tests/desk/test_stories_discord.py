"""One story, one alert, delivered through the real discord.py adapter to the loopback fake
Discord: the same story from three outlets (one in Russian) is one embed whose thread gathers
the other two and whose author line counts the sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.chat.discord.fake_discord import FakeDiscord
from tests.chat.discord.world import DiscordWorld
from tests.desk.story_feeds import FEEDS, THREAD_POSTS, serve_feeds


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DiscordWorld]:
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    fake = FakeDiscord().start()
    built = DiscordWorld.build(fake, tmp_path)
    yield built
    built.close()
    fake.stop()
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    assert not fake.unhandled, f"the bot called routes the fake does not know: {fake.unhandled}"


def test_three_outlets_one_embed_two_thread_posts_and_an_author_line(world: DiscordWorld) -> None:
    store, fake = world.watchdesk.store, world.fake
    with serve_feeds() as site:
        first, *others = FEEDS
        store.feeds.add_feed(site.url_for(first), interval_s=600, name=first.outlet)
        assert len(world.watchdesk.run_cycle().alerts) == 1
        for feed in others:
            store.feeds.add_feed(site.url_for(feed), interval_s=600, name=feed.outlet)
        assert world.watchdesk.run_cycle().alerts == []
    channel = fake.alerts_channel
    (post,) = fake.calls_to("POST", rf"/channels/{channel}/messages")
    (thread,) = fake.calls_to("POST", rf"/channels/{channel}/messages/\d+/threads")
    message_id = thread.path.split("/")[-2]
    assert "author" not in post.body["embeds"][0]  # posted before any copy joined
    (edit,) = fake.calls_to("PATCH", rf"/channels/{channel}/messages/{message_id}")
    assert edit.body["embeds"][0]["author"] == {
        "name": "3 sources: Minsk Wire, Belarus Today, Зеркало"
    }
    assert edit.body["embeds"][0]["title"] == FEEDS[0].title
    in_thread = [
        c.body
        for c in fake.calls
        if c.method == "POST" and c.path.endswith("/messages") and f"/{channel}/" not in c.path
    ]
    assert [(b["content"], b["allowed_mentions"]) for b in in_thread] == [
        (text, {"parse": []}) for text in THREAD_POSTS
    ]
