"""Typed settings from `config/watchdesk.toml` plus environment variables (secrets only there).

Read once at start and validated then: a bad file fails with the file, the key and what is
wrong, before anything polls or posts. Nothing reads settings at import time.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.models import Entity

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "watchdesk.toml"
MIN_INTERVAL_S = 30  # the politeness floor for any poll interval
DESTINATION_RE = re.compile(r"^(console|slack:[A-Z0-9]{2,}|discord:\d+)$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, None: 1}


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str | None = None
    interval_s: int | None = None
    channels: tuple[str, ...] = ()
    label: str | None = None  # e.g. "state media": shown with the source in alerts


@dataclass(frozen=True)
class PollSettings:
    interval_s: int = 600
    concurrency: int = 64
    batch_size: int = 500
    disable_after_failures: int = 8
    max_backoff_s: int = 6 * 3600
    backfill: int = 0
    lease_s: int = 300
    parse_workers: int = 0  # 0 = parse in-process; N > 0 = a pool of N processes


@dataclass(frozen=True)
class FetchSettings:
    timeout_s: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    per_host_limit: int = 2
    user_agent: str = "Watchdesk/0.1 (newsroom feed monitor)"
    allow_private_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysisSettings:
    spacy_model: str = "en_core_web_sm"
    min_salience: float = 0.0
    summary_sentences: int = 3
    summary_max_chars: int = 700
    claims_top_k: int = 5
    claims_threshold: float = 0.5
    fetch_full_text: bool = True


@dataclass(frozen=True)
class PermissionSettings:
    """Who may change the watchlist and feeds. Empty lists and ``platform_admins`` true means
    platform admins only; ``anyone`` opens it to every member."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    platform_admins: bool = True
    anyone: bool = False


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: str = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    mode: str = "socket"  # "socket" or "http"

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)


