"""Owns the cheap gate every polled article passes: matching watched entities (names, aliases
and their generated forms) in a headline and body, scoring how prominent each is, and
explaining why something did or did not match ("/watch test").

The whole watchlist compiles into ONE spaCy PhraseMatcher over folded tokens (see
`bot.analysis.nlp.fold_text`), so an article costs one regex tokenization plus one hash-table
walk whatever the number of terms. Declensions, hyphen layouts and quote-less forms are
generated at compile time (`bot.analysis.variants.alias_forms`), never at match time.

Rules worth knowing, each tested:

* Article text and terms are normalised the same way first (`bot.analysis.text.
  normalise_for_matching`: NFKC, no invisible characters, look-alike letters folded in a word
  that mixes Latin and Cyrillic), so "Ｂｅｌａｒｕｓ", "Bela\u200brus" and "Lukashenkо" (Cyrillic
  о) match; hits and sentences are still cut from the text as given.

* A term never matches inside a longer word: "Belarusbank" and "Zapadoslovenská" are single
  tokens and do not match Belarus or Zapad. Hyphenated compounds do ("U.S.-Belarus",
  "Belarus-based"): there the name stands on its own.
* A one-word alias that is a common Russian word ("Запад": the West), or any one-word alias
  written in quotes («Захад», "Apple"), matches only as a name: in quotes («Запада»), with a
  year (Запад-2025, Запада 2025), or, for Latin script, capitalised mid-sentence. "с запада",
  "на запад" and "Запад ввёл санкции" never match.
* An exclusion phrase suppresses the hits it overlaps ("Viktor Lukashenko"); one that overlaps
  no hit suppresses the hits in its sentence.
* Salience is 1 - exp(-sum of weights): a headline hit weighs 1.0, a lead hit 0.5, a body hit
  0.2. So headline > lead > body and more hits > fewer; the lead is the first two sentences of
  the body that have at least four words (a dateline or short byline does not use one up).
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from bot.analysis.nlp import TOKEN_RE, GateTokenizer, clean_text, fold_text
from bot.analysis.text import MatchText, normalise_for_matching, split_sentences
from bot.analysis.variants import alias_forms, is_common_word, is_latin
from bot.errors import UserError
from bot.models import AnalysisTrace, Entity, EntityMatch, Hit, Section, Sentence, TermTrace

log = logging.getLogger(__name__)

SECTION_WEIGHTS = {Section.HEADLINE: 1.0, Section.LEAD: 0.5, Section.BODY: 0.2}
LEAD_SENTENCES = 2
LEAD_MIN_WORDS = 4
MAX_HITS_KEPT = 50  # per entity, in an EntityMatch; salience counts every hit
MAX_TITLE_CHARS = 2_000
# The gate reads at most this much of a body: no article is longer, and a 10 MB junk page
# must cost milliseconds, not seconds.
MAX_TEXT_CHARS = 300_000
MAX_TERM_CHARS = 200

_SPLIT_MARGIN = 400  # characters split past the last hit (see _Scan.sentences)
_SPLITTER_LOOKAHEAD = 100  # more than split_sentences reads past a full stop
_PLACEHOLDER = " "  # stands for every token no pattern contains; TOKEN_RE never yields it
_ALIAS, _NAME_ONLY, _EXCLUSION = "a", "n", "x"
_QUOTE = '"'
_YEAR_AFTER_RE = re.compile(r"\s?-?\s?\d{2,4}(?!\d)")
_CLOSING_AFTER_RE = re.compile(r'(?:\s?-?\s?\d{2,4})?"')
_WORD_CHAR_RE = re.compile(r"\w")
PARTIAL_MIN_CHARS = 4  # a shorter word of a name ("de", "bin") says nothing on its own


class WatchlistError(UserError):
    """A watched term or watchlist setting that cannot work; the message says which and why."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RejectedHit:
    """A form that was found but did not count, and why (for "/watch test")."""

    entity: str
    text: str
    sentence: str
    section: Section
    reason: str


@dataclass(frozen=True)
class GateResult:
    """Everything one pass of the gate learned about an article.

    ``focus`` holds indices into `split_sentences(text)` of the body (for text that is not
    NFC-normalised or is over MAX_TEXT_CHARS, of the normalised, cut body the gate read): the
    body sentences that mention a matched entity, for the summary stage."""

    matches: tuple[EntityMatch, ...]
    focus: tuple[int, ...] = ()
    below_threshold: tuple[EntityMatch, ...] = ()
    rejected: tuple[RejectedHit, ...] = ()

    @property
    def matched(self) -> bool:
        return bool(self.matches)


