"""Parse speed on the shared real-world feeds: feedparser vs the fast path vs the routed parse.

    python3 bench/parse.py [--repeat N] [--libraries]

Parses every real-world corpus file from bytes, pinned to one core, in one run, and prints
feeds/s (CPU time) for: feedparser alone (`ParsePath.FEEDPARSER`, the baseline), the fast path
on the files it takes (`ParsePath.FAST`), and the routed `parse_feed` over every file (fast
path, feedparser for the rest), with the share that fell back. ``--libraries`` also times
fastfeedparser and feedparser-rs when installed (they are not dependencies: README says why).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.feeds.parse import FastPathRefused, FeedParseError, ParsePath, parse_feed  # noqa: E402

REALWORLD = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "feeds" / "realworld"
)
URL = "https://feeds.example.org/feed.xml"
HEADERS = {"Content-Type": "application/xml"}


def _bodies() -> list[bytes]:
    files = sorted(p for p in REALWORLD.rglob("*") if p.is_file() and p.name != "manifest.tsv")
    return [p.read_bytes() for p in files]


def _timed(bodies: list[bytes], parse: Callable[[bytes], object], repeat: int) -> tuple[float, int]:
    """(CPU seconds per pass, documents that raised) over ``repeat`` passes."""
    raised = 0
    started = time.process_time()
    for _ in range(repeat):
        raised = 0
        for body in bodies:
            try:
                parse(body)
            except (FeedParseError, FastPathRefused, ValueError):
                raised += 1
    return (time.process_time() - started) / repeat, raised


def _ours(path: ParsePath) -> Callable[[bytes], object]:
    return lambda body: parse_feed(body, url=URL, headers=HEADERS, path=path)


def _libraries() -> dict[str, Callable[[bytes], object]]:
    found: dict[str, Callable[[bytes], object]] = {}
    try:
        import fastfeedparser

        found["fastfeedparser (library, as is)"] = fastfeedparser.parse
    except ImportError:
        pass
    try:
        import feedparser_rs

        found["feedparser-rs (library, as is)"] = lambda body: feedparser_rs.parse(
            body, sanitize_html=False, resolve_relative_uris=False
        )
    except ImportError:
        pass
    import feedparser

    found["feedparser (library, as configured here)"] = lambda body: feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="passes over the corpus")
    parser.add_argument("--libraries", action="store_true", help="also time other parsers")
    args = parser.parse_args()
    if not REALWORLD.is_dir():
        sys.exit(f"no corpus at {REALWORLD}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    warnings.simplefilter("ignore")
    bodies = _bodies()
    taken = []
    for body in bodies:
        try:
            parse_feed(body, url=URL, headers=HEADERS, path=ParsePath.FAST)
            taken.append(body)
        except (FastPathRefused, FeedParseError):
            pass
    size = sum(map(len, bodies)) / 1e6
    print(f"{len(bodies)} real-world feeds, {size:.1f} MB, one core, CPU time")
    base_s, _ = _timed(bodies, _ours(ParsePath.FEEDPARSER), args.repeat)
    base_taken_s, _ = _timed(taken, _ours(ParsePath.FEEDPARSER), args.repeat)
    fast_s, _ = _timed(taken, _ours(ParsePath.FAST), args.repeat)
    routed_s, _ = _timed(bodies, _ours(ParsePath.ROUTED), args.repeat)
    fell_back = len(bodies) - len(taken)
    rows = [
        ("feedparser only (baseline), all files", len(bodies), base_s, base_s),
        ("feedparser only, files the fast path takes", len(taken), base_taken_s, base_taken_s),
        ("fast path, files it takes", len(taken), fast_s, base_taken_s),
        ("routed parse_feed (fast + fallback), all", len(bodies), routed_s, base_s),
    ]
    for label, count, seconds, baseline in rows:
        print(
            f"  {label:<46} {count / seconds:8.0f} feeds/s  {seconds:6.2f} s  "
            f"({baseline / seconds:4.1f}x feedparser on the same files)"
        )
    print(
        f"  fell back to feedparser: {fell_back} of {len(bodies)} ({fell_back / len(bodies):.0%})"
    )
    if args.libraries:
        for label, parse in _libraries().items():
            seconds, raised = _timed(bodies, parse, args.repeat)
            print(f"  {label:<46} {len(bodies) / seconds:8.0f} feeds/s  {raised} raised")


if __name__ == "__main__":
    main()
