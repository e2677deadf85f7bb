"""The database tables. Alembic migrations in `bot/store/migrations/` create them; tests and
`watchdesk db upgrade` go through the same migrations so SQLite and Postgres never drift."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite as on Postgres."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    label: Mapped[str | None] = mapped_column(String(100))
    interval_s: Mapped[int] = mapped_column(Integer)
    # "active", "disabled" (after repeated failures) or "removed" (a tombstone, so that the
    # config does not bring back a feed a user removed)
    state: Mapped[str] = mapped_column(String(20), default="active", index=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    primed: Mapped[bool] = mapped_column(Boolean, default=False)
    # sha256 of the last body parsed, so a server that ignores conditional GET and sends the
    # same bytes again costs a hash, not a parse
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Every entry the last parsed body listed has `FeedEntryRow.last_listed_at` at or after
    # this (retention forgets only entries before it); NULL until a parse records it.
    entries_listed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Canonical link when there is one (recognises one article reached through two feeds),
    # otherwise the first feed's entry identity.
    key: Mapped[str] = mapped_column(String(2100), unique=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(2000))
    summary: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alertable: Mapped[bool] = mapped_column(Boolean, default=False)
    analysis_failures: Mapped[int] = mapped_column(Integer, default=0)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    matched: Mapped[bool | None] = mapped_column(Boolean)
    # the gate's outcome for `/why`: {"matched": [term…], "near_miss": term | null}, each term
    # {"entity", "alias", "salience", "reason"} (`bot.models.AnalysisTrace`)
    analysis_trace: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class FeedEntryRow(Base):
    """Which entries each feed has shown us: the per-feed seen set that dedupe relies on."""

    __tablename__ = "feed_entries"
    __table_args__ = (
        UniqueConstraint("feed_id", "identity", name="uq_feed_entries_feed_identity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(2100))
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last parse of the feed that listed this entry (refreshed at most once per
    # `articles.LISTED_REFRESH`): retention forgets an entry only `entries_grace_days` after it.
    last_listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # NULL: this entry stored its article; else the entry joined an article already stored,
    # recognised by "guid", "link" (canonical link) or "content" (hash of title and text)
    folded_by: Mapped[str | None] = mapped_column(String(20))


class ArticleAliasRow(Base):
    """Another address of a stored article: an entry a feed showed again under an identity it
    had shown (the same guid) but with a link no article has. Recorded once (``key`` unique),
    so the poll after knows the address; `/why <that address>` finds the article."""

    __tablename__ = "article_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(2100), unique=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    link: Mapped[str | None] = mapped_column(String(2000))
    folded_by: Mapped[str] = mapped_column(String(20))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WatchEntityRow(Base):
    __tablename__ = "watch_entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusions: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(String(20), default="chat")
    added_by: Mapped[str | None] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(300))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entities: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    summary: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertClaimRow(Base):
    __tablename__ = "alert_claims"
    __table_args__ = (UniqueConstraint("alert_id", "n", name="uq_alert_claims_alert_n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)


class AlertVectorsRow(Base):
    """An alerted article's sentence vectors (`bot.models.SentenceVectors`), one row per alert:
    ``data`` is rows x dim little-endian float16 (~768 bytes a sentence at 384 dims), written
    with the alert so stories and recall never encode the article again."""

    __tablename__ = "alert_vectors"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    encoder: Mapped[str] = mapped_column(Text)  # may embed a model path
    rows: Mapped[int] = mapped_column(Integer)
    dim: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    claim_rows: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The sentence each row encodes (-1 = the title); NULL (before 0009): row i = sentence i.
    sentences: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)


class VerdictRow(Base):
    """Every verdict ever given, kept as history; the latest per claim is the claim's status."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    claim_n: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(200))
    user_name: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """The one outbox: a message intent per row, written in the same transaction as what
    caused it (an alert, a verdict, a disabled feed), before any send.

    ``kind`` is post_alert, edit_alert, thread_post, notice or digest. ``platform`` (the
    destination's platform) lets each platform's worker drain only its own queue. A post_alert
    row records where the message landed (``message_id``/``thread_id``); an edit_alert row is
    re-armed (state back to pending, ``revision`` + 1) by every verdict; a thread_post waits
    until its alert's post_alert to the same destination is sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "platform", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    destination: Mapped[str] = mapped_column(String(300))
    platform: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    # One row per intent that must exist once (an alert's post and its edit per destination,
    # a keyed thread post); NULL for notices, which may repeat.
    idempotency_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    # pending → sent | failed; an edit_alert goes back to pending when a verdict arrives
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    # edit_alert: bumped by every verdict; an edit marks the row sent only if it rendered this.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FactCheckRow(Base):
    """A fact-check imported from ClaimReview (``watchdesk verdicts import``), with the
    claim's vector (one row of little-endian float16, like ``alert_vectors``) so recall
    compares new claims with it without encoding it again. ``key`` (sha256 of url + claim)
    makes importing the same file twice update rather than duplicate."""

    __tablename__ = "factchecks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    claim: Mapped[str] = mapped_column(Text)
    rating: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    checker: Mapped[str] = mapped_column(String(300))
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimant: Mapped[str | None] = mapped_column(String(300))
    encoder: Mapped[str | None] = mapped_column(Text)
    dim: Mapped[int | None] = mapped_column(Integer)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(String(500))  # the file it came from
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecallRow(Base):
    """An earlier check a new alert's claim resembles: claim ``match_claim_n`` of alert
    ``match_alert_id`` or imported fact-check ``factcheck_id``. ``level`` is close or near;
    ``state`` suggested → confirmed | rejected by a checker from the thread."""

    __tablename__ = "recall_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    claim_n: Mapped[int] = mapped_column(Integer)
    match_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    match_claim_n: Mapped[int | None] = mapped_column(Integer)
    factcheck_id: Mapped[int | None] = mapped_column(
        ForeignKey("factchecks.id", ondelete="CASCADE")
    )
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="suggested")
    decided_by: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentRow(Base):
    """Who is checking a claim ("I'm on it"): one live row per claim (``released_at`` NULL);
    released by a verdict, by the person, or after ``[memory] assignment_timeout``."""

    __tablename__ = "claim_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    claim_n: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(200))
    user_name: Mapped[str] = mapped_column(String(300))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoryRow(Base):
    """One story: the alert that opened it and what later copies are compared with: the lead's
    title + lead vector (float16, ``dim`` wide, in ``encoder``'s space) and language, and the
    story's claims so far with their vectors (``claim_vectors``: len(claims) x dim float16)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    encoder: Mapped[str | None] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer, default=0)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    claim_vectors: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class StoryArticleRow(Base):
    """Which articles a story holds (the lead included), with the outlet each came from: the
    alert header's source count and outlets."""

    __tablename__ = "story_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), unique=True
    )
    outlet: Mapped[str] = mapped_column(String(300))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
