"""Many pairs in one process: the shared limiter, and sync_many's isolation and limits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import calsync
from calsync import ConcurrencyLimiter, PairOutcome, Synchronizer, sync_many, sync_many_async
from calsync.adapters.memory import MemoryCalendar
from calsync.adapters.outlook import OutlookCalendar
from calsync.model import Event
from calsync.stores import MemoryStore, SQLiteStore
from calsync.testing import GraphEmulator, OdooEmulator
from tests.adapters.outlook_support import WINDOW, make_adapter, user_body
from tests.scale_support import add_pairs, seed

UTC = timezone.utc


def event(title: str, day: int) -> Event:
    start = datetime(2027, 5, day, 9, tzinfo=UTC)
    return Event(title, start, start + timedelta(hours=1), timezone="Europe/Paris")


# -- the limiter ------------------------------------------------------------------------------


def test_limiter_caps_each_key_and_the_total() -> None:
    limiter = ConcurrencyLimiter(per_key=2, total=3)
    running: dict[str, int] = {"a": 0, "b": 0}
    peaks: dict[str, int] = {"a": 0, "b": 0, "all": 0}

    async def work(key: str) -> None:
        async with limiter.slot(key):
            running[key] += 1
            peaks[key] = max(peaks[key], running[key])
            peaks["all"] = max(peaks["all"], sum(running.values()))
            await asyncio.sleep(0.01)
            running[key] -= 1

    async def main() -> None:
        await asyncio.gather(*(work(k) for k in "ab" * 10))

    asyncio.run(main())
    assert peaks == {"a": 2, "b": 2, "all": 3}
    assert limiter.peak("a") == 2
    assert limiter.peak() == 3
    assert limiter.in_use() == 0


def test_limiter_clamps_a_large_request_and_keeps_order_within_a_key() -> None:
    limiter = ConcurrencyLimiter(per_key=4)
    order: list[str] = []

    async def main() -> None:
        first = await limiter.acquire("m", 3)
        batch = asyncio.create_task(limiter.acquire("m", 9))  # clamped to 4: waits for all
        await asyncio.sleep(0)
        single = asyncio.create_task(limiter.acquire("m", 1))  # fits, but queued behind batch
        await asyncio.sleep(0.01)
        assert not batch.done()
        assert not single.done()
        batch.add_done_callback(lambda _: order.append("batch"))
        single.add_done_callback(lambda _: order.append("single"))
        limiter.release("m", first)
        assert await batch == 4
        limiter.release("m", 4)
        assert await single == 1
        limiter.release("m", 1)

    asyncio.run(main())
    assert order == ["batch", "single"]
    assert limiter.in_use("m") == 0


def test_a_cancelled_waiter_gives_nothing_away_and_blocks_no_one() -> None:
    limiter = ConcurrencyLimiter(per_key=1)

    async def main() -> None:
        await limiter.acquire("k")
        waiter = asyncio.create_task(limiter.acquire("k"))
        later = asyncio.create_task(limiter.acquire("k"))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        limiter.release("k")
        assert await later == 1
        limiter.release("k")

    asyncio.run(main())
    assert limiter.in_use() == 0


def test_limiter_is_shared_by_event_loops_in_threads() -> None:
    limiter = ConcurrencyLimiter(per_key=2)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    async def work() -> None:
        async with limiter.slot("mailbox"):
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0.005)
            with lock:
                state["now"] -= 1

    def thread() -> None:
        async def main() -> None:
            await asyncio.gather(*(work() for _ in range(10)))

        asyncio.run(main())

    threads = [threading.Thread(target=thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert state["peak"] == 2
    assert limiter.in_use() == 0


def test_a_waiter_whose_loop_was_closed_gives_its_turn_away() -> None:
    """A limiter shared for a process's life (the Odoo transports' default) must not lose
    permits to a thread whose loop was closed while it waited."""
    limiter = ConcurrencyLimiter(per_key=1)
    asyncio.run(limiter.acquire("k"))  # held: the next ones wait
    abandoned = asyncio.new_event_loop()
    waiter = abandoned.create_task(limiter.acquire("k"))
    abandoned.run_until_complete(asyncio.sleep(0.01))  # it waits now
    abandoned.close()
    assert not waiter.done()

    async def next_one() -> None:
        waiting = asyncio.ensure_future(limiter.acquire("k"))
        await asyncio.sleep(0.01)
        limiter.release("k")
        assert await asyncio.wait_for(waiting, 1) == 1

    asyncio.run(next_one())
    assert limiter.in_use("k") == 1


def test_limiter_refuses_nonsense() -> None:
    with pytest.raises(calsync.ConfigurationError):
        ConcurrencyLimiter(per_key=0)
    with pytest.raises(calsync.ConfigurationError):
        ConcurrencyLimiter(total=0)


# -- sync_many on memory calendars ------------------------------------------------------------


def memory_pairs(count: int, store: calsync.stores.MappingStore) -> list[Synchronizer]:
    pairs = []
    for n in range(count):
        left = MemoryCalendar("odoo", account=f"user{n}@example.com")
        right = MemoryCalendar("outlook", account=f"user{n}@example.com")
        left.add(event(f"Odoo {n}", 3))
        right.add(event(f"Outlook {n}", 4))
        pairs.append(Synchronizer(left, right, store, pair=f"pair-{n}", window=WINDOW))
    return pairs


def titles(calendar: calsync.adapters.CalendarAdapter) -> set[str]:
    assert isinstance(calendar, MemoryCalendar)
    return {item.event.title for item in calendar.events}


def test_sync_many_isolates_failures_and_keeps_the_input_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.sqlite3")
    pairs = memory_pairs(12, store)
    broken = pairs[3].left
    assert isinstance(broken, MemoryCalendar)
    broken.fail_next_pull(calsync.TransientError("Odoo is down"))
    seen: list[PairOutcome] = []
    with store.lock("pair-7"):  # another worker has this one
        outcomes = sync_many(pairs, concurrency=4, progress=seen.append)
    assert [o.pair for o in outcomes] == [f"pair-{n}" for n in range(12)]
    assert sorted(o.pair for o in seen) == sorted(o.pair for o in outcomes)
    assert isinstance(outcomes[3].error, calsync.SideUnavailableError)
    assert outcomes[7].locked
    assert outcomes[7].report is None
    assert not outcomes[3].ok
    assert "SideUnavailableError" in str(outcomes[3])
    for n, outcome in enumerate(outcomes):
        if n in (3, 7):
            continue
        assert outcome.ok, outcome
        assert titles(pairs[n].left) == titles(pairs[n].right) == {f"Odoo {n}", f"Outlook {n}"}
    # The two left out converge next time; the others write nothing.
    again = sync_many(pairs, concurrency=4)
    assert all(o.ok for o in again)
    writes = {
        o.pair: sum(1 for x in o.report.outcomes if x.operation.write) for o in again if o.report
    }
    assert writes == {f"pair-{n}": (2 if n in (3, 7) else 0) for n in range(12)}
    store.close()


class InFlight:
    """The pulls in flight on calendars made by :meth:`swap`, and the limiters lent them."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.lent: list[ConcurrencyLimiter | None] = []

    def swap(self, pairs: list[Synchronizer], side: str) -> None:
        """Give each pair on ``side`` ("left" or "right") a calendar that counts its pulls."""
        flight = self

        class Counting(MemoryCalendar):
            limiter: ConcurrencyLimiter | None = None  # taken as OutlookCalendar's is

            async def pull(
                self, cursor: str | None, window: calsync.Window
            ) -> calsync.adapters.Listing:
                flight.lent.append(self.limiter)
                flight.now += 1
                flight.peak = max(flight.peak, flight.now)
                await asyncio.sleep(0.01)
                flight.now -= 1
                return await super().pull(cursor, window)

        for sync in pairs:
            old = getattr(sync, side)
            setattr(sync, side, Counting(old.name, account=old.account))


