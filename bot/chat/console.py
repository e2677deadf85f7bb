"""The embedded default sink: readable alerts on a terminal, with an optional JSON-lines journal.

With a journal the console sink can tell, after a crash, that it already printed an alert,
so "exactly once" holds here too and tests can count deliveries across processes.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.analysis.text import clean_for_display
from bot.models import AlertView, Destination, MessageRef, RecallView, Verdict

STATUS_MARK = {
    Verdict.UNCHECKED: "[ ]",
    Verdict.TRUE: "[true]",
    Verdict.FALSE: "[FALSE]",
    Verdict.MISLEADING: "[misleading]",
    Verdict.UNPROVEN: "[unproven]",
}


def _clean(text: str | None) -> str:
    """Feed text made safe for a terminal: control characters (escape sequences from a hostile
    feed included), bidi controls and invisible characters gone (the shared cleaner)."""
    return clean_for_display(text)


def recall_line(claim_n: int, r: RecallView) -> str:
    """An earlier check the claim resembles, in plain text (the console and its journal)."""
    when = r.checked_at.strftime("%Y-%m-%d") if r.checked_at else "undated"
    said = [f"by {_clean(r.checker)}", when]
    if r.source_url:
        said.append(_clean(r.source_url))
    if r.alert_id is not None:
        said.append(
            f"in alert #{r.alert_id}" + (f" ({_clean(r.alert_url)})" if r.alert_url else "")
        )
    if r.level == "close" or r.state == "confirmed":
        done = " (confirmed)" if r.state == "confirmed" else ""
        return f"♻ already checked: {_clean(r.rating)}{done} — {', '.join(said)} [{r.ref}]"
    return (
        f"🔎 similar to “{_clean(r.text)}” — {_clean(r.rating)} {', '.join(said)}; reply "
        f"“{claim_n} same as {r.ref}” or “{claim_n} not {r.ref}”"
    )


def render_alert(alert: AlertView) -> str:
    lines = [f"━━ ALERT #{alert.alert_id}: {_clean(alert.title)}"]
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "time unknown"
    lines.append(f"   {_clean(alert.source)} · {when}")
    if alert.story_header is not None:
        lines.append(f"   {_clean(alert.story_header)}")
    if alert.url:
        lines.append(f"   {_clean(alert.url)}")
    for entity in alert.entities:
        lines.append(f"   • {_clean(entity.name)} — {_clean(entity.why)}")
    if alert.summary:
        lines.append("   Summary:")
        lines.extend(f"     {_clean(s)}" for s in alert.summary)
    if alert.claims:
        lines.append("   Claims to check:")
    for claim in alert.claims:
        status = STATUS_MARK[claim.verdict]
        by = f" — {_clean(claim.checked_by)}" if claim.checked_by else ""
        source = f" ({_clean(claim.source_url)})" if claim.source_url else ""
        kinds = f" [{', '.join(claim.kinds)}]" if claim.kinds else ""
        lines.append(f"     {claim.n}. {status} {_clean(claim.text)}{kinds}{by}{source}")
        if claim.disagreements:
            said = "; ".join(
                f"{_clean(d.checked_by)} said {d.verdict.value}" for d in claim.disagreements
            )
            lines.append(f"        ⚖ disagrees: {said}")
        if claim.assigned_to:
            lines.append(f"        👤 {_clean(claim.assigned_to)} is on it")
        for r in claim.recall:
            if r.state != "rejected":
                lines.append(f"        {recall_line(claim.n, r)}")
    return "\n".join(lines)


class ConsoleSink:
    """`bot.desk.sinks.Sink` for the terminal; a thread post is printed indented under a
    mention of its alert."""

    platform = "console"
    request_timeout_s = 0.0  # a local write: no remote to wait for

    def __init__(self, stream: TextIO | None = None, journal: Path | None = None):
        self.stream = stream or sys.stdout
        self.journal = journal
        self._lock = threading.Lock()
        self._replies = 0

    def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
        ref = MessageRef("console", f"console-{alert.alert_id}")
        with self._lock:
            self.stream.write(render_alert(alert) + "\n\n")
            self.stream.flush()
            self._journal({"event": "alert", "alert_id": alert.alert_id, "title": alert.title})
        return ref

    def find_posted(self, alert_id: int, to: Destination) -> MessageRef | None:
        if self.journal is None or not self.journal.exists():
            return None
        for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line torn by a crash mid-write: it recorded nothing
                continue
            if record.get("event") == "alert" and record.get("alert_id") == alert_id:
                return MessageRef("console", f"console-{alert_id}")
        return None

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        with self._lock:
            self.stream.write(f"(updated) {render_alert(alert)}\n\n")
            self.stream.flush()
            self._journal({"event": "update", "alert_id": alert.alert_id})

    def post_in_thread(self, ref: MessageRef, text: str) -> MessageRef:
        with self._lock:
            self._replies += 1
            reply = MessageRef("console", f"{ref.message_id}-reply-{self._replies}", ref.message_id)
            self.stream.write(f"   ↳ in {_clean(ref.message_id)}: {_clean(text)}\n")
            self.stream.flush()
            self._journal({"event": "thread", "message_id": ref.message_id, "text": text})
        return reply

    def post_notice(self, to: Destination, text: str) -> None:
        with self._lock:
            self.stream.write(f"── NOTICE: {_clean(text)}\n")
            self.stream.flush()
            self._journal({"event": "notice", "text": text})

    def _journal(self, record: dict[str, object]) -> None:
        if self.journal is None:
            return
        with self.journal.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
