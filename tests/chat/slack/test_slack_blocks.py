"""AlertView → Block Kit: content, limits that never fail, and no way for feed text to ping."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.chat.slack.blocks import MAX_BLOCKS, SECTION_LIMIT, render_alert, render_reply
from bot.models import AlertView, ClaimView, EntityView, Verdict

PUBLISHED = datetime(2025, 9, 12, 10, 30, tzinfo=UTC)


def make_alert(**overrides: Any) -> AlertView:
    values: dict[str, Any] = {
        "alert_id": 42,
        "title": "US officers observe Zapad-2025 drills in Belarus",
        "url": "https://news.example/zapad?id=1&lang=en",
        "source": "Example News",
        "published": PUBLISHED,
        "entities": (
            EntityView("Zapad", "Headline: “US officers observe Zapad-2025 drills”."),
            EntityView("Lukashenko", "Lukashenko greeted the observers."),
        ),
        "summary": (
            "Officers from 23 countries watched the drills.",
            "Minsk released 52 prisoners.",
        ),
        "claims": (
            ClaimView(1, "Officers from 23 countries attended.", ("statistic",)),
            ClaimView(
                2,
                "Minsk released 52 political prisoners.",
                ("statistic",),
                Verdict.FALSE,
                "Alice Editor",
                PUBLISHED,
                "https://factcheck.example/52",
                "it was 14",
            ),
            ClaimView(
                3, "Washington lifted sanctions on Belavia.", ("status",), Verdict.MISLEADING, "Bob"
            ),
            ClaimView(4, "The drills stunned NATO.", ("causal",), Verdict.TRUE, "Carol"),
            ClaimView(
                5, "Zapad will be repeated in 2027.", ("prediction",), Verdict.UNPROVEN, "Dan"
            ),
        ),
    }
    values.update(overrides)
    return AlertView(**values)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text in the blocks, in order."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            found.append(element["text"])
    return found


def test_alert_shows_every_part() -> None:
    message = render_alert(make_alert())
    all_text = "\n".join(texts(message.blocks))
    assert texts(message.blocks)[0] == (
        "*<https://news.example/zapad?id=1&amp;lang=en|US officers observe Zapad-2025 drills in Belarus>*"
    )
    assert "*Example News*" in all_text
    assert "<!date^1757673000^{date_short_pretty} {time}|2025-09-12 10:30 UTC>" in all_text
    assert "alert #42" in all_text
    assert "• *Zapad* — Headline: “US officers observe Zapad-2025 drills”." in all_text
    assert (
        "*Summary*\nOfficers from 23 countries watched the drills. Minsk released 52 prisoners."
        in all_text
    )
    assert (
        "*1.* Officers from 23 countries attended. _(statistic)_\n:white_circle: unchecked"
        in all_text
    )
    assert (
        "*2.* Minsk released 52 political prisoners. _(statistic)_\n"
        ":x: *false* · by Alice Editor · <https://factcheck.example/52|source> · _it was 14_"
    ) in all_text
    assert ":warning: *misleading* · by Bob" in all_text
    assert ":white_check_mark: *true* · by Carol" in all_text
    assert ":grey_question: *unproven* · by Dan" in all_text
    assert "Reply in thread: `2 false &lt;source url&gt;`" in all_text and "`all true`" in all_text
    assert message.text == (
        "US officers observe Zapad-2025 drills in Belarus — Example News · matched Zapad, "
        "Lukashenko · 1 of 5 claims unchecked"
    )
    assert all(t.get("verbatim") is True for b in message.blocks for t in [b.get("text", {})] if t)


def test_alert_without_claims_url_or_date() -> None:
    message = render_alert(make_alert(url=None, published=None, claims=(), summary=()))
    all_text = "\n".join(texts(message.blocks))
    assert texts(message.blocks)[0] == "*US officers observe Zapad-2025 drills in Belarus*"
    assert "<!date" not in all_text and "Summary" not in all_text
    assert "_No check-worthy claims flagged._" in all_text
    assert "Reply in thread" not in all_text


def test_javascript_url_is_not_linked() -> None:
    message = render_alert(make_alert(url="javascript:alert(1)"))
    assert texts(message.blocks)[0] == "*US officers observe Zapad-2025 drills in Belarus*"


HOSTILE = "&lt;!channel&gt; <!here> <@U0ALICE1> <!subteam^S0DESK01> <http://evil|bank.com> & done"
HOSTILE_ESCAPED = (
    "&amp;lt;!channel&amp;gt; &lt;!here&gt; &lt;@U0ALICE1&gt; &lt;!subteam^S0DESK01&gt; "
    "&lt;http://evil|bank.com&gt; &amp; done"
)


def test_hostile_text_everywhere_is_escaped() -> None:
    alert = make_alert(
        title=HOSTILE,
        source=HOSTILE,
        entities=(EntityView(HOSTILE, HOSTILE),),
        summary=(HOSTILE,),
        claims=(
            ClaimView(
                1,
                HOSTILE,
                (HOSTILE,),
                Verdict.FALSE,
                HOSTILE,
                None,
                "https://ok.example/|<!here>",
                HOSTILE,
            ),
        ),
    )
    message = render_alert(alert)
    for text in texts(message.blocks):
        # The only angle sequences left are the ones we built: the article link, the date, the source link.
        for sequence in re.findall(r"<[^>]*>", text):
            assert sequence.startswith(
                ("<https://news.example/", "<!date^", "<https://ok.example/%7C%3C!here%3E|")
            ), sequence
    assert HOSTILE_ESCAPED in texts(message.blocks)[0]
    assert message.text.startswith(HOSTILE_ESCAPED)
    wire = json.dumps(message.blocks)
    for ping in ("<!channel>", "<!here>", "<@U0ALICE1>", "<!subteam", "<http://evil"):
        assert ping not in wire and ping not in message.text


@pytest.mark.parametrize("size", [3_000, 100_000])
def test_huge_inputs_fit_slack_limits(size: int) -> None:
    long = "Ж&<" * (size // 3)
    alert = make_alert(
        title=long,
        url="https://news.example/" + "p" * 5000,
        source=long,
        entities=tuple(EntityView(f"Entity {i} {long[:50]}", long) for i in range(300)),
        summary=(long,) * 5,
        claims=tuple(
            ClaimView(
                i,
                long,
                ("statistic", "quote"),
                Verdict.FALSE,
                long,
                None,
                "https://s.example/" + "q" * 3000,
                long,
            )
            for i in range(1, 120)
        ),
    )
    message = render_alert(alert)  # slack_sdk validators ran inside
    assert len(message.blocks) <= MAX_BLOCKS
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    assert len(message.text) <= 400
    assert "…and 79 more claims not shown" in json.dumps(message.blocks, ensure_ascii=False)
    assert "_…and " in message.blocks[2]["text"]["text"]  # entities: says how many were left out


def test_render_reply_escapes_and_bounds() -> None:
    assert render_reply("Added <!channel> & co") == "Added &lt;!channel&gt; &amp; co"
    assert len(render_reply("x" * 10_000)) <= 3900


def test_invisible_and_direction_changing_characters_are_stripped_everywhere() -> None:
    """Feed text with a right-to-left override ("gnp.exe" that reads "exe.png"), zero-width
    characters, a soft hyphen and isolates: the exact payload Slack receives carries none of
    them, and URLs keep them only percent-encoded."""
    alert = make_alert(
        title="Lukashenko \u202egnp.exe\u202c meets Bela\u200brus\u00adian \u2066officials\u2069",
        url="https://news.example/\u202eevil?\u200bx=1",
        source="Ex\u200bample\u202e News",
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
                "https://fc.example/\u200b52",
                "it was\u00ad 14",
            ),
        ),
    )
    message = render_alert(alert)
    assert texts(message.blocks) == [
        "*<https://news.example/%E2%80%AEevil?%E2%80%8Bx=1|"
        "Lukashenko gnp.exe meets Belarusian officials>*",
        "*Example News*",
        "<!date^1757673000^{date_short_pretty} {time}|2025-09-12 10:30 UTC>",
        "alert #42",
        "*Matched*\n• *Belarus* — Headline: “Belarus”.",
        "*Summary*\nOfficers from 23 countries.",
        "*Claims to check* (1)",
        "*1.* Minsk released 52. _(statistic)_\n"
        ":x: *false* · by Alice · <https://fc.example/%E2%80%8B52|source> · _it was 14_",
        "Reply in thread: `2 false &lt;source url&gt;` · `claim 3: misleading — why` · "
        "`1,2 true` · `all true`",
    ]
    assert message.text == (
        "Lukashenko gnp.exe meets Belarusian officials — Example News · matched Belarus · "
        "0 of 1 claims unchecked"
    )
    wire = json.dumps(message.blocks, ensure_ascii=False) + message.text
    assert not re.search("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad\u061c]", wire)


def test_a_title_of_only_invisible_characters_reads_untitled() -> None:
    message = render_alert(make_alert(title="\u200b\u202e\ufeff", url=None))
    assert texts(message.blocks)[0] == "*(untitled article)*"
    assert message.text.startswith("(untitled article) — Example News")


def test_render_reply_strips_invisible_characters() -> None:
    assert render_reply("Watching Bela\u200brus \u202eok\x07") == "Watching Belarus ok "


def test_a_disagreement_is_shown_under_the_claim() -> None:
    from bot.chat.slack.blocks import claim_status
    from bot.models import CheckerVerdict

    claim = ClaimView(
        2,
        "52 prisoners were freed.",
        ("statistic",),
        Verdict.TRUE,
        "Ann",
        disagreements=(CheckerVerdict(Verdict.FALSE, "Bob <!here>"),),
    )
    assert claim_status(claim) == (
        ":white_check_mark: *true* · by Ann\n"
        ":scales: *disagreement* — Bob &lt;!here&gt; said :x: *false*"
    )
