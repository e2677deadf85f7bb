"""The one retry policy and the one Retry-After reader, shared by feeds and every chat sink."""

from __future__ import annotations

import pytest

from bot.errors import RemoteError
from bot.retry import RetryPolicy, retry_after_seconds

POLICY = RetryPolicy(base_s=5, max_s=3600, max_attempts=20)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [POLICY.delay_s(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert POLICY.delay_s(30) == 3600


def test_the_remotes_own_wait_wins_within_the_cap() -> None:
    assert POLICY.delay_s(1, retry_after=42) == 42
    assert POLICY.delay_s(1, retry_after=-3) == 0
    assert POLICY.delay_s(1, retry_after=10**9) == 3600


def test_gives_up_when_told_or_after_plain_failures_but_waits_out_rate_limits() -> None:
    assert POLICY.gives_up(1, RemoteError("gone", permanent=True))
    assert not POLICY.gives_up(19, RemoteError("flaky"))
    assert POLICY.gives_up(20, RemoteError("flaky"))
    assert not POLICY.gives_up(500, RemoteError("slow down", retry_after=60))
    assert POLICY.gives_up(20)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        (["7"], 7.0),
        (2, 2.0),
        (None, None),
        ([], None),
        ("-1", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
        (True, None),
    ],
)
def test_retry_after_values(value: object, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds
