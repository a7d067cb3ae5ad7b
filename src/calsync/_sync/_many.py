"""Many pairs in one process: :func:`sync_many` and :func:`sync_many_async`.

One event loop runs up to ``concurrency`` pairs at once. Each pair's run is
its own: an error (a side down, a guard, a pair locked by another worker)
becomes that pair's :class:`PairOutcome` and the others go on. Graph's
limits hold across pairs: adapters that accept a shared limiter (the
Outlook adapter's ``limiter``) and have none get one
:class:`~calsync.ConcurrencyLimiter` for the run, keyed by mailbox, so two
pairs on one mailbox share its 4 slots; ``app_concurrency`` caps the
requests in flight across all mailboxes. Odoo's adapters keep their own
limiter, per server for the whole process
(:data:`~calsync.adapters.odoo.SERVER_LIMITER`). Past one machine, run each pair as
a task of a queue instead (``examples/worker_rq.py``). The library schedules
nothing: the caller decides when (``calsync serve``, an optional extra, runs
pairs on an interval).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from calsync import _arguments as checks
from calsync._blocking import run_blocking
from calsync._errors import ConfigurationError, PairLockedError
from calsync._limits import ConcurrencyLimiter
from calsync._sync._report import SyncReport
from calsync._sync._synchronizer import Synchronizer

__all__ = [
    "APP_REQUESTS_IN_FLIGHT",
    "MAILBOX_REQUESTS_IN_FLIGHT",
    "PAIRS_AT_ONCE",
    "PairOutcome",
    "sync_many",
    "sync_many_async",
]

logger = logging.getLogger("calsync.sync")
#: Pairs in flight by default. Each service has its own ceiling (Graph's per mailbox and
#: across mailboxes, Odoo's per server), so this bounds the memory of the runs under way.
PAIRS_AT_ONCE = 32
#: Graph requests in flight across mailboxes by default. Graph allows 2,000 requests a
#: second per app: at its usual 100 ms or more per request, 128 at once stay within it.
APP_REQUESTS_IN_FLIGHT = 128
#: Outlook's concurrent requests per mailbox (graph.md, "Limits and errors").
MAILBOX_REQUESTS_IN_FLIGHT = 4


@attrs.frozen
class PairOutcome:
    """How one pair's run in :func:`sync_many` went.

    ``report`` is the run's :class:`~calsync.SyncReport` when it ran to the
    end (its ``ok`` may still be False: failed writes are held for the next
    run); ``error`` the exception that stopped it otherwise. ``duration`` is
    the wall time of the run, waiting for a slot excluded.
    """

    pair: str
    report: SyncReport | None = None
    error: Exception | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the run finished and its report is ok."""
        return self.error is None and self.report is not None and self.report.ok

    @property
    def locked(self) -> bool:
        """True when another worker held the pair: nothing was done, try again later."""
        return isinstance(self.error, PairLockedError)

    def __str__(self) -> str:
        if self.report is not None:
            return f"{self.pair}: {self.report.summary}"
        return f"{self.pair}: {type(self.error).__name__}: {self.error}"


Progress = Callable[[PairOutcome], None]


def _synchronizers(given: Iterable[Synchronizer]) -> list[Synchronizer]:
    """The synchronizers given, each checked to be one."""
    items = list(given)
    for item in items:
        checks.instance("each of synchronizers", item, Synchronizer)
    return items


@contextmanager
def _shared_limiter(
    synchronizers: Sequence[Synchronizer], limiter: ConcurrencyLimiter
) -> Iterator[None]:
    """Give ``limiter`` to every adapter that takes one and has none, for the block."""
    lent: list[Any] = []
    for sync in synchronizers:
        for side in sync.sides:
            takes = hasattr(side, "limiter") and getattr(side, "limiter", None) is None
            if takes and not any(side is other for other in lent):
                setattr(side, "limiter", limiter)  # noqa: B010 (not every adapter has it)
                lent.append(side)
    try:
        yield
    finally:
        for side in lent:
            setattr(side, "limiter", None)  # noqa: B010


