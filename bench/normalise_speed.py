"""Benchmark of the matching normaliser (`bot.analysis.text.normalise_for_matching`): what it
adds to the gate per article, next to `fold_text` (the per-article step the gate already had)
and to the whole gate (`Watchlist.match` with the desk's default list), measured in the same
run on real article text, one core.

Four corpora: the articles as published (most need no normalising: the fast path), the same
articles in Cyrillic with Latin acronyms (as Russian news mixes scripts), the same articles
after a hostile feed's edit (a zero-width space, a soft hyphen and a Cyrillic look-alike
in every tenth word: the slow path), and the articles in fullwidth letters. Targets: the normaliser
costs under 10% of `match()` on the English articles and under 15% on the Cyrillic ones; the
hostile corpora only show that the slow paths stay linear.

Run from the repository root: ``python3 bench/normalise_speed.py [--seconds 2]``. Reads
``../shared/data/summaries/*.jsonl`` and exits with a message when ``../shared/`` is absent.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis.nlp import clean_text, fold_text  # noqa: E402
from bot.analysis.text import normalise_for_matching  # noqa: E402
from bot.analysis.watchlist import Watchlist, default_entities  # noqa: E402

SHARED = REPO / ".." / "shared"


def load_articles() -> list[tuple[str, str]]:
    files = sorted((SHARED / "data" / "summaries").glob("*.jsonl"))
    if not files:
        print(f"skipped: ../shared/ is absent ({SHARED.resolve()} has no data/summaries/*.jsonl)")
        raise SystemExit(0)
    articles: list[tuple[str, str]] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            articles.append((clean_text(row.get("title") or ""), clean_text(row["article"])))
    return articles


def hostile(text: str) -> str:
    """Every tenth word gets a zero-width space, a soft hyphen and a Cyrillic "о" for "o"."""
    words = text.split(" ")
    for i in range(0, len(words), 10):
        word = words[i]
        if len(word) > 3:
            words[i] = word[:1] + "\u200b" + word[1:2] + "\u00ad" + word[2:].replace("o", "\u043e")
    return " ".join(words)


_TO_CYRILLIC = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "абцдефгхийклмнопкрстуввхызАБЦДЕФГХИЙКЛМНОПКРСТУВВХЫЗ",
)


def cyrillic(text: str) -> str:
    """The article letter for letter in Cyrillic, acronyms (NATO, U.S.) left in Latin: the
    mix of scripts of Russian news, so the mixed-word check runs on every article."""
    return " ".join(w if w.isupper() else w.translate(_TO_CYRILLIC) for w in text.split(" "))


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def rate(
    fn: Callable[[str, str], object], articles: list[tuple[str, str]], seconds: float
) -> float:
    """Articles per CPU second."""
    start = time.process_time()
    for done, (title, text) in enumerate(itertools.cycle(articles), 1):
        fn(title, text)
        elapsed = time.process_time() - start
        if elapsed >= seconds and done >= 5:
            return done / elapsed
    raise AssertionError("unreachable")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)
    plain = load_articles()
    corpora = {
        "as published": plain,
        "Cyrillic": [(cyrillic(t), cyrillic(b)) for t, b in plain],
        "hostile edits": [(hostile(t), hostile(b)) for t, b in plain],
        "fullwidth": [(fullwidth(t), fullwidth(b)) for t, b in plain],
    }
    watchlist = Watchlist(default_entities())
    print(f"{len(plain)} articles; one core; articles per CPU second")
    print(
        f"{'corpus':>14} {'fold_text':>10} {'normalise':>10} {'match()':>9} "
        f"{'normalise/match':>16} {'matched':>8}"
    )
    for name, articles in corpora.items():
        fold = rate(lambda t, b: (fold_text(t), fold_text(b)), articles, args.seconds)
        norm = rate(
            lambda t, b: (normalise_for_matching(t), normalise_for_matching(b)),
            articles,
            args.seconds,
        )
        gate = rate(watchlist.match, articles, args.seconds)
        matched = sum(1 for t, b in articles if watchlist.match(t, b)) / len(articles)
        print(
            f"{name:>14} {fold:>10,.0f} {norm:>10,.0f} {gate:>9,.0f} "
            f"{gate / norm:>15.1%} {matched:>8.0%}"
        )
    print(
        "normalise/match: the share of match() time the normaliser takes "
        "(targets: < 10% as published, < 15% Cyrillic)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
