"""Parsing of verdict replies in an alert's chat thread: the one grammar every platform shares.

Team members mark a flagged claim as checked by replying in the alert's thread. Slack, Discord
and the console all hand the reply's text to :func:`parse_verdict_reply`, so a form that works on
one platform works on all of them. Recording a verdict from ordinary conversation is worse than
missing one, so the grammar is deliberately narrow and everything outside it is ignored.

Grammar (case-insensitive; only the FIRST non-quote line is the command)::

    reply     := mention* selector gap verdict [tail]
    selector  := "all" [["of"] ["the"] "claims" | "of them"]
               | "все/всё" "утверждения|тезисы|пункты" | "усе/ўсе" "сцвярджэнні|тэзісы|пункты"
               | [claim-kw] item (list-sep item)*
    claim-kw  := "claim" | "claims" | "утверждение(я)" | "тезис(ы)" | "пункт(ы)"
               | "сцвярджэнне(і)" | "тэзіс(ы)"                 (optionally followed by "number")
    item      := num [("-" | "–" | "—" | "to" | "through" | "thru") num]
    num       := ["#" | "№"] digits
    list-sep  := "," [and] | "and" | "&" | "+" | "и" | "і"   (plain spaces only between #-numbers)
    gap       := any of ":" "=" "->" "→" "—" "–" "-" "." ")" and the copulas
                 "is" "are" "was" "were" "это" "гэта", then at most one intensifier
                 ("definitely", "totally", "clearly", "абсолютно", "цалкам", ...)
    verdict   := a phrase of VERDICT_PHRASES (true / false / misleading / unproven and
                 synonyms, ✅ ❌ ⚠️ ❓, Russian and Belarusian words) or a reset word ("reset", "undo", "unchecked",
                 "сброс", "скід") which gives Verdict.UNCHECKED, i.e. clears the claim
    tail      := anything; the first http(s) URL in the tail or in later lines is the source,
                 everything else (minus leading separators, "because", and a "source:"
                 label before the URL) is the note; later lines are appended to the note

Examples: ``2 false https://source.example/report``, ``claim 3: misleading — numbers are from
2021``, ``1 ✅``, ``all true``, ``#2 ❌``, ``2, 3 unproven``, ``2 and 3: true``, ``2-4 false``,
``Claim 2 is false``, ``@Watchdesk 2 FALSE https://x.y``, ``утверждение 2 — ложь``,
``2 няпраўда https://…``.

Precision rules (why a reply that looks close is still ignored):

* The selector must open the line (after bot mentions): "I think claim 2 looks off" is talk.
* A bare number (no "claim", no "#", no ":" "=" "->" before the verdict; a dash does not count)
  is only a verdict when the verdict word ends the line or is followed by a URL, punctuation,
  an emoji verdict or a word that introduces a reason ("because", "per", "see", "source", "бо",
  "потому", ...): "2 false alarms today", "3 true believers" and "1 - correct me if I'm
  wrong" are conversation. After "claim N", "#N" or a colon, any text may follow the verdict.
* A line ending in "?" (or a "?" right after the verdict) is a question, never a verdict.
* "yes"/"no" count only after an explicit "claim N"/"#N" ("claim 2: no"); "2 no" is talk.
* Hedges ("probably false", "looks wrong", "maybe misleading") are not verdicts.
* "all" needs the English word or an explicit Russian/Belarusian "all claims": "всё верно" is
  how people say "that's right" to each other.

A reply that is plainly a failed verdict attempt gets a one-line :class:`VerdictHint` instead:
a claim number the alert does not have, a backwards range, an unknown or misspelt verdict word
in verdict position ("2 fasle", "claim 2: bogus", "2 mostly true"), "claim 2" with nothing
after it, or two verdicts in one reply ("2 false, 3 true").

A verdict whose source can't be used is hinted at too: a mention or a channel where the source
goes, a link that is not http(s) (``javascript:…``, ``data:…``), or a note over
`MAX_NOTE_CHARS`. `check_source` and `check_note` apply the same rules to verdicts given through
buttons and options.

The text arrives as the adapter's platform-neutral `InboundText` (or a plain string): links,
mentions and channels are already references, emoji are Unicode. It is normalised first: NFC,
emoji variation selectors dropped, leading mentions (of the bot) removed, links read as their
URL, and quoted lines (``> …``) skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.desk.inbound import (
    ChannelRef,
    InboundText,
    LinkRef,
    MentionRef,
    placeholder_index,
    refuse_controls,
)
from bot.desk.replies import Part, code_parts
from bot.errors import UserError
from bot.models import Verdict

MAX_NOTE_CHARS = 500
MAX_SOURCE_CHARS = 2000


@dataclass(frozen=True)
class VerdictRequest:
    """A verdict a reply asks to record. ``claims`` None means every claim of the alert;
    ``verdict`` UNCHECKED means "clear the verdict" (the reply said reset/undo/unchecked)."""

    claims: tuple[int, ...] | None
    verdict: Verdict
    source_url: str | None
    note: str | None


@dataclass(frozen=True)
class VerdictHint:
    """A reply that tried to give a verdict and got the form wrong; ``message`` is one line
    saying what was wrong and showing the right form (examples between backticks)."""

    message: str

    @property
    def parts(self) -> tuple[Part, ...]:
        """The message with each backticked example as `Code`, for the adapters to render."""
        return code_parts(self.message)


# --------------------------------------------------------------------------- vocabulary

VERDICT_PHRASES: dict[Verdict, tuple[str, ...]] = {
    Verdict.TRUE: (
        "true", "correct", "accurate", "verified", "confirmed", "proven", "checks out",
        "✅", "✔", "☑", "✓",
        "правда", "верно", "подтверждено", "достоверно",
        "праўда", "пацверджана", "слушна",
    ),
    Verdict.FALSE: (
        "false", "wrong", "incorrect", "inaccurate", "fake", "untrue", "not true",
        "not correct", "not accurate", "debunked", "disproven", "fabricated",
        "❌", "✖", "✗", "✘", "❎",
        "ложь", "неправда", "не правда", "неверно", "не верно", "фейк", "фэйк", "недостоверно",
        "хлусня", "няпраўда", "не праўда", "ілжа", "няслушна",
    ),
    Verdict.MISLEADING: (
        "misleading", "mostly false", "half true", "partly true", "partly false",
        "partially true", "partially false", "out of context", "missing context",
        "lacks context", "needs context", "cherry-picked", "exaggerated", "distorted",
        "⚠",
        "манипуляция", "вводит в заблуждение", "полуправда", "частично правда",
        "частично верно", "вне контекста", "вырвано из контекста", "преувеличение",
        "маніпуляцыя", "уводзіць у зман", "паўпраўда", "часткова праўда",
        "вырвана з кантэксту", "перабольшанне",
    ),
    Verdict.UNPROVEN: (
        "unproven", "unproved", "unverified", "unverifiable", "unclear", "unsubstantiated",
        "unconfirmed", "not verified", "not proven", "not confirmed", "no evidence",
        "can't verify", "cannot verify", "can not verify", "cant verify", "couldn't verify",
        "could not verify", "unable to verify",
        "❓", "❔",
        "не подтверждено", "неподтверждено", "не доказано", "недоказано", "нельзя проверить",
        "невозможно проверить", "не удалось проверить", "нет доказательств",
        "не пацверджана", "непацверджана", "не даказана", "недаказана", "немагчыма праверыць",
        "не ўдалося праверыць", "няма доказаў",
    ),
    Verdict.UNCHECKED: (
        "reset", "undo", "unchecked", "uncheck",
        "сброс", "сбросить", "отмена", "скід", "скінуць", "адмена",
    ),
}  # fmt: skip

# Accepted only after an explicit "claim N" / "#N": a bare "2 no" is far more often talk.
_STRICT_PHRASES: dict[str, Verdict] = {"yes": Verdict.TRUE, "no": Verdict.FALSE}

# Misspellings of these get a hint; short everyday look-alikes ("fake" ~ "make") are left out.
_TYPO_TARGETS = (
    "true", "false", "misleading", "unproven", "correct", "incorrect", "accurate",
    "inaccurate", "verified", "unverified", "unclear", "unchecked",
    "правда", "ложь", "неправда", "фейк", "манипуляция", "праўда", "хлусня", "няпраўда",
    "маніпуляцыя",
)  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CLAIM_KEYWORDS = _words(
    "claim claims утверждение утверждения тезис тезисы пункт пункты сцвярджэнне сцвярджэнні"
    " тэзіс тэзісы"
)
_PLURAL_CLAIM_KEYWORDS = _words("claims утверждения тезисы пункты сцвярджэнні тэзісы")
_ALL_WORDS_EN = frozenset({"all"})
_ALL_WORDS_RU_BE = frozenset({"все", "усе", "ўсе"})  # "всё" folds to "все"
_COPULAS = frozenset({"is", "are", "was", "were", "это", "гэта"})
_INTENSIFIERS = _words(
    "definitely totally completely entirely clearly absolutely plainly outright demonstrably"
    " simply абсолютно совершенно полностью явно цалкам абсалютна відавочна"
)
_NEGATIONS = frozenset({"not", "не", "ня"})
# Words that show a reply is talk about a claim, not a verdict on it: never hinted at.
_TALK_WORDS = _words(
    "i i'm im i'll i've we we're we'll you he she they it it's this that these those the a an"
    " anyone anybody someone somebody who what why how when where which"
    " looks look looking seems seem sounds sound might may maybe probably likely possibly"
    " perhaps could should would will need needs checking check investigating working on"
    " still also too thanks thank thx ok okay agreed agree same"
    " я мы ты вы он она они кто что как почему когда где наверное вроде похоже кажется может"
    " возможно проверяю смотрю спасибо"
    " хто што як чаму калі дзе мабыць здаецца можа магчыма правяраю гляджу дзякуй"
)
# A bare-number verdict may be followed by one of these without punctuation.
_REASON_WORDS = _words(
    "because bc since per see source sources src via according cf ref citing as"
    " потому поскольку так см источник согласно по ведь"
    " бо таму паколькі паводле крыніца гл"
)
_LIST_WORDS = frozenset({"and", "и", "і"})
_RANGE_WORDS = frozenset({"to", "through", "thru"})
_DASHES = frozenset({"-", "–", "—", "−"})
# After ":" or "=" a verdict may run straight into its note; after a dash it may not, because
# "1 - correct me if I'm wrong" is how people talk.
_STRONG_GAP = frozenset({":", "=", "→"})
_WEAK_GAP = frozenset({".", ")", ",", "-", "–", "—", "−"})
_TAIL_PUNCT = frozenset(":;,.!(—–-−|/=→…[")

# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "url" | "num" | "word" | "sym" | "punct" | "ref" (a mention/channel reference)
    text: str
    norm: str
    start: int
    end: int
    spaced: bool  # preceded by whitespace or the start of the line


_TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>]+)"
    r"|(?P<num>\d+)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<noise>[*_~`]+)"
    r"|(?P<other>\S)",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?'\"»”’>]}"
_PUNCT_SYMBOLS = frozenset("=+&|→<>№−")


def _trim_url(url: str) -> str:
    """Drop sentence punctuation glued to a URL; keep a ")" that closes a "(" inside it."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (last == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def _norm_word(text: str) -> str:
    return text.casefold().replace("’", "'").replace("ё", "е")


