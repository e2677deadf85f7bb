"""The desk's memory: fact-checks imported from ClaimReview, the vectors of every claim that
has a verdict (read from ``alert_vectors``), and the recall matches shown on new alerts.

Recall matches are written with a re-arm of the alert's edits in one transaction, so an alert
that was posted before its matches were found is edited to show them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import FactCheck, MessageRef, RecallView, Verdict
from bot.store.base import Repository
from bot.store.outbox import IntentKind, rearm_edits
from bot.store.schema import (
    AlertClaimRow,
    AlertRow,
    AlertVectorsRow,
    AssignmentRow,
    FactCheckRow,
    OutboxRow,
    RecallRow,
    VerdictRow,
)


def factcheck_key(url: str, claim: str) -> str:
    return hashlib.sha256(f"{url}\n{claim}".encode()).hexdigest()


@dataclass(frozen=True)
class Remembered:
    """One checked claim or imported fact-check recall compares new claims with: ``vector`` is
    its float16 row in the ``encoder``'s space. Exactly one of (alert_id, claim_n) and
    factcheck_id is set."""

    vector: bytes
    text: str
    alert_id: int | None = None
    claim_n: int | None = None
    factcheck_id: int | None = None

    @property
    def ref(self) -> str:
        return f"#f{self.factcheck_id}" if self.factcheck_id else f"#{self.alert_id}:{self.claim_n}"


@dataclass(frozen=True)
class Match:
    """A new claim (``claim_n`` of the new alert) resembling a remembered check."""

    claim_n: int
    remembered: Remembered
    score: float
    level: str  # "close" or "near"


@dataclass(frozen=True)
class Decided:
    """A confirmed match: the verdict to copy onto the new claim, with where it came from."""

    verdict: Verdict
    source_url: str | None
    note: str


def rating_verdict(rating: str) -> Verdict:
    """A fact-checker's textual rating as the desk's verdict (for copying on confirmation);
    the rating itself is what the alert shows."""
    text = rating.lower()
    if any(w in text for w in ("mislead", "mostly", "half", "partly", "mixed", "context")):
        return Verdict.MISLEADING
    if any(w in text for w in ("false", "fake", "pants", "incorrect", "wrong", "hoax", "ложь")):
        return Verdict.FALSE
    if any(w in text for w in ("true", "correct", "accurate", "правда")):
        return Verdict.TRUE
    return Verdict.UNPROVEN


class MemoryRepository(Repository):
    # ----------------------------------------------------------------------- assignments

    def assign(
        self, alert_id: int, claims: Sequence[int], *, platform: str, user_id: str, user_name: str
    ) -> dict[int, str]:
        """Give the person each claim nobody else is on (and that has no verdict yet);
        returns claim → who else already holds it or "checked", for the ones left alone.
        Re-arms the alert's edits so it shows the assignee."""
        now = self.clock()
        kept: dict[int, str] = {}
        with self._tx() as s:
            for n in claims:
                live = s.scalar(
                    select(AssignmentRow).where(
                        AssignmentRow.alert_id == alert_id,
                        AssignmentRow.claim_n == n,
                        AssignmentRow.released_at.is_(None),
                    )
                )
                if live is not None and (live.platform, live.user_id) == (platform, user_id):
                    continue
                if live is not None:
                    kept[n] = live.user_name
                    continue
                if _checked(s, alert_id, n):
                    kept[n] = "checked"
                    continue
                s.add(
                    AssignmentRow(
                        alert_id=alert_id,
                        claim_n=n,
                        platform=platform,
                        user_id=user_id,
                        user_name=user_name,
                        assigned_at=now,
                    )
                )
            rearm_edits(s, alert_id, now)
        return kept

    def mine(self, platform: str, user_id: str, limit: int = 50) -> list[Assignment]:
        """The person's live assignments on claims still without a verdict, oldest first."""
        with self._tx() as s:
            rows = s.execute(
                select(AssignmentRow, AlertRow.title, AlertClaimRow.text)
                .join(AlertRow, AlertRow.id == AssignmentRow.alert_id)
                .join(
                    AlertClaimRow,
                    (AlertClaimRow.alert_id == AssignmentRow.alert_id)
                    & (AlertClaimRow.n == AssignmentRow.claim_n),
                )
                .where(
                    AssignmentRow.platform == platform,
                    AssignmentRow.user_id == user_id,
                    AssignmentRow.released_at.is_(None),
                )
                .order_by(AssignmentRow.assigned_at, AssignmentRow.id)
            ).all()
            return [
                Assignment(a.id, a.alert_id, a.claim_n, a.user_name, a.assigned_at, title, text)
                for a, title, text in rows
                if not _checked(s, a.alert_id, a.claim_n)
            ][:limit]

    def stale_assignments(self, older_than: datetime) -> list[Assignment]:
        """Live assignments made before ``older_than`` whose claim still has no verdict."""
        with self._tx() as s:
            rows = s.scalars(
                select(AssignmentRow)
                .where(
                    AssignmentRow.released_at.is_(None),
                    AssignmentRow.assigned_at < older_than,
                )
                .order_by(AssignmentRow.id)
            )
            return [
                Assignment(r.id, r.alert_id, r.claim_n, r.user_name, r.assigned_at)
                for r in rows
                if not _checked(s, r.alert_id, r.claim_n)
            ]

    def release(self, assignment_ids: Sequence[int]) -> None:
        """Back to the open pool; the alerts are edited to drop the assignee."""
        if not assignment_ids:
            return
        now = self.clock()
        with self._tx() as s:
            rows = list(
                s.scalars(select(AssignmentRow).where(AssignmentRow.id.in_(list(assignment_ids))))
            )
            for row in rows:
                row.released_at = now
            for alert_id in {r.alert_id for r in rows}:
                rearm_edits(s, alert_id, now)

    # ----------------------------------------------------------------------- the digest

    def verdicts_since(self, since: datetime, limit: int = 50) -> list[DigestVerdict]:
        """Claims whose latest verdict (not a reset) was given after ``since``, oldest first."""
        with self._tx() as s:
            latest = (
                select(func.max(VerdictRow.id))
                .group_by(VerdictRow.alert_id, VerdictRow.claim_n)
                .scalar_subquery()
            )
            rows = s.execute(
                select(VerdictRow, AlertRow.title, AlertRow.url, AlertClaimRow.text)
                .join(AlertRow, AlertRow.id == VerdictRow.alert_id)
                .join(
                    AlertClaimRow,
                    (AlertClaimRow.alert_id == VerdictRow.alert_id)
                    & (AlertClaimRow.n == VerdictRow.claim_n),
                )
                .where(
                    VerdictRow.id.in_(latest),
                    VerdictRow.created_at > since,
                    VerdictRow.verdict != Verdict.UNCHECKED.value,
                )
                .order_by(VerdictRow.created_at, VerdictRow.id)
                .limit(limit)
            ).all()
            return [
                DigestVerdict(v.alert_id, v.claim_n, text, title, url, v.verdict, v.user_name)
                for v, title, url, text in rows
            ]

    def open_claims_by_salience(self, limit: int = 20) -> list[DigestClaim]:
        """Claims without a verdict (or reset), oldest alert first, then by score."""
        with self._tx() as s:
            latest = (
                select(func.max(VerdictRow.id))
                .group_by(VerdictRow.alert_id, VerdictRow.claim_n)
                .scalar_subquery()
            )
            judged = {
                (a, n)
                for a, n in s.execute(
                    select(VerdictRow.alert_id, VerdictRow.claim_n).where(
                        VerdictRow.id.in_(latest), VerdictRow.verdict != Verdict.UNCHECKED.value
                    )
                )
            }
            rows = s.execute(
                select(AlertClaimRow, AlertRow.title, AlertRow.url, AlertRow.created_at)
                .join(AlertRow, AlertRow.id == AlertClaimRow.alert_id)
                .order_by(AlertRow.created_at, AlertRow.id, AlertClaimRow.score.desc())
            ).all()
            out = [
                DigestClaim(c.alert_id, c.n, c.text, title, url, created, c.score)
                for c, title, url, created in rows
                if (c.alert_id, c.n) not in judged
            ]
            return out[:limit]

    # ----------------------------------------------------------------------- fact-checks

    def save_factchecks(
        self,
        items: Sequence[tuple[FactCheck, bytes | None]],
        *,
        encoder: str | None,
        dim: int | None,
        origin: str,
    ) -> tuple[int, int]:
        """Insert or update (same url + claim) each fact-check; returns (added, updated)."""
        added = updated = 0
        now = self.clock()
        with self._tx() as s:
            for check, vector in items:
                key = factcheck_key(check.url, check.claim)
                row = s.scalar(select(FactCheckRow).where(FactCheckRow.key == key))
                if row is None:
                    row = FactCheckRow(key=key, imported_at=now)
                    s.add(row)
                    added += 1
                else:
                    updated += 1
                row.claim, row.rating, row.url = check.claim, check.rating, check.url
                row.checker, row.published, row.claimant = (
                    check.checker,
                    check.published,
                    check.claimant,
                )
                row.encoder, row.dim, row.vector = (
                    (encoder, dim, vector) if vector is not None else (None, None, None)
                )
                row.origin = origin
                s.flush()  # a file listing one review twice updates the first
        return added, updated

    def factchecks(self) -> list[tuple[int, FactCheck]]:
        with self._tx() as s:
            rows = s.scalars(select(FactCheckRow).order_by(FactCheckRow.id))
            return [(r.id, _factcheck(r)) for r in rows]

    # ----------------------------------------------------------------------- what recall reads

    def remembered(self, encoder: str, *, exclude_alert: int | None = None) -> list[Remembered]:
        """Every claim whose latest verdict is not "unchecked" (with its vector from the
        alert's sentence vectors) and every imported fact-check, in ``encoder``'s space."""
        out: list[Remembered] = []
        with self._tx() as s:
            latest = (
                select(func.max(VerdictRow.id))
                .group_by(VerdictRow.alert_id, VerdictRow.claim_n)
                .scalar_subquery()
            )
            checked = s.execute(
                select(VerdictRow.alert_id, VerdictRow.claim_n)
                .where(VerdictRow.id.in_(latest), VerdictRow.verdict != Verdict.UNCHECKED.value)
                .order_by(VerdictRow.alert_id, VerdictRow.claim_n)
            ).all()
            by_alert: dict[int, list[int]] = {}
            for alert_id, claim_n in checked:
                if alert_id != exclude_alert:
                    by_alert.setdefault(alert_id, []).append(claim_n)
            for alert_id, numbers in by_alert.items():
                out.extend(self._claim_vectors(s, alert_id, numbers, encoder))
            for row in s.scalars(
                select(FactCheckRow)
                .where(FactCheckRow.encoder == encoder, FactCheckRow.vector.is_not(None))
                .order_by(FactCheckRow.id)
            ):
                out.append(Remembered(bytes(row.vector or b""), row.claim, factcheck_id=row.id))
        return out

    @staticmethod
    def _claim_vectors(
        s: Session, alert_id: int, numbers: list[int], encoder: str
    ) -> list[Remembered]:
        vectors = s.get(AlertVectorsRow, alert_id)
        if vectors is None or vectors.encoder != encoder:
            return []
        claims = list(
            s.scalars(
                select(AlertClaimRow)
                .where(AlertClaimRow.alert_id == alert_id)
                .order_by(AlertClaimRow.n)
            )
        )
        size = vectors.dim * 2
        data = bytes(vectors.data)
        out = []
        # claim_rows[j] is the sentence row of the alert's j-th claim (claims in n order)
        for j, claim in enumerate(claims):
            if claim.n in numbers and j < len(vectors.claim_rows):
                row = vectors.claim_rows[j]
                out.append(
                    Remembered(
                        data[row * size : (row + 1) * size],
                        claim.text,
                        alert_id=alert_id,
                        claim_n=claim.n,
                    )
                )
        return out

    # ----------------------------------------------------------------------- matches

    def record_matches(self, alert_id: int, matches: Sequence[Match]) -> None:
        """Store the alert's matches (once: a second call for the alert is a no-op) and
        re-arm its edits, in one transaction."""
        if not matches:
            return
        now = self.clock()
        with self._tx() as s:
            if s.scalar(select(RecallRow.id).where(RecallRow.alert_id == alert_id).limit(1)):
                return
            for m in matches:
                s.add(
                    RecallRow(
                        alert_id=alert_id,
                        claim_n=m.claim_n,
                        match_alert_id=m.remembered.alert_id,
                        match_claim_n=m.remembered.claim_n,
                        factcheck_id=m.remembered.factcheck_id,
                        score=m.score,
                        level=m.level,
                        state="suggested",
                        created_at=now,
                    )
                )
            rearm_edits(s, alert_id, now)

    def recall_views(self, alert_id: int) -> dict[int, tuple[RecallView, ...]]:
        with self._tx() as s:
            return recall_views(s, alert_id)

    def decide(
        self, alert_id: int, claim_n: int | None, ref: str, *, confirm: bool, by: str
    ) -> tuple[int, Decided | None] | None:
        """Confirm or reject the suggestion ``ref`` ("#14:3", "#f7") on a claim of the alert
        (any claim suggesting it when ``claim_n`` is None); returns (the claim, what to copy
        when confirmed), or None when no claim of the alert was shown that suggestion."""
        now = self.clock()
        with self._tx() as s:
            query = select(RecallRow).where(RecallRow.alert_id == alert_id)
            if claim_n is not None:
                query = query.where(RecallRow.claim_n == claim_n)
            for row in s.scalars(query.order_by(RecallRow.claim_n, RecallRow.id)):
                view = _view(s, row)
                if view is None or view.ref != ref:
                    continue
                row.state = "confirmed" if confirm else "rejected"
                row.decided_by, row.decided_at = by, now
                rearm_edits(s, alert_id, now)
                if not confirm:
                    return row.claim_n, None
                return row.claim_n, _copied(view)
        return None


