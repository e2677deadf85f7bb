"""Alert embeds: escaping of feed text, Discord's length limits, colour, and the footer id."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat.discord.embeds import (
    COLOUR_FALSE,
    COLOUR_MISLEADING,
    COLOUR_NEW,
    COLOUR_TRUE,
    alert_embed,
    alert_id_from_footer,
    clip,
    discord_len,
    embed_length,
    escape_text,
    reply_content,
    safe_url,
    thread_name,
)
from bot.models import AlertView, ClaimView, EntityView, Verdict

INJECTIONS = (
    "@everyone look",
    "@here now",
    "<@&123456789012345678> role ping",
    "<@123456789012345678> user ping",
    "[bank.com](http://evil.example/login)",
    "x [a] [bank.com](http://evil.example)",
    "# Heading\n> quote\n-# small\n- list\n1. ordered",
    "**bold** __under__ ~~strike~~ ||spoiler|| `code`",
    "<t:1700000000:R> <#123456789012345678> </watch add:123456789012345678>",
    "trailing backslash \\",
)

# An unescaped masked link: "[" not preceded by a backslash, then "](".
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
RAW_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d")


def alert(**overrides: object) -> AlertView:
    values: dict[str, object] = {
        "alert_id": 42,
        "title": "Lukashenko meets delegation",
        "url": "https://news.example/a/1",
        "source": "Radio Svaboda",
        "published": datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        "entities": (EntityView("Lukashenko", "Lukashenko met the delegation in Minsk."),),
        "summary": ("Lukashenko met the delegation.", "The talks lasted two hours."),
        "claims": (
            ClaimView(1, "52 prisoners were released.", ("statistic",)),
            ClaimView(2, "The drills involve 13,000 troops.", ("statistic",)),
        ),
    }
    values.update(overrides)
    return AlertView(**values)  # type: ignore[arg-type]


def texts(embed: dict[str, object]) -> list[str]:
    fields = embed.get("fields", [])
    assert isinstance(fields, list)
    out = [str(embed.get("title", "")), str(embed.get("description", ""))]
    out += [f["name"] for f in fields] + [f["value"] for f in fields]
    return out


def assert_within_limits(embed: dict[str, object]) -> None:
    fields = embed.get("fields", [])
    assert isinstance(fields, list)
    assert discord_len(str(embed.get("title", ""))) <= 256
    assert discord_len(str(embed.get("description", ""))) <= 4096
    assert len(fields) <= 25
    for field in fields:
        assert 1 <= discord_len(field["name"]) <= 256
        assert 1 <= discord_len(field["value"]) <= 1024
    footer = embed["footer"]
    assert isinstance(footer, dict)
    assert discord_len(footer["text"]) <= 2048
    assert embed_length(embed) <= 6000


def test_embed_shows_title_link_summary_entities_claims_source_and_time() -> None:
    embed = alert_embed(alert())
    assert embed["title"] == "Lukashenko meets delegation"
    assert embed["url"] == "https://news.example/a/1"
    assert embed["description"] == "Lukashenko met the delegation.\nThe talks lasted two hours."
    assert embed["footer"] == {"text": "Watchdesk alert #42 · Radio Svaboda"}
    assert embed["timestamp"] == "2026-03-01T12:30:00+00:00"
    assert embed["color"] == COLOUR_NEW
    assert embed["fields"] == [
        {
            "name": "🔎 Lukashenko",
            "value": "Lukashenko met the delegation in Minsk.",
            "inline": False,
        },
        {
            "name": "⬜ Claim 1 · unchecked (statistic)",
            "value": "52 prisoners were released.",
            "inline": False,
        },
        {
            "name": "⬜ Claim 2 · unchecked (statistic)",
            "value": "The drills involve 13,000 troops.",
            "inline": False,
        },
    ]


def test_checked_claim_shows_verdict_checker_source_and_note() -> None:
    checked = ClaimView(
        1,
        "52 prisoners were released.",
        ("statistic",),
        verdict=Verdict.FALSE,
        checked_by="Alice @everyone",
        checked_at=datetime(2026, 3, 2, tzinfo=UTC),
        source_url="https://viasna.example/report",
        note="Only 12 — see [bank.com](http://evil.example)",
    )
    embed = alert_embed(alert(claims=(checked,)))
    field = embed["fields"][1]
    assert field["name"] == "❌ Claim 1 · false (statistic)"
    assert field["value"] == (
        "52 prisoners were released.\n"
        "-# checked by Alice @\u200beveryone <t:1772409600:R> · [source](https://viasna.example/report)"
        " · Only 12 — see \\[bank.com\\](http://evil.example)"
    )
    assert embed["color"] == COLOUR_FALSE


def test_colour_follows_the_worst_verdict() -> None:
    def colour(*verdicts: Verdict) -> object:
        claims = tuple(ClaimView(i + 1, "c", (), verdict=v) for i, v in enumerate(verdicts))
        return alert_embed(alert(claims=claims))["color"]

    assert colour(Verdict.TRUE, Verdict.TRUE) == COLOUR_TRUE
    assert colour(Verdict.TRUE, Verdict.UNCHECKED) == COLOUR_NEW
    assert colour(Verdict.TRUE, Verdict.MISLEADING) == COLOUR_MISLEADING
    assert colour(Verdict.MISLEADING, Verdict.FALSE) == COLOUR_FALSE


def test_feed_injections_cannot_ping_or_spoof_links() -> None:
    for bad in INJECTIONS:
        embed = alert_embed(
            alert(
                title=bad,
                source=bad,
                summary=(bad,),
                entities=(EntityView(bad, bad),),
                claims=(
                    ClaimView(1, bad, (bad,), verdict=Verdict.FALSE, checked_by=bad, note=bad),
                ),
            )
        )
        for text in texts(embed):
            assert not MASKED_LINK.search(text), (bad, text)
            assert not RAW_MENTION.search(text), (bad, text)
            assert not re.search(r"(?m)^(#|>|-#(?! checked by)|- |\d+\. )", text), (bad, text)
            assert not re.search(r"(?<!\\)(\*\*|__|~~|\|\||`)", text.replace("-# checked", "")), (
                bad,
                text,
            )
        assert_within_limits(embed)


def test_escape_text_examples() -> None:
    assert escape_text("[bank.com](http://evil)") == "\\[bank.com\\](http://evil)"
    assert escape_text("@everyone") == "@\u200beveryone"
    assert escape_text("<@&123456789012345678>") == "\\<@\u200b&123456789012345678>"
    assert escape_text("1. first") == "1\\. first"
    assert (
        escape_text("see https://x.org/a_(b)_c and *this*")
        == "see https://x.org/a_%28b%29_c and \\*this\\*"
    )
    assert escape_text("(https://x.org/page)") == "(https://x.org/page)"
    assert escape_text("## Breaking\n> quoted\n-# tiny\n- item") == (
        "\\## Breaking\n\\> quoted\n\\-# tiny\n\\- item"
    )
    assert escape_text("alert #1 costs 5 > 4 - 1") == "alert #1 costs 5 > 4 - 1"


def test_clip_never_splits_escapes_or_surrogates() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"
    assert clip("ab\\*cd", 4) == "ab…"  # "ab\" would escape the ellipsis
    assert clip("😀😀😀", 5) == "😀😀…"  # each emoji is two UTF-16 units
    assert discord_len(clip("😀" * 10, 6)) <= 6


def test_huge_alert_is_cut_to_every_limit_never_failing() -> None:
    huge = "Lukashenko " * 2000
    big = alert(
        title=huge,
        source=huge,
        summary=tuple(huge for _ in range(10)),
        entities=tuple(EntityView(f"{i} {huge}", huge) for i in range(40)),
        claims=tuple(
            ClaimView(i, huge, ("statistic",) * 50, note=huge, checked_by=huge)
            for i in range(1, 60)
        ),
    )
    embed = alert_embed(big)
    assert_within_limits(embed)
    assert embed["title"].endswith("…")
    assert alert_id_from_footer(embed["footer"]["text"]) == 42
    names = [f["name"] for f in embed["fields"]]
    assert "🔎 Also matched" in names  # entities past 5 are summarised, not dropped silently


def test_unsafe_urls_are_dropped_not_sent() -> None:
    for url in (
        "javascript:alert(1)",
        "http://",
        "ftp://x.example/f",
        "https://a b.example",
        "x" * 3000,
    ):
        assert safe_url(url) is None
        assert "url" not in alert_embed(alert(url=url))
    assert safe_url(" https://ok.example/a ") == "https://ok.example/a"


def test_footer_identifies_the_alert_and_cannot_be_spoofed_by_the_source() -> None:
    embed = alert_embed(alert(alert_id=7, source="Watchdesk alert #99"))
    assert alert_id_from_footer(embed["footer"]["text"]) == 7
    assert alert_id_from_footer("Watchdesk alert #123") == 123
    assert alert_id_from_footer("Some feed · Watchdesk alert #5") is None
    assert alert_id_from_footer(None) is None


def test_thread_name_and_reply_content() -> None:
    assert thread_name(alert(title="A\nB " + "x" * 200)).startswith("Alert #42: A B x")
    assert len(thread_name(alert(title="x" * 300))) == 100
    assert reply_content("Now watching @everyone\n• a — [b](http://c)") == (
        "Now watching @\u200beveryone\n• a — \\[b\\](http://c)"
    )
    assert len(reply_content("y" * 5000)) == 2000
    assert reply_content("   ") == "Done."


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    title=st.text(max_size=400),
    summary=st.lists(st.text(max_size=2000), max_size=5),
    claims=st.lists(st.text(max_size=1500), max_size=30),
    entities=st.lists(st.tuples(st.text(max_size=300), st.text(max_size=1500)), max_size=8),
)
def test_any_alert_fits_discord_and_serialises(
    title: str, summary: list[str], claims: list[str], entities: list[tuple[str, str]]
) -> None:
    view = alert(
        title=title,
        summary=tuple(summary),
        claims=tuple(ClaimView(i + 1, text, ("quote",)) for i, text in enumerate(claims)),
        entities=tuple(EntityView(name, why) for name, why in entities),
    )
    embed = alert_embed(view)
    assert_within_limits(embed)
    json.dumps(embed)


MARKUP_PIECES = list("[]()<>@&!#*_~|`\\-+. \n:/1") + [
    "everyone",
    "here",
    "https://",
    "123456789012345678",
    "x",
]


@settings(max_examples=500, deadline=None, derandomize=True)
@given(pieces=st.lists(st.sampled_from(MARKUP_PIECES), max_size=40))
def test_escaped_text_never_forms_links_mentions_or_code(pieces: list[str]) -> None:
    escaped = escape_text("".join(pieces))
    unpaired = escaped.replace("\\\\", "")  # drop escaped backslashes; what is left escapes
    assert not MASKED_LINK.search(unpaired)
    assert not re.search(r"@(everyone|here)", escaped)
    assert not re.search(r"(?<!\\)(?:<(?!https?://)|[`\[\]])", unpaired)


def test_invisible_and_direction_changing_characters_are_stripped_everywhere() -> None:
    """The exact embed for feed text full of bidi controls, zero-width characters and soft
    hyphens: none survive; the one zero-width space left is the one that breaks a mention."""
    hostile = alert(
        title="Lukashenko \u202egnp.exe\u202c meets Bela\u200brus\u00adian \u2066officials\u2069 "
        "@\u200beveryone",
        source="Radio\u200b Svaboda\u202e",
        entities=(EntityView("Be\u200dlarus", "Headline: “Bela\u200brus”\u200f."),),
        summary=("Officers\u2060 from \u202e23\u202c countries.",),
        claims=(
            ClaimView(
                1,
                "Minsk\ufeff released \u061c52.",
                ("stat\u200bistic",),
                Verdict.FALSE,
                "Al\u200bice",
                None,
                "https://fc.example/52",
                "it was\u00ad 14",
            ),
        ),
    )
    assert alert_embed(hostile) == {
        "type": "rich",
        "title": "Lukashenko gnp.exe meets Belarusian officials @\u200beveryone",
        "color": COLOUR_FALSE,
        "footer": {"text": "Watchdesk alert #42 · Radio Svaboda"},
        "url": "https://news.example/a/1",
        "description": "Officers from 23 countries.",
        "timestamp": "2026-03-01T12:30:00+00:00",
        "fields": [
            {"name": "🔎 Belarus", "value": "Headline: “Belarus”.", "inline": False},
            {
                "name": "❌ Claim 1 · false (statistic)",
                "value": "Minsk released 52.\n"
                "-# checked by Alice · [source](https://fc.example/52) · it was 14",
                "inline": False,
            },
        ],
    }
    assert thread_name(hostile) == (
        "Alert #42: Lukashenko gnp.exe meets Belarusian officials @everyone"
    )


def test_reply_content_strips_invisible_characters() -> None:
    assert reply_content("Watching Bela\u200brus \u202eok\nline @\u200ceveryone\x07") == (
        "Watching Belarus ok\nline @\u200beveryone"
    )


def test_a_disagreement_is_shown_under_the_claim() -> None:
    from bot.models import CheckerVerdict

    claim = ClaimView(
        2,
        "52 prisoners were freed.",
        ("statistic",),
        Verdict.TRUE,
        "Ann",
        disagreements=(CheckerVerdict(Verdict.FALSE, "Bob @everyone"),),
    )
    alert = AlertView(1, "T", None, "S", None, (), (), (claim,))
    [field] = alert_embed(alert)["fields"]
    assert field["value"] == (
        "52 prisoners were freed.\n-# checked by Ann\n-# ⚖️ disagreement — Bob @\u200beveryone said ❌ false"
    )
