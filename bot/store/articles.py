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

from bot.models import (
    AnalysisTrace,
    Decision,
    NewArticle,
    NewEntry,
    PollSuccess,
    StoredState,
    TermTrace,
)
from bot.store.base import IN_CHUNK, Repository, chunks
from bot.store.feeds import write_poll_successes
from bot.store.schema import ArticleAliasRow, ArticleRow, FeedEntryRow, FeedRow

MAX_ANALYSIS_FAILURES = 3
# An entry a feed still lists has its `last_listed_at` rewritten at most this often, so a feed
# polled every minute costs one UPDATE of its entries a day, not one a minute; retention's
# "no longer listed" is exact to within this (`FeedRow.entries_listed_since`).
LISTED_REFRESH = timedelta(days=1)
# a feed's record of an entry's normalised title and text (`bot.feeds.identity.content_identity`)
# rather than of the entry itself: how a re-published copy is recognised, not a sighting
CONTENT_IDENTITY_PREFIX = "content:"


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
            stored_by = {key: (owners[key][0], owners[key][1].entry.identity) for key in inserted}
            self._insert_entries(s, self._entry_rows(s, decisions, ids, stored_by, now))
            for feed_id, decision in decisions:
                self._add_aliases(s, feed_id, decision, ids, now)
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
        stored_by: dict[str, tuple[int, str]],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Every feed's new seen entries, each linked to its article, plus each entry's content
        identity (once per feed, pointing at its article); a re-published entry (a new guid and
        link, the same title and text) is linked to the article its content identity names.
        ``stored_by`` (key → the feed and entry that inserted it now) tells the entry that
        stored its article (``folded_by`` NULL) from one that joined it, and by which identity
        (for `/why`)."""
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
                    article_id, folded_by = contents[(feed_id, content)], "content"
                elif e.key in ids:
                    article_id = ids[e.key]
                    folded_by = (
                        None if stored_by.get(e.key) == (feed_id, e.identity) else fold_kind(e.key)
                    )
                else:  # its copy vanished since the decision: seen again next poll, decided anew
                    continue
                rows.append(
                    {
                        "feed_id": feed_id,
                        "identity": e.identity,
                        "article_id": article_id,
                        "seen_at": now,
                        "last_listed_at": now,
                        "folded_by": folded_by,
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
                            "folded_by": "content",
                        }
                    )
        return rows

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
        """The entries the feed has shown (its content identities, kept beside them to
        recognise re-published copies, are not entries)."""
        with self._tx() as s:
            return (
                s.scalar(
                    select(func.count()).where(
                        FeedEntryRow.feed_id == feed_id,
                        FeedEntryRow.identity.not_like(f"{CONTENT_IDENTITY_PREFIX}%"),
                    )
                )
                or 0
            )

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
            seen = [
                Sighting(e.feed_id, e.identity, e.seen_at, e.folded_by)
                for e in entries
                if not e.identity.startswith(CONTENT_IDENTITY_PREFIX)
            ]
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
