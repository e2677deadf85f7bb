"""Importing an OPML file's feeds: every outline through the same check as `feeds add`.

An OPML export is untrusted input like a URL typed in chat: it may list `file:` or
`javascript:` URLs, internal addresses, the same feed twice, or ten thousand outlines. So an
import is bounded (``max_outlines``), read completely before the database is touched, checked
with `FeedChecker.check_many` (scheme, address and normalisation rules, a fetch and a parse;
many URLs at once, not one round trip after another), and ends with a report of what was
imported, what was already there and what was refused and why, URL by URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.errors import UserError
from bot.feeds.fetch import FetchRefused, normalise_url
from bot.feeds.opml import OpmlFeed, read_opml
from bot.feeds.subscribe import CheckedFeed, FeedChecker, FeedRefused
from bot.models import FeedInfo

MAX_IMPORT_OUTLINES = 1000
"""Default bound on feed outlines per import: a desk's real export is tens to hundreds;
thousands is a mistake or an attack, and each outline costs a fetch."""


class FeedStore(Protocol):
    """What an import needs from the store."""

    def list_feeds(self) -> list[FeedInfo]: ...
    def add_feed(
        self, url: str, *, interval_s: int, name: str | None = None, added_by: str | None = None
    ) -> FeedInfo: ...


@dataclass
class ImportReport:
    """What one import did, outline by outline."""

    source: str
    added: list[CheckedFeed] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[FeedRefused] = field(default_factory=list)
    total: int = 0  # feeds subscribed after the import

    def lines(self) -> list[str]:
        """The summary: one headline, then each group with its URLs (refusals by reason)."""
        counts = [
            f"{len(items)} {label}"
            for items, label in (
                (self.already, "already there"),
                (self.duplicates, "listed more than once"),
                (self.refused, "refused"),
            )
            if items
        ]
        lines = [
            f"imported {len(self.added)} new feed(s) from {self.source} ({self.total} in all)"
            + (f"; {', '.join(counts)}" if counts else "")
        ]
        lines += _group("refused", self._refusals())
        lines += _group("already there", {"": self.already})
        lines += _group("listed more than once (imported once)", {"": self.duplicates})
        return lines

    def _refusals(self) -> dict[str, list[str]]:
        by_reason: dict[str, list[str]] = {}
        for refusal in self.refused:
            reason = refusal.reason.removeprefix("refused: ")
            shown = refusal.url
            if refusal.suggestion:
                shown += f" (add {refusal.suggestion} instead)"
            by_reason.setdefault(reason, []).append(shown)
        return by_reason


def _group(title: str, by_reason: dict[str, list[str]]) -> list[str]:
    if not any(by_reason.values()):
        return []
    lines = [f"{title}:"]
    for reason, urls in by_reason.items():
        indent = "  "
        if reason:
            lines.append(f"  {reason}:")
            indent = "    "
        lines += [f"{indent}{url}" for url in urls]
    return lines


def read_import(
    data: bytes, source: str, max_outlines: int = MAX_IMPORT_OUTLINES
) -> list[OpmlFeed]:
    """The outlines of an OPML file, refused as a whole (`UserError`) when it is not OPML or
    lists more feeds than one import takes. Touches neither network nor database."""
    outlines = read_opml(data, unique=False)
    if len(outlines) > max_outlines:
        raise UserError(
            f"{source} lists {len(outlines)} feeds; one import takes at most {max_outlines}. "
            "Split the file and import the parts one after another."
        )
    return outlines


def import_feeds(
    outlines: Sequence[OpmlFeed],
    *,
    source: str,
    checker: FeedChecker,
    store: FeedStore,
    interval_s: int,
    added_by: str = "opml",
) -> ImportReport:
    """Check every new outline as `feeds add` would and subscribe to those that pass."""
    report = ImportReport(source)
    known = {_key(f.url) for f in store.list_feeds()}
    pending: dict[str, OpmlFeed] = {}
    seen: set[str] = set()
    for outline in outlines:
        key = _key(outline.url)
        if key in seen:
            report.duplicates.append(outline.url)
        elif key in known:
            report.already.append(outline.url)
        else:
            pending[key] = outline
        seen.add(key)
    candidates = list(pending.values())
    results = checker.check_many([o.url for o in candidates])
    for outline, result in zip(candidates, results, strict=True):
        if isinstance(result, FeedRefused):
            report.refused.append(result)
            continue
        try:
            store.add_feed(
                result.url,
                interval_s=interval_s,
                name=outline.title or result.title,
                added_by=added_by,
            )
        except UserError:  # added meanwhile (another import, or two spellings of one URL)
            report.already.append(outline.url)
            continue
        report.added.append(result)
    report.total = len(store.list_feeds())
    return report


def _key(url: str) -> str:
    """The form two spellings of one feed URL share; a URL the rules refuse stays as typed
    (the check will refuse it again, with the reason)."""
    try:
        return str(normalise_url(url))
    except FetchRefused:
        return url.strip()
