"""Benchmark of the poll cycle over N loopback feeds, every case in one run, against a naive loop.

Run from the repository root: ``python3 bench/poll.py [--feeds 10000] [--changed 0.10]
[--parse-workers 2] [--naive-feeds N] [--database-url URL]``, or the long run
``python3 bench/poll.py --minutes 30``. Targets: 10,000 changed feeds per cycle in <= 60 s on
2 cores; a same-body poll >= 5x cheaper than a changed feed; <= 400 MB peak RSS summed over the
bot's processes; the 10 %-changed cycle >= 20x a naive sequential ``feedparser.parse(url)`` loop.

What it does, all on 127.0.0.1:

1. A server process (aiohttp) serves the real-world feeds in ``../shared/data/feeds/realworld/``
   (those feedparser finds entries in) under N URLs ``/feed/<i>``, cycling through the files
   (so feed i and feed i + <number of files> carry the same articles), each with its own ETag
   and Last-Modified; it answers 304 to a matching conditional GET unless told to ignore it.
2. A fresh store (SQLite in a temporary directory, or ``--database-url``) gets N feeds.
3. Cycles, each one ``Poller.poll_due()`` one interval after the previous one (the bench moves
   the poller's clock), each printed with its wall time, CPU, memory and outcomes:
   priming (every feed new), all changed (every feed published a new item), 10 % changed
   (``--changed``; the rest answer 304), all 304, and same body (the server ignores
   If-None-Match and sends the bytes the bot parsed last time: outcome "same_body").
4. The naive bot: sequential ``feedparser.parse(url)``, no validators, as most RSS scripts do,
   over the same URLs (all N unless ``--naive-feeds`` says fewer, evenly spaced), measured.
5. The ratios: all changed / same body per feed, naive / 10 % changed per feed.

``--minutes N`` runs instead: priming, then cycles one after another for N minutes, a
``--changed`` fraction of the feeds publishing a new item before each, and every minute prints
the RSS summed over the bot's processes and the database size (with retention it stays flat).

The bot process and its parse workers are pinned to at most 2 CPUs; the server goes to the
other CPUs when the machine has more than 2, otherwise it competes with the bot (its CPU time is
printed separately). The feeds share one host, so the bench lifts ``FetchSettings.per_host_limit``
to the poll concurrency; everything else is the bot's own configuration.

How memory is counted: a sampler process (a child of the bot that is not measured) reads, every
50 ms, /proc/<pid>/smaps_rollup of the bot process and every descendant of it (the spawned
parse workers and multiprocessing's resource tracker), leaving out itself and the server. "Peak
RSS" is the largest sum of their RSS seen (a page shared by two processes counts in both, so it
errs high); the PSS sum (shared pages split between sharers) is printed next to it. CPU seconds
come from /proc/<pid>/stat per process, sampled by the same process.

Bounded in time: ``--timeout`` (default 2 hours: the naive loop alone is about half an hour at
10,000 feeds) stops everything and exits 3.
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
from dataclasses import asdict, dataclass, field
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
RESCAN_EVERY_S = 0.5
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


def story_item(story: int) -> tuple[str, str, str]:
    """(identity, title, text) of shared bench story ``story``: it names watched entities of the
    default watchlist, so it alerts, and any feeds given the same number carry the same article."""
    return (
        f"urn:bench:story:{story}",
        f"Lukashenko orders snap Zapad drills in Belarus (bench story {story})",
        f"Belarusian troops were moved towards the border on Lukashenko's order, bench report "
        f"{story} says; the Zapad exercise was brought forward by a month.",
    )


def _new_item(version: str, feed: int, revision: int, story: int | None = None) -> bytes | None:
    """One new entry in the file's own dialect (ASCII, so it fits every encoding in the set):
    the feed's own, or shared ``story``."""
    when = BASE_TIME + timedelta(hours=revision)
    if story is None:
        ident = f"urn:bench:{feed}:{revision}"
        title = f"Watchdesk bench story {feed}.{revision}"
        text = f"{title} summary."
        link = f"https://bench.example/{feed}/{revision}"
    else:
        ident, title, text = story_item(story)
        link = f"https://bench.example/story/{story}"
    if version.startswith("atom"):
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f'<entry><title>{title}</title><link href="{link}"/><id>{ident}</id>'
            f"<updated>{stamp}</updated><summary>{text}</summary></entry>"
        ).encode()
    if version.startswith("rss"):
        return (
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{ident}</guid>'
            f"<description>{text}</description>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate></item>"
        ).encode()
    return None


