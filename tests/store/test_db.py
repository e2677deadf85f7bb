"""`bot.store.db` and `bot.startup`: database URLs that point nowhere are one line naming the
setting and the fix; read-only opening changes nothing; two workers starting together upgrade
and seed exactly once (the schema lock), on SQLite and on Postgres."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.errors import ConfigError
from bot.settings import Settings, settings_from_mapping
from bot.startup import open_store
from bot.store import db
from bot.store.repo import Store
from tests.conftest import REPO

SETTING = "database_url (or DATABASE_URL)"


def desk_settings(database_url: str) -> Settings:
    return settings_from_mapping(
        {
            "database_url": database_url,
            "watch": [{"name": "Lukashenko", "aliases": ["Лукашенко"]}, {"name": "Zapad"}],
            "feeds": [{"url": f"https://news{i}.example.org/rss"} for i in range(5)],
        },
        {},
        "test config",
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------- URLs to nowhere


def test_a_sqlite_file_in_a_missing_folder_names_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'wd.db'}"
    with pytest.raises(ConfigError) as caught:
        db.make_engine(url)
    message = str(caught.value)
    assert message.startswith(f"{SETTING}: the folder {tmp_path / 'no' / 'such'} for the SQLite")
    assert "create it" in message and "\n" not in message
    assert not (tmp_path / "no").exists()


def test_a_closed_postgres_port_names_the_setting_and_hides_the_password() -> None:
    url = f"postgresql+psycopg://wd:s3cret@127.0.0.1:{closed_port()}/watchdesk"
    engine = db.make_engine(url)  # lazy: nothing connects yet
    with pytest.raises(ConfigError) as caught:
        db.check_reachable(engine)
    message = str(caught.value)
    assert message.startswith(f"{SETTING}: cannot connect to postgresql+psycopg://wd:***@127.0.0.1")
    assert "check that the server is up" in message and "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mongodb://127.0.0.1/wd", "mongodb:// is not a database Watchdesk knows"),
        ("sqlite+nosuchdriver:///wd.db", "sqlite+nosuchdriver:// is not a database Watchdesk"),
        ("not a url at all", "'not a url at all' is not a database URL"),
        ("postgresql+psycopg2://u@h/db", "use postgresql+psycopg://"),
    ],
)
def test_an_unknown_driver_names_the_setting(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        db.make_engine(url)
    assert str(caught.value).startswith(f"{SETTING}: ")
    assert expected in str(caught.value)


# ---------------------------------------------------------------------------- read-only opening


def test_read_only_opening_creates_no_file(tmp_path: Path) -> None:
    settings = desk_settings(f"sqlite:///{tmp_path / 'wd.db'}")
    with pytest.raises(ConfigError, match="no database at .* run `watchdesk db upgrade`"):
        open_store(settings, migrate=False)
    assert not (tmp_path / "wd.db").exists()


def test_read_only_opening_of_an_old_schema_says_to_upgrade(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "base")  # reachable, no tables (an SQLite file is created empty)
    with pytest.raises(ConfigError) as caught:
        open_store(desk_settings(database_url), migrate=False)
    assert "is at schema (none), this version needs" in str(caught.value)
    assert "run `watchdesk db upgrade`" in str(caught.value)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}  # nothing migrated
    engine.dispose()


def test_read_only_opening_neither_migrates_nor_seeds(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    engine.dispose()
    store = open_store(desk_settings(database_url), migrate=False)
    assert store.feeds.list_feeds() == [] and store.watchlist.active_entities() == []
    store.engine.dispose()
    migrated = open_store(desk_settings(database_url), migrate=True)
    assert len(migrated.feeds.list_feeds()) == 5 and len(migrated.watchlist.active_entities()) == 2
    migrated.engine.dispose()


# ---------------------------------------------------------------------------- the schema lock


WORKER = """
import pathlib, sys, time
from bot.startup import prepare_store
from bot.store import db
from bot.store.repo import Store
from tests.store.test_db import desk_settings

url, ready, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
store = Store(db.make_engine(url))
ready.touch()
while not go.exists():
    time.sleep(0.005)
prepare_store(store, desk_settings(url))
"""


def test_workers_starting_together_upgrade_and_seed_once(database_url: str, tmp_path: Path) -> None:
    """Four worker processes, everything imported, start upgrading an empty database at the
    same instant; without the lock they race on CREATE TABLE and on seeding (a unique
    violation, or feeds seeded twice)."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url, str(tmp_path / f"ready{i}"), str(go)],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    try:
        deadline = time.monotonic() + 240
        while not all((tmp_path / f"ready{i}").exists() for i in range(4)):
            assert time.monotonic() < deadline, "the workers never got ready"
            assert all(w.poll() is None for w in workers), [w.stderr.read() for w in workers]
            time.sleep(0.05)
        go.touch()
        results = [(w.wait(timeout=240), w.stderr.read()) for w in workers]
    finally:
        for worker in workers:
            worker.kill() if worker.poll() is None else None
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-1500:] for _, err in results]
    store = Store(db.make_engine(database_url))
    assert sorted(f.url for f in store.feeds.list_feeds()) == [
        f"https://news{i}.example.org/rss" for i in range(5)
    ]
    assert [e.name for e in store.watchlist.active_entities()] == ["Lukashenko", "Zapad"]
    assert db.current_revision(store.engine) == db.head_revision()
    store.engine.dispose()