def test_sync_many_bounds_the_pairs_in_flight() -> None:
    pairs = memory_pairs(10, MemoryStore())
    flight = InFlight()
    flight.swap(pairs, "left")
    asyncio.run(sync_many_async(pairs, concurrency=3))
    assert flight.peak == 3


def test_sync_many_defaults_32_pairs_and_128_graph_requests_across_mailboxes() -> None:
    pairs = memory_pairs(40, MemoryStore())
    flight = InFlight()
    flight.swap(pairs, "right")
    asyncio.run(sync_many_async(pairs))
    assert flight.peak == 32
    assert len({id(limiter) for limiter in flight.lent}) == 1
    lent = flight.lent[0]
    assert lent is not None
    assert (lent.per_key, lent.total) == (4, 128)
    assert all(sync.right.limiter is None for sync in pairs)  # type: ignore[attr-defined]


def test_sync_many_refuses_a_pair_twice_and_a_running_loop() -> None:
    store = MemoryStore()
    pairs = memory_pairs(2, store)
    with pytest.raises(calsync.ConfigurationError, match="more than once"):
        sync_many([pairs[0], pairs[0]])

    async def inside() -> None:
        with pytest.raises(calsync.ConfigurationError, match="sync_many_async"):
            sync_many(pairs)

    asyncio.run(inside())


