"""Platform-neutral desk commands: /watch, /feeds, /claims, /why and verdicts, for every chat
platform.

Adapters normalise their platform's event into an `Actor` and neutral text
(`bot.desk.inbound.InboundText`), call one method, and render the structured `Reply`
(`bot.desk.replies`) in their own syntax. Every public method runs behind the one boundary
(`bot.desk.boundary.run`): a user's mistake becomes a `Reply(ok=False)` that says what to do, a
remote failure says so, anything else is logged and answered with `bot.errors.BUG_REPLY`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.analysis.text import html_to_text, mixed_script_warning
from bot.desk import boundary
from bot.desk.command_text import (
    ClaimsMine,
    ClaimsOpen,
    Command,
    DigestNow,
    FeedsAdd,
    FeedsList,
    FeedsRemove,
    Help,
    WatchAdd,
    WatchList,
    WatchRemove,
    WatchTest,
    WatchUnalias,
    WhyQuery,
    check_alias_count,
    check_feed_url,
    check_name,
    cmd,
    parse_command,
    usage_parts_of,
)
from bot.desk.digest import DigestSchedule, post_digest, slots_around
from bot.desk.inbound import InboundText, refuse_controls
from bot.desk.outbox import Outbox
from bot.desk.replies import Arg, Code, MessageLink, Part, Refusal, Reply, lines
from bot.desk.verdicts import (
    AssignReply,
    RecallReply,
    VerdictHint,
    VerdictRequest,
    check_note,
    check_source,
    parse_assign_reply,
    parse_recall_reply,
    parse_verdict_reply,
)
from bot.desk.why import Why
from bot.errors import UserError
from bot.feeds.subscribe import FeedChecker, NotAFeed
from bot.models import Analysis, CheckerVerdict, Destination, Entity, FeedInfo, Verdict
from bot.settings import PermissionSettings
from bot.store.repo import Store
from bot.store.schema import utcnow

__all__ = ["Actor", "Desk", "Reply", "WatchlistPort"]

log = logging.getLogger(__name__)

MAX_LIST = 50
MAX_PROPOSALS = 12


@dataclass(frozen=True)
class Actor:
    platform: str
    user_id: str
    name: str
    channel: str = ""
    groups: tuple[str, ...] = ()
    is_platform_admin: bool = False


class WatchlistPort(Protocol):
    """What the desk needs from the analysis stage (implemented by `bot.analysis.pipeline`)."""

    def reload(self, entities: Sequence[Entity]) -> None: ...
    def analyse(self, title: str, text: str, url: str | None = None) -> Analysis: ...
    def variants(self, term: str) -> tuple[str, ...]: ...
    def explain(self, title: str, text: str) -> str: ...


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _script_warnings(names: Sequence[str]) -> list[str]:
    """A warning per added name whose words mix Latin and Cyrillic letters: such a name is
    almost always a look-alike typed by accident, and the person should know what it will
    match as before relying on it."""
    return [f"Warning: {warning}" for name in names if (warning := mixed_script_warning(name))]


def _channel_list(channels: Sequence[str]) -> str:
    return ", ".join(channels) if channels else "the console"


def _destinations(channels: Sequence[Destination | str]) -> tuple[str, ...]:
    """Destinations in their stored text form; a string is checked to be one."""
    out = []
    for channel in channels:
        try:
            out.append(
                str(channel if isinstance(channel, Destination) else Destination.parse(channel))
            )
        except ValueError as exc:
            raise UserError(f"{channel} is not a channel Watchdesk can post to ({exc}).") from exc
    return tuple(dict.fromkeys(out))


def _find(entities: Sequence[Entity], name: str) -> tuple[Entity | None, Entity | None]:
    """(entity called ``name``, entity that has ``name`` as an alias), case-insensitively."""
    folded = name.casefold()
    by_name = next((e for e in entities if e.name.casefold() == folded), None)
    by_alias = next((e for e in entities if folded in {a.casefold() for a in e.aliases}), None)
    return by_name, by_alias


class Desk:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        analysis: WatchlistPort,
        feeds: FeedChecker,
        permissions: PermissionSettings,
        default_interval_s: int,
        *,
        default_channels: Sequence[str] = (),
        verdict_groups: Sequence[str] = (),
        digest: DigestSchedule | None = None,
    ):
        """``default_channels`` are where alerts go when no route says otherwise (named in
        replies about routing); ``verdict_groups`` (platform role / user-group ids), when not
        empty, are required to record verdicts — desk editors may always."""
        self.store = store
        self.outbox = outbox
        self.analysis = analysis
        self.feeds = feeds
        self.permissions = permissions
        self.default_interval_s = default_interval_s
        self.default_channels = tuple(default_channels)
        self.verdict_groups = tuple(verdict_groups)
        self.digest = digest or DigestSchedule((), "UTC", ())

    # ------------------------------------------------------------------ plumbing

    def run_text_command(self, actor: Actor, command: str, text: str | InboundText) -> Reply:
        """Parse `/watch add …`-style text (neutral, see `InboundText`) and run it."""
        return boundary.answer(
            lambda: self._dispatch(actor, parse_command(command, text)), f"/{command}"
        )

    def _dispatch(self, actor: Actor, command: Command) -> Reply:
        match command:
            case WatchAdd(term=term, aliases=aliases, channels=channels, keep_default=keep):
                return self._watch_add(actor, term, aliases, channels, keep)
            case WatchRemove(term=term, channels=channels):
                return self._watch_remove(actor, term, channels)
            case WatchUnalias(alias=alias):
                return self._watch_unalias(actor, alias)
            case WatchList():
                return self.watch_list(actor)
            case WatchTest(text=text):
                return self._watch_test(text)
            case FeedsAdd(url=url):
                return self._feeds_add(actor, url, None, None)
            case FeedsList():
                return self.feeds_list(actor)
            case FeedsRemove(url=url):
                return self._feeds_remove(actor, url)
            case ClaimsOpen():
                return self.claims_open(actor)
            case ClaimsMine():
                return self.claims_mine(actor)
            case DigestNow():
                return self.digest_now(actor)
            case WhyQuery(target=target):
                return self._why(actor, target)
            case Help(command=name):
                return Reply(*usage_parts_of(name))
        raise AssertionError(f"unhandled command {command!r}")

    @staticmethod
    def _guard(action: Callable[[], Reply], what: str = "desk command") -> Reply:
        return boundary.answer(action, what)

    def may_manage(self, actor: Actor) -> bool:
        p = self.permissions
        return (
            p.anyone
            or actor.user_id in p.users
            or bool(set(actor.groups) & set(p.groups))
            or (bool(actor.channel) and actor.channel in p.channels)
            or (p.platform_admins and actor.is_platform_admin)
        )

    def may_judge(self, actor: Actor) -> bool:
        """Whether the actor may record verdicts: anyone unless verdict groups are configured."""
        if not self.verdict_groups:
            return True
        return bool(set(actor.groups) & set(self.verdict_groups)) or self.may_manage(actor)

    def _require_manager(self, actor: Actor, what: str) -> None:
        if not self.may_manage(actor):
            raise UserError(
                f"Sorry, you can't {what}: only the desk's editors can. Ask a Watchdesk admin to "
                f"add you (your user id is {actor.user_id}) to [permissions] users in the config."
            )

    def _reload(self) -> None:
        self.analysis.reload(self.store.watchlist.active_entities())

    # ------------------------------------------------------------------ /watch

    def watch_add(
        self,
        actor: Actor,
        term: str,
        aliases: Sequence[str] = (),
        channels: Sequence[Destination | str] = (),
        keep_default: bool = False,
    ) -> Reply:
        return self._guard(
            lambda: self._watch_add(actor, term, aliases, channels, keep_default), "/watch add"
        )

    def _watch_add(
        self,
        actor: Actor,
        term: str,
        aliases: Sequence[str],
        channels: Sequence[Destination | str],
        keep_default: bool,
    ) -> Reply:
        self._require_manager(actor, "change the watchlist")
        term = check_name(term, "name")
        alias_list = list(
            dict.fromkeys(
                a
                for a in (check_name(a, "alias") for a in aliases if a.strip())
                if a.casefold() != term.casefold()
            )
        )
        check_alias_count(len(alias_list))
        routes = _destinations(channels)
        if keep_default and routes:
            routes = tuple(dict.fromkeys([*routes, *self.default_channels]))
        entities = self.store.watchlist.active_entities()
        by_name, by_alias = _find(entities, term)
        existing = by_name or by_alias
        if existing is not None:
            return self._watch_extend(actor, existing, term, alias_list, routes)
        entity = Entity(term, tuple(alias_list), (), routes)
        self.store.watchlist.upsert_entity(entity, added_by=f"{actor.platform}:{actor.user_id}")
        self._reload()
        rows: list[tuple[Part, ...] | Part] = [
            f"Now watching {term}"
            + (f" (aliases: {', '.join(entity.aliases)})." if entity.aliases else ".")
        ]
        rows.append("Inflected forms (e.g. Russian cases) and possessives match automatically.")
        rows.extend(_script_warnings([term, *entity.aliases]))
        if routes:
            rows.append(self._route_rule(term, routes, keep_default))
        rows.extend(self._proposals(entity))
        return Reply(*lines(*rows))

    def _watch_extend(
        self,
        actor: Actor,
        entity: Entity,
        typed: str,
        aliases: Sequence[str],
        routes: Sequence[str],
    ) -> Reply:
        """``/watch add`` of a name already watched: add only what is new, and say so."""
        known = {entity.name.casefold(), *(a.casefold() for a in entity.aliases)}
        new_aliases = [a for a in aliases if a.casefold() not in known]
        new_routes = [r for r in routes if r not in entity.channels]
        as_alias = (
            ""
            if typed.casefold() == entity.name.casefold()
            else f" ({typed} is one of its spellings)"
        )
        if not new_aliases and not new_routes:
            rows: list[tuple[Part, ...] | Part] = [
                f"{entity.name} is already watched{as_alias}"
                + (f", with aliases: {', '.join(entity.aliases)}." if entity.aliases else ".")
            ]
            rows.extend(self._proposals(entity))
            return Reply(*lines(*rows))
        updated = Entity(
            entity.name,
            tuple([*entity.aliases, *new_aliases]),
            entity.exclusions,
            tuple([*entity.channels, *new_routes]),
        )
        self.store.watchlist.upsert_entity(
            Entity(entity.name, tuple(new_aliases), (), tuple(new_routes)),
            added_by=f"{actor.platform}:{actor.user_id}",
        )
        self._reload()
        rows = [f"{entity.name} was already watched{as_alias}."]
        if new_aliases:
            rows.append(f"Added spellings: {', '.join(new_aliases)}.")
            rows.extend(_script_warnings(new_aliases))
        if new_routes:
            rows.append(self._route_rule(entity.name, updated.channels, False))
        rows.extend(self._proposals(updated))
        return Reply(*lines(*rows))

    def _route_rule(self, name: str, routes: Sequence[str], keep_default: bool) -> tuple[Part, ...]:
        """The routing rule in words: a route replaces the default channels for every article
        that matches the name, even when it also matches other watched names."""
        rule = (
            f"Alerts for articles that match {name} now go to {_channel_list(routes)}"
            f" — also when an article matches other watched names too"
        )
        if keep_default or not self.default_channels:
            return (rule + ".",)
        missing = [d for d in self.default_channels if d not in routes]
        if not missing:
            return (rule + ".",)
        return (
            rule + f"; they no longer go to the default channels ({_channel_list(missing)}). "
            "To post them to the default channels as well: ",
            cmd(
                "watch",
                "add",
                Arg("term", name),
                *(Arg("channel", Destination.parse(r)) for r in routes[:1]),
                Arg("keep_default", "+default"),
            ),
        )

    def _proposals(self, entity: Entity) -> list[tuple[Part, ...]]:
        """Spellings the variants generator suggests that the entity does not have yet."""
        known = {entity.name.casefold(), *(a.casefold() for a in entity.aliases)}
        proposals = list(
            dict.fromkeys(
                v for v in self.analysis.variants(entity.name) if v.casefold() not in known
            )
        )
        if not proposals:
            return []
        return [
            ("Other spellings you may want: " + ", ".join(proposals[:MAX_PROPOSALS]),),
            (
                "Add them with: ",
                cmd("watch", "add", Arg("term", entity.name), Arg("aliases", tuple(proposals[:4]))),
            ),
        ]

    def watch_remove(
        self, actor: Actor, term: str, channels: Sequence[Destination | str] = ()
    ) -> Reply:
        return self._guard(lambda: self._watch_remove(actor, term, channels), "/watch remove")

    def _watch_remove(
        self, actor: Actor, term: str, channels: Sequence[Destination | str] = ()
    ) -> Reply:
        self._require_manager(actor, "change the watchlist")
        term = check_name(term, "name")
        entities = self.store.watchlist.active_entities()
        by_name, by_alias = _find(entities, term)
        if channels:
            return self._remove_routes(by_name or by_alias, term, _destinations(channels))
        if by_name is None and by_alias is not None:
            raise Refusal(
                *lines(
                    f"“{term}” is a spelling of {by_alias.name}, not a watched name itself. "
                    "Which did you mean?",
                    (
                        "• stop matching only that spelling: ",
                        cmd("watch", "unalias", Arg("alias", term)),
                    ),
                    (
                        f"• stop watching {by_alias.name} entirely: ",
                        cmd("watch", "remove", Arg("term", by_alias.name)),
                    ),
                )
            )
        if by_name is None:
            names = ", ".join(e.name for e in entities) or "nothing yet"
            raise UserError(f"{term} is not on the watchlist (watching: {names}).")
        self.store.watchlist.remove_entity(by_name.name)
        self._reload()
        return Reply(f"Stopped watching {by_name.name}.")

    def _remove_routes(self, entity: Entity | None, term: str, routes: Sequence[str]) -> Reply:
        if entity is None:
            raise Refusal(f"{term} is not on the watchlist; ", cmd("watch", "list"), " shows it.")
        missing = [r for r in routes if r not in entity.channels]
        if missing:
            shown = _channel_list(entity.channels) if entity.channels else "no channel of its own"
            raise UserError(
                f"{entity.name} is not routed to {', '.join(missing)} (it goes to {shown})."
            )
        left = tuple(c for c in entity.channels if c not in routes)
        self.store.watchlist.update_entity(entity.name, channels=left)
        self._reload()
        goes = (
            f"its alerts now go to {_channel_list(left)}"
            if left
            else "its alerts now go where the feed or the default channels say"
            + (f" ({_channel_list(self.default_channels)})" if self.default_channels else "")
        )
        return Reply(f"{entity.name} is no longer routed to {', '.join(routes)}; {goes}.")

    def watch_unalias(self, actor: Actor, alias: str) -> Reply:
        return self._guard(lambda: self._watch_unalias(actor, alias), "/watch unalias")

    def _watch_unalias(self, actor: Actor, alias: str) -> Reply:
        self._require_manager(actor, "change the watchlist")
        alias = check_name(alias, "alias")
        by_name, by_alias = _find(self.store.watchlist.active_entities(), alias)
        if by_alias is None:
            if by_name is not None:
                raise Refusal(
                    f"{by_name.name} is a watched name, not a spelling of one. To stop watching "
                    "it: ",
                    cmd("watch", "remove", Arg("term", by_name.name)),
                )
            raise Refusal(
                f"No watched name has the spelling “{alias}”; ",
                cmd("watch", "list"),
                " shows them.",
            )
        left = tuple(a for a in by_alias.aliases if a.casefold() != alias.casefold())
        self.store.watchlist.update_entity(by_alias.name, aliases=left)
        self._reload()
        return Reply(
            f"{by_alias.name} no longer matches “{alias}”"
            + (
                f"; its spellings are now: {', '.join(left)}."
                if left
                else "; it has no other spellings."
            )
        )

    def watch_list(self, actor: Actor) -> Reply:
        entities = self.store.watchlist.active_entities()
        if not entities:
            return Reply(
                "The watchlist is empty. Add a term with ",
                cmd("watch", "add", Arg("term", "NAME", placeholder=True),
                    Arg("aliases", "ALIAS …", placeholder=True, optional=True)),
                ".",
            )  # fmt: skip
        rows = [f"Watching {len(entities)} entit{'y' if len(entities) == 1 else 'ies'}:"]
        for e in entities[:MAX_LIST]:
            alias_text = f" — also {', '.join(e.aliases)}" if e.aliases else ""
            route_text = f" → {', '.join(e.channels)}" if e.channels else ""
            rows.append(f"• {e.name}{alias_text}{route_text}")
        return Reply("\n".join(rows))

    def watch_test(self, actor: Actor, text_or_url: str) -> Reply:
        return self._guard(lambda: self._watch_test(text_or_url), "/watch test")

    def _watch_test(self, text_or_url: str) -> Reply:
        text_or_url = text_or_url.strip()
        if not text_or_url:
            raise Refusal(
                "Give some text or a URL: ",
                cmd("watch", "test", Arg("text", "Lukashenko met Putin in Minsk")),
                ".",
            )
        title, text, url = "", text_or_url, None
        if text_or_url.lower().startswith(("http://", "https://")) and " " not in text_or_url:
            url = check_feed_url(text_or_url)
            text = html_to_text(self.feeds.fetch_page(url), url)
            if not text:
                raise UserError(f"{url} has no readable article text to test.")
        analysis = self.analysis.analyse(title, text, url)
        verdict = "Would alert." if analysis.matched else "Would NOT alert."
        rows = [verdict, self.analysis.explain(title, text)]
        if analysis.claims:
            rows.append(f"It would flag {len(analysis.claims)} claim(s) to check.")
        return Reply("\n".join(rows))

    def watch_names(self) -> list[str]:
        return [e.name for e in self.store.watchlist.active_entities()]

    def watch_spellings(self) -> list[str]:
        """Every alias of every watched name (for autocompletion of /watch unalias)."""
        return [a for e in self.store.watchlist.active_entities() for a in e.aliases]

    # ------------------------------------------------------------------ /feeds

    def feeds_add(
        self, actor: Actor, url: str, *, interval_s: int | None = None, name: str | None = None
    ) -> Reply:
        return self._guard(lambda: self._feeds_add(actor, url, interval_s, name), "/feeds add")

    def _feeds_add(self, actor: Actor, url: str, interval_s: int | None, name: str | None) -> Reply:
        self._require_manager(actor, "change the feeds")
        # The text form was checked by the parser; here only what every path must refuse (the
        # guarded fetcher refuses non-web schemes and internal hosts itself, with reasons).
        url = refuse_controls(url.strip(), "feed address")
        try:
            checked = self.feeds.check(url)
        except NotAFeed as exc:
            raise Refusal(*self._suggest_feeds(url, exc)) from exc
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

    @staticmethod
    def _suggest_feeds(url: str, exc: NotAFeed) -> tuple[Part, ...]:
        """ "Did you mean" with the exact command that adds each suggested feed."""
        rows: list[tuple[Part, ...] | Part] = [f"{url} is a web page, not a feed. Did you mean:"]
        for link, title in exc.links:
            label = f" ({title})" if title else ""
            rows.append((f"• {link}{label} — add it with ", cmd("feeds", "add", Arg("url", link))))
        return lines(*rows)

    def feeds_enable(self, actor: Actor, url: str) -> Reply:
        return self._guard(lambda: self._feeds_enable(actor, url), "feeds enable")

    def _feeds_enable(self, actor: Actor, url: str) -> Reply:
        self._require_manager(actor, "change the feeds")
        if not self.store.feeds.enable_feed(url.strip(), utcnow()):
            raise UserError(f"{url} is not one of the feeds; `feeds list` shows them.")
        return Reply(f"Re-enabled {url}; it will be polled on the next tick.")

    def feeds_list(self, actor: Actor) -> Reply:
        feeds = self.store.feeds.list_feeds()
        if not feeds:
            return Reply(
                "No feeds yet. Add one with ",
                cmd("feeds", "add", Arg("url", "URL", placeholder=True)),
                ".",
            )
        rows = [f"{len(feeds)} feed(s):"]
        rows.extend(self.describe_feed(f) for f in feeds[:MAX_LIST])
        if len(feeds) > MAX_LIST:
            rows.append(
                f"… and {len(feeds) - MAX_LIST} more (run watchdesk feeds list on the server to see all)."
            )
        return Reply("\n".join(rows))

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
        return self._guard(lambda: self._feeds_remove(actor, url), "/feeds remove")

    def _feeds_remove(self, actor: Actor, url: str) -> Reply:
        self._require_manager(actor, "change the feeds")
        url = refuse_controls(url.strip(), "feed address")
        if not self.store.feeds.remove_feed(url):
            raise UserError(f"{url} is not one of the feeds; `feeds list` shows them.")
        return Reply(f"Removed {url}.")

    def feed_urls(self) -> list[str]:
        return [f.url for f in self.store.feeds.list_feeds()]

    # ------------------------------------------------------------------ claims and verdicts

    def claims_open(self, actor: Actor) -> Reply:
        """Unchecked claims grouped by alert, each alert with links to where it was posted
        (the actor's platform first: a Slack user gets the Slack permalink)."""
        claims = self.store.alerts.open_claims(limit=MAX_LIST)
        if not claims:
            return Reply("No unchecked claims. Nice work.")
        refs = self.store.alerts.message_refs(list(dict.fromkeys(c.alert_id for c in claims)))
        parts: list[Part] = ["Unchecked claims, oldest first:"]
        current: int | None = None
        for c in claims:
            if c.alert_id != current:
                current = c.alert_id
                parts.append(f"\n• alert #{c.alert_id} “{c.alert_title}”")
                posted = sorted(
                    refs.get(c.alert_id, []),
                    key=lambda r: not r.destination.startswith(f"{actor.platform}:"),
                )
                for ref in posted[:3]:
                    parts += [" · ", MessageLink(ref, "open the alert")]
            parts.append(f"\n    claim {c.n}: {c.text}")
        return Reply(*parts)

    # ------------------------------------------------------------------ /why

    def why(self, actor: Actor, target: str) -> Reply:
        """Where the article at a URL, or behind an alert number, stopped (`bot.desk.why`)."""
        return self._guard(lambda: self._why(actor, target), "/why")

    def _why(self, actor: Actor, target: str) -> Reply:
        target = refuse_controls(target.strip(), "article address")
        if not target:
            raise Refusal(
                "Give an article's address or an alert number: ",
                cmd("why", None, Arg("target", "42")),
                ".",
            )
        return Why(self.store, self.feeds).explain(target, actor.platform)

    def alert_id_for_message(self, destination: Destination | str, message_id: str) -> int | None:
        return self.store.alerts.alert_for_message(str(destination), message_id)

    def handle_thread_reply(
        self,
        actor: Actor,
        destination: Destination | str,
        parent_message_id: str,
        text: str | InboundText,
    ) -> Reply | None:
        """A reply in an alert's thread: a verdict is recorded and the alert re-rendered;
        conversation is ignored (None); a failed verdict attempt gets a one-line hint."""
        return boundary.run(
            lambda: self._thread_reply(actor, str(destination), parent_message_id, text),
            f"thread reply under {destination}/{parent_message_id}",
        )

    def _thread_reply(
        self, actor: Actor, destination: str, parent_message_id: str, text: str | InboundText
    ) -> Reply | None:
        alert_id = self.store.alerts.alert_for_message(destination, parent_message_id)
        if alert_id is None:
            return None
        recall = parse_recall_reply(text)
        if recall is not None:
            return self._recall_reply(actor, alert_id, recall)
        taking = parse_assign_reply(text)
        if taking is not None:
            return self._assign(actor, alert_id, taking)
        parsed = parse_verdict_reply(text, len(self.store.alerts.claim_numbers(alert_id)))
        if parsed is None:
            return None
        if isinstance(parsed, VerdictHint):
            return Reply(*parsed.parts, ok=False)
        return self._record(actor, alert_id, parsed)

    def _assign(self, actor: Actor, alert_id: int, reply: AssignReply) -> Reply:
        """I'm on it: the claims (all unchecked ones without numbers) are the person's
        until a verdict or ``[memory] assignment_timeout``; another checker's stay theirs."""
        if not self.may_judge(actor):
            raise UserError(
                "Sorry, taking claims is limited to the desk's fact-checkers. Ask a Watchdesk "
                "admin to give you one of the roles in [permissions] verdict_groups."
            )
        numbers = self.store.alerts.claim_numbers(alert_id)
        if not numbers:
            raise UserError(f"Alert #{alert_id} has no claims to take.")
        chosen = list(numbers) if reply.claims is None else list(reply.claims)
        missing = [n for n in chosen if n not in numbers]
        if missing:
            raise UserError(
                f"Alert #{alert_id} has no claim {missing[0]} (claims {numbers[0]}–{numbers[-1]})."
            )
        kept = self.store.memory.assign(
            alert_id, chosen, platform=actor.platform, user_id=actor.user_id, user_name=actor.name
        )
        if reply.claims is None:  # "I'm on it" leaves checked claims alone silently
            kept = {n: who for n, who in kept.items() if who != "checked"}
            chosen = [n for n in chosen if n not in kept and not self._is_checked(alert_id, n)]
        taken = [n for n in chosen if n not in kept]
        self.outbox.push_updates(alert_id)
        rows: list[Part | tuple[Part, ...]] = []
        if taken:
            which = ("claim " if len(taken) == 1 else "claims ") + ", ".join(map(str, taken))
            rows.append(f"{actor.name} is on {which}.")
        for n, who in kept.items():
            rows.append(
                f"Claim {n} already has a verdict."
                if who == "checked"
                else f"Claim {n} stays with {who}, who is on it."
            )
        return Reply(*lines(*rows)) if rows else Reply("Nothing to take: every claim is checked.")

    def _is_checked(self, alert_id: int, n: int) -> bool:
        view = self.store.alerts.alert_view(alert_id)
        return view is not None and any(
            c.n == n and c.verdict is not Verdict.UNCHECKED for c in view.claims
        )

    def digest_now(self, actor: Actor) -> Reply:
        """`/digest now`: the digest in the channel the command came from, covering the
        verdicts since the last scheduled digest (the last 24 h without a schedule)."""
        if not actor.channel:
            raise UserError("Run /digest now in a channel: the digest is posted where you ask.")
        where = str(Destination(actor.platform, actor.channel))
        now = self.store.clock()
        zone = ZoneInfo(self.digest.timezone)
        since = (
            slots_around(now, self.digest.times, zone)[0]
            if self.digest.times
            else now - timedelta(days=1)
        )
        if not post_digest(
            self.store.memory, self.store.outbox, [where], since=since, now=now, zone=zone, key=None
        ):
            local = since.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            return Reply(f"Nothing for a digest: no open claims and no verdicts since {local}.")
        self.outbox.wake()
        return Reply("Digest posted in this channel.")

    def claims_mine(self, actor: Actor) -> Reply:
        """The claims the person is on, oldest first, with links to the alerts."""
        mine = self.store.memory.mine(actor.platform, actor.user_id, limit=MAX_LIST)
        if not mine:
            return Reply(
                "You are on no claims. Reply “I'm on it” in an alert's thread to take one."
            )
        refs = self.store.alerts.message_refs(list(dict.fromkeys(a.alert_id for a in mine)))
        parts: list[Part] = ["Your claims, oldest first:"]
        for a in mine:
            parts.append(
                f"\n• alert #{a.alert_id} “{a.alert_title}” claim {a.claim_n}: {a.claim_text}"
            )
            posted = sorted(
                refs.get(a.alert_id, []),
                key=lambda r: not r.destination.startswith(f"{actor.platform}:"),
            )
            for ref in posted[:1]:
                parts += [" · ", MessageLink(ref, "open the alert")]
        return Reply(*parts)

    def _recall_reply(self, actor: Actor, alert_id: int, reply: RecallReply) -> Reply:
        """Confirm ("same as #14:3": the earlier verdict is copied with its provenance) or
        reject a recall suggestion shown on one of the alert's claims."""
        if not self.may_judge(actor):
            raise UserError(
                "Sorry, confirming earlier checks is limited to the desk's fact-checkers. Ask a "
                "Watchdesk admin to give you one of the roles in [permissions] verdict_groups."
            )
        decided = self.store.memory.decide(
            alert_id, reply.claim, reply.ref, confirm=reply.same, by=actor.name
        )
        if decided is None:
            which = f"claim {reply.claim}" if reply.claim is not None else "any claim"
            return Reply(
                f"Alert #{alert_id} does not show {reply.ref} on {which}; reply with the "
                "reference the alert shows, e.g. ",
                Code(f"{reply.claim or 1} same as {reply.ref}"),
                ".",
                ok=False,
            )
        claim_n, copied = decided
        if copied is None:
            self.outbox.push_updates(alert_id)
            return Reply(
                f"Noted: claim {claim_n} is not the same as {reply.ref} (by {actor.name})."
            )
        self.store.alerts.record_verdicts(
            alert_id,
            [claim_n],
            copied.verdict,
            platform=actor.platform,
            user_id=actor.user_id,
            user_name=actor.name,
            source_url=copied.source_url,
            note=copied.note,
        )
        self.outbox.push_updates(alert_id)
        return Reply(
            f"Recorded: claim {claim_n} → {copied.verdict.value} (by {actor.name}), {copied.note}."
        )

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
        return self._guard(lambda: self._record(actor, alert_id, request), "verdict")

    def _record(self, actor: Actor, alert_id: int, request: VerdictRequest) -> Reply:
        if not self.may_judge(actor):
            raise UserError(
                "Sorry, recording verdicts is limited to the desk's fact-checkers. Ask a "
                "Watchdesk admin to give you one of the roles in [permissions] verdict_groups."
            )
        source = check_source(request.source_url)
        note = check_note(request.note)
        numbers = self.store.alerts.claim_numbers(alert_id)
        if not numbers:
            raise UserError(f"Alert #{alert_id} has no claims to mark.")
        chosen = list(numbers) if request.claims is None else list(request.claims)
        missing = [n for n in chosen if n not in numbers]
        if missing:
            raise UserError(
                f"Alert #{alert_id} has no claim {missing[0]} (claims {numbers[0]}–{numbers[-1]})."
            )
        others = self._others_verdicts(actor, alert_id)
        kept: dict[int, str] = {}
        if request.claims is None:  # "all …" never overrides another checker's verdict
            kept = {n: others[n] for n in chosen if n in others}
            chosen = [n for n in chosen if n not in kept]
        if chosen:
            self.store.alerts.record_verdicts(
                alert_id,
                chosen,
                request.verdict,
                platform=actor.platform,
                user_id=actor.user_id,
                user_name=actor.name,
                source_url=source,
                note=note,
            )
            self.outbox.push_updates(alert_id)
        return Reply(*self._recorded_text(actor, request, chosen, kept, others, source))

    def _others_verdicts(self, actor: Actor, alert_id: int) -> dict[int, list[CheckerVerdict]]:
        """Claim → the verdicts other checkers currently hold on it (resets left out)."""
        out: dict[int, list[CheckerVerdict]] = {}
        for n, rows in self.store.alerts.checker_verdicts(alert_id).items():
            held = [
                v
                for platform, user_id, v in rows
                if (platform, user_id) != (actor.platform, actor.user_id)
                and v.verdict is not Verdict.UNCHECKED
            ]
            if held:
                out[n] = held
        return out

    @staticmethod
    def _recorded_text(
        actor: Actor,
        request: VerdictRequest,
        chosen: Sequence[int],
        kept: dict[int, list[CheckerVerdict]],
        others: dict[int, list[CheckerVerdict]],
        source: str | None,
    ) -> tuple[Part, ...]:
        verdict = request.verdict
        rows: list[tuple[Part, ...] | Part] = []
        if chosen:
            which = (
                "all claims"
                if request.claims is None and not kept
                else ("claim " if len(chosen) == 1 else "claims ") + ", ".join(map(str, chosen))
            )
            extra = f"; source {source}" if source else ""
            rows.append(f"Recorded: {which} → {verdict.value} (by {actor.name}){extra}.")
        else:
            rows.append("Nothing recorded: every claim already has another checker's verdict.")
        for n, held in kept.items():
            rows.append(
                (
                    f"Claim {n} keeps {_said(held)}; to record yours next to it, reply ",
                    Code(f"{n} {verdict.value}"),
                    ".",
                )
            )
        if verdict is not Verdict.UNCHECKED:
            for n in chosen:
                differing = [v for v in others.get(n, []) if v.verdict is not verdict]
                if differing:
                    rows.append(
                        f"Claim {n}: this disagrees with {_said(differing)}; the alert shows "
                        "the disagreement."
                    )
        return lines(*rows)


def _said(verdicts: Sequence[CheckerVerdict]) -> str:
    return ", ".join(f"{v.checked_by}'s {v.verdict.value}" for v in verdicts)
