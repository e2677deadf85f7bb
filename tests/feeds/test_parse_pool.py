"""ParsePool: real spawned workers, their bounds, compact results, and death with the parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.errors import RemoteError
from bot.feeds.parse import FeedParseError, ParseBoundExceeded, parse_feed
from bot.feeds.parse_pool import ParsePool, ParseWorkerBug, pack, unpack

URL = "https://news.example.org/feed.xml"
FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
    b"<item><title>Zapad drills</title><link>https://news.example.org/a</link>"
    b"<pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate></item></channel></rss>"
)


def run(coro):
    return asyncio.run(coro)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has exited all the same.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1].startswith("Z")
    except FileNotFoundError:
        return True


def _wait_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if not _gone(pid)]
        time.sleep(0.1)
    return alive


def test_a_worker_returns_what_parse_feed_returns() -> None:
    with ParsePool(1) as pool:
        parsed = run(pool.parse(FEED, {"Content-Type": "application/xml"}, URL))
    assert parsed == parse_feed(FEED, url=URL, headers={"Content-Type": "application/xml"})


def test_results_travel_as_plain_tuples() -> None:
    feed = parse_feed(FEED, url=URL)
    packed = pack(feed)
    assert unpack(packed) == feed

    def classes(value: object) -> set[type]:
        if isinstance(value, tuple):
            return {tuple}.union(*(classes(v) for v in value))
        return {type(value)}

    assert classes(packed) <= {tuple, str, bool, type(None), type(feed.entries[0].published)}


def test_no_workers_parses_in_process() -> None:
    pool = ParsePool(0)
    assert run(pool.parse(FEED, None, URL)).entries[0].title == "Zapad drills"
    assert pool.pids == []


def test_none_sizes_the_pool_to_the_machine() -> None:
    assert ParsePool(None).size == (os.cpu_count() or 1)


def test_the_default_is_one_parse_process_per_cpu_so_parsing_never_blocks_fetching() -> None:
    """Parsing on the event loop (0) lets a busy machine expire healthy feeds' fetch deadlines;
    the default, unset or "auto" (as the shipped config says), is a worker per CPU."""
    import tomllib

    from bot.settings import DEFAULT_CONFIG, PollSettings

    machine = min(os.cpu_count() or 1, 64)
    assert PollSettings().parse_workers == machine
    assert PollSettings(parse_workers="auto").parse_workers == machine
    shipped = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))["poll"]["parse_workers"]
    assert shipped == "auto"
    assert PollSettings(parse_workers=shipped).parse_workers == machine >= 1


def test_a_refusal_in_a_worker_is_a_feed_parse_error_and_a_remote_error() -> None:
    with ParsePool(1) as pool, pytest.raises(FeedParseError, match="not an RSS") as caught:
        run(pool.parse(b"just some text", {}, URL))
    assert isinstance(caught.value, RemoteError)
    assert not caught.value.permanent


def test_a_bug_in_parsing_code_is_not_a_feed_error() -> None:
    # headers that are not a mapping of strings: parse_feed's own code fails on them
    with ParsePool(1) as pool, pytest.raises(ParseWorkerBug, match="TypeError"):
        run(pool.parse(FEED, {"content-type": 7}, URL))  # type: ignore[dict-item]


def test_a_deeply_nested_document_is_refused_quickly() -> None:
    depth = 300_000  # ~3.6 MB of nested tags
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>x</title><description>"
        + b"<div>" * depth
        + b"deep"
        + b"</div>" * depth
        + b"</description></item></channel></rss>"
    )
    bound_s = 60.0
    with ParsePool(1, time_limit_s=bound_s) as pool:
        run(pool.warm_up())
        started = time.monotonic()
        with pytest.raises(ParseBoundExceeded, match="nests elements deeper"):
            run(pool.parse(body, {"Content-Type": "application/xml"}, URL))
        assert time.monotonic() - started < bound_s / 4


def test_a_document_over_the_time_bound_is_refused_and_the_worker_replaced() -> None:
    # Declared windows-1251 but holding a byte that charset lacks (0x98), and not well-formed:
    # the fast path hands it to feedparser's loose parser, which is slow on deep tag soup; a
    # tiny bound makes that certain to trip.
    soup = b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><item>'
    soup += b"<title>\xcb\x98" + b"<b>" * 60_000 + b"<br>" * 60_000
    with ParsePool(1, time_limit_s=60) as pool:
        run(pool.warm_up())  # start-up (imports) counts against the bound too
        (first,) = pool.pids
        pool.time_limit_s = 0.5
        with pytest.raises(ParseBoundExceeded, match="longer than 0.5 s"):
            run(pool.parse(soup, {}, URL))
        assert _wait_gone([first], 10) == []
        pool.time_limit_s = 60
        assert run(pool.parse(FEED, {}, URL)).entries
        assert pool.pids and pool.pids != [first]


def test_a_document_over_the_memory_bound_is_refused() -> None:
    body = FEED.replace(b"Zapad drills", b"x" * 6_000_000)
    with ParsePool(1, memory_limit_bytes=600_000_000) as pool:
        assert run(pool.parse(body, {}, URL)).entries[0].title == "x" * 500
    with ParsePool(1, memory_limit_bytes=3_000_000) as pool:
        with pytest.raises(ParseBoundExceeded, match="more than 3 MB"):
            run(pool.parse(body, {}, URL))
        assert run(pool.parse(FEED, {}, URL)).entries  # a fresh worker takes the next one


def test_workers_ignore_ctrl_c() -> None:
    with ParsePool(1) as pool:
        run(pool.warm_up())
        (pid,) = pool.pids
        os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert not _gone(pid)
        assert run(pool.parse(FEED, {}, URL)).entries


_PARENT = textwrap.dedent(
    """
    import asyncio
    from bot.feeds.parse_pool import ParsePool

    # Tag soup feedparser's loose parser chews on for many seconds: a worker stays busy,
    # so it cannot notice its parent's death through its pipe.
    SOUP = b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><item>'
    SOUP += b"<title>x" + b"<b>" * 80_000 + b"<br>" * 80_000

    async def main() -> None:
        pool = ParsePool(2, death_signal={death_signal}, time_limit_s=3600)
        await pool.warm_up()
        busy = asyncio.ensure_future(pool.parse(SOUP, {{}}, "https://x.example/"))
        await asyncio.sleep(0.5)
        print(" ".join(map(str, pool.pids)), flush=True)
        await busy

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


@pytest.mark.parametrize("death_signal", [True, False], ids=["pdeathsig", "watchdog"])
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path, death_signal: bool) -> None:
    script = tmp_path / "parent.py"
    script.write_text(_PARENT.format(death_signal=death_signal))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, f"parent printed {line!r}"
        assert [pid for pid in pids if _gone(pid)] == []
        parent.kill()  # SIGKILL: no cleanup code in the parent runs
        parent.wait(10)
        # the busy worker would otherwise parse on for many seconds, then idle for ever
        assert _wait_gone(pids, within_s=4) == []
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_event_loop_keeps_running_while_a_starting_worker_takes_a_big_body() -> None:
    # A fresh worker spends its first seconds importing the parser and reads nothing; a 5 MB
    # body does not fit a pipe's buffer, so sending it must not happen on the loop.
    body = FEED.replace(b"Zapad drills", b"x" * 5_000_000)

    async def scenario(pool: ParsePool) -> float:
        job = asyncio.ensure_future(pool.parse(body, {}, URL))
        worst = 0.0
        while not job.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before)
        assert (await job).entries
        return worst

    with ParsePool(1) as pool:
        assert run(scenario(pool)) < 0.5
