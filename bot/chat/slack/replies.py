"""Desk replies rendered for Slack: text escaped for mrkdwn, commands in Slack's slash-command
syntax (``/watch add "Viktor Khrenin" Хренин``), examples as inline code, links to alerts as
permalinks built from the workspace URL (``auth.test``'s ``url``) and the message's ts."""

from __future__ import annotations

from bot.chat.slack.escape import escape_text, link
from bot.desk.replies import Arg, Code, CommandRef, MessageLink, Part, Reply, quote_word
from bot.models import Destination

REPLY_LIMIT = 3900  # an ephemeral/thread reply: one screen, far below Slack's 40k cut


def slack_command(ref: CommandRef) -> str:
    """``/watch add "Viktor Khrenin" Хренин <#C0123>`` — escaped mrkdwn, code where it can be."""
    words = [f"/{ref.command}"] + ([ref.sub] if ref.sub else [])
    channels: list[str] = []
    for arg in ref.args:
        if isinstance(arg.value, Destination):
            channels.append(_channel(arg))
        else:
            words.append(_arg(arg))
    code = "`" + escape_text(" ".join(words).replace("`", "'")) + "`"
    return " ".join([code, *channels])


def _arg(arg: Arg) -> str:
    if isinstance(arg.value, tuple):
        text = " ".join(quote_word(v) for v in arg.value)
    elif arg.placeholder or arg.name == "keep_default":
        text = str(arg.value)
    else:
        text = quote_word(str(arg.value))
    return f"[{text}]" if arg.optional else text


def _channel(arg: Arg) -> str:
    assert isinstance(arg.value, Destination)
    if arg.value.platform == "slack":
        return f"<#{arg.value.channel}>"
    return escape_text(str(arg.value))


def permalink(workspace_url: str | None, ref_destination: str, ts: str) -> str | None:
    """A message's permalink, ``https://team.slack.com/archives/C0123/p1700000000123456``."""
    try:
        dest = Destination.parse(ref_destination)
    except ValueError:
        return None
    if dest.platform != "slack" or not workspace_url or "." not in ts:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{dest.channel}/p{ts.replace('.', '')}"


def _part(part: Part, workspace_url: str | None) -> str:
    if isinstance(part, str):
        return escape_text(part)
    if isinstance(part, Code):
        return "`" + escape_text(part.text.replace("`", "'")) + "`"
    if isinstance(part, CommandRef):
        return slack_command(part)
    assert isinstance(part, MessageLink)
    url = permalink(workspace_url, part.ref.destination, part.ref.message_id)
    if url is None:
        return escape_text(f"{part.label} ({part.ref.destination})")
    return link(url, part.label)


def render_reply(reply: Reply | str, workspace_url: str | None = None) -> str:
    """A desk reply as safe mrkdwn, cut at a line boundary to fit one message."""
    parts = (reply,) if isinstance(reply, str) else reply.parts
    text = "".join(_part(p, workspace_url) for p in parts)
    if len(text) <= REPLY_LIMIT:
        return text
    cut = text.rfind("\n", 0, REPLY_LIMIT - 1)
    return text[: cut if cut > 0 else REPLY_LIMIT - 1] + "\n…"
