"""The stories aggregate: one story per alert, the articles linked to it and what a later copy
is compared with (the lead's vector and language, the story's claims and their vectors).

Linking a copy writes, in one transaction, the link, the claims it adds, a thread post per
destination the story's alert went to, and a re-armed edit of the alert (its header counts the
sources): nothing the desk must send is lost between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store.base import Repository
from bot.store.outbox import IntentKind, _row, rearm_edits
from bot.store.schema import AlertRow, ArticleRow, OutboxRow, StoryArticleRow, StoryRow


@dataclass(frozen=True)
class StoryCandidate:
    """A story open for comparison: its lead article's title and text, and the lead's vector
    (float16 bytes, ``dim`` wide, in ``encoder``'s space) and language, plus claims so far."""

    story_id: int
    alert_id: int
    title: str
    text: str
    language: str
    encoder: str | None
    dim: int
    vector: bytes | None
    claims: tuple[str, ...]
    claim_vectors: bytes | None


@dataclass(frozen=True)
class StorySources:
    """How many articles a story holds and from which outlets (first seen first)."""

    count: int
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class JoinedStory:
    """An article that joined a story: the story, the alert whose thread it was posted in, the
    outlet it was reported as and when (`/why`)."""

    story_id: int
    alert_id: int
    outlet: str
    joined_at: datetime


def thread_post_key(story_id: int, article_id: int, destination: str) -> str:
    return f"story-{story_id}-article-{article_id}@{destination}"


class StoryRepository(Repository):
    def open_story(
        self,
        alert_id: int,
        article_id: int,
        *,
        outlet: str,
        language: str,
        encoder: str | None,
        dim: int,
        vector: bytes | None,
        claims: Sequence[str],
        claim_vectors: bytes | None,
    ) -> int:
        """The story an alert opens (its article as first source); the existing one when this
        alert has a story already (a retried cycle)."""
        now = self.clock()
        try:
            with self._tx() as s:
                existing = s.scalar(select(StoryRow.id).where(StoryRow.alert_id == alert_id))
                if existing is not None:
                    return existing
                story = StoryRow(
                    alert_id=alert_id,
                    language=language,
                    encoder=encoder,
                    dim=dim,
                    vector=vector,
                    claims=list(claims),
                    claim_vectors=claim_vectors,
                    created_at=now,
                )
                s.add(story)
                s.flush()
                s.add(
                    StoryArticleRow(
                        story_id=story.id, article_id=article_id, outlet=outlet, added_at=now
                    )
                )
                return story.id
        except IntegrityError:  # another worker opened it a moment ago
            with self._tx() as s:
                existing = s.scalar(select(StoryRow.id).where(StoryRow.alert_id == alert_id))
            if existing is None:
                raise
            return existing

    def recent_stories(self, since: datetime) -> list[StoryCandidate]:
        """Stories opened at or after ``since``, newest first, with their lead article's text."""
        with self._tx() as s:
            query = (
                select(StoryRow, ArticleRow)
                .join(StoryArticleRow, StoryArticleRow.story_id == StoryRow.id)
                .join(ArticleRow, ArticleRow.id == StoryArticleRow.article_id)
                .where(StoryRow.created_at >= since)
                .order_by(StoryRow.created_at.desc(), StoryRow.id.desc(), StoryArticleRow.id)
            )
            out: dict[int, StoryCandidate] = {}
            for story, article in s.execute(query):
                if story.id in out:
                    continue  # the first article of a story is its lead
                text = (
                    article.content
                    if len(article.content) >= len(article.summary)
                    else article.summary
                )
                out[story.id] = StoryCandidate(
                    story_id=story.id,
                    alert_id=story.alert_id,
                    title=article.title,
                    text=text,
                    language=story.language,
                    encoder=story.encoder,
                    dim=story.dim,
                    vector=None if story.vector is None else bytes(story.vector),
                    claims=tuple(story.claims),
                    claim_vectors=None
                    if story.claim_vectors is None
                    else bytes(story.claim_vectors),
                )
            return list(out.values())

    def attach(
        self,
        story_id: int,
        article_id: int,
        *,
        outlet: str,
        thread_text: str,
        added_claims: Sequence[str] = (),
        claim_vectors: bytes | None = None,
    ) -> bool:
        """Link ``article_id`` to the story and, in the same transaction: append the claims it
        adds (``claim_vectors`` is the story's whole new claim matrix), queue ``thread_text``
        into the story alert's thread at every destination its post is live, re-arm the
        alert's edits (the header's source count changed) and mark the article analysed and
        matched. False when the article was linked before (nothing is written twice)."""
        now = self.clock()
        try:
            with self._tx() as s:
                story = s.get(StoryRow, story_id)
                if story is None:
                    raise LookupError(f"story {story_id} does not exist")
                if s.scalar(
                    select(StoryArticleRow.id).where(StoryArticleRow.article_id == article_id)
                ):
                    return False
                s.add(
                    StoryArticleRow(
                        story_id=story_id, article_id=article_id, outlet=outlet, added_at=now
                    )
                )
                if added_claims:
                    story.claims = [*story.claims, *added_claims]
                    story.claim_vectors = claim_vectors
                destinations = s.scalars(
                    select(OutboxRow.destination)
                    .where(
                        OutboxRow.alert_id == story.alert_id,
                        OutboxRow.kind == str(IntentKind.POST_ALERT),
                        OutboxRow.state != "failed",
                    )
                    .order_by(OutboxRow.id)
                )
                for destination in destinations:
                    s.add(
                        _row(
                            IntentKind.THREAD_POST,
                            destination,
                            now,
                            alert_id=story.alert_id,
                            text=thread_text,
                            key=thread_post_key(story_id, article_id, destination),
                        )
                    )
                rearm_edits(s, story.alert_id, now)
                article = s.get(ArticleRow, article_id)
                if article is not None:
                    article.analysed_at, article.matched = now, True
                return True
        except IntegrityError:  # linked by another worker a moment ago
            return False

    def sources(self, alert_id: int) -> StorySources:
        """The source count and outlets of the story ``alert_id`` opened (1 and none when it
        opened none)."""
        with self._tx() as s:
            outlets = list(
                s.scalars(
                    select(StoryArticleRow.outlet)
                    .join(StoryRow, StoryRow.id == StoryArticleRow.story_id)
                    .where(StoryRow.alert_id == alert_id)
                    .order_by(StoryArticleRow.id)
                )
            )
        return StorySources(max(1, len(outlets)), tuple(dict.fromkeys(outlets)))

    def joined_story(self, article_id: int) -> JoinedStory | None:
        """The story ``article_id`` joined as another outlet's copy (not the one it opened)."""
        with self._tx() as s:
            row = s.execute(
                select(
                    StoryRow.id, StoryRow.alert_id, StoryArticleRow.outlet, StoryArticleRow.added_at
                )
                .join(StoryRow, StoryRow.id == StoryArticleRow.story_id)
                .join(AlertRow, AlertRow.id == StoryRow.alert_id)
                .where(StoryArticleRow.article_id == article_id, AlertRow.article_id != article_id)
            ).first()
        return JoinedStory(*row) if row is not None else None

    def story_of_article(self, article_id: int) -> int | None:
        with self._tx() as s:
            return s.scalar(
                select(StoryArticleRow.story_id).where(StoryArticleRow.article_id == article_id)
            )
