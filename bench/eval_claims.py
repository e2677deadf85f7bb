"""Owns the claims model's quality figure: precision, recall and F1 of the check-worthy class
for `bot.analysis.claims.ClaimScorer` on a CheckThat! TSV, and its scoring speed.

Usage: python3 bench/eval_claims.py ../shared/data/claims/ct24_devtest.tsv [--rules]
       [--threshold 0.5] [--model-dir DIR] [--spacy-model NAME]

``--rules`` scores with the rule-only model (what runs when no spaCy model is installed). The
threshold defaults to the one the model was trained for (``metadata.json``). The last line
printed is exactly ``F1 0.xxx``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from bot.analysis.claims import ClaimModelError, ClaimScorer, ClaimWeights
from bot.analysis.train_claims import ClaimDataError, prf, read_checkthat


def _scorer(model_dir: Path | None, spacy_model: str | None, rules: bool) -> ClaimScorer:
    if rules:
        from bot.analysis.claims import MODEL_DIR

        return ClaimScorer(ClaimWeights.load(model_dir or MODEL_DIR), nlp=None)
    return ClaimScorer.load(model_dir, model_name=spacy_model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="CheckThat! TSV: Sentence_id, Text, class_label")
    parser.add_argument("--rules", action="store_true", help="use the rule-only model")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--spacy-model", default=None)
    args = parser.parse_args(argv)
    try:
        data = read_checkthat(args.file)
        scorer = _scorer(args.model_dir, args.spacy_model, args.rules)
    except (ClaimDataError, ClaimModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hyper = scorer.weights.metadata.get("hyperparameters", {})
    threshold = args.threshold if args.threshold is not None else float(hyper.get("threshold", 0.5))
    scorer.score(list(data.texts[:8]))  # load lazily-built spaCy state outside the timing
    started = time.perf_counter()
    scores = np.asarray(scorer.score(list(data.texts)))
    elapsed = time.perf_counter() - started
    predicted = (scores >= threshold).astype(int)
    precision, recall, f1 = prf(data.labels, predicted)
    print(f"file       {args.file}")
    print(f"model      {scorer.mode} ({len(data.texts)} sentences, {int(data.labels.sum())} Yes)")
    print(f"threshold  {threshold:.2f}")
    print(f"speed      {len(data.texts) / elapsed:,.0f} sentences/s")
    print(f"precision  {precision:.3f}")
    print(f"recall     {recall:.3f}")
    print(f"F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
