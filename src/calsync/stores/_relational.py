"""The store logic shared by the SQL back-ends, over a minimal executor seam.

A back-end provides :class:`Executor` (run a statement, fetch rows, one
transaction at a time) and a pair lock; everything else — the schema
migrations, the lazy link index, the single-transaction commit — is here once.

Pair locks are lease rows (``calsync_locks``: pair, owner, expiry). A run
holding one has it renewed every third of ``lease_seconds`` by the store's
:class:`LeaseKeeper` thread, so a run longer than the lease keeps its pair,
and a process that dies frees it when the lease runs out. The journal and the
commit are fenced: each checks, in its own transaction, that the lease row is
still this run's, and refuses (:class:`~calsync.PairLockedError`) when another
run took it meanwhile (this process was stopped longer than the lease, say):
a run that lost its pair commits nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any, Protocol

from calsync._closing import ClosesOnExit
from calsync._engine._links import Link
from calsync._errors import PairLockedError, SchemaVersionError
from calsync.stores._base import Held, Intent, PairState, link_from_json, link_to_json
from calsync.stores._schema import MIGRATIONS, SCHEMA_VERSION, SQL
from calsync.stores._status import (
    PairStatus,
    RunRecord,
    counted,
    parse_instant,
    run_from_json,
    run_to_json,
)

__all__ = ["Executor", "LeaseKeeper", "RelationalStore", "migrate"]

logger = logging.getLogger("calsync.stores")

Row = Sequence[Any]
_CHUNK = 500


class Executor(Protocol):
    """What a SQL back-end must offer the shared store logic."""

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a query and return every row."""

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement."""

    def transaction(self) -> AbstractContextManager[None]:
        """One transaction: committed on success, rolled back on error."""


def migrate(db: Executor) -> None:
    """Bring the schema up to :data:`SCHEMA_VERSION` in one transaction.

    :class:`~calsync.SchemaVersionError` when the database is newer than
    this calsync. Every store (mapping or token) calls it when it opens.
    """
    with db.transaction():
        db.run(MIGRATIONS[0][0])
        rows = db.rows(SQL.get_version)
        version = int(rows[0][0]) if rows else 0
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the store has schema version {version}; this calsync knows up to "
                f"{SCHEMA_VERSION}: upgrade calsync"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.run(statement)
        if version == 0:
            db.run(SQL.insert_version, {"version": str(SCHEMA_VERSION)})
        elif version < SCHEMA_VERSION:
            db.run(SQL.update_version, {"version": str(SCHEMA_VERSION)})


class LazyLinks:
    """A pair's links, read from the database on demand and cached for the run.

    Incremental runs touch a few links: reading all of them would make every
    run cost as much as the first.
    """

    def __init__(self, db: Executor, pair: str) -> None:
        self._db, self._pair = db, pair
        self._cache: dict[str, Link | None] = {}
        self._by_id: tuple[dict[str, str | None], dict[str, str | None]] = ({}, {})
        self._ids: tuple[list[str] | None, list[str] | None] = (None, None)

    def _load(self, sql: str, params: Mapping[str, Any]) -> Link | None:
        rows = self._db.rows(sql, {"pair": self._pair, **params})
        if not rows:
            return None
        link = link_from_json(json.loads(rows[0][0]))
        self._remember(link)
        return link

    def _remember(self, link: Link) -> None:
        self._cache[link.key] = link
        for position in (0, 1):
            ref = link.side(position)
            if ref is not None:
                self._by_id[position][ref.id] = link.key

    def get(self, key: str) -> Link | None:
        """The link with that key."""
        if key not in self._cache:
            self._cache[key] = self._load(SQL.link_by_key, {"key": key})
        return self._cache[key]

    def by_id(self, position: int, event_id: str) -> Link | None:
        """The link holding that id on one side."""
        known = self._by_id[position]
        if event_id not in known:
            sql = SQL.link_by_left if position == 0 else SQL.link_by_right
            link = self._load(sql, {"id": event_id})
            known[event_id] = link.key if link else None
        key = known[event_id]
        return self._cache.get(key) if key is not None else None

    def prefetch(self, position: int, event_ids: Iterable[str]) -> None:
        """Read the links of many ids in a few queries (before a full listing is planned)."""
        column = "left_id" if position == 0 else "right_id"
        wanted = [i for i in event_ids if i not in self._by_id[position]]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            names = ", ".join(f":id{n}" for n in range(len(chunk)))
            sql = f"SELECT data FROM calsync_links WHERE pair = :pair AND {column} IN ({names})"  # noqa: S608 (placeholders only)
            params = {"pair": self._pair, **{f"id{n}": value for n, value in enumerate(chunk)}}
            for (data,) in self._db.rows(sql, params):
                self._remember(link_from_json(json.loads(data)))
            for event_id in chunk:
                self._by_id[position].setdefault(event_id, None)

    def ids(self, position: int) -> Iterable[str]:
        """Every linked id on one side."""
        cached = self._ids[position]
        if cached is None:
            sql = SQL.left_ids if position == 0 else SQL.right_ids
            cached = [row[0] for row in self._db.rows(sql, {"pair": self._pair})]
            self._ids = (cached, self._ids[1]) if position == 0 else (self._ids[0], cached)
        return cached

    def __len__(self) -> int:
        return int(self._db.rows(SQL.count_links, {"pair": self._pair})[0][0])

    def __iter__(self) -> Iterator[Link]:
        for (data,) in self._db.rows(SQL.all_links, {"pair": self._pair}):
            yield link_from_json(json.loads(data))


class LeaseKeeper:
    """Renews the lease rows a store holds, from one background thread while it holds any.

    Every third of the store's ``lease_seconds`` it moves each held lease's
    expiry forward, if the row is still its own; a lease another run took is
    logged (the fence then refuses the run's next journal write or commit).
    The thread ends as soon as the store holds no pair.
    """

    def __init__(self, store: RelationalStore) -> None:
        self._store = store
        self._owners: dict[str, str] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def owner(self, pair: str) -> str | None:
        """This store's lease owner for the pair, while it holds the pair."""
        with self._changed:
            return self._owners.get(pair)

    def hold(self, pair: str, owner: str) -> None:
        """Keep renewing this lease until :meth:`drop`."""
        with self._changed:
            self._owners[pair] = owner
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="calsync-lease-keeper", daemon=True
                )
                self._thread.start()

    def drop(self, pair: str) -> None:
        """Stop renewing the pair's lease (its run ended)."""
        with self._changed:
            self._owners.pop(pair, None)
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                interval = max(self._store.lease_seconds / 3, 0.01)
                self._changed.wait_for(lambda: not self._owners, timeout=interval)
                if not self._owners:
                    self._thread = None
                    return
                held = dict(self._owners)
            for pair, owner in held.items():  # outside the condition: the store does I/O
                try:
                    kept = self._store._renew(pair, owner)
                except Exception:  # a busy or broken database: try again at the next tick
                    logger.warning("renewing the lease of pair %r failed", pair, exc_info=True)
                    continue
                if not kept and self.owner(pair) == owner:
                    logger.warning("the lease of pair %r was taken by another run", pair)