async def sync_many_async(
    synchronizers: Iterable[Synchronizer],
    *,
    concurrency: int = PAIRS_AT_ONCE,
    per_mailbox: int = MAILBOX_REQUESTS_IN_FLIGHT,
    app_concurrency: int | None = APP_REQUESTS_IN_FLIGHT,
    limiter: ConcurrencyLimiter | None = None,
    full: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> list[PairOutcome]:
    """Run every synchronizer once, ``concurrency`` at a time; outcomes in input order.

    ``per_mailbox`` and ``app_concurrency`` build the shared limiter (Graph:
    4 requests per mailbox; at most 128 across mailboxes by default, None
    for no ceiling across them); pass ``limiter`` instead to share one
    across calls or processes' threads. Adapters given a limiter of their own
    keep it. ``full`` runs each pair with a full listing
    (:meth:`Synchronizer.run_async`). ``timeout`` (seconds) stops a pair
    that runs longer, as a :class:`TimeoutError` outcome: its writes so far
    are journaled and the next run completes them. ``progress`` is called
    with each outcome as its pair finishes (in completion order).

    Never raises for one pair: every exception (an :class:`Exception`, not
    a cancellation) is that pair's outcome. Two synchronizers of the same
    pair in one call are refused (:class:`~calsync.ConfigurationError`).
    """
    items = _synchronizers(synchronizers)
    checks.count("concurrency", concurrency)
    if timeout is not None:
        checks.seconds("timeout", timeout)
    names = [sync.pair for sync in items]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ConfigurationError(f"pairs given more than once: {twice}")
    shared = (
        checks.instance("limiter", limiter, ConcurrencyLimiter)
        if limiter is not None
        else ConcurrencyLimiter(per_mailbox, total=app_concurrency)
    )
    gate = asyncio.Semaphore(concurrency)

    async def one(sync: Synchronizer) -> PairOutcome:
        async with gate:
            started = time.monotonic()
            try:
                run = sync.run_async(full=full)
                report = await (run if timeout is None else asyncio.wait_for(run, timeout))
            except Exception as error:  # one pair's failure is its outcome
                outcome = PairOutcome(sync.pair, error=error, duration=time.monotonic() - started)
                level = logging.INFO if outcome.locked else logging.WARNING
                logger.log(level, "pair not synced: %s", outcome, extra={"calsync_pair": sync.pair})
            else:
                outcome = PairOutcome(sync.pair, report, duration=time.monotonic() - started)
        if progress is not None:
            try:
                progress(outcome)
            except Exception:  # a broken callback must not cost the other pairs their runs
                logger.exception("the progress callback failed", extra={"calsync_pair": sync.pair})
        return outcome

    with _shared_limiter(items, shared):
        return list(await asyncio.gather(*(one(sync) for sync in items)))


def sync_many(
    synchronizers: Iterable[Synchronizer],
    *,
    concurrency: int = PAIRS_AT_ONCE,
    per_mailbox: int = MAILBOX_REQUESTS_IN_FLIGHT,
    app_concurrency: int | None = APP_REQUESTS_IN_FLIGHT,
    limiter: ConcurrencyLimiter | None = None,
    full: bool = False,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> list[PairOutcome]:
    """Blocking :func:`sync_many_async`, on this thread's event loop.

    The loop stays open between calls (see :mod:`calsync._blocking`): the same
    synchronizers run again later keep their sessions and connections, so a
    round of many pairs costs no login and no new clients. Close them
    (:meth:`Synchronizer.close`) when done. Inside a running event loop,
    await :func:`sync_many_async` instead.
    """
    items = _synchronizers(synchronizers)
    return run_blocking(
        sync_many_async(
            items,
            concurrency=concurrency,
            per_mailbox=per_mailbox,
            app_concurrency=app_concurrency,
            limiter=limiter,
            full=full,
            timeout=timeout,
            progress=progress,
        ),
        "sync_many_async()",
    )
