"""Platform-neutral desk commands: /watch, /feeds, /claims and verdicts, for every chat platform.

Adapters build an `Actor` from their platform's event, call one method, and render the plain
`Reply`. A user's mistake becomes a `Reply(ok=False)` that says what to do; anything else is
logged and answered with a short apology, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.analysis.text import html_to_text
from bot.desk.command_text import (
    ClaimsOpen,
    Command,
    FeedsAdd,
    FeedsList,
    FeedsRemove,
    Help,
    WatchAdd,
    WatchList,
    WatchRemove,
    WatchTest,
    parse_command,
    usage,
)
from bot.desk.outbox import Outbox
from bot.desk.verdicts import VerdictHint, VerdictRequest, parse_verdict_reply
from bot.errors import UserError
from bot.feeds.subscribe import FeedChecker
from bot.models import Analysis, Entity, FeedInfo, Verdict
from bot.settings import PermissionSettings
from bot.store.repo import Store
from bot.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_LIST = 50


@dataclass(frozen=True)
class Actor:
    platform: str
    user_id: str
    name: str
    channel: str = ""
    groups: tuple[str, ...] = ()
    is_platform_admin: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    ok: bool = True


class WatchlistPort(Protocol):
    """What the desk needs from the analysis stage (implemented by `bot.analysis.pipeline`)."""

    def reload(self, entities: Sequence[Entity]) -> None: ...
    def analyse(self, title: str, text: str, url: str | None = None) -> Analysis: ...
    def variants(self, term: str) -> tuple[str, ...]: ...
    def explain(self, title: str, text: str) -> str: ...


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


class Desk:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        analysis: WatchlistPort,
        feeds: FeedChecker,
        permissions: PermissionSettings,
        default_interval_s: int,
    ):
        self.store = store
        self.outbox = outbox
        self.analysis = analysis
        self.feeds = feeds
        self.permissions = permissions
        self.default_interval_s = default_interval_s

    # ------------------------------------------------------------------ plumbing

    def run_text_command(self, actor: Actor, command: str, text: str) -> Reply:
        """Parse `/watch add …`-style text and run it; never raises for the user's mistakes."""
        try:
            parsed = parse_command(command, text)
        except UserError as exc:
            return Reply(str(exc), ok=False)
        return self._guard(lambda: self._dispatch(actor, parsed))

    def _dispatch(self, actor: Actor, command: Command) -> Reply:
        match command:
            case WatchAdd(term=term, aliases=aliases, channels=channels):
                return self.watch_add(actor, term, aliases, channels)
            case WatchRemove(term=term):
                return self.watch_remove(actor, term)
            case WatchList():
                return self.watch_list(actor)
            case WatchTest(text=text):
                return self.watch_test(actor, text)
            case FeedsAdd(url=url):
                return self.feeds_add(actor, url)
            case FeedsList():
                return self.feeds_list(actor)
            case FeedsRemove(url=url):
                return self.feeds_remove(actor, url)
            case ClaimsOpen():
                return self.claims_open(actor)
            case Help(command=name):
                return Reply(usage(name))
        raise AssertionError(f"unhandled command {command!r}")

    @staticmethod
    def _guard(action: Callable[[], Reply]) -> Reply:
        try:
            return action()
        except UserError as exc:
            return Reply(str(exc), ok=False)
        except Exception:
            log.exception("desk command failed")
            return Reply(
                "Something went wrong on our side; it has been logged. Try again in a "
                "minute, and tell your Watchdesk admin if it keeps happening.",
                ok=False,
            )

    def may_manage(self, actor: Actor) -> bool:
        p = self.permissions
        return (
            p.anyone
            or actor.user_id in p.users
            or bool(set(actor.groups) & set(p.groups))
            or (bool(actor.channel) and actor.channel in p.channels)
            or (p.platform_admins and actor.is_platform_admin)
        )

    def _require_manager(self, actor: Actor, what: str) -> None:
        if not self.may_manage(actor):
            raise UserError(
                f"Sorry, you can't {what}: only the desk's editors can. Ask a Watchdesk admin to "
                f"add you (your user id is {actor.user_id}) to [permissions] users in the config."
            )

    # ------------------------------------------------------------------ /watch

    def watch_add(
        self, actor: Actor, term: str, aliases: Sequence[str] = (), channels: Sequence[str] = ()
    ) -> Reply:
        return self._guard(lambda: self._watch_add(actor, term, aliases, channels))

    def _watch_add(
        self, actor: Actor, term: str, aliases: Sequence[str], channels: Sequence[str]
    ) -> Reply:
        self._require_manager(actor, "change the watchlist")
        term = term.strip()
        if not term:
            raise UserError("Give a term to watch, e.g. `/watch add Lukashenko Lukashenka`.")
        entity = Entity(term, tuple(a.strip() for a in aliases if a.strip()), (), tuple(channels))
        created = self.store.watchlist.upsert_entity(
            entity, added_by=f"{actor.platform}:{actor.user_id}"
        )
        self.analysis.reload(self.store.watchlist.active_entities())
        known = {term.casefold(), *(a.casefold() for a in entity.aliases)}
        proposals = [v for v in self.analysis.variants(term) if v.casefold() not in known]
        head = f"Now watching {term}" if created else f"Updated {term}"
        lines = [head + (f" (aliases: {', '.join(entity.aliases)})." if entity.aliases else ".")]
        lines.append("Inflected forms (e.g. Russian cases) and possessives match automatically.")
        if proposals:
            lines.append("Other spellings you may want: " + ", ".join(proposals[:12]))
            lines.append(
                f"Add them with: /watch add {term} "
                + " ".join(f'"{p}"' if " " in p else p for p in proposals[:4])
            )
        return Reply("\n".join(lines))

    def watch_remove(self, actor: Actor, term: str) -> Reply:
        return self._guard(lambda: self._watch_remove(actor, term))

    def _watch_remove(self, actor: Actor, term: str) -> Reply:
        self._require_manager(actor, "change the watchlist")
        removed = self.store.watchlist.remove_entity(term.strip())
        if removed is None:
            names = ", ".join(self.watch_names()) or "nothing yet"
            raise UserError(f"{term} is not on the watchlist (watching: {names}).")
        self.analysis.reload(self.store.watchlist.active_entities())
        return Reply(f"Stopped watching {removed}.")

    def watch_list(self, actor: Actor) -> Reply:
        entities = self.store.watchlist.active_entities()
        if not entities:
            return Reply("The watchlist is empty. Add a term with `/watch add <term> [aliases…]`.")
        lines = [f"Watching {len(entities)} entit{'y' if len(entities) == 1 else 'ies'}:"]
        for e in entities[:MAX_LIST]:
            alias_text = f" — also {', '.join(e.aliases)}" if e.aliases else ""
            route_text = f" → {', '.join(e.channels)}" if e.channels else ""
            lines.append(f"• {e.name}{alias_text}{route_text}")
        return Reply("\n".join(lines))

    def watch_test(self, actor: Actor, text_or_url: str) -> Reply:
        return self._guard(lambda: self._watch_test(text_or_url))

    def _watch_test(self, text_or_url: str) -> Reply:
        text_or_url = text_or_url.strip()
        if not text_or_url:
            raise UserError("Give some text or a URL: `/watch test Lukashenko met Putin in Minsk`.")
        title, text, url = "", text_or_url, None
        if text_or_url.lower().startswith(("http://", "https://")) and " " not in text_or_url:
            url = text_or_url
            text = html_to_text(self.feeds.fetch_page(url), url)
            if not text:
                raise UserError(f"{url} has no readable article text to test.")
        analysis = self.analysis.analyse(title, text, url)
        verdict = "Would alert." if analysis.matched else "Would NOT alert."
        lines = [verdict, self.analysis.explain(title, text)]
        if analysis.claims:
            lines.append(f"It would flag {len(analysis.claims)} claim(s) to check.")
        return Reply("\n".join(lines))

    def watch_names(self) -> list[str]:
        return [e.name for e in self.store.watchlist.active_entities()]

    # ------------------------------------------------------------------ /feeds

    def feeds_add(
        self, actor: Actor, url: str, *, interval_s: int | None = None, name: str | None = None
    ) -> Reply:
        return self._guard(lambda: self._feeds_add(actor, url, interval_s, name))

    def _feeds_add(self, actor: Actor, url: str, interval_s: int | None, name: str | None) -> Reply:
        self._require_manager(actor, "change the feeds")
        checked = self.feeds.check(url)
        feed = self.store.feeds.add_feed(
            checked.url,
            interval_s=interval_s or self.default_interval_s,
            name=name or checked.title,
            added_by=f"{actor.platform}:{actor.user_id}",
        )
        return Reply(
            f"Added {feed.name or feed.url} ({feed.url}), polled every "
            f"{feed.interval_s // 60} min: the {checked.entries} item(s) there now are "
            f"recorded without alerting; new ones will alert."
        )

    def feeds_enable(self, actor: Actor, url: str) -> Reply:
        return self._guard(lambda: self._feeds_enable(actor, url))

    def _feeds_enable(self, actor: Actor, url: str) -> Reply:
        self._require_manager(actor, "change the feeds")
        if not self.store.feeds.enable_feed(url.strip(), utcnow()):
            raise UserError(f"{url} is not one of the feeds; `feeds list` shows them.")
        return Reply(f"Re-enabled {url}; it will be polled on the next tick.")

    def feeds_list(self, actor: Actor) -> Reply:
        feeds = self.store.feeds.list_feeds()
        if not feeds:
            return Reply("No feeds yet. Add one with `/feeds add <url>`.")
        lines = [f"{len(feeds)} feed(s):"]
        lines.extend(self.describe_feed(f) for f in feeds[:MAX_LIST])
        if len(feeds) > MAX_LIST:
            lines.append(f"… and {len(feeds) - MAX_LIST} more (`watchdesk feeds list` shows all).")
        return Reply("\n".join(lines))

    @staticmethod
    def describe_feed(feed: FeedInfo) -> str:
        state = feed.state if feed.state != "disabled" else f"DISABLED ({feed.disabled_reason})"
        error = (
            f"; last error {_fmt_time(feed.last_error_at)}: {feed.last_error}"
            if (feed.error_count and feed.last_error)
            else ""
        )
        return (
            f"• {feed.name or feed.url} — {feed.url} — {state}; last success "
            f"{_fmt_time(feed.last_success_at)}{error}; next poll {_fmt_time(feed.next_poll_at)}"
        )

    def feeds_remove(self, actor: Actor, url: str) -> Reply:
        return self._guard(lambda: self._feeds_remove(actor, url))

    def _feeds_remove(self, actor: Actor, url: str) -> Reply:
        self._require_manager(actor, "change the feeds")
        if not self.store.feeds.remove_feed(url.strip()):
            raise UserError(f"{url} is not one of the feeds; `/feeds list` shows them.")
        return Reply(f"Removed {url}.")

    def feed_urls(self) -> list[str]:
        return [f.url for f in self.store.feeds.list_feeds()]

    # ------------------------------------------------------------------ claims and verdicts

    def claims_open(self, actor: Actor) -> Reply:
        claims = self.store.alerts.open_claims(limit=MAX_LIST)
        if not claims:
            return Reply("No unchecked claims. Nice work.")
        lines = ["Unchecked claims, oldest first:"]
        for c in claims:
            lines.append(f"• alert #{c.alert_id} “{c.alert_title}” — claim {c.n}: {c.text}")
        return Reply("\n".join(lines))

    def alert_id_for_message(self, destination: str, message_id: str) -> int | None:
        return self.store.alerts.alert_for_message(destination, message_id)

    def handle_thread_reply(
        self, actor: Actor, destination: str, parent_message_id: str, text: str
    ) -> Reply | None:
        """A reply in an alert's thread: a verdict is recorded and the alert re-rendered;
        conversation is ignored (None); a failed verdict attempt gets a one-line hint."""
        alert_id = self.store.alerts.alert_for_message(destination, parent_message_id)
        if alert_id is None:
            return None
        parsed = parse_verdict_reply(text, len(self.store.alerts.claim_numbers(alert_id)))
        if parsed is None:
            return None
        if isinstance(parsed, VerdictHint):
            return Reply(parsed.message, ok=False)
        return self._guard(lambda: self._record(actor, alert_id, parsed))

    def record_verdict(
        self,
        actor: Actor,
        alert_id: int,
        claims: Sequence[int] | None,
        verdict: Verdict,
        source_url: str | None = None,
        note: str | None = None,
    ) -> Reply:
        request = VerdictRequest(
            tuple(claims) if claims is not None else None, verdict, source_url, note
        )
        return self._record(actor, alert_id, request)

    def _record(self, actor: Actor, alert_id: int, request: VerdictRequest) -> Reply:
        numbers = self.store.alerts.claim_numbers(alert_id)
        if not numbers:
            raise UserError(f"Alert #{alert_id} has no claims to mark.")
        chosen = list(numbers) if request.claims is None else list(request.claims)
        missing = [n for n in chosen if n not in numbers]
        if missing:
            raise UserError(
                f"Alert #{alert_id} has no claim {missing[0]} (claims {numbers[0]}–{numbers[-1]})."
            )
        self.store.alerts.record_verdicts(
            alert_id,
            chosen,
            request.verdict,
            platform=actor.platform,
            user_id=actor.user_id,
            user_name=actor.name,
            source_url=request.source_url,
            note=request.note,
        )
        self.outbox.push_updates(alert_id)
        which = (
            "all claims"
            if request.claims is None
            else (
                "claim " + ", ".join(str(n) for n in chosen)
                if len(chosen) == 1
                else "claims " + ", ".join(str(n) for n in chosen)
            )
        )
        extra = f"; source {request.source_url}" if request.source_url else ""
        return Reply(f"Recorded: {which} → {request.verdict} (by {actor.name}){extra}.")
