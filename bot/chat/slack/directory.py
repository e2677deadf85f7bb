"""Who a Slack user is, as the desk needs it: display name, admin flag, and which of the
configured user groups they belong to — cached, because every command and reply asks.

Costs, and why they are acceptable: one `users.info` per user per `ttl` (scope ``users:read``)
and one `usergroups.users.list` per *configured* user group per `ttl` (scope
``usergroups:read``). Only the groups named in ``[permissions] groups`` (ids starting with
"S") are ever resolved; listing every group of the workspace would cost a call per group. When a
scope is missing the user still gets an `Actor` (name = their user id, no groups, not admin):
permission checks then fall back to user/channel allow-lists, and `watchdesk doctor` names the
missing scope.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.desk.commands import Actor

log = logging.getLogger(__name__)

DEFAULT_TTL = 300.0
T = TypeVar("T")


@dataclass(frozen=True)
class SlackUser:
    user_id: str
    name: str
    is_admin: bool


class SlackDirectory:
    """Builds `Actor`s for Slack users with a small time-bounded cache."""

    def __init__(
        self,
        client: WebClient,
        group_ids: Sequence[str] = (),
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        # Discord role ids share [permissions] groups; Slack user-group ids start with "S".
        self.group_ids = tuple(g for g in group_ids if g.startswith("S"))
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, SlackUser]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._workspace: dict[str, tuple[float, str]] = {}

    def workspace_url(self) -> str | None:
        """The workspace's base URL (``https://team.slack.com/``) from ``auth.test``, for
        message permalinks; None when Slack would not say (links are then left out)."""
        cached = self._fresh(self._workspace, "url")
        if cached is not None:
            return cached or None
        try:
            url = str(self.client.auth_test().get("url") or "")
        except (SlackClientError, OSError) as exc:
            log.warning("auth.test failed (%s); replies carry no message links", exc)
            return None
        with self._lock:
            self._workspace["url"] = (self._clock(), url)
        return url or None

    def actor(self, user_id: str, channel: str, fallback_name: str = "") -> Actor:
        user = self.user(user_id, fallback_name)
        groups = tuple(g for g in self.group_ids if user_id in self.members(g))
        return Actor(
            platform="slack",
            user_id=user_id,
            name=user.name,
            channel=channel,
            groups=groups,
            is_platform_admin=user.is_admin,
        )

    def user(self, user_id: str, fallback_name: str = "") -> SlackUser:
        cached = self._fresh(self._users, user_id)
        if cached is not None:
            return cached
        try:
            info = self.client.users_info(user=user_id)["user"] or {}
        except (SlackClientError, OSError) as exc:
            # Not cached: the next command tries again once the scope or network is back.
            log.warning("users.info failed for %s (%s); using the bare user id", user_id, exc)
            return SlackUser(user_id, fallback_name or user_id, False)
        profile = info.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or info.get("name")
            or fallback_name
            or user_id
        )
        user = SlackUser(user_id, name, bool(info.get("is_admin") or info.get("is_owner")))
        with self._lock:
            self._users[user_id] = (self._clock(), user)
        return user

    def members(self, group_id: str) -> frozenset[str]:
        cached = self._fresh(self._groups, group_id)
        if cached is not None:
            return cached
        try:
            users = self.client.usergroups_users_list(usergroup=group_id).get("users") or []
        except (SlackClientError, OSError) as exc:
            log.warning(
                "usergroups.users.list failed for %s (%s); treating it as empty", group_id, exc
            )
            return frozenset()
        members = frozenset(users)
        with self._lock:
            self._groups[group_id] = (self._clock(), members)
        return members

    def _fresh(self, cache: dict[str, tuple[float, T]], key: str) -> T | None:
        with self._lock:
            entry = cache.get(key)
        if entry is None or self._clock() - entry[0] > self.ttl:
            return None
        return entry[1]