def _tokenize(line: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(line):
        m = _TOKEN_RE.search(line, pos)
        if m is None:
            break
        kind = m.lastgroup or "other"
        text, start, end = m.group(), m.start(), m.end()
        spaced = start == 0 or line[start - 1].isspace() or line[start - 1] in "*_~`"
        pos = end
        if kind == "noise":
            continue
        if kind == "url":
            text = _trim_url(text)
            end = start + len(text)
            pos = end
            norm = text
        elif kind == "word":
            norm = _norm_word(text)
        elif kind == "other" and placeholder_index(text) is not None:
            kind, norm = "ref", text
        elif kind == "other":
            kind = (
                "punct" if unicodedata.category(text)[0] == "P" or text in _PUNCT_SYMBOLS else "sym"
            )
            norm = text
        else:
            norm = text
        tokens.append(_Token(kind, text, norm, start, end, spaced))
    return tokens


def _is_joiner(tokens: Sequence[_Token], i: int) -> bool:
    """A hyphen glued between two words ("half-true"): part of the word, not a separator."""
    return (
        0 < i < len(tokens) - 1
        and tokens[i].norm in _DASHES
        and not tokens[i].spaced
        and tokens[i - 1].kind == "word"
        and tokens[i + 1].kind == "word"
        and not tokens[i + 1].spaced
    )


def _phrase_key(phrase: str) -> tuple[str, ...]:
    toks = _tokenize(phrase)
    return tuple(t.norm for i, t in enumerate(toks) if not _is_joiner(toks, i))


_PHRASES: dict[tuple[str, ...], Verdict] = {
    _phrase_key(p): verdict for verdict, phrases in VERDICT_PHRASES.items() for p in phrases
}
# "claim 2 isn't true": a negated contraction works like "is" + "not".
_PHRASES.update(
    {
        (contraction, *key[1:]): verdict
        for key, verdict in list(_PHRASES.items())
        if key[0] == "not"
        for contraction in ("isn't", "aren't", "wasn't", "weren't")
    }
)
_MAX_PHRASE = max(len(k) for k in _PHRASES)


def _match_phrase(tokens: Sequence[_Token], i: int) -> tuple[Verdict, bool, int] | None:
    """The longest verdict phrase at ``i``: (verdict, strict-only, index after it)."""
    norms: list[str] = []
    ends: list[int] = []
    j = i
    while j < len(tokens) and len(norms) < _MAX_PHRASE:
        if _is_joiner(tokens, j):
            j += 1
            continue
        if tokens[j].kind not in ("word", "sym"):
            break
        norms.append(tokens[j].norm)
        ends.append(j + 1)
        j += 1
    for n in range(len(norms), 0, -1):
        verdict = _PHRASES.get(tuple(norms[:n]))
        if verdict is not None and not _is_joiner(tokens, ends[n - 1]):
            return verdict, False, ends[n - 1]
    if norms and norms[0] in _STRICT_PHRASES and not _is_joiner(tokens, ends[0]):
        return _STRICT_PHRASES[norms[0]], True, ends[0]
    return None


# --------------------------------------------------------------------------- text clean-up

_INVISIBLE_RE = re.compile("[\ufe0e\ufe0f\u200b\u200c\u200d\u2060\ufeff]")
_MENTION_GAP_RE = re.compile(r"^[\s,:]*")


def _without_leading_mentions(inbound: InboundText) -> list[object]:
    """The parts after any mentions that open the reply ("@Watchdesk 2 false")."""
    parts = list(inbound.parts)
    dropped = False
    while parts:
        head = parts[0]
        if isinstance(head, MentionRef):
            parts.pop(0)
            dropped = True
        elif isinstance(head, str) and dropped and not _MENTION_GAP_RE.sub("", head):
            parts.pop(0)
        else:
            break
    if dropped and parts and isinstance(parts[0], str):
        parts[0] = _MENTION_GAP_RE.sub("", parts[0])
    return parts


def _command_lines(text: str | InboundText) -> tuple[str, list[str]]:
    """(the command line, the lines after it); links become their URL, other references one
    placeholder character each (so a mention where the source goes can be recognised)."""
    out: list[str] = []
    n = 0
    for part in _without_leading_mentions(InboundText.of(text)):
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, LinkRef):
            out.append(part.url)
        else:
            assert isinstance(part, MentionRef | ChannelRef)
            out.append(chr(0xFDD0 + min(n, 31)))
            n += 1
    joined = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", "".join(out)))
    lines = [ln.strip() for ln in joined.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(">")]
    if not lines:
        return "", []
    return lines[0], lines[1:]


