"""Finding advertised feeds on HTML pages, and telling pages from feeds."""

from __future__ import annotations

import pytest

from bot.feeds.discover import discover_feed_links, looks_like_html
from tests.loopback import FEEDS_DIR

PAGE = b"""<!DOCTYPE html><html><head><meta charset="windows-1251">
<title>News</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="\xcd\xee\xe2\xee\xf1\xf2\xe8" href="/feed/">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
<link rel="alternate" type="application/feed+json" title="  JSON   feed " href="https://cdn.example.net/feed.json">
<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/1">
<link rel="alternate" hreflang="ru" href="https://example.org/ru/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="/feed/">
</head><body><p>text</p></body></html>"""


def test_discovers_feed_links_in_document_order() -> None:
    assert discover_feed_links(PAGE, "https://example.org/news/index.html") == [
        ("https://example.org/feed/", "Новости"),
        ("https://example.org/news/atom.xml", None),
        ("https://cdn.example.net/feed.json", "JSON feed"),
    ]


def test_base_href_changes_where_relative_links_point() -> None:
    html = '<html><head><base href="https://static.example.org/x/"><link rel="alternate" type="application/rss+xml" href="rss.xml"/></head></html>'
    assert discover_feed_links(html, "https://example.org/") == [
        ("https://static.example.org/x/rss.xml", None)
    ]


def test_a_page_without_feed_links() -> None:
    assert (
        discover_feed_links(b"<html><head><title>x</title></head></html>", "https://e.org/") == []
    )


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html><body>x</body></html>", None, True),
        (b"\xef\xbb\xbf  <html lang='en'><head></head></html>", "text/plain", True),
        (b"<?xml version='1.0'?><!-- hi --><rss version='2.0'></rss>", "text/html", False),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>", "text/html; charset=utf-8", False),
        (b"<?xml version='1.0'?><!DOCTYPE rss SYSTEM 'x.dtd'><rss/>", None, False),
        (b'{"version": "https://jsonfeed.org/version/1"}', "text/html", False),
        (b"<p>fragment</p>", "text/html", True),
        (b"<p>fragment</p>", "application/xml", False),
        ("<html>".encode("utf-16"), None, True),
        (b"<!DOCTYPE html><feed xmlns='http://www.w3.org/2005/Atom'></feed>", None, False),
    ],
)
def test_looks_like_html(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_html(body, content_type) is expected


def test_real_world_feeds_do_not_look_like_html() -> None:
    root = FEEDS_DIR / "realworld"
    if not root.exists():
        pytest.skip("../shared/ is absent (it ships only with the team's workspace and CI)")
    html_like = [
        p.relative_to(root).as_posix()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.tsv" and looks_like_html(p.read_bytes(), None)
    ]
    # Two non-feeds (an HTML fragment, a "Document Moved" page) and an XHTML page wrapping an
    # Atom feed; a feed that opens with <!DOCTYPE html> (ad1318939eb69cf1.xml) is not among them.
    assert html_like == [
        "feedjira__feedjira/AmazonWebServicesBlogFirstEntryContent.xml",
        "feedjira__feedjira/DuplicateContentAtomFeed.xml",
        "rbren__rss-parser/unrecognized.rss",
    ]
