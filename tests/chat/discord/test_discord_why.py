"""`/why` through the real discord.py client and the real Desk: the command as registered, the
deferred ephemeral answer, the jump link of a delivered alert, the feed to add for an unknown
article in Discord's option syntax."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.desk.why import when
from tests.chat.discord.test_discord_commands import deferred_then_followup
from tests.chat.discord.world import DiscordWorld
from tests.chat.slack.test_slack_why import stored_lines, traced_alert
from tests.factories import posts_of
from tests.loopback import LoopbackServer


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.add(
            "/story.html",
            b'<html><head><link rel="alternate" type="application/rss+xml" title="Daily" '
            b'href="/daily.xml"></head><body>story</body></html>',
            headers=[("Content-Type", "text/html")],
        )
        yield server


def why(world: DiscordWorld, target: str) -> dict:
    fake = world.fake
    token = fake.slash(fake.bob, fake.alerts_channel, "why", target=target)
    callback, followup = deferred_then_followup(fake, token)
    assert callback == {"type": 5, "data": {"flags": 64}}  # ephemeral, "thinking…"
    assert followup["flags"] == 64 and followup["allowed_mentions"] == {"parse": []}
    return followup


def test_why_is_registered_with_one_required_target(world: DiscordWorld) -> None:
    fake = world.fake
    command = fake.commands[f"guild:{fake.guild_id}"]["why"]
    [target] = command["options"]
    assert (target["name"], target["type"], target["required"]) == ("target", 3, True)


def test_why_a_delivered_alert_by_number_links_it(world: DiscordWorld) -> None:
    store = world.watchdesk.store
    alert_id = traced_alert(store, 700, world.channel)
    ref = world.delivered(alert_id)
    (post,) = posts_of(store, alert_id)
    fake = world.fake
    jump = f"https://discord.com/channels/{fake.guild_id}/{fake.alerts_channel}/{ref.message_id}"
    stored, listed = stored_lines(store, alert_id)
    assert why(world, str(alert_id))["content"] == "\n".join(
        [
            "“Story 700” — https://news.example/a/700",
            f"Alerted as #{alert_id}; the deliveries are below.",
            stored,
            "Feeds that list it:",
            listed,
            "Matched: Lukashenko as “Lukashenka” (salience 0.80).",
            f"Routed to {world.channel}:",
            f"• {world.channel}: sent {when(post.sent_at)} (1 attempt) · "
            f"[open the alert](<{jump}>)",
        ]
    )


def test_why_an_unknown_article_suggests_its_feed_in_option_syntax(
    world: DiscordWorld, site: LoopbackServer
) -> None:
    url, feed = site.url("/story.html"), site.url("/daily.xml")
    assert why(world, url)["content"].split("\n")[1:] == [
        "Its site offers a feed; to poll it:",
        f"• {feed} (Daily) — `/feeds add url:{feed}`",
    ]
