"""The stores on SQLAlchemy: :class:`SQLStore` and :class:`SQLTokenStore`.

For PostgreSQL when many workers (threads, processes, machines) share
state; any SQLAlchemy database that runs the shared statements works (SQLite
too, for tests). The logic is :class:`~calsync.stores._relational.RelationalStore`'s
and the statements are ``_schema``'s: this module only adds the executor
(SQLAlchemy connections) and, on PostgreSQL, advisory locks.

Transactions: one SQLAlchemy connection per transaction and thread (a
thread-local binding, so threads never share a transaction); reads outside a
transaction take a pooled connection for one statement. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken at
once, so two writers wait instead of failing on a lock upgrade).

Pair locks on PostgreSQL are session-level advisory locks
(``pg_try_advisory_lock``) held on one connection per store dedicated to
locks, in autocommit mode, for as long as a pair is held: a worker on another
pair never waits, a worker on the same pair (another process, another
machine, or another thread of this process) is refused, and a worker that
dies frees its pairs with its connection. The lock key is a 64-bit hash of
the schema and the pair (deterministic across processes and machines; two
deployments in different schemas of one database do not collide). One
connection serves every pair of the store, so a process syncing a thousand
pairs uses one connection for their locks, not a thousand. Other databases
use the lease rows of the shared logic.

Secrets: engines run with ``hide_parameters`` (statement parameters are kept
out of SQLAlchemy's logs and exception messages), URLs are shown with the
password masked, and the token store re-raises database failures as
:class:`~calsync.StoreError` without their parameters.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.elements import TextClause

from calsync._errors import ConfigurationError, PairLockedError, StoreError
from calsync.stores._relational import RelationalStore, Row, migrate
from calsync.stores._schema import SQL
from calsync.stores._subscriptions import RelationalSubscriptionStore
from calsync.stores._tokens import RelationalTokenStore, TokenCipher, TokenKey

__all__ = [
    "SQLAlchemyExecutor",
    "SQLStore",
    "SQLSubscriptionStore",
    "SQLTokenStore",
    "pair_lock_key",
]

logger = logging.getLogger("calsync.stores")


@lru_cache(maxsize=512)
def _text(sql: str) -> TextClause:
    return text(sql)


def pair_lock_key(namespace: str, name: str) -> int:
    """The signed 64-bit advisory lock key of ``name`` in ``namespace`` (same in every process)."""
    digest = hashlib.sha256(f"calsync\x00{namespace}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _sqlite_begin(conn: Connection) -> None:
    """Start SQLite transactions ourselves: IMMEDIATE for writes, deferred for reads."""
    dbapi = conn.connection.dbapi_connection
    if getattr(dbapi, "in_transaction", False):
        return
    read = conn.get_execution_options().get("calsync_read", False)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _sqlite_connect(dbapi: Any, record: Any) -> None:
    """Engines calsync creates: the driver leaves BEGIN to us; WAL and a busy timeout."""
    dbapi.isolation_level = None
    cursor = dbapi.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def open_engine(target: str | URL | Engine) -> tuple[Engine, bool]:
    """calsync's own view of ``target`` (an OptionEngine) and whether calsync created it.

    The view shares the pool of a caller's engine but has its own event
    listeners and ``hide_parameters``, so the caller's engine is left as it was.
    """
    owned = not isinstance(target, Engine)
    if isinstance(target, Engine):
        base = target
    else:
        try:
            url = make_url(target)
            base = create_engine(url, hide_parameters=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as error:
            raise ConfigurationError(
                "a SQL store takes a SQLAlchemy URL such as "
                "'postgresql+psycopg://user@host/dbname' (its database driver installed), "
                f"or an Engine; {type(error).__name__}"
            ) from None
        if base.dialect.name == "sqlite":
            event.listen(base, "connect", _sqlite_connect)
    engine = base.execution_options()
    engine.hide_parameters = True
    if engine.dialect.name == "sqlite":
        event.listen(engine, "begin", _sqlite_begin)
    return engine, owned


class SQLAlchemyExecutor:
    """SQLAlchemy connections behind the :class:`~calsync.stores._relational.Executor` seam."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def _bound(self) -> Connection | None:
        bound: Connection | None = getattr(self._local, "connection", None)
        return bound

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        bound = self._bound()
        if bound is not None:
            return [tuple(row) for row in bound.execute(_text(sql), dict(params or {}))]
        with self.engine.connect() as connection:
            reader = connection.execution_options(calsync_read=True)
            return [tuple(row) for row in reader.execute(_text(sql), dict(params or {}))]

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self.transaction():
            bound = self._bound()
            assert bound is not None
            bound.execute(_text(sql), dict(params or {}))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._bound() is not None:  # nested: part of the enclosing transaction
            yield
            return
        with self.engine.begin() as connection:
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None


