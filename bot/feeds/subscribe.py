"""Checks a URL a user wants to add before it becomes a feed: scheme and address rules, a
guarded fetch, "did you mean" for HTML pages, a parse to prove it is a feed. `feeds add` checks
one URL, an OPML import checks many at once; both get the same answers. Also fetches article
pages for full text. Every request goes through the process's one `HttpClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import UserError
from bot.feeds.client import HttpClient
from bot.feeds.discover import discover_feed_links, looks_like_html
from bot.feeds.fetch import FetchRefused, normalise_url
from bot.feeds.parse import FeedParseError, parse_feed
from bot.models import FetchResult, ParsedFeed

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
CHECK_CONCURRENCY = 16
"""URLs an OPML import checks at once (the per-host limit still applies to each host)."""


@dataclass(frozen=True)
class CheckedFeed:
    url: str  # normalised (feed: rewritten, scheme and host lower-cased): what is stored
    title: str | None
    entries: int


class FeedRefused(UserError):
    """A URL that cannot become a feed. ``str()`` is the full sentence `feeds add` replies
    with; ``reason`` says why without naming the URL, so an import can group its refusals."""

    def __init__(self, message: str, url: str, reason: str, suggestion: str | None = None):
        super().__init__(message)
        self.url = url
        self.reason = reason
        self.suggestion = suggestion  # the feed a web page links to, to add instead


class NotAFeed(FeedRefused):
    """A web page that links feeds; ``links`` are (url, title) of those feeds, so the desk can
    say how to add one."""

    def __init__(self, message: str, url: str, reason: str, links: list[tuple[str, str | None]]):
        super().__init__(message, url, reason, suggestion=links[0][0])
        self.links = links


class FeedChecker:
    def __init__(self, http: HttpClient):
        self.http = http

    def check(self, url: str) -> CheckedFeed:
        """Raise `FeedRefused` saying exactly why ``url`` can't be a feed, or what to use."""
        return self.http.run(self.check_async(url))

    def check_many(
        self, urls: Sequence[str], concurrency: int = CHECK_CONCURRENCY
    ) -> list[CheckedFeed | FeedRefused]:
        """`check` for each URL, ``concurrency`` at a time, answers in the order given."""
        return self.http.run(self._check_all(urls, concurrency))

    async def _check_all(
        self, urls: Sequence[str], concurrency: int
    ) -> list[CheckedFeed | FeedRefused]:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(url: str) -> CheckedFeed | FeedRefused:
            async with gate:
                try:
                    return await self.check_async(url)
                except FeedRefused as exc:
                    return exc

        return list(await asyncio.gather(*(one(u) for u in urls)))

    async def check_async(self, url: str) -> CheckedFeed:
        """`check` for a coroutine on the client's loop."""
        url = url.strip()
        try:
            normalised = str(normalise_url(url))
        except FetchRefused as exc:
            raise FeedRefused(f"Could not add {url}: {exc}.", url, str(exc)) from exc
        async with self.http.fetcher() as fetcher:
            result = await fetcher.fetch(normalised)
        if result.status == "error":
            raise FeedRefused(f"Could not add {url}: {result.error}.", url, str(result.error))
        body = result.body or b""
        if looks_like_html(body, result.content_type):
            raise _web_page(url, body, result.final_url or normalised)
        try:
            # Parsing is CPU work: off the loop, so other fetches keep moving meanwhile.
            parsed = await asyncio.to_thread(_parse, result)
        except FeedParseError as exc:
            raise FeedRefused(f"Could not add {url}: {exc}", url, str(exc)) from exc
        if not parsed.entries:
            raise FeedRefused(
                f"{url} is a feed but has no items right now; a dead feed often looks "
                f"like this. Check it in a browser, then add it again.",
                url,
                "a feed with no items right now (a dead feed often looks like this)",
            )
        return CheckedFeed(url=normalised, title=parsed.title or None, entries=len(parsed.entries))

    def fetch_page(self, url: str) -> bytes:
        """An article page through the same SSRF guard; `UserError` when it can't be had."""
        result = self.http.fetch(url, accept=PAGE_ACCEPT)
        if result.status != "ok" or not result.body:
            raise UserError(f"Could not fetch {url}: {result.error or 'empty response'}.")
        return result.body


def _parse(result: FetchResult) -> ParsedFeed:
    return parse_feed(
        result.body or b"", url=result.final_url or result.url, headers=result.headers
    )


def _web_page(url: str, body: bytes, final_url: str) -> FeedRefused:
    """The refusal for an HTML page: the feeds it links to, if it names any."""
    links = discover_feed_links(body, final_url)
    if not links:
        return FeedRefused(
            f"{url} is a web page, not a feed, and it names no feed. Look for an "
            f"RSS or Atom link on the site.",
            url,
            "a web page, not a feed, and it names no feed",
        )
    options = "\n".join(f"• {link}" + (f" ({title})" if title else "") for link, title in links[:5])
    return NotAFeed(
        f"{url} is a web page, not a feed. Did you mean:\n{options}",
        url,
        "a web page, not a feed, that links to a feed",
        links[:5],
    )
