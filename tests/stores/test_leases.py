"""Pair leases held by real runs in real processes: renewed while held, fenced at commit.

Each run is a :class:`~calsync.Synchronizer` over memory calendars in its own
process (multiprocessing, spawned), sharing one store; the store's lease is
one second, far shorter than the run that holds it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from calsync import PairLockedError, Synchronizer, Window
from calsync.adapters import Listing
from calsync.adapters.memory import MemoryCalendar
from calsync.model import Event
from calsync.stores import MappingStore, SQLiteStore

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event as Flag

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
LEASE = 1.0
CONTEXT = multiprocessing.get_context("spawn")


class SlowCalendar(MemoryCalendar):
    """A memory calendar whose listing takes ``delay`` seconds, telling ``pulling`` it began."""

    def __init__(self, name: str, delay: float, pulling: Flag | None) -> None:
        super().__init__(name)
        self.delay, self.pulling = delay, pulling

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        if self.pulling is not None:
            self.pulling.set()
        await asyncio.sleep(self.delay)
        return await super().pull(cursor, window)


def open_store(url: str) -> MappingStore:
    if url.startswith("sqlite-file:"):
        store: Any = SQLiteStore(url.removeprefix("sqlite-file:"))
    else:
        from calsync.stores import SQLStore

        store = SQLStore(url)
    store.lease_seconds = LEASE
    return store


def run_pair(
    url: str, title: str, delay: float, pulling: Flag | None, go: Flag, results: Queue[str]
) -> None:
    """One worker: once ``go`` is set, sync pair "p" (odoo holds ``title``); report the outcome."""
    store = open_store(url)
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    odoo = SlowCalendar("odoo", delay, pulling)
    odoo.add(Event(title, start, start + timedelta(hours=1)))
    go.wait(60)
    sync = Synchronizer(odoo, MemoryCalendar("outlook"), store, pair="p", window=WINDOW)
    try:
        report = sync.run()
        results.put(f"{title}: ok, {len(report.outcomes)} operations")
    except PairLockedError as error:
        results.put(f"{title}: PairLockedError: {error}")
    finally:
        sync.close()
        store.close()


class Worker:
    """A worker process, started ahead (its imports done), that syncs when told to."""

    def __init__(self, url: str, title: str, delay: float = 0.0) -> None:
        self.title = title
        self.pulling, self.go = CONTEXT.Event(), CONTEXT.Event()
        self.results: Queue[str] = CONTEXT.Queue()
        self.process = CONTEXT.Process(
            target=run_pair, args=(url, title, delay, self.pulling, self.go, self.results)
        )
        self.process.start()

    def start_sync(self) -> None:
        self.go.set()

    def outcome(self, timeout: float = 60) -> str:
        found = self.results.get(timeout=timeout)
        self.process.join(10)
        return found

    def stop(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGCONT)  # type: ignore[arg-type]
            self.process.kill()
        self.process.join(10)


@pytest.fixture(params=["sqlite", "sql-sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The shared store: SQLiteStore, or SQLStore on SQLite (lease rows both)."""
    if request.param == "sqlite":
        return f"sqlite-file:{tmp_path / 'state.sqlite3'}"
    return f"sqlite:///{tmp_path / 'sql.sqlite3'}"


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def test_a_run_longer_than_its_lease_keeps_the_pair(url: str, workers: list[Worker]) -> None:
    """Run A lasts 4 s with a 1 s lease; run B, 1.5 s in, is refused; after A, B runs."""
    a, b = Worker(url, "A", delay=4.0), Worker(url, "B")
    workers += [a, b]
    a.start_sync()
    assert a.pulling.wait(60), "run A did not start"
    time.sleep(1.5 * LEASE)
    b.start_sync()
    refused = b.outcome()
    assert refused.startswith("B: PairLockedError: another run holds this pair"), refused
    assert a.outcome() == "A: ok, 1 operations"
    again = Worker(url, "B")
    workers.append(again)
    again.start_sync()
    assert again.outcome().startswith("B: ok"), "the pair is free once A is done"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP")
def test_a_run_that_lost_its_lease_commits_nothing(url: str, workers: list[Worker]) -> None:
    """Run A is stopped longer than its lease; run B takes the pair and commits; A, resumed,
    is refused before it journals or writes anything, and B's state stands."""
    a, b = Worker(url, "A", delay=1.0), Worker(url, "B")
    workers += [a, b]
    a.start_sync()
    assert a.pulling.wait(60), "run A did not start"
    os.kill(a.process.pid, signal.SIGSTOP)  # type: ignore[arg-type]
    time.sleep(2 * LEASE)  # A can renew nothing: its lease runs out
    b.start_sync()
    assert b.outcome() == "B: ok, 1 operations"
    os.kill(a.process.pid, signal.SIGCONT)  # type: ignore[arg-type]
    lost = a.outcome()
    assert lost.startswith("A: PairLockedError: this run lost the pair"), lost
    store = open_store(url)
    try:
        state = store.load("p")
        assert [link.base.title for link in state.links] == ["B"]
        assert state.pending == (), "A journaled nothing"
    finally:
        store.close()


def test_postgresql_fences_a_run_whose_lock_connection_dropped(postgres_url: str) -> None:
    """A dropped lock connection releases the advisory lock: the run holding it may not commit."""
    from sqlalchemy import create_engine, text

    from calsync.stores import SQLStore

    first, second = SQLStore(postgres_url), SQLStore(postgres_url)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with first.lock("p"):
            holder = first._advisory.holder("p")  # type: ignore[union-attr]
            assert holder is not None
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), holder)
            with second.lock("p", timeout=5):  # another worker takes the released pair
                second.commit("p", links={}, cursors={"odoo": "second"}, done=(), held=())
            with pytest.raises(PairLockedError, match="lost the pair"):
                first.commit("p", links={}, cursors={"odoo": "first"}, done=(), held=())
        assert first.load("p").cursors == {"odoo": "second"}
        with first.lock("p"):  # a new lock connection: the store works on
            first.commit("p", links={}, cursors={"odoo": "again"}, done=(), held=())
        assert second.load("p").cursors == {"odoo": "again"}
    finally:
        admin.dispose()
        first.close()
        second.close()
