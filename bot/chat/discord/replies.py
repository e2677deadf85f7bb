"""Desk replies rendered for Discord: text escaped for Discord markdown, commands in Discord's
option syntax (``/watch add term:Viktor Khrenin aliases:Хренин``), examples as inline code
(never escaped backticks), links to alerts as jump URLs."""

from __future__ import annotations

from bot.chat.discord.embeds import CONTENT_LIMIT, clip, escape_text
from bot.desk.replies import Arg, Code, CommandRef, MessageLink, Part, Reply
from bot.models import Destination

JUMP_URL = "https://discord.com/channels/{guild}/{channel}/{message}"


def discord_command(ref: CommandRef) -> str:
    """``/watch add term:Viktor Khrenin aliases:Хренин, Khrenin`` as inline code; channels
    follow as real channel mentions (which do not work inside code)."""
    words = [f"/{ref.command}"] + ([ref.sub] if ref.sub and ref.sub != "help" else [])
    channels: list[str] = []
    for arg in ref.args:
        if isinstance(arg.value, Destination):
            channels.append(_channel(arg))
        else:
            words.append(_option(arg))
    return " ".join(["`" + _code(" ".join(words)) + "`", *channels])


def _option(arg: Arg) -> str:
    if arg.name == "keep_default":
        text = f"{arg.name}:True"
    elif isinstance(arg.value, tuple):
        text = f"{arg.name}:{', '.join(arg.value)}"
    else:
        text = f"{arg.name}:{arg.value}"
    return f"[{text}]" if arg.optional else text


def _channel(arg: Arg) -> str:
    assert isinstance(arg.value, Destination)
    if arg.value.platform == "discord":
        return f"channel:<#{arg.value.channel}>"
    return escape_text(f"channel:{arg.value}")


def _code(text: str) -> str:
    """Inline code can't hold a backtick; a look-alike keeps the example readable."""
    return text.replace("`", "ˋ").replace("\n", " ")


def jump_url(guild_id: int | None, destination: str, message_id: str) -> str | None:
    try:
        dest = Destination.parse(destination)
    except ValueError:
        return None
    if dest.platform != "discord" or guild_id is None or not message_id.isdigit():
        return None
    return JUMP_URL.format(guild=guild_id, channel=dest.channel, message=message_id)


def _part(part: Part, guild_id: int | None) -> str:
    if isinstance(part, str):
        return "\n".join(escape_text(line) for line in part.split("\n"))
    if isinstance(part, Code):
        return "`" + _code(part.text) + "`"
    if isinstance(part, CommandRef):
        return discord_command(part)
    assert isinstance(part, MessageLink)
    url = jump_url(guild_id, part.ref.destination, part.ref.message_id)
    if url is None:
        return escape_text(f"{part.label} ({part.ref.destination})")
    return f"[{escape_text(part.label)}](<{url}>)"


def render_reply(reply: Reply | str, guild_id: int | None = None) -> str:
    """A desk reply as safe message content within Discord's 2,000 characters."""
    parts = (reply,) if isinstance(reply, str) else reply.parts
    text = "".join(_part(p, guild_id) for p in parts).strip()
    return clip(text or "Done.", CONTENT_LIMIT)
