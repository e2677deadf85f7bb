"""Rendering an `AlertView` as a Slack message: Block Kit blocks plus a plain-text fallback.

Blocks are built with `slack_sdk.models.blocks`, whose validators enforce Slack's limits (3000
characters per section, 10 context elements, 50 blocks); every text is cut to fit *before* it is
built, so a long feed never makes an alert fail. All feed text passes through
`escape.truncate_escaped` exactly once; the only markup in the output is the markup built here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.analysis.text import clean_for_display
from bot.chat.slack.escape import link, safe_url, truncate_escaped
from bot.models import AlertView, ClaimView, RecallView, Verdict

SECTION_LIMIT = 3000  # SectionBlock.text_max_length
CONTEXT_TEXT_LIMIT = 2000  # a context element's text; Slack rejects much longer ones
FALLBACK_LIMIT = 400  # the notification text: short on purpose
REPLY_LIMIT = 3900  # an ephemeral/thread reply: one screen, far below Slack's 40k cut
MAX_BLOCKS = 50  # Slack's per-message limit
RECALL_LINK_LIMIT = 600  # a link in a recall line: longer URLs show as their label
RECALL_ROOM = 1500  # the recall lines under one claim
MAX_CLAIM_BLOCKS = 40  # leaves room for the head, entities, summary and footer blocks

VERDICT_BADGES: dict[Verdict, str] = {
    Verdict.UNCHECKED: ":white_circle: unchecked",
    Verdict.TRUE: ":white_check_mark: *true*",
    Verdict.FALSE: ":x: *false*",
    Verdict.MISLEADING: ":warning: *misleading*",
    Verdict.UNPROVEN: ":grey_question: *unproven*",
}

REPLY_HELP = (
    "Reply in thread: `2 false &lt;source url&gt;` · `claim 3: misleading — why` · "
    "`1,2 true` · `all true`"
)


@dataclass(frozen=True)
class SlackMessage:
    """What `chat.postMessage` / `chat.update` receive: escaped fallback text and block JSON."""

    text: str
    blocks: list[dict[str, Any]]


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack must not auto-link bare URLs, #channel names or @mentions in our text.
    return MarkdownTextObject(text=text, verbatim=True)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn(text))


def _slack_date(moment: datetime) -> str:
    """A ``<!date>`` sequence: each reader sees the time in their own time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _headline(alert: AlertView) -> SectionBlock:
    title = clean_for_display(alert.title).strip() or "(untitled article)"
    return _section(f"*{link(alert.url, title, limit=SECTION_LIMIT - 2)}*")


def _byline(alert: AlertView) -> ContextBlock:
    elements = [_mrkdwn(f"*{truncate_escaped(alert.source or 'unknown source', 300)}*")]
    if alert.published is not None:
        elements.append(_mrkdwn(_slack_date(alert.published)))
    elements.append(_mrkdwn(f"alert #{alert.alert_id}"))
    if alert.story_header is not None:
        elements.append(_mrkdwn(truncate_escaped(alert.story_header, 1000)))
    return ContextBlock(elements=elements)


def _fill_lines(title: str, lines: list[str], limit: int = SECTION_LIMIT) -> str:
    """Join as many already-escaped lines as fit under `limit`, saying how many were left out."""
    text = title
    for shown, line in enumerate(lines):
        more = f"\n_…and {len(lines) - shown} more_"
        if len(text) + 1 + len(line) + len(more) > limit:
            return text + more
        text += "\n" + line
    return text


def _entities(alert: AlertView) -> SectionBlock | None:
    if not alert.entities:
        return None
    lines = [
        f"• *{truncate_escaped(e.name, 200)}* — {truncate_escaped(e.why, 600)}"
        if e.why.strip()
        else f"• *{truncate_escaped(e.name, 200)}*"
        for e in alert.entities
    ]
    return _section(_fill_lines("*Matched*", lines))


def _summary(alert: AlertView) -> SectionBlock | None:
    text = " ".join(s.strip() for s in alert.summary if s.strip())
    if not text:
        return None
    return _section("*Summary*\n" + truncate_escaped(text, SECTION_LIMIT - 20))


def claim_status(claim: ClaimView) -> str:
    """The claim's verdict line: badge, who checked it, their source and note."""
    parts = [VERDICT_BADGES[claim.verdict]]
    if claim.verdict is not Verdict.UNCHECKED and claim.checked_by:
        parts.append(f"by {truncate_escaped(claim.checked_by, 100)}")
    if claim.source_url:
        if safe_url(claim.source_url):
            parts.append(link(claim.source_url, "source", limit=1200))
        else:  # not a web link (the desk may accept other references): show it as text
            parts.append(truncate_escaped(claim.source_url, 300))
    if claim.note and claim.note.strip():
        parts.append(f"_{truncate_escaped(claim.note.strip(), 500)}_")
    status = " · ".join(parts)
    if claim.disagreements:
        status += "\n" + disagreement_line(claim)
    return status


