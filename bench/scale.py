"""Scale-out benchmark: one, then two `watchdesk run` workers on one PostgreSQL, same feeds.

Run from the repository root: ``python3 bench/scale.py [--feeds 1000] [--workers 1,2]
[--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`` (the URL may also come
from WATCHDESK_TEST_POSTGRES_URL; any database on the server will do, it is only used to create
and drop the bench's own).

For each setup (N workers), all on 127.0.0.1:

1. A fresh database ``watchdesk_bench_<pid>_<N>`` is created, migrated and given the feeds (due
   tomorrow, so nothing is polled yet); a config file in a temporary directory names it, the
   default watchlist, the console sink with one JSON-lines journal, and the loopback host. Every
   worker reads that same file, as a deployment's workers would.
2. N real ``python3 -m bot run --config FILE`` subprocesses start; once each has logged that it
   is running, every feed is made due at once (one UPDATE): "t0".
3. Priming cycle: the time until every feed has been polled once, read from the database
   (``max(last_polled_at) - t0`` once no feed has ``last_polled_at < t0``).
4. A tenth of the feeds publish a new item; ``--stories`` of those items are shared stories
   naming the watched entities, each carried by two feeds (an article reached through two
   feeds), so alerts happen and two workers may race to insert the same article. Every feed is
   made due again and the second cycle is timed the same way; then the bench waits until every
   story has been alerted and the outbox is empty.
5. Printed per setup: both cycle times, the polls each worker reported in its log (the split),
   feeds failed and polls "crashed", and the duplicates, which must all be 0: articles stored
   twice (two rows with the same link among the shared stories; across all articles, the rows
   beyond the first per link, compared with the one-worker setup), alerts per article, alerts
   per story link, outbox post intents per alert and destination, and console posts per alert
   (the journal). The exit status is 1 when any of those is not 0.

The feed server is bench/poll.py's (the real-world files of ``../shared/data/feeds/realworld/``,
feed i and feed i + <number of files> serving the same file, so many articles are shared from
the first cycle on). Alerts go to the console sink only: no chat tokens are set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

import poll as feeds_bench  # noqa: E402 - bench/poll.py: the loopback feed server

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULTS = REPO / "bot" / "defaults" / "watchdesk.toml"
INTERVAL = "1d"  # long enough that no feed comes due again by its slot during the bench
POLLED = re.compile(r"polled (\d+) feed\(s\):.* (\d+) failed, (\d+) disabled, (\d+) crashed")


class BenchError(Exception):
    """The bench cannot run as asked; the message says why."""


# --------------------------------------------------------------------------- the database


def _admin_engine(url: str):  # noqa: ANN202 - sqlalchemy Engine
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the server of ``admin_url``, yield its URL, drop it after."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = _admin_engine(admin_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BenchError(f"cannot create a database through {admin_url}: {exc}") from exc
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(url: str, feed_urls: Sequence[str]) -> None:
    """Migrate and add the feeds, due only tomorrow: no worker polls them until t0."""
    from sqlalchemy import update

    from bot.store import db
    from bot.store.repo import Store
    from bot.store.schema import FeedRow

    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        Store(engine).feeds.seed_feeds([(u, None, None, 86_400, ()) for u in feed_urls])
        with engine.begin() as conn:
            conn.execute(update(FeedRow).values(next_poll_at=datetime.now(UTC) + timedelta(days=1)))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the config


def _toml(value: object) -> str:
    """A TOML value for strings, numbers, booleans and lists of them (JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def write_config(folder: Path, database_url: str, args: argparse.Namespace) -> Path:
    """The one config every worker reads: the bench's database, the default watchlist, the
    console sink with a journal, the loopback host allowed."""
    watch = tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))["watch"]
    lines = [
        f"database_url = {_toml(database_url)}",
        'default_channels = ["console"]',
        f"console_journal = {_toml(str(folder / 'alerts.jsonl'))}",
        "[poll]",
        f'interval = "{INTERVAL}"',
        f"concurrency = {args.concurrency}",
        f"batch_size = {args.batch_size}",
        f"parse_workers = {_toml(args.parse_workers)}",
        "[fetch]",
        'timeout = "30s"',
        f"per_host_limit = {min(64, args.concurrency)}",  # every bench feed is on one host
        f"allow_private_hosts = {_toml([feeds_bench.HOST])}",
        "[analysis]",
        "fetch_full_text = false",  # the bench stories' pages are not on loopback
        f"encoder = {_toml(args.encoder)}",
        # The generated stories share one template, so one-alert-per-story would fold them
        # together; each must alert, as the duplicate counts below compare alerts to stories.
        "[stories]",
        "text_threshold = 1.0",
        "vector_threshold = 1.0",
        "cross_language_threshold = 1.0",
    ]
    for entity in watch:
        lines.append("[[watch]]")
        lines.extend(f"{key} = {_toml(value)}" for key, value in entity.items())
    path = folder / "watchdesk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the workers