@dataclass(frozen=True)
class EntityExplanation:
    name: str
    matched: bool
    salience: float
    hits: tuple[tuple[Hit, str], ...]  # each hit with the alias that produced it
    rejected: tuple[RejectedHit, ...]
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    """Per watched entity: would this article match, with which words, and what was refused."""

    entities: tuple[EntityExplanation, ...]
    min_salience: float

    @property
    def matched(self) -> bool:
        return any(e.matched for e in self.entities)

    def describe(self) -> str:
        """Plain text for a chat reply (the chat adapter escapes it)."""
        lines: list[str] = []
        for e in self.entities:
            if not e.hits and not e.rejected:
                continue
            verdict = "MATCH" if e.matched else "no match"
            lines.append(f"{e.name}: {verdict} (salience {e.salience:.2f}){e.note}")
            for hit, alias in e.hits[:10]:
                lines.append(f"  + {hit.text!r} in {hit.section.value}, as alias {alias!r}")
            for rej in e.rejected[:10]:
                lines.append(f"  - {rej.text!r} in {rej.section.value} ignored: {rej.reason}")
        return "\n".join(lines) or "No watched entity is mentioned."


# --------------------------------------------------------------------------- compiling


@dataclass
class _Compiled:
    keys: dict[int, tuple[str, int]] = field(default_factory=dict)  # match_id → (kind, entity)
    known: set[str] = field(default_factory=set)
    name_only_latin: set[tuple[int, str]] = field(default_factory=set)  # (entity, token)
    # one word of a multi-word spelling → (entity, spelling): "khrenin" → (0, "Viktor Khrenin")
    partial: dict[str, tuple[int, str]] = field(default_factory=dict)


def validate_term(term: str) -> str:
    """``term`` stripped, or WatchlistError saying why it cannot be watched. A term with no
    letter or digit (e.g. "—") would match punctuation in every article."""
    term = " ".join(str(term).split())
    if not _WORD_CHAR_RE.search(term):
        raise WatchlistError(f"{term!r} has no letters or digits, so it cannot be watched")
    if len(term) > MAX_TERM_CHARS:
        raise WatchlistError(
            f"{term[:40]!r}… is {len(term)} characters; watched terms are at most {MAX_TERM_CHARS}"
        )
    return term