def disagreement_line(claim: ClaimView) -> str:
    """Other checkers' verdicts that differ from the one shown: a disagreement, not history."""
    said = "; ".join(
        f"{truncate_escaped(d.checked_by, 100)} said {VERDICT_BADGES[d.verdict]}"
        for d in claim.disagreements[:5]
    )
    more = len(claim.disagreements) - 5
    return f":scales: *disagreement* — {said}" + (f" (+{more} more)" if more > 0 else "")


def _recall_line(claim: ClaimView, r: RecallView) -> str:
    """One earlier check the claim resembles: "already checked" (close) or "similar to"
    (near, with the replies that confirm or reject it)."""
    when = r.checked_at.strftime("%Y-%m-%d") if r.checked_at else "undated"
    said = [f"by {truncate_escaped(r.checker, 100)}", when]
    if r.source_url and safe_url(r.source_url):
        said.append(link(r.source_url, "source", limit=RECALL_LINK_LIMIT))
    if r.alert_id is not None:
        said.append("in " + link(r.alert_url, f"alert #{r.alert_id}", limit=RECALL_LINK_LIMIT))
    rating = truncate_escaped(r.rating, 100)
    if r.level == "close" or r.state == "confirmed":
        done = " (confirmed)" if r.state == "confirmed" else ""
        return f":recycle: *already checked: {rating}*{done} — {', '.join(said)} · `{r.ref}`"
    text = truncate_escaped(clean_for_display(r.text), 200)
    return (
        f":mag: similar to “{text}” — {rating} {', '.join(said)} · reply "
        f"`{claim.n} same as {r.ref}` or `{claim.n} not {r.ref}`"
    )


def recall_text(claim: ClaimView, room: int = RECALL_ROOM) -> str:
    """The claim's earlier checks (the desk's memory), rejected suggestions left out, as
    many whole lines as fit in ``room`` (a cut line would break its links)."""
    text = ""
    for r in claim.recall:
        if r.state == "rejected":
            continue
        line = _recall_line(claim, r)
        if len(text) + 1 + len(line) > room:
            break
        text = f"{text}\n{line}" if text else line
    return text


def _claim(claim: ClaimView) -> SectionBlock:
    status = claim_status(claim)
    if claim.assigned_to:
        status += f" · :bust_in_silhouette: *{truncate_escaped(claim.assigned_to, 100)}* is on it"
    recall = recall_text(claim, min(RECALL_ROOM, SECTION_LIMIT - len(status) - 300))
    if recall:
        status += "\n" + recall
    kinds = f" _({truncate_escaped(', '.join(claim.kinds), 100)})_" if claim.kinds else ""
    head = f"*{claim.n}.* "
    room = SECTION_LIMIT - len(head) - len(kinds) - len(status) - 1
    return _section(f"{head}{truncate_escaped(claim.text, room)}{kinds}\n{status}")


def _claims(alert: AlertView) -> list[Block]:
    if not alert.claims:
        return [_section("_No check-worthy claims flagged._")]
    blocks: list[Block] = [_section(f"*Claims to check* ({len(alert.claims)})")]
    blocks.extend(_claim(c) for c in alert.claims[:MAX_CLAIM_BLOCKS])
    hidden = len(alert.claims) - MAX_CLAIM_BLOCKS
    if hidden > 0:
        blocks.append(ContextBlock(elements=[_mrkdwn(f"…and {hidden} more claims not shown")]))
    return blocks


def fallback_text(alert: AlertView) -> str:
    """The notification / screen-reader text sent alongside the blocks (escaped)."""
    names = ", ".join(e.name for e in alert.entities)
    open_claims = sum(1 for c in alert.claims if c.verdict is Verdict.UNCHECKED)
    title = clean_for_display(alert.title).strip() or "(untitled article)"
    raw = f"{title} — {alert.source}"
    if names:
        raw += f" · matched {names}"
    if alert.claims:
        raw += f" · {open_claims} of {len(alert.claims)} claims unchecked"
    return truncate_escaped(raw, FALLBACK_LIMIT)


def render_alert(alert: AlertView) -> SlackMessage:
    """The whole alert message; never raises for long or hostile feed text."""
    blocks: list[Block] = [_headline(alert), _byline(alert)]
    for block in (_entities(alert), _summary(alert)):
        if block is not None:
            blocks.append(block)
    blocks.append(DividerBlock())
    blocks.extend(_claims(alert))
    if alert.claims:
        blocks.append(ContextBlock(elements=[_mrkdwn(REPLY_HELP)]))
    blocks = blocks[:MAX_BLOCKS]
    # to_dict() runs slack_sdk's validators: a limit we failed to respect fails here, in tests.
    return SlackMessage(text=fallback_text(alert), blocks=[b.to_dict() for b in blocks])


def render_reply(text: str) -> str:
    """A desk `Reply` (plain text that may quote feed text) as safe mrkdwn."""
    return truncate_escaped(text, REPLY_LIMIT)
