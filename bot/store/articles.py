"""The articles aggregate: every entry a feed has shown (the per-feed seen set), the articles
they name (one per cross-feed key), and which of those still wait for analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.models import Decision, NewEntry, StoredState
from bot.store.base import Repository, chunks
from bot.store.schema import ArticleRow, FeedEntryRow

MAX_ANALYSIS_FAILURES = 3


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: int | None
    title: str
    link: str | None
    summary: str
    content: str
    published: datetime | None


def _article_id(article: int | ArticleRow) -> int:
    return article if isinstance(article, int) else article.id


class ArticleRepository(Repository):
    def stored_state(self, feed_id: int, entries: Sequence[NewEntry]) -> StoredState:
        """The decider's input for one poll of ``feed_id``: which of these identities the feed
        showed before, which of these keys are stored articles. Two queries (chunked)."""
        with self._tx() as s:
            seen = self._seen_identities(s, feed_id, [e.identity for e in entries])
            keys = self._article_ids(s, [e.key for e in entries])
        return StoredState(frozenset(seen), frozenset(keys))

    def apply_decision(self, feed_id: int, decision: Decision) -> list[int]:
        """Record a poll's `Decision` in one transaction: the new articles (one batched INSERT),
        then the feed's new seen entries, each linked to its article. Returns the ids of the
        new articles that may alert. An article another feed stored since the decision was
        made is linked to, not inserted twice."""
        if not decision.unseen:
            return []
        now = self.clock()
        with self._tx() as s:
            articles = self._article_ids(s, [e.key for e in decision.unseen])
            new_rows: list[ArticleRow] = []
            for item in decision.new_articles:
                if item.entry.key not in articles:
                    row = self._article_row(feed_id, item.entry, item.alertable, now)
                    new_rows.append(row)
                    articles[item.entry.key] = row
            s.add_all(new_rows)
            s.flush()  # one batched INSERT … RETURNING gives every new article its id
            s.add_all(
                FeedEntryRow(
                    feed_id=feed_id,
                    identity=item.identity,
                    article_id=_article_id(articles[item.key]),
                    seen_at=now,
                )
                for item in decision.unseen
            )
            return [r.id for r in new_rows if r.alertable]

    @staticmethod
    def _seen_identities(s: Session, feed_id: int, identities: Sequence[str]) -> set[str]:
        seen: set[str] = set()
        for chunk in chunks(identities):
            seen.update(
                s.scalars(
                    select(FeedEntryRow.identity).where(
                        FeedEntryRow.feed_id == feed_id, FeedEntryRow.identity.in_(chunk)
                    )
                )
            )
        return seen

    @staticmethod
    def _article_ids(s: Session, keys: Sequence[str]) -> dict[str, int | ArticleRow]:
        found: dict[str, int | ArticleRow] = {}
        for chunk in chunks(keys):
            rows = s.execute(select(ArticleRow.key, ArticleRow.id).where(ArticleRow.key.in_(chunk)))
            found.update((key, article_id) for key, article_id in rows)
        return found

    @staticmethod
    def _article_row(feed_id: int, item: NewEntry, alertable: bool, now: datetime) -> ArticleRow:
        e = item.entry
        return ArticleRow(
            key=item.key,
            feed_id=feed_id,
            title=e.title,
            link=e.link,
            summary=e.summary,
            content=e.content,
            author=e.author,
            published=e.published,
            alertable=alertable,
            analysed_at=None if alertable else now,
            matched=None,
            created_at=now,
        )

    def count_feed_entries(self, feed_id: int) -> int:
        with self._tx() as s:
            return s.scalar(select(func.count()).where(FeedEntryRow.feed_id == feed_id)) or 0

    def count_articles(self) -> int:
        """Every article stored (`/metrics`)."""
        with self._tx() as s:
            return s.scalar(select(func.count()).select_from(ArticleRow)) or 0

    def article(self, article_id: int) -> StoredArticle | None:
        with self._tx() as s:
            r = s.get(ArticleRow, article_id)
            if r is None:
                return None
            return StoredArticle(
                r.id, r.feed_id, r.title, r.link, r.summary, r.content, r.published
            )

    def articles_awaiting_analysis(self, limit: int = 200) -> list[int]:
        """Alertable articles stored but never analysed: a crash between storing and alerting
        leaves them here, and the next cycle finishes the job."""
        with self._tx() as s:
            query = (
                select(ArticleRow.id)
                .where(
                    ArticleRow.alertable.is_(True),
                    ArticleRow.analysed_at.is_(None),
                    ArticleRow.analysis_failures < MAX_ANALYSIS_FAILURES,
                )
                .order_by(ArticleRow.id)
                .limit(limit)
            )
            return list(s.scalars(query))

    def count_analysis_failure(self, article_id: int) -> int:
        """An article whose analysis keeps crashing is retried a few times, then left (logged);
        returns its failures so far."""
        with self._tx() as s:
            s.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(analysis_failures=ArticleRow.analysis_failures + 1)
            )
            return (
                s.scalar(select(ArticleRow.analysis_failures).where(ArticleRow.id == article_id))
                or 0
            )

    def mark_not_matched(self, article_id: int) -> None:
        with self._tx() as s:
            s.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(analysed_at=self.clock(), matched=False)
            )
