"""Engine creation, schema upgrades and the schema lock, for SQLite (embedded default) and
Postgres (scale-out).

A URL that points nowhere (an unknown driver, a SQLite file in a folder that does not exist, a
closed Postgres port) is the operator's setting being wrong, so it is one `ConfigError` line
naming ``database_url`` / ``DATABASE_URL`` and the fix, never a traceback. Only `run`, `demo`,
`db upgrade` and the commands that write upgrade the schema (`bot.startup.prepare_store`, under
`schema_lock` so two workers starting together cannot race); the read-only commands call
`require_current`, which changes nothing.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from bot.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SETTING = "database_url (or DATABASE_URL)"
EXAMPLES = "e.g. sqlite:///watchdesk.db or postgresql+psycopg://user@host/db"


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL and a busy timeout so the scheduler thread and chat
    listeners can share one file. Nothing is connected yet."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_folder(parsed)
        engine = _create(url, parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in (
        "psycopg2",
        "psycopg2cffi",
    ):
        raise ConfigError(f"{SETTING}: use postgresql+psycopg:// (psycopg 3, the one installed)")
    return _create(url, parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"{SETTING}: {url!r} is not a database URL; write {EXAMPLES}") from exc


def _create(url: str, parsed: URL, **options: object) -> Engine:
    try:
        return create_engine(url, **options)
    except NoSuchModuleError:
        raise ConfigError(
            f"{SETTING}: {parsed.drivername}:// is not a database Watchdesk knows; write {EXAMPLES}"
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"{SETTING}: the driver for {parsed.drivername}:// is not installed ({exc.name}); "
            f"write {EXAMPLES}"
        ) from None


def _sqlite_file(parsed: URL) -> Path | None:
    """The file a SQLite URL names; None for in-memory databases and ``file:`` URIs."""
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _check_sqlite_folder(parsed: URL) -> None:
    path = _sqlite_file(parsed)
    if path is not None and not path.expanduser().parent.is_dir():
        raise ConfigError(
            f"{SETTING}: the folder {path.parent} for the SQLite file {path.name} does not "
            f"exist; create it, or point the URL at an existing folder"
        )


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid DATABASE_URL>"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def check_reachable(engine: Engine) -> None:
    """Connect once; a server that is down or refuses us is a setting to fix, in one line."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        reason = (str(exc.orig or exc).strip().splitlines() or ["no reason given"])[0]
        raise ConfigError(
            f"{SETTING}: cannot connect to {engine.url.render_as_string(hide_password=True)} "
            f"({reason}); check that the server is up and the URL's host, port, user and "
            f"database name"
        ) from None


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run at every start. Callers that may run
    concurrently hold `schema_lock` around it."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextlib.contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Held while one process upgrades the schema and seeds the store, so two workers
    starting together neither create the same tables twice nor seed twice.

    Postgres: a session advisory lock keyed by the schema in use (desks sharing a server in
    different schemas don't wait for each other). SQLite: an exclusive lock on a file next to
    the database. An in-memory database has only one user."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = zlib.crc32(f"watchdesk-schema:{schema}".encode())
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    path = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    if path is None:
        yield
        return
    import fcntl

    with open(f"{path}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def require_current(engine: Engine) -> None:
    """For read-only commands: the database exists at the schema this code expects, or a
    clear line saying to run ``watchdesk db upgrade``. Creates nothing (not even the file)."""
    path = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    where = engine.url.render_as_string(hide_password=True)
    if path is not None and not path.exists():
        raise ConfigError(
            f"there is no database at {where} yet; run `watchdesk db upgrade` to create it "
            f"(or point {SETTING} at the desk's database)"
        )
    check_reachable(engine)
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = current is None or any(r.revision == current for r in script.walk_revisions())
    if known:
        raise ConfigError(
            f"the database at {where} is at schema {current or '(none)'}, this version needs "
            f"{head}: run `watchdesk db upgrade`"
        )
    raise ConfigError(
        f"the database at {where} is at schema {current}, newer than this version of "
        f"Watchdesk knows ({head}): upgrade Watchdesk"
    )
