"""Benchmark of one steady-state poll cycle over N loopback feeds, against a naive feedparser loop.

Run from the repository root: ``python3 bench/poll.py [--feeds 10000] [--changed 0.10]
[--parse-workers 2] [--database-url URL]``. Targets: 10,000 feeds per cycle in <= 60 s on 2
cores, <= 400 MB peak RSS, >= 20x a naive sequential ``feedparser.parse(url)`` loop.

What it does, all on 127.0.0.1:

1. A separate server process (aiohttp) serves the real-world feeds in
   ``../shared/data/feeds/realworld/`` (those feedparser finds entries in) under N distinct
   URLs ``/feed/<i>``, cycling through the files, each with its own ETag and Last-Modified, and
   answers 304 to a matching conditional GET.
2. A fresh store (SQLite in a temporary directory, or ``--database-url``) gets N feeds.
3. Priming cycle (timed, printed separately): every feed answers 200 and is parsed; this is what
   a bot's first cycle after adding the feeds costs, and it is parse-bound.
4. "Publish": a fraction of the feeds (``--changed``, default 10 %) gets a new item, new bytes
   and a new ETag. The steady-state cycle then runs through ``Poller.poll_due()`` one interval
   later: changed feeds answer 200 and are parsed, the rest answer 304.
5. A naive bot (sequential ``feedparser.parse(url)``, no conditional GET, as most RSS scripts do)
   fetches an evenly spaced sample of the same URLs; its per-feed time is extrapolated to N.

The bot process and its parse workers are pinned to at most 2 CPUs; the server goes to the
other CPUs when the machine has more than 2, otherwise it competes with the bot (its CPU time is
printed separately). The feeds share one host, so the bench lifts ``FetchSettings.per_host_limit``
to the poll concurrency; everything else is the bot's own configuration.

How memory is counted: every 50 ms a thread reads /proc/<pid>/smaps_rollup of the bot process
and all its descendants (the spawned parse workers and multiprocessing's resource tracker),
leaving out the server. "Peak RSS" is the largest sum of their RSS seen (a page shared by two
processes counts in both, so it errs high); the PSS sum (shared pages split between sharers) and
getrusage's maxrss of the main process and of the largest finished child are printed next to it.
CPU seconds come from /proc/<pid>/stat per process; the main process's figure includes the
sampling thread (about 1 % of a core).

Bounded in time: ``--timeout`` (default 30 min) stops everything. Priming 10,000 feeds is
parse-bound and takes about 5 minutes on 2 cores; the steady-state cycle and the naive sample
take about a minute together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.feeds.poll import Poller
    from bot.store.repo import Store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO / ".." / "shared"
REALWORLD = SHARED / "data" / "feeds" / "realworld"
HOST = "127.0.0.1"
BOT_CPUS = 2
SAMPLE_EVERY_S = 0.05
INTERVAL_S = 600
BASE_TIME = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- feed files


@dataclass(frozen=True)
class FeedFile:
    rel: str
    body: bytes
    version: str  # feedparser's name for the format, from the manifest ("rss20", "atom10"...)


def feed_files(root: Path, seed: int) -> tuple[list[tuple[str, str]], int]:
    """(path, version) of the real-world files feedparser finds entries in, and how many were
    left out: a fragment or non-feed served to 1/555th of the feeds would only measure error
    paths. Shuffled with ``seed``: the manifest groups files by origin, which puts the largest
    feeds next to each other, and real subscriptions are not ordered by size."""
    kept: list[tuple[str, str]] = []
    skipped = 0
    with (root / "manifest.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["n_entries"] or 0) == 0:
                skipped += 1
                continue
            kept.append((row["local"], row["version"]))
    random.Random(seed).shuffle(kept)
    return kept, skipped


def load_files(root: Path, seed: int) -> list[FeedFile]:
    """The files' bytes: only the server process holds them, so they never count as the bot's."""
    return [
        FeedFile(rel, (root / rel).read_bytes(), version)
        for rel, version in feed_files(root, seed)[0]
    ]


def _new_item(version: str, feed: int, revision: int) -> bytes | None:
    """One new entry in the file's own dialect (ASCII, so it fits every encoding in the set)."""
    when = BASE_TIME + timedelta(hours=revision)
    title = f"Watchdesk bench story {feed}.{revision}"
    link = f"https://bench.example/{feed}/{revision}"
    if version.startswith("atom"):
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f'<entry><title>{title}</title><link href="{link}"/><id>urn:bench:{feed}:{revision}</id>'
            f"<updated>{stamp}</updated><summary>{title} summary.</summary></entry>"
        ).encode()
    if version.startswith("rss"):
        return (
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">urn:bench:{feed}:{revision}</guid>'
            f"<description>{title} summary.</description>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        ).encode()
    return None


def changed_body(file: FeedFile, feed: int, revision: int) -> bytes:
    """The file as published after ``revision`` changes: a new item before the closing channel /
    feed / rdf:RDF tag. Where no such tag is found the bytes still change (a trailing comment),
    so the feed is re-parsed without yielding an article, as a touched-but-same feed does."""
    item = _new_item(file.version, feed, revision)
    closers = (b"</feed>",) if file.version.startswith("atom") else (b"</channel>", b"</rdf:RDF>")
    if item is not None:
        for closer in closers:
            at = file.body.rfind(closer)
            if at >= 0:
                return file.body[:at] + item + file.body[at:]
    return file.body + f"\n<!-- revision {revision} -->\n".encode()


# --------------------------------------------------------------------------- loopback site


@dataclass
class Site:
    """The state of the loopback "internet": which revision each feed URL is at."""

    files: list[FeedFile]
    revisions: dict[int, int] = field(default_factory=dict)
    served: Counter[str] = field(default_factory=Counter)

    def etag(self, feed: int) -> str:
        return f'"wd-{feed}-{self.revisions.get(feed, 0)}"'

    def last_modified(self, feed: int) -> str:
        revision = self.revisions.get(feed, 0)
        return format_datetime(BASE_TIME + timedelta(hours=revision), usegmt=True)

    def body(self, feed: int) -> bytes:
        file = self.files[feed % len(self.files)]
        revision = self.revisions.get(feed, 0)
        return file.body if revision == 0 else changed_body(file, feed, revision)


def _not_modified(site: Site, feed: int, if_none_match: str | None, since: str | None) -> bool:
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or site.etag(feed) in tags
    return since is not None and since == site.last_modified(feed)


def _make_app(site: Site) -> web.Application:
    # aiohttp is imported in the server process only: the bot's memory must not include it.
    from aiohttp import web

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        headers = {"ETag": site.etag(number), "Last-Modified": site.last_modified(number)}
        if _not_modified(
            site,
            number,
            request.headers.get("If-None-Match"),
            request.headers.get("If-Modified-Since"),
        ):
            site.served["304"] += 1
            return web.Response(status=304, headers=headers)
        site.served["200"] += 1
        body = site.body(number)
        site.served["bytes"] += len(body)
        return web.Response(body=body, headers={**headers, "Content-Type": "application/xml"})

    async def publish(request: web.Request) -> web.Response:
        for number in (await request.json())["feeds"]:
            site.revisions[number] = site.revisions.get(number, 0) + 1
        return web.json_response({"published": len(site.revisions)})

    async def stats(request: web.Request) -> web.Response:
        counts = dict(site.served)
        if request.method == "POST":
            site.served.clear()
        return web.json_response(counts)

    app = web.Application()
    app.router.add_get(r"/feed/{n:\d+}", feed)
    app.router.add_post("/-/publish", publish)
    app.router.add_route("*", "/-/stats", stats)
    return app


def _serve(root: str, seed: int, cpus: list[int], ready: Connection) -> None:
    """Server process entry point: load the files, bind a free port, report it, serve forever."""
    from aiohttp import web

    if cpus:
        os.sched_setaffinity(0, cpus)
    files = load_files(Path(root), seed)

    async def run() -> None:
        runner = web.AppRunner(_make_app(Site(files)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=1024)
        await site.start()
        ready.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(run())


class Server:
    """The loopback feed server in its own process (so its CPU is not the bot's)."""

    def __init__(self, root: Path, seed: int, cpus: list[int]) -> None:
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(str(root), seed, cpus, send), daemon=True
        )
        self.process.start()
        if not receive.poll(60):
            self.stop()
            raise RuntimeError("the loopback feed server did not start within 60 s")
        self.port: int = receive.recv()
        self.base = f"http://{HOST}:{self.port}"

    def url(self, feed: int) -> str:
        return f"{self.base}/feed/{feed}"

    def _call(
        self, path: str, payload: object | None = None, method: str = "GET"
    ) -> dict[str, int]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def publish(self, feeds: Sequence[int]) -> None:
        self._call("/-/publish", {"feeds": list(feeds)}, "POST")

    def take_stats(self) -> Counter[str]:
        """Responses served since the last call (and reset the counters)."""
        return Counter(self._call("/-/stats", method="POST"))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(10)


# --------------------------------------------------------------------------- measuring the bot


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a process, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB from /proc/<pid>/smaps_rollup; PSS splits shared pages between the
    processes sharing them, so PSS adds up across processes where RSS double counts."""
    values = {"Rss:": 0, "Pss:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(" ")
            if name in values:
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


@dataclass
class Usage:
    """What one phase cost the bot (this process plus its parse workers)."""

    peak_rss_mb: float = 0.0  # largest sampled sum of RSS over the bot's processes
    peak_pss_mb: float = 0.0  # the same with PSS (shared pages counted once)
    peak_main_rss_mb: float = 0.0
    bot_cpu_s: float = 0.0  # main process
    workers_cpu_s: float = 0.0  # parse workers (and any other child of the bot)
    server_cpu_s: float = 0.0
    processes: int = 1


class ProcessMeter:
    """Samples memory of this process and its descendants every ``SAMPLE_EVERY_S`` from /proc,
    leaving out the loopback server (``exclude``), and keeps CPU seconds per process."""

    def __init__(self, exclude: set[int]) -> None:
        self._exclude = exclude
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tree: list[int] = [os.getpid()]
        self._cpu: dict[int, float] = {}
        self._usage = Usage()
        self._thread = threading.Thread(target=self._run, name="process-meter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def descendants(self) -> list[int]:
        """This process and its descendants, without the excluded ones, from /proc."""
        parents: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if name.isdigit() and (found := _stat(int(name))) is not None:
                parents.setdefault(found[0], []).append(int(name))
        tree, queue = [], [os.getpid()]
        while queue:
            pid = queue.pop()
            if pid in self._exclude:
                continue
            tree.append(pid)
            queue.extend(parents.get(pid, ()))
        return tree

    def _run(self) -> None:
        rescan_at = 0.0
        while not self._stop.wait(SAMPLE_EVERY_S):
            if time.monotonic() >= rescan_at:
                tree = self.descendants()
                with self._lock:
                    self._tree = tree
                rescan_at = time.monotonic() + 0.5
            self.sample()

    def sample(self) -> None:
        with self._lock:
            tree = list(self._tree)
        rss = pss = 0
        main_rss = 0
        for pid in tree:
            one_rss, one_pss = _memory_kb(pid)
            rss, pss = rss + one_rss, pss + one_pss
            main_rss = one_rss if pid == os.getpid() else main_rss
            if (found := _stat(pid)) is not None:
                with self._lock:
                    self._cpu[pid] = found[1]
        with self._lock:
            usage = self._usage
            usage.peak_rss_mb = max(usage.peak_rss_mb, rss / 1024)
            usage.peak_pss_mb = max(usage.peak_pss_mb, pss / 1024)
            usage.peak_main_rss_mb = max(usage.peak_main_rss_mb, main_rss / 1024)
            usage.processes = max(usage.processes, len(tree))

    @contextlib.contextmanager
    def phase(self, server_pid: int) -> Iterator[Usage]:
        """Measure what the enclosed code costs; the yielded Usage is filled in on exit."""
        self.sample()
        with self._lock:
            before = dict(self._cpu)
            self._usage = usage = Usage()
        server_before = (_stat(server_pid) or (0, 0.0))[1]
        yield usage
        tree = self.descendants()
        with self._lock:
            self._tree = tree
        self.sample()
        with self._lock:
            for pid, seconds in self._cpu.items():
                spent = seconds - before.get(pid, 0.0)
                if pid == os.getpid():
                    usage.bot_cpu_s += spent
                else:
                    usage.workers_cpu_s += spent
        usage.server_cpu_s = (_stat(server_pid) or (0, server_before))[1] - server_before


# --------------------------------------------------------------------------- store and cycles


class BenchError(Exception):
    """The bench cannot run as asked (bad option, non-empty database); the message says why."""


class Clock:
    """The poller's clock: the bench moves it one interval forward between cycles."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """A fresh database URL: SQLite in a temporary directory, or a throwaway schema in the given
    Postgres database (dropped afterwards). A given SQLite URL must be an empty database."""
    from sqlalchemy import text

    from bot.store import db

    if url is None:
        folder = tempfile.mkdtemp(prefix="watchdesk-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def make_store(url: str, server: Server, feeds: int, now: datetime) -> Store:
    """A migrated store holding ``feeds`` feeds, all due at ``now``."""
    from sqlalchemy import update

    from bot.store import db
    from bot.store.repo import Store
    from bot.store.schema import FeedRow

    engine = db.make_engine(url)
    db.upgrade(engine)
    store = Store(engine)
    if store.feeds.list_feeds():
        raise BenchError(f"{url} already holds feeds; give the bench an empty database")
    store.feeds.seed_feeds(
        [(server.url(i), f"bench feed {i}", None, INTERVAL_S, ()) for i in range(feeds)]
    )
    with engine.begin() as conn:  # seed_feeds stamps the wall clock; the bench runs on its own
        conn.execute(update(FeedRow).values(next_poll_at=now))
    return store


@dataclass
class CycleFigures:
    label: str
    feeds: int
    wall_s: float
    outcomes: Counter[str]
    served: Counter[str]
    errors: Counter[str]
    new_articles: int
    usage: Usage
    load_average: float  # 1-minute load average when the cycle ended

    @property
    def rate(self) -> float:
        return self.feeds / self.wall_s if self.wall_s else 0.0

    @property
    def busy(self) -> float:
        """Share of BOT_CPUS the bot and the server kept busy: well below 100 % on an idle
        machine means the pipeline stalls; on a shared one, other processes took the rest."""
        u = self.usage
        total = u.bot_cpu_s + u.workers_cpu_s + u.server_cpu_s
        return total / (BOT_CPUS * self.wall_s) if self.wall_s else 0.0


def run_cycle(label: str, poller: Poller, meter: ProcessMeter, server: Server) -> CycleFigures:
    """One ``Poller.poll_due()`` with its wall time, what the server answered, and the bot's
    memory and CPU."""
    server.take_stats()
    with meter.phase(server.process.pid) as usage:
        started = time.perf_counter()
        report = poller.poll_due()
        wall = time.perf_counter() - started
    outcomes = Counter(r.outcome for r in report.results)
    errors = Counter((r.error or "")[:100] for r in report.results if r.error)
    return CycleFigures(
        label,
        len(report.results),
        wall,
        outcomes,
        server.take_stats(),
        errors,
        len(report.new_articles),
        usage,
        os.getloadavg()[0],
    )


@dataclass(frozen=True)
class NaiveFigures:
    urls: int
    wall_s: float
    cpu_s: float
    per_feed_s: float
    stderr_s: float  # standard error of the mean per-feed time (the sample's files vary a lot)
    failures: int


def naive_loop(urls: Sequence[str]) -> NaiveFigures:
    """What most RSS scripts do: ``feedparser.parse(url)`` one after another, no validators."""
    import socket

    import feedparser

    socket.setdefaulttimeout(30)
    times: list[float] = []
    failures = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for url in urls:
        one = time.perf_counter()
        result = feedparser.parse(url)
        times.append(time.perf_counter() - one)
        failures += 0 if result.get("entries") else 1
    wall = time.perf_counter() - started
    mean = sum(times) / len(times)
    variance = sum((t - mean) ** 2 for t in times) / max(1, len(times) - 1)
    return NaiveFigures(
        len(urls), wall, time.process_time() - cpu, mean, (variance / len(times)) ** 0.5, failures
    )


# --------------------------------------------------------------------------- report


def _describe(cycle: CycleFigures) -> list[str]:
    u = cycle.usage
    served = cycle.served
    answered = served["200"] + served["304"]
    share = served["200"] / answered if answered else 0.0
    lines = [
        f"{cycle.label}: {cycle.feeds:,} feeds in {cycle.wall_s:.1f} s = {cycle.rate:,.0f} feeds/s",
        f"  server answered 200 x {served['200']:,} ({share:.1%}, {served['bytes'] / 1e6:,.0f} MB) "
        f"and 304 x {served['304']:,}",
        "  outcomes: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(cycle.outcomes.items()))
        + f"; new alertable articles {cycle.new_articles:,}",
        f"  peak memory of the bot ({u.processes} processes): RSS sum {u.peak_rss_mb:,.0f} MB, "
        f"PSS sum {u.peak_pss_mb:,.0f} MB (main process RSS {u.peak_main_rss_mb:,.0f} MB)",
        f"  CPU seconds: bot main {u.bot_cpu_s:.1f}, parse workers {u.workers_cpu_s:.1f}, "
        f"loopback server {u.server_cpu_s:.1f} = {cycle.busy:.0%} of {BOT_CPUS} CPUs; "
        f"load average {cycle.load_average:.1f} at the end",
    ]
    for error, count in cycle.errors.most_common(5):
        lines.append(f"  error x {count:,}: {error}")
    return lines


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


# --------------------------------------------------------------------------- main


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000, help="feed URLs (default 10,000)")
    parser.add_argument(
        "--changed",
        type=float,
        default=0.10,
        help="fraction of feeds that publish between the cycles (default 0.10)",
    )
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=2,
        help="[poll] parse_workers (default 2; 0 = parse in the bot process)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="[poll] concurrency")
    parser.add_argument("--batch-size", type=int, default=500, help="[poll] batch_size")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=200,
        help="URLs the naive loop fetches; its time is extrapolated to --feeds",
    )
    parser.add_argument(
        "--database-url",
        help="store URL (default: SQLite in a temp directory; "
        "a postgresql+psycopg:// URL gets a throwaway schema)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="which file each URL serves and which feeds change"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="give up after this many seconds (default 1800)"
    )
    args = parser.parse_args(argv)
    if args.feeds < 1 or not 0 <= args.changed <= 1 or args.parse_workers < 0:
        parser.error("--feeds must be >= 1, --changed within 0..1, --parse-workers >= 0")
    return args


def _pin_cpus() -> tuple[list[int], list[int]]:
    """Pin the bot to at most BOT_CPUS CPUs; the server gets the rest (or shares them)."""
    available = sorted(os.sched_getaffinity(0))
    bot = available[:BOT_CPUS]
    os.sched_setaffinity(0, bot)
    return bot, available[BOT_CPUS:] or bot


def _watchdog(seconds: float, server: Server, meter: ProcessMeter) -> threading.Timer:
    """After ``seconds``, stop the server and the bot's own child processes, then exit 3."""

    def fire() -> None:
        print(
            f"gave up after {seconds:.0f} s (--timeout); figures above are all there is",
            file=sys.stderr,
            flush=True,
        )
        server.stop()
        for pid in meter.descendants():  # parse workers would outlive os._exit, waiting for jobs
            if pid != os.getpid():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def _poller(store: Store, clock: Clock, args: argparse.Namespace) -> Poller:
    from bot.feeds.client import HttpClient
    from bot.feeds.poll import Poller
    from bot.settings import FetchSettings, PollSettings

    # All N feeds live on one loopback host, where real feeds spread over thousands of hosts:
    # the per-host politeness limit (2 by default) would serialise them, so it is lifted here.
    http = HttpClient(
        FetchSettings(timeout_s=30, allow_private_hosts=(HOST,), per_host_limit=args.concurrency),
        max_connections=args.concurrency,
    )
    config = PollSettings(
        interval_s=INTERVAL_S,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        parse_workers=args.parse_workers,
    )
    return Poller(store, http, config, clock=clock)


def _run(
    args: argparse.Namespace,
    files: list[tuple[str, str]],
    skipped: int,
    server: Server,
    meter: ProcessMeter,
    bot_cpus: list[int],
    server_cpus: list[int],
) -> None:
    backend = "postgres" if (args.database_url or "").startswith("postgresql") else "sqlite"
    print(
        f"poll cycle bench: {args.feeds:,} feeds over {len(files)} real-world files "
        f"({skipped} without entries left out), parse_workers={args.parse_workers}, "
        f"concurrency={args.concurrency}, batch_size={args.batch_size}, store {backend}"
    )
    shared = " (shares the bot's CPUs)" if server_cpus == bot_cpus else ""
    print(
        f"bot pinned to CPUs {bot_cpus}, loopback server on {server_cpus}{shared}; "
        f"load average at start {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    clock = Clock(BASE_TIME + timedelta(days=1))
    with database(args.database_url) as url:
        store = make_store(url, server, args.feeds, clock.now)
        poller = _poller(store, clock, args)
        try:
            prime = run_cycle(
                "priming cycle (every feed new: all 200, all parsed)", poller, meter, server
            )
            print("\n".join(_describe(prime)), flush=True)
            changed = sorted(
                random.Random(args.seed).sample(range(args.feeds), round(args.feeds * args.changed))
            )
            server.publish(changed)
            clock.now += timedelta(seconds=INTERVAL_S + 1)
            steady = run_cycle(
                f"steady-state cycle ({len(changed):,} feeds = "
                f"{args.changed:.0%} published a new item)",
                poller,
                meter,
                server,
            )
            print("\n".join(_describe(steady)), flush=True)
        finally:
            poller.close()
            store.engine.dispose()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"getrusage maxrss: bot main {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"
        f" MB, largest finished child (a parse worker) {children:,.0f} MB"
    )
    sample = max(1, min(args.naive_sample, args.feeds))
    urls = [server.url(int(i * args.feeds / sample)) for i in range(sample)]
    naive = naive_loop(urls)
    naive_total = naive.per_feed_s * args.feeds
    print(
        f"naive loop (sequential feedparser.parse(url), no validators, 1 core): {naive.urls} "
        f"evenly spaced URLs in {naive.wall_s:.1f} s ({naive.cpu_s:.1f} CPU s) = "
        f"{1 / naive.per_feed_s:,.1f} feeds/s, {naive.failures} without entries; "
        f"extrapolated to {args.feeds:,} feeds: {naive_total:,.0f} s "
        f"(+/- {naive.stderr_s * args.feeds:,.0f} s, one standard error)"
    )
    ratio = naive_total / steady.wall_s
    low = (naive.per_feed_s - naive.stderr_s) * args.feeds / steady.wall_s
    high = (naive.per_feed_s + naive.stderr_s) * args.feeds / steady.wall_s
    per_10k = steady.wall_s * 10_000 / args.feeds
    scaled = "" if args.feeds == 10_000 else f", scaled linearly from {args.feeds:,} feeds"
    u = steady.usage
    floor = (u.bot_cpu_s + u.workers_cpu_s + u.server_cpu_s) / BOT_CPUS * 10_000 / args.feeds
    peak = max(prime.usage.peak_rss_mb, steady.usage.peak_rss_mb)
    print(
        f"targets (steady-state cycle, {steady.served['200']:,} x 200 / "
        f"{steady.served['304']:,} x 304):"
    )
    print(
        f"  10,000 feeds <= 60 s on 2 cores: {per_10k:.1f} s per 10,000{scaled} "
        f"({_verdict(per_10k <= 60)}); CPU-bound floor {floor:.1f} s (all CPU seconds / "
        f"{BOT_CPUS}: the wall time if nothing else ran on the bot's CPUs)"
    )
    print(
        f"  peak RSS <= 400 MB: {peak:,.0f} MB, RSS summed over the bot's processes, larger of "
        f"the two cycles ({_verdict(peak <= 400)})"
    )
    print(
        f"  >= 20x the naive loop: {ratio:.1f}x (range {low:.1f}x-{high:.1f}x from the naive "
        f"sample's standard error) ({_verdict(ratio >= 20)})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _options(argv)
    # One warning per failing feed would bury the figures; each cycle counts its errors.
    logging.getLogger("bot.feeds.poll").setLevel(logging.ERROR)
    if not (REALWORLD / "manifest.tsv").is_file():
        print(
            f"skipped: ../shared/ is absent ({REALWORLD.resolve()} has no manifest.tsv); this "
            "benchmark serves the real-world feeds stored there"
        )
        return 0
    files, skipped = feed_files(REALWORLD, args.seed)
    bot_cpus, server_cpus = _pin_cpus()
    server = Server(REALWORLD, args.seed, server_cpus)
    meter = ProcessMeter(exclude={server.process.pid})
    timer = _watchdog(args.timeout, server, meter)
    meter.start()
    try:
        _run(args, files, skipped, server, meter, bot_cpus, server_cpus)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        timer.cancel()
        meter.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
