"""``order`` specifications: validation with Odoo's errors, and sorting.

Recorded behaviour [41]: an unknown field gives ``ValueError: Invalid field
'no_such_field' on model 'calendar.event'``; SQL-looking junk gives a
``UserError`` ('Invalid "order" specified ...'); a non-stored field gives
``ValueError: Cannot convert calendar.event.rrule_type to SQL because it is not
stored``; a many2one sorts by the related model's own order. Like PostgreSQL,
NULLs sort last ascending and first descending. Odoo adds no ``id``
tie-breaker, so rows that tie come back as PostgreSQL's sort leaves them: the
emulator sorts the rows in physical (heap) order, a sequential scan's, with
PostgreSQL's own quicksort (:func:`pg_qsort`), which keeps ties in heap order
below seven rows and reorders them above, as a recorded read of seven
attendees sharing three creation dates shows (``[2, 1]`` for attendees 1 and 2
of one event).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from calsync.testing._odoo._domain import collate_key
from calsync.testing._odoo._errors import OdooValueError, UserError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from calsync.testing._odoo._models._base import Env, Model

__all__ = ["OrderTerm", "parse_order", "pg_qsort", "sort_ids"]

T = TypeVar("T")

_ORDER_RE = re.compile(
    r"^(\s*([a-z0-9:_]+|\"[a-z0-9:_]+\")(\.id)?(\s+(desc|asc))?(\s+(nulls\s+first|nulls\s+last))?\s*(,|$))+(?<!,)$",
    re.IGNORECASE,
)
_MAX_DEPTH = 3


@attrs.frozen
class OrderTerm:
    """One ``field [asc|desc] [nulls first|last]`` term."""

    field: str
    descending: bool
    nulls_first: bool


def parse_order(model: Model, order: str) -> list[OrderTerm]:
    """Parse and check an order specification for ``model``."""
    if not _ORDER_RE.match(order):
        raise UserError(
            f'Invalid "order" specified ({order}). A valid "order" specification is a '
            "comma-separated list of valid field names (optionally followed by asc/desc "
            "for the direction)"
        )
    terms = []
    for part in order.split(","):
        words = part.split()
        name = words[0].strip('"')
        name = name.removesuffix(".id")
        descending = len(words) > 1 and words[1].lower() == "desc"
        nulls = " ".join(words[2:]).lower() if len(words) > 2 else ""
        terms.append(
            OrderTerm(name, descending, nulls == "nulls first" or (not nulls and descending))
        )
        _check_field(model, name)
    return terms


def _check_field(model: Model, name: str) -> None:
    field = model.spec.field(name)
    if field is None:
        raise OdooValueError(f"Invalid field {name!r} on model {model.name!r}")
    if not field.store or field.x2many:
        raise OdooValueError(f"Cannot convert {model.name}.{name} to SQL because it is not stored")


def sort_ids(env: Env, model: Model, ids: Sequence[int], order: str | None) -> list[int]:
    """``ids`` sorted by ``order`` (the model's default when None) as PostgreSQL sorts them:
    :func:`pg_qsort` over the rows in heap order."""
    return _sorted(env, model, ids, parse_order(model, order or model.spec.order), 0)


def _sorted(
    env: Env, model: Model, ids: Sequence[int], terms: Sequence[OrderTerm], depth: int
) -> list[int]:
    heap = sorted(ids, key=lambda rid: model.db.heap_position(model.name, rid))
    keys = [_term_key(env, model, term, depth) for term in terms]
    values = {rid: [key(rid) for key in keys] for rid in heap}

    def compare(left: int, right: int) -> int:
        for term, a, b in zip(terms, values[left], values[right], strict=True):
            if a == b:
                continue
            if a is None or b is None:  # NULLs first or last, whatever the direction
                return (-1 if a is None else 1) * (1 if term.nulls_first else -1)
            result = -1 if a < b else 1
            return -result if term.descending else result
        return 0

    return pg_qsort(heap, compare)


def pg_qsort(items: list[T], compare: Callable[[T, T], int]) -> list[T]:
    """PostgreSQL's in-memory sort of ``items`` (a copy), ties included.

    A transcription of ``ST_SORT`` in PostgreSQL's ``src/include/lib/sort_template.h``
    (Bentley and McIlroy's quicksort, as every tuplesort variant instantiates it):
    insertion sort below seven items, an already sorted input returned as is,
    a median of three (of three medians above forty items) as pivot, and a
    three-way partition. It is not stable: that is the point.
    """
    data = list(items)
    _pg_sort(data, 0, len(data), compare)
    return data


def _pg_sort(a: list[T], lo: int, n: int, compare: Callable[[T, T], int]) -> None:
    """``ST_SORT`` on ``a[lo:lo + n]``: recurse on the smaller part, loop on the larger."""
    while n >= 7 and not _presorted(a, lo, n, compare):
        pa, pb, pc, pd = _partition(a, lo, n, compare)
        pn = lo + n
        _swap_range(a, lo, pb - min(pa - lo, pb - pa), min(pa - lo, pb - pa))
        _swap_range(a, pb, pn - min(pd - pc, pn - pd - 1), min(pd - pc, pn - pd - 1))
        d1, d2 = pb - pa, pd - pc
        if d1 <= d2:
            if d1 > 1:
                _pg_sort(a, lo, d1, compare)
            lo, n = pn - d2, d2
        else:
            if d2 > 1:
                _pg_sort(a, pn - d2, d2, compare)
            n = d1
        if n <= 1:
            return
    if n < 7:
        for pm in range(lo + 1, lo + n):  # insertion sort: stable
            pl = pm
            while pl > lo and compare(a[pl - 1], a[pl]) > 0:
                a[pl], a[pl - 1] = a[pl - 1], a[pl]
                pl -= 1


def _presorted(a: list[T], lo: int, n: int, compare: Callable[[T, T], int]) -> bool:
    return all(compare(a[i - 1], a[i]) <= 0 for i in range(lo + 1, lo + n))


def _med3(a: list[T], i: int, j: int, k: int, compare: Callable[[T, T], int]) -> int:
    if compare(a[i], a[j]) < 0:
        if compare(a[j], a[k]) < 0:
            return j
        return k if compare(a[i], a[k]) < 0 else i
    if compare(a[j], a[k]) > 0:
        return j
    return i if compare(a[i], a[k]) < 0 else k


def _partition(
    a: list[T], lo: int, n: int, compare: Callable[[T, T], int]
) -> tuple[int, int, int, int]:
    """Pick the pivot, move it to ``lo`` and partition three ways; the four boundaries."""
    pm = lo + n // 2
    if n > 7:
        pl, pn = lo, lo + n - 1
        if n > 40:
            d = n // 8
            pl = _med3(a, pl, pl + d, pl + 2 * d, compare)
            pm = _med3(a, pm - d, pm, pm + d, compare)
            pn = _med3(a, pn - 2 * d, pn - d, pn, compare)
        pm = _med3(a, pl, pm, pn, compare)
    a[lo], a[pm] = a[pm], a[lo]
    pa = pb = lo + 1
    pc = pd = lo + n - 1
    while True:
        while pb <= pc and (r := compare(a[pb], a[lo])) <= 0:
            if r == 0:
                a[pa], a[pb] = a[pb], a[pa]
                pa += 1
            pb += 1
        while pb <= pc and (r := compare(a[pc], a[lo])) >= 0:
            if r == 0:
                a[pc], a[pd] = a[pd], a[pc]
                pd -= 1
            pc -= 1
        if pb > pc:
            return pa, pb, pc, pd
        a[pb], a[pc] = a[pc], a[pb]
        pb += 1
        pc -= 1


def _swap_range(a: list[T], i: int, j: int, count: int) -> None:
    for k in range(count):
        a[i + k], a[j + k] = a[j + k], a[i + k]


def _term_key(env: Env, model: Model, term: OrderTerm, depth: int) -> Callable[[int], Any]:
    field = model.spec.fields[term.field]
    if field.type == "many2one" and field.relation and depth < _MAX_DEPTH:
        return _many2one_key(env, model, term, depth)

    def key(rid: int) -> Any:
        value = model.value(env, rid, term.field, real=True)
        if value is None or (value is False and field.type != "boolean"):
            return None
        if isinstance(value, str):
            return collate_key(value)
        return value

    return key


def _many2one_key(env: Env, model: Model, term: OrderTerm, depth: int) -> Callable[[int], Any]:
    """Sort by the linked record's rank in its own model's default order."""
    field = model.spec.fields[term.field]
    assert field.relation is not None
    comodel = env.model(field.relation)
    linked = {model.value(env, rid, term.field, real=True) for rid in model.all_ids(env)}
    linked.discard(None)
    ranked = _sorted(
        env, comodel, list(linked), parse_order(comodel, comodel.spec.order), depth + 1
    )
    rank = {rid: index for index, rid in enumerate(ranked)}

    def key(rid: int) -> Any:
        value = model.value(env, rid, term.field, real=True)
        return rank.get(value) if value is not None else None

    return key
