"""What the Odoo adapter accepts as Odoo's answer to a call.

Two levels, two rules:

- **The envelope** (the ``result`` of a call): ``read``/``search_read``/
  ``get_metadata`` answer a list of objects, ``search`` a list of ids,
  ``create`` an id or a list of ids, ``write``/``unlink`` ``true``, ``load``
  ``{"ids", "messages"}``. Anything else (a string, ``null``, an envelope
  without ``result``, an object where a list belongs) is a
  :class:`~calsync.MalformedAnswerError`: nothing is concluded from it and no
  cursor moves past it. Rows of other models than ``calendar.event``
  (attendees, recurrences, users, alarms, tags) belong to this level too: a
  row of theirs without an id fails the call.
- **A calendar.event row** is one event's content: a row without an id, or
  with a field of the wrong type (``start: 123``, no ``stop``), is reported
  unreadable (:func:`row_problem`) and the others go on, as the Outlook
  adapter does with an event it cannot read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from calsync._errors import InvalidEventError, MalformedAnswerError
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._cursor import shift
from calsync.adapters.odoo._snapshot import READ_CONTEXT, SECOND, write_date_of

__all__ = [
    "UNREADABLE",
    "Unread",
    "checked",
    "grouped_arrays",
    "is_id",
    "row_problem",
    "split_rows",
]

logger = logging.getLogger("calsync.adapters.odoo")

#: What building an event from rows of unexpected content raises.
UNREADABLE = (InvalidEventError, ValueError, TypeError, KeyError)

EVENT_MODEL = "calendar.event"


def is_id(value: object) -> bool:
    """A record id: a positive int (a bool is no id)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


async def grouped_arrays(
    call: Callable[..., Awaitable[Any]],
    major: int,
    model: str,
    domain: Sequence[Any],
    key: str,
    fields: Sequence[str],
    *,
    side: str,
) -> list[tuple[int | None, list[list[Any]]]]:
    """``model``'s rows of ``domain`` grouped in SQL by the many2one ``key``, the ids of
    ``fields`` aggregated (``array_agg``): no row is read. Per group, the key's id
    (``None``: empty) and one array per field, the first of record ids, the others
    of ids or ``None``; any other answer is a :class:`~calsync.MalformedAnswerError`.

    ``call`` is the caller's ``(model, method, *args, **options)``. On 19.0 and later
    (``major``) the call is ``formatted_read_group``: 19.0's ``read_group`` always
    asks for a ``__count``, which Odoo takes for a field it masks, and so leaves
    others' private events out of the groups.
    """
    specs = [f"{name}:array_agg" for name in fields]
    if major >= 19:
        method, columns = "formatted_read_group", specs
        groups = await call(model, method, list(domain), [key], specs, context=dict(READ_CONTEXT))
    else:
        method, columns = "read_group", list(fields)
        groups = await call(
            model, method, list(domain), specs, [key], lazy=False, context=dict(READ_CONTEXT)
        )
    found: list[tuple[int | None, list[list[Any]]]] = []
    for group in groups:
        arrays = [group.get(column) for column in columns]
        if not _id_arrays(arrays):
            raise MalformedAnswerError(
                f"Odoo answered {model}.{method} by {key} without its arrays", side=side
            )
        found.append((mapping.many2one(group.get(key)), arrays))
    return found


def _id_arrays(arrays: Sequence[object]) -> bool:
    """Lists of one length: the first of record ids, the others of ids or ``None``."""
    first = arrays[0]
    return (
        isinstance(first, list)
        and all(is_id(i) for i in first)
        and all(
            isinstance(array, list)
            and len(array) == len(first)
            and all(i is None or is_id(i) for i in array)
            for array in arrays[1:]
        )
    )


def _rows(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(row, Mapping) for row in value)


def _ids(value: object) -> bool:
    return isinstance(value, list) and all(is_id(item) for item in value)


def _load(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and "ids" in value
        and (value["ids"] in (False, None) or _ids(value["ids"]))
        and isinstance(value.get("messages"), list)
    )


def _groups(value: object) -> bool:
    """``read_group``'s groups: objects, which carry no ``id`` of a record."""
    return _rows(value)


#: The answer each method must give (methods not listed are taken as they come).
_SHAPES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "read": ("a list of rows", _rows),
    "search_read": ("a list of rows", _rows),
    "get_metadata": ("a list of rows", _rows),
    "search": ("a list of ids", _ids),
    "search_count": ("a count", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "create": ("an id or a list of ids", lambda v: is_id(v) or _ids(v)),
    "write": ("true", lambda v: v is True),
    "unlink": ("true", lambda v: v is True),
    "load": ("a load result", _load),
    "read_group": ("a list of groups", _groups),
    "formatted_read_group": ("a list of groups", _groups),
    "context_get": ("a context", lambda v: isinstance(v, Mapping)),
}


def checked(result: Any, model: str, method: str, *, side: str | None = None) -> Any:
    """``result`` when it has the shape ``model.method`` answers; else MalformedAnswerError."""
    shape = _SHAPES.get(method)
    if shape is not None and not shape[1](result):
        raise MalformedAnswerError(
            f"Odoo answered {model}.{method} without {shape[0]} ({_sketch(result)})", side=side
        )
    if shape is not None and shape[1] is _rows and model != EVENT_MODEL:
        bad = [row for row in result if not is_id(row.get("id"))]
        if bad:
            raise MalformedAnswerError(
                f"Odoo answered {model}.{method} with {len(bad)} row(s) without an id", side=side
            )
    return result


