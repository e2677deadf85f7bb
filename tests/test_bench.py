"""The poll and scale-out benches run end to end at tiny sizes and print their figures, so the
scripts cannot rot between the integrator's full runs (the figures themselves are not timed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REPO, shared_path

pytestmark = pytest.mark.shared


def run_bench(script: str, *argv: str, timeout: float = 240) -> str:
    """Run ``bench/<script>`` with this tree's ``bot``; its output, after checking it exit 0."""
    shared_path("data", "feeds", "realworld", "manifest.tsv")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_poll_bench_prints_every_case_and_the_targets() -> None:
    out = run_bench(
        "poll.py", "--feeds", "12", "--naive-feeds", "4", "--parse-workers", "1", "--timeout", "200"
    )
    for label in ("priming cycle", "all changed", "10% changed", "all 304", "same body"):
        assert re.search(rf"^{re.escape(label)}.*: 12 feeds in ", out, re.M), label
    # The server's cases really happened: every feed changed, then all 304, then the same bytes.
    assert re.search(r"^all changed.*\n.*\n  outcomes: new 12;", out, re.M), out
    assert re.search(r"^all 304.*\n  server answered 200 x 0 .* 304 x 12\n", out, re.M), out
    assert re.search(r"^same body.*\n.*\n  outcomes: same_body 12;", out, re.M), out
    assert "naive loop (sequential feedparser.parse(url), no validators, 1 core): 4 URLs" in out
    assert re.search(r"peak RSS <= 400 MB: [\d,]+ MB", out), out
    assert re.search(r"same body >= 5x cheaper than a changed feed: [\d.]+x", out), out
    assert "measured over 4 of the 12 URLs" in out
    # The sampler process sees the parse worker too (main + worker + resource tracker).
    processes = [int(n) for n in re.findall(r"peak memory of the bot \((\d+) processes\)", out)]
    assert processes and min(processes) >= 2, out


def test_poll_bench_long_run_prints_memory_and_database_size() -> None:
    out = run_bench(
        "poll.py", "--feeds", "8", "--minutes", "0.02", "--parse-workers", "0", "--timeout", "200"
    )
    assert re.search(r"^minute  0\.0: 0 cycles, 0 polls; RSS sum [\d,]+ MB", out, re.M), out
    # At least one cycle ran after the first line, and the last line counts it.
    assert re.search(
        r"^end, minute 0\.\d: [1-9]\d* cycles, [1-9][\d,]* polls; .*database [\d.]+ MB$", out, re.M
    ), out


@pytest.mark.postgres
def test_scale_bench_runs_two_workers_and_finds_no_duplicates(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("WATCHDESK_TEST_POSTGRES_URL is not set; .ci/run sets it")
    out = run_bench(
        "scale.py",
        "--feeds",
        "12",
        "--stories",
        "2",
        "--workers",
        "2",
        "--batch-size",
        "2",
        "--parse-workers",
        "0",
        "--postgres-url",
        POSTGRES_URL,
        "--timeout",
        "230",
    )
    assert re.search(r"^2 worker\(s\), all running", out, re.M), out
    cycles = re.findall(
        r"every one of 12 feeds polled in [\d.]+ s .*polls per worker (\S+) / (\S+)", out
    )
    assert len(cycles) == 2, out
    assert re.search(r"alerts: 2 for 2 shared stories", out), out
    assert (
        "duplicates (must be 0): story articles 0, alerts per article 0, alerts per story 0" in out
    )
    assert out.rstrip().endswith("duplicate articles and alerts: none"), out