class _AdvisoryLocks:
    """PostgreSQL session-level advisory locks, all on one dedicated autocommit connection."""

    def __init__(self, engine: Engine, namespace: str) -> None:
        self._engine = engine
        self._namespace = namespace
        self._connection: Connection | None = None
        self._pid = 0
        self._held: dict[str, int] = {}
        self._guard = threading.Lock()

    def _open(self) -> Connection:
        if self._connection is None or self._connection.closed:
            connection = self._engine.connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            self._pid = int(self._connection.execute(_text(SQL.pg_backend_pid)).scalar() or 0)
        return self._connection

    def holder(self, pair: str) -> dict[str, int] | None:
        """Who must hold the pair's lock for this store's run to own it (None: not taken here).

        The lock connection's backend and the key's halves, as ``pg_locks`` shows them.
        """
        with self._guard:
            key = self._held.get(pair)
            if key is None:
                return None
            unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
            return {"pid": self._pid, "high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: it may hold locks
                connection.close()
            except SQLAlchemyError:
                logger.debug("closing a broken lock connection failed", exc_info=True)

    def try_lock(self, pair: str) -> bool:
        """Take the pair now, or False when any holder (this process included) has it."""
        key = pair_lock_key(self._namespace, f"pair\x00{pair}")
        with self._guard:
            if pair in self._held:
                return False
            try:
                got = bool(self._open().execute(_text(SQL.pg_try_lock), {"key": key}).scalar())
            except SQLAlchemyError:
                if self._held:
                    logger.warning(
                        "the pair lock connection failed; PostgreSQL released the locks it "
                        "held (%d pairs): their runs are no longer exclusive",
                        len(self._held),
                    )
                    self._held.clear()
                self._drop()
                raise
            if got:
                self._held[pair] = key
            return got

    def unlock(self, pair: str) -> None:
        """Release the pair (a lost connection has released it already)."""
        with self._guard:
            key = self._held.pop(pair, None)
            if key is None or self._connection is None:
                return
            try:
                released = self._connection.execute(_text(SQL.pg_unlock), {"key": key}).scalar()
            except SQLAlchemyError:
                logger.warning(
                    "releasing a pair lock failed; dropping the lock connection", exc_info=True
                )
                self._held.clear()
                self._drop()
                return
            if not released:
                logger.warning("a pair lock was no longer held when its run ended (pair=%r)", pair)

    def close(self) -> None:
        """Release every lock by closing the connection."""
        with self._guard:
            self._held.clear()
            self._drop()


def _pg_namespace(executor: SQLAlchemyExecutor) -> str:
    rows = executor.rows(SQL.pg_schema)
    return str(rows[0][0]) if rows and rows[0][0] is not None else ""


def _migrate(executor: SQLAlchemyExecutor, namespace: str | None) -> None:
    """Migrate; on PostgreSQL behind a transaction lock (two workers starting at once)."""
    with executor.transaction():
        if namespace is not None:
            key = pair_lock_key(namespace, "migrate")
            executor.run(SQL.pg_xact_lock, {"key": key})
        migrate(executor)


def _open_store(engine: Engine, executor: SQLAlchemyExecutor, owned: bool) -> str | None:
    """Check the connection, migrate; the lock namespace on PostgreSQL (else None).

    On failure an engine calsync created is disposed of (no connection left open).
    """
    try:
        namespace = _pg_namespace(executor) if engine.dialect.name == "postgresql" else None
        _migrate(executor, namespace)
    except BaseException as error:
        if owned:
            engine.dispose()
        if not isinstance(error, SQLAlchemyError):
            raise
        reason = getattr(error, "orig", None) or error.__class__.__name__
        raise StoreError(f"cannot open the SQL store at {_safe_url(engine)}: {reason}") from None
    return namespace


class SQLStore(RelationalStore):
    """A :class:`~calsync.stores.MappingStore` on SQLAlchemy: PostgreSQL for many workers.

    ``SQLStore("postgresql+psycopg://user:password@host/dbname")`` or
    ``SQLStore(engine)`` (the caller's engine is left as it was; calsync
    uses its pool). The schema is created or migrated on open, and a
    database written by a newer calsync is refused
    (:class:`~calsync.SchemaVersionError`). Pair locks: see the module
    docstring (advisory locks on PostgreSQL, lease rows elsewhere).
    """

    def __init__(self, url_or_engine: str | URL | Engine) -> None:
        self.engine, self._owns_engine = open_engine(url_or_engine)
        self._executor = SQLAlchemyExecutor(self.engine)
        super().__init__(self._executor)
        self._namespace = _open_store(self.engine, self._executor, self._owns_engine)
        self._advisory = (
            _AdvisoryLocks(self.engine, self._namespace) if self._namespace is not None else None
        )

    def _migrate(self) -> None:
        _migrate(self._executor, self._namespace)

    @contextmanager
    def lock(self, pair: str, *, timeout: float = 0.0) -> Iterator[None]:
        """Hold the pair: an advisory lock on PostgreSQL, a lease row elsewhere."""
        if self._advisory is None:
            with super().lock(pair, timeout=timeout):
                yield
            return
        deadline = time.monotonic() + timeout
        while not self._try_advisory(pair):
            if time.monotonic() >= deadline:
                raise PairLockedError("another run holds this pair", pair=pair)
            time.sleep(0.05)
        try:
            yield
        finally:
            self._advisory.unlock(pair)

    def _try_advisory(self, pair: str) -> bool:
        assert self._advisory is not None
        try:
            return self._advisory.try_lock(pair)
        except SQLAlchemyError as error:
            reason = getattr(error, "orig", None) or type(error).__name__
            raise StoreError(
                f"cannot lock the pair: the SQL store at {_safe_url(self.engine)} failed: {reason}",
                pair=pair,
            ) from error

    def _fence(self, pair: str) -> None:
        """Inside a write transaction: refuse it if this run's advisory lock is gone.

        PostgreSQL releases a session's advisory locks when its connection
        drops, and another worker may then take the pair while this run goes on.
        """
        if self._advisory is None:
            super()._fence(pair)
            return
        holder = self._advisory.holder(pair)
        if holder is None:
            return
        if not self._db.rows(SQL.pg_holds, holder)[0][0]:
            raise PairLockedError(
                "this run lost the pair: the connection holding its lock dropped, which "
                "released it; nothing was committed, and the next run picks up what this "
                "one wrote",
                pair=pair,
            )

    def _try_lease(self, pair: str, owner: str) -> float | None:
        try:
            return super()._try_lease(pair, owner)
        except IntegrityError:  # another worker inserted its lease just now
            return time.time() + self.lease_seconds

    def close(self) -> None:
        """Release held locks; dispose of the engine when calsync created it."""
        if self._advisory is not None:
            self._advisory.close()
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SQLStore({_safe_url(self.engine)!r})"


class _SecretExecutor(SQLAlchemyExecutor):
    """The token store's executor: failures surface without statement or parameters."""

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            return super().rows(sql, params)
        except SQLAlchemyError as error:
            raise _token_failure(self.engine, error) from None

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        try:
            super().run(sql, params)
        except SQLAlchemyError as error:
            raise _token_failure(self.engine, error) from None


def _token_failure(engine: Engine, error: SQLAlchemyError) -> StoreError:
    orig = getattr(error, "orig", None)
    kind = type(orig).__name__ if orig is not None else type(error).__name__
    return StoreError(f"the token store at {_safe_url(engine)} failed ({kind})")


class SQLTokenStore(RelationalTokenStore):
    """A :class:`~calsync.stores.TokenStore` on SQLAlchemy (PostgreSQL, or any database).

    ``SQLTokenStore(url_or_engine, key=...)``; it may share a database (or
    an engine: ``SQLTokenStore(store.engine)``) with a :class:`SQLStore`:
    the tokens live in their own table of the shared schema. ``key=``
    encrypts them at rest (see :mod:`calsync.stores`).
    """

    def __init__(self, url_or_engine: str | URL | Engine, *, key: TokenKey | None = None) -> None:
        cipher = TokenCipher(key)  # a bad key fails before any connection
        self.engine, self._owns_engine = open_engine(url_or_engine)
        executor = _SecretExecutor(self.engine)
        _open_store(self.engine, executor, self._owns_engine)
        super().__init__(executor, cipher, migrated=True)

    def close(self) -> None:
        """Dispose of the engine when calsync created it."""
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SQLTokenStore({_safe_url(self.engine)!r}, {self._describe()})"


class SQLSubscriptionStore(RelationalSubscriptionStore):
    """A :class:`~calsync.stores.SubscriptionStore` on SQLAlchemy (PostgreSQL, or any database).

    ``SQLSubscriptionStore(url_or_engine)``; it may share a database or an
    engine with a :class:`SQLStore` (``SQLSubscriptionStore(store.engine)``):
    the subscriptions live in their own table of the shared schema.
    """

    def __init__(self, url_or_engine: str | URL | Engine) -> None:
        self.engine, self._owns_engine = open_engine(url_or_engine)
        executor = SQLAlchemyExecutor(self.engine)
        _open_store(self.engine, executor, self._owns_engine)
        super().__init__(executor, migrated=True)

    def close(self) -> None:
        """Dispose of the engine when calsync created it."""
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SQLSubscriptionStore({_safe_url(self.engine)!r})"
