"""mrkdwn escaping and un-formatting: the strings that must never become pings or spoofed links."""

from __future__ import annotations

import pytest

from bot.chat.slack.escape import (
    escape_text,
    escaped_length,
    link,
    safe_url,
    truncate_escaped,
)

INJECTIONS = {
    "&lt;!channel&gt;": "&amp;lt;!channel&amp;gt;",
    "<!channel>": "&lt;!channel&gt;",
    "<!here>": "&lt;!here&gt;",
    "<@U0ALICE1>": "&lt;@U0ALICE1&gt;",
    "<!subteam^S0DESK01>": "&lt;!subteam^S0DESK01&gt;",
    "<http://evil|bank.com>": "&lt;http://evil|bank.com&gt;",
    "Tom & Jerry": "Tom &amp; Jerry",
}


@pytest.mark.parametrize(("raw", "expected"), INJECTIONS.items())
def test_escape_text_makes_control_sequences_inert(raw: str, expected: str) -> None:
    assert escape_text(raw) == expected
    assert "<" not in escape_text(raw) and ">" not in escape_text(raw)


def test_escaped_length_matches_escape() -> None:
    for raw in [*INJECTIONS, "", "plain", "&&<<>>"]:
        assert escaped_length(raw) == len(escape_text(raw))


@pytest.mark.parametrize("limit", [1, 5, 9, 10, 11, 50])
def test_truncate_escaped_never_splits_an_entity_or_overflows(limit: int) -> None:
    raw = "&<>" * 20 + "tail"
    out = truncate_escaped(raw, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    # Unescaping what is left must give a prefix of the raw text: no half entity survived.
    assert raw.startswith(body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert "&" not in body.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "")


def test_truncate_escaped_keeps_short_text_whole() -> None:
    assert truncate_escaped("a < b", 100) == "a &lt; b"


def test_safe_url_refuses_non_web_schemes() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,hi") is None
    assert safe_url("https:///nohost") is None
    assert safe_url("") is None and safe_url(None) is None


def test_safe_url_neutralises_link_syntax_in_the_url() -> None:
    assert safe_url("https://x.org/a|b>c<d e") == "https://x.org/a%7Cb%3Ec%3Cd%20e"
    assert safe_url("https://x.org/?a=1&b=2") == "https://x.org/?a=1&amp;b=2"


def test_link_spoof_in_title_stays_text() -> None:
    out = link("https://real.example/story", "<http://evil|bank.com>")
    assert out == "<https://real.example/story|&lt;http://evil|bank.com&gt;>"


def test_link_without_usable_url_is_just_escaped_text() -> None:
    assert link(None, "A & B") == "A &amp; B"
    assert link("javascript:alert(1)", "<!here>") == "&lt;!here&gt;"


def test_link_fits_its_limit() -> None:
    out = link("https://x.org/" + "a" * 50, "t" * 500, limit=200)
    assert len(out) <= 200 and out.startswith("<https://x.org/")
    assert link("https://x.org/" + "a" * 300, "title", limit=200) == "title"
