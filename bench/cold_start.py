"""Cold-start times of `watchdesk feeds list` and `watchdesk check FILE`, each in a fresh
process, next to baselines measured in the same run: `python -c pass` (the interpreter alone)
and the same commands on another tree (default /work/main, i.e. before this branch).

    python3 bench/cold_start.py [--runs 7] [--baseline-tree /work/main]

Each tree runs with PYTHONPATH set to it, its own shipped config/watchdesk.toml, and
DATABASE_URL pointing at a SQLite file in a temporary folder that the tree's own
`watchdesk db upgrade` prepared first (so `feeds list` lists the 16 shipped feeds). The
figures are the median and the fastest of the runs; the machine's load moves them, the
baselines in the same run show by how much. Target: `feeds list` well under 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SAMPLE = Path("bot/demo/data/zapad-visit.txt")


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def tree_env(tree: Path, database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "WATCHDESK_"))
    }
    env.update(
        PYTHONPATH=str(tree),
        DATABASE_URL=f"sqlite:///{database}",
        WATCHDESK_CONFIG=str(tree / "config" / "watchdesk.toml"),
    )
    return env


def measure(label: str, argv: list[str], env: dict[str, str], cwd: Path, runs: int) -> None:
    timed(argv, env, cwd)  # warm the OS file cache, as every later start would find it
    times = [timed(argv, env, cwd) for _ in range(runs)]
    print(
        f"  {label:<34} median {statistics.median(times):6.3f} s   "
        f"fastest {min(times):6.3f} s   ({runs} runs)"
    )


def bench_tree(name: str, tree: Path, work: Path, runs: int) -> None:
    folder = work / name
    folder.mkdir()
    env = tree_env(tree, folder / "watchdesk.db")
    python = sys.executable
    timed([python, "-m", "bot", "db", "upgrade"], env, folder)
    article = folder / SAMPLE.name
    shutil.copy(tree / SAMPLE, article)
    print(f"{name}: {tree}")
    measure("watchdesk feeds list", [python, "-m", "bot", "feeds", "list"], env, folder, runs)
    measure("watchdesk check FILE", [python, "-m", "bot", "check", str(article)], env, folder, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-tree", type=Path, default=Path("/work/main"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="watchdesk-cold-") as tmp:
        work = Path(tmp)
        print("interpreter alone:")
        measure("python -c pass", [sys.executable, "-c", "pass"], dict(os.environ), work, args.runs)
        if args.baseline_tree.resolve() != HERE and (args.baseline_tree / "bot").is_dir():
            bench_tree("baseline", args.baseline_tree.resolve(), work, args.runs)
        bench_tree("this tree", HERE, work, args.runs)


if __name__ == "__main__":
    main()
