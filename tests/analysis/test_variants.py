"""Variant proposals for "/watch add" and the alias forms the matcher compiles."""

from __future__ import annotations

import random

import pytest

from bot.analysis.nlp import fold_text
from bot.analysis.variants import (
    MAX_PROPOSALS,
    alias_forms,
    is_common_word,
    latin_to_russian,
    propose_variants,
    russian_to_belarusian,
    transliterations,
)


def folded(forms: tuple[str, ...]) -> set[str]:
    return {fold_text(f) for f in forms}


# --------------------------------------------------------------------------- proposals


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Беларусь", {"Беларуси", "Беларусью", "Беларуссю", "Belarus"}),
        ("Белоруссия", {"Белоруссии", "Белоруссию", "Белоруссией", "Belorussiya"}),
        ("Lukashenko", {"Lukashenka", "Lukašenka", "Лукашенко", "Лукашэнка", "Лукашэнку",
                        "Лукашэнкам", "Lukashenko's"}),
        ("Лукашенко", {"Lukashenko", "Lukashenka", "Лукашэнка"}),
        ("Лукашэнка", {"Lukashenka", "Лукашэнкі", "Лукашэнку", "Лукашэнкам"}),
        ("Belarus", {"Belarusian", "Belarusians", "Беларусь", "Беларуси"}),
        ("Zapad-2025", {"Zapad 2025", "Zapad2025", "Запад-2025", "Запада-2025"}),
        ("Минск", {"Minsk", "Минске", "Минска"}),
    ],
)  # fmt: skip
def test_proposals_include_declensions_and_transliterations(term: str, expected: set[str]) -> None:
    proposals = propose_variants(term)
    assert proposals[0] == term
    assert expected <= set(proposals), expected - set(proposals)


def test_proposals_are_deterministic_deduplicated_and_bounded() -> None:
    first = propose_variants("Александр Лукашенко")
    assert first == propose_variants("Александр Лукашенко")
    assert len(first) <= MAX_PROPOSALS
    assert len(folded(first)) == len(first)  # "Беларусі" and "Беларуси" would be one
    assert len(propose_variants("Lukashenko", limit=5)) == 5
    assert "Александра Лукашенко" in first and "Aleksandr Lukashenko" in first


@pytest.mark.parametrize("junk", ["", "   ", "12345", "—", "\x00\x01", "a" * 10_000, "🇧🇾"])
def test_proposals_never_raise(junk: str) -> None:
    result = propose_variants(junk)
    assert isinstance(result, tuple) and len(result) <= MAX_PROPOSALS


def test_proposals_survive_random_binary() -> None:
    rng = random.Random(7)
    for _ in range(20):
        junk = bytes(rng.randrange(256) for _ in range(64)).decode("utf-8", "replace")
        assert isinstance(propose_variants(junk), tuple)


def test_transliteration_between_scripts() -> None:
    assert latin_to_russian("Lukashenko") == "Лукашенко"
    assert latin_to_russian("Belarus") == "Беларусь"  # the dictionary restores the soft sign
    assert russian_to_belarusian("Лукашенко") == "Лукашэнка"
    assert russian_to_belarusian("Александр") == "Александр"
    assert {"Aleksandr Lukashenko", "Alieksandr Lukashenka"} <= set(
        transliterations("Александр Лукашенко")
    )
    assert "Aliaksandr Lukashenka" in transliterations("Аляксандр Лукашэнка")


# --------------------------------------------------------------------------- matcher forms


@pytest.mark.parametrize(
    ("alias", "present", "absent"),
    [
        ("Беларусь", {"Беларуси", "Беларусі", "Беларусью", "Беларуссю"}, set()),
        ("Белоруссия", {"Белоруссии", "Белоруссию"}, set()),
        ("Республика Беларусь", {"Республике Беларусь", "Республики Беларусь"}, set()),
        ("Рэспубліка Беларусь", {"Рэспубліцы Беларусь", "Рэспублікі Беларусь"}, set()),
        ("Лукашенко", {"Лукашенко", "Лукашенку", "Лукашэнкам"}, set()),
        ("Лукашэнка", {"Лукашэнку", "Лукашэнкам", "Лукашэнкі"}, set()),
        ("Александр Лукашенко", {"Александра Лукашенко", "Александру Лукашенко"}, set()),
        ("учения «Запад»", {"учениях «Запад»", "учений Запад", "учения Запад"},
         {"учения Запада", "учениях «Запада»"}),
        ("учения Запад", {"учениях Запад"}, {"учения Запада", "учениях Западе"}),
        ("«Запад-2025»", {"Запад-2025", "Запада-2025", "«Западе-2025»", "Запад 2025"}, set()),
        ("Zapad-2025", {"Zapad 2025", "Zapad2025"}, set()),
        ("белорусский", {"белорусской", "белорусских"}, set()),
        ("беларускі", {"беларускай", "беларускіх"}, set()),
    ],
)  # fmt: skip
def test_alias_forms(alias: str, present: set[str], absent: set[str]) -> None:
    forms = folded(alias_forms(alias))
    assert folded(tuple(present)) <= forms, present
    assert not folded(tuple(absent)) & forms


def test_common_words_are_recognised() -> None:
    assert is_common_word("Запад") and is_common_word("«Восток»")
    assert not is_common_word("Беларусь")
    assert not is_common_word("белорус") and not is_common_word("белорусский")
    assert not is_common_word("запад")  # written in lower case: the word itself is meant
    assert not is_common_word("Лукашенко")
    assert not is_common_word("Zapad")  # Latin script: no dictionary, quotes decide
    assert not is_common_word("Запад-2025")
