"""The watchlist gate on real sentences in English, Russian and Belarusian: folding, declension,
common words, word boundaries, exclusions, salience, min_salience, focus and hostile input."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

import pytest

from bot.analysis.text import split_sentences
from bot.analysis.watchlist import (
    Watchlist,
    WatchlistError,
)
from bot.models import Entity, EntityMatch, Section
from bot.settings import shipped_entities

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SAMPLE = SHARED / "samples" / "zapad-visit.txt"


@pytest.fixture(scope="module")
def desk() -> Watchlist:
    return Watchlist(
        [dataclasses.replace(e, channels=("slack:C0DESK",)) for e in shipped_entities()]
    )


def names(matches: tuple[EntityMatch, ...]) -> set[str]:
    return {m.name for m in matches}


def hits_of(matches: tuple[EntityMatch, ...], name: str) -> list[str]:
    return [h.text for m in matches if m.name == name for h in m.hits]


# --------------------------------------------------------------------------- the shared sample


@pytest.mark.shared
def test_zapad_visit_matches_all_three_entities(desk: Watchlist) -> None:
    if not SAMPLE.is_file():
        pytest.skip("../shared/ is absent: samples/zapad-visit.txt is needed for this test")
    title, _, body = SAMPLE.read_text(encoding="utf-8").partition("\n")
    result = desk.scan(title, body)
    assert names(result.matches) == {"Belarus", "Lukashenko", "Zapad"}
    by_name = {m.name: m for m in result.matches}
    zapad = by_name["Zapad"]
    assert zapad.hits and {h.text for h in zapad.hits} == {"Zapad-2025"}
    assert all(h.section in (Section.HEADLINE, Section.LEAD, Section.BODY) for h in zapad.hits)
    assert all("Zapad-2025" in h.sentence for h in zapad.hits)
    assert by_name["Belarus"].hits[0].section is Section.HEADLINE
    assert "Alexander Lukashenko" in hits_of(result.matches, "Lukashenko")
    assert result.matches[0].name == "Belarus"  # headline and a dozen more mentions
    assert all(m.channels == ("slack:C0DESK",) for m in result.matches)
    sentences = split_sentences(body)
    assert result.focus and all(0 <= i < len(sentences) for i in result.focus)
    focused = " ".join(sentences[i].text for i in result.focus)
    for match in result.matches:
        for hit in match.hits:
            if hit.section is not Section.HEADLINE:
                assert hit.sentence in focused


# --------------------------------------------------------------------------- English


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("Lukashenko's aide denied it.", "Lukashenko", ["Lukashenko"]),
        ("Lukashenko’s aide denied it.", "Lukashenko", ["Lukashenko"]),
        ("Belarus’s foreign ministry said so.", "Belarus", ["Belarus"]),
        ("Belarusian troops and Belarusians abroad.", "Belarus", ["Belarusian", "Belarusians"]),
        ("Aliaksandr Lukashenka met Lukašenka's critics.", "Lukashenko",
         ["Aliaksandr Lukashenka", "Lukašenka"]),
        ("ŁUKAŠENKA is how the Łacinka press writes it.", "Lukashenko", ["ŁUKAŠENKA"]),
        ("Drills named Zapad-2025 began.", "Zapad", ["Zapad-2025"]),
        ("Drills named Zapad 2025 began.", "Zapad", ["Zapad 2025"]),
        ("The #Zapad2025 hashtag trended.", "Zapad", ["Zapad2025"]),
        ("Observers at the Zapad drills.", "Zapad", ["Zapad drills"]),  # a shipped alias
        ("Officials hailed U.S.-Belarus relations.", "Belarus", ["Belarus"]),
        ("A Belarus-based firm signed.", "Belarus", ["Belarus"]),
    ],
)  # fmt: skip
def test_english_forms(desk: Watchlist, text: str, entity: str, expected: list[str]) -> None:
    assert hits_of(desk.match("", text), entity) == expected


# --------------------------------------------------------------------------- Russian


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("Власти Белоруссии заявили о новых мерах.", "Belarus", ["Белоруссии"]),
        ("В Беларуси прошли выборы.", "Belarus", ["Беларуси"]),
        ("Посол в Республике Беларусь вручил грамоты.", "Belarus", ["Республике Беларусь"]),
        ("Белорусская оппозиция и белорусские журналисты.", "Belarus",
         ["Белорусская", "белорусские"]),
        ("Лукашенко провёл совещание.", "Lukashenko", ["Лукашенко"]),
        ("Александру Лукашенко доложили обстановку.", "Lukashenko", ["Александру Лукашенко"]),
        ("Письмо передали Лукашенку лично.", "Lukashenko", ["Лукашенку"]),
        ("На учениях «Запад-2025» отработали оборону.", "Zapad", ["«Запад-2025»"]),
        ("В ходе учений «Запад» войска отработали оборону.", "Zapad", ["учений «Запад»"]),
        ("Об учениях Запад сообщили заранее.", "Zapad", ["учениях Запад"]),
        ("В ходе «Запада-2025» обошлось без инцидентов.", "Zapad", ["«Запада-2025»"]),
        ("Манёвры «Запад» начнутся в сентябре.", "Zapad", ["«Запад»"]),
        ("Учения „Запад“ и «Западе» не путать.", "Zapad", ["Учения „Запад“", "«Западе»"]),
        ("Ещё в Запад-2021 участвовали белорусы.", "Zapad", ["Запад-2021"]),
    ],
)  # fmt: skip
def test_russian_declension(desk: Watchlist, text: str, entity: str, expected: list[str]) -> None:
    assert hits_of(desk.match("", text), entity) == expected


# --------------------------------------------------------------------------- Belarusian


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("У Беларусі пачаліся вучэнні.", "Belarus", ["Беларусі"]),
        ("Пасол у Рэспубліцы Беларусь уручыў граматы.", "Belarus", ["Рэспубліцы Беларусь"]),
        ("Разам з Беларуссю ў саюзе.", "Belarus", ["Беларуссю"]),
        ("Беларускія журналісты сышлі.", "Belarus", ["Беларускія"]),
        ("Лукашэнка правёў нараду.", "Lukashenko", ["Лукашэнка"]),
        ("Сустрэча з Лукашэнкам адбылася ўчора.", "Lukashenko", ["Лукашэнкам"]),
        ("Аляксандру Лукашэнку далажылі.", "Lukashenko", ["Аляксандру Лукашэнку"]),
        ("Падчас вучэнняў «Захад-2025» было ціха.", "Zapad", ["«Захад-2025»"]),
        ("Падчас «Захаду» было ціха.", "Zapad", ["«Захаду»"]),
        ("Пра вучэнні «Захад» паведамілі загадзя.", "Zapad", ["вучэнні «Захад»"]),
    ],
)  # fmt: skip
def test_belarusian_declension(
    desk: Watchlist, text: str, entity: str, expected: list[str]
) -> None:
    assert hits_of(desk.match("", text), entity) == expected


# --------------------------------------------------------------------------- common words


@pytest.mark.parametrize(
    "text",
    [
        "Запад ввёл санкции против Москвы.",
        "Ветер дул с запада весь день.",
        "Колонна двинулась на запад.",
        "Отношения между Россией и Западом ухудшились.",
        "Россия и Запад спорят о гарантиях.",
        "«Запад ввёл санкции», — сказал он.",
        "Вецер дзьмуў з захаду.",
        "The West imposed sanctions on Moscow.",
        "Troops moved west of Minsk overnight.",
        "Western diplomats met in Vilnius.",
    ],
)
def test_common_word_west_never_matches_zapad(desk: Watchlist, text: str) -> None:
    explanation = desk.explain("", text)
    assert "Zapad" not in names(desk.match("", text))
    assert not any(e.name == "Zapad" and e.matched for e in explanation.entities)


def test_refused_common_word_is_explained(desk: Watchlist) -> None:
    text = "Запад ввёл санкции. Учения «Запад» начались."
    explanation = desk.explain("", text)
    zapad = next(e for e in explanation.entities if e.name == "Zapad")
    assert zapad.matched and [h.text for h, _ in zapad.hits] == ["Учения «Запад»"]
    assert [r.text for r in zapad.rejected] == ["Запад"]
    described = explanation.describe()
    assert "учения «Запад»" in described and "common word" in described


def test_latin_quoted_alias_matches_only_as_a_name() -> None:
    wl = Watchlist([Entity("Union Shield drills", aliases=('"Shield"',))])
    assert wl.match("", "Troops joined the Shield exercise near Brest.")
    assert not wl.match("", "The vest acts as a shield against shrapnel.")
    assert not wl.match("", "Shield walls were built overnight.")  # sentence-initial
    assert wl.match("", 'The "shield" drills began.')


# --------------------------------------------------------------------------- word boundaries


@pytest.mark.parametrize(
    "text",
    [
        "Belarusbank raised its deposit rates.",  # a bank's name: decided not a mention
        "Zapadoslovenská energetika raised prices.",
        "Lukashenkoism is a term some scholars use.",
        "Беларусбанк повысил ставки.",
        "Лукашенковский режим — так пишут критики.",
    ],
)
def test_term_inside_a_longer_word_never_matches(desk: Watchlist, text: str) -> None:
    assert desk.match("", text) == ()


# --------------------------------------------------------------------------- exclusions


def test_exclusion_suppresses_overlapping_hits() -> None:
    wl = Watchlist(
        [
            Entity(
                "Lukashenko",
                aliases=("Лукашенко",),
                exclusions=("Viktor Lukashenko", "Виктор Лукашенко"),
            )
        ]
    )
    assert wl.match("", "Viktor Lukashenko, the president's son, flew to Sochi.") == ()
    (match,) = wl.match("", "Lukashenko sent his son Viktor Lukashenko to Sochi.")
    assert [h.text for h in match.hits] == ["Lukashenko"]
    assert wl.match("", "Виктора Лукашенко назначили.") == ()  # exclusions decline too
    explanation = wl.explain("", "Viktor Lukashenko flew to Sochi.")
    assert not explanation.matched
    assert "exclusion" in explanation.describe()


def test_exclusion_elsewhere_suppresses_its_sentence_only() -> None:
    wl = Watchlist([Entity("Belarus", exclusions=("ice hockey",))])
    assert wl.match("", "Belarus lost the ice hockey final.") == ()
    (match,) = wl.match("", "Belarus lost the ice hockey final. Belarus also held drills.")
    assert [h.sentence for h in match.hits] == ["Belarus also held drills."]


# --------------------------------------------------------------------------- salience


BODY = (
    "Officials met on Monday to discuss trade. Markets were calm. Analysts expected little. "
    "Talks went on into the night. {x} Nothing else was agreed."
)


def salience(wl: Watchlist, title: str, text: str) -> float:
    (match,) = wl.match(title, text)
    return match.salience


def test_salience_orders_headline_lead_body_and_counts() -> None:
    wl = Watchlist([Entity("Belarus")])
    headline = salience(wl, "Belarus holds talks", BODY.format(x=""))
    lead = salience(wl, "Talks held", "Belarus held talks on Monday. " + BODY.format(x=""))
    body = salience(wl, "Talks held", BODY.format(x="Belarus was mentioned."))
    body_twice = salience(wl, "Talks held", BODY.format(x="Belarus, Belarus again."))
    assert 1.0 >= headline > lead > body_twice > body > 0.0
    (match,) = wl.match("Talks held", "Belarus held talks on Monday. " + BODY.format(x=""))
    assert match.hits[0].section is Section.LEAD
    (match,) = wl.match("Talks held", BODY.format(x="Belarus was mentioned."))
    assert match.hits[0].section is Section.BODY


def test_short_dateline_does_not_use_up_the_lead() -> None:
    wl = Watchlist([Entity("Belarus")])
    (match,) = wl.match("", "MINSK.\nOfficials met. Belarus said the drills would go on.")
    assert match.hits[0].section is Section.LEAD


def test_matches_are_sorted_by_salience(desk: Watchlist) -> None:
    matches = desk.match(
        "Lukashenko visits the drills",
        "He arrived on Monday. Officials gave a briefing. Later, Belarus said Zapad-2025 "
        "would end. Lukashenko spoke again.",
    )
    assert [m.name for m in matches] == ["Lukashenko", "Belarus", "Zapad"]
    assert [m.salience for m in matches] == sorted((m.salience for m in matches), reverse=True)


def test_min_salience_requires_more_than_a_passing_mention() -> None:
    wl = Watchlist(shipped_entities(), min_salience=0.3)
    passing = BODY.format(x="A delegation from Belarus attended.")
    result = wl.scan("Trade talks", passing)
    assert result.matches == () and names(result.below_threshold) == {"Belarus"}
    assert names(wl.match("Belarus hosts trade talks", passing)) == {"Belarus"}
    explanation = wl.explain("Trade talks", passing)
    assert not explanation.matched and "min_salience" in explanation.describe()


def test_bad_settings_and_terms_are_user_errors() -> None:
    with pytest.raises(WatchlistError, match="min_salience"):
        Watchlist([], min_salience=2)
    with pytest.raises(WatchlistError, match="no letters or digits"):
        Watchlist([Entity("Belarus", aliases=("—",))])
    assert Watchlist([]).match("Belarus", "Belarus") == ()


# --------------------------------------------------------------------------- scale and junk


def test_a_large_watchlist_keeps_matching_the_desk_entities() -> None:
    extra = [Entity(f"Person{i} Surname{i}") for i in range(3_000)]
    wl = Watchlist([*shipped_entities(), *extra])
    text = "Лукашенко наблюдал за учениями «Запад-2025». Person42 Surname42 was there."
    assert names(wl.match("", text)) == {"Lukashenko", "Zapad", "Person42 Surname42"}


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("", ""),
        (None, None),
        ("\x00\x01\x02", "\x00" * 1000),
        ("lone \ud800 surrogate", "Belarus \udfff here"),
        (b"\xff\xfe\x00bytes", b"Belarus \x80\x81 bytes"),
        ("«»„“—-'’", "«» - — ’’ '' \" Запад » « -2025"),
    ],
)
def test_bad_input_never_raises(desk: Watchlist, title: object, text: object) -> None:
    result = desk.scan(title, text)  # type: ignore[arg-type]
    assert isinstance(result.matches, tuple)


def test_random_binary_never_raises(desk: Watchlist) -> None:
    rng = random.Random(2025)
    for _ in range(50):
        raw = bytes(rng.randrange(256) for _ in range(2_000))
        desk.match(raw.decode("latin-1"), raw.decode("utf-8", "replace"))


def test_ten_megabytes_is_cut_and_fast(desk: Watchlist) -> None:
    text = "Belarus held drills. " + "Ordinary words fill this page again and again. " * 220_000
    assert len(text) > 10_000_000
    start = time.process_time()
    (match,) = desk.match("", text)
    assert time.process_time() - start < 5.0
    assert match.name == "Belarus" and match.hits[0].text == "Belarus"


@pytest.mark.shared
def test_hit_sentences_and_focus_agree_with_a_full_split_on_real_articles() -> None:
    files = sorted((SHARED / "data" / "summaries").glob("*.jsonl"))
    if not files:
        pytest.skip("../shared/ is absent: data/summaries/*.jsonl is needed for this test")
    places = "London Washington Russia China Britain America Europe Paris police government"
    wl = Watchlist([Entity(name) for name in places.split()])
    checked = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            result = wl.scan(row.get("title") or "", row["article"])
            full = [s.text for s in split_sentences(row["article"])]
            focused = {full[i] for i in result.focus}
            for match in result.matches:
                for hit in match.hits:
                    if hit.section is not Section.HEADLINE:
                        assert hit.sentence in focused, (row["id"], hit)
                        checked += 1
    assert checked > 100


# --------------------------------------------------------------------------- look-alikes, invisibles

CYR_O, CYR_A, CYR_E = "\u043e", "\u0430", "\u0435"
LAT_O = "o"


@pytest.mark.parametrize(
    ("headline", "entity", "hit"),
    [
        (f"Lukashenk{CYR_O} visits Beijing", "Lukashenko", f"Lukashenk{CYR_O}"),
        (f"B{CYR_E}l{CYR_A}rus closes its border", "Belarus", f"B{CYR_E}l{CYR_A}rus"),
        (f"Лукашенк{LAT_O} прилетел в Пекин", "Lukashenko", f"Лукашенк{LAT_O}"),
        ("Граница Бeлapуси закрыта", "Belarus", "Бeлapуси"),  # Latin e a p, declined
        ("Ｂｅｌａｒｕｓ closes its border", "Belarus", "Ｂｅｌａｒｕｓ"),
        ("Talks with Bela\u200brus stall", "Belarus", "Bela\u200brus"),
        ("Talks with Bel\u200car\u200dus stall", "Belarus", "Bel\u200car\u200dus"),
        ("Talks with Be\u2060la\ufeffrus stall", "Belarus", "Be\u2060la\ufeffrus"),
        ("Lukas\u00adhenko speaks", "Lukashenko", "Lukas\u00adhenko"),
        ("Визит Лука\u00adшенко", "Lukashenko", "Лука\u00adшенко"),
        ("Ученья «Ｚａｐａｄ-2025» начались", "Zapad", "Ｚａｐａｄ-2025"),
        (
            "The Ｚａｐａｄ drills begin",
            "Zapad",
            "Ｚａｐａｄ drills",
        ),  # the alias "Zapad drills", whole
    ],
)
def test_look_alike_and_invisible_characters_match(
    desk: Watchlist, headline: str, entity: str, hit: str
) -> None:
    matches = desk.match(headline, "")
    assert entity in names(matches), headline
    assert hits_of(matches, entity) == [hit]  # the hit is cut from the text as published


def test_hits_and_sentences_come_from_the_original_body(desk: Watchlist) -> None:
    body = (
        "Officials met on Monday in the capital.\n"
        "Ｔｈｅ ｆｉｒｓｔ ｖｉｓｉｔ ｗａｓ ﬁne, said Bela\u200brus’s foreign ministry. "
        f"Lukashenk{CYR_O} did not comment.\n"
        "Nothing else happened."
    )
    result = desk.scan("Visit", body)
    sentences = split_sentences(body)
    belarus = next(m for m in result.matches if m.name == "Belarus")
    assert [h.text for h in belarus.hits] == ["Bela\u200brus"]
    assert belarus.hits[0].sentence == sentences[1].text
    lukashenko = next(m for m in result.matches if m.name == "Lukashenko")
    assert [(h.text, h.sentence) for h in lukashenko.hits] == [
        (f"Lukashenk{CYR_O}", f"Lukashenk{CYR_O} did not comment.")
    ]
    assert result.focus == (1, 2)


def test_look_alike_terms_compile_like_their_plain_spelling() -> None:
    wl = Watchlist([Entity(f"Лукашенк{LAT_O}", ()), Entity("Ｍｉｎｓｋ", ("Ｂｒｅｓｔ",))])
    assert names(wl.match("Визит Лукашенко", "")) == {f"Лукашенк{LAT_O}"}
    assert names(wl.match("Flights from Minsk and Brest", "")) == {"Ｍｉｎｓｋ"}
    declined = Watchlist([Entity("Бeларусь", ())])  # Latin e: still declines as Беларусь
    assert hits_of(declined.match("В Беларуси и Беларуссю", ""), "Бeларусь") == [
        "Беларуси",
        "Беларуссю",
    ]


def test_explain_names_the_alias_behind_a_look_alike_hit(desk: Watchlist) -> None:
    text = desk.explain(f"Lukashenk{CYR_O} in Minsk").describe()
    assert f"'Lukashenk{CYR_O}' in headline, as alias 'Lukashenko'" in text


@pytest.mark.parametrize(
    "headline",
    [
        "Cop and сосок: words in one script made only of look-alike letters",
        "Belarusbank and Ｂｅｌａｒｕｓｂａｎｋ are single words",
        "Беларусьбанк и Bеlarusbank",
        "Lukashenkovich, Лукашенкович",
    ],
)
def test_folding_causes_no_false_matches(desk: Watchlist, headline: str) -> None:
    assert desk.match(headline, "") == ()


def test_cyrillic_inflection_matching_is_unchanged_by_normalising(desk: Watchlist) -> None:
    body = "Переговоры Лукашенко и делегации Беларуси прошли в Минске. Учения «Запад-2025»."
    normalised = desk.scan("", body)
    with_invisible = desk.scan("", body.replace("Беларуси", "Бела\u200bруси"))
    assert [(m.name, len(m.hits)) for m in normalised.matches] == [
        (m.name, len(m.hits)) for m in with_invisible.matches
    ]
    assert hits_of(with_invisible.matches, "Belarus") == ["Бела\u200bруси"]