@dataclass
class Worker:
    """One `watchdesk run` subprocess; its log (stderr) goes to a file the bench reads."""

    number: int
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def polls(self, since: int = 0) -> Counter[str]:
        """Polls, failures and crashes this worker logged after byte ``since`` of its log."""
        counts: Counter[str] = Counter()
        for match in POLLED.finditer(self.text()[since:]):
            polled, failed, disabled, crashed = (int(g) for g in match.groups())
            counts["polled"] += polled
            counts["failed"] += failed + disabled
            counts["crashed"] += crashed
        return counts

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_workers(count: int, config: Path, folder: Path) -> list[Worker]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in ("DATABASE_URL", "WATCHDESK_CONFIG", "WATCHDESK_CONSOLE_JOURNAL"):
        env.pop(name, None)
    for name in [k for k in env if k.startswith(("SLACK_", "DISCORD_"))]:
        env.pop(name)  # alerts go to the console sink only
    workers = []
    for number in range(1, count + 1):
        log = folder / f"worker-{number}.log"
        with log.open("wb") as err, (folder / f"worker-{number}.out").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(config)],
                cwd=folder,
                env=env,
                stdout=out,
                stderr=err,
            )
        workers.append(Worker(number, process, log))
    return workers


def wait_running(workers: Sequence[Worker], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        while "watchdesk running" not in worker.text():
            if worker.process.poll() is not None:
                raise BenchError(
                    f"worker {worker.number} exited with {worker.process.returncode}:\n"
                    + worker.text()[-2000:]
                )
            if time.monotonic() > deadline:
                raise BenchError(f"worker {worker.number} did not start within {timeout:.0f} s")
            time.sleep(0.2)


# --------------------------------------------------------------------------- measuring


def make_all_due(engine) -> datetime:  # noqa: ANN001 - sqlalchemy Engine
    """Every feed due now; returns that moment ("t0")."""
    from sqlalchemy import update

    from bot.store.schema import FeedRow

    t0 = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(FeedRow).values(next_poll_at=t0))
    return t0


def wait_cycle(engine, t0: datetime, workers: Sequence[Worker], timeout: float) -> float:  # noqa: ANN001
    """Seconds from ``t0`` until the last feed was polled, from the feeds' ``last_polled_at``."""
    from sqlalchemy import func, or_, select

    from bot.store.schema import FeedRow

    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            left = conn.execute(
                select(func.count()).where(
                    or_(FeedRow.last_polled_at.is_(None), FeedRow.last_polled_at < t0)
                )
            ).scalar_one()
            if left == 0:
                last = conn.execute(select(func.max(FeedRow.last_polled_at))).scalar_one()
                return (last - t0).total_seconds()
        for worker in workers:
            if worker.process.poll() is not None:
                raise BenchError(f"worker {worker.number} died:\n{worker.text()[-2000:]}")
        if time.monotonic() > deadline:
            raise BenchError(f"{left} feeds still not polled after {timeout:.0f} s")
        time.sleep(0.25)