def changed_body(file: FeedFile, feed: int, revision: int, story: int | None = None) -> bytes:
    """The file as published after ``revision`` changes: a new item before the closing channel /
    feed / rdf:RDF tag. Where no such tag is found the bytes still change (a trailing comment),
    so the feed is re-parsed without yielding an article, as a touched-but-same feed does."""
    item = _new_item(file.version, feed, revision, story)
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
    stories: dict[int, int] = field(default_factory=dict)  # feed -> shared story it now carries
    # False: ignore If-None-Match / If-Modified-Since and send the same bytes again, as many
    # real servers do (the bot's body hash is what saves the parse then).
    conditional: bool = True

    def etag(self, feed: int) -> str:
        return f'"wd-{feed}-{self.revisions.get(feed, 0)}"'

    def last_modified(self, feed: int) -> str:
        revision = self.revisions.get(feed, 0)
        return format_datetime(BASE_TIME + timedelta(hours=revision), usegmt=True)

    def body(self, feed: int) -> bytes:
        file = self.files[feed % len(self.files)]
        revision = self.revisions.get(feed, 0)
        if revision == 0:
            return file.body
        return changed_body(file, feed, revision, self.stories.get(feed))


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
        if site.conditional and _not_modified(
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
        payload = await request.json()
        stories = {int(k): int(v) for k, v in payload.get("stories", {}).items()}
        for number in payload["feeds"]:
            site.revisions[number] = site.revisions.get(number, 0) + 1
            if number in stories:
                site.stories[number] = stories[number]
            else:
                site.stories.pop(number, None)
        return web.json_response({"published": len(site.revisions)})

    async def mode(request: web.Request) -> web.Response:
        site.conditional = bool((await request.json())["conditional"])
        return web.json_response({"conditional": site.conditional})

    async def stats(request: web.Request) -> web.Response:
        counts = dict(site.served)
        if request.method == "POST":
            site.served.clear()
        return web.json_response(counts)

    app = web.Application()
    app.router.add_get(r"/feed/{n:\d+}", feed)
    app.router.add_post("/-/publish", publish)
    app.router.add_post("/-/mode", mode)
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

    def publish(self, feeds: Sequence[int], stories: dict[int, int] | None = None) -> None:
        """A new item on each of ``feeds``: shared story ``stories[feed]`` where given, else the
        feed's own."""
        payload = {"feeds": list(feeds), "stories": {str(k): v for k, v in (stories or {}).items()}}
        self._call("/-/publish", payload, "POST")

    def conditional_get(self, honoured: bool) -> None:
        """Make the server honour conditional GET (the default) or ignore it."""
        self._call("/-/mode", {"conditional": honoured}, "POST")

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


def descendants(root: int, exclude: set[int]) -> list[int]:
    """``root`` and its descendants from /proc, without the excluded ones (nor theirs)."""
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (found := _stat(int(name))) is not None:
            parents.setdefault(found[0], []).append(int(name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        if pid in exclude:
            continue
        tree.append(pid)
        queue.extend(parents.get(pid, ()))
    return tree


@dataclass
class Usage:
    """What one phase cost the bot (its main process plus every descendant)."""

    peak_rss_mb: float = 0.0  # largest sampled sum of RSS over the bot's processes
    peak_pss_mb: float = 0.0  # the same with PSS (shared pages counted once)
    peak_main_rss_mb: float = 0.0
    rss_now_mb: float = 0.0  # the sum at the last sample
    bot_cpu_s: float = 0.0  # main process
    workers_cpu_s: float = 0.0  # parse workers and any other child of the bot
    server_cpu_s: float = 0.0
    processes: int = 1


class _Sampler:
    """The state of the sampler process: the bot's process tree, CPU seen per process, and the
    running phase's peaks."""

    def __init__(self, bot: int, server: int) -> None:
        self.bot, self.server = bot, server
        self.exclude = {os.getpid(), server}
        self.tree = descendants(bot, self.exclude)
        self.rescan_at = 0.0
        self.cpu: dict[int, float] = {}
        self.before: dict[int, float] = {}
        self.server_before = 0.0
        self.usage = Usage()

    def sample(self) -> None:
        if time.monotonic() >= self.rescan_at:
            self.tree = descendants(self.bot, self.exclude)
            self.rescan_at = time.monotonic() + RESCAN_EVERY_S
        rss = pss = main_rss = 0
        for pid in self.tree:
            one_rss, one_pss = _memory_kb(pid)
            rss, pss = rss + one_rss, pss + one_pss
            main_rss = one_rss if pid == self.bot else main_rss
            if (found := _stat(pid)) is not None:
                self.cpu[pid] = found[1]
        u = self.usage
        u.rss_now_mb = rss / 1024
        u.peak_rss_mb = max(u.peak_rss_mb, rss / 1024)
        u.peak_pss_mb = max(u.peak_pss_mb, pss / 1024)
        u.peak_main_rss_mb = max(u.peak_main_rss_mb, main_rss / 1024)
        u.processes = max(u.processes, len(self.tree))

    def begin(self) -> None:
        self.rescan_at = 0.0
        self.sample()
        self.before = dict(self.cpu)
        self.server_before = (_stat(self.server) or (0, 0.0))[1]
        self.usage = Usage()
        self.sample()

    def end(self) -> Usage:
        self.rescan_at = 0.0
        self.sample()
        u = self.usage
        for pid, seconds in self.cpu.items():
            spent = seconds - self.before.get(pid, 0.0)
            if pid == self.bot:
                u.bot_cpu_s += spent
            else:
                u.workers_cpu_s += spent
        u.server_cpu_s = (_stat(self.server) or (0, self.server_before))[1] - self.server_before
        return u


def _sampler_main(bot: int, server: int, commands: Connection) -> None:
    """Sampler process entry point: sample every SAMPLE_EVERY_S; answer "begin" (start a phase),
    "end" (the phase's Usage as a dict), "now" (the current Usage) and "stop"."""
    sampler = _Sampler(bot, server)
    commands.send("ready")
    while True:
        if not commands.poll(SAMPLE_EVERY_S):
            sampler.sample()
            continue
        try:
            command = commands.recv()
        except EOFError:  # the bot is gone
            return
        if command == "begin":
            sampler.begin()
            commands.send(None)
        elif command == "end":
            commands.send(asdict(sampler.end()))
        elif command == "now":
            sampler.sample()
            commands.send(asdict(sampler.usage))
        else:
            return


class ProcessMeter:
    """Measures the bot (this process and its descendants) from a separate sampler process, so
    the sampling costs the measured process neither CPU nor memory."""

    def __init__(self, server_pid: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._commands, theirs = context.Pipe()
        self.process = context.Process(
            target=_sampler_main, args=(os.getpid(), server_pid, theirs), daemon=True
        )
        self.process.start()
        if not self._commands.poll(60) or self._commands.recv() != "ready":
            raise RuntimeError("the sampler process did not start within 60 s")
        self._lock = threading.Lock()

    def _ask(self, command: str) -> object:
        with self._lock:
            self._commands.send(command)
            return self._commands.recv()

    @contextlib.contextmanager
    def phase(self) -> Iterator[Usage]:
        """Measure what the enclosed code costs; the yielded Usage is filled in on exit."""
        usage = Usage()
        self._ask("begin")
        yield usage
        for name, value in dict(self._ask("end")).items():  # type: ignore[call-overload]
            setattr(usage, name, value)

    def now(self) -> Usage:
        return Usage(**self._ask("now"))  # type: ignore[arg-type]

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError), self._lock:
            self._commands.send("stop")
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


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


def database_mb(store: Store) -> float:
    """The database's size on disk: the SQLite file with its WAL, or the Postgres schema's
    tables with their indexes and TOAST."""
    from sqlalchemy import text

    engine = store.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 1e6
    with engine.connect() as conn:
        size = conn.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
            )
        ).scalar_one()
    return int(size) / 1e6


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
    def cpu_s(self) -> float:
        """CPU seconds of the bot (main process and parse workers), the server left out."""
        return self.usage.bot_cpu_s + self.usage.workers_cpu_s

    def per_feed_ms(self) -> tuple[float, float]:
        """(wall ms, bot CPU ms) per feed polled."""
        n = max(1, self.feeds)
        return self.wall_s * 1000 / n, self.cpu_s * 1000 / n

    @property
    def busy(self) -> float:
        """Share of BOT_CPUS the bot and the server kept busy: well below 100 % on an idle
        machine means the pipeline stalls; on a shared one, other processes took the rest."""
        total = self.cpu_s + self.usage.server_cpu_s
        return total / (BOT_CPUS * self.wall_s) if self.wall_s else 0.0


def run_cycle(label: str, poller: Poller, meter: ProcessMeter, server: Server) -> CycleFigures:
    """One ``Poller.poll_due()`` with its wall time, what the server answered, and the bot's
    memory and CPU."""
    server.take_stats()
    with meter.phase() as usage:
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
    failures: int

    @property
    def per_feed_ms(self) -> float:
        return self.wall_s * 1000 / max(1, self.urls)


def naive_loop(urls: Sequence[str]) -> NaiveFigures:
    """What most RSS scripts do: ``feedparser.parse(url)`` one after another, no validators."""
    import socket

    import feedparser

    socket.setdefaulttimeout(30)
    failures = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for url in urls:
        failures += 0 if feedparser.parse(url).get("entries") else 1
    wall = time.perf_counter() - started
    return NaiveFigures(len(urls), wall, time.process_time() - cpu, failures)


# --------------------------------------------------------------------------- report


def _describe(cycle: CycleFigures) -> list[str]:
    u = cycle.usage
    served = cycle.served
    wall_ms, cpu_ms = cycle.per_feed_ms()
    lines = [
        f"{cycle.label}: {cycle.feeds:,} feeds in {cycle.wall_s:.1f} s = {cycle.rate:,.0f} "
        f"feeds/s ({wall_ms:.2f} wall ms, {cpu_ms:.2f} bot CPU ms per feed)",
        f"  server answered 200 x {served['200']:,} ({served['bytes'] / 1e6:,.0f} MB) "
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


def _ratio(slow: float, fast: float) -> float:
    return slow / fast if fast > 0 else float("inf")


def report_targets(cycles: dict[str, CycleFigures], naive: NaiveFigures, feeds: int) -> None:
    """The ratios and targets, from figures of this one run."""
    changed, steady, same = cycles["all changed"], cycles["10% changed"], cycles["same body"]
    not_modified = cycles["all 304"]
    per_10k = changed.wall_s * 10_000 / max(1, changed.feeds)
    scaled = "" if changed.feeds == 10_000 else f", scaled linearly from {changed.feeds:,} feeds"
    floor = (changed.cpu_s + changed.usage.server_cpu_s) / BOT_CPUS * 10_000 / changed.feeds
    print("ratios (per feed, all from this run):")
    for name in ("10% changed", "all 304", "same body"):
        other = cycles[name]
        print(
            f"  all changed / {name}: wall {_ratio(changed.wall_s, other.wall_s):.1f}x, "
            f"bot CPU {_ratio(changed.cpu_s, other.cpu_s):.1f}x"
        )
    print(
        f"  same body / all 304: wall {_ratio(same.wall_s, not_modified.wall_s):.2f}x, "
        f"bot CPU {_ratio(same.cpu_s, not_modified.cpu_s):.2f}x"
    )
    naive_ratio = _ratio(naive.per_feed_ms, steady.per_feed_ms()[0])
    print(
        f"  naive loop / 10% changed: {naive.per_feed_ms:.1f} ms vs "
        f"{steady.per_feed_ms()[0]:.2f} ms per feed = {naive_ratio:.1f}x"
    )
    peak = max(c.usage.peak_rss_mb for c in cycles.values())
    same_ratio = _ratio(changed.cpu_s, same.cpu_s)
    print("targets:")
    print(
        f"  10,000 changed feeds <= 60 s on 2 cores: {per_10k:.1f} s per 10,000{scaled} "
        f"({_verdict(per_10k <= 60)}); CPU-bound floor {floor:.1f} s (bot and server CPU "
        f"seconds / {BOT_CPUS}: the wall time if nothing else ran on these CPUs)"
    )
    print(
        f"  same body >= 5x cheaper than a changed feed: {same_ratio:.1f}x in bot CPU, "
        f"{_ratio(changed.wall_s, same.wall_s):.1f}x in wall time ({_verdict(same_ratio >= 5)})"
    )
    print(
        f"  peak RSS <= 400 MB: {peak:,.0f} MB, summed over the bot's processes, largest of "
        f"the cycles ({_verdict(peak <= 400)})"
    )
    print(
        f"  10% changed >= 20x the naive loop: {naive_ratio:.1f}x, the naive loop measured over "
        f"{naive.urls:,} of the {feeds:,} URLs ({_verdict(naive_ratio >= 20)})"
    )


# --------------------------------------------------------------------------- main


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000, help="feed URLs (default 10,000)")
    parser.add_argument(
        "--changed",
        type=float,
        default=0.10,
        help="fraction of feeds that publish before the steady cycle (default 0.10)",
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
        "--naive-feeds",
        type=int,
        help="URLs the naive loop fetches, evenly spaced (default: all of them)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="long run: cycles of changing feeds for this long, RSS and database size every minute",
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
        "--timeout", type=float, default=7200, help="give up after this many seconds (default 7200)"
    )
    args = parser.parse_args(argv)
    if args.feeds < 1 or not 0 <= args.changed <= 1 or args.parse_workers < 0:
        parser.error("--feeds must be >= 1, --changed within 0..1, --parse-workers >= 0")
    if args.naive_feeds is not None and not 1 <= args.naive_feeds <= args.feeds:
        parser.error("--naive-feeds must be within 1..--feeds")
    if args.minutes is not None and args.minutes <= 0:
        parser.error("--minutes must be > 0")
    return args


def _pin_cpus() -> tuple[list[int], list[int]]:
    """Pin the bot to at most BOT_CPUS CPUs; the server gets the rest (or shares them)."""
    available = sorted(os.sched_getaffinity(0))
    bot = available[:BOT_CPUS]
    os.sched_setaffinity(0, bot)
    return bot, available[BOT_CPUS:] or bot


def _kill_children(keep: set[int]) -> None:
    """SIGKILL this process's descendants (parse workers would outlive os._exit)."""
    for pid in descendants(os.getpid(), keep):
        if pid != os.getpid():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _watchdog(seconds: float, server: Server) -> threading.Timer:
    """After ``seconds``, stop the server and the bot's own child processes, then exit 3."""

    def fire() -> None:
        print(
            f"gave up after {seconds:.0f} s (--timeout); figures above are all there is",
            file=sys.stderr,
            flush=True,
        )
        server.stop()
        _kill_children(set())
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


class Bench:
    """One store, one poller and the loopback server: cycles one interval apart."""

    def __init__(self, args: argparse.Namespace, server: Server, meter: ProcessMeter) -> None:
        self.args, self.server, self.meter = args, server, meter
        self.clock = Clock(BASE_TIME + timedelta(days=1))
        self.random = random.Random(args.seed)

    def cycle(self, label: str, poller: Poller, publish: Sequence[int] = ()) -> CycleFigures:
        """Publish a new item on ``publish``, move one interval on, run one cycle, print it."""
        if publish:
            self.server.publish(publish)
        self.clock.now += timedelta(seconds=INTERVAL_S + 1)
        figures = run_cycle(label, poller, self.meter, self.server)
        print("\n".join(_describe(figures)), flush=True)
        return figures

    def some_feeds(self) -> list[int]:
        n = self.args.feeds
        return sorted(self.random.sample(range(n), round(n * self.args.changed)))

    def figures(self, poller: Poller) -> dict[str, CycleFigures]:
        every = list(range(self.args.feeds))
        cycles = {"priming": self.cycle("priming cycle (every feed new: all parsed)", poller)}
        cycles["all changed"] = self.cycle(
            "all changed (every feed published a new item)", poller, every
        )
        some = self.some_feeds()
        cycles["10% changed"] = self.cycle(
            f"{self.args.changed:.0%} changed ({len(some):,} feeds published, the rest 304)",
            poller,
            some,
        )
        cycles["all 304"] = self.cycle("all 304 (nothing published)", poller)
        self.server.conditional_get(False)
        try:
            cycles["same body"] = self.cycle(
                "same body (server ignores If-None-Match, sends the bytes parsed last time)",
                poller,
            )
        finally:
            self.server.conditional_get(True)
        return cycles

    def long_run(self, poller: Poller, store: Store) -> None:
        """Cycles of changing feeds for ``--minutes``; RSS and database size at the start, every
        minute and at the end (the clock moves one interval per cycle, so articles age)."""
        minutes = float(self.args.minutes)
        self.cycle("priming cycle (every feed new: all parsed)", poller)
        started = time.monotonic()
        next_print, cycles, feeds, peak = started, 0, 0, 0.0

        def show(label: str) -> None:
            nonlocal peak
            usage = self.meter.now()
            peak = max(peak, usage.peak_rss_mb)
            print(
                f"{label}: {cycles} cycles, {feeds:,} polls; RSS sum {usage.rss_now_mb:,.0f} MB "
                f"(peak {peak:,.0f} MB); database {database_mb(store):,.1f} MB",
                flush=True,
            )

        while (now := time.monotonic()) - started < minutes * 60:
            if now >= next_print:
                show(f"minute {(now - started) / 60:4.1f}")
                next_print += 60
            self.server.publish(self.some_feeds())
            self.clock.now += timedelta(seconds=INTERVAL_S + 1)
            with self.meter.phase() as usage:
                report = poller.poll_due()
            peak = max(peak, usage.peak_rss_mb)
            cycles, feeds = cycles + 1, feeds + len(report.results)
        show(f"end, minute {(time.monotonic() - started) / 60:.1f}")


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
    bench = Bench(args, server, meter)
    with database(args.database_url) as url:
        store = make_store(url, server, args.feeds, bench.clock.now)
        poller = _poller(store, bench.clock, args)
        try:
            if args.minutes is not None:
                bench.long_run(poller, store)
                return
            cycles = bench.figures(poller)
            print(f"database after the cycles: {database_mb(store):,.1f} MB", flush=True)
        finally:
            poller.close()
            store.engine.dispose()
    count = args.naive_feeds or args.feeds
    urls = [server.url(int(i * args.feeds / count)) for i in range(count)]
    naive = naive_loop(urls)
    print(
        f"naive loop (sequential feedparser.parse(url), no validators, 1 core): {naive.urls:,} "
        f"URLs in {naive.wall_s:.1f} s ({naive.cpu_s:.1f} CPU s) = "
        f"{naive.urls / naive.wall_s:,.1f} feeds/s, {naive.failures} without entries",
        flush=True,
    )
    report_targets(cycles, naive, args.feeds)


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
    timer = _watchdog(args.timeout, server)
    meter = ProcessMeter(server.process.pid)
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
