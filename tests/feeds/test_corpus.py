"""Every shared corpus feed, served over loopback, fetched through GuardedFetcher and parsed.

Asserts: nothing crashes or hangs; every body arrives byte-identical; the only refusals are
the justified ones listed below; and parse_feed yields the same entries (count and guids, after
its drop rule) as plain ``feedparser.parse`` on the same bytes with the same headers.
Run with ``-s`` to see the counts and timings.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from bot.feeds.decide import identify
from bot.feeds.fetch import ENTITY_REFUSAL, GuardedFetcher
from bot.feeds.poll import record_entries
from bot.models import FeedEntry, FetchResult
from bot.settings import FetchSettings
from bot.store import db
from bot.store.repo import Store
from tests.loopback import FEEDS_DIR, CorpusFile, LoopbackServer, iter_corpus_files, serve_corpus

pytestmark = pytest.mark.shared

# Files the fetcher must refuse or fail, and why (everything else must arrive intact).
EXPECTED_REFUSED = {
    "wellformed/rss/entity_in_doctype.xml": ENTITY_REFUSAL,
    "wellformed/rdf/doctype_contains_entity_decl.xml": ENTITY_REFUSAL,
}
EXPECTED_FAILED = {
    "http/http_status_404.xml": "HTTP 404 Not Found",
    "http/http_status_302-no-location.xml": "HTTP 302 Found without a Location header",
    "http/http_redirect_to_304.xml": "HTTP 304 Not Modified to a request that sent no validators",
    "compression/gzip-struct-error.gz": "the server sent corrupt gzip data",
}
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class ParseOutcome:
    rel: str
    source: str
    entries: int  # from parse_feed, or -1 when it raised FeedParseError
    reference: int  # feedparser.parse entries that pass the same drop rule
    reference_version: str
    guids_match: bool
    error: str | None
    seconds: float
    parsed: tuple[FeedEntry, ...] = ()


def _reference(body: bytes, url: str, headers: dict[str, str]) -> tuple[int, str, list[str]]:
    """What plain feedparser makes of the bytes, with parse_feed's drop rule applied."""
    import io

    import feedparser

    location = headers.get("content-location", "")
    joined = urljoin(url, location) if location else url
    base = joined if urlsplit(joined).scheme in ("http", "https") else url
    response_headers = {"content-location": base, "content-type": headers.get("content-type")}
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers)

    def text(value: Any) -> str:
        return value.replace("\x00", "").strip() if isinstance(value, str) else ""

    kept: list[str] = []
    for item in result.entries:
        contents = [text(c.get("value")) for c in item.get("content", [])]
        title = item.get("title")
        if item.get("title_detail", {}).get("type") == "text/html":
            # parse_feed shows titles as text: a title that is only a tag (<img ...>) is empty
            title = _TAG.sub("", text(title))
        values = [item.get("id"), item.get("link"), title, item.get("summary")]
        if any(text(v) for v in values) or any(contents):
            kept.append(text(item.get("id"))[:2_000])
    return len(kept), result.get("version") or "", kept


def _parse_one(job: tuple[CorpusFile, str, dict[str, str]]) -> ParseOutcome:
    """Worker: parse one fetched file both ways (runs in a child process)."""
    from bot.feeds.parse import FeedParseError, parse_feed

    item, url, headers = job
    body = item.payload()
    assert body is not None
    started = time.process_time()  # CPU, not wall: CI neighbours must not skew feeds/s
    try:
        feed = parse_feed(body, url=url, headers=headers)
        entries, guids, error = len(feed.entries), [e.guid or "" for e in feed.entries], None
        parsed = feed.entries
    except FeedParseError as exc:
        entries, guids, error, parsed = -1, [], str(exc), ()
    seconds = time.process_time() - started
    reference, version, ref_guids = _reference(body, url, headers)
    return ParseOutcome(
        item.rel,
        item.source,
        entries,
        reference,
        version,
        guids == ref_guids or entries < 0,
        error,
        seconds,
        parsed,
    )


async def _fetch_all(
    server: LoopbackServer, files: list[CorpusFile]
) -> tuple[list[FetchResult], list[FetchResult]]:
    policy = FetchSettings(allow_private_hosts=("127.0.0.1",), per_host_limit=16)
    async with GuardedFetcher(policy) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f.url_path)) for f in files))
        again = [
            fetcher.fetch(server.url(f.url_path), etag=r.etag, last_modified=r.last_modified)
            for f, r in zip(files, results, strict=True)
            if r.status == "ok" and (r.etag or r.last_modified)
        ]
        return list(results), list(await asyncio.gather(*again))


