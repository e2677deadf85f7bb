"""Owns the summariser's quality figure: ROUGE-1/2/Lsum of `bot.analysis.summary.summarise`
against reference summaries, side by side with LEAD-3 under the same splitter and scorer.

Usage: python3 bench/eval_summaries.py ../shared/data/summaries/cnndm_dev.jsonl [--sentences N]

Input is JSON lines with at least ``article`` and ``reference`` (or ``reference_sentences``),
optionally ``title`` and ``lang``. Articles are split by our own splitter, as in production.
The last line printed is exactly ``ROUGE-1 xx.x`` (the system's mean ROUGE-1 F1 x 100).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import rouge_scorer, tokenizers

from bot.analysis.summary import summarise
from bot.analysis.text import split_sentences

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


class BadEvalFileError(Exception):
    """The evaluation file is missing or not JSON lines with an article and a reference."""


class CyrillicTokenizer(tokenizers.Tokenizer):
    """rouge-score's default tokenizer keeps only [a-z0-9]; this one keeps every letter and
    stems Russian with NLTK's Snowball stemmer (NLTK comes with rouge-score). Belarusian has
    no Snowball stemmer, so its words are compared unstemmed."""

    def __init__(self, lang: str) -> None:
        self._stem: Callable[[str], str] | None = None
        if lang == "ru":
            from nltk.stem.snowball import SnowballStemmer

            self._stem = SnowballStemmer("russian").stem

    def tokenize(self, text: str) -> list[str]:
        words = _WORD_RE.findall(text.lower().replace("ё", "е"))
        if self._stem is None:
            return words
        return [self._stem(w) if len(w) > 3 else w for w in words]


@dataclass
class Row:
    article: str
    reference: tuple[str, ...]
    title: str | None
    lang: str


def load_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise BadEvalFileError(f"{path} is not a file: pass a .jsonl file of articles")
    rows: list[Row] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                ref = obj.get("reference_sentences") or [obj["reference"]]
                rows.append(
                    Row(obj["article"], tuple(ref), obj.get("title"), obj.get("lang") or "en")
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise BadEvalFileError(
                    f"{path}:{lineno}: expected a JSON object with 'article' and 'reference' "
                    f"({exc})"
                ) from exc
    if not rows:
        raise BadEvalFileError(f"{path} holds no articles")
    return rows


def _scorer_for(lang: str, cache: dict[str, rouge_scorer.RougeScorer]) -> rouge_scorer.RougeScorer:
    if lang not in cache:
        tok = None if lang == "en" else CyrillicTokenizer(lang)
        cache[lang] = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True, tokenizer=tok)
    return cache[lang]


def score(
    rows: Sequence[Row], summaries: Iterable[Sequence[str]]
) -> dict[str, tuple[float, float, float]]:
    """Mean (precision, recall, F1) x 100 per ROUGE type."""
    cache: dict[str, rouge_scorer.RougeScorer] = {}
    sums = {t: [0.0, 0.0, 0.0] for t in ROUGE_TYPES}
    for row, summary in zip(rows, summaries, strict=True):
        result = _scorer_for(row.lang, cache).score("\n".join(row.reference), "\n".join(summary))
        for t in ROUGE_TYPES:
            s = result[t]
            sums[t][0] += s.precision
            sums[t][1] += s.recall
            sums[t][2] += s.fmeasure
    return {t: tuple(100 * v / len(rows) for v in vals) for t, vals in sums.items()}  # type: ignore[misc]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, help="JSON lines: article, reference, title, lang")
    ap.add_argument("--sentences", type=int, default=3, help="sentences per summary (n)")
    ap.add_argument("--max-chars", type=int, default=700, help="character budget per summary")
    args = ap.parse_args(argv)
    if args.sentences < 1:
        ap.error("--sentences must be at least 1")
    try:
        rows = load_rows(args.file)
    except BadEvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    split = [split_sentences(r.article) for r in rows]
    t1 = time.perf_counter()
    system = [
        summarise(s, title=r.title, n=args.sentences, max_chars=args.max_chars)
        for r, s in zip(rows, split, strict=True)
    ]
    t2 = time.perf_counter()
    lead = [tuple(x.text for x in s[: args.sentences]) for s in split]

    print(f"{args.file.name}: {len(rows)} articles, n={args.sentences}, max_chars={args.max_chars}")
    print(
        f"split {len(rows) / (t1 - t0):,.0f} articles/s, summarise {len(rows) / (t2 - t1):,.0f}/s"
    )
    results = {"system": score(rows, system), f"LEAD-{args.sentences}": score(rows, lead)}
    print(f"{'':10} {'R1 P/R/F':>20} {'R2 P/R/F':>20} {'RLsum P/R/F':>20}  avg chars")
    for name, summaries in (("system", system), (f"LEAD-{args.sentences}", lead)):
        res = results[name]
        chars = sum(len(" ".join(s)) for s in summaries) / len(rows)
        cells = " ".join(f"{res[t][0]:6.1f}/{res[t][1]:4.1f}/{res[t][2]:4.1f}" for t in ROUGE_TYPES)
        print(f"{name:10} {cells}  {chars:8.0f}")
    print(f"ROUGE-1 {results['system']['rouge1'][2]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
