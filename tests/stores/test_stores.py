"""Every MappingStore behaves the same: links, cursors, journal, held events, locks.

The contract runs on memory, SQLite, and SQLStore over SQLAlchemy on SQLite
and on a real PostgreSQL server (``postgres_url``: a fresh schema per test).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from calsync import PairLockedError, SchemaVersionError, StoreError
from calsync.engine import Link, SideRef
from calsync.model import Attendee, Event, Recurrence, RecurrenceRule
from calsync.stores import Held, Intent, MappingStore, MemoryStore, SQLiteStore

UTC = timezone.utc


def sample_link(key: str = "k1", left: str = "L1", right: str = "R1") -> Link:
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    base = Event(
        "Weekly",
        start,
        start + timedelta(hours=1),
        attendees=[Attendee("ann@example.com", "Ann")],
        recurrence=Recurrence(
            RecurrenceRule("WEEKLY", count=3), cancelled=[start + timedelta(days=7)]
        ),
    )
    seen = Event("Weekly", start, start + timedelta(hours=1), reminders=[5])
    return Link(
        key, base, SideRef(left, "v1"), SideRef(right, "v2", seen=seen, read_only=True), uid="u1"
    )


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> MappingStore:
    """A fresh store of one kind (``sql-postgres`` asks for the PostgreSQL fixture)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "state.sqlite3")
    from calsync.stores import SQLStore

    if kind == "sql-sqlite":
        return SQLStore(f"sqlite:///{tmp_path / 'sql.sqlite3'}")
    return SQLStore(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["memory", "sqlite", "sql-sqlite", "sql-postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MappingStore]:
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "sql-sqlite", "sql-postgres"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MappingStore]:
    """The stores on a database."""
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


def commit(store: MappingStore, **changes: object) -> None:
    arguments: dict[str, object] = {"links": {}, "cursors": {}, "done": (), "held": ()}
    arguments.update(changes)
    store.commit("p", **arguments)  # type: ignore[arg-type]


def test_links_round_trip_and_are_found_by_id(store: MappingStore) -> None:
    link = sample_link()
    commit(store, links={"k1": link})
    links = store.load("p").links
    assert links.get("k1") == link
    assert links.by_id(0, "L1") == link
    assert links.by_id(1, "R1") == link
    assert links.by_id(0, "R1") is None
    assert list(links.ids(0)) == ["L1"]
    assert len(links) == 1
    assert links.get("k1").right.seen.reminders == (5,)  # type: ignore[union-attr]


def test_a_half_link_and_deletion(store: MappingStore) -> None:
    half = Link("k2", sample_link().base, SideRef("L2"), None)
    commit(store, links={"k1": sample_link(), "k2": half})
    assert list(store.load("p").links.ids(1)) == ["R1"]
    commit(store, links={"k1": None})
    links = store.load("p").links
    assert links.get("k1") is None
    assert links.get("k2") == half


def test_pairs_are_kept_apart(store: MappingStore) -> None:
    commit(store, links={"k1": sample_link()}, cursors={"odoo": "c1"})
    assert len(store.load("other").links) == 0
    assert store.load("other").cursors == {}
    assert store.pairs() == ["p"]


def test_cursors_move_with_the_links(store: MappingStore) -> None:
    commit(store, cursors={"odoo": "c1", "outlook": None})
    assert store.load("p").cursors == {"odoo": "c1", "outlook": None}
    commit(store, cursors={"odoo": "c2"})
    assert store.load("p").cursors == {"odoo": "c2", "outlook": None}


def test_intents_stay_pending_until_their_key_commits(store: MappingStore) -> None:
    store.record_intents(
        "p", [Intent("k1", "outlook", "create", "A"), Intent("k2", "odoo", "update", "B", "7")]
    )
    assert {i.key for i in store.load("p").pending} == {"k1", "k2"}
    commit(store, done=["k1"])
    assert [i.key for i in store.load("p").pending] == ["k2"]
    assert store.load("p").pending[0].event_id == "7"


def test_held_events_are_replaced_as_a_whole(store: MappingStore) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    commit(store, held=[Held("odoo", "3", "A", "ValidationError: no", since, 2)])
    assert store.load("p").held == (Held("odoo", "3", "A", "ValidationError: no", since, 2),)
    commit(store, held=[])
    assert store.load("p").held == ()


def test_clear_forgets_only_what_is_asked(store: MappingStore) -> None:
    commit(store, links={"k1": sample_link()}, cursors={"odoo": "c"})
    store.record_intents("p", [Intent("k9", "odoo", "create", "X")])
    store.clear("p", cursors=True, journal=True)
    state = store.load("p")
    assert (len(state.links), state.cursors, state.pending) == (1, {}, ())
    store.clear("p", links=True)
    assert len(store.load("p").links) == 0


def test_the_lock_excludes_a_second_run(store: MappingStore) -> None:
    with store.lock("p"):
        with pytest.raises(PairLockedError, match="another run"), store.lock("p"):
            pass
        with store.lock("other"):
            pass
    with store.lock("p"):
        pass


def test_prefetch_reads_links_in_bulk(sql_store: MappingStore) -> None:
    links = {f"k{i}": sample_link(f"k{i}", f"L{i}", f"R{i}") for i in range(1200)}
    commit(sql_store, links=links)
    index = sql_store.load("p").links
    index.prefetch(0, [f"L{i}" for i in range(1200)] + ["nope"])  # type: ignore[attr-defined]
    assert index.by_id(0, "L777") == links["k777"]
    assert index.by_id(0, "nope") is None


def test_a_failed_commit_changes_nothing(sql_store: MappingStore) -> None:
    commit(sql_store, links={"k1": sample_link()}, cursors={"odoo": "c1"})
    broken = Held("odoo", "3", "A", "e", datetime(2026, 1, 1, tzinfo=UTC), attempts="x")  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017, PT011 (each database words it its own way)
        commit(sql_store, links={"k1": None}, cursors={"odoo": "c2"}, held=[broken, broken])
    state = sql_store.load("p")
    assert state.links.get("k1") == sample_link()
    assert state.cursors == {"odoo": "c1"}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE calsync_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="upgrade calsync"):
        SQLiteStore(path)


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = SQLiteStore(path)
    commit(first, links={"k1": sample_link()}, cursors={"odoo": "c1"})
    first.close()
    again = SQLiteStore(path)
    assert again.load("p").links.get("k1") == sample_link()
    assert again.load("p").cursors == {"odoo": "c1"}
    again.close()


