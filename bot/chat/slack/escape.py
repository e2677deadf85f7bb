"""Slack mrkdwn text in both directions: escaping what we send, un-formatting what users type.

Outgoing: Slack turns ``<!channel>``, ``<@U123>``, ``<!subteam^S1>`` and ``<http://x|label>``
into pings and links, so every piece of feed-derived (or user-derived) text goes through
`escape_text` exactly once, as the last step before it is placed in a message. Slack's own rule
is that only ``&``, ``<`` and ``>`` need escaping, and escaping those three makes every control
sequence inert. Before escaping, `bot.analysis.text.clean_for_display` (the one cleaner every
platform uses) drops bidi controls and invisible characters, so a U+202E cannot make a title
read backwards. Links we build ourselves go through `link`.

Incoming text is not handled here: the desk's parsers (`bot.desk.command_text`,
`bot.desk.verdicts`) read Slack's markup themselves (``<https://…|label>``, ``<#C0123|news>``,
``&amp;``), because a channel reference in ``/watch add`` means something to them.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from bot.analysis.text import clean_for_display, is_format_char

_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
# Characters that would end or split a `<url|label>` sequence, or that Slack treats specially
# inside one; percent-encoding keeps the URL equivalent for the browser.
_URL_ENCODE = {
    "|": "%7C",
    "<": "%3C",
    ">": "%3E",
    " ": "%20",
    "\n": "%0A",
    "\r": "%0D",
    "\t": "%09",
}
_SAFE_SCHEMES = ("http", "https")


def escape_text(text: str) -> str:
    """Make arbitrary text inert in mrkdwn: no pings, no links, no entity decoding surprises,
    no invisible or direction-changing characters."""
    text = clean_for_display(text)
    for raw, entity in _ESCAPES:
        text = text.replace(raw, entity)
    return text


def escaped_length(text: str) -> int:
    """Length `text` will have after `escape_text`, without building the string (exact for
    text `clean_for_display` leaves alone; never an underestimate)."""
    return len(text) + 4 * text.count("&") + 3 * text.count("<") + 3 * text.count(">")


def truncate_escaped(text: str, limit: int, ellipsis: str = "…") -> str:
    """Escape `text` and fit it in `limit` characters by cutting the *raw* text, so an entity is
    never split in half (``&am``) and Slack's length limits can never reject the message."""
    text = clean_for_display(text)
    if escaped_length(text) <= limit:
        return escape_text(text)
    budget = max(limit - len(ellipsis), 0)
    cut = []
    used = 0
    for char in text:
        size = escaped_length(char)
        if used + size > budget:
            break
        cut.append(char)
        used += size
    return escape_text("".join(cut).rstrip()) + ellipsis


def safe_url(url: str | None) -> str | None:
    """The URL in a form that can sit inside ``<…|…>``, or None when it is not an http(s) URL
    (a feed may carry ``javascript:`` or worse; such a link is shown as plain text instead)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.netloc:
        return None
    encoded = "".join(_url_char(char) for char in url)
    return encoded.replace("&", "&amp;")


def _url_char(char: str) -> str:
    """One URL character as it may sit in ``<…|…>``: Slack's separators and invisible or
    direction-changing characters percent-encoded (the browser reads them the same)."""
    if is_format_char(char):
        return quote(char, safe="")
    return _URL_ENCODE.get(char, char)


def link(url: str | None, label: str, limit: int = 2000) -> str:
    """``<url|label>`` in at most `limit` characters, the label escaped and the URL neutralised;
    just the escaped label when the URL is missing, not http(s), or too long to fit."""
    target = safe_url(url)
    label = clean_for_display(label)
    if not label.strip():
        label = url or "link"
    if target is None or len(target) > limit // 2:
        return truncate_escaped(label, limit)
    return f"<{target}|{truncate_escaped(label, limit - len(target) - 3)}>"
