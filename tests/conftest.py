"""Shared fixtures: a migrated store on SQLite, and on Postgres too when
WATCHDESK_TEST_POSTGRES_URL is set (`.ci/run` sets it); paths to ../shared/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store import db
from bot.store.repo import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
POSTGRES_URL = os.environ.get("WATCHDESK_TEST_POSTGRES_URL")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def shared_path(*parts: str) -> Path:
    """A path under ../shared/, or skip: a user's clone has no such folder."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"../shared/{'/'.join(parts)} is absent (it ships only with the team's "
            f"workspace and CI), so this data-driven test cannot run here"
        )
    return path


def _postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip(
            "WATCHDESK_TEST_POSTGRES_URL is not set; .ci/run sets it to the local PostgreSQL"
        )
    schema = f"wd_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'watchdesk.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watchdesk.db'}"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield Store(engine)
    engine.dispose()