def _hold_lock(
    path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    store = SQLiteStore(path)
    with store.lock("p"):
        ready.set()
        release.wait(10)
    store.close()


def test_the_lock_holds_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite3")
    SQLiteStore(path).close()
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        store = SQLiteStore(path)
        with pytest.raises(PairLockedError), store.lock("p"):
            pass
        release.set()
        holder.join(20)
        with store.lock("p", timeout=5):
            pass
        store.close()
    finally:
        release.set()
        holder.join(5)


def test_a_dead_holder_lease_expires(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteStore(path)
    expires = time.time() + 0.3
    with sqlite3.connect(path) as connection:  # a worker that took the lock and died
        connection.execute(
            "INSERT INTO calsync_locks (pair, owner, expires) VALUES ('p', 'dead', ?)",
            (expires,),
        )
    until = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    refused = f"lease until {until}; a run whose process died"
    with pytest.raises(PairLockedError, match=refused), store.lock("p"):
        pass
    time.sleep(0.4)
    with store.lock("p"):
        pass
    store.close()


# -- per-pair status ---------------------------------------------------------------------------


def test_status_keeps_the_last_run_counts_runs_and_failures_in_a_row(store: MappingStore) -> None:
    from calsync.stores import PairStatus, RunRecord, StatusStore

    assert isinstance(store, StatusStore)
    assert store.status("p1") == PairStatus("p1")
    assert store.status("p1").outcome == "never"
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    ok = RunRecord(
        start, start + timedelta(seconds=2), "ok", writes={"odoo": 2}, requests={"outlook": 3}
    )
    assert store.record_run("p1", ok).runs == 1
    failed = RunRecord(start, start + timedelta(seconds=1), "failed", error="TransientError: down")
    store.record_run("p1", failed)
    latest = store.record_run("p1", failed)
    assert (latest.runs, latest.failures) == (3, 2)
    store.commit(
        "p1",
        links={},
        cursors={},
        done=[],
        held=[Held("odoo", "7", "Lunch", "RejectedError: no", start)],
    )
    due = start + timedelta(minutes=15)
    store.set_next_due("p1", due)
    status = store.status("p1")
    assert status.last_run == latest
    assert status.last_run.error == "TransientError: down"
    assert (status.held, status.next_due, status.ok) == (1, due, False)
    store.record_run("p1", ok)
    assert store.status("p1").last_run.failures == 0  # type: ignore[union-attr]
    assert store.status("p1").next_due == due  # a run's record leaves the schedule alone
    assert [s.pair for s in store.statuses()] == ["p1"]


def test_stores_close_in_a_with_block(tmp_path: Path) -> None:
    from calsync.stores import MemoryTokenStore, SQLiteSubscriptionStore, SQLiteTokenStore

    with SQLiteStore(tmp_path / "s.sqlite3") as store:
        store.pairs()
    with pytest.raises(StoreError, match="closed"):
        store.pairs()
    with SQLiteTokenStore(tmp_path / "s.sqlite3") as tokens, MemoryTokenStore() as memory:
        tokens.set("ann", "x")
        memory.set("ann", "y")
    with SQLiteSubscriptionStore(tmp_path / "s.sqlite3") as subscriptions, MemoryStore() as mem:
        assert subscriptions.for_pair("p") == []
        assert mem.pairs() == []
