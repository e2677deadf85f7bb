"""Variant proposals for "/watch add" and the alias forms the matcher compiles."""

from __future__ import annotations

import random

import pytest

from bot.analysis.nlp import fold_text
from bot.analysis.variants import (
    MAX_PROPOSALS,
    alias_forms,
    english_demonyms,
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


# --------------------------------------------------------------------------- plausible suggestions

# What "/watch add" offers (transliterations plus English demonyms), for real names a desk
# watches. Each allowed set was checked by hand: every entry is a transliteration in a system
# the press uses (Russian BGN, the Belarusian national system, scholarly Łacinka-style, German
# Duden, French), the name in the other Cyrillic orthography, or a demonym of a place.
PLAUSIBLE: dict[str, tuple[set[str], set[str]]] = {
    # term: (must be suggested, everything that may be suggested)
    "Lukashenko": (
        {"Лукашенко", "Лукашэнка", "Lukashenka", "Lukašenka", "Loukachenko", "Lukaschenko"},
        {"Лукашенко", "Лукашэнка", "Lukashenka", "Lukašenka", "Loukachenko", "Lukaschenko"},
    ),
    "Лукашенко": (
        {"Lukashenko", "Lukashenka", "Лукашэнка", "Loukachenko"},
        {"Лукашэнка", "Lukashenko", "Lukashenka", "Lukašenka", "Lukaschenko", "Loukachenko"},
    ),
    "Лукашэнка": ({"Lukashenka", "Lukašenka"}, {"Lukashenka", "Lukašenka"}),
    "Belarus": (
        {"Беларусь", "Belarusian", "Belarusians"},
        {"Беларусь", "Bielarus", "Belarusian", "Belarusians"},
    ),
    "Russia": (
        {"Россия", "Russian", "Russians"},
        {"Россия", "Rossiya", "Rossiia", "Rossija", "Russian", "Russians"},
    ),
    "Ukraine": (
        {"Украина", "Ukrainian", "Ukrainians"},
        {"Украина", "Ukraina", "Ukrainian", "Ukrainians"},
    ),
    "Shoigu": ({"Шойгу", "Schoigu", "Choïgou"}, {"Шойгу", "Shoygu", "Schoigu", "Choïgou"}),
    "Tsikhanouskaya": (
        {"Цыханоўская"},
        {"Цыханоўская", "Ціханоўская", "Tsykhanouskaia", "Cychanoŭskaja", "Cichanoŭskaja"},
    ),
    "Светлана Тихановская": (
        {"Svetlana Tikhanovskaya", "Swetlana Tichanowskaja"},
        {
            "Svetlana Tikhanovskaya",
            "Swetlana Tichanowskaja",
            "Svetlana Tikhanovskaia",
            "Sviatlana Tsikhanouskaya",
        },
    ),
    "Homel": ({"Гомель", "Gomel"}, {"Гомель", "Gomel", "Homiel"}),
    "Wagner": ({"Вагнер"}, {"Вагнер", "Vagner"}),
    "Yelena": ({"Елена"}, {"Елена", "Elena"}),
    "Sergei Lavrov": (
        {"Сергей Лавров", "Sergey Lavrov", "Sergei Lawrow"},
        {"Сергей Лавров", "Sergey Lavrov", "Sergei Lawrow", "Sergueï Lavrov"},
    ),
    "Roman Protasevich": (
        {"Роман Протасевич", "Roman Protassewitsch", "Roman Protassevitch"},
        {"Роман Протасевич", "Раман Пратасевіч", "Roman Protassewitsch", "Roman Protassevitch"},
    ),
    "Moscow": (
        {"Москва", "Muscovite"},
        {"Москва", "Moskva", "Maskva", "Muscovite", "Muscovites"},
    ),
    "Minsk": ({"Минск"}, {"Минск", "Мінск"}),
}


def suggestions(term: str) -> set[str]:
    """What the desk shows after "/watch add term" (bot.analysis.pipeline.Analysis.variants)."""
    return set(transliterations(term)) | set(english_demonyms(term))


@pytest.mark.parametrize("term", sorted(PLAUSIBLE))
def test_every_suggestion_is_a_plausible_spelling(term: str) -> None:
    required, allowed = PLAUSIBLE[term]
    got = suggestions(term)
    assert required <= got, required - got
    assert got <= allowed, got - allowed


@pytest.mark.parametrize(
    "word", ["Tsikhanouskaya", "Yelena", "Lukashenko", "Zapad", "Minsk", "Kolesnikova", "Wagner"]
)
def test_demonyms_only_for_places(word: str) -> None:
    assert english_demonyms(word) == ()


def test_demonyms_of_places() -> None:
    assert english_demonyms("Belarus") == ("Belarusian", "Belarusians")
    assert english_demonyms("Latvia") == ("Latvian", "Latvians")
    assert english_demonyms("Canada") == ("Canadian", "Canadians")  # not "Canadan"
    assert english_demonyms("Cyprus") == ("Cypriot", "Cypriots")  # not "Cyprusian"


def test_latin_to_russian_uses_spellings_russian_writes() -> None:
    assert latin_to_russian("Shoigu") == "Шойгу"  # й after a vowel
    assert latin_to_russian("Sergei Zaitsev") == "Сергей Зайцев"
    assert latin_to_russian("Ukraina") == "Украина"  # the dictionary keeps и
    assert latin_to_russian("Hanna") == "Ганна"  # h alone is г; х is kh
    assert latin_to_russian("Ukraine") == "Украина"  # not the dative Украине
    assert latin_to_russian("Russia") == "Россия"


def test_russian_to_belarusian_writes_short_u() -> None:
    assert russian_to_belarusian("Циханоуская") == "Цыханоўская"
