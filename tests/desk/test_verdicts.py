"""Verdict replies: every accepted form, the conversation that must be ignored, and the hints."""

from __future__ import annotations

import re

import pytest

from bot.desk.inbound import InboundText, LinkRef, MentionRef
from bot.desk.verdicts import (
    VERDICT_PHRASES,
    VerdictHint,
    VerdictRequest,
    format_verdict_usage,
    parse_verdict_reply,
)
from bot.models import Verdict

T, F, M, U, R = (
    Verdict.TRUE,
    Verdict.FALSE,
    Verdict.MISLEADING,
    Verdict.UNPROVEN,
    Verdict.UNCHECKED,
)


def req(
    claims: tuple[int, ...] | None,
    verdict: Verdict,
    source: str | None = None,
    note: str | None = None,
) -> VerdictRequest:
    return VerdictRequest(claims, verdict, source, note)


# --------------------------------------------------------------------------- accepted forms

ACCEPTED = [
    # the examples
    (
        "2 false https://source.example/report",
        req((2,), F, "https://source.example/report"),
    ),
    (
        "claim 3: misleading — numbers are from 2021",
        req((3,), M, None, "numbers are from 2021"),
    ),
    ("1 ✅", req((1,), T)),
    ("all true", req(None, T)),
    # selectors
    ("#2 false", req((2,), F)),
    ("#2 ❌", req((2,), F)),
    ("Claim 2 is false", req((2,), F)),
    ("claim2 false", req((2,), F)),
    ("claim #4: true", req((4,), T)),
    ("claim number 4 is accurate", req((4,), T)),
    ("2, 3 unproven", req((2, 3), U)),
    ("2,3 unproven", req((2, 3), U)),
    ("2 and 3: true", req((2, 3), T)),
    ("claims 2, 3, and 5 are false", req((2, 3, 5), F)),
    ("2 & 4 misleading", req((2, 4), M)),
    ("#2 #3 false", req((2, 3), F)),
    ("2-4 false", req((2, 3, 4), F)),
    ("2–4 false", req((2, 3, 4), F)),
    ("2 to 4 false", req((2, 3, 4), F)),
    ("1-2, 5 true", req((1, 2, 5), T)),
    ("3, 3 true", req((3,), T)),
    ("All claims are true", req(None, T)),
    ("all of them false", req(None, F)),
    ("ALL: unproven", req(None, U)),
    # gaps between selector and verdict
    ("2: false", req((2,), F)),
    ("2 - false", req((2,), F)),
    ("2 — false", req((2,), F)),
    ("2 = false", req((2,), F)),
    ("2 -> false", req((2,), F)),
    ("2 → false", req((2,), F)),
    ("2) false", req((2,), F)),
    ("Claim 2 was misleading", req((2,), M)),
    ("2 definitely false", req((2,), F)),
    ("claim 5 is totally fabricated", req((5,), F)),
    # case, markup, emoji
    ("2 FALSE", req((2,), F)),
    # references the adapter found (Slack/Discord markup: tests/chat/*/test_*_inbound.py)
    (InboundText((MentionRef("@watchdesk"), " 2 false")), req((2,), F)),
    (InboundText((MentionRef("@watchdesk"), ": 2 false")), req((2,), F)),
    (InboundText((MentionRef("@watchdesk"), "\n2 false")), req((2,), F)),
    (InboundText(("2 FALSE ", LinkRef("https://x.y", "x.y"))), req((2,), F, "https://x.y")),
    ("1 ❎", req((1,), F)),
    ("**2 false**", req((2,), F)),
    ("`2 false`", req((2,), F)),
    ("1 ✔️", req((1,), T)),
    ("1 ✔", req((1,), T)),
    ("1 ☑️", req((1,), T)),
    ("3 ❌", req((3,), F)),
    ("3 ✖️", req((3,), F)),
    ("4 ⚠️", req((4,), M)),
    ("5 ❓", req((5,), U)),
    # synonyms
    ("2 correct", req((2,), T)),
    (
        "2 verified https://www.reuters.com/world/europe/x",
        req((2,), T, "https://www.reuters.com/world/europe/x"),
    ),
    ("2 wrong", req((2,), F)),
    ("2 incorrect", req((2,), F)),
    ("2 fake", req((2,), F)),
    ("2 not true", req((2,), F)),
    ("claim 2 isn't true", req((2,), F)),
    ("claims 2 and 3 aren’t accurate", req((2, 3), F)),
    ("claim 2 is not true", req((2,), F)),
    ("2 mostly false", req((2,), M)),
    ("2 mostly-false", req((2,), M)),
    ("2 half-true", req((2,), M)),
    ("2 half true", req((2,), M)),
    ("2 partly true", req((2,), M)),
    ("2 out of context", req((2,), M)),
    ("2 cherry picked", req((2,), M)),
    ("2 unverified", req((2,), U)),
    ("2 unclear", req((2,), U)),
    ("2 unsubstantiated", req((2,), U)),
    ("2 can't verify", req((2,), U)),
    ("2 can’t verify", req((2,), U)),
    ("2 cannot verify", req((2,), U)),
    ("2 no evidence", req((2,), U)),
    ("2 not proven", req((2,), U)),
    # yes/no only after an explicit claim reference
    ("claim 2: yes", req((2,), T)),
    ("#2 no", req((2,), F)),
    # reset
    ("2 reset", req((2,), R)),
    ("2 undo", req((2,), R)),
    ("claim 2: unchecked", req((2,), R)),
    ("all reset", req(None, R)),
    # Russian
    ("утверждение 2 — ложь", req((2,), F)),
    (
        "2 ложь https://www.belta.by/society/view/x",
        req((2,), F, "https://www.belta.by/society/view/x"),
    ),
    ("2 неправда", req((2,), F)),
    ("2 не правда", req((2,), F)),
    ("2 фейк", req((2,), F)),
    ("3 правда", req((3,), T)),
    ("3 верно", req((3,), T)),
    ("тезис 4: манипуляция — цифры 2021 года", req((4,), M, None, "цифры 2021 года")),
    ("4 вводит в заблуждение", req((4,), M)),
    ("5 не подтверждено", req((5,), U)),
    ("5 нельзя проверить", req((5,), U)),
    ("2 и 3 — ложь", req((2, 3), F)),
    ("все утверждения — правда", req(None, T)),
    ("Всё утверждения ложь", req(None, F)),
    ("2 это ложь, потому что данные 2019 года", req((2,), F, None, "данные 2019 года")),
    ("2 сброс", req((2,), R)),
    # Belarusian
    ("сцвярджэнне 2 — хлусня", req((2,), F)),
    ("2 няпраўда https://belsat.eu/by/news/x", req((2,), F, "https://belsat.eu/by/news/x")),
    ("3 праўда", req((3,), T)),
    ("4 маніпуляцыя", req((4,), M)),
    ("5 не пацверджана", req((5,), U)),
    ("2 і 3: няпраўда", req((2, 3), F)),
    ("усе сцвярджэнні — праўда", req(None, T)),
    ("2 хлусня, бо лічбы з 2021 года", req((2,), F, None, "лічбы з 2021 года")),
    ("2 скід", req((2,), R)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted_forms(text: str, expected: VerdictRequest | None) -> None:
    assert parse_verdict_reply(text, 5) == expected


# --------------------------------------------------------------------------- source and note

NOTES = [
    (
        "2 false because the numbers are from 2021",
        None,
        "the numbers are from 2021",
    ),
    (
        "2 false source: https://www.belstat.gov.by/ofitsialnaya-statistika/x.",
        "https://www.belstat.gov.by/ofitsialnaya-statistika/x",
        None,
    ),
    (
        "2 false (https://en.wikipedia.org/wiki/Zapad_(exercise))",
        "https://en.wikipedia.org/wiki/Zapad_(exercise)",
        None,
    ),
    (
        "2 false, see https://a.example/1",
        "https://a.example/1",
        None,
    ),
    (
        "2 false — Belstat says 23, not 52 https://a.example/1 https://b.example/2",
        "https://a.example/1",
        "Belstat says 23, not 52 https://b.example/2",
    ),
    (
        "claim 3: misleading\nthe figure is from 2019\nsource: https://a.example/report",
        "https://a.example/report",
        "the figure is from 2019",
    ),
    (
        "2 false per Belstat",
        None,
        "per Belstat",
    ),
    (
        "2 false. The 52 prisoners were released in 2024, not this week",
        None,
        "The 52 prisoners were released in 2024, not this week",
    ),
    (
        "> Lukashenko released 52 political prisoners\n2 false https://a.example/x",
        "https://a.example/x",
        None,
    ),
    ("2 wrong!", None, None),
    ("claim 2 is true but needs a better source", None, "but needs a better source"),
    ("2 true; double-checked", None, "double-checked"),
    (
        "2 ложь, источник: https://www.belta.by/x",
        "https://www.belta.by/x",
        None,
    ),
]


@pytest.mark.parametrize(("text", "source", "note"), NOTES)
def test_source_and_note(text: str, source: str | None, note: str | None) -> None:
    result = parse_verdict_reply(text, 5)
    assert isinstance(result, VerdictRequest)
    assert (result.source_url, result.note) == (source, note)


# --------------------------------------------------------------------------- conversation

CONVERSATION = [
    "I think claim 2 looks off, checking",
    "thanks!",
    "who's on this?",
    "2 people are already on it",
    "the 52 prisoners number — anyone have a source?",
    "https://www.belta.by/president/view/x-123/",
    InboundText((LinkRef("https://x.y", "x.y"),)),
    "",
    "   \n  ",
    InboundText((MentionRef("@anna"),)),
    # Slack's emoji codes are the Slack adapter's business: as text they are talk
    "1 :white_check_mark:",
    "2",
    "#2",
    "2 false?",
    "is 2 false?",
    "2 false, right?",
    "claim 2 false??",
    "2 false alarms today, sigh",
    "3 true believers in that room",
    "2 fake accounts were banned",
    "10 false starts before the drill began",
    "2 no",
    "2 yes",
    "all yes",
    "all good",
    "all done, thanks",
    "All good here",
    "2 probably false",
    "claim 2 looks wrong to me",
    "Claim 2 might be misleading",
    "claim 2: I think it's wrong",
    "claim 2: checking now",
    "claim 2 — someone should look",
    "2 of them are false",
    "2 3 false",
    "2% false",
    "10:30 false start",
    "3.5 true",
    "2 👍",
    "✅",
    "false",
    "not sure about 2",
    "2 not sure",
    "hey\n2 false",
    "всё верно",
    "все правда",
    "усе праўда",
    "2 человека уже проверяют",
    "я думаю, утверждение 2 неверно",
    "2 чалавекі ўжо правяраюць",
    "> 2 false",
    "claim that the drills were defensive is false",
    "2 fake-news accounts were banned",
    "2 false-ish",
    "2 true-ish.",
    "2 no-go",
    "1 true story: they did observe the drills",
    "3 wrong numbers in the lede",
    "2 correct me if I'm wrong",
    "1 - correct me if I'm wrong",
    "2 - wrong link, sorry",
    "2) wrong thread, sorry",
    "1. false start, ignore",
    "5 confirmed cases so far",
    "2 verified accounts posted it",
    "all right, let's go",
    "all clear",
    "3 no idea",
    "all reset?",
    "2 reset the counter",
    "claim 2 correct?",
    "2 ложь пишут все каналы",
    "2 праўда ці не?",
]


@pytest.mark.parametrize("text", CONVERSATION)
def test_conversation_is_ignored(text: str) -> None:
    assert parse_verdict_reply(text, 5) is None


# --------------------------------------------------------------------------- hints

HINTS = [
    ("7 false", 5, "There is no claim 7 in this alert (claims 1–5)"),
    ("claim 7: false", 5, "no claim 7"),
    ("0 false", 5, "no claim 0"),
    ("2, 7, 9 false", 5, "no claims 7, 9"),
    ("3-9 false", 5, "no claims 6–9"),
    ("2 false", 1, "There is no claim 2 in this alert (only claim 1)"),
    ("4-2 false", 5, "write the lower number first, like `2-4 false`"),
    ("all true", 0, "no flagged claims"),
    ("1 false", 0, "no flagged claims"),
    ("2 fasle", 5, "“fasle” is not a verdict"),
    ("2 flase https://a.example/x", 5, "“flase” is not a verdict"),
    ("2 misleadng", 5, "“misleadng” is not a verdict"),
    ("2 unprooven", 5, "“unprooven” is not a verdict"),
    ("2 ture", 5, "“ture” is not a verdict"),
    ("2 лож", 5, "“лож” is not a verdict"),
    ("2 праўдa", 5, "not a verdict"),  # Latin "a" at the end: a look-alike typo
    ("claim 2: bogus", 5, "“bogus” is not a verdict"),
    ("claim 2 bogus", 5, "“bogus” is not a verdict"),
    ("#2 bogus", 5, "“bogus” is not a verdict"),
    ("2: bogus", 5, "“bogus” is not a verdict"),
    ("claim 2: bogus numbers from Belstat", 5, "“bogus” is not a verdict"),
    ("2 mostly true", 5, "“mostly true” is not a verdict"),
    ("2 not false", 5, "“not false” is not a verdict"),
    ("2 не ложь", 5, "“не ложь” is not a verdict"),
    ("claim 2: false-ish", 5, "“false-ish” is not a verdict"),
    ("claim 2: no-go", 5, "“no-go” is not a verdict"),
    ("claim 2", 5, "Say what claim 2 is"),
    ("claim 2:", 5, "Say what claim 2 is"),
    ("claims 2 and 3", 5, "Say what claim 2, 3 is"),
    ("утверждение 2", 5, "Say what claim 2 is"),
    ("2 false, 3 true", 5, "One verdict per reply"),
    ("2 false and 3 true", 5, "One verdict per reply"),
    ("#2 false #3 true", 5, "`#3 true`"),
    ("2 false\n3 true", 5, "One verdict per reply"),
    ("2 ложь, 3 правда", 5, "One verdict per reply"),
]


@pytest.mark.parametrize(("text", "count", "expected"), HINTS)
def test_failed_attempts_get_a_hint(text: str, count: int, expected: str) -> None:
    result = parse_verdict_reply(text, count)
    assert isinstance(result, VerdictHint), result
    assert expected in result.message
    assert "\n" not in result.message


@pytest.mark.parametrize(("text", "count", "_"), HINTS)
def test_hint_examples_are_valid_replies(text: str, count: int, _: str) -> None:
    """Whatever a hint tells the user to type must itself be accepted."""
    result = parse_verdict_reply(text, count)
    assert isinstance(result, VerdictHint)
    for example in re.findall(r"`([^`]+)`", result.message):
        assert isinstance(parse_verdict_reply(example, max(count, 5)), VerdictRequest), example


def test_hint_example_uses_the_users_claims() -> None:
    result = parse_verdict_reply("claims 3-4: bogus", 5)
    assert isinstance(result, VerdictHint)
    assert "`3-4 false https://source`" in result.message


# --------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize(
    ("verdict", "phrase"),
    [(v, p) for v, phrases in VERDICT_PHRASES.items() for p in phrases],
)
def test_every_listed_phrase_is_understood(verdict: Verdict, phrase: str) -> None:
    assert parse_verdict_reply(f"2 {phrase}", 5) == req((2,), verdict)
    assert parse_verdict_reply(f"claim 2: {phrase.upper()} https://a.example/x", 5) == req(
        (2,), verdict, "https://a.example/x"
    )


def test_usage_examples_all_parse() -> None:
    usage = format_verdict_usage()
    examples = re.findall(r"`([^`]+)`", usage)
    assert len(examples) >= 5
    for example in examples:
        assert isinstance(parse_verdict_reply(example, 5), VerdictRequest), example
    assert "\n" not in usage


def test_claims_are_sorted_and_unique() -> None:
    result = parse_verdict_reply("5, 1, 3-4, 1 false", 5)
    assert isinstance(result, VerdictRequest)
    assert result.claims == (1, 3, 4, 5)


def test_huge_range_is_not_expanded() -> None:
    result = parse_verdict_reply("2-999999 false", 5)
    assert isinstance(result, VerdictHint)
    assert "6–999999" in result.message
