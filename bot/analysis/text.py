"""Owns turning raw article input into clean text and sentences: HTML to text, sentence
splitting with character offsets, language detection, teaser and binary-input checks; and the
two Unicode clean-ups everything else reuses: `normalise_for_matching` (article text and watch
terms, the same way, before the gate matches them) and `clean_for_display` (feed text on its
way to Slack, Discord or the console).

Sentence splitting and language detection are pure Python and regex, so the per-article cost
stays small (this runs on every matched article of every poll); HTML goes through trafilatura
(`html_to_text`, whole pages) or lxml alone (`strip_html`, feed fragments). Sentence splitting is rule-based rather than learned because the rules that
matter in news prose (titles, initials, "U.S.", "г.", closing quotes, paragraph breaks) are few,
known and must behave the same for English, Russian and Belarusian.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass
from types import ModuleType

from bot.models import Sentence

log = logging.getLogger(__name__)


def _wordset(words: str) -> frozenset[str]:
    """A frozenset from a whitespace-separated word list (keeps long lists readable)."""
    return frozenset(words.split())


# Inputs larger than this are refused by `input_problem`: no news article is 5 MB of text, and
# trafilatura's cost grows quickly with page size.
MAX_INPUT_CHARS = 5_000_000

# How much of an input the binary and language checks look at: enough to be sure, cheap on a
# 10 MB string.
_SAMPLE_CHARS = 20_000
# Language shows within a few paragraphs; a smaller sample keeps detection at ~10k articles/s.
_LANGUAGE_SAMPLE_CHARS = 4_000

# --------------------------------------------------------------------------- input guards

_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def is_binary(data: bytes | str) -> bool:
    """True when ``data`` is not text (a NUL byte, or many control bytes, in its first 20 kB).

    Feeds sometimes point at PDFs, images or archives; treating those as text yields garbage
    sentences and, for some parsers, crashes. Looking at a sample keeps this cheap."""
    if isinstance(data, bytes | bytearray):
        sample = bytes(data[:_SAMPLE_CHARS])
        if not sample:
            return False
        if b"\x00" in sample:
            return True
        controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        return controls / len(sample) > 0.05
    sample_text = data[:_SAMPLE_CHARS]
    if not sample_text:
        return False
    if "\x00" in sample_text:
        return True
    controls = len(_CONTROL_CHARS_RE.findall(sample_text))
    return controls / len(sample_text) > 0.05


def input_problem(data: bytes | str | None, *, max_chars: int = MAX_INPUT_CHARS) -> str | None:
    """Why ``data`` cannot be treated as article text, in words a person can act on; None if
    it can. Callers log the reason and carry on with an empty result instead of crashing."""
    if data is None:
        return "no input was given (None)"
    if not isinstance(data, bytes | bytearray | str):
        return f"input must be text or bytes, not {type(data).__name__}"
    if len(data) > max_chars:
        return (
            f"input is {len(data):,} characters, over the {max_chars:,} limit for one article; "
            "it is probably not a news page"
        )
    if is_binary(data):
        return "input looks binary (NUL or control bytes), not text or HTML"
    return None


# --------------------------------------------------------------------------- HTML


def html_to_text(html: str | bytes, url: str | None = None) -> str:
    """The main text of an article page, paragraphs separated by newlines; "" if none.

    trafilatura finds the article body and drops navigation, comments and boilerplate; it only
    parses the string it is given (no fetching). When it finds nothing (tiny pages, odd
    markup) a plain lxml text strip is better than nothing."""
    problem = input_problem(html)
    if problem:
        log.warning("html_to_text: %s%s", problem, f" ({url})" if url else "")
        return ""
    if not html.strip():
        return ""
    text = _trafilatura_text(html, url)
    if not text:
        text = _lxml_text(html)
    return _normalise_paragraphs(text)


@functools.cache
def _trafilatura() -> ModuleType | None:
    """trafilatura, imported once; None (and one warning) when the install is broken, e.g.
    lxml >= 5.2 without the separate ``lxml_html_clean`` package that jusText needs."""
    try:
        import trafilatura
    except ImportError as exc:
        log.warning(
            "trafilatura cannot be imported (%s); article pages get a plain lxml text strip "
            "instead. Fix: pip install lxml_html_clean",
            exc,
        )
        return None
    return trafilatura


def _trafilatura_text(html: str | bytes, url: str | None) -> str:
    trafilatura = _trafilatura()
    if trafilatura is None:
        return ""
    try:
        text = trafilatura.extract(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            deduplicate=False,
        )
    except Exception as exc:  # trafilatura raises assorted errors on hostile markup
        log.warning("trafilatura failed on %s: %s", url or "a page", exc)
        return ""
    return text or ""


_BLOCK_TAGS = _wordset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 "
    "h4 h5 h6 header hr li main nav ol p pre section table td th tr ul"
)
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")


def _lxml_text(html: str | bytes, *, fragment: bool = False) -> str:
    """Text of every node, script/style/comments dropped, a newline after each block element.

    lxml (libxml2) rather than regexes: it decodes entities, copes with broken markup and is
    linear on hostile input such as unclosed comments or a megabyte of "<a<a<a"."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        if fragment:
            root = lxml_html.fragment_fromstring(html, create_parent="div")
        else:
            root = lxml_html.fromstring(html)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError, TypeError) as exc:
        log.debug("lxml could not parse the input: %s", exc)
        return ""
    etree.strip_elements(root, *_DROP_TAGS, etree.Comment, etree.PI, with_tail=False)
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    return root.text_content()


