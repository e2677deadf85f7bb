"""Entry identity and canonical URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.identity import article_key, canonical_url, entry_identity
from bot.models import FeedEntry


def entry(**fields: object) -> FeedEntry:
    base: dict[str, object] = {
        "guid": None,
        "link": None,
        "title": "",
        "summary": "",
        "content": "",
    }
    return FeedEntry(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM:443/a/b?x=1#frag", "https://news.example.com/a/b?x=1"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/", "http://example.com:8080/"),
        (
            "https://example.com/s?utm_source=tw&b=2&utm_MEDIUM=x&a=1&fbclid=zz&gclid=q",
            "https://example.com/s?a=1&b=2",
        ),
        ("https://example.com/s?mc_cid=1&msclkid=2&_ga=3&id=9", "https://example.com/s?id=9"),
        ("https://example.com/s?b=2&a=&a=1", "https://example.com/s?a=&a=1&b=2"),
        ("https://example.com/Path/Case", "https://example.com/Path/Case"),
        ("  https://example.com./x  ", "https://example.com/x"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("not a url", "not a url"),
        ("http://[broken/x", "http://[broken/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_identity_prefers_the_guid() -> None:
    assert entry_identity(entry(guid=" g-1 ", link="https://x.org/a")) == "guid:g-1"


def test_identity_falls_back_to_the_canonical_link() -> None:
    a = entry(guid="  ", link="https://X.org/a?utm_source=rss#top")
    b = entry(link="https://x.org/a")
    assert entry_identity(a) == entry_identity(b) == "link:https://x.org/a"


def test_identity_falls_back_to_a_hash_of_title_and_content() -> None:
    first = entry_identity(entry(title="Minsk", content="Body"))
    assert first.startswith("hash:") and len(first) == len("hash:") + 64
    assert first == entry_identity(entry(title="Minsk ", content="Body", summary="other"))
    assert first != entry_identity(entry(title="Minsk", content="Body 2"))
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert entry_identity(entry(title="ab", content="c")) != entry_identity(
        entry(title="a", content="bc")
    )


def test_identity_ignores_dates() -> None:
    old = entry(title="t", content="c", published=datetime(2020, 1, 1, tzinfo=UTC))
    new = entry(title="t", content="c", published=datetime(2025, 1, 1, tzinfo=UTC))
    assert entry_identity(old) == entry_identity(new)


def test_article_key_joins_one_story_seen_through_two_feeds() -> None:
    via_rss = entry(guid="feed-a-123", link="http://www.example.org/story?utm_campaign=rss")
    via_atom = entry(guid="tag:b,2024:9", link="https://www.example.org/story#comments")
    assert article_key(via_rss) == article_key(via_atom) == "https://www.example.org/story"
    assert entry_identity(via_rss) != entry_identity(via_atom)
    assert article_key(entry(guid="x")) is None