class Watchlist:
    """The compiled watchlist. Build it once per change of the list and share it: matching
    never changes it (its vocabulary holds only pattern words and one placeholder)."""

    def __init__(self, entities: Sequence[Entity], *, min_salience: float = 0.0) -> None:
        if not isinstance(min_salience, int | float) or not 0.0 <= float(min_salience) <= 1.0:
            raise WatchlistError(f"min_salience must be between 0 and 1, not {min_salience!r}")
        self.entities: tuple[Entity, ...] = tuple(entities)
        for entity in self.entities:
            if not isinstance(entity, Entity):
                raise WatchlistError(f"watchlist items must be Entity, not {type(entity).__name__}")
        self.min_salience = float(min_salience)
        self._tokenizer = GateTokenizer()  # own vocabulary: freed with this watchlist
        self._matcher = PhraseMatcher(self._tokenizer.vocab, attr="ORTH")
        self._compiled = _Compiled()
        self.pattern_count = 0
        for index, entity in enumerate(self.entities):
            self._compile_entity(index, entity)
        self._tokenizer.vocab[_PLACEHOLDER]  # created now, so matching adds nothing

    # ---- compile

    def _compile_entity(self, index: int, entity: Entity) -> None:
        name = validate_term(entity.name)
        groups: dict[str, set[tuple[str, ...]]] = {
            _ALIAS: set(),
            _NAME_ONLY: set(),
            _EXCLUSION: set(),
        }
        for typed in dict.fromkeys((name, *entity.aliases)):
            term = _matching_form(validate_term(typed))
            name_only = _is_name_only(term)
            for form in alias_forms(term):
                tokens = tuple(self._tokenizer.words(form))
                words = tuple(t for t in tokens if t != _QUOTE)
                self._note_partial(index, typed, words)
                if name_only and len(words) == 1:
                    groups[_NAME_ONLY].add(words)
                    if is_latin(form):
                        self._compiled.name_only_latin.add((index, words[0]))
                elif tokens:
                    groups[_ALIAS].add(tokens)
        for term in entity.exclusions:
            for form in alias_forms(_matching_form(validate_term(term))):
                tokens = tuple(self._tokenizer.words(form))
                if tokens:
                    groups[_EXCLUSION].add(tokens)
        vocab = self._tokenizer.vocab
        for kind, patterns in groups.items():
            if not patterns:
                continue
            key = f"{kind}{index}"
            self._matcher.add(key, [Doc(vocab, words=list(p)) for p in sorted(patterns)])
            self._compiled.keys[vocab.strings[key]] = (kind, index)
            self._compiled.known.update(t for p in patterns for t in p)
            self.pattern_count += len(patterns)

    def _note_partial(self, index: int, term: str, words: tuple[str, ...]) -> None:
        """Remember each longer word of a multi-word spelling, so that an article naming only
        "Khrenin" can be told apart from one that names nobody (`trace`)."""
        if len([w for w in words if _WORD_CHAR_RE.match(w)]) < 2:
            return
        for word in words:
            if len(word) >= PARTIAL_MIN_CHARS and not is_common_word(word):
                self._compiled.partial.setdefault(word, (index, term))

    # ---- match

    def match(self, title: str, text: str) -> tuple[EntityMatch, ...]:
        """The watched entities this article mentions at or above ``min_salience``, most
        salient first. Any input is accepted: junk, bytes or huge text give () or a result,
        never an exception."""
        return self.scan(title, text).matches

    def scan(self, title: str, text: str) -> GateResult:
        """`match` plus what later stages and "/watch test" need (focus sentences, refusals)."""
        title = clean_text(title)[:MAX_TITLE_CHARS]
        text = clean_text(text)[:MAX_TEXT_CHARS]
        normal = (normalise_for_matching(title), normalise_for_matching(text))
        folded = (fold_text(normal[0].text), fold_text(normal[1].text))
        raw, n_title = self._raw_matches(folded)
        if not raw:
            return GateResult(matches=())
        return _Scan(self, (title, text), normal, folded, raw, n_title).result()

    def focus(self, title: str, text: str) -> tuple[int, ...]:
        """Indices into `split_sentences(text)` of the body sentences that mention a matched
        entity: the summary stage's ``focus``."""
        return self.scan(title, text).focus

    def explain(self, title: str, text: str = "") -> Explanation:
        """Would this headline/body match, and why: every hit with the alias behind it, every
        form that was found but refused (common word, exclusion) and any entity under
        ``min_salience``. For "/watch test"."""
        result = self.scan(title, text)
        by_name: dict[str, EntityExplanation] = {}
        for m, matched in [(m, True) for m in result.matches] + [
            (m, False) for m in result.below_threshold
        ]:
            entity = self._entity_named(m.name)
            note = "" if matched else f"; under min_salience {self.min_salience:.2f}"
            hits = tuple((h, self._alias_for(entity, h.text)) for h in m.hits)
            by_name[m.name] = EntityExplanation(m.name, matched, m.salience, hits, (), note)
        for rej in result.rejected:
            current = by_name.get(rej.entity) or EntityExplanation(rej.entity, False, 0.0, (), ())
            by_name[rej.entity] = EntityExplanation(
                current.name,
                current.matched,
                current.salience,
                current.hits,
                (*current.rejected, rej),
                current.note,
            )
        order = {e.name: i for i, e in enumerate(self.entities)}
        ordered = sorted(by_name.values(), key=lambda e: (not e.matched, order.get(e.name, 0)))
        return Explanation(tuple(ordered), self.min_salience)

    def trace(self, title: str, text: str, result: GateResult) -> AnalysisTrace:
        """What `/why` records about this article: each matched entity with the spelling found,
        or the closest miss and its reason. Most salient first: an entity under
        ``min_salience``, then a form refused (an exclusion, a common word), then a word of a
        multi-word name standing alone. Costs one more tokenization only when nothing was
        found at all."""
        matched = tuple(
            TermTrace(m.name, self._hit_alias(m.name, m.hits), m.salience) for m in result.matches
        )
        if matched:
            return AnalysisTrace(matched)
        if result.below_threshold:
            best = max(result.below_threshold, key=lambda m: m.salience)
            reason = f"salience {best.salience:.2f} below min_salience {self.min_salience:.2f}"
            alias = self._hit_alias(best.name, best.hits)
            return AnalysisTrace((), TermTrace(best.name, alias, best.salience, reason))
        if result.rejected:
            rej = result.rejected[0]
            alias = self._alias_for(self._entity_named(rej.entity), rej.text)
            return AnalysisTrace(
                (), TermTrace(rej.entity, alias, 0.0, f"{rej.text!r}: {rej.reason}")
            )
        return AnalysisTrace((), self._partial_miss(title, text))

    def _hit_alias(self, name: str, hits: Sequence[Hit]) -> str:
        return self._alias_for(self._entity_named(name), hits[0].text) if hits else name

    def _partial_miss(self, title: str, text: str) -> TermTrace | None:
        partial = self._compiled.partial
        if not partial:
            return None
        for part in (title, text):
            part = clean_text(part)[:MAX_TEXT_CHARS]
            folded = fold_text(normalise_for_matching(part).text)
            for m in TOKEN_RE.finditer(folded):
                found = partial.get(m.group())
                if found is not None:
                    index, term = found
                    word = part[m.start() : m.end()] if len(part) == len(folded) else m.group()
                    reason = f"only part of the name: {word!r}"
                    return TermTrace(self.entities[index].name, term, 0.0, reason)
        return None

    # ---- internals

    def _raw_matches(self, folded: tuple[str, str]) -> tuple[list[tuple[str, int, int, int]], int]:
        """(kind, entity index, first token, end token) with token positions counted over
        headline tokens, one separator, then body tokens; and the number of headline tokens.

        Tokens no pattern contains become one placeholder before the Doc is built: matches
        are unchanged, and the vocabulary cannot grow with every new word in the news."""
        known = self._compiled.known
        words = [w if w in known else _PLACEHOLDER for w in TOKEN_RE.findall(folded[0])]
        n_title = len(words)
        words.append(_PLACEHOLDER)  # no phrase can span headline and body
        words += [w if w in known else _PLACEHOLDER for w in TOKEN_RE.findall(folded[1])]
        doc = Doc(self._tokenizer.vocab, words=words)
        keys = self._compiled.keys
        return [(*keys[mid], start, end) for mid, start, end in self._matcher(doc)], n_title

    def _entity_named(self, name: str) -> Entity:
        return next(e for e in self.entities if e.name == name)

    def _alias_for(self, entity: Entity, surface: str) -> str:
        surface = _matching_form(surface)
        tokens = tuple(t for t in self._tokenizer.words(surface) if t != _QUOTE)
        for term in (entity.name, *entity.aliases):
            for form in alias_forms(_matching_form(term)):
                if tuple(t for t in self._tokenizer.words(form) if t != _QUOTE) == tokens:
                    return term
        return entity.name


