"""The articles aggregate: every entry a feed has shown (the per-feed seen set), the articles
they name (one per cross-feed key), and which of those still wait for analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.models import AnalysisTrace, Decision, NewEntry, StoredState, TermTrace
from bot.store.base import Repository, chunks
from bot.store.schema import ArticleAliasRow, ArticleRow, FeedEntryRow

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


@dataclass(frozen=True)
class Sighting:
    """One feed's entry for an article: when that feed showed it, and, when the article was
    already stored by another entry, by which identity it was recognised (``folded_by``:
    "guid", "link" or "content"; None for the entry that stored it)."""

    feed_id: int
    identity: str
    seen_at: datetime
    folded_by: str | None
    other_link: str | None = None  # the feed showed it again under this address


@dataclass(frozen=True)
class ArticleHistory:
    """Everything the store recorded about one article, for `/why`."""

    id: int
    key: str
    feed_id: int | None
    title: str
    link: str | None
    published: datetime | None
    stored_at: datetime
    alertable: bool
    analysed_at: datetime | None
    matched: bool | None
    analysis_failures: int
    trace: AnalysisTrace | None
    sightings: tuple[Sighting, ...]


def fold_kind(key: str) -> str:
    """Which identity an article key is: the entry's guid, its content hash, or (the usual
    case) its canonical link (see `bot.feeds.identity`)."""
    if key.startswith("guid:"):
        return "guid"
    if key.startswith("hash:"):
        return "content"
    return "link"


def trace_json(trace: AnalysisTrace) -> dict[str, object]:
    def term(t: TermTrace) -> dict[str, object]:
        return {"entity": t.entity, "alias": t.alias, "salience": t.salience, "reason": t.reason}

    return {
        "matched": [term(t) for t in trace.matched],
        "near_miss": term(trace.near_miss) if trace.near_miss else None,
    }


def trace_from_json(data: dict[str, object] | None) -> AnalysisTrace | None:
    if not data:
        return None

    def term(d: object) -> TermTrace:
        assert isinstance(d, dict)
        return TermTrace(str(d["entity"]), str(d["alias"]), float(d["salience"]), str(d["reason"]))

    matched = data.get("matched") or []
    near = data.get("near_miss")
    assert isinstance(matched, list)
    return AnalysisTrace(tuple(term(t) for t in matched), term(near) if near else None)


def _article_id(article: int | ArticleRow) -> int:
    return article if isinstance(article, int) else article.id


class ArticleRepository(Repository):
    def stored_state(self, feed_id: int, entries: Sequence[NewEntry]) -> StoredState:
        """The decider's input for one poll of ``feed_id``: which of these identities the feed
        showed before, which of these keys are stored articles (or their other addresses).
        Three queries (chunked)."""
        with self._tx() as s:
            seen = self._seen_identities(s, feed_id, [e.identity for e in entries])
            keys = self._article_ids(s, [e.key for e in entries])
        return StoredState(frozenset(seen), frozenset(keys))

    def apply_decision(self, feed_id: int, decision: Decision) -> list[int]:
        """Record a poll's `Decision` in one transaction: the new articles (one batched INSERT),
        then the feed's new seen entries, each linked to its article. Returns the ids of the
        new articles that may alert. An article another feed stored since the decision was
        made is linked to, not inserted twice."""
        if not decision.unseen and not decision.relinked:
            return []
        now = self.clock()
        with self._tx() as s:
            articles = self._article_ids(s, [e.key for e in decision.unseen])
            new_rows: list[ArticleRow] = []
            stored_by: dict[str, str] = {}  # key → identity of the entry that stores it now
            for item in decision.new_articles:
                if item.entry.key not in articles:
                    row = self._article_row(feed_id, item.entry, item.alertable, now)
                    new_rows.append(row)
                    articles[item.entry.key] = row
                    stored_by[item.entry.key] = item.entry.identity
            s.add_all(new_rows)
            s.flush()  # one batched INSERT … RETURNING gives every new article its id
            s.add_all(
                FeedEntryRow(
                    feed_id=feed_id,
                    identity=item.identity,
                    article_id=_article_id(articles[item.key]),
                    seen_at=now,
                    folded_by=(
                        None if stored_by.get(item.key) == item.identity else fold_kind(item.key)
                    ),
                )
                for item in decision.unseen
            )
            self._add_aliases(s, feed_id, decision, articles, now)
            return [r.id for r in new_rows if r.alertable]

    @staticmethod
    def _add_aliases(
        s: Session,
        feed_id: int,
        decision: Decision,
        articles: dict[str, int | ArticleRow],
        now: datetime,
    ) -> None:
        """Record each relinked entry's address against the article its identity names."""
        items = [e for e in decision.relinked if e.key not in articles]
        if not items:
            return
        by_identity = {e.identity: articles[e.key] for e in decision.unseen if e.key in articles}
        missing = [e.identity for e in items if e.identity not in by_identity]
        for chunk in chunks(missing):
            rows = s.execute(
                select(FeedEntryRow.identity, FeedEntryRow.article_id).where(
                    FeedEntryRow.feed_id == feed_id, FeedEntryRow.identity.in_(chunk)
                )
            )
            by_identity.update((identity, article_id) for identity, article_id in rows)
        s.add_all(
            ArticleAliasRow(
                key=e.key,
                article_id=_article_id(by_identity[e.identity]),
                feed_id=feed_id,
                link=e.entry.link,
                folded_by=fold_kind(e.identity),
                seen_at=now,
            )
            for e in items
            if e.identity in by_identity
        )

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
        """Key → article id, for articles stored under the key or known by it as an alias."""
        found: dict[str, int | ArticleRow] = {}
        for chunk in chunks(keys):
            rows = s.execute(select(ArticleRow.key, ArticleRow.id).where(ArticleRow.key.in_(chunk)))
            found.update((key, article_id) for key, article_id in rows)
            aliases = s.execute(
                select(ArticleAliasRow.key, ArticleAliasRow.article_id).where(
                    ArticleAliasRow.key.in_(chunk)
                )
            )
            found.update((key, article_id) for key, article_id in aliases if key not in found)
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

    def mark_not_matched(self, article_id: int, trace: AnalysisTrace | None = None) -> None:
        """Analysed, no alert; ``trace`` (the closest miss) is what `/why` shows for it."""
        values: dict[str, object] = {"analysed_at": self.clock(), "matched": False}
        if trace is not None:
            values["analysis_trace"] = trace_json(trace)
        with self._tx() as s:
            s.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(**values))

    def article_id_for(self, key: str, link: str | None = None) -> int | None:
        """The article stored under this key (a canonical link), else one whose link is
        exactly ``link``."""
        with self._tx() as s:
            found = self._article_ids(s, [key]).get(key)
            if found is None and link:
                found = s.scalar(
                    select(ArticleRow.id).where(ArticleRow.link == link).order_by(ArticleRow.id)
                )
            return found

    def history(self, article_id: int) -> ArticleHistory | None:
        """What the store knows of one article: stored when and from which feed, which feeds
        showed it (and whether as a duplicate), how its analysis went."""
        with self._tx() as s:
            r = s.get(ArticleRow, article_id)
            if r is None:
                return None
            entries = s.scalars(
                select(FeedEntryRow)
                .where(FeedEntryRow.article_id == article_id)
                .order_by(FeedEntryRow.seen_at, FeedEntryRow.id)
            )
            seen = [Sighting(e.feed_id, e.identity, e.seen_at, e.folded_by) for e in entries]
            aliases = s.scalars(
                select(ArticleAliasRow)
                .where(ArticleAliasRow.article_id == article_id)
                .order_by(ArticleAliasRow.seen_at, ArticleAliasRow.id)
            )
            seen += [
                Sighting(a.feed_id, a.key, a.seen_at, a.folded_by, a.link or a.key) for a in aliases
            ]
            sightings = tuple(sorted(seen, key=lambda x: x.seen_at))
            return ArticleHistory(
                r.id,
                r.key,
                r.feed_id,
                r.title,
                r.link,
                r.published,
                r.created_at,
                r.alertable,
                r.analysed_at,
                r.matched,
                r.analysis_failures,
                trace_from_json(r.analysis_trace),
                sightings,
            )