def test_a_pair_over_its_timeout_is_a_timeout_outcome() -> None:
    store = MemoryStore()
    (sync,) = memory_pairs(1, store)

    class Slow(MemoryCalendar):
        async def pull(
            self, cursor: str | None, window: calsync.Window
        ) -> calsync.adapters.Listing:
            await asyncio.sleep(5)
            raise AssertionError("not reached")

    sync.left = Slow("odoo")
    (outcome,) = sync_many([sync], timeout=0.05)
    assert isinstance(outcome.error, TimeoutError)


# -- Graph's per-mailbox limit across pairs ----------------------------------------------------


@pytest.fixture
def graph() -> Iterator[GraphEmulator]:
    with GraphEmulator(latency=0.02) as emulator:
        yield emulator
        assert emulator.errors == []


def shared_mailbox_pairs(
    graph: GraphEmulator, store: calsync.stores.MappingStore
) -> list[Synchronizer]:
    """Two pairs on two calendars of one mailbox, each with enough events to fill 4 slots."""
    alice = graph.add_mailbox("alice@example.com")
    second = graph.add_calendar(alice, "Projects")
    pairs = []
    for n, calendar_id in enumerate((None, second)):
        memory = MemoryCalendar("odoo", account=f"odoo-user-{n}")
        for day in range(1, 25):
            memory.add(event(f"Odoo {n}/{day}", day))
        for day in range(1, 6):
            body = user_body(event(f"Outlook {n}/{day}", day))
            graph.create_event(alice, body, calendar_id=calendar_id, notify=False)
        outlook = make_adapter(graph, alice, calendar_id=calendar_id, page_size=2)
        pairs.append(Synchronizer(memory, outlook, store, pair=f"alice-{n}", window=WINDOW))
    return pairs


def test_two_pairs_on_one_mailbox_share_its_four_slots(graph: GraphEmulator) -> None:
    pairs = shared_mailbox_pairs(graph, MemoryStore())
    outcomes = sync_many(pairs)
    assert all(o.ok for o in outcomes), [str(o) for o in outcomes]
    assert graph.max_concurrency("alice@example.com") <= 4
    for sync in pairs:  # the limiter was lent for the run only
        assert isinstance(sync.right, OutlookCalendar)
        assert sync.right.limiter is None
    for n, sync in enumerate(pairs):
        assert titles(sync.left) == {f"Odoo {n}/{d}" for d in range(1, 25)} | {
            f"Outlook {n}/{d}" for d in range(1, 6)
        }
        sync.close()


