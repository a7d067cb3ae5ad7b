"""The iteration order of a CPython ``set`` of integers, reproduced.

Odoo computes the partners to add as attendees with ``set(new) - set(old)`` and
creates the attendee rows in that set's iteration order. For integers the hash
is the integer itself, so the order is deterministic, but it is not the list
order: ``partner_ids: [(6, 0, [7, 8])]`` created the attendee of partner 8
first (attendee 1 = Bob) [06], and ``[3, 17, 9]`` gave ``17, 3, 9`` [39].
This module models CPython's open-addressing table (initial size 8, linear
probes of 9, perturbed probing, resize at 3/5 full) closely enough to give the
same order, so that replayed attendee ids line up with the recorded ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["PySet", "set_difference"]

_MIN_SIZE = 8
_LINEAR_PROBES = 9
_PERTURB_SHIFT = 5
_SIZE_T = (1 << 64) - 1
_DUMMY = object()


class PySet:
    """A set of ints laid out like CPython's, iterated in CPython's order."""

    def __init__(self, items: Iterable[int] = ()) -> None:
        self._table: list[object] = [None] * _MIN_SIZE
        self._fill = 0
        self._used = 0
        for item in items:
            self.add(item)

    @property
    def _mask(self) -> int:
        return len(self._table) - 1

    def __iter__(self) -> Iterator[int]:
        for entry in self._table:
            if isinstance(entry, int):
                yield entry

    def __len__(self) -> int:
        return self._used

    def __contains__(self, item: int) -> bool:
        return item in set(self)

    def add(self, item: int) -> None:
        """``set.add``: probe for the item or a free slot, resize when 3/5 full."""
        mask = self._mask
        for index in _probe(hash(item), mask):
            entry = self._table[index]
            if entry is None:
                self._table[index] = item
                self._fill += 1
                self._used += 1
                if self._fill * 5 >= mask * 3:
                    self._resize(self._used * 4)
                return
            if entry == item:
                return

    def discard(self, item: int) -> None:
        """``set.discard``: the slot becomes a dummy, still counted as filled."""
        for index, entry in enumerate(self._table):
            if entry == item and isinstance(entry, int):
                self._table[index] = _DUMMY
                self._used -= 1
                return

    def _resize(self, min_used: int) -> None:
        size = _MIN_SIZE
        while size <= min_used:
            size <<= 1
        old = self._table
        self._table = [None] * size
        self._fill = self._used
        for entry in old:
            if isinstance(entry, int):
                self._insert_clean(entry)

    def _insert_clean(self, item: int) -> None:
        for index in _probe(hash(item), self._mask):
            if self._table[index] is None:
                self._table[index] = item
                return

    def copy(self) -> PySet:
        """``set.copy`` (CPython's ``set_merge`` into an empty set)."""
        result = PySet()
        if self._used == 0:
            return result
        if self._used * 5 >= result._mask * 3:
            result._resize(self._used * 2)
        if result._mask == self._mask and self._fill == self._used:
            result._table = list(self._table)
        else:
            for entry in self._table:
                if isinstance(entry, int):
                    result._insert_clean(entry)
        result._fill = result._used = self._used
        return result


def _probe(hash_value: int, mask: int) -> Iterator[int]:
    """The slots CPython visits for a hash: runs of linear probes, then a perturbed jump."""
    perturb = hash_value & _SIZE_T
    index = hash_value & mask
    while True:
        probes = _LINEAR_PROBES if index + _LINEAR_PROBES <= mask else 0
        for offset in range(probes + 1):
            yield index + offset
        perturb >>= _PERTURB_SHIFT
        index = (index * 5 + 1 + perturb) & mask


def set_difference(left: PySet, right: PySet) -> PySet:
    """``left - right`` as CPython builds it (copy-and-discard when ``right`` is small)."""
    if (len(left) >> 2) > len(right):
        result = left.copy()
        for item in right:
            result.discard(item)
        return result
    result = PySet()
    for item in left:
        if item not in right:
            result.add(item)
    return result


def added_in_set_order(new: Iterable[int], old: Iterable[int]) -> list[int]:
    """``list(set(new) - set(old))`` in CPython's iteration order."""
    return list(set_difference(PySet(new), PySet(old)))
