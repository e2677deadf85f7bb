"""Discord markup for alerts and replies: escaping untrusted text and fitting Discord's limits.

Every piece of feed- or user-derived text goes through `escape_text` exactly once, as the last
step before it is placed in a message, so a feed title like ``@everyone [bank.com](http://evil)``
can neither ping (mentions are also switched off per message) nor render as a spoofed link.
Discord rejects a message whose embed breaks a length limit; `alert_embed` therefore cuts with
an ellipsis until every limit holds, and never raises for odd input.

Discord counts embed lengths in UTF-16 code units (it is a JavaScript-facing API); counting that
way is never less than counting code points, so what fits here fits there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.analysis.text import clean_for_display
from bot.models import AlertView, ClaimView, RecallView, Verdict

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256  # author.name: plain text (no markdown), shown above the title
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
URL_LIMIT = 2048
THREAD_NAME_LIMIT = 100

# How many fields each part of an alert may use (the rest are summarised in one field).
MAX_ENTITY_FIELDS = 5
ELLIPSIS = "…"

# The footer is how a restarted bot recognises its own alert among recent channel messages.
FOOTER_PREFIX = "Watchdesk alert #"
FOOTER_ALERT_RE = re.compile(r"^Watchdesk alert #(\d{1,18})(?!\d)")

VERDICT_ICON: dict[Verdict, str] = {
    Verdict.UNCHECKED: "⬜",
    Verdict.TRUE: "✅",
    Verdict.FALSE: "❌",
    Verdict.MISLEADING: "⚠️",
    Verdict.UNPROVEN: "❓",
}

# Colour by the alert's worst verdict so far; green only when every claim is checked true.
COLOUR_NEW = 0x5865F2
COLOUR_TRUE = 0x57F287
COLOUR_FALSE = 0xED4245
COLOUR_MISLEADING = 0xE67E22
COLOUR_UNPROVEN = 0xFEE75C

# Discord's own autolink pattern, minus ` | * and backslash (so they are escaped even at the
# end of a URL; real URLs rarely contain them).
_URL_PATTERN = r"<https?://[^\s<>`|*\\]+>|https?://[^\s<`|*\\]+[^<.,:;\"'\]\s`|*\\]"
# Markup that works anywhere in a line: emphasis, code, spoilers, escapes, masked links
# ([label](url)) and angle-bracket syntax (<@1> mentions, <#1> channels, <t:1> timestamps,
# </cmd:1> commands); and markup that only works at the start of a line: headings, subtext,
# quotes and lists. Escaping a character that would not have formed markup is harmless:
# Discord renders a backslash before ASCII punctuation as just the punctuation.
_ESCAPE_RE = re.compile(
    rf"(?P<url>{_URL_PATTERN})"
    r"|(?P<char>[\\*_~|`\[\]<])"
    r"|(?P<mention>@(?=everyone|here|[!&]?[0-9]{15,21}))"
    r"|(?P<lead>^[ \t]*(?:#{1,3}|-#|-|\+|>>>|>|\d+\.)(?=[ \t]|$))",
    re.MULTILINE,
)
# Inside a URL, brackets could close or open a masked link and "@" could read as a mention or
# hide the real host (https://bank.com@evil.example); percent-encoding keeps paths equivalent.
_URL_BRACKETS = str.maketrans({"[": "%5B", "]": "%5D", "(": "%28", ")": "%29", "@": "%40"})


def one_line(text: str | None) -> str:
    """Feed text as a single line: no newlines to start headings or quotes, no controls."""
    return " ".join(clean_for_display(text).split())


def _escape_url(url: str) -> str:
    """A URL found in text: kept clickable, brackets encoded; an unbalanced closing parenthesis
    ("(see https://x.org)") belongs to the sentence, not the URL."""
    tail = ""
    while url.endswith(")") and url.count(")") > url.count("("):
        url, tail = url[:-1], tail + ")"
    return url.translate(_URL_BRACKETS) + tail


def escape_text(text: str) -> str:
    """Make untrusted text inert in Discord markdown: no markup, no masked links, no mentions.

    URLs stay clickable (unescaped, brackets percent-encoded) because escaping inside a URL
    would change where it points. Bidi controls, invisible and control characters are removed
    first (`clean_for_display`, shared with Slack and the console); the only invisible
    character in the result is the zero-width space this function puts after "@" to break
    a mention.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("url"):
            return _escape_url(match.group("url"))
        if match.group("char"):
            return "\\" + match.group("char")
        if match.group("mention"):
            return "@\u200b"
        lead = match.group("lead")
        if lead.endswith("."):
            return lead[:-1] + "\\."  # "1." → "1\." (a backslash before a digit is literal)
        stripped = lead.lstrip(" \t")
        return lead[: len(lead) - len(stripped)] + "\\" + stripped

    return _ESCAPE_RE.sub(replace, clean_for_display(text))