def wait_logged(
    workers: Sequence[Worker], offsets: Sequence[int], feeds: int, timeout: float
) -> None:
    """Wait until the workers' logs account for at least ``feeds`` polls (a cycle logs when it
    ends, a moment after its last feed is stored)."""
    deadline = time.monotonic() + timeout
    while sum(w.polls(o)["polled"] for w, o in zip(workers, offsets, strict=True)) < feeds:
        if time.monotonic() > deadline:
            return
        time.sleep(0.25)


def wait_alerts(engine, journal: Path, stories: int, timeout: float) -> float:  # noqa: ANN001
    """Seconds until ``stories`` alerts were posted to the console and no post intent is left."""
    from sqlalchemy import func, select

    from bot.store.schema import OutboxRow

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        posted = len(journal_alerts(journal))
        with engine.connect() as conn:
            pending = conn.execute(
                select(func.count()).where(OutboxRow.state.in_(("pending", "sending")))
            ).scalar_one()
        if posted >= stories and pending == 0:
            return time.monotonic() - started
        time.sleep(0.25)
    return float("nan")


def journal_alerts(journal: Path) -> list[int]:
    """Alert ids the console sink posted, once per post."""
    if not journal.exists():
        return []
    ids = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("event") == "alert":
                ids.append(int(record["alert_id"]))
    return ids


def _excess(counts: Sequence[int]) -> int:
    """Rows beyond the first in each group."""
    return sum(c - 1 for c in counts if c > 1)


@dataclass
class Duplicates:
    story_articles: int = 0  # shared-story articles stored more than once
    articles_per_link: int = 0  # across all articles: rows beyond the first per link
    articles: int = 0
    alerts: int = 0
    alerts_per_article: int = 0
    alerts_per_story: int = 0
    outbox_posts: int = 0
    console_posts: int = 0
    feeds_failing: int = 0  # feeds with a recorded error after both cycles


def duplicates(engine, journal: Path) -> Duplicates:  # noqa: ANN001
    from sqlalchemy import func, select

    from bot.store.schema import AlertRow, ArticleRow, FeedRow, OutboxRow

    found = Duplicates()
    with engine.connect() as conn:

        def groups(*columns, where=None):  # noqa: ANN001, ANN202
            query = select(func.count()).select_from(columns[0].table).group_by(*columns)
            if where is not None:
                query = query.where(where)
            return list(conn.execute(query).scalars())

        story = ArticleRow.link.like("https://bench.example/story/%")
        found.story_articles = _excess(groups(ArticleRow.link, where=story))
        found.articles_per_link = _excess(
            groups(ArticleRow.link, where=ArticleRow.link.is_not(None))
        )
        found.articles = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
        found.alerts = conn.execute(select(func.count()).select_from(AlertRow)).scalar_one()
        found.alerts_per_article = _excess(groups(AlertRow.article_id))
        found.alerts_per_story = _excess(groups(AlertRow.url, where=AlertRow.url.is_not(None)))
        found.outbox_posts = _excess(
            groups(OutboxRow.alert_id, OutboxRow.destination, where=OutboxRow.kind == "post_alert")
        )
        found.feeds_failing = conn.execute(
            select(func.count()).where(FeedRow.error_count > 0)
        ).scalar_one()
    found.console_posts = _excess(list(Counter(journal_alerts(journal)).values()))
    return found


@dataclass
class Setup:
    workers: int
    cycles: list[float] = field(default_factory=list)
    polls: list[list[Counter[str]]] = field(default_factory=list)  # per cycle, per worker
    alert_wait_s: float = 0.0
    dupes: Duplicates = field(default_factory=Duplicates)
    stories: int = 0
    rss_mb: list[float] = field(default_factory=list)
    start_s: float = 0.0  # until every worker logged that it runs


