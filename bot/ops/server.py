"""The local HTTP endpoint `watchdesk run` serves when ``[ops] metrics_port`` is set:
``GET /metrics`` (Prometheus text format, the app's own registry) and ``GET /healthz`` (JSON,
200 healthy / 503 not). Standard library server on its own daemon thread, bound to exactly
``[ops] metrics_host`` (127.0.0.1 by default): it has no authentication.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from bot.ops.health import Health

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: CollectorRegistry
    health: Callable[[], Health]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == METRICS_PATH:
                # the format the scraper asks for (Prometheus text, or OpenMetrics)
                encode, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._send(200, content_type, encode(self.server.registry))
            elif path == HEALTH_PATH:
                health = self.server.health()
                body = json.dumps(health.document(), indent=2).encode() + b"\n"
                self._send(health.status, "application/json", body)
            else:
                self._send(404, "text/plain; charset=utf-8", b"try /metrics or /healthz\n")
        except Exception:  # a bug: logged once, the scraper sees a 500
            log.exception("ops endpoint %s crashed", path)
            self._send(500, "text/plain; charset=utf-8", b"internal error (see the log)\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("ops http: " + format, *args)


class OpsServer:
    """A running `/metrics` + `/healthz` endpoint; ``port`` 0 binds any free port (tests)."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, health: Callable[[], Health]
    ):
        self._server = _Server((host, port), _Handler)
        self._server.registry = registry
        self._server.health = health
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="ops-http",
            daemon=True,
        )
        self._thread.start()
        log.info("serving %s and %s on %s", METRICS_PATH, HEALTH_PATH, self.url)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