def recall_views(s: Session, alert_id: int) -> dict[int, tuple[RecallView, ...]]:
    """Per claim of the alert, what it resembles (closest first), with the earlier
    check's verdict, checker, date, source and where its alert was posted."""
    rows = list(
        s.scalars(
            select(RecallRow)
            .where(RecallRow.alert_id == alert_id)
            .order_by(RecallRow.claim_n, RecallRow.score.desc(), RecallRow.id)
        )
    )
    out: dict[int, list[RecallView]] = {}
    for row in rows:
        view = _view(s, row)
        if view is not None:
            out.setdefault(row.claim_n, []).append(view)
    return {n: tuple(v) for n, v in out.items()}


def _view(s: Session, row: RecallRow) -> RecallView | None:
    if row.factcheck_id is not None:
        check = s.get(FactCheckRow, row.factcheck_id)
        if check is None:
            return None
        return RecallView(
            ref=f"#f{check.id}",
            level=row.level,
            score=row.score,
            text=check.claim,
            rating=check.rating,
            checker=check.checker,
            checked_at=check.published,
            source_url=check.url,
            state=row.state,
        )
    verdict = s.scalar(
        select(VerdictRow)
        .where(
            VerdictRow.alert_id == row.match_alert_id,
            VerdictRow.claim_n == row.match_claim_n,
        )
        .order_by(VerdictRow.created_at.desc(), VerdictRow.id.desc())
        .limit(1)
    )
    claim = s.scalar(
        select(AlertClaimRow).where(
            AlertClaimRow.alert_id == row.match_alert_id,
            AlertClaimRow.n == row.match_claim_n,
        )
    )
    alert = s.get(AlertRow, row.match_alert_id)
    if verdict is None or claim is None or alert is None:
        return None
    posted = s.scalar(
        select(OutboxRow)
        .where(
            OutboxRow.alert_id == alert.id,
            OutboxRow.kind == str(IntentKind.POST_ALERT),
            OutboxRow.state == "sent",
            OutboxRow.message_id.is_not(None),
        )
        .order_by(OutboxRow.id)
        .limit(1)
    )
    return RecallView(
        ref=f"#{alert.id}:{claim.n}",
        level=row.level,
        score=row.score,
        text=claim.text,
        rating=verdict.verdict,
        checker=verdict.user_name,
        checked_at=verdict.created_at,
        source_url=verdict.source_url,
        alert_id=alert.id,
        alert_url=alert.url,
        message=MessageRef(posted.destination, posted.message_id or "", posted.thread_id)
        if posted is not None
        else None,
        state=row.state,
    )