@pytest.fixture(scope="module")
def corpus() -> list[CorpusFile]:
    if not FEEDS_DIR.exists():
        pytest.skip("../shared/ is absent (it ships only with the team's workspace and CI)")
    return list(iter_corpus_files())


def test_every_corpus_feed_is_fetched_parsed_and_stored_exactly_once(
    corpus: list[CorpusFile], tmp_path: Path
) -> None:
    started = time.perf_counter()
    by_path = {f.url_path: f for f in corpus}
    with LoopbackServer() as server:
        serve_corpus(server, corpus)
        results, revalidated = asyncio.run(_fetch_all(server, corpus))
    fetch_seconds = time.perf_counter() - started

    jobs: list[tuple[CorpusFile, str, dict[str, str]]] = []
    refused: dict[str, str] = {}
    failed: dict[str, str] = {}
    for item, result in zip(corpus, results, strict=True):
        if result.status == "ok":
            assert result.final_url is not None
            final = by_path[urlsplit(result.final_url).path]
            assert result.body == final.payload(), item.rel
            jobs.append((final, result.final_url, result.headers))
        elif (result.error or "").startswith("refused"):
            refused[item.rel] = result.error or ""
        else:
            failed[item.rel] = result.error or ""
    assert refused == EXPECTED_REFUSED
    assert {k: v[: len(EXPECTED_FAILED.get(k, ""))] for k, v in failed.items()} == EXPECTED_FAILED
    assert revalidated and all(r.status == "not_modified" for r in revalidated)

    parse_started = time.perf_counter()
    jobs.sort(key=lambda job: -job[0].path.stat().st_size)  # big files first balance better
    workers = min(4, os.cpu_count() or 2)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(_parse_one, jobs, chunksize=8, timeout=240))
    parse_wall = time.perf_counter() - parse_started

    mismatched = [o for o in outcomes if o.entries >= 0 and o.entries != o.reference]
    wrong_guids = [o.rel for o in outcomes if not o.guids_match]
    lost = [o for o in outcomes if o.entries < 0 and (o.reference or o.reference_version)]
    not_feeds = Counter((o.error or "")[:60] for o in outcomes if o.entries < 0)
    realworld = [o for o in outcomes if o.source == "realworld"]
    rw_seconds = sum(o.seconds for o in realworld)
    print(
        f"\ncorpus: {len(corpus)} files "
        f"({sum(f.source == 'feedparser' for f in corpus)} feedparser, {len(realworld)} real-world "
        f"fetched ok); {sum(max(o.entries, 0) for o in outcomes)} entries "
        f"({sum(max(o.entries, 0) for o in realworld)} real-world); "
        f"{len(refused)} refused {sorted(refused)}; {len(failed)} failed {sorted(failed)}; "
        f"{sum(o.entries < 0 for o in outcomes)} not feeds {dict(not_feeds)}; "
        f"{len(revalidated)} revalidated -> 304\n"
        f"time: fetch {fetch_seconds:.1f} s, parse+reference {parse_wall:.1f} s wall on "
        f"{workers} processes; parse_feed alone {sum(o.seconds for o in outcomes):.1f} s CPU, "
        f"real-world {len(realworld) / rw_seconds:.1f} feeds/s/core"
    )
    assert not mismatched
    assert not wrong_guids, wrong_guids
    assert not lost, [(o.rel, o.reference, o.reference_version, o.error) for o in lost]
    _store_each_entry_exactly_once(outcomes, tmp_path)


def _store_each_entry_exactly_once(outcomes: list[ParseOutcome], tmp_path: Path) -> None:
    """Parse → store: every entry a feed yields is in the feed's seen set once (entries sharing
    an identity are one entry), and storing the same feed again adds nothing."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'corpus.db'}")
    db.upgrade(engine)
    store = Store(engine)
    for n, outcome in enumerate(o for o in outcomes if o.parsed):
        feed = store.feeds.add_feed(f"https://corpus.example/{n}/{outcome.rel}", interval_s=600)
        decided = identify(outcome.parsed)
        record_entries(store.articles, feed.id, decided, primed=True, backfill=0)
        expected = len({d.identity for d in decided})
        assert store.articles.count_feed_entries(feed.id) == expected, outcome.rel
        assert record_entries(store.articles, feed.id, decided, primed=True, backfill=0) == [], (
            outcome.rel
        )
        assert store.articles.count_feed_entries(feed.id) == expected, outcome.rel
    engine.dispose()
