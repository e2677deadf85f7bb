"""The watchlist aggregate: watched entities with their aliases, exclusions and routes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Entity
from bot.store.base import Repository
from bot.store.schema import WatchEntityRow


class WatchlistRepository(Repository):
    def seed_watchlist(self, entities: Sequence[Entity]) -> int:
        """Insert config entities the store has never seen; ones users removed stay removed."""
        added = 0
        with self._tx() as s:
            known = {n.casefold() for n in s.scalars(select(WatchEntityRow.name))}
            for e in entities:
                if e.name.casefold() in known:
                    continue
                s.add(
                    WatchEntityRow(
                        name=e.name,
                        aliases=list(e.aliases),
                        exclusions=list(e.exclusions),
                        channels=list(e.channels),
                        origin="config",
                        added_by="config",
                        created_at=self.clock(),
                    )
                )
                added += 1
        return added

    def active_entities(self) -> list[Entity]:
        with self._tx() as s:
            rows = s.scalars(
                select(WatchEntityRow)
                .where(WatchEntityRow.removed_at.is_(None))
                .order_by(WatchEntityRow.id)
            )
            return [
                Entity(r.name, tuple(r.aliases), tuple(r.exclusions), tuple(r.channels))
                for r in rows
            ]

    def upsert_entity(self, entity: Entity, added_by: str) -> bool:
        """Add or re-activate a watched entity (merging aliases); True when it was new. A name
        that is already an entity's name or alias (any case, any script's casing) is that one."""
        with self._tx() as s:
            row = self._entity_named(s, entity.name)
            if row is None:
                s.add(
                    WatchEntityRow(
                        name=entity.name,
                        aliases=list(entity.aliases),
                        exclusions=list(entity.exclusions),
                        channels=list(entity.channels),
                        origin="chat",
                        added_by=added_by,
                        created_at=self.clock(),
                    )
                )
                return True
            was_removed = row.removed_at is not None
            row.aliases = list(dict.fromkeys([*(row.aliases or []), *entity.aliases]))
            row.channels = list(dict.fromkeys([*(row.channels or []), *entity.channels]))
            row.removed_at = None
            return was_removed

    @staticmethod
    def _entity_named(s: Session, name: str) -> WatchEntityRow | None:
        folded = name.casefold()
        rows = list(
            s.scalars(
                select(WatchEntityRow).order_by(
                    WatchEntityRow.removed_at.is_not(None), WatchEntityRow.id
                )
            )
        )
        for row in rows:
            if row.name.casefold() == folded or folded in {a.casefold() for a in row.aliases}:
                return row
        return None

    def update_entity(
        self,
        name: str,
        *,
        aliases: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> bool:
        """Replace the aliases and/or channels of the active entity called ``name`` (its name,
        any case); False when there is none."""
        folded = name.casefold()
        with self._tx() as s:
            for row in s.scalars(select(WatchEntityRow).where(WatchEntityRow.removed_at.is_(None))):
                if row.name.casefold() == folded:
                    if aliases is not None:
                        row.aliases = list(aliases)
                    if channels is not None:
                        row.channels = list(channels)
                    return True
        return False

    def remove_entity(self, name: str) -> str | None:
        """Remove by name or alias (case-insensitive); returns the removed entity's name."""
        folded = name.casefold()
        with self._tx() as s:
            for row in s.scalars(select(WatchEntityRow).where(WatchEntityRow.removed_at.is_(None))):
                if row.name.casefold() == folded or folded in {a.casefold() for a in row.aliases}:
                    row.removed_at = self.clock()
                    return row.name
        return None
