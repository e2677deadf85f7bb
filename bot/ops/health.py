"""`/healthz`: is this worker doing its job? Four checks, each with what it saw:

- process: up (answering at all), its pid and uptime;
- database: a ``SELECT 1`` on the store's engine answers;
- scheduler: the one-second tick ran within ``stall_after_s``, and no poll cycle has been
  running longer than ``cycle_limit_s`` (the poll lease: after that other workers take its
  feeds over, so a cycle that long is stuck);
- platforms: every chat connection this worker started is connected (the console always is).

Healthy (HTTP 200) only when every check passes, else 503 with the failing checks saying why.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from bot.ops.observer import Observer


@dataclass(frozen=True)
class Health:
    healthy: bool
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return 200 if self.healthy else 503

    def document(self) -> dict[str, Any]:
        return {"status": "ok" if self.healthy else "unhealthy", "checks": self.checks}


class HealthCheck:
    """Runs the checks on each request; ``platforms`` answers {platform: connected} now."""

    def __init__(
        self,
        engine: Engine,
        observer: Observer,
        platforms: Callable[[], Mapping[str, bool]],
        *,
        stall_after_s: float,
        cycle_limit_s: float,
    ):
        self.engine = engine
        self.observer = observer
        self.platforms = platforms
        self.stall_after_s = stall_after_s
        self.cycle_limit_s = cycle_limit_s

    def __call__(self) -> Health:
        checks = {
            "process": {
                "ok": True,
                "pid": os.getpid(),
                "uptime_s": round(self.observer.clock() - self.observer.started_at, 1),
            },
            "database": self._database(),
            "scheduler": self._scheduler(),
            "platforms": self._platforms(),
        }
        healthy = all(check["ok"] for name, check in checks.items() if name != "platforms") and all(
            p["ok"] for p in checks["platforms"].values()
        )
        return Health(healthy, checks)

    def _database(self) -> dict[str, Any]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
            return {"ok": False, "error": f"cannot reach the database: {reason}"}
        return {"ok": True}

    def _scheduler(self) -> dict[str, Any]:
        tick_age, cycle_age = self.observer.heartbeat()
        waited = tick_age
        if waited is None:  # not ticked yet: stalled only once it should have
            waited = self.observer.clock() - self.observer.started_at
        check: dict[str, Any] = {
            "ok": True,
            "last_tick_age_s": None if tick_age is None else round(tick_age, 1),
            "stall_after_s": self.stall_after_s,
            "cycle_running_s": None if cycle_age is None else round(cycle_age, 1),
        }
        if waited > self.stall_after_s:
            check["ok"] = False
            check["error"] = (
                "the scheduler has not ticked for "
                f"{waited:.0f}s (more than {self.stall_after_s:g}s)"
            )
        elif cycle_age is not None and cycle_age > self.cycle_limit_s:
            check["ok"] = False
            check["error"] = (
                f"a poll cycle has been running for {cycle_age:.0f}s, longer than the poll "
                f"lease ({self.cycle_limit_s:g}s)"
            )
        return check

    def _platforms(self) -> dict[str, Any]:
        states = {"console": True, **self.platforms()}
        return {
            name: {"ok": bool(up), "state": "connected" if up else "disconnected"}
            for name, up in sorted(states.items())
        }