@dataclass(frozen=True)
class DigestVerdict:
    alert_id: int
    claim_n: int
    text: str
    alert_title: str
    alert_url: str | None
    verdict: str
    checker: str


@dataclass(frozen=True)
class DigestClaim:
    alert_id: int
    claim_n: int
    text: str
    alert_title: str
    alert_url: str | None
    alerted_at: datetime
    score: float


# --------------------------------------------------------------------------- who is checking what


@dataclass(frozen=True)
class Assignment:
    id: int
    alert_id: int
    claim_n: int
    user_name: str
    assigned_at: datetime
    alert_title: str = ""
    claim_text: str = ""


def assignees(s: Session, alert_id: int) -> dict[int, str]:
    """Claim → who is on it, for the claims of the alert with a live assignment."""
    rows = s.scalars(
        select(AssignmentRow).where(
            AssignmentRow.alert_id == alert_id, AssignmentRow.released_at.is_(None)
        )
    )
    return {row.claim_n: row.user_name for row in rows}


def _checked(s: Session, alert_id: int, claim_n: int) -> bool:
    latest = s.scalar(
        select(VerdictRow.verdict)
        .where(VerdictRow.alert_id == alert_id, VerdictRow.claim_n == claim_n)
        .order_by(VerdictRow.created_at.desc(), VerdictRow.id.desc())
        .limit(1)
    )
    return latest not in (None, Verdict.UNCHECKED.value)


def _copied(view: RecallView) -> Decided:
    verdict = (
        Verdict(view.rating)
        if view.rating in {v.value for v in Verdict}
        else rating_verdict(view.rating)
    )
    when = view.checked_at.strftime("%Y-%m-%d") if view.checked_at else "undated"
    where = f"alert #{view.alert_id}" if view.alert_id else "imported fact-check"
    return Decided(
        verdict,
        view.source_url,
        f"same as {view.ref}: {view.rating} — by {view.checker}, {when}, in {where}",
    )


def _factcheck(row: FactCheckRow) -> FactCheck:
    return FactCheck(row.claim, row.rating, row.url, row.checker, row.published, row.claimant)