def _matching_form(term: str) -> str:
    """A watch term spelled the way article text is normalised before matching (NFKC, no
    invisible characters, look-alike letters folded in a word that mixes scripts), so that
    "Lukashenkо" with a Cyrillic о is compiled, and declined, as "Lukashenko"."""
    return normalise_for_matching(clean_text(term)).text


def _is_name_only(term: str) -> bool:
    core = term.strip("\"«»„“”‟‹›'").strip()
    quoted = core != term and bool(re.fullmatch(r"[^\W\d_]+", core))
    return quoted or is_common_word(term)


# --------------------------------------------------------------------------- one scan


@dataclass
class _Candidate:
    entity: int
    kind: str
    part: int  # 0 headline, 1 body
    start: int  # characters in the part as given (what hits and sentences are cut from)
    end: int
    norm_start: int  # the same span in the normalised, folded part the matcher read
    norm_end: int


class _Scan:
    """Turns raw token matches of one article into hits, refusals and scores."""

    def __init__(
        self,
        wl: Watchlist,
        parts: tuple[str, str],
        normal: tuple[MatchText, MatchText],
        folded: tuple[str, str],
        raw: list[tuple[str, int, int, int]],
        n_title: int,
    ) -> None:
        self.wl, self.parts, self.normal, self.folded = wl, parts, normal, folded
        self.title, self.text = parts
        located: list[tuple[int, int, int, str, int]] = []  # part, first, last token, kind, entity
        for kind, entity, start, end in raw:
            part, base = (0, 0) if end <= n_title else (1, n_title + 1)
            located.append((part, start - base, end - 1 - base, kind, entity))
        wanted = [{t for q, a, b, *_ in located if q == p for t in (a, b)} for p in (0, 1)]
        spans = [_token_spans(folded[p], wanted[p]) for p in (0, 1)]
        self.candidates = [
            self._candidate(entity, kind, part, spans[part][first][0], spans[part][last][1])
            for part, first, last, kind, entity in located
        ]
        self._sentences: list[Sentence] | None = None
        self._starts: list[int] = []
        self._lead_end = -1
        self.rejected: list[RejectedHit] = []

    def _candidate(self, entity: int, kind: str, part: int, start: int, end: int) -> _Candidate:
        original = self.normal[part].original_span(start, end)
        return _Candidate(entity, kind, part, *original, start, end)

    # ---- sentences

    @property
    def sentences(self) -> list[Sentence]:
        """The body's sentences, split only as far as the hits need.

        Splitting is the costliest step after matching, so only a prefix of the body that
        reaches past the last body hit is split. Sentence boundaries depend only on nearby
        text, so every sentence of that prefix that ends well before the cut is exactly what a
        full `split_sentences` gives; if a hit falls after those, the whole body is split."""
        if self._sentences is None:
            last = max((c.end for c in self.candidates if c.part == 1), default=0)
            cut = min(len(self.text), last + _SPLIT_MARGIN)
            sentences = split_sentences(self.text[:cut])
            if cut < len(self.text):
                # The splitter looks a few words ahead: sentences ending near the cut may differ.
                sentences = [s for s in sentences if s.end <= cut - _SPLITTER_LOOKAHEAD]
                if not sentences or sentences[-1].end < last:
                    sentences = split_sentences(self.text)
            self._sentences = sentences
            self._starts = [s.start for s in sentences]
            self._lead_end = _lead_end(sentences)
        return self._sentences

    def sentence_index(self, pos: int) -> int:
        sentences = self.sentences
        i = bisect.bisect_right(self._starts, pos) - 1
        return i if 0 <= i < len(sentences) and pos < sentences[i].end else -1

    def where(self, c: _Candidate) -> tuple[Section, str, int]:
        if c.part == 0:
            return Section.HEADLINE, self.title, -1
        i = self.sentence_index(c.start)
        if i < 0:
            return Section.BODY, self.text[max(0, c.start - 80) : c.end + 80].strip(), -1
        section = Section.LEAD if i <= self._lead_end else Section.BODY
        return section, self.sentences[i].text, i

    # ---- decisions

    def result(self) -> GateResult:
        per_entity: dict[int, list[_Candidate]] = {}
        for c in sorted(self.candidates, key=lambda c: c.entity):
            per_entity.setdefault(c.entity, []).append(c)
        matches: list[EntityMatch] = []
        below: list[EntityMatch] = []
        focus: set[int] = set()
        for index, cands in per_entity.items():
            built = self._entity_match(index, cands)
            if built is None:
                continue
            match, sentence_ids = built
            if match.salience >= self.wl.min_salience:
                matches.append(match)
                focus.update(sentence_ids)
            else:
                below.append(match)
        matches.sort(key=lambda m: -m.salience)  # stable: ties keep watchlist order
        return GateResult(
            matches=tuple(matches),
            focus=tuple(sorted(focus)),
            below_threshold=tuple(below),
            rejected=tuple(self.rejected),
        )

    def _entity_match(
        self, index: int, cands: list[_Candidate]
    ) -> tuple[EntityMatch, set[int]] | None:
        entity = self.wl.entities[index]
        exclusions = [c for c in cands if c.kind == _EXCLUSION]
        pool = [c for c in cands if c.kind == _ALIAS]
        refused: list[_Candidate] = []
        for c in cands:
            if c.kind == _NAME_ONLY:
                span = self._name_span(index, c)
                if span is None:
                    refused.append(c)
                else:  # «Запад», Запад-2021: the hit shows the marks
                    c.norm_start, c.norm_end = span
                    c.start, c.end = self.normal[c.part].original_span(*span)
                    pool.append(c)
        accepted = _longest_first(pool)
        for c in refused:
            if not any(a.part == c.part and a.start < c.end and c.start < a.end for a in accepted):
                self._reject(entity, c, "a common word here, not the name (no quotes or year)")
        accepted = self._apply_exclusions(entity, accepted, exclusions)
        if not accepted:
            return None
        weight = 0.0
        built: list[Hit] = []
        sentence_ids: set[int] = set()
        for c in sorted(accepted, key=lambda c: (c.part, c.start)):
            section, sentence, i = self.where(c)
            weight += SECTION_WEIGHTS[section]
            if i >= 0:
                sentence_ids.add(i)
            if len(built) < MAX_HITS_KEPT:
                built.append(Hit(self.parts[c.part][c.start : c.end], sentence, section))
        salience = round(1.0 - math.exp(-weight), 4)
        match = EntityMatch(entity.name, salience, tuple(built), tuple(entity.channels))
        return match, sentence_ids

    def _name_span(self, index: int, c: _Candidate) -> tuple[int, int] | None:
        """The span (in the normalised, folded text) to report if this one-word name-only hit
        reads as the name, else None: quoted («Запада», with any year inside), followed by a
        year (Запад-2021), or for Latin script capitalised and not first in its sentence."""
        folded = self.folded[c.part]
        start, end = c.norm_start, c.norm_end
        if start > 0 and folded[start - 1] == _QUOTE:
            closing = _CLOSING_AFTER_RE.match(folded, end)
            if closing:
                return start - 1, closing.end()
        year = _YEAR_AFTER_RE.match(folded, end)
        if year:
            return start, year.end()
        token = folded[start:end]
        capitalised = self.normal[c.part].text[start : start + 1].isupper()
        latin_name = (index, token) in self.wl._compiled.name_only_latin
        if latin_name and capitalised and not self._sentence_initial(c):
            return start, end
        return None

    def _sentence_initial(self, c: _Candidate) -> bool:
        if c.part == 0:
            prefix = self.title[: c.start]
        else:
            i = self.sentence_index(c.start)
            prefix = self.text[self.sentences[i].start : c.start] if i >= 0 else ""
        return not any(ch.isalnum() for ch in prefix)

    def _apply_exclusions(
        self, entity: Entity, hits: list[_Candidate], exclusions: list[_Candidate]
    ) -> list[_Candidate]:
        if not exclusions:
            return hits
        dropped: set[int] = set()
        for x in exclusions:
            overlapping = [
                i
                for i, h in enumerate(hits)
                if h.part == x.part and h.start < x.end and x.start < h.end
            ]
            if not overlapping:  # an exclusion elsewhere in the sentence: that sentence is out
                overlapping = [i for i, h in enumerate(hits) if self._same_sentence(h, x)]
            for i in overlapping:
                if i not in dropped:
                    dropped.add(i)
                    phrase = self.parts[x.part][x.start : x.end]
                    self._reject(entity, hits[i], f"inside exclusion {phrase!r}")
        return [h for i, h in enumerate(hits) if i not in dropped]

    def _same_sentence(self, a: _Candidate, b: _Candidate) -> bool:
        if a.part != b.part:
            return False
        if a.part == 0:
            return True
        return self.sentence_index(a.start) == self.sentence_index(b.start)

    def _reject(self, entity: Entity, c: _Candidate, reason: str) -> None:
        section, sentence, _ = self.where(c)
        text = self.parts[c.part][c.start : c.end]
        self.rejected.append(RejectedHit(entity.name, text, sentence, section, reason))


