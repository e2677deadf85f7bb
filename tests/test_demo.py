"""Tests for `watchdesk demo`: the whole loop end to end as a user runs it, and the demo's own
loopback feeds."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.demo import DemoFeeds, run_demo
from bot.feeds.parse import parse_feed

ENV_PREFIXES = ("SLACK_", "DISCORD_", "WATCHDESK_")
HEADLINE = (
    "U.S. Officers Make Surprise Visit To Belarus To Watch Joint Drills Between Russia and Belarus"
)


def clean_environment() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(ENV_PREFIXES) and k != "DATABASE_URL"
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in set(os.environ) - set(clean_environment()):
        monkeypatch.delenv(name)


def alert_blocks(out: str) -> list[str]:
    """Each printed alert, from its ━━ line to the blank line after it."""
    return re.findall(r"^(?:\(updated\) )?━━ ALERT .*?(?=\n\n)", out, re.M | re.S)


def claims_of(block: str) -> list[tuple[int, str, str]]:
    """(number, status mark, text) of each claim line in one alert."""
    return [
        (int(n), mark, text)
        for n, mark, text in re.findall(r"^     (\d+)\. (\[[^\]]*\]) (.+)$", block, re.M)
    ]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """`python3 -m bot demo` once, from an empty directory, as a user would run it."""
    cwd = tmp_path_factory.mktemp("demo-cwd")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=clean_environment(),
        timeout=180,
    )
    return result, cwd


def test_demo_prints_the_zapad_alert_end_to_end(
    demo_run: tuple[subprocess.CompletedProcess, Path],
) -> None:
    result, cwd = demo_run
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert re.search(
        r"^Watchdesk demo: 2 feeds on http://127\.0\.0\.1:\d+, watching Belarus, Lukashenko, "
        r"Zapad\.$",
        out,
        re.M,
    )
    assert "Poll 1: 2 feeds, backlog recorded, 0 alerts" in out
    assert "The feeds publish 3 new items. Poll 2:" in out
    assert "Poll 2: 3 new items, 1 alert(s) posted." in out

    first, updated = alert_blocks(out)
    assert first.startswith(f"━━ ALERT #1: {HEADLINE}\n")
    assert updated.startswith(f"(updated) ━━ ALERT #1: {HEADLINE}\n")
    for name in ("Belarus", "Lukashenko", "Zapad"):
        assert re.search(rf"^   • {name} — \S", first, re.M)
    assert "   • Zapad — In a move that stunned NATO allies" in first
    summary = first.split("   Summary:\n")[1].split("   Claims to check:\n")[0]
    assert 2 <= len(summary.splitlines()) <= 4

    claims = claims_of(first)
    assert [n for n, _, _ in claims] == list(range(1, len(claims) + 1))
    assert all(mark == "[ ]" for _, mark, _ in claims)
    texts = [text for _, _, text in claims]
    for needle in (
        "delegations from 23 countries",
        "Lukashenko would release 52 political prisoners",
        "lifted restrictions on Belavia",
        "twice-impeached",
    ):
        assert sum(needle in t for t in texts) == 1, needle

    marks = [mark for _, mark, _ in claims_of(updated)]
    assert marks == ["[unproven]"] + ["[ ]"] * (len(claims) - 1)
    assert claims_of(updated)[0][2].endswith(
        "— Demo Checker (https://example.org/belarus-ministry-statement)"
    )
    confirmation = next(line for line in out.splitlines() if line.startswith("Bot: "))
    assert confirmation.startswith("Bot: Recorded: claim 1")
    assert "unproven" in confirmation and "belarus-ministry-statement" in confirmation
    # The other new items (Latvia's border, a weather model) match nothing and stay silent.
    assert "Latvia" not in out and "weather" not in out
    assert list(cwd.iterdir()) == []  # state lived in a temporary directory


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_keeps_its_promises_under_an_operators_config(tmp_path: Path) -> None:
    """A real desk's config sets backfill, routes an entity to Slack and lists real feeds; the
    demo still records the backlog silently (one backlog item mentions Lithuania), polls only
    its loopback feeds and prints to the console."""
    config = write_config(
        tmp_path,
        f'database_url = "sqlite:///{tmp_path / "real.db"}"\n'
        '[poll]\ninterval = "1h"\nbackfill = 5\n'
        '[[watch]]\nname = "Zapad"\naliases = ["Zapad-2025", "Запад-2025"]\n'
        'channels = ["slack:C0123ABCD"]\n'
        '[[watch]]\nname = "Lithuania"\n'
        '[[feeds]]\nurl = "https://www.belta.by/rss"\nname = "BelTA"\n',
    )
    out = io.StringIO()
    assert run_demo(out, str(config)) == 0
    text = out.getvalue()
    assert "2 feeds on http://127.0.0.1:" in text and "watching Zapad, Lithuania." in text
    assert "Poll 1: 2 feeds, backlog recorded, 0 alerts" in text
    assert "Poll 2: 3 new items, 1 alert(s) posted." in text
    first, _updated = alert_blocks(text)  # only the Zapad article, not the Vilnius backlog
    assert first.startswith(f"━━ ALERT #1: {HEADLINE}")
    assert "   • Zapad — " in first and "   • Lukashenko" not in first
    assert not (tmp_path / "real.db").exists()  # the desk's own database is never touched


def test_demo_says_so_when_the_watchlist_matches_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[[watch]]\nname = "Navalny"\naliases = ["Навальный"]\n')
    out = io.StringIO()
    assert run_demo(out, str(config)) == 1
    text = out.getvalue()
    assert "Poll 2: 3 new items, 0 alert(s) posted." in text
    assert "No alert was produced: check the watchlist" in text
    assert "ALERT" not in text


def test_demo_feeds_publish_new_items_and_answer_304_when_unchanged() -> None:
    with DemoFeeds() as feeds:
        url = feeds.urls()["europe"]
        with urllib.request.urlopen(url, timeout=10) as response:
            before = response.read()
            etag = response.headers["ETag"]
        parsed = parse_feed(before, url=url)
        assert parsed.title == "Europe Desk Wire (demo)"
        assert len(parsed.entries) == 3 and all(e.guid for e in parsed.entries)

        request = urllib.request.Request(url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(request, timeout=10)
        assert not_modified.value.code == 304

        feeds.publish()
        with urllib.request.urlopen(request, timeout=10) as response:
            after = parse_feed(response.read(), url=url)
        titles = [e.title for e in after.entries]
        assert len(titles) == 5 and HEADLINE in titles
        zapad = next(e for e in after.entries if e.title == HEADLINE)
        body = zapad.summary + zapad.content
        assert "delegations from 23 countries" in body and "Belavia" in body

        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{feeds.base}/feeds/nope.xml", timeout=10)
        assert missing.value.code == 404
