"""Turns stored articles into alerts: analyse, route to destinations, write alert + outbox rows.

Runs after each stored batch of a poll cycle, and at the cycle's end picks up any article a crash
left unanalysed, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.desk.stories import Stories
from bot.models import Analysis, AnalysisTrace, FeedInfo
from bot.store.articles import MAX_ANALYSIS_FAILURES, StoredArticle

log = logging.getLogger(__name__)

Analyse = Callable[[str, str, str | None], Analysis]
"""(title, text, url) → Analysis; built by `bot.app` from the analysis pipeline."""


class AlertArticles(Protocol):
    """What alerting needs of the articles repository."""

    def articles_awaiting_analysis(self, limit: int = 200) -> list[int]: ...

    def article(self, article_id: int) -> StoredArticle | None: ...

    def count_analysis_failure(self, article_id: int) -> int: ...

    def mark_not_matched(self, article_id: int, trace: AnalysisTrace | None = None) -> None: ...


class AlertFeeds(Protocol):
    def feed_by_id(self, feed_id: int) -> FeedInfo | None: ...


class AlertWriter(Protocol):
    def create_alert(
        self, article_id: int, *, source: str, analysis: Analysis, destinations: Sequence[str]
    ) -> int: ...


class AlertStore(Protocol):
    articles: AlertArticles
    feeds: AlertFeeds
    alerts: AlertWriter


@dataclass(frozen=True)
class Routing:
    default_channels: tuple[str, ...]


def route(analysis: Analysis, feed_channels: Sequence[str], routing: Routing) -> list[str]:
    """Destinations for one alert: the matched entities' channels, else the feed's, else the
    default. A destination on a platform this worker is not connected to stays in the outbox
    for a worker that is (or until its token is set): routing never drops an alert."""
    wanted: list[str] = []
    for match in analysis.entities:
        wanted.extend(match.channels)
    if not wanted:
        wanted.extend(feed_channels)
    if not wanted:
        wanted.extend(routing.default_channels)
    return list(dict.fromkeys(wanted)) or ["console"]


def article_text(article: StoredArticle) -> str:
    """The longest text the feed gave: full content when present, else the summary."""
    return article.content if len(article.content) >= len(article.summary) else article.summary


def source_name(feed_name: str | None, feed_url: str | None, label: str | None) -> str:
    name = feed_name or feed_url or "unknown source"
    return f"{name} ({label})" if label else name


class AlertMaker:
    def __init__(
        self,
        store: AlertStore,
        analyse: Analyse,
        routing: Routing,
        stories: Stories | None = None,
    ):
        """With ``stories``, a matched article that reports a story alerted in the window joins
        that story's thread instead of alerting, and every new alert opens a story."""
        self.store = store
        self.analyse = analyse
        self.routing = routing
        self.stories = stories

    def process(self, article_ids: Iterable[int] = (), *, waiting: bool = True) -> list[int]:
        """Analyse the given articles plus (with ``waiting``) any left waiting; returns the ids
        of new alerts. An article whose analysis crashes is logged and counted; it never stops
        the others. A cycle alerts each batch without ``waiting`` (a later batch's articles,
        already stored, would be analysed twice) and picks up the waiting ones once, at its
        end."""
        waiting_ids = self.store.articles.articles_awaiting_analysis() if waiting else []
        pending = list(dict.fromkeys([*article_ids, *waiting_ids]))
        alerts = []
        for article_id in pending:
            alert_id = self._process_one(article_id)
            if alert_id is not None:
                alerts.append(alert_id)
        return alerts

    def _process_one(self, article_id: int) -> int | None:
        article = self.store.articles.article(article_id)
        if article is None:
            return None
        text = article_text(article)
        try:
            analysis = self.analyse(article.title, text, article.link)
        except Exception:  # a poison article: retried a few times (store errors propagate)
            ids = {"article_id": article_id, "feed_id": article.feed_id}
            log.exception("analysing article %s (%s) failed", article_id, article.link, extra=ids)
            if self.store.articles.count_analysis_failure(article_id) >= MAX_ANALYSIS_FAILURES:
                log.error(
                    "giving up on article %s (%s) after %d failed analyses",
                    article_id,
                    article.link,
                    MAX_ANALYSIS_FAILURES,
                    extra=ids,
                )
            return None
        if not analysis.matched:
            self.store.articles.mark_not_matched(article_id, analysis.trace)
            return None
        feed = self.store.feeds.feed_by_id(article.feed_id) if article.feed_id else None
        destinations = route(analysis, feed.channels if feed else (), self.routing)
        source = source_name(
            feed.name if feed else None, feed.url if feed else None, feed.label if feed else None
        )
        if self.stories is not None and self.stories.join(article, text, analysis, source):
            return None  # another outlet's copy of a story: posted into its thread
        alert_id = self.store.alerts.create_alert(
            article_id, source=source, analysis=analysis, destinations=destinations
        )
        log.info(
            "alert %s for article %s (%s) to %s",
            alert_id,
            article_id,
            article.link,
            ", ".join(destinations),
            extra={"alert_id": alert_id, "article_id": article_id, "feed_id": article.feed_id},
        )
        if self.stories is not None:
            self.stories.open(alert_id, article, text, analysis, source)
        return alert_id