@dataclass(frozen=True)
class DiscordSettings:
    token: str | None = None
    guilds: tuple[int, ...] = ()
    api_url: str | None = None
    gateway_url: str | None = None
    sync_global: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class Settings:
    database_url: str
    poll: PollSettings = field(default_factory=PollSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    permissions: PermissionSettings = field(default_factory=PermissionSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    default_channels: tuple[str, ...] = ("console",)
    notice_channels: tuple[str, ...] = ()
    console_journal: Path | None = None
    feeds: tuple[FeedConfig, ...] = ()
    watchlist: tuple[Entity, ...] = ()
    source: str = "<defaults>"


def parse_duration(value: object, where: str) -> float:
    """ "10m" → 600.0; a bare number is seconds. TOML allows ``inf``, ``nan`` and negative
    numbers, none of which is a duration (``inf`` would crash the int() every caller does)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(
                f"{where}: {value!r} is not a duration; write e.g. 30s, 10m, 2h or 1d"
            )
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a duration; write e.g. 30s, 10m, 2h or 1d")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_size(value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a size; write e.g. 500KB or 5MB")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower() or None])


_TYPE_NAMES: dict[type | tuple[type, ...], str] = {
    int: "a whole number",
    float: "a number",
    (int, float): "a number",
    str: 'a string in quotes ("…")',
    bool: "true or false",
    list: "a list ([…])",
}


class _Reader:
    """Pulls typed values out of one TOML table, naming file and key in every error."""

    def __init__(self, table: Mapping[str, Any], prefix: str, source: str):
        self.table, self.prefix, self.source = table, prefix, source
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: [{self.prefix}] {key}" if self.prefix else f"{self.source}: {key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.seen.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            name = _TYPE_NAMES.get(kind, repr(kind))
            raise ConfigError(f"{self.where(key)} must be {name}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{self.where(key)} must be a list of strings, got {values!r}")
        return tuple(values)

    def duration(self, key: str, default: float) -> float:
        self.seen.add(key)
        return parse_duration(self.table[key], self.where(key)) if key in self.table else default

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise ConfigError(
                f"{self.source}: unknown key(s) {', '.join(unknown)} in "
                f"[{self.prefix or 'top level'}]; check the spelling against config/watchdesk.toml"
            )


def _table(raw: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return value


def _destinations(values: tuple[str, ...], where: str) -> tuple[str, ...]:
    for value in values:
        if not DESTINATION_RE.match(value):
            raise ConfigError(
                f'{where}: {value!r} is not a destination; use "console", "slack:<channel id>" '
                f'(e.g. slack:C0123ABCD) or "discord:<channel id>" (digits)'
            )
    return values


def _poll(raw: Mapping[str, Any], source: str) -> PollSettings:
    r = _Reader(_table(raw, "poll", source), "poll", source)
    result = PollSettings(
        interval_s=int(r.duration("interval", 600)),
        concurrency=r.get("concurrency", int, 64),
        batch_size=r.get("batch_size", int, 500),
        disable_after_failures=r.get("disable_after_failures", int, 8),
        max_backoff_s=int(r.duration("max_backoff", 6 * 3600)),
        backfill=r.get("backfill", int, 0),
        lease_s=int(r.duration("lease", 300)),
        parse_workers=r.get("parse_workers", int, 0),
    )
    r.finish()
    if result.interval_s < MIN_INTERVAL_S:
        raise ConfigError(
            f"{r.where('interval')}: must be at least {MIN_INTERVAL_S}s, to be polite to publishers"
        )
    if result.concurrency < 1 or result.disable_after_failures < 1 or result.backfill < 0:
        raise ConfigError(
            f"{source}: [poll] concurrency and disable_after_failures must be ≥ 1, backfill ≥ 0"
        )
    if result.batch_size < 1 or result.parse_workers < 0:
        raise ConfigError(f"{source}: [poll] batch_size must be ≥ 1 and parse_workers ≥ 0")
    if result.lease_s < 5:
        raise ConfigError(
            f"{r.where('lease')}: must be at least 5s (a worker must finish what "
            f"it claimed before others take it over)"
        )
    return result


def _fetch(raw: Mapping[str, Any], source: str) -> FetchSettings:
    r = _Reader(_table(raw, "fetch", source), "fetch", source)
    defaults = FetchSettings()
    max_bytes = r.table.get("max_bytes", defaults.max_bytes)
    r.seen.add("max_bytes")
    result = FetchSettings(
        timeout_s=r.duration("timeout", defaults.timeout_s),
        max_bytes=parse_size(max_bytes, r.where("max_bytes")),
        max_redirects=r.get("max_redirects", int, defaults.max_redirects),
        per_host_limit=r.get("per_host_limit", int, defaults.per_host_limit),
        user_agent=r.get("user_agent", str, defaults.user_agent),
        allow_private_hosts=r.strings("allow_private_hosts"),
    )
    r.finish()
    # Each of these at zero makes every fetch fail, which would look like every feed dying.
    if result.timeout_s <= 0:
        raise ConfigError(f"{r.where('timeout')}: must be more than 0s, e.g. 20s")
    if result.max_bytes < 1024:
        raise ConfigError(f"{r.where('max_bytes')}: must be at least 1KB, e.g. 5MB")
    if result.max_redirects < 0 or result.per_host_limit < 1:
        raise ConfigError(f"{source}: [fetch] max_redirects must be ≥ 0 and per_host_limit ≥ 1")
    return result


def _analysis(raw: Mapping[str, Any], source: str) -> AnalysisSettings:
    r = _Reader(_table(raw, "analysis", source), "analysis", source)
    d = AnalysisSettings()
    result = AnalysisSettings(
        spacy_model=r.get("spacy_model", str, d.spacy_model),
        min_salience=float(r.get("min_salience", (int, float), d.min_salience)),
        summary_sentences=r.get("summary_sentences", int, d.summary_sentences),
        summary_max_chars=r.get("summary_max_chars", int, d.summary_max_chars),
        claims_top_k=r.get("claims_top_k", int, d.claims_top_k),
        claims_threshold=float(r.get("claims_threshold", (int, float), d.claims_threshold)),
        fetch_full_text=r.get("fetch_full_text", bool, d.fetch_full_text),
    )
    r.finish()
    if not 1 <= result.summary_sentences <= 6:
        raise ConfigError(f"{r.where('summary_sentences')}: must be between 1 and 6")
    if result.summary_max_chars < 100:
        raise ConfigError(
            f"{r.where('summary_max_chars')}: must be at least 100 (a sentence), e.g. 700"
        )
    if result.claims_top_k < 0:
        raise ConfigError(f"{r.where('claims_top_k')}: must be 0 (no claims) or more")
    if not 0 <= result.claims_threshold <= 1 or not 0 <= result.min_salience <= 1:
        raise ConfigError(
            f"{source}: [analysis] claims_threshold and min_salience are between 0 and 1"
        )
    return result


def _permissions(raw: Mapping[str, Any], source: str) -> PermissionSettings:
    r = _Reader(_table(raw, "permissions", source), "permissions", source)
    result = PermissionSettings(
        users=r.strings("users"),
        groups=r.strings("groups"),
        channels=r.strings("channels"),
        platform_admins=r.get("platform_admins", bool, True),
        anyone=r.get("anyone", bool, False),
    )
    r.finish()
    return result


def _feeds(raw: Mapping[str, Any], source: str) -> tuple[FeedConfig, ...]:
    feeds = raw.get("feeds", [])
    if not isinstance(feeds, list):
        raise ConfigError(f"{source}: feeds must be an array of tables ([[feeds]])")
    result = []
    for i, item in enumerate(feeds):
        r = _Reader(
            _entry(item, "feeds", i, 'url = "https://…"', source), f"feeds #{i + 1}", source
        )
        url = r.get("url", str, None)
        if not url or not re.match(r"^(https?|feed):", url, re.IGNORECASE):
            raise ConfigError(f"{r.where('url')}: each feed needs an http(s) url, got {url!r}")
        interval = r.duration("interval", 0) or None
        if interval is not None and interval < MIN_INTERVAL_S:
            raise ConfigError(
                f"{r.where('interval')}: must be at least {MIN_INTERVAL_S}s, to be polite to "
                "publishers"
            )
        result.append(
            FeedConfig(
                url=url,
                name=r.get("name", str, None),
                interval_s=int(interval) if interval else None,
                channels=_destinations(r.strings("channels"), r.where("channels")),
                label=r.get("label", str, None),
            )
        )
        r.finish()
    return tuple(result)


def _watchlist(raw: Mapping[str, Any], source: str) -> tuple[Entity, ...]:
    items = raw.get("watch", [])
    if not isinstance(items, list):
        raise ConfigError(f"{source}: watch must be an array of tables ([[watch]])")
    result: list[Entity] = []
    for i, item in enumerate(items):
        r = _Reader(_entry(item, "watch", i, 'name = "…"', source), f"watch #{i + 1}", source)
        name = r.get("name", str, "").strip()
        if not name:
            raise ConfigError(f"{r.where('name')}: every watched entity needs a name")
        result.append(
            Entity(
                name=name,
                aliases=r.strings("aliases"),
                exclusions=r.strings("exclusions"),
                channels=_destinations(r.strings("channels"), r.where("channels")),
            )
        )
        r.finish()
    seen: dict[str, int] = {}
    for i, entity in enumerate(result, 1):
        first = seen.setdefault(entity.name.casefold(), i)
        if first != i:
            raise ConfigError(
                f"{source}: [watch #{i}] name: {entity.name!r} is already the name of "
                f"[watch #{first}]; names must be unique, so merge the two entries' aliases"
            )
    return tuple(result)


def _entry(item: object, array: str, index: int, example: str, source: str) -> Mapping[str, Any]:
    """One ``[[feeds]]``/``[[watch]]`` entry; ``feeds = ["https://…"]`` is a common slip."""
    if not isinstance(item, dict):
        raise ConfigError(
            f"{source}: [{array} #{index + 1}] must be a table ([[{array}]] with {example}), "
            f"got {item!r}"
        )
    return item


def _slack(raw: Mapping[str, Any], env: Mapping[str, str], source: str) -> SlackSettings:
    r = _Reader(_table(raw, "slack", source), "slack", source)
    # Every key is read from the file before the environment overlays it, so a key the file
    # sets is never reported as unknown just because its environment variable is set too.
    mode = r.get("mode", str, "socket")
    if mode not in ("socket", "http"):
        raise ConfigError(f'{r.where("mode")}: must be "socket" or "http", got {mode!r}')
    file_port = r.get("http_port", int, 3000)
    api_url = r.get("api_url", str, "https://slack.com/api/")
    http_host = r.get("http_host", str, "127.0.0.1")
    r.finish()
    env_mode = env.get("SLACK_MODE")
    if env_mode and env_mode not in ("socket", "http"):
        raise ConfigError(f'SLACK_MODE must be "socket" or "http", got {env_mode!r}')
    port_text = env.get("SLACK_HTTP_PORT")
    try:
        port = int(port_text) if port_text else file_port
    except ValueError as exc:
        raise ConfigError(f"SLACK_HTTP_PORT must be a port number, got {port_text!r}") from exc
    if not 1 <= port <= 65535:
        where = "SLACK_HTTP_PORT" if port_text else r.where("http_port")
        raise ConfigError(f"{where}: {port} is not a port number (1–65535)")
    result = SlackSettings(
        bot_token=env.get("SLACK_BOT_TOKEN") or None,
        app_token=env.get("SLACK_APP_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        api_url=env.get("SLACK_API_URL") or api_url,
        http_host=env.get("SLACK_HTTP_HOST") or http_host,
        http_port=port,
        mode=env_mode or mode,
    )
    if result.enabled and result.mode == "socket" and not result.app_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not: Socket Mode needs an app-level "
            'token (xapp-…, scope connections:write), or set [slack] mode = "http" with '
            "SLACK_SIGNING_SECRET"
        )
    if result.enabled and result.mode == "http" and not result.signing_secret:
        raise ConfigError('[slack] mode = "http" needs SLACK_SIGNING_SECRET in the environment')
    return result


def _discord(raw: Mapping[str, Any], env: Mapping[str, str], source: str) -> DiscordSettings:
    r = _Reader(_table(raw, "discord", source), "discord", source)
    guilds = r.get("guilds", list, [])
    if not all(isinstance(g, int) and not isinstance(g, bool) for g in guilds):
        raise ConfigError(f"{r.where('guilds')}: guild ids are numbers (no quotes), got {guilds!r}")
    # Read from the file first (see _slack): an overlaid key is still a known key.
    api_url = r.get("api_url", str, None)
    gateway_url = r.get("gateway_url", str, None)
    result = DiscordSettings(
        token=env.get("DISCORD_TOKEN") or None,
        guilds=tuple(guilds),
        api_url=env.get("DISCORD_API_URL") or api_url,
        gateway_url=env.get("DISCORD_GATEWAY_URL") or gateway_url,
        sync_global=r.get("sync_global", bool, False),
    )
    r.finish()
    return result


TOP_LEVEL_KEYS = {
    "database_url",
    "default_channels",
    "notice_channels",
    "console_journal",
    "poll",
    "fetch",
    "analysis",
    "permissions",
    "slack",
    "discord",
    "feeds",
    "watch",
}


def _database_url(url: str) -> str:
    """Heroku and most PaaS hand out ``postgres://…``, a name SQLAlchemy does not know, and a
    bare ``postgresql://`` means psycopg2 on SQLAlchemy 2.0; the driver installed is psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _journal(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def settings_from_mapping(raw: Mapping[str, Any], env: Mapping[str, str], source: str) -> Settings:
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(unknown)}")
    top = _Reader(raw, "", source)
    database_url = _database_url(
        env.get("DATABASE_URL") or top.get("database_url", str, "sqlite:///watchdesk.db")
    )
    return Settings(
        database_url=database_url,
        poll=_poll(raw, source),
        fetch=_fetch(raw, source),
        analysis=_analysis(raw, source),
        permissions=_permissions(raw, source),
        slack=_slack(raw, env, source),
        discord=_discord(raw, env, source),
        default_channels=_destinations(
            top.strings("default_channels") or ("console",), f"{source}: default_channels"
        ),
        notice_channels=_destinations(top.strings("notice_channels"), f"{source}: notice_channels"),
        console_journal=_journal(
            env.get("WATCHDESK_CONSOLE_JOURNAL") or top.get("console_journal", str, None)
        ),
        feeds=_feeds(raw, source),
        watchlist=_watchlist(raw, source),
        source=source,
    )


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the config file (``--config``, else ``WATCHDESK_CONFIG``, else the checkout's
    ``config/watchdesk.toml``) and overlay the environment."""
    env = os.environ if env is None else env
    candidate = Path(path or env.get("WATCHDESK_CONFIG") or DEFAULT_CONFIG)
    if not candidate.exists():
        raise ConfigError(
            f"config file {candidate} does not exist; pass --config FILE or set WATCHDESK_CONFIG"
        )
    try:
        raw = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{candidate}: cannot be read: {exc}") from exc
    return settings_from_mapping(raw, env, str(candidate))
