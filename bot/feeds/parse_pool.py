"""Parse worker processes: parsing never blocks the event loop, and no document can hold a
worker (or the machine) for long.

`ParsePool(workers).parse(body, headers, url)` is awaited by the poller and returns the same
ParsedFeed `parse_feed` would, or raises `FeedParseError`. Each worker is a spawned process
(a fork would copy the event loop, resolver threads and DB connections) that:

- parses one document at a time, under a wall-clock bound (``time_limit_s``: past it the
  worker is killed and replaced, and the document refused with `ParseBoundExceeded`) and an
  address-space bound (``memory_limit_bytes`` above the idle worker's size, RLIMIT_AS: a
  MemoryError refuses the document and the worker starts afresh);
- ignores SIGINT (Ctrl-C belongs to the process that owns it);
- dies with its parent: Linux's PR_SET_PDEATHSIG (SIGKILL) set through ctypes, plus a
  watchdog thread that exits when the parent pid changes (other platforms, and the case the
  death signal misses: it fires when the *thread* that started the worker ends, so a worker
  started from a short-lived thread is replaced, not leaked);
- sends back compact tuples of exactly the fields a ParsedFeed holds, never feedparser dicts.

A bug inside parsing code is not a feed failure: it comes back as `ParseWorkerBug` carrying
the worker's traceback. ``workers=0`` parses in-process (tests); ``None`` sizes the pool to
the machine (`os.cpu_count()`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from bot.feeds.parse import FeedParseError, ParseBoundExceeded, parse_feed
from bot.models import FeedEntry, ParsedFeed

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 30.0
DEFAULT_MEMORY_LIMIT_BYTES = 1_000_000_000  # per document, above the idle worker
_PR_SET_PDEATHSIG = 1
_WATCHDOG_INTERVAL_S = 0.5

_Compact = tuple[Any, ...]


class ParseWorkerBug(RuntimeError):
    """Parsing code raised something other than a refusal: a bug, with the worker's
    traceback in the message."""


# --------------------------------------------------------------------------- compact results


def pack(feed: ParsedFeed) -> _Compact:
    """A ParsedFeed as plain tuples (cheap to pickle: no class per entry)."""
    return (
        feed.title,
        feed.link,
        feed.bozo,
        feed.bozo_reason,
        tuple(
            (e.guid, e.link, e.title, e.summary, e.content, e.published, e.author)
            for e in feed.entries
        ),
    )


def unpack(data: _Compact) -> ParsedFeed:
    title, link, bozo, bozo_reason, entries = data
    return ParsedFeed(
        title=title,
        link=link,
        bozo=bozo,
        bozo_reason=bozo_reason,
        entries=tuple(
            FeedEntry(
                guid=guid,
                link=elink,
                title=etitle,
                summary=summary,
                content=content,
                published=published,
                author=author,
            )
            for guid, elink, etitle, summary, content, published, author in entries
        ),
    )


# --------------------------------------------------------------------------- the worker side


def _die_with_parent(parent_pid: int, death_signal: bool) -> None:
    """Make this process exit when ``parent_pid`` does (death signal and/or watchdog)."""
    if death_signal and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_WATCHDOG_INTERVAL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_memory(headroom: int | None) -> None:
    """Cap this worker's address space at what it holds now (interpreter and parser loaded)
    plus ``headroom``: one document may take that much more, and over it MemoryError."""
    if headroom is None:
        return
    import resource

    current = _address_space_bytes()
    if current is None:
        return  # no /proc: the time bound still holds
    resource.setrlimit(resource.RLIMIT_AS, (current + headroom, current + headroom))


def _serve(conn: Connection, parent_pid: int, memory_limit: int | None, death_signal: bool) -> None:
    """A worker's life: answer parse jobs until the pipe closes or memory ran out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid, death_signal)
    _limit_memory(memory_limit)
    while True:
        try:
            body, url, headers = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:  # the body alone is over the bound
            conn.send(("memory", None))
            return
        try:
            reply: tuple[str, Any] = ("ok", pack(parse_feed(body, url=url, headers=headers)))
        except ParseBoundExceeded as exc:
            reply = ("bound", str(exc))
        except FeedParseError as exc:
            reply = ("refused", str(exc))
        except MemoryError:
            reply = ("memory", None)
        except Exception:
            reply = ("bug", traceback.format_exc())
        del body
        conn.send(reply)
        if reply[0] == "memory":
            return  # a fresh process, not a fragmented heap, takes the next document


