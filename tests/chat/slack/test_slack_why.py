"""`/why` through the real Bolt app on loopback: an empty ack, then the trace as an ephemeral
message with Slack's permalink for a delivered alert and the outbox's last error for one that is
being retried."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.desk.why import when
from bot.feeds.decide import identify
from bot.feeds.poll import record_entries
from bot.models import AnalysisTrace, TermTrace
from bot.store.repo import Store
from tests.chat.slack.test_slack_commands import run
from tests.chat.slack.world import DESK, SlackWorld
from tests.factories import analysis, entry, posts_of, stored_alert


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path_factory.mktemp("slack-why"))
    yield world
    world.close()


@pytest.fixture(autouse=True)
def fresh(world: SlackWorld) -> None:
    world.reset()


def stored_lines(store: Store, alert_id: int) -> tuple[str, str]:
    """The two lines about where the article came from, with the times the store holds."""
    article_id = store.alerts.article_for_alert(alert_id)
    assert article_id is not None
    history = store.articles.history(article_id)
    assert history is not None
    feed = store.feeds.feed_by_id(history.feed_id or 0)
    assert feed is not None
    (seen,) = history.sightings
    return (
        f"Stored {when(history.stored_at)} from {feed.name} ({feed.url}).",
        f"• {feed.name} ({feed.url}) listed it first ({when(seen.seen_at)}): this entry stored "
        f"the article — active; last success never, next poll {when(feed.next_poll_at)}",
    )


def traced_alert(store: Store, n: int, destination: str = f"slack:{DESK}") -> int:
    """An alert as the alert maker writes it, with the gate's trace."""
    feed = store.feeds.add_feed(f"https://feeds.example/{n}.xml", interval_s=600, name=f"Feed {n}")
    [article_id] = record_entries(
        store.articles, feed.id, identify([entry(n)]), primed=True, backfill=0
    )
    trace = AnalysisTrace((TermTrace("Lukashenko", "Lukashenka", 0.8),))
    return store.alerts.create_alert(
        article_id,
        source=f"Feed {n}",
        analysis=replace(analysis(), trace=trace),
        destinations=[destination],
    )


def test_why_a_delivered_alert_links_its_message(world: SlackWorld) -> None:
    store = world.watchdesk.store
    alert_id = traced_alert(store, 800)
    world.watchdesk.run_outbox_once()
    (post,) = posts_of(store, alert_id)
    ts = post.message_id
    assert ts
    stored, listed = stored_lines(store, alert_id)
    n = 800
    link = f"<https://fake.slack.test/archives/{DESK}/p{ts.replace('.', '')}|open the alert>"
    payload = run(world, "/why", str(alert_id))
    assert payload == {
        "text": "\n".join(
            [
                f"“Story {n}” — https://news.example/a/{n}",
                f"Alerted as #{alert_id}; the deliveries are below.",
                stored,
                "Feeds that list it:",
                listed,
                "Matched: Lukashenko as “Lukashenka” (salience 0.80).",
                f"Routed to slack:{DESK}:",
                f"• slack:{DESK}: sent {when(post.sent_at)} (1 attempt) · {link}",
            ]
        ),
        "response_type": "ephemeral",
        "replace_original": False,
    }


def test_why_by_link_shows_a_delivery_being_retried(world: SlackWorld) -> None:
    store = world.watchdesk.store
    alert_id = stored_alert(store, n=900, destinations=(f"slack:{DESK}",))
    world.fake.fail_next("chat.postMessage", "500")
    assert world.watchdesk.run_outbox_once().retrying == 1
    (post,) = posts_of(store, alert_id)
    assert post.state == "pending" and post.attempts == 1 and post.last_error
    # should_escape: Slack hands the link over as <https://…>
    text = run(world, "/why", "<https://news.example/a/900>")["text"]
    # the error text (an HTML page here) is escaped for mrkdwn on the wire
    error = post.last_error.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "<html>" in post.last_error and "<html>" not in text
    assert text.split("\n")[-2:] == [
        f"Routed to slack:{DESK}:",
        f"• slack:{DESK}: retrying: 1 attempt so far, last error: {error}; "
        f"next try {when(post.next_attempt_at)}",
    ]


def test_why_an_unknown_link_and_a_bad_target(world: SlackWorld) -> None:
    text = run(world, "/why", "<http://127.0.0.1:9/x>")["text"]
    assert text.startswith(
        "No feed Watchdesk polls has listed http://127.0.0.1:9/x: it was never stored"
    )
    assert run(world, "/why", "soon")["text"] == (
        "“soon” is neither an article's web address (https://…) nor an alert number (42)."
    )
    usage = run(world, "/why", "help")["text"]
    assert usage.startswith("Usage:\n  `/why URL or ALERT-NUMBER` — where an article stopped")