def _longest_first(cands: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, preferring the longer span and then a plain alias over a
    name-only one: "Александр Лукашенко" is one hit, not two."""
    ordered = sorted(cands, key=lambda c: (c.part, -(c.end - c.start), c.kind != _ALIAS, c.start))
    taken: list[_Candidate] = []
    for c in ordered:
        if all(t.part != c.part or c.end <= t.start or t.end <= c.start for t in taken):
            taken.append(c)
    return sorted(taken, key=lambda c: (c.part, c.start))


def _token_spans(folded: str, wanted: set[int]) -> dict[int, tuple[int, int]]:
    """Character spans of the wanted token indexes, scanning no further than the last one."""
    if not wanted:
        return {}
    out: dict[int, tuple[int, int]] = {}
    last = max(wanted)
    for i, m in enumerate(TOKEN_RE.finditer(folded)):
        if i in wanted:
            out[i] = m.span()
            if i == last:
                break
    return out


def _lead_end(sentences: list[Sentence]) -> int:
    """Index of the last lead sentence: the second with at least LEAD_MIN_WORDS words."""
    seen = 0
    for i, s in enumerate(sentences):
        if len(TOKEN_RE.findall(s.text)) >= LEAD_MIN_WORDS:
            seen += 1
            if seen == LEAD_SENTENCES:
                return i
    return len(sentences) - 1
