"""``order`` specifications: validation with Odoo's errors, and sorting.

Recorded behaviour [41]: an unknown field gives ``ValueError: Invalid field
'no_such_field' on model 'calendar.event'``; SQL-looking junk gives a
``UserError`` ('Invalid "order" specified ...'); a non-stored field gives
``ValueError: Cannot convert calendar.event.rrule_type to SQL because it is not
stored``; a many2one sorts by the related model's own order. Like PostgreSQL,
NULLs sort last ascending and first descending, and rows that tie keep their
physical (heap) order: Odoo adds no ``id`` tie-breaker.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._odoo._domain import collate_key
from calsync.testing._odoo._errors import OdooValueError, UserError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from calsync.testing._odoo._models._base import Env, Model

__all__ = ["OrderTerm", "parse_order", "sort_ids"]

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
    """``ids`` sorted by ``order`` (the model's default when None), ties in heap order."""
    terms = parse_order(model, order or model.spec.order)
    result = sorted(ids, key=lambda rid: model.db.heap_position(model.name, rid))
    for term in reversed(terms):
        result = _sort_term(env, model, result, term, 0)
    return result


def _sort_term(env: Env, model: Model, ids: list[int], term: OrderTerm, depth: int) -> list[int]:
    key = _term_key(env, model, term, depth)
    present = [rid for rid in ids if key(rid) is not None]
    missing = [rid for rid in ids if key(rid) is None]
    present.sort(key=key, reverse=term.descending)
    return missing + present if term.nulls_first else present + missing


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
    ranked = sorted(linked, key=lambda rid: comodel.db.heap_position(comodel.name, rid))
    for sub in reversed(parse_order(comodel, comodel.spec.order)):
        ranked = _sort_term(env, comodel, ranked, sub, depth + 1)
    rank = {rid: index for index, rid in enumerate(ranked)}

    def key(rid: int) -> Any:
        value = model.value(env, rid, term.field, real=True)
        return rank.get(value) if value is not None else None

    return key
