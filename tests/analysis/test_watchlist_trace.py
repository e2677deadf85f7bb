"""`Watchlist.trace`: what the gate records about an article for `/why` — the spelling that
matched, or the closest miss and the reason it did not count."""

from __future__ import annotations

from bot.analysis.watchlist import Watchlist
from bot.models import AnalysisTrace, Entity, TermTrace

ENTITIES = [
    Entity("Lukashenko", ("Lukashenka",), ("Viktor Lukashenko",)),
    Entity("Zapad", ("Запад",)),
    Entity("Viktor Khrenin", ("Хренин",)),
]
BODY = (
    "The ministry published its weekly figures on Monday. Officials said the numbers were in "
    "line with forecasts. Lukashenka was mentioned once at the end."
)


def trace(title: str, text: str = "", min_salience: float = 0.3) -> AnalysisTrace:
    wl = Watchlist(ENTITIES, min_salience=min_salience)
    return wl.trace(title, text, wl.scan(title, text))


def test_a_match_records_the_spelling_found() -> None:
    assert trace("Lukashenka visits Minsk") == AnalysisTrace(
        (TermTrace("Lukashenko", "Lukashenka", 0.6321),)
    )


def test_below_the_threshold_records_both_numbers() -> None:
    assert trace("Weekly figures", BODY).near_miss == TermTrace(
        "Lukashenko", "Lukashenka", 0.1813, "salience 0.18 below min_salience 0.30"
    )
    assert trace("Weekly figures", BODY, min_salience=0.1).matched  # the same text matches


def test_a_refused_form_records_the_refusal() -> None:
    excluded = trace("Viktor Lukashenko wins the chess final").near_miss
    assert excluded == TermTrace(
        "Lukashenko", "Lukashenko", 0.0, "'Lukashenko': inside exclusion 'Viktor Lukashenko'"
    )
    common = trace("Ветер дует с запада").near_miss
    assert common is not None and (common.entity, common.alias) == ("Zapad", "Запад")
    assert common.reason.endswith("a common word here, not the name (no quotes or year)")


def test_part_of_a_multi_word_name() -> None:
    assert trace("Officers praise Khrenin").near_miss == TermTrace(
        "Viktor Khrenin", "Viktor Khrenin", 0.0, "only part of the name: 'Khrenin'"
    )


def test_nothing_watched_at_all() -> None:
    assert trace("Rain in Minsk", "Showers all week.") == AnalysisTrace()
