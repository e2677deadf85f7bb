"""Slash commands through the real Bolt app on loopback: signed form posts in, an empty ack
within Slack's 3 s, the desk's answer out through response_url as an ephemeral message."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.models import Entity
from tests.chat.slack.world import ALICE, BOSS, DESK, EDITOR, MALLORY, SlackWorld, response_payload
from tests.loopback import LoopbackServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Wire &amp; Co</title><link>https://wire.example/</link>
<description>d</description>
<item><title>Lukashenko greets observers</title><link>https://wire.example/1</link>
<guid>wire-1</guid><description>Lukashenko greeted the observers.</description></item>
</channel></rss>"""

PAGE = b"""<html><head><title>Zapad</title></head><body><article><h1>Drills</h1>
<p>Officers from 23 countries watched the Zapad-2025 drills near Barysaw on Tuesday.</p>
<p>Lukashenko said the exercise was purely defensive and open to observers.</p>
</article></body></html>"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path_factory.mktemp("slack-commands"))
    yield world
    world.close()


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.add("/feed.xml", RSS, headers=[("Content-Type", "application/rss+xml")])
        server.add("/story.html", PAGE, headers=[("Content-Type", "text/html; charset=utf-8")])
        yield server


@pytest.fixture(autouse=True)
def fresh(world: SlackWorld) -> None:
    world.reset()


def run(world: SlackWorld, command: str, text: str, user: str = ALICE) -> dict:
    """Run a command; check the ack is immediate and empty; return the response_url payload."""
    started = time.monotonic()
    ack, answer = world.command(command, text, user=user)
    assert ack.status_code == 200 and ack.text == ""
    assert time.monotonic() - started < 3
    payload = response_payload(answer)
    assert payload["response_type"] == "ephemeral" and payload["replace_original"] is False
    return payload


def entity(world: SlackWorld, name: str) -> Entity | None:
    return next(
        (e for e in world.watchdesk.store.watchlist.active_entities() if e.name == name), None
    )


def test_watch_list(world: SlackWorld) -> None:
    text = run(world, "/watch", "list")["text"]
    assert text.startswith("Watching ")
    assert "• Lukashenko — also Lukashenka, Лукашенко" in text


def test_watch_add_with_quotes_aliases_and_channel(world: SlackWorld) -> None:
    text = run(world, "/watch", f'add "Viktor Khrenin" Хренин <#{DESK}|news-desk>')["text"]
    assert text.startswith("Now watching Viktor Khrenin (aliases: Хренин).")
    assert entity(world, "Viktor Khrenin") == Entity(
        "Viktor Khrenin", ("Хренин",), (), (f"slack:{DESK}",)
    )


def test_watch_add_is_refused_for_a_stranger(world: SlackWorld) -> None:
    text = run(world, "/watch", "add Belavia", user=MALLORY)["text"]
    assert text.startswith("Sorry, you can't change the watchlist")
    assert MALLORY in text
    assert entity(world, "Belavia") is None


@pytest.mark.parametrize(("user", "term"), [(BOSS, "Belavia"), (EDITOR, "Hrodna")])
def test_workspace_admin_and_user_group_member_may_add(
    world: SlackWorld, user: str, term: str
) -> None:
    assert run(world, "/watch", f"add {term}", user=user)["text"].startswith(f"Now watching {term}")
    assert entity(world, term) is not None


def test_watch_remove(world: SlackWorld) -> None:
    run(world, "/watch", "add Astravets")
    assert run(world, "/watch", "remove Astravets")["text"] == "Stopped watching Astravets."
    assert entity(world, "Astravets") is None
    assert "is not on the watchlist" in run(world, "/watch", "remove Astravets")["text"]


def test_watch_test_with_text(world: SlackWorld) -> None:
    text = run(world, "/watch", "test Lukashenko met the observers in Minsk on Tuesday.")["text"]
    assert text.startswith("Would alert") and "Lukashenko" in text
    quiet = run(world, "/watch", "test The weather in Vilnius was mild.")["text"]
    assert quiet.startswith("Would NOT alert")


def test_watch_test_with_a_url(world: SlackWorld, site: LoopbackServer) -> None:
    text = run(world, "/watch", f"test <{site.url('/story.html')}>")["text"]
    assert text.startswith("Would alert") and "Zapad" in text and "Lukashenko" in text
    assert site.hits("/story.html") == 1


def test_malformed_commands_get_usage(world: SlackWorld) -> None:
    text = run(world, "/watch", "frobnicate")["text"]
    assert text.startswith("“frobnicate” is not a /watch subcommand.") and "Usage:" in text
    assert "needs a subcommand" in run(world, "/watch", "")["text"]
    assert "Usage:" in run(world, "/feeds", "help")["text"]


def test_feeds_add_list_remove(world: SlackWorld, site: LoopbackServer) -> None:
    url = site.url("/feed.xml")
    text = run(world, "/feeds", f"add <{url}>")["text"]
    assert text.startswith(
        f"Added Minsk Wire &amp; Co ({url}), polled every 10 min: the 1 item(s)"
    )  # & escaped for mrkdwn
    assert world.watchdesk.store.feeds.get_feed(url) is not None
    assert url in run(world, "/feeds", "list")["text"]
    assert run(world, "/feeds", f"remove <{url}>")["text"] == f"Removed {url}."
    assert world.watchdesk.store.feeds.get_feed(url) is None
    refused = run(world, "/feeds", f"add <{site.url('/missing.xml')}>")["text"]
    assert refused.startswith(f"Could not add {site.url('/missing.xml')}")


def test_feeds_add_by_a_stranger_is_refused(world: SlackWorld, site: LoopbackServer) -> None:
    text = run(world, "/feeds", f"add <{site.url('/feed.xml')}>", user=MALLORY)["text"]
    assert text.startswith("Sorry, you can't change the feeds")
    assert world.watchdesk.store.feeds.get_feed(site.url("/feed.xml")) is None


def test_claims_open_lists_unchecked_claims(world: SlackWorld) -> None:
    alert_id, _ts = world.posted_alert(claims=2)
    text = run(world, "/claims", "open")["text"]
    assert text.startswith("Unchecked claims, oldest first:")
    assert (
        f"• alert #{alert_id} “Story" in text
        and "claim 2: Claim number 2 with 52 prisoners." in text
    )
    assert run(world, "/claims", "")["text"] == text


def test_reply_text_is_escaped_on_the_wire(world: SlackWorld) -> None:
    # The user typed x<!channel>; Slack sent it escaped; the desk unescaped it; the echo is
    # escaped again, so it shows as typed and pings nobody.
    _ack, answer = world.command("/watch", "add x&lt;!channel&gt;")
    assert b"Now watching x&lt;!channel&gt;." in answer.raw_body
    assert b"<!channel>" not in answer.raw_body
    run(world, "/watch", "remove x&lt;!channel&gt;")
    _ack, answer = world.command("/watch", "remove y&lt;!here&gt;&lt;@U0ALICE1&gt;")
    assert b"y&lt;!here&gt;&lt;@U0ALICE1&gt;" in answer.raw_body
    assert b"<!here>" not in answer.raw_body and b"<@U0ALICE1>" not in answer.raw_body


def test_actor_without_users_read_scope_is_the_bare_id(world: SlackWorld) -> None:
    world.fake.scopes = "chat:write,commands"
    try:
        text = run(world, "/watch", "add Navapolatsk", user="U0NEW001")["text"]
    finally:
        world.fake.scopes = "chat:write,commands,channels:history,groups:history,channels:read,groups:read,users:read,usergroups:read"
    assert text.startswith("Sorry, you can't change the watchlist") and "U0NEW001" in text


def test_replies_name_commands_in_slack_syntax(world: SlackWorld) -> None:
    run(world, "/watch", 'add "Ihar Marzaliuk" Марзалюк Marzaliuk', user=EDITOR)
    payload = run(world, "/watch", "remove Марзалюк", user=EDITOR)
    assert payload["text"] == (
        "“Марзалюк” is a spelling of Ihar Marzaliuk, not a watched name itself. Which did you "
        "mean?\n"
        "• stop matching only that spelling: `/watch unalias Марзалюк`\n"
        '• stop watching Ihar Marzaliuk entirely: `/watch remove "Ihar Marzaliuk"`'
    )
    routed = run(world, "/watch", "add Marzaliuk <#C0NEWS123|news>", user=EDITOR)["text"]
    assert routed.startswith(
        "Ihar Marzaliuk was already watched (Marzaliuk is one of its spellings)."
    )
    # one code span for the command, the channel outside it as a real Slack channel link
    assert (
        'To post them to the default channels as well: `/watch add "Ihar Marzaliuk" +default` '
        "<#C0NEWS123>\n"
    ) in routed
    run(world, "/watch", 'remove "Ihar Marzaliuk"', user=EDITOR)


def test_claims_open_links_the_alert_by_permalink(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=1)
    text = run(world, "/claims", "")["text"]
    link = f"<https://fake.slack.test/archives/{DESK}/p{ts.replace('.', '')}|open the alert>"
    assert f"• alert #{alert_id} “" in text and f" · {link}\n    claim 1: " in text
