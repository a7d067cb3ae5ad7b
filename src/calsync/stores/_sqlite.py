"""The embedded default store: one SQLite file, stdlib sqlite3, WAL."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from calsync._errors import ConfigurationError, StoreError
from calsync.stores._relational import RelationalStore, Row

__all__ = ["SQLiteExecutor", "SQLiteStore"]


class SQLiteExecutor:
    """sqlite3 behind the :class:`~calsync.stores._relational.Executor` seam.

    Every sqlite3 failure (a file that is no SQLite database, a disk error, a
    lock held too long) comes out as a :class:`~calsync.StoreError` naming the file.
    """

    def __init__(self, path: str) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = path
        with self._failures():
            try:
                self._conn = sqlite3.connect(
                    path, timeout=30.0, isolation_level=None, check_same_thread=False
                )
            except ValueError as error:  # a NUL in the path
                raise ConfigurationError(f"not a usable file path: {path!r} ({error})") from None
        with self.closed_on_failure(), self._failures():
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise StoreError(f"the SQLite store at {self._path!r} failed: {error}") from error

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._lock, self._failures():
            return self._conn.execute(sql, dict(params or {})).fetchall()

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._lock, self._failures():
            self._conn.execute(sql, dict(params or {}))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            with self._failures():
                self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                with self._failures():
                    self._conn.execute("ROLLBACK")
                raise
            with self._failures():
                self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def closed_on_failure(self) -> Iterator[None]:
        """Close the connection if the block fails: a store that cannot start keeps no file open."""
        try:
            yield
        except BaseException:
            self.close()
            raise


class SQLiteStore(RelationalStore):
    """A :class:`~calsync.stores.MappingStore` in one SQLite file: the embedded default.

    Safe for several processes on one machine (WAL, and a lease row per pair
    lock that expires if its holder dies). Every commit point is one transaction.
    """

    def __init__(self, path: str | os.PathLike[str] = "calsync-state.sqlite3") -> None:
        self.path = os.fspath(path)
        self._executor = SQLiteExecutor(self.path)
        with self._executor.closed_on_failure():
            super().__init__(self._executor)
            self._migrate()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def close(self) -> None:
        """Close the database connection."""
        self._executor.close()
