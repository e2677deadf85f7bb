"""The fast path and feedparser agree on every file of the shared corpus.

For each file (feedparser's test corpus and the real-world feeds, with the headers the
harness serves them with), `parse_feed` is run twice: forced through the fast path and forced
through feedparser. Where the fast path takes the document, both must give the same feed
title and link and, entry by entry, the same identity (`entry_identity`), article key
(`article_key`), guid, title, link, date, summary, content and author; where one refuses the
document as "not a feed", the other must too, with the same message. Files the fast path
hands on are feedparser's by construction.

Intended differences: none in what is compared. Two kinds of documents differ in *which*
path reads them, not in the result: the fast path refuses, before parsing, well-formed UTF-8
documents nested deeper than 256 elements (`ParseBoundExceeded`, where feedparser would spend
minutes), and it hands on everything else it is not sure about (README, "Parsing").
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import pytest

from bot.feeds.identity import article_key, entry_identity
from bot.feeds.parse import FastPathRefused, FeedParseError, ParsePath, parse_feed
from bot.models import ParsedFeed
from tests.loopback import FEEDS_DIR, iter_corpus_files

pytestmark = pytest.mark.shared

BASE = "http://127.0.0.1:8097"


def _view(result: ParsedFeed | FeedParseError) -> Any:
    if isinstance(result, FeedParseError):
        return ("refused", str(result))
    return (
        result.title,
        result.link,
        [
            (
                entry_identity(e),
                article_key(e),
                e.guid,
                e.title,
                e.link,
                e.published,
                e.summary,
                e.content,
                e.author,
            )
            for e in result.entries
        ],
    )


def _parse(body: bytes, url: str, headers: dict[str, str], path: ParsePath) -> Any:
    try:
        return _view(parse_feed(body, url=url, headers=headers, path=path))
    except FeedParseError as exc:
        return _view(exc)


def test_both_paths_agree_on_every_corpus_file() -> None:
    if not FEEDS_DIR.is_dir():
        pytest.skip(f"shared feed corpus not found at {FEEDS_DIR}")
    warnings.simplefilter("ignore")
    taken: Counter[str] = Counter()
    handed_on: Counter[str] = Counter()
    differences = []
    for item in iter_corpus_files():
        body = item.payload()
        if body is None:
            continue
        headers = dict(item.headers)
        url = BASE + item.url_path
        try:
            fast = _parse(body, url, headers, ParsePath.FAST)
        except FastPathRefused:
            handed_on[item.source] += 1
            continue
        taken[item.source] += 1
        reference = _parse(body, url, headers, ParsePath.FEEDPARSER)
        if fast != reference:
            differences.append(f"{item.source}/{item.rel}")
    print(f"fast path took {dict(taken)}, handed on {dict(handed_on)}")
    assert differences == []
    # The fast path must carry real weight, or this test proves nothing.
    assert taken["realworld"] >= 250
    assert taken["feedparser"] >= 500
