"""``ConcurrencyLimiter``: permits per key, with an optional ceiling across keys.

Microsoft Graph allows 4 concurrent requests per app and mailbox, and a
lower app-wide ceiling applies when many mailboxes share one app
registration. Pairs sharing a mailbox (two calendars of one user) must
therefore share its 4 slots, whichever adapter sends the request: the
adapters of those pairs hold one limiter between them and key their
requests by mailbox.

Semantics:

- :meth:`~ConcurrencyLimiter.acquire` takes ``count`` permits of ``key`` at
  once (a Graph ``$batch`` takes as many as Outlook runs of it in parallel,
  up to 4), clamped to what one key and the total may ever hold, so a
  request never waits forever;
- a key's waiters are served in arrival order (a waiting batch is not
  overtaken by later single requests of that key); when permits come
  back, waiters are woken in arrival order across keys;
- the limiter is thread-safe and not tied to an event loop: waiters of
  different loops and threads (workers of one process each running their
  own loop) share it, each woken in its own loop; a waiter whose loop was
  closed under it is dropped, its permits going to the next (a limiter
  shared for a process's life must not lose them).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

import attrs

from calsync import _arguments as checks

__all__ = ["ConcurrencyLimiter"]


@attrs.define(eq=False)
class _Waiter:
    key: Hashable
    count: int
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    granted: bool = False


class ConcurrencyLimiter:
    """At most ``per_key`` permits in use per key and at most ``total`` across all keys.

    ``total`` None means no ceiling across keys. Use it as::

        limiter = ConcurrencyLimiter(per_key=4, total=16)
        async with limiter.slot(("graph", "alice@example.com")):
            ...  # one request to Alice's mailbox

    :meth:`peak` reports the most permits ever held at once (per key, or in
    all), which is how a run shows that it stayed within Graph's limits.
    """

    def __init__(self, per_key: int = 4, *, total: int | None = None) -> None:
        self.per_key = checks.count("per_key", per_key)
        self.total = None if total is None else checks.count("total", total)
        self._lock = threading.Lock()
        self._used: dict[Hashable, int] = {}
        self._all = 0
        self._peaks: dict[Hashable, int] = {}
        self._peak_all = 0
        self._waiters: deque[_Waiter] = deque()

    def __repr__(self) -> str:
        return f"ConcurrencyLimiter(per_key={self.per_key}, total={self.total})"

    # -- accounting (under self._lock) ------------------------------------------------

    def _clamp(self, count: int) -> int:
        ceiling = self.per_key if self.total is None else min(self.per_key, self.total)
        return max(1, min(count, ceiling))

    def _fits_key(self, key: Hashable, count: int) -> bool:
        return self._used.get(key, 0) + count <= self.per_key

    def _fits_total(self, count: int) -> bool:
        return self.total is None or self._all + count <= self.total

    def _take(self, key: Hashable, count: int) -> None:
        used = self._used.get(key, 0) + count
        self._used[key] = used
        self._all += count
        self._peaks[key] = max(self._peaks.get(key, 0), used)
        self._peak_all = max(self._peak_all, self._all)

    def _give(self, key: Hashable, count: int) -> None:
        used = self._used.get(key, 0) - count
        if used > 0:
            self._used[key] = used
        else:
            self._used.pop(key, None)
        self._all -= count

    def _wake(self) -> None:
        """Grant waiters in order while they fit (see the module docstring for fairness)."""
        blocked: set[Hashable] = set()
        for waiter in list(self._waiters):
            if waiter.key in blocked:
                continue
            if not self._fits_total(waiter.count):
                return
            if not self._fits_key(waiter.key, waiter.count):
                blocked.add(waiter.key)
                continue
            self._waiters.remove(waiter)
            try:
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
            except RuntimeError:  # its loop was closed with it waiting: nobody to grant
                continue
            self._take(waiter.key, waiter.count)
            waiter.granted = True

    # -- API ------------------------------------------------------------------------

    async def acquire(self, key: Hashable, count: int = 1) -> int:
        """Wait for ``count`` permits of ``key``; returns the number taken (clamped)."""
        count = self._clamp(count)
        loop = asyncio.get_running_loop()
        with self._lock:
            queued = any(w.key == key for w in self._waiters) or (
                self.total is not None and bool(self._waiters) and not self._fits_total(count)
            )
            if not queued and self._fits_key(key, count) and self._fits_total(count):
                self._take(key, count)
                return count
            waiter = _Waiter(key, count, loop.create_future(), loop)
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:
                    self._give(key, count)
                    self._wake()
                else:
                    if waiter in self._waiters:  # else dropped: its loop was closed
                        self._waiters.remove(waiter)
                    self._wake()  # later waiters of this key may fit now
            raise
        return count

    def release(self, key: Hashable, count: int = 1) -> None:
        """Give back permits taken by :meth:`acquire` (the count it returned)."""
        with self._lock:
            self._give(key, count)
            self._wake()

    @asynccontextmanager
    async def slot(self, key: Hashable, count: int = 1) -> AsyncIterator[int]:
        """Hold ``count`` permits of ``key`` for the ``async with`` block."""
        taken = await self.acquire(key, count)
        try:
            yield taken
        finally:
            self.release(key, taken)

    def in_use(self, key: Hashable | None = None) -> int:
        """Permits held now for ``key`` (all keys when None)."""
        with self._lock:
            return self._all if key is None else self._used.get(key, 0)

    def peak(self, key: Hashable | None = None) -> int:
        """The most permits held at once for ``key`` (all keys when None)."""
        with self._lock:
            return self._peak_all if key is None else self._peaks.get(key, 0)

    def peaks(self) -> dict[Hashable, int]:
        """The peak of every key seen so far."""
        with self._lock:
            return dict(self._peaks)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
