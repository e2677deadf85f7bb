"""One story, one alert, through the real poller, analyser, stories, outbox and Slack adapter
(loopback feeds, the fake Slack Web API): the same story from three outlets (one in Russian)
is one alert whose thread gathers the other two and whose header counts the sources; two
different stories about the same entity on the same day are two alerts; a re-published copy
under a new guid and link posts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.chat.slack.world import DESK, SlackWorld
from tests.desk.story_feeds import FEEDS, PARDON, THREAD_POSTS, make_due, rss, serve_feeds


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path)
    yield world
    world.close()


def test_three_outlets_one_alert_two_thread_posts_and_a_header(world: SlackWorld) -> None:
    store = world.watchdesk.store
    with serve_feeds() as site:
        first, *others = FEEDS
        store.feeds.add_feed(site.url_for(first), interval_s=600, name=first.outlet)
        assert len(world.watchdesk.run_cycle().alerts) == 1
        for feed in others:
            store.feeds.add_feed(site.url_for(feed), interval_s=600, name=feed.outlet)
        again = world.watchdesk.run_cycle()
    assert again.alerts == []
    alert, *thread = world.fake.calls_to("chat.postMessage")
    ts = world.fake.top_level(DESK)[0]["ts"]
    assert len(world.fake.top_level(DESK)) == 1
    assert [p.params for p in thread] == [
        {
            "channel": DESK,
            "text": text,
            "thread_ts": ts,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        for text in THREAD_POSTS
    ]
    (update,) = world.fake.calls_to("chat.update")
    assert update.params["ts"] == ts
    assert update.params["blocks"][1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "*Minsk Wire*", "verbatim": True},
            {
                "type": "mrkdwn",
                "text": "<!date^1757673000^{date_short_pretty} {time}|2025-09-12 10:30 UTC>",
                "verbatim": True,
            },
            {"type": "mrkdwn", "text": "alert #1", "verbatim": True},
            {
                "type": "mrkdwn",
                "text": "3 sources: Minsk Wire, Belarus Today, Зеркало",
                "verbatim": True,
            },
        ],
    }
    # the first post went out before any copy joined: no sources line yet
    assert len(alert.params["blocks"][1]["elements"]) == 3


def test_two_stories_about_one_man_on_one_day_are_two_alerts(world: SlackWorld) -> None:
    with serve_feeds() as site:
        url = site.add(
            "/both.xml",
            rss(FEEDS[0], FEEDS[0], PARDON),
            headers=[("Content-Type", "application/rss+xml")],
        )
        world.watchdesk.store.feeds.add_feed(url, interval_s=600, name="Minsk Wire")
        summary = world.watchdesk.run_cycle()
    assert len(summary.alerts) == 2
    posts = world.fake.calls_to("chat.postMessage")
    assert len(posts) == 2 and all("thread_ts" not in p.params for p in posts)
    assert world.fake.calls_to("chat.update") == []


def test_a_re_published_copy_with_new_ids_posts_nothing(world: SlackWorld) -> None:
    store = world.watchdesk.store
    with serve_feeds() as site:
        url = site.url_for(FEEDS[0])
        store.feeds.add_feed(url, interval_s=600, name="Minsk Wire")
        assert len(world.watchdesk.run_cycle().alerts) == 1
        copy = replace(FEEDS[0], guid="wire-7-rebuilt", link="https://wire.example/zapad-7-v2")
        site.add(FEEDS[0].path, rss(copy), headers=[("Content-Type", "application/rss+xml")])
        make_due(store)
        again = world.watchdesk.run_cycle()
    assert again.alerts == [] and again.polled.new_articles == []
    assert len(world.fake.calls_to("chat.postMessage")) == 1
