"""The service's schedule: every pair runs every ``interval`` seconds (with jitter), or at once.

One asyncio task ticks five times a second. A pair is due when its time came
(the first run of each pair is spread over the first ``jitter`` share of an
interval, so a restart does not start every pair at once) or when a change
notification asked for it (:meth:`Scheduler.trigger`). A due pair starts if
fewer than ``concurrency`` runs are going on; a pair already running is run
once more right after, if a notification came meanwhile. After each run the
next one is planned ``interval`` seconds later, varied by up to ``jitter``
either way, and kept in the store (``next_due``: ``calsync status`` shows it).

Runs go to a :class:`Runner`: :class:`InProcess` syncs in this process's
event loop; the RQ runner (:mod:`calsync.service._queue`) hands each run to
RQ workers. Stopping (:meth:`Scheduler.stop`) starts nothing new and waits up
to ``stop_timeout`` for the runs under way to finish: a run is never cut
between a write and its commit unless that time runs out (then it is
cancelled, and its journal lets the next run complete its writes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from calsync._app._deploy import Deployment
from calsync._errors import CalsyncError, PairLockedError
from calsync.stores._status import StatusStore

__all__ = ["InProcess", "Runner", "Scheduler"]

logger = logging.getLogger("calsync.service")
UTC = timezone.utc
TICK = 0.2


class Runner(Protocol):
    """Where a pair's run happens."""

    async def run(self, pair: str, *, full: bool) -> None:
        """Run (or hand over) one sync of the pair; return when it is done (or handed over)."""

    async def aclose(self) -> None:
        """Release what the runner holds."""


class InProcess:
    """Each run in this process, over the pair's adapters the deployment keeps.

    The adapters live from run to run (one Odoo login per login for the
    service's life, kept clients and connections); the service closes them
    with the deployment when it stops.
    """

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment

    async def run(self, pair: str, *, full: bool) -> None:
        sync = self._deployment.synchronizer(self._deployment.pair(pair))
        try:
            report = await sync.run_async(full=full)
            logger.info("pair %s: %s", pair, report.summary, extra={"calsync_pair": pair})
        except PairLockedError:
            logger.info("pair %s is being synced elsewhere", pair, extra={"calsync_pair": pair})
        except CalsyncError as error:
            logger.warning("pair %s not synced: %s", pair, error, extra={"calsync_pair": pair})

    async def aclose(self) -> None:
        """Close the adapters the deployment kept for the runs."""
        await self._deployment.aclose()


class Scheduler:
    """Keeps every pair of a deployment in sync: a schedule, triggers, a graceful stop."""

    def __init__(
        self,
        deployment: Deployment,
        runner: Runner,
        *,
        interval: float,
        jitter: float,
        concurrency: int,
        on_run: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.deployment = deployment
        self.runner = runner
        self.interval = interval
        self.jitter = jitter
        self._rng = rng or random.Random()  # noqa: S311 (spreading runs, not secrecy)
        self._gate = asyncio.Semaphore(concurrency)
        self._due: dict[str, float] = {}
        self._full: set[str] = set()
        self._again: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._on_run = on_run
        self.stopping = False
        self.runs_started = 0

    @property
    def pairs(self) -> list[str]:
        """The pairs on the schedule."""
        return sorted(self._due)

    @property
    def running(self) -> list[str]:
        """The pairs whose runs are under way."""
        return sorted(self._running)

    def _later(self, now: float) -> float:
        spread = 1 + self._rng.uniform(-self.jitter, self.jitter)
        return now + self.interval * spread

    def plan(self, pairs: list[str]) -> None:
        """Schedule the pairs (new ones within the first ``jitter`` share of an interval)."""
        now = time.monotonic()
        for pair in pairs:
            self._due.setdefault(pair, now + self._rng.uniform(0, self.interval * self.jitter))
        for gone in set(self._due) - set(pairs):
            del self._due[gone]

    def trigger(self, pair: str, *, full: bool = False, why: str = "change notification") -> None:
        """Run the pair as soon as possible (after its current run, if one is under way)."""
        if pair not in self._due:
            logger.warning("%s for unknown pair %s ignored", why, pair)
            return
        logger.info("pair %s: %s: syncing now", pair, why, extra={"calsync_pair": pair})
        if full:
            self._full.add(pair)
        if pair in self._running:
            self._again.add(pair)
        else:
            self._due[pair] = time.monotonic()

    async def run_forever(self) -> None:
        """Tick until :meth:`stop`."""
        while not self.stopping:
            now = time.monotonic()
            for pair, due in sorted(self._due.items(), key=lambda item: item[1]):
                if due <= now and pair not in self._running and not self._gate.locked():
                    self._start(pair)
            await asyncio.sleep(TICK)

    def _start(self, pair: str) -> None:
        full = pair in self._full
        self._full.discard(pair)
        self._due[pair] = float("inf")  # planned again when the run ends
        self.runs_started += 1
        task = asyncio.create_task(self._one(pair, full), name=f"calsync-run-{pair}")
        self._running[pair] = task

    async def _one(self, pair: str, full: bool) -> None:
        async with self._gate:
            logger.info("pair %s: run started", pair, extra={"calsync_pair": pair})
            try:
                await self.runner.run(pair, full=full)
            except Exception:  # one pair's failure never stops the service
                logger.exception("pair %s: the run failed", pair, extra={"calsync_pair": pair})
            finally:
                del self._running[pair]
                now = time.monotonic()
                if pair in self._due:
                    again = pair in self._again
                    self._again.discard(pair)
                    self._due[pair] = now if again else self._later(now)
                    self._save_due(pair, self._due[pair] - now)
                if self._on_run is not None:
                    self._on_run(pair)

    def _save_due(self, pair: str, seconds: float) -> None:
        store = self.deployment.store
        if isinstance(store, StatusStore):
            try:
                store.set_next_due(pair, datetime.now(UTC) + timedelta(seconds=seconds))
            except CalsyncError:
                logger.warning("could not store the next run of %s", pair, exc_info=True)

    async def stop(self, timeout: float) -> int:
        """Start nothing new; wait up to ``timeout`` for the runs under way. Returns how many."""
        self.stopping = True
        tasks = list(self._running.values())
        if tasks:
            logger.info("stopping: waiting for %d runs to finish", len(tasks))
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                logger.warning(
                    "stopping: cancelling the run %s after %ss", task.get_name(), timeout
                )
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        return len(tasks)
