"""Emoji shortcodes both chat platforms use (Slack sends them as text, Discord names custom
emoji after them), mapped to the Unicode emoji the desk reads. Only codes that carry meaning
for the desk (verdict marks) are listed; others stay as the platform sent them."""

from __future__ import annotations

SHORTCODES: dict[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "ballot_box_with_check": "☑️",
    "x": "❌",
    "heavy_multiplication_x": "✖️",
    "negative_squared_cross_mark": "❎",
    "warning": "⚠️",
    "question": "❓",
    "grey_question": "❔",
}