def discord_len(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` Discord characters, cut with an ellipsis when too long.

    Never splits a surrogate pair or leaves a dangling escape backslash at the cut.
    """
    if discord_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - discord_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(char)
        used += size
    cut = "".join(out).rstrip()
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """The URL if Discord will accept it as a link (http/https, no spaces, not too long).

    A feed may carry ``javascript:`` or garbage; Discord would reject the whole message for a
    malformed embed URL, so such a link is dropped instead.
    """
    if not url:
        return None
    url = url.strip()
    if not url or any(c.isspace() for c in url) or discord_len(url) > URL_LIMIT:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def alert_colour(claims: tuple[ClaimView, ...]) -> int:
    """The embed colour for the alert's current state."""
    verdicts = {claim.verdict for claim in claims}
    if Verdict.FALSE in verdicts:
        return COLOUR_FALSE
    if Verdict.MISLEADING in verdicts:
        return COLOUR_MISLEADING
    if Verdict.UNPROVEN in verdicts:
        return COLOUR_UNPROVEN
    if verdicts == {Verdict.TRUE}:
        return COLOUR_TRUE
    return COLOUR_NEW


def _timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _recall_line(claim: ClaimView, r: RecallView) -> str:
    """One earlier check the claim resembles: "already checked" (close) or "similar to"
    (near, with the replies that confirm or reject it)."""
    when = r.checked_at.strftime("%Y-%m-%d") if r.checked_at else "undated"
    said = [f"by {escape_text(clip(one_line(r.checker), 80))}", when]
    source = safe_url(r.source_url)
    if source is not None and discord_len(source) <= 512:
        said.append(f"[source]({source.translate(_URL_BRACKETS)})")
    if r.alert_id is not None:
        article = safe_url(r.alert_url)
        label = f"alert #{r.alert_id}"
        said.append(
            "in " + (f"[{label}]({article.translate(_URL_BRACKETS)})" if article else label)
        )
    rating = escape_text(clip(one_line(r.rating), 60))
    if r.level == "close" or r.state == "confirmed":
        done = " (confirmed)" if r.state == "confirmed" else ""
        return f"-# ♻️ **already checked: {rating}**{done} — {', '.join(said)} · `{r.ref}`"
    text = escape_text(clip(one_line(r.text), 200))
    return (
        f"-# 🔎 similar to “{text}” — {rating} {', '.join(said)} · reply "
        f"`{claim.n} same as {r.ref}` or `{claim.n} not {r.ref}`"
    )


def recall_text(claim: ClaimView) -> str:
    """The claim's earlier checks (the desk's memory), rejected suggestions left out."""
    return "\n".join(_recall_line(claim, r) for r in claim.recall if r.state != "rejected")


def _claim_field(claim: ClaimView) -> dict[str, Any]:
    kinds = ", ".join(one_line(kind) for kind in claim.kinds if kind)
    name = f"{VERDICT_ICON.get(claim.verdict, '⬜')} Claim {claim.n} · {claim.verdict.value}"
    if kinds:
        name += f" ({escape_text(kinds)})"
    status = _claim_status(claim)
    if claim.assigned_to:
        on_it = f"-# 👤 {escape_text(clip(one_line(claim.assigned_to), 80))} is on it"
        status = f"{status}\n{on_it}" if status else on_it
    recall = recall_text(claim)
    if recall:
        status = f"{status}\n{recall}" if status else recall
    text_budget = FIELD_VALUE_LIMIT - (discord_len(status) + 1 if status else 0)
    value = clip(escape_text(one_line(claim.text)) or "—", max(text_budget, 40))
    return _field(name, f"{value}\n{status}" if status else value)


def _claim_status(claim: ClaimView) -> str:
    """The small print under a judged claim: checked by X <t:…:R> · [source](url) · note."""
    if claim.verdict is Verdict.UNCHECKED and not claim.checked_by:
        return ""
    parts: list[str] = []
    if claim.checked_by:
        by = f"checked by {escape_text(clip(one_line(claim.checked_by), 80))}"
        if claim.checked_at is not None:
            at = (
                claim.checked_at
                if claim.checked_at.tzinfo
                else claim.checked_at.replace(tzinfo=UTC)
            )
            by += f" <t:{int(at.timestamp())}:R>"
        parts.append(by)
    source = safe_url(claim.source_url)
    if source is not None and discord_len(source) <= 512:
        parts.append(f"[source]({source.translate(_URL_BRACKETS)})")
    if claim.note:
        parts.append(escape_text(clip(one_line(claim.note), 300)))
    status = "-# " + " · ".join(parts) if parts else ""
    if claim.disagreements:
        said = "; ".join(
            f"{escape_text(clip(one_line(d.checked_by), 80))} said "
            f"{VERDICT_ICON.get(d.verdict, '⬜')} {d.verdict.value}"
            for d in claim.disagreements[:5]
        )
        status += f"\n-# ⚖️ disagreement — {said}"
    return status


def _field(name: str, value: str) -> dict[str, Any]:
    """An embed field; Discord refuses an empty (or all-blank) name or value."""
    return {
        "name": clip(name.strip() or "—", FIELD_NAME_LIMIT),
        "value": clip(value.strip() or "—", FIELD_VALUE_LIMIT),
        "inline": False,
    }


def _entity_fields(alert: AlertView) -> list[dict[str, Any]]:
    fields = [
        _field(f"🔎 {escape_text(one_line(entity.name))}", escape_text(one_line(entity.why)))
        for entity in alert.entities[:MAX_ENTITY_FIELDS]
    ]
    rest = [one_line(entity.name) for entity in alert.entities[MAX_ENTITY_FIELDS:]]
    if rest:
        names = ", ".join(escape_text(name) for name in rest if name)
        fields.append(_field("🔎 Also matched", names or f"{len(rest)} more"))
    return fields


def _claim_fields(alert: AlertView, room: int) -> list[dict[str, Any]]:
    claims = alert.claims
    if len(claims) <= room:
        return [_claim_field(claim) for claim in claims]
    shown = [_claim_field(claim) for claim in claims[: room - 1]]
    hidden = claims[room - 1 :]
    listing = ", ".join(f"{VERDICT_ICON.get(c.verdict, '⬜')} {c.n}" for c in hidden)
    shown.append(
        _field(
            f"{len(hidden)} more claims",
            f"{listing}\nReply in the thread, e.g. `{hidden[0].n} false`.",
        )
    )
    return shown


def embed_length(embed: dict[str, Any]) -> int:
    """The total Discord counts against the 6,000-character embed limit."""
    total = discord_len(embed.get("title", "")) + discord_len(embed.get("description", ""))
    total += discord_len(embed.get("footer", {}).get("text", ""))
    total += discord_len(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", []):
        total += discord_len(field["name"]) + discord_len(field["value"])
    return total


def _fit_total(embed: dict[str, Any]) -> None:
    """Shrink the longest texts until the whole embed is within 6,000 characters."""
    floors = {"description": 40, "value": 40, "name": 24}
    while (over := embed_length(embed) - EMBED_TOTAL_LIMIT) > 0:
        pieces: list[tuple[int, dict[str, Any], str]] = []
        if "description" in embed:
            pieces.append((discord_len(embed["description"]), embed, "description"))
        for field in embed.get("fields", []):
            pieces.append((discord_len(field["value"]), field, "value"))
            pieces.append((discord_len(field["name"]), field, "name"))
        size, holder, key = max(pieces, key=lambda piece: piece[0], default=(0, {}, ""))
        floor = floors.get(key, 0)
        if size > floor:
            holder[key] = clip(holder[key], max(floor, size - over))
        elif embed.get("fields"):
            embed["fields"].pop()
        else:
            embed["title"] = clip(embed.get("title", ""), 40)
            embed.get("footer", {})["text"] = clip(embed.get("footer", {}).get("text", ""), 40)
            break


def alert_embed(alert: AlertView) -> dict[str, Any]:
    """The alert as a Discord embed object (API JSON), within every Discord limit."""
    title = escape_text(one_line(alert.title)) or "(untitled article)"
    embed: dict[str, Any] = {
        "type": "rich",
        "title": clip(title, TITLE_LIMIT),
        "color": alert_colour(alert.claims),
        "footer": {
            "text": clip(
                f"{FOOTER_PREFIX}{alert.alert_id} · {one_line(alert.source)}", FOOTER_LIMIT
            )
        },
    }
    if alert.story_header is not None:  # the story's sources, above the title
        embed["author"] = {"name": clip(one_line(alert.story_header), AUTHOR_LIMIT)}
    url = safe_url(alert.url)
    if url is not None:
        embed["url"] = url
    summary = "\n".join(
        escape_text(one_line(sentence)) for sentence in alert.summary if one_line(sentence)
    )
    if summary:
        embed["description"] = clip(summary, DESCRIPTION_LIMIT)
    timestamp = _timestamp(alert.published)
    if timestamp is not None:
        embed["timestamp"] = timestamp
    fields = _entity_fields(alert)
    fields += _claim_fields(alert, FIELD_COUNT_LIMIT - len(fields))
    if fields:
        embed["fields"] = fields
    _fit_total(embed)
    return embed


def alert_id_from_footer(footer_text: str | None) -> int | None:
    """The alert id in a footer this bot wrote, or None."""
    match = FOOTER_ALERT_RE.match(footer_text or "")
    return int(match.group(1)) if match else None


def thread_name(alert: AlertView) -> str:
    """Thread names show no markdown and ping no one; they only need to be short."""
    return clip(
        f"Alert #{alert.alert_id}: {one_line(alert.title) or 'untitled'}", THREAD_NAME_LIMIT
    )


def reply_content(text: str) -> str:
    """A desk reply (plain text that may quote feed text) as safe message content."""
    lines = [escape_text(clean_for_display(line).rstrip()) for line in text.splitlines()]
    return clip("\n".join(lines).strip() or "Done.", CONTENT_LIMIT)