# --------------------------------------------------------------------------- the head


@dataclass(frozen=True)
class _Selector:
    items: tuple[tuple[int, int], ...] | None  # (low, high) ranges as typed; None = all
    keyword: bool  # "claim"/"claims" (or its ru/be form) was written
    hashed: bool  # a number carried "#" or "№"

    @property
    def explicit(self) -> bool:
        return self.keyword or self.hashed


@dataclass(frozen=True)
class _Head:
    selector: _Selector
    verdict: Verdict
    tail: int  # index of the first token after the verdict phrase


def _word(tokens: Sequence[_Token], i: int, words: Iterable[str]) -> bool:
    return i < len(tokens) and tokens[i].kind == "word" and tokens[i].norm in words


def _punct(tokens: Sequence[_Token], i: int, marks: Iterable[str]) -> bool:
    return i < len(tokens) and tokens[i].kind == "punct" and tokens[i].norm in marks


def _number(tokens: Sequence[_Token], i: int) -> tuple[int, int, bool] | None:
    """(value, index after, had "#") for ``[#|№] digits`` at ``i``."""
    hashed = _punct(tokens, i, ("#", "№"))
    if hashed:
        i += 1
    if i < len(tokens) and tokens[i].kind == "num" and len(tokens[i].text) <= 6:
        return int(tokens[i].text), i + 1, hashed
    return None


