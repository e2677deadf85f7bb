"""Verdicts from Discord — a button, the select, a thread reply, /verdict — recorded by the real
Desk, answered ephemerally or in the thread, and shown by editing the alert's embed."""

from __future__ import annotations

from typing import Any

from bot.chat.discord.cog import NOT_A_THREAD_TEXT
from bot.chat.discord.embeds import COLOUR_FALSE
from bot.models import MessageRef
from tests.chat.discord.fake_discord import Call, FakeDiscord
from tests.chat.discord.world import DiscordWorld, assert_no_mentions_anywhere


def edit_of(fake: FakeDiscord, ref: MessageRef, after: int) -> Call:
    """The first PATCH of the alert message after call number ``after``."""
    path = f"/channels/{fake.alerts_channel}/messages/{ref.message_id}"
    return fake.wait_for(
        lambda calls: next(
            (c for c in calls[after:] if c.method == "PATCH" and c.path == path), None
        )
    )


def claim_field(patch: Call, n: int) -> dict[str, Any]:
    [embed] = patch.body["embeds"]
    return next(f for f in embed["fields"] if f["name"].split(" · ")[0].endswith(f"Claim {n}"))


def thread_reply(fake: FakeDiscord, thread_id: str, after: int) -> Call:
    path = f"/channels/{thread_id}/messages"
    return fake.wait_for(
        lambda calls: next(
            (c for c in calls[after:] if c.method == "POST" and c.path == path), None
        )
    )


def test_a_button_records_the_verdict_and_edits_the_embed(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(301)
    ref = world.delivered(alert_id)
    mark = world.mark()
    token = fake.click(
        fake.alice, fake.alerts_channel, int(ref.message_id), f"wd:v:{alert_id}:2:false"
    )
    answer = fake.wait_answer(token)
    assert answer.body == {
        "content": "Recorded: claim 2 → false (by Alice).",
        "tts": False,
        "flags": 64,
        "allowed_mentions": {"parse": []},
    }
    patch = edit_of(fake, ref, mark)
    assert fake.calls.index(patch) < fake.calls.index(
        answer
    )  # the embed is edited before the answer
    assert claim_field(patch, 2)["name"] == "❌ Claim 2 · false (statistic)"
    assert claim_field(patch, 2)["value"].startswith(
        "Claim number 2 with 52 prisoners.\n-# checked by Alice <t:"
    )
    assert claim_field(patch, 1)["name"] == "⬜ Claim 1 · unchecked (statistic)"
    assert patch.body["embeds"][0]["color"] == COLOUR_FALSE
    assert patch.body["allowed_mentions"] == {"parse": []}


def test_a_thread_reply_records_and_is_answered_in_the_thread(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(302)
    ref = world.delivered(alert_id)
    assert ref.thread_id == ref.message_id
    mark = world.mark()
    said = fake.say(fake.bob, int(ref.message_id), "1 true https://source.example/report")
    reply = thread_reply(fake, ref.message_id, mark)
    assert (
        reply.body["content"]
        == "Recorded: claim 1 → true (by Bob); source https://source.example/report."
    )
    assert reply.body["message_reference"]["message_id"] == said
    assert reply.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    patch = edit_of(fake, ref, mark)
    assert claim_field(patch, 1)["value"].endswith("· [source](https://source.example/report)")


def test_conversation_in_the_thread_is_left_alone(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(303)
    ref = world.delivered(alert_id)
    mark = world.mark()
    fake.say(fake.bob, int(ref.message_id), "thanks, I'm looking at the ministry's numbers")
    fake.say(fake.bob, int(ref.message_id), "claim 3: misleading — numbers are from 2021")
    reply = thread_reply(fake, ref.message_id, mark)
    assert reply.body["content"] == "Recorded: claim 3 → misleading (by Bob)."
    assert claim_field(edit_of(fake, ref, mark), 3)["value"].endswith("· numbers are from 2021")
    replies = [
        c
        for c in world.since(mark)
        if c.method == "POST" and c.path == f"/channels/{ref.message_id}/messages"
    ]
    assert len(replies) == 1


def test_a_reply_naming_a_missing_claim_gets_a_hint_and_changes_nothing(
    world: DiscordWorld,
) -> None:
    fake = world.fake
    alert_id = world.new_alert(304)
    ref = world.delivered(alert_id)
    mark = world.mark()
    fake.say(fake.bob, int(ref.message_id), "7 false")
    reply = thread_reply(fake, ref.message_id, mark)
    assert reply.body["content"] == (
        "There is no claim 7 in this alert (claims 1–3). Reply like: `2 false https://source`."
    )
    assert not [c for c in world.since(mark) if c.method == "PATCH"]


def test_slash_verdict_inside_the_thread(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(305)
    ref = world.delivered(alert_id)
    mark = world.mark()
    token = fake.slash(
        fake.alice,
        int(ref.message_id),
        "verdict",
        claim=3,
        verdict="misleading",
        source="https://source.example/2021",
        note="numbers are from 2021",
    )
    answer = fake.wait_answer(token)
    assert answer.body["content"] == (
        "Recorded: claim 3 → misleading (by Alice); source https://source.example/2021."
    )
    value = claim_field(edit_of(fake, ref, mark), 3)["value"]
    assert value.endswith("· [source](https://source.example/2021) · numbers are from 2021")


def test_slash_verdict_errors(world: DiscordWorld) -> None:
    fake = world.fake
    outside = fake.wait_answer(
        fake.slash(fake.alice, fake.alerts_channel, "verdict", claim=1, verdict="true")
    )
    assert (
        outside.body["data"]["content"] == NOT_A_THREAD_TEXT and outside.body["data"]["flags"] == 64
    )
    alert_id = world.new_alert(306)
    ref = world.delivered(alert_id)
    token = fake.slash(fake.alice, int(ref.message_id), "verdict", claim=9, verdict="true")
    assert (
        fake.wait_answer(token).body["content"] == f"Alert #{alert_id} has no claim 9 (claims 1–3)."
    )


def test_many_claims_get_buttons_and_a_select(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(307, claims=7)
    mark = world.mark()
    ref = world.delivered(alert_id)
    [post] = [c for c in world.since(mark) if c.path == f"/channels/{fake.alerts_channel}/messages"]
    rows = post.body["components"]
    assert len(rows) == 5
    assert [len(r["components"]) for r in rows] == [4, 4, 4, 4, 1]
    [select] = rows[4]["components"]
    assert select["type"] == 3 and select["custom_id"] == f"wd:s:{alert_id}"
    assert [o["value"] for o in select["options"]][:5] == [
        "5:true",
        "5:false",
        "5:misleading",
        "5:unproven",
        "6:true",
    ]
    assert len(select["options"]) == 12
    mark = world.mark()
    token = fake.click(
        fake.alice,
        fake.alerts_channel,
        int(ref.message_id),
        f"wd:s:{alert_id}",
        values=["6:unproven"],
    )
    assert fake.wait_answer(token).body["content"] == "Recorded: claim 6 → unproven (by Alice)."
    assert claim_field(edit_of(fake, ref, mark), 6)["name"].startswith("❓ Claim 6 · unproven")


def test_buttons_keep_working_after_a_restart(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(308)
    ref = world.delivered(alert_id)
    world.restart()
    token = fake.click(
        fake.carol, fake.alerts_channel, int(ref.message_id), f"wd:v:{alert_id}:1:true"
    )
    assert fake.wait_answer(token).body["content"] == "Recorded: claim 1 → true (by Carol)."


def test_every_message_in_this_module_allowed_no_mentions(world: DiscordWorld) -> None:
    assert_no_mentions_anywhere(world.fake.calls)
