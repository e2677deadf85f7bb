"""Who is checking what, through the real Discord adapter: "I'm on it" in an alert's thread
assigns the claim and the embed shows the assignee; `/claims mine` lists it with a jump link."""

from __future__ import annotations

from tests.chat.discord.test_discord_commands import run
from tests.chat.discord.test_discord_verdicts import claim_field, edit_of, thread_reply
from tests.chat.discord.world import DiscordWorld


def test_on_it_assigns_the_claim_and_claims_mine_lists_it(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(401)
    ref = world.delivered(alert_id)
    mark = world.mark()
    fake.say(fake.bob, int(ref.message_id), "I'm on it: 2")
    reply = thread_reply(fake, ref.message_id, mark)
    assert reply.body["content"] == "Bob is on claim 2."
    patch = edit_of(fake, ref, mark)
    assert claim_field(patch, 2)["value"] == (
        "Claim number 2 with 52 prisoners.\n-# 👤 Bob is on it"
    )
    assert claim_field(patch, 1)["value"] == "Claim number 1 with 52 prisoners."
    jump = f"https://discord.com/channels/{fake.guild_id}/{fake.alerts_channel}/{ref.message_id}"
    assert run(world, fake.bob, "claims mine")["content"] == (
        f"Your claims, oldest first:\n• alert #{alert_id} “Story 401” claim 2: Claim number 2 "
        f"with 52 prisoners. · [open the alert](<{jump}>)"
    )


def test_digest_now_posts_the_digest_in_the_channel(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(402)
    world.delivered(alert_id)
    assert run(world, fake.bob, "digest now")["content"] == "Digest posted in this channel."
    mark = world.mark()
    world.watchdesk.run_outbox_once()
    [post] = [
        c
        for c in world.since(mark)
        if c.method == "POST" and c.path == f"/channels/{fake.alerts_channel}/messages"
    ]
    assert post.body["content"].startswith("Watchdesk digest — ")
    assert (
        f"alert #{alert_id} “Story 402” claim 1: Claim number 1 with 52 prisoners."
        in (post.body["content"])
    )
