"""Who is checking what, through the real Slack adapter: "I'm on it" in an alert's thread
assigns the claim (the alert shows the assignee), `/claims mine` lists it with a link, and an
assignment without a verdict after `[memory] assignment_timeout` goes back to the open pool
with a note in the thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.chat.slack.test_slack_verdicts import claim_lines
from tests.chat.slack.world import DESK, EDITOR, SlackWorld, response_payload


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path)
    yield world
    world.close()


def test_im_on_it_assigns_shows_lists_and_times_out(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    world.event("2 I'm on it", thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    (said,) = world.fake.wait_for("chat.postMessage")
    assert said.params["text"] == "Alice Editor is on claim 2."
    assert said.params["thread_ts"] == ts
    lines = claim_lines(update.params["blocks"])
    assert lines[2] == ":white_circle: unchecked · :bust_in_silhouette: *Alice Editor* is on it"
    assert lines[1] == lines[3] == ":white_circle: unchecked"

    world.reset()
    world.event("on it", thread_ts=ts, user=EDITOR)  # the rest of the alert, not Alice's claim
    (said,) = world.fake.wait_for("chat.postMessage")
    assert said.params["text"] == (
        "Ed Itor is on claims 1, 3.\nClaim 2 stays with Alice Editor, who is on it."
    )

    _ack, answer = world.command("/claims", "mine")
    link = f"<https://fake.slack.test/archives/{DESK}/p{ts.replace('.', '')}|open the alert>"
    assert response_payload(answer)["text"] == (
        f"Your claims, oldest first:\n• alert #{alert_id} “Story 1” claim 2: Claim number 2 "
        f"with 52 prisoners. · {link}"
    )

    world.reset()
    app = world.watchdesk
    later = app.store.clock() + timedelta(seconds=app.settings.memory.assignment_timeout_s + 60)
    app.store.feeds.remove_feed("https://feeds.example/1.xml")  # the cycle polls nothing
    app.store.clock = lambda: later  # the cycle reads the time here
    app.run_cycle()
    notes = [c.params["text"] for c in world.fake.calls_to("chat.postMessage")]
    assert (
        notes.count(
            "Claim 2 is back in the open pool: Alice Editor took it 4h ago and no verdict came."
        )
        == 1
    )
    (update, *_) = world.fake.calls_to("chat.update")
    assert claim_lines(update.params["blocks"])[2] == ":white_circle: unchecked"
    _ack, answer = world.command("/claims", "mine")
    assert response_payload(answer)["text"].startswith("You are on no claims.")


def test_a_verdict_ends_the_assignment(world: SlackWorld) -> None:
    _alert_id, ts = world.posted_alert(claims=2)
    world.event("1 on it", thread_ts=ts)
    world.fake.wait_for("chat.update")
    world.reset()
    world.event("1 false", thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    assert claim_lines(update.params["blocks"])[1] == ":x: *false* · by Alice Editor"
    _ack, answer = world.command("/claims", "mine")
    assert response_payload(answer)["text"].startswith("You are on no claims.")
