"""Checks a URL a user wants to add before it becomes a feed: guarded fetch, "did you mean"
for HTML pages, a parse to prove it is a feed. Also fetches article pages for full text."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserError
from bot.feeds.discover import discover_feed_links, looks_like_html
from bot.feeds.fetch import FetchPolicy, fetch_sync
from bot.feeds.parse import FeedParseError, parse_feed

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class CheckedFeed:
    url: str
    title: str | None
    entries: int


class NotAFeed(UserError):
    """The URL is a web page that links feeds; ``links`` are (url, title) of those feeds, so the
    desk can tell the user how to add one."""

    def __init__(self, message: str, links: list[tuple[str, str | None]]):
        super().__init__(message)
        self.links = links


class FeedChecker:
    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def check(self, url: str) -> CheckedFeed:
        """Raise `UserError` saying exactly why ``url`` can't be a feed, or what to use instead."""
        url = url.strip()
        result = fetch_sync(url, self.policy)
        if result.status == "error":
            raise UserError(f"Could not add {url}: {result.error}.")
        body = result.body or b""
        final_url = result.final_url or result.url
        if looks_like_html(body, result.content_type):
            links = discover_feed_links(body, final_url)
            if links:
                options = "\n".join(
                    f"• {link}" + (f" ({title})" if title else "") for link, title in links[:5]
                )
                raise NotAFeed(
                    f"{url} is a web page, not a feed. Did you mean:\n{options}", links[:5]
                )
            raise UserError(
                f"{url} is a web page, not a feed, and it names no feed. Look for an "
                f"RSS or Atom link on the site."
            )
        try:
            parsed = parse_feed(body, url=final_url, headers=result.headers)
        except FeedParseError as exc:
            raise UserError(f"Could not add {url}: {exc}") from exc
        if not parsed.entries:
            raise UserError(
                f"{url} is a feed but has no items right now; a dead feed often looks "
                f"like this. Check it in a browser, then add it again."
            )
        return CheckedFeed(url=result.url, title=parsed.title or None, entries=len(parsed.entries))

    def fetch_page(self, url: str) -> bytes:
        """An article page through the same SSRF guard; `UserError` when it can't be had."""
        result = fetch_sync(url, self.policy, accept=PAGE_ACCEPT)
        if result.status != "ok" or not result.body:
            raise UserError(f"Could not fetch {url}: {result.error or 'empty response'}.")
        return result.body
