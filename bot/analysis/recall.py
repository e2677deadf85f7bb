"""Whether two claims are the same claim: the score recall ranks earlier checks by.

The encoder's cosine alone cannot tell "Belarus released 52 prisoners" from "Belarus arrested
52 activists" (same words, 0.95) while a faithful Belarusian translation of the first scores
0.86: multilingual-e5-small puts sentences of one language closer together than translations.
Measured on `tests/desk/data/recall_pairs.tsv` (bench/eval_recall.py), two corrections fix
most of it, both explainable to a checker:

* a pair in two languages (en/ru/be, `detect_language`) gets `CROSS_LANGUAGE_BONUS`, the gap
  between same-language and cross-language paraphrases of these pairs;
* the numbers the claims state must agree: claims that both state quantities (52, 13 000,
  3.5 %) and share none, or both state years and share none, are different claims
  (`NUMBER_MISMATCH_PENALTY`); a shared quantity gets `NUMBER_MATCH_BONUS` (a shared year is
  weak evidence: many claims about one entity are about the same year).
"""

from __future__ import annotations

import re

from bot.analysis.text import detect_language

CROSS_LANGUAGE_BONUS = {frozenset({"en", "ru"}): 0.04, frozenset({"en", "be"}): 0.09}
DEFAULT_CROSS_BONUS = 0.07  # ru-be and other pairs of languages
NUMBER_MISMATCH_PENALTY = 0.08
NUMBER_MATCH_BONUS = 0.01

_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+|\d+(?:[.,]\d+)?)(?!\w)")
_SCALE = re.compile(
    r"\s*(thousand|тысяч\w*|тысяч|тыс\.?|тысяча|million|миллион\w*|мільён\w*|млн|"
    r"billion|миллиард\w*|мільярд\w*|млрд)",
    re.IGNORECASE,
)
_SCALES = (
    ("тыс", 1e3),
    ("thousand", 1e3),
    ("мил", 1e6),
    ("мільён", 1e6),
    ("млн", 1e6),
    ("million", 1e6),
    ("billion", 1e9),
    ("млрд", 1e9),
    ("мільярд", 1e9),
)


def _scale(word: str) -> float:
    low = word.lower()
    if low.startswith(("миллиард", "мільярд", "млрд", "billion")):
        return 1e9
    for prefix, factor in _SCALES:
        if low.startswith(prefix):
            return factor
    return 1.0


def numbers(text: str) -> frozenset[float]:
    """The numbers a sentence states, as values: "13,000", "13 000" and "13 тысяч" are all
    13000; "3,5" and "3.5" are 3.5 (a comma before exactly three digits groups thousands)."""
    found = set()
    for match in _NUMBER.finditer(text):
        raw = match.group(1)
        if re.fullmatch(r"\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+", raw):
            value = float(re.sub(r"[ ,\u00a0\u202f]", "", raw))
        else:
            value = float(raw.replace(",", "."))
        scale = _SCALE.match(text, match.end())
        if scale:
            value *= _scale(scale.group(1))
        found.add(round(value, 6))
    return frozenset(found)


def same_claim_score(cosine: float, a: str, b: str) -> float:
    """``cosine`` of the two claims' vectors, corrected for a language gap and for numbers
    that disagree; compared with ``[memory] recall_threshold`` / ``near_threshold``."""
    score = cosine
    lang_a, lang_b = detect_language(a), detect_language(b)
    if lang_a != lang_b:
        score += CROSS_LANGUAGE_BONUS.get(frozenset({lang_a, lang_b}), DEFAULT_CROSS_BONUS)
    nums_a, nums_b = numbers(a), numbers(b)
    years_a, years_b = {n for n in nums_a if _is_year(n)}, {n for n in nums_b if _is_year(n)}
    qty_a, qty_b = nums_a - years_a, nums_b - years_b
    if (qty_a and qty_b and not qty_a & qty_b) or (years_a and years_b and not years_a & years_b):
        score -= NUMBER_MISMATCH_PENALTY
    elif qty_a & qty_b:
        score += NUMBER_MATCH_BONUS
    return score


def _is_year(value: float) -> bool:
    return value.is_integer() and 1900 <= value <= 2100
