"""calsync's own retry policy, shared by the provider adapters.

Providers' SDKs retry on their own (msgraph-sdk re-sends every method, POST
included, on 429/503/504); calsync turns that off and decides here instead:

- a bounded number of attempts (``attempts``, the first one included) and a
  total time budget (``budget`` seconds, sleeping included): whichever runs
  out first ends the retries;
- when the provider says how long to wait (``Retry-After``, in seconds or as
  an HTTP date), that wait is honoured, capped at ``max_delay``; a wait that
  would overrun the budget ends the retries at once instead of sleeping;
- otherwise exponential backoff with full jitter: a random wait between 0 and
  ``base_delay * 2 ** (attempt - 1)``, capped at ``max_delay``.

Which failures are worth another attempt is the caller's business (an adapter
knows that a POST is safe to repeat only when it is idempotent); this module
only counts, waits and gives up. ``sleep``, ``clock`` and ``random`` are
injectable so tests run without waiting.

Usage::

    attempt = policy.begin()
    while True:
        try:
            return await send()
        except TransientError as error:
            delay = attempt.next_delay(error.retry_after)
            if delay is None:
                raise
            await policy.sleep(delay)
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["Attempt", "RetryPolicy", "parse_retry_after"]

Sleep = Callable[[float], Awaitable[None]]


def _check_positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value!r}")


def _check_not_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value!r}")


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry a failed provider request.

    ``attempts`` counts every try, the first included (1 disables retries).
    ``budget`` bounds the seconds spent on one request, waits included.
    ``max_delay`` caps each wait, ``Retry-After`` included.
    """

    attempts: int = attrs.field(default=5, validator=_check_positive)
    base_delay: float = attrs.field(default=0.5, validator=_check_not_negative)
    max_delay: float = attrs.field(default=30.0, validator=_check_not_negative)
    budget: float = attrs.field(default=120.0, validator=_check_not_negative)
    sleep: Sleep = attrs.field(default=asyncio.sleep, eq=False, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, eq=False, repr=False)
    random: Callable[[], float] = attrs.field(default=_random.random, eq=False, repr=False)

    def begin(self) -> Attempt:
        """Start counting the attempts of one request."""
        return Attempt(self, self.clock())

    def backoff(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (1 for the first retry)."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return ceiling * float(self.random())


@attrs.define
class Attempt:
    """The attempts made so far for one request under a :class:`RetryPolicy`."""

    policy: RetryPolicy
    started: float
    tries: int = 1
    waited: float = 0.0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """How long to wait before trying again; None when the policy says stop.

        ``retry_after`` is the provider's own wait in seconds, if it gave one.
        """
        policy = self.policy
        if self.tries >= policy.attempts:
            return None
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), policy.max_delay)
        else:
            delay = policy.backoff(self.tries)
        elapsed = policy.clock() - self.started
        if elapsed + delay > policy.budget:
            return None
        self.tries += 1
        self.waited += delay
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    None when the header is missing or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    moment = now or datetime.now(timezone.utc)
    return max((when - moment).total_seconds(), 0.0)