def _item(tokens: Sequence[_Token], i: int) -> tuple[tuple[int, int], int, bool] | None:
    first = _number(tokens, i)
    if first is None:
        return None
    low, i, hashed = first
    if _punct(tokens, i, _DASHES) or _word(tokens, i, _RANGE_WORDS):
        second = _number(tokens, i + 1)
        if second is not None:
            return (low, second[0]), second[1], hashed or second[2]
    return (low, low), i, hashed


def _all_selector(tokens: Sequence[_Token]) -> tuple[_Selector, int] | None:
    if _word(tokens, 0, _ALL_WORDS_EN):
        i, keyword = 1, False
        if _word(tokens, i, ("of",)) and _word(tokens, i + 1, ("them",)):
            i += 2
        else:
            j = i + (1 if _word(tokens, i, ("of",)) else 0)
            j += 1 if _word(tokens, j, ("the",)) else 0
            if _word(tokens, j, ("claims",)):
                i, keyword = j + 1, True
        return _Selector(None, keyword, False), i
    if _word(tokens, 0, _ALL_WORDS_RU_BE) and _word(tokens, 1, _PLURAL_CLAIM_KEYWORDS):
        return _Selector(None, True, False), 2
    return None


def _selector(tokens: Sequence[_Token]) -> tuple[_Selector, int] | None:
    found = _all_selector(tokens)
    if found is not None:
        return found
    i = 0
    keyword = _word(tokens, 0, _CLAIM_KEYWORDS)
    if keyword:
        i = 2 if _word(tokens, 1, ("number",)) else 1
    first = _item(tokens, i)
    if first is None:
        return None
    items, (i, hashed) = [first[0]], (first[1], first[2])
    while True:
        j = i
        if _punct(tokens, j, (",", "&", "+")):
            j += 1
            j += 1 if _word(tokens, j, _LIST_WORDS) else 0
        elif _word(tokens, j, _LIST_WORDS):
            j += 1
        elif not (hashed and _punct(tokens, j, ("#", "№"))):
            break
        nxt = _item(tokens, j)
        if nxt is None:
            break
        items.append(nxt[0])
        i, hashed = nxt[1], hashed or nxt[2]
    return _Selector(tuple(items), keyword, hashed), i


