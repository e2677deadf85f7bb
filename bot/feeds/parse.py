"""Feed parsing: THE parse entry (`parse_feed`); checked bytes in, capped ParsedFeed out.

Two backends turn bytes into a ``RawFeed``: the fast path (`bot.feeds.fastparse`, an lxml
mapping) takes the clean, common RSS/Atom documents, and feedparser takes everything the fast
path is not sure of (malformed XML, other encodings, DOCTYPEs, xhtml content, unknown field
elements...). feedparser is imported only here and in the fast path, which borrows its
helpers to stay equal to it. Both are fed the same checked bytes, and what
they return goes through the same normalisation below: cut to the caps, stripped of NULs and
lone surrogates, html titles made text with `bot.analysis.text.strip_html`, UTC time tuples
made aware datetimes. `tests/feeds/test_parse_equivalence.py` holds the two paths to the same
entries, identities, titles, links, dates, summaries, contents and authors on every file of the
shared corpus.

feedparser is handed nothing but an ``io.BytesIO`` (given a str or bytes that looks like a path
it would read a local file, and given a URL it would fetch it unguarded).

Parse time and memory are bounded where the parse runs in a worker process
(`bot.feeds.parse_pool`). Here, documents that declare entities are refused before any parser
sees them, and so are well-formed UTF-8 documents nested deeper than libxml2's limit of 256
(feedparser's loose parser took 87 s over a few MB of nested tags).
"""

from __future__ import annotations

import enum
import io
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.analysis.text import strip_html
from bot.errors import RemoteError
from bot.feeds.discover import looks_like_html
from bot.feeds.fastparse import TooDeep, fast_raw
from bot.feeds.fetch import entity_refusal
from bot.feeds.parse_types import RawEntry, RawFeed
from bot.models import FeedEntry, ParsedFeed

MAX_TITLE_CHARS = 500
MAX_URL_CHARS = 2_000
MAX_TEXT_CHARS = 100_000  # summary and content
MAX_AUTHOR_CHARS = 300
MAX_REASON_CHARS = 500

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class FeedParseError(RemoteError):
    """The feed's server sent something we can't read as a feed; the message says what.

    A refusal of remote content, so a `RemoteError`, never permanent: the same URL may serve a
    feed on the next poll (a server briefly sending an error page is common), and the poller's
    failure count and backoff decide when to give up on it. A bug inside parsing code is not
    one of these: it propagates as whatever it is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class ParseBoundExceeded(FeedParseError):
    """The document went over a parse bound (size, nesting depth, time or memory)."""


class ParsePath(enum.Enum):
    """Which backend reads a document: both routed (the default), or one forced (for the
    equivalence test and the bench)."""

    ROUTED = "routed"
    FAST = "fast"
    FEEDPARSER = "feedparser"


class FastPathRefused(Exception):
    """Raised only for ``ParsePath.FAST``: the fast path would hand this document on."""


# --------------------------------------------------------------------------- feedparser backend


def _base_url(url: str, headers: Mapping[str, str]) -> str:
    """Where relative links resolve: Content-Location if it is a usable http(s) URL, else url."""
    location = headers.get("content-location", "").strip()
    if location:
        joined = urljoin(url, location)
        if urlsplit(joined).scheme.lower() in ("http", "https"):
            return joined
    return url


def _is_html(detail: Any) -> bool:
    return isinstance(detail, Mapping) and detail.get("type") in _HTML_TYPES


def _feedparser_backend(body: bytes, url: str, headers: Mapping[str, str]) -> RawFeed:
    response_headers = {
        "content-location": _base_url(url, headers),
        # Without a Content-Type feedparser flags every document bozo; application/xml means
        # "trust the BOM and XML declaration", which is what it does anyway.
        "content-type": headers.get("content-type") or "application/xml",
    }
    if "content-language" in headers:
        response_headers["content-language"] = headers["content-language"]
    # No HTML sanitising or URI rewriting inside entry content: 2.5x faster, and nothing here
    # renders feed HTML: analysis reduces it to text and every chat adapter escapes that text.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    feed = result.get("feed", {})
    entries = [
        RawEntry(
            guid=item.get("id"),
            link=item.get("link"),
            title=item.get("title"),
            title_is_html=_is_html(item.get("title_detail")),
            summary=item.get("summary"),
            contents=[c.get("value") for c in item.get("content", ()) if isinstance(c, Mapping)],
            # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed
            # with a DeprecationWarning.
            published=dict.get(item, "published_parsed") or dict.get(item, "updated_parsed"),
            author=item.get("author"),
        )
        for item in result.get("entries", ())
    ]
    exc = result.get("bozo_exception")
    return RawFeed(
        version=result.get("version") or "",
        title=feed.get("title"),
        title_is_html=_is_html(feed.get("title_detail")),
        link=feed.get("link"),
        entries=entries,
        bozo=bool(result.get("bozo")),
        bozo_reason=f"{type(exc).__name__}: {exc}" if exc is not None else None,
    )


# --------------------------------------------------------------------------- normalisation


def _clean(value: Any, cap: int) -> str:
    """A str with no NULs or lone surrogates, at most ``cap`` characters."""
    if not isinstance(value, str):
        return ""
    text = value.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:cap]


def _line(value: Any, cap: int, *, html: bool = False) -> str:
    """A one-line field (title, author): markup removed if typed html, whitespace collapsed."""
    text = _clean(value, cap * 4)
    if html:
        text = strip_html(text)
    return " ".join(text.split())[:cap]


def _http_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL (javascript:, mailto: and relatives go)."""
    text = _clean(value, MAX_URL_CHARS).strip()
    return text if urlsplit(text).scheme.lower() in ("http", "https") and text else None