# --------------------------------------------------------------------------- the parent side


class _Worker:
    def __init__(self, ctx: Any, memory_limit: int | None, death_signal: bool) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve,
            args=(child, os.getpid(), memory_limit, death_signal),
            name="watchdesk-parse",
            daemon=True,
        )
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class ParsePool:
    """Parse documents in ``workers`` processes (None: one per CPU; 0: in-process)."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
        death_signal: bool = True,
    ) -> None:
        self.size = (os.cpu_count() or 1) if workers is None else workers
        if self.size < 0:
            raise ValueError("workers must be None, 0 or a positive number")
        self.time_limit_s = time_limit_s
        self.memory_limit_bytes = memory_limit_bytes
        self.death_signal = death_signal
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers, idle or busy (for operators and tests)."""
        return sorted(w.process.pid for w in self._all if w.process.pid is not None)

    async def parse(self, body: bytes, headers: Mapping[str, str] | None, url: str) -> ParsedFeed:
        """The document parsed (see `parse_feed`), or FeedParseError saying why not."""
        if self.size == 0:
            return parse_feed(body, url=url, headers=headers)
        job = (body, url, dict(headers or {}))
        worker = await self._checkout()
        try:
            status, value = await self._run(worker, job)
        except BaseException:
            self._discard(worker)
            raise
        if status == "died":
            # A worker that died mid-document (killed by the OS for memory, most likely)
            # gets one more try in a fresh process before the feed is blamed.
            self._discard(worker)
            worker = await self._checkout()
            try:
                status, value = await self._run(worker, job)
            except BaseException:
                self._discard(worker)
                raise
            if status == "died":
                self._discard(worker)
                raise FeedParseError(
                    "the parser process died twice while reading this document (an enormous "
                    "or pathological document?); check the URL in a browser"
                )
        if status in ("memory", "timeout"):
            self._discard(worker)
        else:
            self._checkin(worker)
        return self._result(status, value)

    def _result(self, status: str, value: Any) -> ParsedFeed:
        if status == "ok":
            return unpack(value)
        if status == "refused":
            raise FeedParseError(value)
        if status == "bound":
            raise ParseBoundExceeded(value)
        if status == "timeout":
            raise ParseBoundExceeded(
                f"refused: parsing took longer than {self.time_limit_s:g} s (the bound for "
                "one document); it is not a feed we can read"
            )
        if status == "memory":
            raise ParseBoundExceeded(
                f"refused: parsing needed more than {self.memory_limit_bytes / 1e6:,.0f} MB "
                "(the bound for one document); it is not a feed we can read"
            )
        raise ParseWorkerBug(f"parsing code failed in a worker:\n{value}")

    async def _run(self, worker: _Worker, job: tuple[Any, ...]) -> tuple[str, Any]:
        """Send one job and wait for its reply; ("died", None) or ("timeout", None) if none."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            async with asyncio.timeout(self.time_limit_s):
                # In a thread: a worker still starting up reads nothing yet, and a body bigger
                # than the pipe's buffer would block the event loop until it did. OSError: it
                # stopped reading (over the memory bound, or dead); its last word, if any, is
                # in the pipe.
                with contextlib.suppress(OSError):
                    await loop.run_in_executor(None, worker.conn.send, job)
                await ready
        except TimeoutError:
            return ("timeout", None)
        finally:
            loop.remove_reader(fd)
        try:
            return worker.conn.recv()
        except (EOFError, OSError):
            return ("died", None)

    async def _checkout(self) -> _Worker:
        while True:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                self._discard(worker)
            if len(self._all) < self.size:
                worker = _Worker(self._ctx, self.memory_limit_bytes, self.death_signal)
                self._all.add(worker)
                return worker
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _checkin(self, worker: _Worker) -> None:
        self._idle.append(worker)
        self._wake()

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        worker.kill()
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
                return

    async def warm_up(self) -> None:
        """Start every worker now (each imports the parser once), so the first documents
        are not charged the start-up time."""
        probe = b'<rss version="2.0"><channel><title>warm-up</title></channel></rss>'
        await asyncio.gather(
            *(self.parse(probe, {}, "https://warm-up.invalid/") for _ in range(self.size))
        )

    def close(self) -> None:
        """Stop every idle worker (busy ones end with their parse, or with this process).
        The pool stays usable: the next parse starts workers again."""
        for worker in self._idle:
            self._all.discard(worker)
            worker.kill()
        self._idle.clear()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