def _sketch(value: object) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _many2one(value: object) -> bool:
    return value is False or (isinstance(value, list) and len(value) == 2 and is_id(value[0]))


def _text(value: object) -> bool:
    return value is False or isinstance(value, str)


#: The type of each ``calendar.event`` field the adapter reads.
_FIELD_TYPES: dict[str, Callable[[object], bool]] = {
    "name": _text,
    "start": lambda v: isinstance(v, str),
    "stop": lambda v: isinstance(v, str),
    "allday": lambda v: isinstance(v, bool),
    "start_date": _text,
    "stop_date": _text,
    "description": _text,
    "location": _text,
    "videocall_location": _text,
    "privacy": _text,
    "show_as": _text,
    "user_id": _many2one,
    "partner_id": _many2one,
    "partner_ids": _ids,
    "attendee_ids": _ids,
    "alarm_ids": _ids,
    "categ_ids": _ids,
    "recurrence_id": _many2one,
    "follow_recurrence": lambda v: isinstance(v, bool),
    "active": lambda v: isinstance(v, bool),
    "write_date": _text,
}


def row_problem(row: Mapping[str, Any], fields: Iterable[str]) -> str | None:
    """Why calsync cannot read this ``calendar.event`` row (None: it can)."""
    if not is_id(row.get("id")):
        return "a calendar.event row without an id"
    for field in fields:
        if field not in row:
            return f"no {field}"
        check = _FIELD_TYPES.get(field)
        if check is not None and not check(row[field]):
            return f"{field} {row[field]!r} is not what Odoo sends"
    return None


def split_rows(
    rows: Sequence[Mapping[str, Any]], fields: Iterable[str]
) -> tuple[list[Mapping[str, Any]], dict[str, tuple[str, Mapping[str, Any]]]]:
    """The readable rows, and the others by a label (their id, else their place) with why."""
    names = tuple(fields)
    good: list[Mapping[str, Any]] = []
    bad: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for place, row in enumerate(rows):
        problem = row_problem(row, names)
        if problem is None:
            good.append(row)
            continue
        label = str(row["id"]) if is_id(row.get("id")) else f"calendar.event row #{place}"
        bad[label] = (problem, row)
    return good, bad


@attrs.define
class Unread:
    """What one read could not understand: events by label, with why and their rows.

    A label is the event's id (a series: the id it is reported under), or
    ``calendar.event row #n`` for a row that came without an id.
    """

    reasons: dict[str, str] = attrs.Factory(dict)
    rows: dict[str, list[Mapping[str, Any]]] = attrs.Factory(dict)
    #: A row came garbled (no id, a field of the wrong type), not merely beyond the model.
    garbled: bool = False

    def add(
        self, label: str, reason: str, rows: Iterable[Mapping[str, Any]], *, garbled: bool = False
    ) -> None:
        """Record an event calsync cannot read, and the rows it was read from.

        ``garbled``: the row is not what Odoo sends (a listing holding one is
        incomplete: the event it stands for may be the twin of a new event on
        the other side, which must not be copied over it).
        """
        self.reasons.setdefault(label, reason)
        self.rows.setdefault(label, []).extend(rows)
        self.garbled = self.garbled or garbled

    def labels(self) -> frozenset[str]:
        """Every label recorded."""
        return frozenset(self.reasons)

    def anonymous(self) -> bool:
        """Whether a row came without an id (so any id may be the one it stood for)."""
        return any(not label.isdigit() for label in self.reasons)

    def rows_with_series(self) -> list[Mapping[str, Any]]:
        """The unreadable rows that still name their series (the series cannot be read)."""
        return [
            row
            for rows in self.rows.values()
            for row in rows
            if isinstance(row.get("recurrence_id"), list) and row["recurrence_id"]
            and is_id(row["recurrence_id"][0])
        ]  # fmt: skip

    def series_label(self, rid: int) -> str | None:
        """The label of an unreadable row of series ``rid``, if there is one."""
        for label, rows in self.rows.items():
            for row in rows:
                value = row.get("recurrence_id")
                if isinstance(value, list) and value and value[0] == rid:
                    return label
        return None

    def holds(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` belongs to an event calsync could not read."""
        return any(row is held or row.get("id") == held.get("id")
                   for rows in self.rows.values() for held in rows)  # fmt: skip

    def hold(self, since: str) -> str | None:
        """The cursor's ``since`` that reads these events again next time.

        Just before the oldest ``write_date`` among them; None when one of them
        has no id or no ``write_date``: the cursor must not move at all.
        """
        stamps = []
        for label, rows in self.rows.items():
            found = [write_date_of(row) for row in rows]
            if not label.isdigit() or not all(found):
                return None
            stamps += found
        return min([since, *(shift(stamp, -SECOND) for stamp in stamps)])

    def report(self, side: str) -> dict[str, str]:
        """The reasons by label, each logged once as a warning."""
        for label, reason in self.reasons.items():
            logger.warning(
                "Odoo event %s left out: calsync cannot read it (%s)",
                label,
                reason,
                extra={"calsync_side": side, "calsync_event": label},
            )
        return dict(self.reasons)