def _gap(tokens: Sequence[_Token], i: int) -> tuple[int, bool]:
    """Skip the separators/copulas between selector and verdict: (index after, strong?)."""
    strong = False
    for _ in range(4):
        if _punct(tokens, i, ("-",)) and _punct(tokens, i + 1, (">",)):
            strong, i = True, i + 2
        elif _punct(tokens, i, _STRONG_GAP):
            strong = True
            i += 1
        elif _punct(tokens, i, _WEAK_GAP) or _word(tokens, i, _COPULAS):
            i += 1
        else:
            break
    return i, strong


def _tail_ok(tokens: Sequence[_Token], k: int) -> bool:
    """Does what follows a verdict at ``k`` end the verdict (rather than continue a phrase)?"""
    if k >= len(tokens):
        return True
    if _is_joiner(tokens, k):
        return False  # "2 fake-news accounts": the verdict word is part of a longer word
    tok = tokens[k]
    if tok.kind in ("url", "ref"):
        return True
    if tok.kind == "punct":
        return tok.norm in _TAIL_PUNCT or tok.norm == "-"
    if tok.kind == "sym":
        return _match_phrase(tokens, k) is not None
    if _is_scheme(tokens, k):
        return True  # "2 false javascript:…": a (bad) source, hinted at in `_finish`
    return tok.kind == "word" and tok.norm in _REASON_WORDS


def _is_scheme(tokens: Sequence[_Token], k: int) -> bool:
    """``javascript:`` and the like at ``k``: a link, though not one a checker can open."""
    return (
        tokens[k].kind == "word"
        and _UNSAFE_SCHEME_RE.fullmatch(tokens[k].norm + ":x") is not None
        and _punct(tokens, k + 1, (":",))
        and not tokens[k + 1].spaced
    )


# --------------------------------------------------------------------------- public API


def parse_verdict_reply(
    text: str | InboundText, claim_count: int
) -> VerdictRequest | VerdictHint | None:
    """Read a thread reply to an alert with ``claim_count`` flagged claims.

    Returns a :class:`VerdictRequest` for a well-formed verdict, a :class:`VerdictHint` for a
    reply that plainly tried and got the form wrong, and None for anything else (conversation is
    ignored silently). The grammar and the precision rules are in the module docstring.
    """
    line, more = _command_lines(text)
    if not line or line.rstrip(" *_~`").endswith(("?", "？")):
        return None
    tokens = _tokenize(line)
    found = _selector(tokens)
    if found is None:
        return None
    selector, i = found
    if any(t.norm in ("?", "？") for t in tokens[:i]):
        return None
    j, strong = _gap(tokens, i)
    strong = strong or selector.explicit
    if j >= len(tokens):
        return _nothing_after(selector)
    head = _verdict_at(tokens, j, selector, strong)
    if not isinstance(head, _Head):
        return head
    return _finish(head, tokens, line, more, claim_count)


def format_verdict_usage() -> str:
    """The one-line help under every alert and at the end of hints."""
    return (
        "Mark claims by replying in this thread: `2 false https://source` · "
        "`claim 3: misleading — why` · `1 ✅` · `2, 3 unproven` · `all true`. "
        "Verdicts: true ✅, false ❌, misleading ⚠️, unproven ❓; `2 reset` clears one."
    )


# --------------------------------------------------------------------------- steps


def _example(selector: _Selector, verdict: str = "false", source: bool = True) -> str:
    """A correct reply built from what the user typed, so the hint shows their own claims."""
    if selector.items is None:
        return f"`all {verdict}`"
    numbers = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in selector.items)
    return f"`{numbers} {verdict}{' https://source' if source else ''}`"


def _nothing_after(selector: _Selector) -> VerdictHint | None:
    if not selector.keyword or selector.items is None:
        return None  # a lone "2" or "#2" is as likely an answer to a question
    return VerdictHint(
        f"Say what claim {_numbers_text(selector)} is: true, false, misleading or unproven. "
        f"Reply like: {_example(selector)}."
    )


def _numbers_text(selector: _Selector) -> str:
    assert selector.items is not None
    return ", ".join(str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in selector.items)


