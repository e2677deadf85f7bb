"""Recall: a new alert's flagged claims against the desk's memory of checked claims; and
the release of "I'm on it" assignments that outlived ``[memory] assignment_timeout``.

Right after an alert is written, each of its claims (its vector from the alert's sentence
vectors: nothing is encoded again) is compared with every claim that has a verdict and every
imported fact-check in the same encoder's space. A match at or above ``[memory]
recall_threshold`` is shown on the claim as "already checked", one at or above
``near_threshold`` as "similar to" for a human to confirm or reject from the thread
(`RecallReply`, parsed by `bot.desk.verdicts.parse_recall_reply`); confirming copies the
earlier verdict with its provenance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from bot.analysis.encoder import vectors_array
from bot.analysis.recall import same_claim_score
from bot.models import AlertView, SentenceVectors
from bot.settings import MemorySettings, format_duration
from bot.store.memory import Assignment, Match, Remembered
from bot.store.outbox import Intent, IntentKind

log = logging.getLogger(__name__)

# The most `same_claim_score` adds to a cosine: candidates below near_threshold minus this
# cannot reach it and are not scored.
_MAX_CORRECTION = 0.1


class RecallAlerts(Protocol):
    def alert_vectors(self, alert_id: int) -> SentenceVectors | None: ...

    def alert_view(self, alert_id: int) -> AlertView | None: ...


class RecallMemory(Protocol):
    def remembered(self, encoder: str, *, exclude_alert: int | None = None) -> list[Remembered]: ...

    def record_matches(self, alert_id: int, matches: Sequence[Match]) -> None: ...


class RecallStore(Protocol):
    alerts: RecallAlerts
    memory: RecallMemory


def _matrix(remembered: Sequence[Remembered], dim: int) -> np.ndarray:
    data = b"".join(r.vector for r in remembered)
    return np.frombuffer(data, dtype="<f2").reshape(len(remembered), dim).astype(np.float32)


class Recall:
    def __init__(self, store: RecallStore, settings: MemorySettings):
        self.store = store
        self.settings = settings

    def run(self, alert_ids: Iterable[int]) -> dict[int, list[Match]]:
        """Find and store the matches of each alert; a crash on one alert is logged and
        never stops the alert from being delivered (recall is an aid, not a gate)."""
        found = {}
        for alert_id in alert_ids:
            try:
                matches = self.matches(alert_id)
                self.store.memory.record_matches(alert_id, matches)
            except Exception:
                log.exception("recall for alert %s failed; the alert goes out without it", alert_id)
                continue
            if matches:
                found[alert_id] = matches
        return found

    def matches(self, alert_id: int) -> list[Match]:
        vectors = self.store.alerts.alert_vectors(alert_id)
        view = self.store.alerts.alert_view(alert_id)
        if vectors is None or view is None or not view.claims or not vectors.claim_rows:
            return []
        remembered = self.store.memory.remembered(vectors.encoder, exclude_alert=alert_id)
        remembered = [r for r in remembered if len(r.vector) == vectors.dim * 2]
        if not remembered:
            return []
        claims = vectors_array(vectors)[list(vectors.claim_rows)]
        cosines = claims @ _matrix(remembered, vectors.dim).T
        out: list[Match] = []
        for j, claim in enumerate(view.claims[: len(vectors.claim_rows)]):
            out.extend(self._best(claim.n, claim.text, cosines[j], remembered))
        return out

    def _best(
        self, claim_n: int, text: str, cosines: np.ndarray, remembered: Sequence[Remembered]
    ) -> list[Match]:
        near, close = self.settings.near_threshold, self.settings.recall_threshold
        scored = []
        for k in np.flatnonzero(cosines >= near - _MAX_CORRECTION):
            score = same_claim_score(float(cosines[k]), remembered[k].text, text)
            if score >= near:
                level = "close" if score >= close else "near"
                scored.append(Match(claim_n, remembered[k], round(score, 4), level))
        scored.sort(key=lambda m: -m.score)
        return scored[: self.settings.max_matches]


# --------------------------------------------------------------------------- assignments


class ReleaseMemory(Protocol):
    def stale_assignments(self, older_than: datetime) -> list[Assignment]: ...

    def release(self, assignment_ids: Sequence[int]) -> None: ...


class ReleaseOutbox(Protocol):
    def intents_for_alert(self, alert_id: int, kind: IntentKind | None = None) -> list[Intent]: ...

    def add_thread_post(
        self, alert_id: int, destination: str, text: str, *, key: str | None = None
    ) -> bool: ...


def release_stale(
    memory: ReleaseMemory, outbox: ReleaseOutbox, *, now: datetime, timeout_s: int
) -> list[Assignment]:
    """Every "I'm on it" older than ``timeout_s`` without a verdict goes back to the open
    pool, with a note in each copy of the alert's thread. The notes are queued first (keyed,
    so a crash before the release never posts twice), then the assignments released."""
    stale = memory.stale_assignments(now - timedelta(seconds=timeout_s))
    for a in stale:
        text = (
            f"Claim {a.claim_n} is back in the open pool: {a.user_name} took it "
            f"{format_duration(timeout_s)} ago and no verdict came."
        )
        for post in outbox.intents_for_alert(a.alert_id, IntentKind.POST_ALERT):
            if post.state != "failed":
                outbox.add_thread_post(
                    a.alert_id,
                    str(post.destination),
                    text,
                    key=f"release-{a.id}@{post.destination}",
                )
    memory.release([a.id for a in stale])
    return stale
