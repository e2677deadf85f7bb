"""The console renderer: feed text reaches the terminal without control sequences, bidi
controls or invisible characters (the cleaner shared with Slack and Discord)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from bot.chat.console import ConsoleSink, render_alert
from bot.models import AlertView, ClaimView, EntityView, Verdict


def test_alert_on_the_console_carries_no_invisible_or_control_characters() -> None:
    alert = AlertView(
        alert_id=7,
        title="Lukashenko \u202egnp.exe\u202c meets Bela\u200brus\u00adian \x1b[2Jofficials",
        url="https://news.example/\u200ba",
        source="Ex\u200bample\u2066 News\u2069",
        published=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        entities=(EntityView("Be\u200dlarus", "Headline: “Bela\u200brus”\u200f."),),
        summary=("Officers\u2060 from \u202e23\u202c countries.\x07",),
        claims=(
            ClaimView(
                1,
                "Minsk\ufeff released \u061c52.",
                ("statistic",),
                Verdict.FALSE,
                "Al\u200bice",
                None,
                "https://fc.example/\u200e52",
                None,
            ),
        ),
    )
    assert render_alert(alert).splitlines() == [
        "━━ ALERT #7: Lukashenko gnp.exe meets Belarusian  [2Jofficials",
        "   Example News · 2026-03-01 12:30 UTC",
        "   https://news.example/a",
        "   • Belarus — Headline: “Belarus”.",
        "   Summary:",
        "     Officers from 23 countries. ",
        "   Claims to check:",
        "     1. [FALSE] Minsk released 52. [statistic] — Alice (https://fc.example/52)",
    ]


def test_notice_on_the_console_is_cleaned() -> None:
    stream = io.StringIO()
    ConsoleSink(stream).post_notice("console", "Feed \u202eevil\u202c failed\x1b[0m")
    assert stream.getvalue() == "── NOTICE: Feed evil failed [0m\n"
