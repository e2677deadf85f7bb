"""Slash commands through the real discord.py client and the real Desk: registration, options as
Discord sends them, permissions, autocomplete, errors, and the exact ephemeral answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.chat.discord.actions import NOT_SERVED_TEXT
from bot.models import Entity
from tests.chat.discord.fake_discord import FakeDiscord, User
from tests.chat.discord.world import DiscordWorld, assert_no_mentions_anywhere
from tests.loopback import LoopbackServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Daily</title><link>http://127.0.0.1/</link>
<description>news</description>
<item><title>Market opens</title><link>http://127.0.0.1/a/1</link><guid>a-1</guid>
<description>Stocks rose.</description></item>
</channel></rss>"""


@pytest.fixture(scope="module")
def feeds_site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        server.add("/rss.xml", RSS, headers=[("Content-Type", "application/rss+xml")])
        server.add(
            "/page.html",
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head></html>',
            headers=[("Content-Type", "text/html")],
        )
        yield server


def run(world: DiscordWorld, user: User, command: str, **options: Any) -> dict[str, Any]:
    """Invoke a slash command in #alerts and return the body of its visible answer."""
    fake = world.fake
    token = fake.slash(user, fake.alerts_channel, command, **options)
    answer = fake.wait_answer(token)
    return answer.body["data"] if answer.path.endswith("/callback") else answer.body