class RelationalStore(ClosesOnExit):
    """MappingStore logic over an :class:`Executor`; subclasses add the connection and lock."""

    #: How long a pair lock lasts without renewal: a run's store renews it every third of
    #: this while the run holds the pair; a worker that dies frees it after this.
    lease_seconds: float = 900.0

    def __init__(self, db: Executor) -> None:
        self._db = db
        self._leases = LeaseKeeper(self)

    def _migrate(self) -> None:
        migrate(self._db)

    # -- lock (a lease row; PostgreSQL overrides it with advisory locks) -----------------------

    @contextmanager
    def lock(self, pair: str, *, timeout: float = 0.0) -> Iterator[None]:
        """Hold the pair with a lease row, renewed while held, that expires if the holder dies."""
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        while (held_until := self._try_lease(pair, owner)) is not None:
            if time.monotonic() >= deadline:
                until = datetime.fromtimestamp(held_until, timezone.utc)
                raise PairLockedError(
                    "another run holds this pair, with a lease until "
                    f"{until:%Y-%m-%d %H:%M:%S} UTC; a run whose process died "
                    "keeps the pair until its lease runs out",
                    pair=pair,
                )
            time.sleep(0.05)
        self._leases.hold(pair, owner)
        try:
            yield
        finally:
            self._leases.drop(pair)
            with self._db.transaction():
                self._db.run(SQL.release_lock, {"pair": pair, "owner": owner})

    def _renew(self, pair: str, owner: str) -> bool:
        """Move the lease's expiry forward; False when the row is no longer ``owner``'s."""
        with self._db.transaction():
            self._db.run(
                SQL.renew_lock,
                {"pair": pair, "owner": owner, "expires": time.time() + self.lease_seconds},
            )
            rows = self._db.rows(SQL.lock_row, {"pair": pair})
        return bool(rows) and rows[0][0] == owner

    def _fence(self, pair: str) -> None:
        """Inside a write transaction: refuse it if this store's run lost the pair's lease."""
        owner = self._leases.owner(pair)
        if owner is None:
            return  # not held through this store: written by hand, nothing to fence
        rows = self._db.rows(SQL.lock_row, {"pair": pair})
        if not rows or rows[0][0] != owner:
            raise PairLockedError(
                "this run lost the pair: its lease ran out (the process was stopped or "
                "too slow to renew it) and another run took it; nothing was committed, "
                "and the next run picks up what this one wrote",
                pair=pair,
            )

    def _try_lease(self, pair: str, owner: str) -> float | None:
        """Take the pair's lease: None when taken, else when the holder's lease runs out."""
        now = time.time()
        with self._db.transaction():
            rows = self._db.rows(SQL.lock_row, {"pair": pair})
            if rows and float(rows[0][1]) > now:
                return float(rows[0][1])
            self._db.run(SQL.delete_lock, {"pair": pair})
            self._db.run(
                SQL.insert_lock, {"pair": pair, "owner": owner, "expires": now + self.lease_seconds}
            )
        return None

    # -- state ---------------------------------------------------------------------------------

    def load(self, pair: str) -> PairState:
        """The pair's cursors, journal and held events; links are read lazily."""
        params = {"pair": pair}
        cursors: dict[str, str | None] = {
            str(side): cursor for side, cursor in self._db.rows(SQL.cursors, params)
        }
        pending = tuple(
            Intent(key=key, side=side, kind=kind, title=title, event_id=event_id)
            for key, side, kind, title, event_id in self._db.rows(SQL.journal, params)
        )
        held = tuple(
            Held(side, event_id, title, error, datetime.fromisoformat(since), int(attempts), key)
            for side, event_id, title, error, since, attempts, key in self._db.rows(
                SQL.held, params
            )
        )
        return PairState(LazyLinks(self._db, pair), cursors, pending, held)

    def record_intents(self, pair: str, intents: Sequence[Intent]) -> None:
        """Journal intents in their own transaction, before any request is sent."""
        with self._db.transaction():
            self._fence(pair)
            for intent in intents:
                params = {"pair": pair, "key": intent.key, "side": intent.side}
                self._db.run(SQL.delete_intent, params)
                self._db.run(
                    SQL.insert_intent,
                    {
                        **params,
                        "kind": intent.kind,
                        "title": intent.title,
                        "event_id": intent.event_id,
                    },
                )

    def commit(
        self,
        pair: str,
        *,
        links: Mapping[str, Link | None],
        cursors: Mapping[str, str | None],
        done: Iterable[str],
        held: Sequence[Held],
    ) -> None:
        """Store a run's results in one transaction (refused if the run lost the pair)."""
        with self._db.transaction():
            self._fence(pair)
            for key, link in links.items():
                self._db.run(SQL.delete_link, {"pair": pair, "key": key})
                if link is not None:
                    self._db.run(SQL.insert_link, _link_params(pair, link))
            for side, cursor in cursors.items():
                self._db.run(SQL.delete_cursor, {"pair": pair, "side": side})
                self._db.run(SQL.insert_cursor, {"pair": pair, "side": side, "cursor": cursor})
            for key in set(done):
                self._db.run(SQL.resolve_intents, {"pair": pair, "key": key})
            self._db.run(SQL.delete_held, {"pair": pair})
            for item in held:
                self._db.run(SQL.insert_held, _held_params(pair, item))

    def clear(
        self,
        pair: str,
        *,
        links: bool = False,
        cursors: bool = False,
        journal: bool = False,
        held: bool = False,
    ) -> None:
        """Forget the chosen parts of a pair's state, in one transaction."""
        chosen = [
            (links, SQL.delete_links),
            (cursors, SQL.delete_cursors),
            (journal, SQL.delete_journal),
            (held, SQL.delete_held),
        ]
        with self._db.transaction():
            for wanted, statement in chosen:
                if wanted:
                    self._db.run(statement, {"pair": pair})

    def pairs(self) -> list[str]:
        """Every pair with links, cursors or pending intents."""
        return [row[0] for row in self._db.rows(SQL.pairs)]

    # -- status --------------------------------------------------------------------------------

    def record_run(self, pair: str, run: RunRecord) -> RunRecord:
        """Store the pair's latest run, counted against the one before, in one transaction."""
        with self._db.transaction():
            rows = self._db.rows(SQL.status, {"pair": pair})
            run = counted(run, run_from_json(rows[0][0]) if rows else None)
            self._db.run(
                SQL.set_status_run, {"pair": pair, "run": run_to_json(run), "updated": time.time()}
            )
        return run

    def set_next_due(self, pair: str, when: datetime | None) -> None:
        """Store when the pair is due next (a scheduler's plan)."""
        due = when.isoformat() if when is not None else None
        with self._db.transaction():
            self._db.run(SQL.set_status_due, {"pair": pair, "due": due, "updated": time.time()})

    def status(self, pair: str) -> PairStatus:
        """The pair's last run, held events (counted now) and next due time."""
        rows = self._db.rows(SQL.status, {"pair": pair})
        held = int(self._db.rows(SQL.held_count, {"pair": pair})[0][0])
        if not rows:
            return PairStatus(pair, held=held)
        run, due = rows[0]
        return PairStatus(pair, run_from_json(run), held, parse_instant(due))

    def statuses(self) -> list[PairStatus]:
        """Every pair the store knows, with its status."""
        held = {str(p): int(n) for p, n in self._db.rows(SQL.held_counts)}
        known = {
            str(p): PairStatus(str(p), run_from_json(run), held.get(str(p), 0), parse_instant(due))
            for p, run, due in self._db.rows(SQL.statuses)
        }
        for name in self.pairs():
            known.setdefault(name, PairStatus(name, held=held.get(name, 0)))
        return [known[name] for name in sorted(known)]


def _link_params(pair: str, link: Link) -> dict[str, Any]:
    return {
        "pair": pair,
        "key": link.key,
        "left_id": link.left.id if link.left else None,
        "right_id": link.right.id if link.right else None,
        "data": json.dumps(link_to_json(link), separators=(",", ":")),
    }


def _held_params(pair: str, item: Held) -> dict[str, Any]:
    return {
        "pair": pair,
        "side": item.side,
        "id": item.id,
        "title": item.title,
        "error": item.error,
        "since": item.since.isoformat(),
        "attempts": item.attempts,
        "key": item.key,
    }