def _verdict_at(
    tokens: Sequence[_Token], j: int, selector: _Selector, strong: bool
) -> _Head | VerdictHint | None:
    """Read the verdict at ``j``; a non-verdict there is talk or, if it plainly tried, a hint."""
    intensified = _word(tokens, j, _INTENSIFIERS)
    matched = _match_phrase(tokens, j + 1 if intensified else j)
    if matched is not None:
        verdict, strict_only, k = matched
        if _punct(tokens, k, ("?", "？")):
            return None
        if strict_only and not (selector.explicit and _tail_ok(tokens, k)):
            return None
        two = _second_verdict(tokens, k)
        if two is not None:
            return VerdictHint(
                f"One verdict per reply: send {_example(selector, verdict.value, False)} and "
                f"`{two}` separately, or list claims that share a verdict, like "
                f"`2, 3 {verdict.value}`."
            )
        if not (strong or _tail_ok(tokens, k)):
            return None
        return _Head(selector, verdict, k)
    return _failed_attempt(tokens, j, selector, strong)


def _failed_attempt(
    tokens: Sequence[_Token], j: int, selector: _Selector, strong: bool
) -> VerdictHint | None:
    tok = tokens[j]
    if tok.kind != "word" or tok.norm in _TALK_WORDS:
        return None
    after = _match_phrase(tokens, j + 1)
    if after is not None and not after[1]:  # "mostly true", "not false"
        said = _joined(tokens[j : after[2]])
        return _unknown_verdict(said, selector)
    if tok.norm in _NEGATIONS:
        return None
    end = j + 1
    while _is_joiner(tokens, end):  # "false-ish" is one word
        end += 2
    single = _tail_ok(tokens, end)
    typo = end == j + 1 and _is_typo(tok.norm)
    colon_after_keyword = selector.keyword and _punct(tokens, j - 1, (":",))
    if (typo and (single or strong)) or (strong and single) or colon_after_keyword:
        return _unknown_verdict(_joined(tokens[j:end]), selector)
    return None


def _unknown_verdict(said: str, selector: _Selector) -> VerdictHint:
    return VerdictHint(
        f"“{said}” is not a verdict: use true, false, misleading or unproven. "
        f"Reply like: {_example(selector)}."
    )


def _second_verdict(tokens: Sequence[_Token], k: int, line_start: bool = False) -> str | None:
    """For "2 false, 3 true" (or a second line "3 true"): the second verdict's text, if any."""
    i = k
    while _punct(tokens, i, (",", ";", "&", ".")) or _word(tokens, i, _LIST_WORDS | {"but"}):
        i += 1
    marked = _punct(tokens, i, ("#", "№")) or _word(tokens, i, _CLAIM_KEYWORDS)
    if i == k and not (line_start or marked):
        return None  # "2 false 3 true" without a separator is too odd to guess at
    rest = tokens[i:]
    found = _selector(rest)
    if found is None or found[0].items is None:
        return None
    j, _ = _gap(rest, found[1])
    matched = _match_phrase(rest, j)
    if matched is None or matched[1]:
        return None
    return _joined(rest[: matched[2]])


def _joined(tokens: Sequence[_Token]) -> str:
    """Tokens back to text, spaced as the user spaced them."""
    return "".join((" " if t.spaced and n else "") + t.text for n, t in enumerate(tokens))


def _is_typo(word: str) -> bool:
    """Is ``word`` a likely misspelling of a verdict word (and not the word itself)?"""
    for target in _TYPO_TARGETS:
        limit = 1 if len(target) <= 7 else 2
        if abs(len(word) - len(target)) <= limit and 0 < _edit_distance(word, target) <= limit:
            return True
    return False


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a swap of neighbours ("fasle") counts as one."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _finish(
    head: _Head, tokens: Sequence[_Token], line: str, more: list[str], claim_count: int
) -> VerdictRequest | VerdictHint | None:
    checked = _check_claims(head.selector, claim_count)
    if isinstance(checked, VerdictHint):
        return checked
    for extra in more:  # "2 false\n3 true" is two verdicts too
        two = _second_verdict(_tokenize(extra), 0, line_start=True)
        if two is not None:
            return VerdictHint(
                f"One verdict per reply: send `{two}` as its own reply, or list claims that "
                f"share a verdict, like `2, 3 {head.verdict.value}`."
            )
    rest_first = line[tokens[head.tail].start :] if head.tail < len(tokens) else ""
    rest = [rest_first, *more]
    unusable = _unusable_source(rest, head)
    if unusable is not None:
        return unusable
    url = next((m for ln in rest for m in _URLS_RE.findall(ln)), None)
    source = _trim_url(url) if url else None
    note = _note(rest, source)
    if note is not None and len(note) > MAX_NOTE_CHARS:
        return VerdictHint(
            f"That note is {len(note)} characters; a verdict's note holds {MAX_NOTE_CHARS}. "
            f"Put the details in the source and keep the note short, like "
            f"{_example(head.selector, head.verdict.value)}."
        )
    return VerdictRequest(checked, head.verdict, source, note)


