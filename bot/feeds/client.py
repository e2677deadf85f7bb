"""The process's one HTTP client for untrusted URLs: one `GuardedFetcher` on one event loop.

Polling is asynchronous; `/feeds add`, `/watch test`, the analyser's full-text fetch and the
CLI are synchronous and run on other threads (APScheduler's, Bolt's pool, the terminal).
Rather than each of them building a client and an event loop per call (one connection pool,
one TLS context and one set of per-host slots each, so the politeness limit never saw them
together), the fetcher lives on a loop in a daemon thread of its own:

* synchronous callers use `fetch` (or `run` for a coroutine of their own), which block on it;
* the poller runs its whole cycle on the loop with `run` and uses `fetcher()` inside it.

The thread starts on first use, so commands that never fetch (``feeds list``) never start it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

from bot.feeds.fetch import GuardedFetcher
from bot.models import FetchResult
from bot.settings import FetchSettings

T = TypeVar("T")


class HttpClient:
    """Owns the loop thread and the fetcher on it; `close()` (or ``with``) ends both."""

    def __init__(self, settings: FetchSettings, *, max_connections: int = 100) -> None:
        self.settings = settings
        self._max_connections = max_connections
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._fetcher: GuardedFetcher | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        """`GuardedFetcher.fetch` from synchronous code: blocks until the result is in."""
        return self.run(self._fetch(url, kwargs))

    async def _fetch(self, url: str, kwargs: dict[str, Any]) -> FetchResult:
        async with self.fetcher() as fetcher:
            return await fetcher.fetch(url, **kwargs)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the client's loop and return its result (or raise its exception).

        Must not be called from a coroutine on that loop (it would wait for itself forever);
        such code awaits the fetcher directly."""
        loop = self._start()
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("HttpClient.run called on its own loop; await the fetcher instead")
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    @asynccontextmanager
    async def fetcher(self) -> AsyncIterator[GuardedFetcher]:
        """The shared fetcher, for a coroutine running on this client's loop (through `run`).
        Leaving the block leaves the fetcher open for everyone else."""
        if self._fetcher is None or asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("HttpClient.fetcher() is only usable inside HttpClient.run")
        yield self._fetcher

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="watchdesk-http", daemon=True
                )
                thread.start()
                self._fetcher = asyncio.run_coroutine_threadsafe(self._make(), loop).result()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _make(self) -> GuardedFetcher:
        return GuardedFetcher(self.settings, max_connections=self._max_connections)

    def close(self) -> None:
        """Close the connection pool and stop the loop; a later call starts them afresh."""
        with self._lock:
            loop, thread, fetcher = self._loop, self._thread, self._fetcher
            self._loop = self._thread = self._fetcher = None
        if loop is None or thread is None or fetcher is None:
            return
        asyncio.run_coroutine_threadsafe(fetcher.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
