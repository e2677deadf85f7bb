"""Sentence splitting, language detection, HTML to text, teaser and bad-input checks on real
news prose in English, Russian and Belarusian."""

from __future__ import annotations

import re
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis.text import (
    _FORMAT_RE,
    _UNSAFE_RUN_RE,
    MAX_INPUT_CHARS,
    clean_for_display,
    detect_language,
    html_to_text,
    input_problem,
    is_binary,
    looks_like_teaser,
    mixed_script_warning,
    normalise_for_matching,
    split_sentences,
    strip_html,
)


def texts(text: str) -> list[str]:
    sentences = split_sentences(text)
    for s in sentences:
        assert text[s.start : s.end] == s.text, "offsets must point at the sentence"
    return [s.text for s in sentences]


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "В 2025 г. учения «Запад» прошли в Беларуси. Лукашенко заявил, что учения "
            "носили оборонительный характер.",
            [
                "В 2025 г. учения «Запад» прошли в Беларуси.",
                "Лукашенко заявил, что учения носили оборонительный характер.",
            ],
        ),
        (
            "А. Лукашенко встретился с Дж. Коулом в Минске. Стороны обсудили т.е. всё, "
            "включая санкции. На переговорах был и др. Ранее освободили 52 человека.",
            [
                "А. Лукашенко встретился с Дж. Коулом в Минске.",
                "Стороны обсудили т.е. всё, включая санкции.",
                "На переговорах был и др.",
                "Ранее освободили 52 человека.",
            ],
        ),
        (
            "Учения прошли в г. Борисове. Их посетили военные из 23 стран, в т.ч. США и "
            "Турции. Бюджет составил 1,5 млрд руб. В Минске это назвали успехом.",
            [
                "Учения прошли в г. Борисове.",
                "Их посетили военные из 23 стран, в т.ч. США и Турции.",
                "Бюджет составил 1,5 млрд руб.",
                "В Минске это назвали успехом.",
            ],
        ),
        (
            "— Мы готовы показать всё! — сказал министр обороны. — Смотрите что хотите.",
            ["— Мы готовы показать всё! — сказал министр обороны.", "— Смотрите что хотите."],
        ),
        (
            "У 2025 г. вучэнні «Захад» прайшлі ў Беларусі. А. Лукашэнка заявіў, што "
            "вучэнні мелі абарончы характар. Ён таксама сустрэўся з амерыканцамі.",
            [
                "У 2025 г. вучэнні «Захад» прайшлі ў Беларусі.",
                "А. Лукашэнка заявіў, што вучэнні мелі абарончы характар.",
                "Ён таксама сустрэўся з амерыканцамі.",
            ],
        ),
        (
            "Mr. Coale flew to Minsk on Jan. 12. Dr. Smith, a U.S. official, said the deal "
            "covered 52 prisoners. The U.S. Army sent 3.5 officers on average.",
            [
                "Mr. Coale flew to Minsk on Jan. 12.",
                "Dr. Smith, a U.S. official, said the deal covered 52 prisoners.",
                "The U.S. Army sent 3.5 officers on average.",
            ],
        ),
        (
            "Officers from the U.S. watched the drills. Then they left the U.S. The drills "
            "ended on Tuesday.",
            [
                "Officers from the U.S. watched the drills.",
                "Then they left the U.S.",
                "The drills ended on Tuesday.",
            ],
        ),
        (
            "“You can see whatever you want.” he said. “Is this a new era?” asked one "
            "reporter. A. Lukashenko smiled.",
            [
                "“You can see whatever you want.” he said.",
                "“Is this a new era?” asked one reporter.",
                "A. Lukashenko smiled.",
            ],
        ),
        (
            "The relief came... almost immediately. Then nothing happened... The end?! Not quite.",
            [
                "The relief came... almost immediately.",
                "Then nothing happened...",
                "The end?!",
                "Not quite.",
            ],
        ),
        (
            'He said: "We will see." The talks resumed. (The talks had stalled.) Next came '
            "sanctions relief for Belavia, Belarus’s airline.",
            [
                'He said: "We will see."',
                "The talks resumed.",
                "(The talks had stalled.)",
                "Next came sanctions relief for Belavia, Belarus’s airline.",
            ],
        ),
        (
            "Headline without a full stop\nFirst paragraph here.\n\nSecond paragraph — with "
            "an em-dash — continues. Still second",
            [
                "Headline without a full stop",
                "First paragraph here.",
                "Second paragraph — with an em-dash — continues.",
                "Still second",
            ],
        ),
        (
            "Ён сказаў: „Мы гатовыя.“ Потым ён пайшоў з залы. Ён дадаў: „Усё.“",
            ["Ён сказаў: „Мы гатовыя.“", "Потым ён пайшоў з залы.", "Ён дадаў: „Усё.“"],
        ),
        (
            "Встреча прошла в Минске. А. И. Иванов заявил об этом. J. A. Smith, a U.S. "
            "official, agreed.",
            [
                "Встреча прошла в Минске.",
                "А. И. Иванов заявил об этом.",
                "J. A. Smith, a U.S. official, agreed.",
            ],
        ),
        (
            "Belarus scored 6.5. Its neighbours scored 8.2 (out of 10.0). The index is run by "
            "Freedom House Inc. Mr Smith said the score fell.",
            [
                "Belarus scored 6.5.",
                "Its neighbours scored 8.2 (out of 10.0).",
                "The index is run by Freedom House Inc.",
                "Mr Smith said the score fell.",
            ],
        ),
        (
            "The vote is set for 2025. 52 prisoners were freed under Art. 5 of the deal, "
            "see No. 10 below.",
            [
                "The vote is set for 2025.",
                "52 prisoners were freed under Art. 5 of the deal, see No. 10 below.",
            ],
        ),
    ],
)
def test_split_news_sentences(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_split_offsets_skip_surrounding_whitespace() -> None:
    text = "  First one.   Second one.\n\n  Third  "
    sentences = split_sentences(text)
    assert [(s.start, s.end) for s in sentences] == [(2, 12), (15, 26), (30, 35)]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", "..."])
def test_split_degenerate_input(text: str) -> None:
    assert all(s.text.strip() for s in split_sentences(text))
    assert "".join(s.text for s in split_sentences(text)) == "".join(text.split())


def _article(words: int = 600) -> str:
    base = (
        "Belarusian Defense Minister Viktor Khrenin welcomed the U.S. officers personally, "
        "telling them they could “see whatever you want.” Mr. Coale said on Jan. 12 that "
        "the deal covered 52 prisoners, i.e. more than before. "
        "В 2025 г. учения «Запад» прошли в Беларуси. А. Лукашенко заявил, что т.е. всё "
        "под контролем.\n"
    )
    out = []
    n = 0
    while n < words:
        out.append(base)
        n += len(base.split())
    return "".join(out)


def test_ten_megabyte_string_is_handled_quickly() -> None:
    big = _article(600) * 2800
    assert len(big) > 10_000_000
    t0 = time.process_time()
    sentences = split_sentences(big)
    assert detect_language(big) in {"en", "und"}
    assert looks_like_teaser(big) is False
    assert html_to_text(big) == ""  # over MAX_INPUT_CHARS: refused, not parsed
    assert strip_html(big) == ""
    assert time.process_time() - t0 < 15  # CPU seconds: other load on the machine does not count
    assert len(sentences) > 100_000


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("U.S. officers watched the Zapad drills in Belarus on Tuesday.", "en"),
        ("Belarus frees 52 prisoners", "en"),
        ("Лукашенко заявил, что учения «Запад-2025» прошли успешно.", "ru"),
        ("Лукашенко освободил заключенных", "ru"),
        ("Лукашэнка заявіў, што вучэнні «Захад-2025» прайшлі паспяхова.", "be"),
        ("Лукашэнка вызваліў палітвязняў", "be"),
        ("Лукашенко заявив, що навчання пройшли і все є добре.", "und"),  # Ukrainian
        (
            "Der Präsident sagte gestern in Berlin, dass die Übungen nicht stattfinden "
            "werden und dass alles gut ist für die Menschen im Land und in Europa.",
            "und",
        ),
        ("Łukašenka sustreŭsia z amierykanskimi aficerami ŭ Minsku.", "be"),
        ("日本語のニュース記事です。", "und"),
        ("", "und"),
        ("12345 !!! ???", "und"),
        ("abc\x00\x01\x02\x03\x04\x05", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


# --------------------------------------------------------------------------- HTML

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Drills</title>
<script>var tracking = "do not extract";</script><style>p{color:red}</style></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
<article><h1>U.S. officers watch Zapad drills</h1>
<p>U.S. military officers made a surprise visit to Belarus this week to watch the Zapad-2025
war games, joint drills between Belarus and Russia held near the Polish border.</p>
<p>Belarusian Defense Minister Viktor Khrenin welcomed the Americans personally, telling them
they could see whatever they wanted as they toured the training grounds near Borisov.</p>
<p>Officials noted that delegations from 23 countries, including NATO members Turkey and
Hungary, were also observing the exercises, which Minsk described as purely defensive.</p>
</article>
<footer>Copyright 2025 Example News. All rights reserved. <a href="/privacy">Privacy</a></footer>
</body></html>"""


def test_html_to_text_keeps_the_article_and_drops_the_page_chrome() -> None:
    text = html_to_text(_PAGE, url="https://news.example/drills")
    assert "surprise visit to Belarus" in text
    assert "delegations from 23 countries" in text
    assert "tracking" not in text and "color:red" not in text
    assert "Privacy" not in text
    sentences = texts(text)
    assert any(s.startswith("Belarusian Defense Minister Viktor Khrenin") for s in sentences)


def test_html_to_text_accepts_bytes_in_their_declared_encoding() -> None:
    page = (
        '<html><head><meta charset="windows-1251"></head><body><article><p>'
        + "Лукашенко заявил, что американские офицеры увидели всё, что хотели. " * 5
        + "</p></article></body></html>"
    ).encode("cp1251")
    text = html_to_text(page)
    assert "американские офицеры" in text
    assert detect_language(text) == "ru"


def test_html_to_text_falls_back_to_plain_text_on_tiny_pages() -> None:
    assert html_to_text("<div>Belarus frees prisoners</div>") == "Belarus frees prisoners"


@pytest.mark.parametrize(
    "bad",
    [b"", "", "   ", b"%PDF-1.7\x00\x00\x01\x02binary", "\x00" * 100, "x" * (MAX_INPUT_CHARS + 1)],
)
def test_html_to_text_bad_input_gives_empty_text(bad: str | bytes) -> None:
    assert html_to_text(bad) == ""


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>Fish &amp; chips &lt;3</p>", "Fish & chips <3"),
        (
            "<p>Lukashenko met <b>U.S.</b> officers.</p><p>Talks&nbsp;followed.</p>",
            "Lukashenko met U.S. officers.\nTalks followed.",
        ),
        ("Line one<br>line two<br/>line three", "Line one\nline two\nline three"),
        ("a < b and c > d", "a < b and c > d"),
        ("<script>alert(1)</script>Safe <!-- hidden --> text", "Safe text"),
        ("Plain   text\twith  spaces", "Plain text with spaces"),
        ('<img src="data:image/png;base64,' + "A" * 50_000 + '"> after', "after"),
        ("<!-- never closed" * 1000, ""),
        ("", ""),
    ],
)
def test_strip_html(fragment: str, expected: str) -> None:
    assert strip_html(fragment) == expected


def test_strip_html_is_linear_on_hostile_markup() -> None:
    t0 = time.perf_counter()
    assert strip_html("<a" * 500_000) == ""
    assert time.perf_counter() - t0 < 2


# --------------------------------------------------------------------------- teasers, guards


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("", True),
        ("U.S. officers made a surprise visit to Belarus this week to watch the…", True),
        ("U.S. officers made a surprise visit to Belarus. [...]", True),
        ("U.S. officers made a surprise visit to Belarus. Read more", True),
        ("Американские офицеры посетили учения в Беларуси. Читать далее →", True),
        ("One sentence only, though it goes on for a while about the drills.", True),
        (
            " ".join(
                [
                    "U.S. military officers made a surprise visit to Belarus this week to watch "
                    "the Zapad-2025 war games near the Polish border.",
                    "Belarusian Defense Minister Viktor Khrenin welcomed the Americans "
                    "personally and told them they could see whatever they wanted.",
                    "Delegations from 23 countries, including NATO members Turkey and Hungary, "
                    "were also observing the exercises, officials said.",
                    "The visit came days after Poland shot down drones over its territory.",
                ]
            ),
            False,
        ),
    ],
)
def test_looks_like_teaser(text: str, teaser: bool) -> None:
    assert looks_like_teaser(text) is teaser


def test_is_binary() -> None:
    assert is_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert is_binary("text with a NUL\x00 inside")
    assert not is_binary("Лукашенко заявил.\nНовая строка\tи табуляция.")
    assert not is_binary(b"Plain news text.")
    assert not is_binary(b"")


def test_input_problem_says_what_is_wrong() -> None:
    assert input_problem("fine text") is None
    assert "binary" in (input_problem(b"\x00\x01\x02") or "")
    assert "limit" in (input_problem("x" * 11, max_chars=10) or "")
    assert "None" in (input_problem(None) or "")
    assert "int" in (input_problem(42) or "")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Unicode hygiene

CYR_A, CYR_O, CYR_E, CYR_I = "\u0430", "\u043e", "\u0435", "\u0456"


def test_format_character_list_matches_unicodedata() -> None:
    """_FORMAT_CHARS is written out (a full scan at import would cost 0.3 s); this keeps it
    a superset of category Cf in the Unicode version this Python ships, the rest being format
    characters of newer versions (unassigned here)."""
    expected = {c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
    listed = {c for c in range(0x110000) if _FORMAT_RE.fullmatch(chr(c))}
    assert expected <= listed, sorted(map(hex, expected - listed))
    assert all(unicodedata.category(chr(c)) == "Cn" for c in listed - expected)


def test_safe_characters_need_no_normalising() -> None:
    """The fast path is only right if every "safe" character is NFKC-stable, not a format
    character and not a combining mark."""
    for code in range(0x3000):
        char = chr(code)
        if _UNSAFE_RUN_RE.fullmatch(char) is None:
            assert unicodedata.normalize("NFKC", char) == char, hex(code)
            assert unicodedata.category(char) != "Cf" and not unicodedata.combining(char)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (f"Lukashenk{CYR_O} said", "Lukashenko said"),  # Cyrillic о in a Latin word
        (f"B{CYR_E}l{CYR_A}rus{CYR_I}an", "Belarusian"),  # several look-alikes
        ("Лукашенкo", "Лукашенко"),  # Latin o in a Cyrillic word
        ("Бeлapусь", "Беларусь"),  # Latin e, a, p
        ("Ｂｅｌａｒｕｓ", "Belarus"),  # fullwidth
        ("\U0001d401\U0001d41e\U0001d425arus", "Belarus"),  # mathematical bold
        ("Bela\u200brus", "Belarus"),
        ("Bel\u200car\u200dus", "Belarus"),
        ("Be\u2060la\ufeffrus", "Belarus"),
        ("Lukas\u00adhenko", "Lukashenko"),  # soft hyphen
        ("Bel\u202earus", "Belarus"),  # bidi override
        ("Лукаше\u0301нко", "Лукашенко"),  # a stress mark NFC cannot compose
        ("Запад\u00a02025 … №1", "Запад 2025 ... No1"),
    ],
)
def test_normalise_for_matching(raw: str, normal: str) -> None:
    assert normalise_for_matching(raw).text == normal


@pytest.mark.parametrize(
    "word",
    [
        "Беларусь", "Лукашенко", "сосок", "Рыбак", "Belarus", "cop", "Soviet", "Zapad-2025",
        "Лукашэнка", "вучэнні", "Йошкар-Ола", "Ёлка", "Lukašenka", "Łukaszenka", "Т-72",
        "iPhone-ы", "Яндекс.Go", "CO2", "ДНК", "Ⅻ",
    ],
)  # fmt: skip
def test_words_in_one_script_are_never_folded(word: str) -> None:
    """Folding only touches words mixing Latin and Cyrillic letters: genuine words, even
    ones made only of look-alike letters ("сосок", "cop"), stay as they are."""
    if unicodedata.is_normalized("NFKC", word):
        assert normalise_for_matching(word).text == word


def test_a_mixed_word_without_look_alikes_is_left_alone() -> None:
    assert normalise_for_matching("Minsкп").text == "Minsкп"  # п has no Latin look-alike
    assert normalise_for_matching("Ѣq").text == "Ѣq"  # neither letter has a look-alike
    assert normalise_for_matching("Ѣx").text == "Ѣх"  # a tie: folded where it can be


def test_original_span_points_into_the_input() -> None:
    raw = "Visit of Lu\u200bkash\u00adenk\u043e (\ufb01rst) to Ｍｉｎｓｋ."
    normal = normalise_for_matching(raw)
    assert normal.text == "Visit of Lukashenko (first) to Minsk."
    for word in ("Lukashenko", "Minsk", "first", "Visit", "to"):
        start = normal.text.index(word)
        got = raw[slice(*normal.original_span(start, start + len(word)))]
        assert normalise_for_matching(got).text == word
    start = normal.text.index("Lukashenko")
    assert normal.original_span(start, start + 10) == (9, 21)
    start = normal.text.index("irst")  # inside the expansion of "ﬁ": the whole "ﬁ" and on
    assert raw[slice(*normal.original_span(start, start + 4))] == "\ufb01rst"


def test_original_span_is_identity_on_plain_text() -> None:
    text = "Lukashenko met officials in Minsk. Лукашенко встретился с чиновниками."
    normal = normalise_for_matching(text)
    assert normal.text == text
    assert normal.original_span(3, 17) == (3, 17)


def test_normalising_is_linear_on_hostile_input() -> None:
    hostile = ("a" * 50_000 + "\u0430") * 4 + "\u200b" * 100_000 + "\uff21" * 100_000
    start = time.process_time()
    normal = normalise_for_matching(hostile)
    assert time.process_time() - start < 10  # seconds; quadratic behaviour would take hours
    assert normal.text == "a" * 200_004 + "A" * 100_000


def test_mixed_script_warning() -> None:
    warning = mixed_script_warning(f"Lukashenk{CYR_O}")
    assert warning is not None
    assert "“Lukashenkо” has Cyrillic “о” among Latin letters" in warning
    assert "it will match as “Lukashenko”" in warning
    warning = mixed_script_warning("Александр Лукашенкo")
    assert warning is not None and "Latin “o” among Cyrillic letters" in warning
    assert "“Лукашенко”" in warning and "Александр" not in warning
    warning = mixed_script_warning("Minsкп")
    assert warning is not None and "will match as" not in warning  # nothing to fold to
    for clean in ("Lukashenko", "Лукашенко", "Alexander Лукашенко", "Zapad-2025", "", "—"):
        assert mixed_script_warning(clean) is None, clean


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Price cut \u202e%05\u202c today", "Price cut %05 today"),
        ("\u2066evil\u2069 \u2067x\u2068y\u200e\u200f\u061c", "evil xy"),
        ("Bela\u200brus\u200c\u200d\u2060\ufeff", "Belarus"),
        ("soft\u00adhyphen", "softhyphen"),
        ("tag\U000e0041\U000e007f", "tag"),
        ("line\r\nbreak\rthere", "line\nbreak\nthere"),
        ("bell\x07 esc\x1b[31m del\x7f c1\x85", "bell  esc [31m del  c1 "),
        (
            "keeps\ttab\nand newline, ⚠️ emoji, Ｆｕｌｌ, é",
            "keeps\ttab\nand newline, ⚠️ emoji, Ｆｕｌｌ, é",
        ),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("", ""),
    ],
)
def test_clean_for_display(raw: str, shown: str) -> None:
    assert clean_for_display(raw) == shown
    assert clean_for_display(shown) == shown  # idempotent


def test_clean_for_display_accepts_none() -> None:
    assert clean_for_display(None) == ""


_ALPHABET = (
    "abeopxyBELMNOPZ аеорсухБЕЛМНОРЗ \u200b\u200d\u00ad\u202e\ufeff ＢｅＺ ﬁ é \u0301 -.,\n2"
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_every_token_maps_back_to_the_input_it_came_from(raw: str) -> None:
    """For any mix of scripts, invisibles and compatibility forms: spans stay inside the
    input, in order, and each word of the normalised text is what its input span normalises
    to, so a hit cut from the input through `original_span` is the word that matched. (Not
    for a character NFKC splits into several words, "½" → "1⁄2": it maps back whole.)"""
    raw = unicodedata.normalize("NFC", raw)
    normal = normalise_for_matching(raw)
    previous_end = 0
    for match in re.finditer(r"\w+", normal.text):
        start, end = normal.original_span(*match.span())
        assert 0 <= start <= end <= len(raw)
        assert start >= previous_end
        previous_end = end
        assert normalise_for_matching(raw[start:end]).text == match.group()
