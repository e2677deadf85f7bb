"""The alerts aggregate: alerts with their numbered claims, and the verdicts given on them.

Creating an alert writes its outbox intents in the same transaction, and a verdict re-arms
the alert's edits in the same transaction as the verdict: what must be sent is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import (
    AlertView,
    Analysis,
    CheckerVerdict,
    ClaimView,
    EntityView,
    MessageRef,
    RecallView,
    SentenceVectors,
    Verdict,
)
from bot.store.articles import trace_json
from bot.store.base import Repository
from bot.store.memory import assignees, recall_views
from bot.store.outbox import IntentKind, alert_intents, rearm_edits
from bot.store.schema import (
    AlertClaimRow,
    AlertRow,
    AlertVectorsRow,
    ArticleRow,
    OutboxRow,
    StoryArticleRow,
    StoryRow,
    VerdictRow,
)


def _vectors_row(alert_id: int, analysis: Analysis) -> AlertVectorsRow | None:
    """The row for the analysis' sentence vectors (None without an encoder). A malformed
    `SentenceVectors` is a bug upstream: refuse it here rather than store rows that would
    decode to the wrong shape or point claims at the wrong sentence later."""
    vectors = analysis.vectors
    if vectors is None:
        return None
    if vectors.rows < 0 or vectors.dim <= 0 or len(vectors.data) != vectors.rows * vectors.dim * 2:
        raise ValueError(
            f"sentence vectors of {len(vectors.data)} bytes are not {vectors.rows} x "
            f"{vectors.dim} float16"
        )
    if len(vectors.claim_rows) != len(analysis.claims) or not all(
        0 <= row < vectors.rows for row in vectors.claim_rows
    ):
        raise ValueError(
            f"claim rows {list(vectors.claim_rows)} do not map {len(analysis.claims)} claims "
            f"onto {vectors.rows} sentence rows"
        )
    labels = list(vectors.sentences)
    if len(labels) != vectors.rows or labels != sorted(set(labels)) or (labels and labels[0] < -1):
        raise ValueError(
            f"sentence numbers {labels} do not name {vectors.rows} distinct rows in article order"
        )
    return AlertVectorsRow(
        alert_id=alert_id,
        encoder=vectors.encoder,
        rows=vectors.rows,
        dim=vectors.dim,
        data=vectors.data,
        claim_rows=list(vectors.claim_rows),
        sentences=labels,
    )


def _with_memory(
    view: ClaimView, recall: tuple[RecallView, ...], assignee: str | None
) -> ClaimView:
    """The claim with what the desk's memory adds: earlier checks it resembles, and who is
    on it (only while it has no verdict: a verdict ends the assignment's purpose)."""
    on_it = assignee if view.verdict is Verdict.UNCHECKED else None
    return replace(view, recall=recall, assigned_to=on_it)


def _checker_verdict(row: VerdictRow) -> CheckerVerdict:
    return CheckerVerdict(Verdict(row.verdict), row.user_name, row.created_at, row.source_url)


@dataclass(frozen=True)
class OpenClaim:
    alert_id: int
    alert_title: str
    alert_url: str | None
    created_at: datetime
    n: int
    text: str


class AlertRepository(Repository):
    def create_alert(
        self, article_id: int, *, source: str, analysis: Analysis, destinations: Sequence[str]
    ) -> int:
        """Write the alert, its claims, its sentence vectors (when the analysis has them) and
        one outbox row per destination in one transaction, before anything is sent: a crash
        after this re-delivers, never loses."""
        try:
            return self._create_alert(article_id, source, analysis, destinations)
        except IntegrityError:  # another worker alerted on this article a moment ago
            with self._tx() as s:
                existing = s.scalar(select(AlertRow.id).where(AlertRow.article_id == article_id))
            if existing is None:
                raise
            return existing

    def _create_alert(
        self, article_id: int, source: str, analysis: Analysis, destinations: Sequence[str]
    ) -> int:
        now = self.clock()
        with self._tx() as s:
            existing = s.scalar(select(AlertRow.id).where(AlertRow.article_id == article_id))
            if existing is not None:
                return existing
            article = s.get(ArticleRow, article_id)
            if article is None:
                raise LookupError(f"article {article_id} does not exist")
            alert = AlertRow(
                article_id=article_id,
                title=article.title or "(untitled)",
                url=article.link,
                source=source,
                published=article.published,
                entities=[
                    {"name": m.name, "why": m.hits[0].sentence if m.hits else ""}
                    for m in analysis.entities
                ],
                summary=list(analysis.summary),
                created_at=now,
            )
            s.add(alert)
            s.flush()
            for claim in analysis.claims:
                s.add(
                    AlertClaimRow(
                        alert_id=alert.id,
                        n=claim.n,
                        text=claim.text,
                        score=claim.score,
                        kinds=[str(k) for k in claim.kinds],
                    )
                )
            vectors = _vectors_row(alert.id, analysis)
            if vectors is not None:
                s.add(vectors)
            s.add_all(alert_intents(alert.id, destinations, now))
            article.analysed_at, article.matched = now, True
            if analysis.trace is not None:  # what `/why` shows: the entities and spellings found
                article.analysis_trace = trace_json(analysis.trace)
            return alert.id

    def alert_vectors(self, alert_id: int) -> SentenceVectors | None:
        """The alerted article's sentence vectors as the analyser encoded them, for stories and
        recall (`bot.analysis.encoder.vectors_array` makes the matrix); None when the alert was
        made without an encoder or does not exist."""
        with self._tx() as s:
            row = s.get(AlertVectorsRow, alert_id)
            if row is None:
                return None
            return SentenceVectors(
                encoder=row.encoder,
                rows=row.rows,
                dim=row.dim,
                data=bytes(row.data),
                claim_rows=tuple(row.claim_rows),
                sentences=tuple(range(row.rows) if row.sentences is None else row.sentences),
            )

    def alert_view(self, alert_id: int) -> AlertView | None:
        with self._tx() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                return None
            claims = s.scalars(
                select(AlertClaimRow)
                .where(AlertClaimRow.alert_id == alert_id)
                .order_by(AlertClaimRow.n)
            )
            latest = self._latest_verdicts(s, alert_id)
            by_checker = self._checker_rows(s, alert_id)
            recall = recall_views(s, alert_id)
            on_it = assignees(s, alert_id)
            outlets = list(
                s.scalars(
                    select(StoryArticleRow.outlet)
                    .join(StoryRow, StoryRow.id == StoryArticleRow.story_id)
                    .where(StoryRow.alert_id == alert_id)
                    .order_by(StoryArticleRow.id)
                )
            )
            return AlertView(
                alert_id=alert.id,
                title=alert.title,
                url=alert.url,
                source=alert.source,
                published=alert.published,
                entities=tuple(EntityView(e["name"], e.get("why", "")) for e in alert.entities),
                summary=tuple(alert.summary),
                claims=tuple(
                    _with_memory(
                        self._claim_view(c, latest.get(c.n), by_checker.get(c.n, [])),
                        recall.get(c.n, ()),
                        on_it.get(c.n),
                    )
                    for c in claims
                ),
                story_sources=max(1, len(outlets)),
                story_outlets=tuple(dict.fromkeys(outlets)),
            )

    @staticmethod
    def _latest_verdicts(s: Session, alert_id: int) -> dict[int, VerdictRow]:
        rows = s.scalars(
            select(VerdictRow)
            .where(VerdictRow.alert_id == alert_id)
            .order_by(VerdictRow.created_at, VerdictRow.id)
        )
        return {row.claim_n: row for row in rows}

    @staticmethod
    def _checker_rows(s: Session, alert_id: int) -> dict[int, list[VerdictRow]]:
        """Each checker's latest verdict per claim (a checker is a platform + user id)."""
        rows = s.scalars(
            select(VerdictRow)
            .where(VerdictRow.alert_id == alert_id)
            .order_by(VerdictRow.created_at, VerdictRow.id)
        )
        latest: dict[tuple[int, str, str], VerdictRow] = {}
        for row in rows:
            latest.pop((row.claim_n, row.platform, row.user_id), None)
            latest[(row.claim_n, row.platform, row.user_id)] = row
        out: dict[int, list[VerdictRow]] = {}
        for (claim_n, _, _), row in latest.items():
            out.setdefault(claim_n, []).append(row)
        return out

    def checker_verdicts(self, alert_id: int) -> dict[int, list[tuple[str, str, CheckerVerdict]]]:
        """Per claim, every checker's current verdict as (platform, user id, verdict), oldest
        first; a checker who reset their verdict counts as UNCHECKED."""
        with self._tx() as s:
            return {
                n: [(r.platform, r.user_id, _checker_verdict(r)) for r in rows]
                for n, rows in self._checker_rows(s, alert_id).items()
            }

    @staticmethod
    def _claim_view(
        claim: AlertClaimRow, verdict: VerdictRow | None, checkers: Sequence[VerdictRow] = ()
    ) -> ClaimView:
        if verdict is None:
            return ClaimView(claim.n, claim.text, tuple(claim.kinds))
        disagreements = tuple(
            _checker_verdict(r)
            for r in checkers
            if (r.platform, r.user_id) != (verdict.platform, verdict.user_id)
            and r.verdict not in (verdict.verdict, Verdict.UNCHECKED.value)
        )
        if verdict.verdict == Verdict.UNCHECKED.value:
            disagreements = ()
        return ClaimView(
            claim.n,
            claim.text,
            tuple(claim.kinds),
            Verdict(verdict.verdict),
            verdict.user_name,
            verdict.created_at,
            verdict.source_url,
            verdict.note,
            disagreements,
        )

    def message_refs(self, alert_ids: Sequence[int]) -> dict[int, list[MessageRef]]:
        """Where each of these alerts was posted (delivered copies only), for links to them."""
        out: dict[int, list[MessageRef]] = {}
        if not alert_ids:
            return out
        with self._tx() as s:
            rows = s.scalars(
                select(OutboxRow)
                .where(
                    OutboxRow.alert_id.in_(list(alert_ids)),
                    OutboxRow.kind == str(IntentKind.POST_ALERT),
                    OutboxRow.state == "sent",
                    OutboxRow.message_id.is_not(None),
                )
                .order_by(OutboxRow.id)
            )
            for row in rows:
                ref = MessageRef(row.destination, row.message_id or "", row.thread_id)
                out.setdefault(row.alert_id or 0, []).append(ref)
        return out

    def alert_for_message(self, destination: str, message_id: str) -> int | None:
        """The alert whose posted message (or its thread) has this id at this destination."""
        with self._tx() as s:
            return s.scalar(
                select(OutboxRow.alert_id)
                .where(
                    OutboxRow.kind == str(IntentKind.POST_ALERT),
                    OutboxRow.destination == destination,
                    or_(OutboxRow.message_id == message_id, OutboxRow.thread_id == message_id),
                )
                .limit(1)
            )

    def alert_for_article(self, article_id: int) -> int | None:
        with self._tx() as s:
            return s.scalar(select(AlertRow.id).where(AlertRow.article_id == article_id))

    def article_for_alert(self, alert_id: int) -> int | None:
        with self._tx() as s:
            return s.scalar(select(AlertRow.article_id).where(AlertRow.id == alert_id))

    def claim_numbers(self, alert_id: int) -> list[int]:
        with self._tx() as s:
            return list(
                s.scalars(
                    select(AlertClaimRow.n)
                    .where(AlertClaimRow.alert_id == alert_id)
                    .order_by(AlertClaimRow.n)
                )
            )

    def record_verdicts(
        self,
        alert_id: int,
        claims: Sequence[int],
        verdict: Verdict,
        *,
        platform: str,
        user_id: str,
        user_name: str,
        source_url: str | None,
        note: str | None,
    ) -> None:
        """Append verdicts (history is kept; the latest wins) and, in the same transaction,
        re-arm the edit of every copy of the alert (see `bot.store.outbox.rearm_edits`)."""
        now = self.clock()
        with self._tx() as s:
            for n in claims:
                s.add(
                    VerdictRow(
                        alert_id=alert_id,
                        claim_n=n,
                        verdict=str(verdict),
                        platform=platform,
                        user_id=user_id,
                        user_name=user_name,
                        source_url=source_url,
                        note=note,
                        created_at=now,
                    )
                )
            rearm_edits(s, alert_id, now)

    def verdict_history(self, alert_id: int) -> list[tuple[int, str, str, datetime]]:
        with self._tx() as s:
            rows = s.scalars(
                select(VerdictRow)
                .where(VerdictRow.alert_id == alert_id)
                .order_by(VerdictRow.created_at, VerdictRow.id)
            )
            return [(r.claim_n, r.verdict, r.user_name, r.created_at) for r in rows]

    def open_claims(self, limit: int = 20) -> list[OpenClaim]:
        """Unchecked claims (no verdict, or latest verdict 'unchecked'), oldest alert first."""
        with self._tx() as s:
            latest = (
                select(
                    VerdictRow.alert_id, VerdictRow.claim_n, func.max(VerdictRow.id).label("vid")
                )
                .group_by(VerdictRow.alert_id, VerdictRow.claim_n)
                .subquery()
            )
            query = (
                select(AlertRow, AlertClaimRow, VerdictRow.verdict)
                .join(AlertClaimRow, AlertClaimRow.alert_id == AlertRow.id)
                .outerjoin(
                    latest,
                    and_(latest.c.alert_id == AlertRow.id, latest.c.claim_n == AlertClaimRow.n),
                )
                .outerjoin(VerdictRow, VerdictRow.id == latest.c.vid)
                .where(or_(VerdictRow.verdict.is_(None), VerdictRow.verdict == "unchecked"))
                .order_by(AlertRow.created_at, AlertRow.id, AlertClaimRow.n)
                .limit(limit)
            )
            return [
                OpenClaim(a.id, a.title, a.url, a.created_at, c.n, c.text)
                for a, c, _ in s.execute(query)
            ]

    def verdicted_alerts(self) -> list[int]:
        """Alerts with at least one verdict, oldest first (for `watchdesk verdicts export`)."""
        with self._tx() as s:
            return list(
                s.scalars(select(VerdictRow.alert_id).distinct().order_by(VerdictRow.alert_id))
            )

    def count_created_since(self, since: datetime) -> int:
        """Alerts created at or after ``since`` (`watchdesk status`: alerts today)."""
        with self._tx() as s:
            return s.scalar(select(func.count()).where(AlertRow.created_at >= since)) or 0
