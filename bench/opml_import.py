"""Benchmark of checking an OPML import's outlines: `FeedChecker.check_many` (what `feeds import`
runs) next to the same checks one after another (what one `feeds add` per outline costs), over
real HTTP on loopback, with a server that takes ``--delay`` seconds per answer like a distant
publisher.

Run from the repository root: ``python3 bench/opml_import.py [--feeds 200] [--delay 0.05]``.
Every feed lives on 127.0.0.1, where a real export spreads over many hosts, so the per-host
limit is lifted to the batch's concurrency (as bench/poll.py does); with the default limit of 2
the batch is at most twice as fast on one host. Target: the batch checks >= 5x as many
outlines per second as the serial loop, with identical answers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.feeds.client import HttpClient  # noqa: E402
from bot.feeds.subscribe import CHECK_CONCURRENCY, FeedChecker, FeedRefused  # noqa: E402
from bot.settings import FetchSettings  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk {i}</title>'
    "<item><title>Story</title><link>https://example.com/{i}/1</link></item></channel></rss>"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="server seconds per answer")
    args = parser.parse_args()
    settings = FetchSettings(
        timeout_s=30, allow_private_hosts=("127.0.0.1",), per_host_limit=CHECK_CONCURRENCY
    )
    with LoopbackServer() as site, HttpClient(settings) as http:
        urls = [
            site.add(f"/feed/{i}.xml", RSS.format(i=i).encode(), delay_s=args.delay)
            for i in range(args.feeds)
        ]
        checker = FeedChecker(http)
        checker.check(urls[0])  # warm the pool and the parser
        started = time.perf_counter()
        serial = []
        for url in urls:
            try:
                serial.append(checker.check(url))
            except FeedRefused as exc:
                serial.append(exc)
        serial_s = time.perf_counter() - started
        started = time.perf_counter()
        batch = checker.check_many(urls)
        batch_s = time.perf_counter() - started
    same = [getattr(r, "url", None) for r in serial] == [getattr(r, "url", None) for r in batch]
    refused = sum(isinstance(r, FeedRefused) for r in batch)
    print(
        f"OPML import check: {args.feeds} outlines on loopback, server delay {args.delay:g} s, "
        f"batch concurrency {CHECK_CONCURRENCY}"
    )
    print(f"  baseline, one check after another: {serial_s:7.2f} s  {args.feeds / serial_s:8.1f}/s")
    print(f"  check_many (feeds import):         {batch_s:7.2f} s  {args.feeds / batch_s:8.1f}/s")
    print(
        f"  speed-up {serial_s / batch_s:.1f}x (target >= 5x); same answers: {same}; "
        f"refused: {refused}"
    )


if __name__ == "__main__":
    main()