def strip_html(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed's ``summary``): tags dropped, entities decoded,
    whitespace collapsed, block boundaries kept as single newlines so paragraphs still end
    sentences. Much cheaper than `html_to_text` (no boilerplate detection), and right for
    fragments with no page around them. "" for empty, binary or oversized input."""
    if not fragment or not fragment.strip():
        return ""
    problem = input_problem(fragment)
    if problem:
        log.warning("strip_html: %s", problem)
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _normalise_paragraphs(fragment)
    return _normalise_paragraphs(_lxml_text(fragment, fragment=True).replace("\xa0", " "))


_SPACES_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")


def _normalise_paragraphs(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES_RE.sub(" ", text)
    return _NEWLINES_RE.sub("\n", text).strip()


# --------------------------------------------------------------------------- sentences

# A run of terminal punctuation, any closing quotes/brackets, then whitespace or the end.
_TERMINAL_RE = re.compile(r"(?:[.!?…]+|\[\s*(?:\.\.\.|…)\s*\])[\"'”’“»)\]]*(?=\s|$)")
_LINE_RE = re.compile(r"[^\n\r\u2028\u2029]+")
_OPENERS = "\"'“‘«„([{—–-*•·"
_LAST_TOKEN_RE = re.compile(r"[^\s\"'“‘«„(\[{]+$")
_WORD_RE = re.compile(r"[^\W\d_][^\W_]*(?:[-’'][^\W_]+)*", re.UNICODE)
_INITIAL_RE = re.compile(r"[^\W\d_]{1,2}\.(?:[^\W\d_]\.)*$")
_ENUMERATOR_RE = re.compile(r"^\s*(?:\d{1,3}|[A-Za-zА-Яа-я]|[IVXivx]{1,4})\.$")

# Abbreviations that precede a name or a number and so never end a sentence.
_NON_FINAL = _wordset("""
    mr mrs ms messrs dr prof gen col lt sgt capt cmdr adm maj brig rep reps sen sens gov pres
    rev hon fr st mt ft vs v approx ca cf e.g i.e viz
    т.е т.к т.н т.ч т.о напр им ул просп пр-т пер пл наб обл р-н ген полк подп проф акад доц
    тов гр св см ср рис стр тел
    вул праф сп г.зн в.а
    """)
# Abbreviations that stand before a number ("No. 10", "ст. 130"): no break before a digit.
_NUMERIC_PREFIX = _wordset("no nos art fig figs vol vols p pp ch sec para ст ч п арт табл")
# Abbreviations that may end a sentence: break only when the next word is a typical sentence
# opener ("...the U.S. The talks" breaks, "the U.S. Army" does not).
_AMBIGUOUS = _wordset("""
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    inc ltd corp co bros jr sr llc plc dept est a.m p.m u.s u.k u.n e.u d.c ph.d al
    тыс млн млрд руб долл коп гг вв
    """)

_STARTERS = _wordset("""
    the a an he she it they we i you his her its their our my this that these those there here
    but and or so yet in on at by for from with without after before during since until while
    when where why how what who which if as however meanwhile moreover also still then now
    today yesterday last next some many most both all no not one two another other such
    mr mrs ms dr
    в во на по с со к ко у о об из за до от при после для но а и однако также кроме как когда
    если это этот эта эти он она оно они мы я вы его ее её их там тогда теперь сейчас ранее
    позже между среди так все всё уже еще ещё не ни что кто где почему накануне вчера сегодня
    завтра затем потом
    ва па з са да ад пры пасля але і аднак таксама як калі гэта гэты гэтая гэтыя ён яна яно
    яны яго яе іх цяпер раней учора сёння заўтра што хто дзе чаму таму сярод паміж
    """)


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` with offsets such that ``text[s.start:s.end] == s.text``.

    A line break always ends a sentence (feeds and extractors put paragraphs on lines).
    Within a line, terminal punctuation ends a sentence unless what follows starts in lower
    case, or what precedes is an abbreviation or an initial (see `_is_boundary`)."""
    if not text:
        return []
    out: list[Sentence] = []
    for line in _LINE_RE.finditer(text):
        _split_line(text, line.start(), line.end(), out)
    return out


def _split_line(text: str, start: int, end: int, out: list[Sentence]) -> None:
    seg_start = start
    for m in _TERMINAL_RE.finditer(text, start, end):
        if _is_boundary(text, seg_start, m.start(), m.group(), m.end(), end):
            _append(text, seg_start, m.end(), out)
            seg_start = m.end()
    _append(text, seg_start, end, out)


def _append(text: str, start: int, end: int, out: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append(Sentence(text[start:end], start, end))


def _is_boundary(text: str, seg_start: int, p_start: int, punct: str, p_end: int, end: int) -> bool:
    nxt = _next_word(text, p_end, end)
    if nxt is None:  # end of line: the line break ends the sentence anyway
        return True
    first = nxt[0]
    if first.islower():
        return False  # "…” he said.", "т.е. учения", "U.S. officers"
    if punct[0] != "." or punct.startswith(".."):
        return True  # "!", "?", ellipses: break unless lower case follows
    token = _token_before(text, seg_start, p_start)
    if not token:
        return True
    return _breaks_after(text, seg_start, p_start, token, nxt)


def _breaks_after(text: str, seg_start: int, p_start: int, token: str, nxt: str) -> bool:
    """Whether a full stop after ``token`` ends the sentence, given the next word ``nxt``."""
    low = token.lower().rstrip(".")
    starter = nxt.lower() in _STARTERS
    if low in _NON_FINAL:
        return False
    if low in _NUMERIC_PREFIX:
        return not nxt[0].isdigit()
    if low in _AMBIGUOUS:
        return starter
    if low in ("г", "гг", "г.г"):  # "в 2025 г. учения" vs "в г. Минске"
        before = text[max(seg_start, p_start - 60) : p_start][: -len(token)].rstrip()
        return starter and bool(before) and before[-1].isdigit()
    if token.isalpha() and token[0].isupper() and (len(token) == 1 or _is_cyrillic_initial(token)):
        return starter  # an initial: "A. Lukashenko", "А. Лукашенко", "Дж. Коул"
    if "." in token and all(len(p) <= 2 and p.isalpha() for p in token.split(".") if p):
        return starter  # unlisted dotted abbreviations such as "N.Y." or "т.д."
    return p_start - seg_start > 8 or not _ENUMERATOR_RE.match(text[seg_start : p_start + 1])


def _is_cyrillic_initial(token: str) -> bool:
    """Russian and Belarusian write some initials with two letters ("Дж. Байден")."""
    return len(token) == 2 and token[1].islower() and "\u0400" <= token[0] <= "\u04ff"


def _token_before(text: str, seg_start: int, p_start: int) -> str:
    m = _LAST_TOKEN_RE.search(text, max(seg_start, p_start - 40), p_start)
    return m.group() if m else ""


def _next_word(text: str, pos: int, end: int) -> str | None:
    """The next word after ``pos`` on the line, past whitespace, opening quotes and dashes."""
    i = pos
    while i < end and (text[i].isspace() or text[i] in _OPENERS):
        i += 1
    if i >= end:
        return None
    j = i
    while j < end and not text[j].isspace() and j - i < 40:
        j += 1
    raw = text[i:j]
    if _INITIAL_RE.match(raw):
        return raw  # "А. И. Иванов": an initial is never a sentence opener
    m = _WORD_RE.match(raw)
    return m.group() if m else raw


# --------------------------------------------------------------------------- language

# Runs rather than single letters: counting a few hundred runs is ~10x faster than 4,000 chars.
_CYR_RE = re.compile(r"[\u0400-\u04ff]+")
_LAT_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_LETTER_RE = re.compile(r"[^\W\d_]+")
_PUNCT = ".,;:!?\"'()[]“”‘’«»—–-"
_ACCENTED_RE = re.compile(r"[\u00c0-\u024f]+")
_EN_STOPWORDS = _wordset("""
    the a an of to in and or is are was were be been has have had it its that this for on with
    as at by from he she they we not but said will would which who after
    """)
_BE_WORDS = _wordset("і ў што гэта ён яна яны таксама пасля калі беларусі беларусь")
_RU_WORDS = _wordset("и что это он она они также после если когда беларуси")


def detect_language(text: str) -> str:
    """ "en", "ru", "be" or "und" (empty, binary, another script or language).

    Script decides first; Belarusian and Russian share most Cyrillic letters, so letters only
    one of them has (і ў vs и щ ъ) decide between them, which holds even for a headline.
    Ukrainian (ї є ґ, no ы э ё) and non-English Latin text come back "und"."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS] if text else ""
    if not sample or is_binary(sample):
        return "und"
    head = sample[:1000]  # the script shows at once; letter regexes are the costly part
    letters = _run_length(_LETTER_RE, head)
    if not letters:
        return "und"
    cyr = _run_length(_CYR_RE, head)
    lat = _run_length(_LAT_RE, head)
    if cyr >= lat and cyr / letters >= 0.4:
        return _cyrillic_language(sample.lower())
    if lat > cyr and lat / letters >= 0.4:
        return _latin_language(head.lower(), lat)
    return "und"


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _cyrillic_language(low: str) -> str:
    be = low.count("і") + low.count("ў")
    ru = low.count("и") + low.count("щ") + low.count("ъ")
    uk = low.count("ї") + low.count("є") + low.count("ґ")
    shared_ru_be = low.count("ы") + low.count("э") + low.count("ё")
    if uk and uk >= 0.002 * len(low) and shared_ru_be < uk:
        return "und"
    if be == ru:
        words = set(_WORD_RE.findall(low))
        return "be" if len(words & _BE_WORDS) > len(words & _RU_WORDS) else "ru"
    return "be" if be > ru else "ru"


def _latin_language(low: str, lat: int) -> str:
    if "ŭ" in low and low.count("ŭ") >= 0.002 * lat:
        return "be"  # Belarusian Łacinka
    non_ascii = _run_length(_ACCENTED_RE, low)
    if non_ascii > 0.03 * lat:
        return "und"
    words = low.split()
    if len(words) >= 20:
        stop = sum(1 for w in words if w.strip(_PUNCT) in _EN_STOPWORDS)
        if stop < 0.15 * len(words):
            return "und"
    return "en"


# --------------------------------------------------------------------------- teasers

_TEASER_END_RE = re.compile(
    r"(?:…|\.\.\.|\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\)|"
    r"read more|continue reading|more »|full story|"
    r"читать далее|читать полностью|подробнее|чытаць далей|падрабязней)\W*$",
    re.IGNORECASE,
)
_TEASER_MIN_WORDS = 60
_TEASER_MIN_SENTENCES = 3


def looks_like_teaser(text: str) -> bool:
    """True when a feed gave only a teaser of the article, so the page itself should be fetched:
    empty, cut off ("…", "[...]", "Read more"), fewer than three sentences or under 60 words.
    Summarising a teaser just repeats it, and claims are usually further down."""
    text = (text or "").strip()
    if not text:
        return True
    if _TEASER_END_RE.search(text[-80:]):
        return True
    if len(_WORD_RE.findall(text[:5000])) < _TEASER_MIN_WORDS:
        return True
    return len(split_sentences(text[:5000])) < _TEASER_MIN_SENTENCES


# --------------------------------------------------------------------------- Unicode hygiene
#
# Hostile or sloppy feeds hide a watched name from a matcher that compares code points: a
# Cyrillic "а" inside "Lukashenko", fullwidth "Ｂｅｌａｒｕｓ", a zero-width space or soft hyphen
# inside a word. `normalise_for_matching` undoes all three, and the same function runs on
# watch terms, so both sides of the comparison are spelled alike. `clean_for_display` is the
# other direction: what a chat message must not carry (bidi overrides, invisible characters).

# Every character of Unicode category Cf (format: zero-width, bidi controls, soft hyphen, BOM,
# tags), as of the Unicode version Python ships; tests/analysis/test_text.py checks this list
# against `unicodedata` for every code point, so a newer Python cannot drift from it silently.
_FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_FORMAT_RE = re.compile(f"[{_FORMAT_CHARS}]+")
# Generic combining diacritics left over after NFC found no precomposed letter (a stress mark
# in "Лукаше́нко"): they split a token, and the gate ignores diacritics anyway.
_COMBINING_DIACRITICS = "\u0300-\u036f"
# Characters NFKC leaves alone that are neither format characters nor combining marks: ASCII,
# most of Latin-1 and Latin Extended-A, Cyrillic letters, common dashes, quotes and signs.
# Text that needs normalising is processed run by run of the other characters, so the cost
# grows with what has to change, not with the length of the article.
_SAFE_CHARS = (
    "\x00-\x9f\u00a1-\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf"
    "\u00c0-\u0131\u0134-\u013e\u0141-\u0148\u014a-\u017e\u0400-\u0482\u048a-\u052f"
    "\u2010\u2012-\u2016\u2018-\u2023\u2027\u2030-\u2032\u2039\u203a\u20ac"
)
_UNSAFE_RUN_RE = re.compile(f"[^{_SAFE_CHARS}]+")
_DROP_FOR_MATCHING = re.compile(f"[{_FORMAT_CHARS}{_COMBINING_DIACRITICS}]")

_LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_CYRILLIC_LETTERS = "\u0400-\u0481\u048a-\u052f"
_ANY_LATIN_RE = re.compile(f"[{_LATIN_LETTERS}]")
_ANY_CYRILLIC_RE = re.compile(f"[{_CYRILLIC_LETTERS}]")
# A run of Latin and Cyrillic letters that contains both. The look-behind anchors each attempt
# at the start of a run, so a megabyte-long "word" costs one pass, not a quadratic one.
_MIXED_WORD_RE = re.compile(
    f"(?<![{_LATIN_LETTERS}{_CYRILLIC_LETTERS}])"
    f"(?:[{_LATIN_LETTERS}]++[{_CYRILLIC_LETTERS}]|[{_CYRILLIC_LETTERS}]++[{_LATIN_LETTERS}])"
    f"[{_LATIN_LETTERS}{_CYRILLIC_LETTERS}]*+"
)

# Look-alikes between the two scripts: the Latin/Cyrillic pairs of Unicode's confusables.txt
# (UTS #39), plus lower-case к/k, м/m, т/t and ь/b, which read the same in most news fonts.
# One character for one character, so folding never moves an offset. Only words that mix
# the scripts are folded (see `_fold_mixed_words`): a real word is written in one script.
_CYRILLIC_TO_LATIN = str.maketrans(
    "аеёіїјорсухѕһԁԛԝӏкмтьвАВЕЁКМНОРСТУХІЇЈЅԚԜ",
    "aeëiïjopcyxshdqwlkmtbbABEËKMHOPCTYXIÏJSQW",
)
_LATIN_TO_CYRILLIC = str.maketrans(
    "aeëiïjopcyxshkmtbABEËKMHOPCTYXIÏJSQW",
    "аеёіїјорсухѕһкмтьАВЕЁКМНОРСТУХІЇЈЅԚԜ",
)


@dataclass(frozen=True)
class _Segment:
    """A stretch of normalised text and where it came from. Linear segments map character by
    character; the others (one original character NFKC expanded, e.g. "ﬁ" → "fi") map as a
    whole."""

    start: int  # in the normalised text
    original_start: int
    original_end: int
    linear: bool


@dataclass(frozen=True)
class MatchText:
    """Text normalised for matching, with the way back to the text it came from.

    ``text`` is what the gate folds and tokenizes; `original_span` turns a span found in it into
    the span of the input that a person should be shown (hits and sentences always come from
    the input, zero-width characters and all)."""

    text: str
    _segments: tuple[_Segment, ...] = ()  # empty: the text is the input, unchanged in length
    _starts: tuple[int, ...] = ()  # each segment's start, for bisect

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The input span that ``text[start:end]`` came from."""
        if not self._segments:
            return start, end
        first = self._segment(start)
        mapped_start = (
            first.original_start + (start - first.start) if first.linear else first.original_start
        )
        if end <= start:
            return mapped_start, mapped_start
        last = self._segment(end - 1)
        mapped_end = last.original_start + (end - last.start) if last.linear else last.original_end
        return mapped_start, max(mapped_start, mapped_end)

    def _segment(self, pos: int) -> _Segment:
        return self._segments[max(0, bisect.bisect_right(self._starts, pos) - 1)]


def normalise_for_matching(text: str) -> MatchText:
    """``text`` as the gate compares it: NFKC (fullwidth and other compatibility forms become
    plain letters), format characters (Cf: zero-width, soft hyphen, bidi controls, BOM) and
    leftover combining diacritics removed, and look-alike letters folded in any word that mixes
    Latin and Cyrillic (to the script most of its letters are in).

    Watch terms and article text both go through this, so "Bela\\u200brus", "Ｂｅｌａｒｕｓ" and
    "Bеlarus" (Cyrillic е) all read "Belarus". Words in one script are never changed, so
    Cyrillic declension matching is untouched. Expects NFC text (`nlp.clean_text` gives that);
    offsets in the result map back to it through `MatchText.original_span`. Text made only of
    common characters takes a fast path that allocates nothing."""
    if text.isascii():  # most English articles: nothing to normalise, no Cyrillic to mix
        return MatchText(text)
    plain = _plain_utf8(text)
    if plain is not None:
        return MatchText(_fold_mixed_words(text, plain))
    one_to_one, one_to_one_re = _one_to_one_table()
    pieces: list[str] = []
    segments: list[_Segment] = []
    out_len = 0
    pos = 0
    for run in _UNSAFE_RUN_RE.finditer(text):
        if run.start() > pos:
            out_len = _add_linear(segments, pieces, text[pos : run.start()], out_len, pos)
        pos = run.end()
        chunk = run.group()
        if one_to_one_re.fullmatch(chunk):  # "Ｂｅｌａｒｕｓ", a no-break space: no loop
            out_len = _add_linear(
                segments, pieces, chunk.translate(one_to_one), out_len, pos - len(chunk)
            )
            continue
        if unicodedata.is_normalized("NFKC", chunk) and not _DROP_FOR_MATCHING.search(chunk):
            out_len = _add_linear(segments, pieces, chunk, out_len, pos - len(chunk))  # emoji, CJK
            continue
        for offset, char in enumerate(run.group(), run.start()):
            if _DROP_FOR_MATCHING.match(char):
                continue
            normal = unicodedata.normalize("NFKC", char)
            normal = _DROP_FOR_MATCHING.sub("", normal)  # "¨" → " ̈": keep the space only
            if len(normal) == 1:  # unchanged, or one for one ("Ｂ" → "B")
                out_len = _add_linear(segments, pieces, normal, out_len, offset)
            elif normal:
                segments.append(_Segment(out_len, offset, offset + 1, linear=False))
                pieces.append(normal)
                out_len += len(normal)
    if pos < len(text):
        _add_linear(segments, pieces, text[pos:], out_len, pos)
    starts = tuple(s.start for s in segments)
    return MatchText(_fold_mixed_words("".join(pieces)), tuple(segments), starts)


def _plain_utf8(text: str) -> bytes | None:
    """``text`` in UTF-8 when NFKC would not change it and it has no format characters or
    combining diacritics, else None: C-speed checks only (a regex scan costs ~10x more on a
    typical article); the bytes are reused by `_fold_mixed_words`."""
    if not unicodedata.is_normalized("NFKC", text):
        return None
    data = text.encode("utf-8", "surrogatepass")
    if b"\xcc" in data or b"\xcd" in data:  # lead bytes of U+0300–037F
        return None
    # Cf characters are not printable; neither are tab and newline, which are fine here.
    return data if text.replace("\n", " ").replace("\t", " ").isprintable() else None


@functools.cache
def _one_to_one_table() -> tuple[dict[int, str], re.Pattern[str]]:
    """The characters outside the safe set that NFKC maps to exactly one other character
    (fullwidth forms, no-break spaces, mathematical letters), as a `str.translate` table and a
    pattern matching runs of them: a run of those is normalised in one call, not per
    character. Built on first use (a few ms), only when some text needs it."""
    table: dict[int, str] = {}
    # The blocks where such characters are common in text; others take the per-character
    # loop, which is as correct, only slower.
    planes = itertools.chain(
        range(0x00A0, 0x0100),  # no-break space, ordinals, superscripts
        range(0x2000, 0x2200),  # spaces, punctuation, super/subscripts, letterlike symbols
        range(0x3000, 0x3001),  # ideographic space
        range(0xFF01, 0xFFEF),  # fullwidth and halfwidth forms
        range(0x1D400, 0x1D800),  # mathematical letters and digits
    )
    for code in planes:
        char = chr(code)
        if _DROP_FOR_MATCHING.match(char) or 0xD800 <= code <= 0xDFFF:
            continue
        normal = unicodedata.normalize("NFKC", char)
        if len(normal) == 1 and normal != char and not _DROP_FOR_MATCHING.match(normal):
            table[code] = normal
    ranges: list[str] = []
    for _, group in itertools.groupby(enumerate(sorted(table)), lambda p: p[1] - p[0]):
        codes = [c for _, c in group]
        ranges.append(
            re.escape(chr(codes[0])) + ("-" + re.escape(chr(codes[-1])) if len(codes) > 1 else "")
        )
    return table, re.compile(f"[{''.join(ranges)}]+")


def _add_linear(
    segments: list[_Segment], pieces: list[str], chunk: str, out_len: int, original: int
) -> int:
    """Append an unchanged chunk, extending the previous segment when it lines up."""
    last = segments[-1] if segments else None
    if (
        last is not None
        and last.linear
        and last.original_end == original
        and last.original_start - last.start == original - out_len
    ):
        segments[-1] = _Segment(last.start, last.original_start, original + len(chunk), True)
    else:
        segments.append(_Segment(out_len, original, original + len(chunk), True))
    pieces.append(chunk)
    return out_len + len(chunk)


def _fold_mixed_words(text: str, data: bytes | None = None) -> str:
    """Fold look-alike letters in every word that mixes Latin and Cyrillic (see
    `_fold_mixed_word`); text in one script, i.e. nearly all text, is returned as it is.

    A mixed word has a run of one script next to a letter of the other, so it is enough to
    visit the runs of the rarer script (Latin acronyms in Russian news, the odd Cyrillic word
    in English) and look at their neighbours; text without Cyrillic is rejected by counting
    UTF-8 lead bytes, which is far cheaper than any regex scan."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    cyrillic = sum(data.count(lead) for lead in _CYRILLIC_LEADS)
    if not cyrillic:
        return text
    runs = _LATIN_RUN_RE if 2 * cyrillic > len(text) else _CYRILLIC_RUN_RE
    pieces: list[str] = []
    done = 0
    for run in runs.finditer(text):
        start, end = run.span()
        if start < done:
            continue  # inside a mixed word already folded
        if not (start > 0 and _is_letter(text[start - 1])) and not (
            end < len(text) and _is_letter(text[end])
        ):
            continue
        while start > 0 and _is_letter(text[start - 1]):
            start -= 1
        while end < len(text) and _is_letter(text[end]):
            end += 1
        pieces += [text[done:start], _fold_mixed_word(text[start:end])]
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


_CYRILLIC_LEADS = (b"\xd0", b"\xd1", b"\xd2", b"\xd3", b"\xd4")  # UTF-8 of U+0400–053F
_LATIN_RUN_RE = re.compile(f"[{_LATIN_LETTERS}]+")
_CYRILLIC_RUN_RE = re.compile(f"[{_CYRILLIC_LETTERS}]+")
_LETTER_CHAR_RE = re.compile(f"[{_LATIN_LETTERS}{_CYRILLIC_LETTERS}]")


def _is_letter(char: str) -> bool:
    """A Latin or Cyrillic letter: what a mixed word is made of."""
    return _LETTER_CHAR_RE.match(char) is not None


def _mixed_word_target(word: str) -> str | None:
    """ "latin" or "cyrillic": the script a mixed word is folded to. The majority script, when
    every letter of the other script has a look-alike in it; otherwise the minority script on
    the same condition; None (leave the word alone) when neither works."""
    latin = len(_ANY_LATIN_RE.findall(word))
    cyrillic = len(word) - latin
    order = ("latin", "cyrillic") if latin >= cyrillic else ("cyrillic", "latin")
    for target in order:
        table = _CYRILLIC_TO_LATIN if target == "latin" else _LATIN_TO_CYRILLIC
        foreign = _ANY_CYRILLIC_RE if target == "latin" else _ANY_LATIN_RE
        if foreign.search(word.translate(table)) is None:
            return target
    return None


def _fold_mixed_word(word: str) -> str:
    target = _mixed_word_target(word)
    if target is None:
        return word
    return word.translate(_CYRILLIC_TO_LATIN if target == "latin" else _LATIN_TO_CYRILLIC)


def mixed_script_warning(term: str) -> str | None:
    """A sentence to show a person who adds ``term`` when a word in it mixes Latin and
    Cyrillic letters (usually a look-alike typed by accident, or pasted from a spoofed text);
    None when every word is in one script. Matching folds such a word anyway (see
    `normalise_for_matching`); the warning says what it will match as, so the person can
    re-type the term if that is not what they meant."""
    clean = _DROP_FOR_MATCHING.sub("", unicodedata.normalize("NFKC", str(term or "")))
    words = [m.group() for m in _MIXED_WORD_RE.finditer(clean)]
    if not words:
        return None
    described: list[str] = []
    for word in dict.fromkeys(words):
        target = _mixed_word_target(word)
        latin = len(_ANY_LATIN_RE.findall(word))
        majority, minority = (
            ("Latin", _ANY_CYRILLIC_RE)
            if latin >= len(word) - latin
            else ("Cyrillic", _ANY_LATIN_RE)
        )
        other = "Cyrillic" if majority == "Latin" else "Latin"
        odd = ", ".join(f"“{c}”" for c in dict.fromkeys(minority.findall(word)))
        line = f"“{word}” has {other} {odd} among {majority} letters"
        if target is not None:
            line += f" (it will match as “{_fold_mixed_word(word)}”)"
        described.append(line)
    return (
        "; ".join(described)
        + ". A name is normally written in one script: if a letter came from the wrong keyboard "
        "layout or a pasted text, re-add the term typed in one script."
    )


# Format characters (bidi controls among them) and every control character except tab and
# newline: none of them has a place in a chat message built from feed text.
_DISPLAY_STRIP_RE = re.compile(f"[{_FORMAT_CHARS}\ud800-\udfff]+")
_DISPLAY_CONTROL_RE = re.compile("\r\n?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def is_format_char(char: str) -> bool:
    """True for a format character (Unicode category Cf: zero-width, bidi control, soft
    hyphen, BOM, tag); for URL encoders that must keep such characters but make them visible."""
    return _FORMAT_RE.fullmatch(char) is not None


def clean_for_display(text: str | None) -> str:
    """Feed-derived ``text`` made safe to show: bidi controls (U+202A–202E, U+2066–2069,
    U+200E/F, U+061C) and every other format character (zero-width spaces and joiners, soft
    hyphens, BOMs, tag characters) removed, lone surrogates removed, and control characters
    other than tab and newline turned into a space ("\\r\\n" into a newline).

    A right-to-left override can make "moc.evil" read as "live.com" and invisible characters
    can split or hide words, so every platform (Slack, Discord, the console) calls this on feed
    text before escaping it for its own markup; it changes nothing else (no NFKC: people see
    what the publisher wrote)."""
    if not text:
        return ""
    text = _DISPLAY_STRIP_RE.sub("", text)
    return _DISPLAY_CONTROL_RE.sub(lambda m: "\n" if m.group()[0] == "\r" else " ", text)
