"""calsync._retry: attempts, budget, Retry-After and backoff."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from calsync._retry import RetryPolicy, parse_retry_after


def test_retry_after_in_seconds_and_as_a_date() -> None:
    now = datetime(2027, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Fri, 01 Jan 2027 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 01 Jan 2027 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_attempts_are_bounded() -> None:
    attempt = RetryPolicy(attempts=3, random=lambda: 1.0, base_delay=1).begin()
    assert attempt.next_delay() == 1.0
    assert attempt.next_delay() == 2.0  # exponential
    assert attempt.next_delay() is None


def test_retry_after_is_honoured_and_capped() -> None:
    attempt = RetryPolicy(max_delay=10).begin()
    assert attempt.next_delay(4) == 4
    assert attempt.next_delay(600) == 10


def test_the_budget_ends_retries() -> None:
    now = [0.0]
    policy = RetryPolicy(attempts=10, budget=5, clock=lambda: now[0])
    attempt = policy.begin()
    assert attempt.next_delay(3) == 3
    now[0] = 3.0
    assert attempt.next_delay(3) is None  # 3 + 3 > 5


def test_jitter_stays_under_the_ceiling() -> None:
    policy = RetryPolicy(base_delay=2, max_delay=5, random=lambda: 0.999)
    assert policy.backoff(1) < 2
    assert policy.backoff(10) < 5


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
