"""``read_group``: records grouped by fields, counted and aggregated, as Odoo answers it.

Follows ``BaseModel.read_group`` (odoo/models.py, 17.0 and 18.0; deprecated but
callable in 19.0), checked on the real 18.0 server:

* ``groupby`` is a name or a list; ``lazy`` (default) groups by the first one only
  and counts in ``<field>_count`` (the others go to ``__context.group_by``);
  ``lazy=False`` groups by all and counts in ``__count``.
* A many2one groups as ``[id, display name]``, an empty value as ``false``; a
  many2many alike, a record going to the group of each of its ids (checked on real
  17.0, 18.0 and 19.0: ``partner_ids`` groups as ``[17, "Bob"]``); a date
  or datetime as ``"<field>:<granularity>"`` (``month`` by default) labelled as
  Odoo's babel formats do (``"July 2027"``, ``"W27 2027"``, ``"Q3 2027"``, ``"2027"``,
  ``"05 Jul 2027"``), with ``__range`` holding the bounds, datetimes in the
  context's ``tz`` converted back to UTC.
* ``fields`` names the aggregates: ``"name:sum"`` (``sum``, ``min``, ``max``,
  ``avg``, ``count``, ``count_distinct``, ``array_agg``), or a plain numeric
  field, summed. ``array_agg`` is ``ARRAY_AGG(column ORDER BY id)``: the stored
  values as SQL has them (no per-user masking), ``null`` for empty ones, a
  many2one as its id, datetimes as Odoo's JSON writes them (to the second).
* Each group carries ``__domain``: the request's domain AND the group's leaves,
  in Odoo's normalised prefix form (``['&', A, B]``).
* Groups are ordered by the grouped values (``orderby`` may say ``desc``), empty
  values last; ``offset``/``limit`` page the groups. Without ``groupby`` there is
  one group, with ``__count`` 0 when nothing matches.
* 19.0's ``formatted_read_group`` (addons/web) groups alike and keys each group
  as asked: values under their ``groupby`` spec, aggregates under theirs
  (``"id:array_agg"``, ``__count`` only when asked for), the group's own leaves
  in ``__extra_domain`` (``[[1, '=', 1]]`` without groupby).

Not modelled: ``calendar.event``'s extra privacy domain when grouping by fields
Odoo hides in private events (``Meeting.read_group``), and ``having``-style options.
"""

from __future__ import annotations

import calendar
import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from calsync.testing._odoo._errors import OdooValueError
from calsync.testing._odoo._values import format_date, format_datetime

if TYPE_CHECKING:
    from collections.abc import Sequence

    from calsync.testing._odoo._models._base import Env, Model

__all__ = ["and_domains", "formatted_read_group", "read_group"]

_MONTHS = tuple(calendar.month_name)[1:]  # English, as Odoo's en_US labels
_GRANULARITIES = ("day", "week", "month", "quarter", "year")
_AGGREGATES = ("sum", "min", "max", "avg", "count", "count_distinct", "array_agg")


def normalize(domain: Sequence[Any]) -> list[Any]:
    """``expression.normalize_domain``: implicit ANDs made explicit."""
    if not domain:
        return []
    result: list[Any] = []
    expected = 1
    for item in domain:
        if expected == 0:
            result[0:0] = ["&"]
            expected = 1
        if isinstance(item, (list, tuple)):
            expected -= 1
            result.append(list(item))
        else:
            expected += 0 if item == "!" else 1
            result.append(item)
    return result


def and_domains(domains: Sequence[Sequence[Any]]) -> list[Any]:
    """``expression.AND``: empty domains dropped, the rest joined with leading '&'."""
    parts = [normalize(domain) for domain in domains if domain]
    return ["&"] * (len(parts) - 1) + [token for part in parts for token in part]


def _bounds(value: datetime | date, granularity: str) -> tuple[date, date]:
    day = value.date() if isinstance(value, datetime) else value
    if granularity == "day":
        return day, day + timedelta(days=1)
    if granularity == "week":  # Odoo's weeks start on the locale's day; en_US: Sunday
        start = day - timedelta(days=(day.weekday() + 1) % 7)
        return start, start + timedelta(days=7)
    if granularity == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    months = 3 if granularity == "quarter" else 1
    first = (day.month - 1) // months * months + 1
    start = date(day.year, first, 1)
    follow = first + months
    return start, date(day.year + (follow > 12), (follow - 1) % 12 + 1, 1)


