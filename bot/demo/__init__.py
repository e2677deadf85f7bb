"""`watchdesk demo`: the whole loop on this machine, with no tokens and no network.

A loopback HTTP server publishes two bundled feeds; the bot polls them (the first poll records
the backlog without alerting), a new item appears, the second poll alerts on the one article
about the desk's watched entities, and a simulated thread reply marks one of its claims.
"""

from __future__ import annotations

import json
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from hashlib import sha256
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot.app import Watchdesk
from bot.chat.console import ConsoleSink
from bot.desk.commands import Actor
from bot.models import CONSOLE
from bot.settings import Settings, load_settings

DATA = resources.files("bot.demo") / "data"


def _items() -> dict[str, Any]:
    return json.loads((DATA / "items.json").read_text(encoding="utf-8"))


def _item_text(item: dict[str, str]) -> str:
    if "sample" in item:
        lines = (DATA / item["sample"]).read_text(encoding="utf-8").splitlines()
        return "\n".join(line for line in lines[1:] if line.strip())
    return item["text"]


def render_rss(title: str, base: str, items: list[dict[str, str]], published: datetime) -> bytes:
    """A plain RSS 2.0 document, as a small newsroom CMS would publish it."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link>"
        f"<description>Watchdesk demo feed</description>"
    ]
    for i, item in enumerate(reversed(items)):
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in _item_text(item).split("\n"))
        when = format_datetime(published - timedelta(hours=i))
        parts.append(
            f"<item><title>{escape(item['title'])}</title>"
            f"<link>{base}/articles/{item['id']}</link>"
            f'<guid isPermaLink="false">{item["id"]}</guid><pubDate>{when}</pubDate>'
            f"<description>{escape(paragraphs)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class DemoFeeds:
    """Serves the bundled feeds on 127.0.0.1; `publish()` adds the 'after' items."""

    def __init__(self) -> None:
        self.items = _items()
        self.published = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DemoFeeds:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def urls(self) -> dict[str, str]:
        return {key: f"{self.base}/feeds/{key}.xml" for key in self.items}

    def publish(self) -> None:
        self.published = True

    def body(self, key: str) -> bytes:
        feed = self.items[key]
        items = feed["before"] + (feed["after"] if self.published else [])
        return render_rss(feed["title"], self.base, items, datetime(2025, 9, 16, 9, 0, tzinfo=UTC))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                key = self.path.removeprefix("/feeds/").removesuffix(".xml")
                if key not in feeds.items:
                    self.send_error(404)
                    return
                body = feeds.body(key)
                etag = '"' + sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        return Handler


def demo_settings(base: Settings, database_url: str) -> Settings:
    """The user's watchlist and analysis settings, on the demo's own feeds and database.

    ``backfill`` is forced to 0: the demo's first poll is the "backlog never alerts" step,
    whatever the operator configured for real feeds. Entities lose their channels: an entity
    routed to Slack would otherwise leave the demo's alert waiting in the outbox for a
    platform the demo never connects."""
    fetch = base.fetch.model_copy(update={"allow_private_hosts": ("127.0.0.1",), "timeout_s": 10})
    return base.model_copy(
        update={
            "database_url": database_url,
            "feeds": (),
            "watchlist": tuple(w.model_copy(update={"channels": ()}) for w in base.watchlist),
            "poll": base.poll.model_copy(update={"backfill": 0}),
            "fetch": fetch,
            "analysis": base.analysis.model_copy(update={"fetch_full_text": False}),
            "default_channels": (CONSOLE,),
            "notice_channels": (),
        }
    )


def run_demo(out: TextIO, config: str | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="watchdesk-demo-") as tmp, DemoFeeds() as feeds:
        settings = demo_settings(load_settings(config), f"sqlite:///{Path(tmp) / 'demo.db'}")
        app = Watchdesk.build(settings, {"console": ConsoleSink(out)})
        try:
            return _walk_through(app, feeds, out)
        finally:
            app.close()


def _walk_through(app: Watchdesk, feeds: DemoFeeds, out: TextIO) -> int:
    for key, url in feeds.urls().items():
        app.store.feeds.add_feed(
            url, interval_s=app.settings.poll.interval_s, name=feeds.items[key]["title"]
        )
    say = lambda text: (out.write(text + "\n"), out.flush())  # noqa: E731
    say(f"Watchdesk demo: 2 feeds on {feeds.base}, watching {', '.join(app.desk.watch_names())}.\n")
    first = app.run_cycle()
    say(
        f"Poll 1: {len(first.polled.results)} feeds, backlog recorded, {len(first.alerts)} "
        f"alerts (a new feed's existing items never alert).\n"
    )
    feeds.publish()
    later = datetime.now(UTC) + timedelta(seconds=app.settings.poll.interval_s + 1)
    app.poller.clock = lambda: later
    published = sum(len(feed["after"]) for feed in feeds.items.values())
    say(f"The feeds publish {published} new items. Poll 2:\n")
    second = app.run_cycle()
    new_items = sum(1 for r in second.polled.results for _ in r.new_articles)
    say(f"Poll 2: {new_items} new items, {len(second.alerts)} alert(s) posted.\n")
    if not second.alerts:
        say(f"No alert was produced: check the watchlist in {app.settings.source}.")
        return 1
    alert_id = second.alerts[0]
    desk_member = Actor(platform="console", user_id="demo", name="Demo Checker")
    say(
        "A checker replies in the alert's thread: "
        '"1 unproven https://example.org/belarus-ministry-statement"\n'
    )
    reply = app.desk.handle_thread_reply(
        desk_member,
        "console",
        f"console-{alert_id}",
        "1 unproven https://example.org/belarus-ministry-statement",
    )
    say(f"Bot: {reply.text if reply else '(ignored)'}\n")
    say("Run `watchdesk run` to poll the configured feeds for real; see README.md.")
    return 0
