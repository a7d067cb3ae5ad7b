"""The emulated database: tables of rows, id sequences, physical order, transactions.

It mimics the PostgreSQL properties Odoo's behaviour leaks through RPC:

* **Sequences are not transactional.** An id handed out by a failed create is
  gone: the next record gets the following id [29: four failed creates used ids
  26-29; 36: "the next alarm got id 10, not 9"; 43: a rejected ``load`` used four].
* **Physical (heap) order.** Rows that tie on the ``ORDER BY`` keys come back in
  the order the table stores them, and an ``UPDATE`` moves a row to the end of
  the heap. That is why attendee ids ``[17, 18, 19]`` read back ``[18, 17, 19]``
  after 17 and 19 were written [39], and why events with equal ``start`` come
  back "in database order" [41]. Every row carries a heap position; an ORM write
  gives it a new one, a change to a relation table (a many2many link removed
  because the linked record was deleted) does not.
* **One transaction per call.** :meth:`Database.transaction` records the first
  version of every row it touches and puts them all back if the call fails.
* **Writes are flushed late.** Odoo's ORM keeps a call's writes in its cache
  and sends the ``UPDATE`` statements when it flushes: before a query that
  names one of the written columns (``Environment.flush_query``), at the latest
  when the call commits; a ``create`` inserts at once. So a row written before
  a create of the same call may land after the new rows: the attendees of an
  occurrence re-accepted during a "this and following" edit read back after
  the attendees of the occurrences the same edit created, while the
  occurrences that edit archived land before the new ones (the edit queries
  ``recurrence_id`` in between). A written row moves to the end of the heap
  when :meth:`Database.flush` names one of its written columns, or at commit,
  in heap order (the ``UPDATE ... WHERE id IN`` scan's).
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Database", "Row"]

Row = dict[str, Any]


class Database:
    """All tables of one emulated Odoo database."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.RLock()
        self._rows: dict[str, dict[int, Row]] = {}
        self._heap: dict[str, dict[int, int]] = {}
        self._next: dict[str, int] = {}
        self._positions = itertools.count()
        self._undo: list[dict[tuple[str, int], tuple[Row | None, int | None]]] = []
        self._indexes: dict[tuple[str, str], dict[Any, set[int]]] = {}
        #: rows written in the current transaction and not flushed yet: their written columns
        self._written: dict[str, dict[int, set[str]]] = {}

    # -- sequences ---------------------------------------------------------------------------

    def next_id(self, model: str) -> int:
        """Take the next id of ``model``'s sequence (never given back)."""
        value = self._next.get(model, 1)
        self._next[model] = value + 1
        return value

    def set_next_id(self, model: str, value: int) -> None:
        """Move ``model``'s sequence (PostgreSQL's ``setval``) so the next id is ``value``."""
        self._next[model] = value

    def peek_next_id(self, model: str) -> int:
        """The id the next record of ``model`` will get."""
        return self._next.get(model, 1)

    # -- rows --------------------------------------------------------------------------------

    def row(self, model: str, row_id: int) -> Row | None:
        """The stored row, or ``None`` when it does not exist. Do not mutate it."""
        return self._rows.get(model, {}).get(row_id)

    def fetch(self, model: str, row_id: int) -> Row:
        """The stored row, which must exist (KeyError otherwise). Do not mutate it."""
        return self._rows[model][row_id]

    def exists(self, model: str, row_id: int) -> bool:
        """Whether a row with this id exists."""
        return row_id in self._rows.get(model, {})

    def ids(self, model: str) -> list[int]:
        """Every id of ``model`` in physical (heap) order."""
        heap = self._heap.get(model, {})
        return sorted(heap, key=heap.__getitem__)

    def heap_position(self, model: str, row_id: int) -> int:
        """The row's physical position (ties in an ORDER BY are broken by it)."""
        return self._heap.get(model, {}).get(row_id, -1)

    def set_physical_order(self, model: str, row_ids: list[int]) -> None:
        """Lay ``model``'s rows out in this order (those not listed keep theirs, after them)."""
        heap = self._heap.get(model, {})
        for row_id in [
            *(r for r in row_ids if r in heap),
            *(r for r in self.ids(model) if r not in row_ids),
        ]:
            heap[row_id] = next(self._positions)

    def insert(self, model: str, row_id: int, row: Row) -> None:
        """Store a new row (it goes to the end of the heap)."""
        self._remember(model, row_id)
        self._rows.setdefault(model, {})[row_id] = dict(row)
        self._heap.setdefault(model, {})[row_id] = next(self._positions)
        self._reindex(model, row_id, None, row)

    def update(self, model: str, row_id: int, values: Row, *, move: bool = True) -> None:
        """Change columns of a row; ``move`` gives it a new heap position like an UPDATE."""
        self._remember(model, row_id)
        row = self._rows[model][row_id]
        self._reindex(model, row_id, row, values)
        row.update(values)
        if move and self._undo:
            self._written.setdefault(model, {}).setdefault(row_id, set()).update(values)
        elif move:
            self._heap[model][row_id] = next(self._positions)

    def delete(self, model: str, row_id: int) -> None:
        """Remove a row."""
        self._remember(model, row_id)
        self._reindex(model, row_id, self._rows[model][row_id], None)
        del self._rows[model][row_id]
        del self._heap[model][row_id]

    # -- indexes -----------------------------------------------------------------------------

    def lookup(self, model: str, column: str, value: Any) -> list[int]:
        """Ids of the rows whose ``column`` equals ``value``, in heap order (an index scan)."""
        self.flush(model, {column})
        index = self._indexes.get((model, column))
        if index is None:
            index = {}
            for row_id, row in self._rows.get(model, {}).items():
                index.setdefault(row.get(column), set()).add(row_id)
            self._indexes[(model, column)] = index
        heap = self._heap.get(model, {})
        return sorted(index.get(value, ()), key=heap.__getitem__)

    def _reindex(self, model: str, row_id: int, old: Row | None, new: Row | None) -> None:
        for (indexed, column), index in self._indexes.items():
            if indexed != model or (new is not None and old is not None and column not in new):
                continue
            if old is not None:
                index.get(old.get(column), set()).discard(row_id)
            if new is not None:
                index.setdefault(new.get(column), set()).add(row_id)

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block as one transaction: any exception undoes every row change.

        Transactions do not nest: an inner call joins the outer transaction.
        """
        with self.lock:
            if self._undo:
                yield
                return
            self._undo.append({})
            try:
                yield
                for model in list(self._written):
                    self.flush(model)
            except BaseException:
                while self._undo:
                    self._rollback(self._undo.pop())
                raise
            finally:
                self._undo.clear()
                self._written.clear()

    def flush(self, model: str, columns: set[str] | None = None) -> None:
        """Send the pending ``UPDATE`` of ``model``'s rows written in one of ``columns``
        (all written rows when None): they go to the end of the heap, in heap order."""
        written = self._written.get(model)
        if not written:
            return
        heap = self._heap.get(model, {})
        due = [r for r, names in written.items() if columns is None or names & columns]
        for row_id in sorted((r for r in due if r in heap), key=heap.__getitem__):
            heap[row_id] = next(self._positions)
        for row_id in due:
            del written[row_id]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested savepoint inside the current transaction (``cr.savepoint()``)."""
        assert self._undo, "savepoint outside a transaction"
        self._undo.append({})
        try:
            yield
        except BaseException:
            self._rollback(self._undo.pop())
            raise
        layer = self._undo.pop()
        parent = self._undo[-1]
        for key, state in layer.items():
            parent.setdefault(key, state)

    def _remember(self, model: str, row_id: int) -> None:
        if not self._undo or (model, row_id) in self._undo[-1]:
            return
        row = self._rows.get(model, {}).get(row_id)
        position = self._heap.get(model, {}).get(row_id)
        self._undo[-1][(model, row_id)] = (dict(row) if row is not None else None, position)

    def _rollback(self, layer: dict[tuple[str, int], tuple[Row | None, int | None]]) -> None:
        self._indexes.clear()
        for (model, row_id), (row, position) in layer.items():
            rows = self._rows.setdefault(model, {})
            heap = self._heap.setdefault(model, {})
            if row is None:
                rows.pop(row_id, None)
                heap.pop(row_id, None)
            else:
                rows[row_id] = row
                heap[row_id] = position if position is not None else next(self._positions)
