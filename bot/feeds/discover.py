"""Feed discovery: recognising an HTML page and finding the feeds it advertises.

When a user adds a web page instead of a feed, the caller (after ``parse_feed`` refused the
body, or when ``looks_like_html`` says so up front) lists ``discover_feed_links`` and asks
"did you mean ...?". Nothing here fetches anything.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# Advertised feed types; "application/json" is left out on purpose: WordPress uses it with
# rel="alternate" for its REST API, not for feeds.
FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
# Feed links live in <head>; reading further only costs time on huge pages.
_MAX_SCAN_CHARS = 1_000_000
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "rdf", "channel", "opml"})
_HTML_ROOTS = frozenset({"html", "head", "body", "meta", "title", "link", "script", "style", "div"})
_ROOT_TAG = re.compile(r"<([A-Za-z][\w:.-]*)")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _skip_prolog(text: str) -> str:
    """Drop leading whitespace, XML declaration, comments and PIs (not the DOCTYPE)."""
    while True:
        text = text.lstrip(" \t\r\n\ufeff")
        if text.startswith("<?"):
            closer = "?>"
        elif text.startswith("<!--"):
            closer = "-->"
        else:
            return text
        end = text.find(closer)
        if end < 0:
            return ""
        text = text[end + len(closer) :]


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True when ``body`` is a web page rather than a feed.

    The markup decides first (servers label feeds text/html often enough); the
    Content-Type only breaks a tie when the first element is neither.
    """
    head = body[:4096]
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        head = head.removeprefix(bom)
    text = _skip_prolog(head.replace(b"\x00", b"").decode("latin-1"))
    html_doctype = text[:14].lower() == "<!doctype html"
    if text[:9].lower() == "<!doctype":
        end = text.find(">")
        text = _skip_prolog(text[end + 1 :]) if end >= 0 else ""
    if text.startswith(("{", "[")):
        return False
    root = _ROOT_TAG.match(text)
    name = root.group(1).lower() if root is not None else ""
    if name in _FEED_ROOTS:
        return False  # real feeds do carry <!DOCTYPE html> sometimes
    if name in _HTML_ROOTS or html_doctype:
        return True
    main_type = (content_type or "").split(";", 1)[0].strip().lower()
    return main_type in _HTML_TYPES


class _FeedLinks(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self._base_seen = False
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and not self._base_seen and values.get("href", "").strip():
            self.base = urljoin(self.base, values["href"].strip())
            self._base_seen = True
        if tag != "link":
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";", 1)[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rels and kind in FEED_LINK_TYPES and href:
            title = " ".join(values.get("title", "").split()) or None
            self.found.append((urljoin(self.base, href), title))

    handle_startendtag = handle_starttag


def _decode(html: bytes) -> str:
    match = _META_CHARSET.search(html[:4096])
    if match is not None:
        try:
            return html.decode(codecs.lookup(match.group(1).decode("ascii")).name, "replace")
        except LookupError:
            pass
    return html.decode("utf-8", "replace")


def discover_feed_links(html: bytes | str, base_url: str) -> list[tuple[str, str | None]]:
    """Feeds a page advertises with <link rel="alternate">, as (absolute URL, title) pairs.

    Relative hrefs resolve against <base href> or ``base_url``; only http(s) results are kept,
    each once, in document order (sites list their main feed first).
    """
    text = html if isinstance(html, str) else _decode(html)
    parser = _FeedLinks(base_url)
    parser.feed(text[:_MAX_SCAN_CHARS])
    parser.close()
    seen: set[str] = set()
    links: list[tuple[str, str | None]] = []
    for url, title in parser.found:
        if urlsplit(url).scheme.lower() in ("http", "https") and url not in seen:
            seen.add(url)
            links.append((url, title))
    return links
