"""A loopback HTTP server for tests, plus the shared feed corpus served through it.

Usage::

    with LoopbackServer() as server:                      # binds 127.0.0.1 on a free port
                                                          # (ssl_context=... serves https)
        url = server.add("/feed.xml", body, headers=[("Content-Type", "application/rss+xml"),
                                                     ("ETag", '"v1"')])
        server.redirect("/old", "/feed.xml", status=301)  # relative or absolute Location
        server.add("/slow", body, drip_s=0.5)             # one byte every 0.5 s
        server.add("/busy", body, delay_s=0.2)            # answer after 0.2 s (to overlap requests)
        server.add("/held", body, hold=gate)              # answer once gate (an Event) is set
        server.add("/junk", raw=b"NOT HTTP\\r\\n\\r\\n")   # raw bytes instead of a response
        ...
        server.hits("/feed.xml")          # how many requests reached a path
        server.requests("/feed.xml")      # what they sent (headers lower-cased)
        server.peak_concurrency           # most requests in flight at once

Routes answer 304 when the request's If-None-Match matches the route's ETag header or its
If-Modified-Since equals the route's Last-Modified header. Unknown paths get 404.

``iter_corpus_files()`` lists ../shared/data/feeds (feedparser's test corpus and the real-world
feeds) with the status and headers each should be served with; ``serve_corpus()`` registers
them on a server the way feedparser's own harness serves them.
"""

from __future__ import annotations

import csv
import re
import ssl
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"
FEEDS_DIR = SHARED_DIR / "data" / "feeds"
HOLD_LIMIT_S = 300.0  # a held route answers by then even if the test never releases it


@dataclass(frozen=True)
class Route:
    """What one path answers with."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    drip_s: float | None = None
    delay_s: float = 0.0
    raw: bytes | None = None
    hold: threading.Event | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._enter(SeenRequest(self.path, {k.lower(): v for k, v in self.headers.items()}))
        try:
            self._answer(owner._route(self.path))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            owner._leave()

    def _answer(self, route: Route | None) -> None:
        if route is None:
            route = Route(b"not found", status=404)
        if route.hold is not None:
            route.hold.wait(HOLD_LIMIT_S)
        if route.delay_s:
            time.sleep(route.delay_s)
        if route.raw is not None:
            self.wfile.write(route.raw)
            self.close_connection = True
            return
        if self._not_modified(route):
            self.send_response(304)
            for name in ("ETag", "Last-Modified"):
                if (value := route.header(name)) is not None:
                    self.send_header(name, value)
            self.end_headers()
            return
        self.send_response(route.status)
        for name, value in route.headers:
            self.send_header(name, value)
        if route.header("Content-Length") is None:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if route.drip_s is None:
            self.wfile.write(route.body)
            return
        for i in range(len(route.body)):
            if self.server.owner._stopping.wait(route.drip_s):
                break
            self.wfile.write(route.body[i : i + 1])
            self.wfile.flush()
        self.close_connection = True

    def _not_modified(self, route: Route) -> bool:
        if route.status != 200:
            return False
        etag, modified = route.header("ETag"), route.header("Last-Modified")
        wanted = self.headers.get("If-None-Match")
        if etag is not None and wanted is not None:
            tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
            return "*" in tags or etag.removeprefix("W/") in tags
        since = self.headers.get("If-Modified-Since")
        return modified is not None and since is not None and since == modified

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # failed TLS handshakes and dropped clients are what the tests provoke


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with scripted routes; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, Route] = {}
        self._seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak_concurrency = 0
        self._stopping = threading.Event()
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        """Absolute URL of ``path``; ``host`` swaps the name (e.g. "localhost") for the same port."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (),
        drip_s: float | None = None,
        delay_s: float = 0.0,
        raw: bytes | None = None,
        hold: threading.Event | None = None,
    ) -> str:
        """Serve ``body`` at ``path`` (replacing any earlier route); returns its URL. With
        ``hold`` the answer waits until the event is set (at most `HOLD_LIMIT_S`)."""
        route = Route(body, status, tuple(headers), drip_s, delay_s, raw, hold)
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, status=status, headers=[("Location", location)])

    def hits(self, path: str) -> int:
        return len(self.requests(path))

    def requests(self, path: str | None = None) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self._seen if path is None or r.path == path]

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(path.split("?", 1)[0])

    def _enter(self, request: SeenRequest) -> None:
        with self._lock:
            self._seen.append(request)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


