"""Discord's inbound markup is undone by the Discord adapter; the desk sees the neutral form."""

from __future__ import annotations

import pytest

from bot.chat.discord.inbound import destination, inbound_text
from bot.desk.command_text import CommandUsageError, WatchAdd, parse_command
from bot.desk.inbound import ChannelRef, InboundText, LinkRef, MentionRef
from bot.desk.verdicts import VerdictHint, VerdictRequest, parse_verdict_reply
from bot.models import Destination, Verdict

NEWS = Destination("discord", "123456789012345678")


def test_inbound_text_parts() -> None:
    assert inbound_text(
        "<@!42> <@&43> see <https://x.example/a> and [report](https://y.example/r) in "
        "<#123456789012345678> @everyone <:white_check_mark:112233445566778899> <a:party:1>"
    ) == InboundText(
        (
            MentionRef("@42"),
            " ",
            MentionRef("@&43"),
            " see ",
            LinkRef("https://x.example/a"),
            " and ",
            LinkRef("https://y.example/r", "report"),
            " in ",
            ChannelRef(NEWS),
            " ",
            MentionRef("@everyone"),
            " ✅ ",
        )
    )


def test_channel_refs_become_destinations() -> None:
    parsed = parse_command("watch", inbound_text("add Lukashenko <#123456789012345678>"))
    assert parsed == WatchAdd("Lukashenko", (), (NEWS,))
    with pytest.raises(CommandUsageError, match="is a mention, not a name"):
        parse_command("watch", inbound_text("add <@123456789012345678>"))


def test_destination_validates_snowflakes() -> None:
    assert destination(123456789012345678) == NEWS
    for bad in ("C0123ABC", "0123", str(2**64), "-5", ""):
        with pytest.raises(ValueError):
            destination(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@123456789012345678> 2 false", VerdictRequest((2,), Verdict.FALSE, None, None)),
        ("<@!123456789012345678>: 2 false", VerdictRequest((2,), Verdict.FALSE, None, None)),
        ("<@123456789012345678>\n2 false", VerdictRequest((2,), Verdict.FALSE, None, None)),
        (
            "2 <:white_check_mark:112233445566778899>",
            VerdictRequest((2,), Verdict.TRUE, None, None),
        ),
        (
            "2 false <https://x.example/r>",
            VerdictRequest((2,), Verdict.FALSE, "https://x.example/r", None),
        ),
    ],
)
def test_discord_verdict_replies(text: str, expected: VerdictRequest) -> None:
    assert parse_verdict_reply(inbound_text(text), 5) == expected


def test_a_mention_as_source_gets_a_hint() -> None:
    hint = parse_verdict_reply(inbound_text("2 false <@123456789012345678>"), 5)
    assert isinstance(hint, VerdictHint) and "mention or a channel" in hint.message
    hint = parse_verdict_reply(inbound_text("2 false @everyone"), 5)
    assert isinstance(hint, VerdictHint) and "mention or a channel" in hint.message
