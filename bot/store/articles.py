"""The articles aggregate: every entry a feed has shown (the per-feed seen set), the articles
they name (one per cross-feed key), and which of those still wait for analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.models import Decision, NewArticle, NewEntry, PollSuccess, StoredState
from bot.store.base import IN_CHUNK, Repository, chunks
from bot.store.feeds import write_poll_successes
from bot.store.schema import ArticleRow, FeedEntryRow, FeedRow

MAX_ANALYSIS_FAILURES = 3
# An entry a feed still lists has its `last_listed_at` rewritten at most this often, so a feed
# polled every minute costs one UPDATE of its entries a day, not one a minute; retention's
# "no longer listed" is exact to within this (`FeedRow.entries_listed_since`).
LISTED_REFRESH = timedelta(days=1)


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: int | None
    title: str
    link: str | None
    summary: str
    content: str
    published: datetime | None


def _identities(entries: Sequence[NewEntry]) -> list[str]:
    """The identities a feed may have shown these entries by: each entry's own and, where it
    has one, its content identity (re-published copies)."""
    return [i for e in entries for i in (e.identity, e.content_identity) if i]


def _insert(s: Session, model: Any) -> Any:
    """The dialect's INSERT (SQLite's and Postgres's both have ON CONFLICT DO NOTHING)."""
    if s.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)