def deferred_then_followup(fake: FakeDiscord, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    fake.wait_answer(token)
    callback, followup = fake.responses_for(token)
    assert callback.path.endswith("/callback") and followup.path.startswith(
        f"/webhooks/{fake.app_id}/"
    )
    return callback.body, followup.body


def test_commands_are_registered_in_the_configured_guild(world: DiscordWorld) -> None:
    fake = world.fake
    commands = fake.commands[f"guild:{fake.guild_id}"]
    assert sorted(commands) == ["claims", "digest", "feeds", "verdict", "watch", "why"]
    assert "global" not in fake.commands  # global sync only on request

    def subcommands(name: str) -> dict[str, Any]:
        return {o["name"]: o for o in commands[name]["options"]}

    assert sorted(subcommands("watch")) == ["add", "list", "remove", "test", "unalias"]
    assert sorted(subcommands("feeds")) == ["add", "list", "remove"]
    assert sorted(subcommands("claims")) == ["mine", "open"]
    add = {o["name"]: o for o in subcommands("watch")["add"]["options"]}
    assert (add["term"]["type"], add["term"]["required"]) == (3, True)
    assert (add["aliases"]["type"], add["aliases"]["required"]) == (3, False)
    assert add["channel"]["type"] == 7 and sorted(add["channel"]["channel_types"]) == [
        0,
        5,
    ]  # text, announcement
    assert (add["keep_default"]["type"], add["keep_default"]["required"]) == (5, False)  # bool
    remove = {o["name"]: o for o in subcommands("watch")["remove"]["options"]}
    assert remove["channel"]["type"] == 7 and remove["channel"]["required"] is False
    unalias = subcommands("watch")["unalias"]["options"][0]
    assert (unalias["name"], unalias["autocomplete"]) == ("alias", True)
    assert subcommands("watch")["remove"]["options"][0]["autocomplete"] is True
    assert subcommands("feeds")["remove"]["options"][0]["autocomplete"] is True
    verdict = {o["name"]: o for o in commands["verdict"]["options"]}
    assert [c["value"] for c in verdict["verdict"]["choices"]] == [
        "true",
        "false",
        "misleading",
        "unproven",
    ]
    assert (verdict["claim"]["type"], verdict["claim"]["min_value"]) == (4, 1)
    assert all(c["contexts"] == [0] for c in commands.values())  # guild only


def test_watch_add_by_a_manage_server_holder(world: DiscordWorld) -> None:
    fake = world.fake
    token = fake.slash(
        fake.carol,
        fake.alerts_channel,
        "watch add",
        term="Viktor Khrenin",
        aliases="Хренин, Хрэнін",
        channel=fake.other_channel,
    )
    callback, followup = deferred_then_followup(fake, token)
    assert callback == {"type": 5, "data": {"flags": 64}}
    assert followup["flags"] == 64 and followup["allowed_mentions"] == {"parse": []}
    assert followup["content"].startswith("Now watching Viktor Khrenin (aliases: Хренин, Хрэнін).")
    assert Entity(
        "Viktor Khrenin", ("Хренин", "Хрэнін"), (), (f"discord:{fake.other_channel}",)
    ) in (world.watchdesk.store.watchlist.active_entities())


def test_watch_add_by_the_editor_role(world: DiscordWorld) -> None:
    answer = run(world, world.fake.alice, "watch add", term="Zapad drills")
    assert answer["content"].startswith("Now watching Zapad drills.")
    assert "Zapad drills" in world.watchdesk.desk.watch_names()


def test_watch_add_refused_for_a_plain_member(world: DiscordWorld) -> None:
    fake = world.fake
    answer = run(world, fake.bob, "watch add", term="Nobody")
    assert answer["flags"] == 64
    assert answer["content"].startswith(
        "Sorry, you can't change the watchlist: only the desk's editors can."
    )
    assert str(fake.bob.id) in answer["content"]
    assert "Nobody" not in world.watchdesk.desk.watch_names()


def test_watch_remove_autocompletes_and_removes(world: DiscordWorld) -> None:
    fake = world.fake
    token = fake.autocomplete(
        fake.bob, fake.alerts_channel, "watch remove", focused="term", term="luka"
    )
    answer = fake.wait_answer(token)
    assert answer.body == {
        "type": 8,
        "data": {"choices": [{"name": "Lukashenko", "value": "Lukashenko"}]},
    }
    assert (
        run(world, fake.carol, "watch remove", term="Zapad")["content"] == "Stopped watching Zapad."
    )
    missing = run(world, fake.carol, "watch remove", term="Atlantis")["content"]
    assert missing.startswith("Atlantis is not on the watchlist (watching: ")


def test_watch_list_and_test(world: DiscordWorld) -> None:
    fake = world.fake
    listing = run(world, fake.bob, "watch list")["content"]
    assert "• Lukashenko — also Lukashenka, Лукашенко" in listing
    quiet = run(world, fake.bob, "watch test", text="The weather in Paris is mild.")["content"]
    assert quiet.startswith("Would NOT alert.")
    loud = run(
        world, fake.bob, "watch test", text="Lukashenka said 52 prisoners were freed on Monday."
    )
    assert loud["content"].startswith("Would alert.")


def test_feeds_add_list_autocomplete_remove(
    world: DiscordWorld, feeds_site: LoopbackServer
) -> None:
    fake = world.fake
    url = feeds_site.url("/rss.xml")
    added = run(world, fake.carol, "feeds add", url=url)["content"]
    assert added.startswith(f"Added Minsk Daily ({url}), polled every 10 min: the 1 item(s)")
    assert url in run(world, fake.bob, "feeds list")["content"]
    token = fake.autocomplete(
        fake.carol, fake.alerts_channel, "feeds remove", focused="url", url="127.0.0.1"
    )
    choices = fake.wait_answer(token).body["data"]["choices"]
    assert {"name": url, "value": url} in choices
    assert run(world, fake.carol, "feeds remove", url=url)["content"] == f"Removed {url}."
    assert url not in world.watchdesk.desk.feed_urls()


def test_feeds_add_errors_say_what_to_do(world: DiscordWorld, feeds_site: LoopbackServer) -> None:
    fake = world.fake
    page = run(world, fake.carol, "feeds add", url=feeds_site.url("/page.html"))["content"]
    assert page.startswith(
        f"{feeds_site.url('/page.html')} is a web page, not a feed. Did you mean:"
    )
    assert feeds_site.url("/rss.xml") in page
    refused = run(world, fake.bob, "feeds add", url=feeds_site.url("/rss.xml"))["content"]
    assert refused.startswith("Sorry, you can't change the feeds")


def test_claims_open_lists_unchecked_claims(world: DiscordWorld) -> None:
    alert_id = world.new_alert(201)
    answer = run(world, world.fake.bob, "claims open")["content"]
    assert answer == (
        "Unchecked claims, oldest first:\n"
        f"• alert #{alert_id} “Story 201”\n"
        "    claim 1: Claim number 1 with 52 prisoners.\n"
        "    claim 2: Claim number 2 with 52 prisoners.\n"
        "    claim 3: Claim number 3 with 52 prisoners."
    )
    # once posted, the alert is linked by its jump URL
    ref = world.delivered(alert_id)
    answer = run(world, world.fake.bob, "claims open")["content"]
    jump = f"https://discord.com/channels/{world.fake.guild_id}/{world.fake.alerts_channel}/{ref.message_id}"
    assert answer.startswith(
        "Unchecked claims, oldest first:\n"
        f"• alert #{alert_id} “Story 201” · [open the alert](<{jump}>)\n"
        "    claim 1: Claim number 1 with 52 prisoners.\n"
    )


def test_a_guild_not_configured_is_refused(world: DiscordWorld) -> None:
    fake = world.fake
    token = fake.slash(fake.carol, fake.alerts_channel, "watch list", guild_id=fake.other_guild_id)
    answer = fake.wait_answer(token)
    assert answer.body == {
        "type": 4,
        "data": {
            "content": NOT_SERVED_TEXT,
            "tts": False,
            "flags": 64,
            "allowed_mentions": {"parse": []},
        },
    }


def test_injection_in_a_command_answer_is_inert(world: DiscordWorld) -> None:
    bad = "@everyone [bank.com](http://evil.example) <@&123456789012345678>"
    answer = run(world, world.fake.carol, "watch add", term=bad)
    assert answer["content"].startswith(
        "Now watching @\u200beveryone \\[bank.com\\](http://evil.example) \\<@\u200b&123456789012345678>."
    )
    assert answer["allowed_mentions"] == {"parse": []}


def test_every_answer_in_this_module_allowed_no_mentions(world: DiscordWorld) -> None:
    assert_no_mentions_anywhere(world.fake.calls)


def test_replies_name_commands_in_discord_option_syntax(world: DiscordWorld) -> None:
    """Commands in replies are Discord's own (option syntax, real code spans), never Slack's."""
    carol = world.fake.carol
    run(world, carol, "watch add", term="Pavel Latushka", aliases="Латушка, Latushka")
    answer = run(world, carol, "watch remove", term="Латушка")["content"]
    assert answer == (
        "“Латушка” is a spelling of Pavel Latushka, not a watched name itself. Which did you "
        "mean?\n"
        "• stop matching only that spelling: `/watch unalias alias:Латушка`\n"
        "• stop watching Pavel Latushka entirely: `/watch remove term:Pavel Latushka`"
    )
    answer = run(world, carol, "watch unalias", alias="Латушка")["content"]
    assert answer == "Pavel Latushka no longer matches “Латушка”; its spellings are now: Latushka."
    again = run(world, carol, "watch add", term="Pavel Latushka")["content"]
    assert again.startswith("Pavel Latushka is already watched, with aliases: Latushka.")
    assert "\\`" not in again and '"' not in again  # no escaped code, no Slack-style quoting
    if "Add them with: " in again:
        assert "`/watch add term:Pavel Latushka aliases:" in again
    run(world, carol, "watch remove", term="Pavel Latushka")


def test_did_you_mean_gives_the_discord_command(
    world: DiscordWorld, feeds_site: LoopbackServer
) -> None:
    page = feeds_site.url("/page.html")
    feed = feeds_site.url("/rss.xml")
    answer = run(world, world.fake.carol, "feeds add", url=page)["content"]
    assert answer == (
        f"{page} is a web page, not a feed. Did you mean:\n"
        f"• {feed} — add it with `/feeds add url:{feed}`"
    )