def _label(start: date, granularity: str) -> str:
    if granularity == "day":
        return f"{start.day:02d} {_MONTHS[start.month - 1][:3]} {start.year}"
    if granularity == "week":
        middle = start + timedelta(days=3)
        return f"W{middle.isocalendar()[1]} {middle.year}"
    if granularity == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if granularity == "year":
        return str(start.year)
    return f"{_MONTHS[start.month - 1]} {start.year}"


class _Key:
    """One ``groupby`` entry: a field, and a granularity for dates."""

    def __init__(self, model: Model, spec: str, env: Env) -> None:
        name, _, granularity = spec.partition(":")
        if name not in model.spec.fields:
            raise OdooValueError(f"Invalid field {name!r} on model {model._name!r}")
        self.field = model.spec.fields[name]
        self.name = name
        self.spec = spec if self.field.type in ("date", "datetime") else name
        self.granularity = granularity or "month"
        if self.field.type in ("date", "datetime") and self.granularity not in _GRANULARITIES:
            raise OdooValueError(f"Invalid granularity {granularity!r} for {name!r}")
        self.zone = ZoneInfo(env.tz) if env.tz and self.field.type == "datetime" else None

    def values(self, model: Model, env: Env, rid: int) -> list[Any]:
        """The record's values for this key: one, or a many2many's ids (None: empty)."""
        if self.field.type != "many2many":
            return [self.value(model, env, rid)]
        return sorted(model.value(env, rid, self.name) or ()) or [None]

    def value(self, model: Model, env: Env, rid: int) -> Any:
        raw = model.value(env, rid, self.name)
        if raw is None or raw is False or raw == ():
            return None
        if self.field.type == "datetime":
            local = raw.replace(tzinfo=timezone.utc)
            return _bounds(local.astimezone(self.zone) if self.zone else local, self.granularity)
        if self.field.type == "date":
            return _bounds(raw, self.granularity)
        if self.field.x2many:
            raise OdooValueError(f"Cannot group by the x2many field {self.name!r}")
        return raw

    def _utc(self, day: date) -> str | bool:
        moment = datetime.combine(day, datetime.min.time())
        if self.zone is not None:
            moment = moment.replace(tzinfo=self.zone).astimezone(timezone.utc)
        return format_datetime(moment.replace(tzinfo=None))

    def entry(self, model: Model, env: Env, value: Any) -> tuple[Any, list[Any], dict[str, Any]]:
        """The group's value on the wire, its domain leaves and its ``__range``."""
        if value is None:
            return False, [[self.name, "=", False]], {self.spec: False}
        if self.field.type in ("date", "datetime"):
            start, stop = value
            low, high = (
                (self._utc(start), self._utc(stop))
                if self.field.type == "datetime"
                else (format_date(start), format_date(stop))
            )
            leaves = ["&", [self.name, ">=", low], [self.name, "<", high]]
            return _label(start, self.granularity), leaves, {self.spec: {"from": low, "to": high}}
        if self.field.type in ("many2one", "many2many"):
            assert self.field.relation is not None
            label = model.related_display_name(env, self.field.relation, value)
            return [value, label], [[self.name, "=", value]], {}
        return value, [[self.name, "=", value]], {}


def _aggregate(kind: str, values: list[Any]) -> Any:
    present = [v for v in values if v not in (None, False)]
    if kind == "count":
        return len(present)
    if kind == "count_distinct":
        return len(set(present))
    if not present:
        return False if kind in ("min", "max", "avg") else 0
    if kind == "sum":
        return sum(present)
    if kind == "avg":
        return sum(present) / len(present)
    return min(present) if kind == "min" else max(present)


def _aggregates(model: Model, fields: Sequence[str]) -> list[tuple[str, str, str]]:
    """(output name, field, function) for each aggregate ``fields`` asks for."""
    wanted = []
    for spec in fields or ():
        name, _, kind = str(spec).partition(":")
        if name not in model.spec.fields:
            continue
        field = model.spec.fields[name]
        if kind and kind in _AGGREGATES:
            wanted.append((name, name, kind))
        elif not kind and field.type in ("integer", "float", "monetary") and name != "id":
            wanted.append((name, name, "sum"))
    return wanted


@attrs.frozen
class _Group:
    """One group: its keys' wire values by spec, its own domain leaves, its rows."""

    values: dict[str, Any]
    leaves: list[list[Any]]
    ranges: dict[str, Any]
    ids: list[int]