def _timestamp(value: time.struct_time | None) -> datetime | None:
    """feedparser's UTC time tuple as an aware datetime (leap seconds clamped)."""
    if value is None:
        return None
    try:
        return datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry(raw: RawEntry) -> FeedEntry | None:
    """A capped FeedEntry, or None when nothing could identify or describe it."""
    guid = _clean(raw.guid, MAX_URL_CHARS).strip() or None
    link = _http_url(raw.link)
    title = _line(raw.title, MAX_TITLE_CHARS, html=raw.title_is_html)
    summary = _clean(raw.summary, MAX_TEXT_CHARS)
    contents = [c for c in raw.contents if isinstance(c, str)]
    content = _clean(max(contents, key=len), MAX_TEXT_CHARS) if contents else ""
    content = content if content.strip() else summary
    if not (guid or link or title or content.strip()):
        return None
    return FeedEntry(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        content=content,
        published=_timestamp(raw.published),
        author=_line(raw.author, MAX_AUTHOR_CHARS) or None,
    )


def _not_a_feed(body: bytes, headers: Mapping[str, str], raw: RawFeed) -> str:
    content_type = headers.get("content-type")
    if not body.strip():
        return "the response is empty, not a feed"
    if looks_like_html(body, content_type):
        return "this is a web page (HTML), not a feed; add the page's RSS or Atom feed URL instead"
    if body.lstrip()[:1] == b"{" and b"jsonfeed.org" in body[:4096]:
        return "this is a JSON Feed, which is not supported; add the site's RSS or Atom feed"
    reason = f" ({raw.bozo_reason[:MAX_REASON_CHARS]})" if raw.bozo_reason else ""
    return f"this is not an RSS, Atom or RDF feed{reason}; check the URL points at the feed"


def _fast_backend(body: bytes, url: str, headers: Mapping[str, str]) -> RawFeed:
    raw = fast_raw(body, _base_url(url, headers), headers)
    if raw is None:
        raise FastPathRefused("the fast path hands this document to feedparser")
    return raw


def _routed_backend(body: bytes, url: str, headers: Mapping[str, str]) -> RawFeed:
    """The fast path when it takes the document, feedparser otherwise."""
    raw = fast_raw(body, _base_url(url, headers), headers)
    return raw if raw is not None else _feedparser_backend(body, url, headers)


_BACKENDS: dict[ParsePath, Callable[[bytes, str, Mapping[str, str]], RawFeed]] = {
    ParsePath.ROUTED: _routed_backend,
    ParsePath.FAST: _fast_backend,
    ParsePath.FEEDPARSER: _feedparser_backend,
}


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    path: ParsePath = ParsePath.ROUTED,
) -> ParsedFeed:
    """Parse checked feed bytes fetched from ``url``.

    ``headers`` are the response headers (any case); Content-Type picks the encoding and
    Content-Location the base for relative links. Raises FeedParseError when the document is
    not a feed at all; a malformed (bozo) feed that still yields entries is returned with
    ``bozo`` set. Entries with no guid, link, title or content are dropped. ``path`` forces one
    backend (``FAST`` raises FastPathRefused for a document it would hand on).
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if (refusal := entity_refusal(body, lowered.get("content-type"))) is not None:
        raise FeedParseError(refusal)
    try:
        raw = _BACKENDS[path](body, url, lowered)
    except TooDeep as exc:
        raise ParseBoundExceeded(
            f"refused: the document nests elements deeper than any feed does ({exc}); "
            "it is not a feed we can read"
        ) from None
    if not raw.version and not raw.entries:
        raise FeedParseError(_not_a_feed(body, lowered, raw))
    entries = tuple(e for e in map(_entry, raw.entries) if e is not None)
    return ParsedFeed(
        title=_line(raw.title, MAX_TITLE_CHARS, html=raw.title_is_html),
        link=_http_url(raw.link),
        entries=entries,
        bozo=raw.bozo,
        bozo_reason=_clean(raw.bozo_reason, MAX_REASON_CHARS) or None,
    )