def _tree_rss_mb(pid: int) -> float:
    return sum(feeds_bench._memory_kb(p)[0] for p in feeds_bench.descendants(pid, set())) / 1024


# --------------------------------------------------------------------------- one setup


def story_plan(
    feeds: int, changed: float, stories: int, seed: int
) -> tuple[list[int], dict[int, int]]:
    """Which feeds publish, and which of them carry which shared story (two feeds each)."""
    rng = random.Random(seed)
    publish = sorted(rng.sample(range(feeds), max(2 * stories, round(feeds * changed))))
    carriers = rng.sample(publish, 2 * stories)
    return publish, {feed: i // 2 + 1 for i, feed in enumerate(carriers)}


def run_setup(
    count: int, args: argparse.Namespace, server: feeds_bench.Server, admin_url: str
) -> Setup:
    from bot.store import db

    setup = Setup(count)
    name = f"watchdesk_bench_{os.getpid()}_{count}"
    with (
        tempfile.TemporaryDirectory(prefix="watchdesk-scale-") as tmp,
        fresh_database(admin_url, name) as url,
    ):
        folder = Path(tmp)
        seed(url, [server.url(i) for i in range(args.feeds)])
        config = write_config(folder, url, args)
        engine = db.make_engine(url)
        workers = start_workers(count, config, folder)
        try:
            started = time.monotonic()
            wait_running(workers, args.start_timeout)
            setup.start_s = time.monotonic() - started
            publish, stories = story_plan(args.feeds, args.changed, args.stories, args.seed)
            for cycle in range(2):
                if cycle == 1:
                    server.publish(publish, stories)
                offsets = [len(w.text()) for w in workers]
                t0 = make_all_due(engine)
                setup.cycles.append(wait_cycle(engine, t0, workers, args.cycle_timeout))
                wait_logged(workers, offsets, args.feeds, 30)
                setup.polls.append([w.polls(o) for w, o in zip(workers, offsets, strict=True)])
            setup.stories = len(set(stories.values()))
            journal = folder / "alerts.jsonl"
            setup.alert_wait_s = wait_alerts(engine, journal, setup.stories, args.cycle_timeout)
            time.sleep(2)  # a duplicate would be posted right after the original
            setup.rss_mb = [_tree_rss_mb(w.process.pid) for w in workers]
            setup.dupes = duplicates(engine, journal)
        finally:
            for worker in workers:
                worker.stop()
            engine.dispose()
        server.publish(list(range(args.feeds)))  # the next setup starts from other bytes
    return setup


# --------------------------------------------------------------------------- report


def describe(setup: Setup, feeds: int) -> list[str]:
    lines = [f"{setup.workers} worker(s), all running {setup.start_s:.1f} s after their start:"]
    for number, (seconds, polls) in enumerate(zip(setup.cycles, setup.polls, strict=True)):
        label = "priming cycle (all new)" if number == 0 else "second cycle (10% changed)"
        total = sum(p["polled"] for p in polls)
        split = " / ".join(f"{p['polled']:,}" for p in polls)
        share = " / ".join(f"{p['polled'] / total:.0%}" for p in polls) if total else "-"
        failed = sum(p["failed"] for p in polls)
        crashed = sum(p["crashed"] for p in polls)
        lines.append(
            f"  {label}: every one of {feeds:,} feeds polled in {seconds:.1f} s "
            f"({feeds / seconds:,.0f} feeds/s); polls per worker {split} ({share}; "
            f"{total:,} logged); failed {failed}, crashed {crashed}"
        )
    d = setup.dupes
    lines.append(
        f"  alerts: {d.alerts} for {setup.stories} shared stories, all posted and the outbox empty "
        f"{setup.alert_wait_s:.1f} s after the second cycle; worker RSS (with parse workers) "
        + ", ".join(f"{mb:,.0f} MB" for mb in setup.rss_mb)
    )
    lines.append(
        f"  duplicates (must be 0): story articles {d.story_articles}, alerts per article "
        f"{d.alerts_per_article}, alerts per story {d.alerts_per_story}, outbox posts "
        f"{d.outbox_posts}, console posts {d.console_posts}"
    )
    lines.append(
        f"  articles {d.articles:,} (rows sharing a link beyond the first: {d.articles_per_link:,}"
        f", the feeds' own); feeds with an error recorded: {d.feeds_failing}"
    )
    return lines


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feed URLs (default 1,000)")
    parser.add_argument("--workers", default="1,2", help="setups to run (default 1,2)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WATCHDESK_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="any database on the PostgreSQL server (used to create and drop the bench's own)",
    )
    parser.add_argument("--changed", type=float, default=0.10, help="feeds publishing in cycle 2")
    parser.add_argument("--stories", type=int, default=20, help="shared stories (2 feeds each)")
    parser.add_argument("--concurrency", type=int, default=64, help="[poll] concurrency")
    parser.add_argument("--batch-size", type=int, default=200, help="[poll] batch_size")
    parser.add_argument(
        "--parse-workers", default="auto", help='[poll] parse_workers per worker (default "auto")'
    )
    parser.add_argument("--encoder", default="none", help="[analysis] encoder (default none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-timeout", type=float, default=300, help="seconds for a start")
    parser.add_argument("--cycle-timeout", type=float, default=900, help="seconds for a cycle")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after (seconds)")
    args = parser.parse_args(argv)
    args.worker_counts = [int(n) for n in args.workers.split(",")]
    if args.parse_workers != "auto":
        args.parse_workers = int(args.parse_workers)
    if args.feeds < 4 or args.stories < 1 or 2 * args.stories > args.feeds:
        parser.error("--feeds must be >= 4 and --stories within 1..feeds/2")
    if not all(1 <= n <= 8 for n in args.worker_counts):
        parser.error("--workers: counts within 1..8, e.g. 1,2")
    return args


def _watchdog(seconds: float) -> threading.Timer:
    """After ``seconds`` kill every child (workers, their parse pools, the server), exit 3; the
    databases named watchdesk_bench_<pid>_* are then left to drop by hand."""

    def fire() -> None:
        print(f"gave up after {seconds:.0f} s (--timeout)", file=sys.stderr, flush=True)
        feeds_bench._kill_children(set())
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: Sequence[str] | None = None) -> int:
    args = _options(argv)
    if not (feeds_bench.REALWORLD / "manifest.tsv").is_file():
        print("skipped: ../shared/ is absent; this benchmark serves the real-world feeds there")
        return 0
    timer = _watchdog(args.timeout)
    server = feeds_bench.Server(feeds_bench.REALWORLD, args.seed, [])
    print(
        f"scale-out bench: {args.feeds:,} loopback feeds, setups {args.workers} worker(s) of "
        f"`python3 -m bot run` on one PostgreSQL, batch_size={args.batch_size}, "
        f"concurrency={args.concurrency}, parse_workers={args.parse_workers}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    setups: list[Setup] = []
    try:
        for count in args.worker_counts:
            setups.append(run_setup(count, args, server, args.postgres_url))
            print("\n".join(describe(setups[-1], args.feeds)), flush=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        timer.cancel()
        server.stop()
    base = setups[0]
    for setup in setups[1:]:
        print(
            f"{setup.workers} workers vs {base.workers}: priming cycle "
            f"{base.cycles[0] / setup.cycles[0]:.2f}x faster, second cycle "
            f"{base.cycles[1] / setup.cycles[1]:.2f}x (load average now {os.getloadavg()[0]:.1f})"
        )
    clean = all(
        not (s.dupes.story_articles or s.dupes.alerts_per_article or s.dupes.alerts_per_story)
        and not (s.dupes.outbox_posts or s.dupes.console_posts)
        for s in setups
    )
    print(f"duplicate articles and alerts: {'none' if clean else 'FOUND (see above)'}")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
