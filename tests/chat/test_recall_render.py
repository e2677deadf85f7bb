"""Recall lines in every renderer stay inside the platform's limits whatever the earlier
check's text and links, and rejected suggestions are never shown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.chat.console import render_alert as console_alert
from bot.chat.discord.embeds import FIELD_VALUE_LIMIT, alert_embed, embed_length
from bot.chat.slack.blocks import SECTION_LIMIT, render_alert
from bot.models import AlertView, ClaimView, EntityView, RecallView, Verdict

LONG = "https://source.example/" + "x" * 1900


def recall(ref: str, level: str, state: str = "suggested") -> RecallView:
    return RecallView(
        ref=ref,
        level=level,
        score=0.96,
        text="Belarus released 52 political prisoners in September. " * 20,
        rating="false",
        checker="Ann " * 50,
        checked_at=datetime(2026, 3, 1, tzinfo=UTC),
        source_url=LONG,
        alert_id=14,
        alert_url=LONG,
        state=state,
    )


def alert(*recalls: RecallView) -> AlertView:
    claim = ClaimView(
        1,
        "В сентябре Беларусь освободила 52 политзаключённых. " * 30,
        ("statistic",),
        Verdict.FALSE,
        "Bob",
        datetime(2026, 3, 2, tzinfo=UTC),
        LONG,
        "n" * 500,
        recall=recalls,
    )
    return AlertView(
        1,
        "Title",
        "https://news.example/a",
        "Wire",
        None,
        (EntityView("Belarus", "x"),),
        ("Summary.",),
        (claim, replace(claim, n=2, recall=())),
    )


def test_long_recall_lines_fit_slack_and_discord() -> None:
    view = alert(recall("#14:3", "close"), recall("#f7", "near"), recall("#15:1", "near"))
    for block in render_alert(view).blocks:  # slack_sdk validates every limit here
        assert len(block.get("text", {}).get("text", "")) <= SECTION_LIMIT
    embed = alert_embed(view)
    assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed["fields"])
    assert embed_length(embed) <= 6000


def test_rejected_suggestions_are_not_shown_anywhere() -> None:
    view = alert(recall("#14:3", "close", "rejected"))
    slack_text = str(render_alert(view).blocks)
    assert "#14:3" not in slack_text and "already checked" not in slack_text
    assert "#14:3" not in str(alert_embed(view))
    assert "#14:3" not in console_alert(view)
    shown = alert(replace(recall("#14:3", "near"), source_url="https://s.example/1"))
    assert "similar to" in console_alert(shown) and "“1 same as #14:3”" in console_alert(shown)
