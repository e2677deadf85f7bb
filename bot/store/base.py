"""What every repository shares: one engine, short transactions, one clock, the atomic claim.

Each aggregate's repository (`feeds`, `articles`, `alerts`, `outbox`, `watchlist`) subclasses
`Repository`; `bot.store.repo.Store` opens them all on one engine with one clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.schema import utcnow

Clock = Callable[[], datetime]
"""Now, as an aware UTC datetime; injected so tests and the store agree on what "now" is."""

# Bound parameters per IN (…) list: far below SQLite's and Postgres's limits, large enough
# that a feed of a thousand entries is a handful of queries.
IN_CHUNK = 500


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    """``values`` without duplicates, in slices small enough for one IN (…) list."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_CHUNK):
        yield unique[start : start + IN_CHUNK]


class Repository:
    """One aggregate's queries. Every public method is its own short transaction and returns
    plain dataclasses, so no session ever leaks out of the store."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock = utcnow,
        sessions: sessionmaker[Session] | None = None,
    ):
        self.engine = engine
        self.clock = clock
        self._sessions = sessions or sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def _claim(
        self,
        model: Any,
        conditions: list[Any],
        order_by: list[Any],
        limit: int,
        values: dict[str, Any],
    ) -> list[Any]:
        """Take up to ``limit`` rows matching ``conditions`` and set ``values`` on them (a lease)
        in one atomic UPDATE … RETURNING: on SQLite it runs under the write lock, on Postgres the
        subquery's SKIP LOCKED keeps concurrent workers off each other's rows."""
        due = (
            select(model.id)
            .where(*conditions)
            .order_by(*order_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(model)
            .where(model.id.in_(due.scalar_subquery()))
            .values(**values)
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        with self._tx() as s:
            return list(s.scalars(claim))