class ArticleRepository(Repository):
    def stored_state(self, feed_id: int, entries: Sequence[NewEntry]) -> StoredState:
        """The decider's input for one poll of ``feed_id`` (see `stored_states`)."""
        return self.stored_states([(feed_id, entries)])[feed_id]

    def stored_states(
        self, polls: Sequence[tuple[int, Sequence[NewEntry]]]
    ) -> dict[int, StoredState]:
        """The decider's input for a whole batch of polls, in one read transaction: for each
        feed, which of its entries' identities it showed before, and which of their keys are
        stored articles. A few chunked queries for the batch, not two per feed.

        It also records that each feed still lists the seen ones (`_mark_listed`): this is the
        one call every parsed poll makes with all its entries, and retention must never forget
        an entry a feed still lists (it would alert again on the next poll)."""
        now = self.clock()
        with self._tx() as s:
            seen = self._seen_listings(
                s,
                [
                    (feed_id, identity)
                    for feed_id, entries in polls
                    for identity in _identities(entries)
                ],
            )
            keys = self._article_ids(s, [e.key for _, entries in polls for e in entries])
            for feed_id, _ in polls:
                listed = {i: at for (f, i), at in seen.items() if f == feed_id}
                self._mark_listed(s, feed_id, listed, now)
        known = frozenset(keys)
        return {
            feed_id: StoredState(
                frozenset(i for i in _identities(entries) if (feed_id, i) in seen),
                known & {e.key for e in entries},
            )
            for feed_id, entries in polls
        }

    @staticmethod
    def _mark_listed(s: Session, feed_id: int, seen: dict[str, datetime], now: datetime) -> None:
        """Listed now. Every entry the body lists must end at or after the feed's
        `entries_listed_since`, and every entry it dropped must fall behind it within about a
        day; both hold with at most one write a day: seen entries listed more than
        `LISTED_REFRESH` ago get ``now``, and the feed's mark moves to ``now - LISTED_REFRESH``
        once it lags by more than that (a lagging mark only forgets later, never sooner).
        Most polls write nothing here. (Unseen entries are inserted with ``now``.)"""
        floor = now - LISTED_REFRESH
        stale = sorted(identity for identity, listed in seen.items() if listed < floor)
        for chunk in chunks(stale):
            s.execute(
                update(FeedEntryRow)
                .where(FeedEntryRow.feed_id == feed_id, FeedEntryRow.identity.in_(chunk))
                .values(last_listed_at=now)
                .execution_options(synchronize_session=False)
            )
        since = s.scalar(select(FeedRow.entries_listed_since).where(FeedRow.id == feed_id))
        if since is None or since < floor - LISTED_REFRESH:
            s.execute(
                update(FeedRow)
                .where(FeedRow.id == feed_id)
                .values(entries_listed_since=floor)
                .execution_options(synchronize_session=False)
            )

    def apply_decision(self, feed_id: int, decision: Decision) -> list[int]:
        """Record one poll's `Decision` (see `apply_decisions`); returns the ids of the new
        articles that may alert."""
        return self.apply_decisions([(feed_id, decision)])[feed_id]

    def apply_decisions(
        self, decisions: Sequence[tuple[int, Decision]], successes: Sequence[PollSuccess] = ()
    ) -> dict[int, list[int]]:
        """Store a batch of polls in one transaction: the new articles (bulk INSERT … ON
        CONFLICT DO NOTHING), every feed's new seen entries linked to their articles (the same),
        and the batch's successful polls. Returns, per feed, the ids of the articles it added
        that may alert.

        Race-free: an article another feed or another worker stored since the decisions were
        made is not inserted again (the conflict is skipped, the row reselected) and only linked
        to, so two feeds carrying one story never fail a feed and alert once. Within the batch
        the first feed that may alert on a story owns it."""
        now = self.clock()
        owners: dict[str, tuple[int, NewArticle]] = {}
        for feed_id, decision in decisions:
            for item in decision.new_articles:
                held = owners.get(item.entry.key)
                if held is None or (item.alertable and not held[1].alertable):
                    owners[item.entry.key] = (feed_id, item)
        added: dict[int, list[int]] = {feed_id: [] for feed_id, _ in decisions}
        with self._tx() as s:
            inserted = self._insert_articles(s, owners, now)
            ids = {**self._article_ids(s, [e.key for _, d in decisions for e in d.unseen])}
            ids.update(inserted)
            self._insert_entries(s, self._entry_rows(s, decisions, ids, now))
            write_poll_successes(s, successes)
        for key, article_id in inserted.items():
            feed_id, item = owners[key]
            if item.alertable:
                added[feed_id].append(article_id)
        for feed_ids in added.values():
            feed_ids.sort()
        return added

    def _entry_rows(
        self,
        s: Session,
        decisions: Sequence[tuple[int, Decision]],
        ids: dict[str, Any],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Every feed's new seen entries, each linked to its article, plus each entry's content
        identity (once per feed, pointing at its article); a re-published entry (a new guid and
        link, the same title and text) is linked to the article its content identity names."""
        contents = self._content_articles(
            s,
            [(f, e.content_identity) for f, d in decisions for e in d.unseen if e.content_identity],
        )
        rows: list[dict[str, Any]] = []
        for feed_id, decision in decisions:
            republished = {item.identity for item in decision.republished}
            for e in decision.unseen:
                content = e.content_identity
                if e.identity in republished and (feed_id, content) in contents:
                    article_id = contents[(feed_id, content)]
                elif e.key in ids:
                    article_id = ids[e.key]
                else:  # its copy vanished since the decision: seen again next poll, decided anew
                    continue
                rows.append(
                    {
                        "feed_id": feed_id,
                        "identity": e.identity,
                        "article_id": article_id,
                        "seen_at": now,
                        "last_listed_at": now,
                    }
                )
                if content is not None and (feed_id, content) not in contents:
                    contents[(feed_id, content)] = article_id
                    rows.append(
                        {
                            "feed_id": feed_id,
                            "identity": content,
                            "article_id": article_id,
                            "seen_at": now,
                            "last_listed_at": now,
                        }
                    )
        return rows

    @staticmethod
    def _content_articles(
        s: Session, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], int]:
        """The articles these (feed, content identity) pairs already point at."""
        found: dict[tuple[int, str], int] = {}
        unique = list(dict.fromkeys(pairs))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            rows = s.execute(
                select(FeedEntryRow.feed_id, FeedEntryRow.identity, FeedEntryRow.article_id).where(
                    tuple_(FeedEntryRow.feed_id, FeedEntryRow.identity).in_(chunk)
                )
            )
            found.update(((f, i), a) for f, i, a in rows)
        return found

    def _insert_articles(
        self, s: Session, owners: dict[str, tuple[int, NewArticle]], now: datetime
    ) -> dict[str, int]:
        """Insert the articles no row holds yet; returns key → id of those this call inserted
        (a key stored meanwhile by anyone is skipped, not an error). One statement given many
        rows: SQLAlchemy sends them in batched multi-row INSERTs ("insertmanyvalues") from one
        cached statement; a `.values([...])` per batch size would cache a compiled statement
        for every row count seen (hundreds of megabytes)."""
        rows = [
            self._article_values(feed_id, item.entry, item.alertable, now)
            for feed_id, item in owners.values()
        ]
        if not rows:
            return {}
        table = ArticleRow.__table__
        statement = (
            _insert(s, table)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key, table.c.id)
        )
        return {key: article_id for key, article_id in s.connection().execute(statement, rows)}

    @staticmethod
    def _insert_entries(s: Session, rows: list[dict[str, Any]]) -> None:
        if rows:
            statement = _insert(s, FeedEntryRow.__table__).on_conflict_do_nothing(
                index_elements=["feed_id", "identity"]
            )
            s.connection().execute(statement, rows)

    @staticmethod
    def _seen_listings(
        s: Session, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], datetime]:
        """Which (feed, identity) pairs the feeds showed before, with when each last listed it."""
        seen: dict[tuple[int, str], datetime] = {}
        unique = list(dict.fromkeys(pairs))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            rows = s.execute(
                select(
                    FeedEntryRow.feed_id, FeedEntryRow.identity, FeedEntryRow.last_listed_at
                ).where(tuple_(FeedEntryRow.feed_id, FeedEntryRow.identity).in_(chunk))
            )
            seen.update(((feed_id, identity), listed) for feed_id, identity, listed in rows)
        return seen

    @staticmethod
    def _article_ids(s: Session, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in chunks(keys):
            rows = s.execute(select(ArticleRow.key, ArticleRow.id).where(ArticleRow.key.in_(chunk)))
            found.update((key, article_id) for key, article_id in rows)
        return found

    @staticmethod
    def _article_values(
        feed_id: int, item: NewEntry, alertable: bool, now: datetime
    ) -> dict[str, Any]:
        e = item.entry
        return {
            "key": item.key,
            "feed_id": feed_id,
            "title": e.title,
            "link": e.link,
            "summary": e.summary,
            "content": e.content,
            "author": e.author,
            "published": e.published,
            "alertable": alertable,
            "analysis_failures": 0,
            "analysed_at": None if alertable else now,
            "matched": None,
            "created_at": now,
        }

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

    def mark_not_matched(self, article_id: int) -> None:
        with self._tx() as s:
            s.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(analysed_at=self.clock(), matched=False)
            )