def _groups(
    model: Model,
    env: Env,
    domain: Sequence[Any],
    keys: Sequence[_Key],
    offset: int,
    limit: int | None,
    orderby: str | bool,
) -> list[_Group]:
    rows: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    if not keys:  # one group, empty or not, as SQL without GROUP BY
        rows[()] = []
    for rid in model.search_ids(env, list(domain or [])):
        for values in itertools.product(*(key.values(model, env, rid) for key in keys)):
            rows[values].append(rid)
    descending = bool(orderby) and " desc" in str(orderby).lower()
    ordered = sorted(
        rows.items(),
        key=lambda item: tuple((value is None, _sortable(value)) for value in item[0]),
        reverse=descending,
    )
    groups = []
    for values, ids in ordered[offset or 0 :][: limit or None]:
        group = _Group({}, [], {}, ids)
        for key, value in zip(keys, values, strict=True):
            wire, leaf, span = key.entry(model, env, value)
            group.values[key.spec] = wire
            group.leaves.append(leaf)
            group.ranges.update(span)
        groups.append(group)
    return groups


def _aggregated(model: Model, env: Env, kind: str, name: str, ids: list[int]) -> Any:
    if kind == "array_agg":
        return [_column(model, env, rid, name) for rid in sorted(ids)]
    return _aggregate(kind, [model.value(env, rid, name) for rid in ids])


def read_group(
    model: Model,
    env: Env,
    domain: Sequence[Any],
    fields: Sequence[str],
    groupby: str | Sequence[str],
    offset: int = 0,
    limit: int | None = None,
    orderby: str | bool = False,
    lazy: bool = True,
) -> list[dict[str, Any]]:
    """The groups of the records matching ``domain``."""
    specs = [groupby] if isinstance(groupby, str) else list(groupby or [])
    keys = [_Key(model, spec, env) for spec in (specs[:1] if lazy else specs)]
    aggregates = _aggregates(model, fields)
    result = []
    for group in _groups(model, env, domain, keys, offset, limit, orderby):
        entry: dict[str, Any] = dict(group.values)
        if lazy:
            entry[f"{keys[0].name}_count" if keys else "__count"] = len(group.ids)
        else:
            entry["__count"] = len(group.ids)
        for out, name, kind in aggregates:
            entry[out] = _aggregated(model, env, kind, name, group.ids)
        entry["__domain"] = and_domains([list(domain or []), *group.leaves])
        if lazy and len(specs) > 1:
            entry["__context"] = {"group_by": specs[1:]}
        if any(isinstance(v, dict) for v in group.ranges.values()):
            entry["__range"] = {k: v for k, v in group.ranges.items() if isinstance(v, dict)}
        result.append(entry)
    return result


def formatted_read_group(
    model: Model,
    env: Env,
    domain: Sequence[Any],
    groupby: Sequence[str] = (),
    aggregates: Sequence[str] = (),
    offset: int = 0,
    limit: int | None = None,
    order: str | None = None,
) -> list[dict[str, Any]]:
    """19.0's ``formatted_read_group``: see the module docstring."""
    keys = [_Key(model, spec, env) for spec in groupby]
    result = []
    for group in _groups(model, env, domain, keys, offset, limit, order or False):
        entry: dict[str, Any] = {
            spec: group.values[key.spec] for spec, key in zip(groupby, keys, strict=True)
        }
        entry["__extra_domain"] = (
            [leaf for leaves in group.leaves for leaf in normalize(leaves)]
            if keys
            else [[1, "=", 1]]
        )
        for spec in aggregates:
            if spec == "__count":
                entry[spec] = len(group.ids)
                continue
            name, _, kind = spec.partition(":")
            if name not in model.spec.fields or kind not in _AGGREGATES:
                raise OdooValueError(f"Invalid aggregate {spec!r}")
            entry[spec] = _aggregated(model, env, kind, name, group.ids)
        result.append(entry)
    return result


def _column(model: Model, env: Env, rid: int, name: str) -> Any:
    """One stored value as ``ARRAY_AGG`` returns it, as Odoo's JSON encoder writes it."""
    field = model.spec.fields[name]
    value = model.value(env, rid, name, real=True)
    if field.type == "boolean":
        return bool(value)
    if value is None or value is False or value == ():
        return None
    if field.x2many:
        raise OdooValueError(f"Cannot aggregate the x2many field {name!r}")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    return value


def _sortable(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0].isoformat()
    return str(value) if not isinstance(value, (int, float)) else value