# Schemes people paste that are links but not web pages a checker can open.
_UNSAFE_SCHEME_RE = re.compile(
    r"(?<![\w.+-])(javascript|vbscript|data|file|blob|about|chrome|ftp|ftps|sftp|ssh|mailto|tel"
    r"|ws|wss|gopher|ldap|smb|intent|view-source):\S+",
    re.IGNORECASE,
)


def _unusable_source(rest: Sequence[str], head: _Head) -> VerdictHint | None:
    """A hint when what follows the verdict carries a source that can't be used: a mention or a
    channel (a placeholder here), or a link that is not http(s)."""
    example = _example(head.selector, head.verdict.value)
    for ln in rest:
        if any(placeholder_index(ch) is not None for ch in ln):
            return VerdictHint(
                "A mention or a channel can't be a verdict's source: give a web link to the "
                f"evidence, like {example}, or leave the source out."
            )
        bad = _UNSAFE_SCHEME_RE.search(ln)
        if bad is not None:
            return VerdictHint(
                f"“{bad.group(1).lower()}:” links can't be a source: give a web link starting "
                f"with https://, like {example}."
            )
    return None


def check_source(url: str | None) -> str | None:
    """A verdict source from a button or option: None, or an http(s) URL (UserError otherwise)."""
    if url is None or not url.strip():
        return None
    url = refuse_controls(url.strip(), "source")
    if len(url) > MAX_SOURCE_CHARS:
        raise UserError(f"That source is over {MAX_SOURCE_CHARS} characters; link the page.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in url:
        raise UserError(f"“{url[:80]}” can't be a source: give a web link starting with https://.")
    return url


def check_note(note: str | None) -> str | None:
    """A verdict note from any path: None, or text without control characters within
    `MAX_NOTE_CHARS` (UserError otherwise)."""
    if note is None or not note.strip():
        return None
    note = refuse_controls(note.strip(), "note", allow_newlines=True)
    if len(note) > MAX_NOTE_CHARS:
        raise UserError(
            f"That note is {len(note)} characters; a verdict's note holds {MAX_NOTE_CHARS}. "
            "Put the details in the source."
        )
    return note


def _check_claims(selector: _Selector, claim_count: int) -> tuple[int, ...] | None | VerdictHint:
    """The claim numbers the selector names, or a hint naming the ones the alert lacks."""
    if claim_count <= 0:
        return VerdictHint("This alert has no flagged claims to mark.")
    if selector.items is None:
        return None
    for lo, hi in selector.items:
        if lo > hi:
            return VerdictHint(
                f"“{lo}-{hi}” runs backwards: write the lower number first, like `{hi}-{lo} false`."
            )
    missing = _missing(selector.items, claim_count)
    if missing:
        has = "only claim 1" if claim_count == 1 else f"claims 1–{claim_count}"
        what = (
            f"is no claim {missing[0]}"
            if len(missing) == 1 and "–" not in missing[0]
            else (f"are no claims {', '.join(missing)}")
        )
        example = "1 false https://source" if claim_count == 1 else "2 false https://source"
        return VerdictHint(f"There {what} in this alert ({has}). Reply like: `{example}`.")
    return tuple(sorted({n for lo, hi in selector.items for n in range(lo, hi + 1)}))


def _missing(items: Sequence[tuple[int, int]], claim_count: int) -> list[str]:
    """The requested numbers outside 1..claim_count, as "7" or "6–9" (ranges stay unexpanded)."""
    out: list[str] = []
    for lo, hi in items:
        for a, b in ((lo, min(hi, 0)), (max(lo, claim_count + 1), hi)):
            if a <= b:
                out.append(str(a) if a == b else f"{a}–{b}")
    return list(dict.fromkeys(out))


_URLS_RE = re.compile(r"https?://[^\s<>]+")
_SOURCE_LABEL = (
    r"(?:(?<!\w)(?:source|sources|src|via|see|per|link|ref|источник|ссылка|крыніца|спасылка|см|гл)"
    r"\.?(?:\s+also)?\s*[:\-—–]?\s*)?"
)
_LEADING_JUNK_RE = re.compile(
    r"^(?:[\s:;,.!…\-—–−=|→>*_~`]+|(?:because|bc|потому что|так как|бо|таму што)(?=\W|$))+",
    re.IGNORECASE,
)
_TRAILING_JUNK_RE = re.compile(r"[\s:;,\-—–−=|→*_~`]+$")


def _note(lines: Sequence[str], source: str | None) -> str | None:
    """What is left of the reply once the verdict, the source URL and separators are gone."""
    out: list[str] = []
    removed = source is None
    for ln in lines:
        if not removed and source is not None and source in ln:
            label = re.compile(
                _SOURCE_LABEL + r"[(\[]?\s*" + re.escape(source) + r"\s*[)\]]?", re.IGNORECASE
            )
            ln, removed = label.sub(" ", ln, count=1), True
        ln = re.sub(r"\s+", " ", ln)
        ln = _TRAILING_JUNK_RE.sub("", _LEADING_JUNK_RE.sub("", ln))
        if ln:
            out.append(ln)
    return "\n".join(out) or None


# --------------------------------------------------------------------------- recall replies


@dataclass(frozen=True)
class RecallReply:
    """A checker's answer to a "similar to …" suggestion on an alert's claim: ``ref`` is the
    earlier check as the alert shows it ("#14:3", "#f7"), ``claim`` the new alert's claim it
    is about (None: whichever claim was shown that suggestion), ``same`` confirm or reject."""

    claim: int | None
    ref: str
    same: bool


_REF = r"#\s?(?:(?P<fc>f\d{1,9})|(?P<alert>\d{1,9}):(?P<n>\d{1,4}))"
_RECALL_RE = re.compile(
    r"^(?:(?:claim|утверждение|сцвярджэнне)\s+)?(?:#?(?P<claim>\d{1,4})\s*[:.)]?\s+)?"
    r"(?P<verb>same\s+as|same|то\s+же(?:\s+самое)?,?\s+что|тое\s+ж(?:\s+самае)?,?\s+што"
    r"|not(?:\s+the)?(?:\s+same(?:\s+as)?)?|different\s+from|reject|не\s+то(?:\s+же)?|не\s+тое)"
    r"\s*" + _REF + r"\s*[.!]?$",
    re.IGNORECASE,
)
_REJECT_WORDS = ("not", "different", "reject", "не")


def parse_recall_reply(text: str | InboundText) -> RecallReply | None:
    """``same as #14:3``, ``2 same as #14:3``, ``claim 2: same as #f7`` (confirm);
    ``not #14:3``, ``2 not the same as #14:3``, ``2 different from #f7``, ``reject #f7``
    (reject); Russian ``то же, что #14:3`` / ``не то #14:3`` and Belarusian ``тое ж, што``
    / ``не тое``. Anything else is None (then the verdict grammar reads the reply)."""
    line, _ = _command_lines(text)
    match = _RECALL_RE.match(line.replace("\u00a0", " ").strip())
    if match is None:
        return None
    verb = match.group("verb").lower()
    ref = (
        f"#{match.group('fc').lower()}"
        if match.group("fc")
        else (f"#{int(match.group('alert'))}:{int(match.group('n'))}")
    )
    claim = int(match.group("claim")) if match.group("claim") else None
    return RecallReply(claim, ref, not verb.startswith(_REJECT_WORDS))


# --------------------------------------------------------------------------- "I'm on it"


@dataclass(frozen=True)
class AssignReply:
    """A checker taking claims: ``claims`` None means the alert's unchecked claims."""

    claims: tuple[int, ...] | None


_ON_IT = (
    r"(?:i'?m|i\s+am)\s+on\s+it|on\s+it|i'?ll\s+check(?:\s+it)?|mine|taking\s+it|"
    r"беру|я\s+проверю|проверю|займусь|я\s+займусь|бяру|я\s+праверу|праверу|займуся"
)
_NUMS = r"#?\d{1,4}(?:\s*(?:,|and|&|и|і)\s*#?\d{1,4})*"
_ASSIGN_RE = re.compile(
    rf"^(?:(?:claims?|утверждени[ея]|сцвярджэнн[ея])\s+)?(?P<pre>{_NUMS})?\s*[:.)—–-]?\s*"
    rf"(?:{_ON_IT})(?:\s*[:—–-]?\s*(?:(?:claims?|утверждени[ея]|сцвярджэнн[ея])\s+)?"
    rf"(?P<post>{_NUMS}))?\s*[.!]*$",
    re.IGNORECASE,
)


def parse_assign_reply(text: str | InboundText) -> AssignReply | None:
    """``I'm on it``, ``on it``, ``mine``, ``2 on it``, ``on it: 2, 3``, ``claim 2 mine``;
    Russian ``беру 2`` / ``я проверю``, Belarusian ``бяру 2`` / ``я праверу``. None otherwise."""
    line, _ = _command_lines(text)
    match = _ASSIGN_RE.match(line.replace("\u2019", "'").replace("\u00a0", " ").strip())
    if match is None:
        return None
    numbers = match.group("pre") or match.group("post")
    if not numbers:
        return AssignReply(None)
    return AssignReply(tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", numbers))))
