"""Running the Bolt app: Socket Mode by default, or an HTTP endpoint on the configured host.

Both starters return at once with a handle whose ``close()`` stops it, so the CLI can run the
scheduler alongside. HTTP mode serves ``POST /slack/events`` (events and slash commands, signature
checked by Bolt) and ``GET /healthz`` on exactly the host it is given — never Bolt's
``App.start``, which binds every interface.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.chat.slack.app import has_signing_secret
from bot.errors import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


class Running(Protocol):
    def close(self) -> None: ...


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("slack http: " + format, *args)


def wsgi_app(app: App, path: str = EVENTS_PATH) -> Callable[..., Iterable[bytes]]:
    """Bolt's WSGI handler plus a health check for load balancers and Procfile hosts."""
    bolt = SlackRequestHandler(app, path=path)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return bolt(environ, start_response)

    return application


@dataclass
class HttpServer:
    """A running HTTP-mode endpoint."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{EVENTS_PATH}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_http(app: App, host: str, port: int) -> HttpServer:
    """Serve the app on ``host:port`` (port 0 = any free port) in a background thread."""
    if not has_signing_secret(app):
        raise ConfigError(
            "Slack HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → Signing Secret)"
        )
    server = make_server(
        host, port, wsgi_app(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="slack-http", daemon=True
    )
    thread.start()
    log.info(
        "Slack HTTP mode listening on http://%s:%s%s", host, server.server_address[1], EVENTS_PATH
    )
    return HttpServer(server, thread)


def start_socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """Connect over Socket Mode (outbound WebSocket; no public URL needed) without blocking."""
    if not app_token or not app_token.startswith("xapp-"):
        raise ConfigError(
            "Socket Mode needs SLACK_APP_TOKEN, an app-level token starting with xapp- "
            "(Basic Information → App-Level Tokens, scope connections:write)"
        )
    handler = SocketModeHandler(app, app_token)
    handler.connect()
    log.info("Slack Socket Mode connected")
    return handler


def is_running(running: Running) -> bool:
    """Whether a started mode is up now (`/healthz`): Socket Mode's WebSocket is connected, or
    the HTTP endpoint's thread still serves."""
    if isinstance(running, HttpServer):
        return running.thread.is_alive()
    if isinstance(running, SocketModeHandler):
        return bool(running.client.is_connected())
    raise TypeError(f"not a running Slack mode: {running!r}")


def start(
    app: App, *, mode: str, app_token: str | None = None, host: str = "127.0.0.1", port: int = 3000
) -> Running:
    """Start whichever mode the settings chose (``settings.slack.mode``)."""
    if mode == "socket":
        return start_socket_mode(app, app_token or "")
    if mode == "http":
        return serve_http(app, host, port)
    raise ConfigError(f'[slack] mode must be "socket" or "http", got {mode!r}')