# --------------------------------------------------------------------------- corpus

_HEADER_LINE = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
# feedparser's harness runs on this origin; its Location headers name it.
HARNESS_ORIGIN = "http://localhost:8097"


@dataclass(frozen=True)
class CorpusFile:
    """One file of the shared feed corpus and how to serve it."""

    source: str  # "feedparser" or "realworld"
    rel: str  # path inside its corpus folder
    path: Path
    url_path: str  # where serve_corpus() puts it
    status: int
    headers: tuple[tuple[str, str], ...]  # as the harness would send them (Location unrewritten)

    @property
    def content_encoding(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "content-encoding"), None)

    def payload(self) -> bytes | None:
        """The bytes a client should end up with after undoing Content-Encoding.

        None when the encoded data is corrupt (a client should report an error). Bodies
        labelled gzip/deflate that are not compressed at all come back as they are.
        """
        data = self.path.read_bytes()
        coding = self.content_encoding
        wbits_tried = {"gzip": (16 + zlib.MAX_WBITS,), "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS)}
        if coding == "gzip" and not data.startswith(b"\x1f\x8b"):
            return data
        for wbits in wbits_tried.get(coding or "", ()):
            try:
                return zlib.decompress(data, wbits)
            except zlib.error:
                continue
        return None if coding == "gzip" else data


def _feedparser_file(root: Path, path: Path) -> CorpusFile:
    rel = path.relative_to(root).as_posix()
    if rel.startswith("compression/"):
        coding = "gzip" if rel.endswith(".gz") else "deflate"
        headers: list[tuple[str, str]] = [
            ("Content-Encoding", coding),
            ("Content-Type", "application/xml"),
        ]
    else:
        found = [
            (k.decode().strip(), v.decode().strip())
            for k, v in _HEADER_LINE.findall(path.read_bytes())
        ]
        headers = found
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/xml"))
    status = next((int(v) for k, v in headers if k.lower() == "status"), 200)
    headers = [(k, v) for k, v in headers if k.lower() != "status"]
    return CorpusFile("feedparser", rel, path, f"/tests/{rel}", status, tuple(headers))


def iter_corpus_files(feeds_dir: Path = FEEDS_DIR) -> Iterator[CorpusFile]:
    """Every corpus file (feedparser's 2,248, then the real-world ones in manifest order)."""
    fp_root = feeds_dir / "feedparser"
    for path in sorted(fp_root.rglob("*")):
        if path.is_file() and path.name != "SOURCE.txt":
            yield _feedparser_file(fp_root, path)
    rw_root = feeds_dir / "realworld"
    with (rw_root / "manifest.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            rel = row["local"]
            kind = "application/feed+json" if rel.endswith(".json") else "application/xml"
            yield CorpusFile(
                "realworld",
                rel,
                rw_root / rel,
                f"/realworld/{rel}",
                200,
                (("Content-Type", kind),),
            )


def serve_corpus(server: LoopbackServer, files: Sequence[CorpusFile]) -> None:
    """Register ``files`` on ``server`` as feedparser's harness serves them.

    Location headers naming the harness origin are pointed at ``server`` instead, and
    ``/-/return-304.xml`` answers 304 unconditionally, as in the harness.
    """
    for item in files:
        headers = [
            (k, v.replace(HARNESS_ORIGIN, server.base_url) if k.lower() == "location" else v)
            for k, v in item.headers
        ]
        server.add(item.url_path, item.path.read_bytes(), status=item.status, headers=headers)
    server.add("/-/return-304.xml", status=304)


def gzip_bomb(inflated_bytes: int = 100_000_000) -> bytes:
    """``inflated_bytes`` of zeros, gzipped (100 MB -> ~100 KB), built without holding 100 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1_000_000)
    parts = [compressor.compress(block) for _ in range(inflated_bytes // len(block))]
    parts.append(compressor.compress(bytes(inflated_bytes % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


__all__ = [
    "FEEDS_DIR",
    "SHARED_DIR",
    "CorpusFile",
    "LoopbackServer",
    "Route",
    "SeenRequest",
    "gzip_bomb",
    "iter_corpus_files",
    "serve_corpus",
]