def test_without_a_shared_limiter_two_pairs_exceed_the_mailbox_limit(
    graph: GraphEmulator,
) -> None:
    """The control: each adapter alone keeps to 4, two of one mailbox together do not."""
    pairs = shared_mailbox_pairs(graph, MemoryStore())

    async def both() -> None:
        await asyncio.gather(*(sync.run_async() for sync in pairs))
        await asyncio.gather(*(sync.aclose() for sync in pairs))

    asyncio.run(both())
    assert graph.max_concurrency("alice@example.com") > 4


def test_an_app_wide_ceiling_holds_across_mailboxes(graph: GraphEmulator) -> None:
    store = MemoryStore()
    pairs = []
    for n in range(4):
        box = graph.add_mailbox(f"user{n}@example.com")
        memory = MemoryCalendar("odoo", account=f"odoo-{n}")
        for day in range(1, 13):
            memory.add(event(f"Event {n}/{day}", day))
        outlook = make_adapter(graph, box)
        pairs.append(Synchronizer(memory, outlook, store, pair=f"p{n}", window=WINDOW))
    limiter = ConcurrencyLimiter(per_key=4, total=3)
    outcomes = sync_many(pairs, limiter=limiter)
    assert all(o.ok for o in outcomes)
    assert graph.max_concurrency() <= 3
    assert limiter.peak() <= 3
    assert max(limiter.peaks().values()) <= 3
    for sync in pairs:
        sync.close()


def test_a_failing_progress_callback_stops_nothing(caplog: pytest.LogCaptureFixture) -> None:
    pairs = memory_pairs(3, MemoryStore())

    def broken(outcome: PairOutcome) -> None:
        raise RuntimeError("bug in the caller's progress bar")

    outcomes = sync_many(pairs, progress=broken)
    assert all(o.ok for o in outcomes)
    assert "progress callback failed" in caplog.text


# -- sessions kept from round to round ---------------------------------------------------------


def test_rounds_of_sync_many_log_in_to_odoo_once_per_user() -> None:
    """Three pairs, three rounds of the blocking sync_many: each user logs in once, in the
    first round; the later rounds cost Odoo no password hash and no login."""
    with OdooEmulator("18.0") as odoo, GraphEmulator() as graph:
        specs = add_pairs(odoo, graph, 3)
        for spec in specs:
            seed(odoo, graph, spec)
        store = MemoryStore()
        syncs = [spec.synchronizer(odoo, graph, store) for spec in specs]
        for _ in range(3):
            assert all(outcome.ok for outcome in sync_many(syncs))
        assert odoo.password_checks == 6  # each login, and the first call after it
        assert odoo.call_count(None, "login") == 3
        for sync in syncs:
            sync.close()


def test_many_pairs_stay_within_odoo_connection_pool() -> None:
    """Twelve pairs at once on an Odoo whose threaded server has a pool of 8 connections
    (each call 20 ms): without a ceiling their listing calls alone would need 36; the
    transports' shared default (8 per server) keeps every call within it, and no pair
    fails with Odoo's HTTP 500."""
    with OdooEmulator("18.0", db_maxconn=8) as odoo, GraphEmulator() as graph:
        specs = add_pairs(odoo, graph, 12)
        for spec in specs:
            seed(odoo, graph, spec)
        odoo.slow(0.02)
        store = MemoryStore()
        syncs = [spec.synchronizer(odoo, graph, store) for spec in specs]
        for _ in range(2):  # a first sync, then incremental pulls (three listing calls each)
            outcomes = sync_many(syncs, concurrency=12)
            assert all(outcome.ok for outcome in outcomes), [str(o) for o in outcomes]
        assert odoo.peak_in_flight == 8
        for sync in syncs:
            sync.close()
