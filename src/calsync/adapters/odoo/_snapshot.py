"""What the reading and the writing parts of the adapter share: contexts, snapshots, keys.

A :class:`Snapshot` holds ``calendar.event`` rows, ``calendar.attendee`` rows
and ``calendar.recurrence`` records read from Odoo, by id; a :class:`Unit` is
what one :class:`~calsync.adapters.RemoteEvent` is made of (a single row, or
all rows of a recurrence). Calsync keys are stored as external ids
``calsync.link_<key>`` (odoo.md §5.18).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from calsync._model._window import Window
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._cursor import ids_digest
from calsync.adapters.odoo._mapping import AttendeeRow

__all__ = [
    "ALL_CONTEXT",
    "DAY",
    "LISTED_FIELDS",
    "READ_CONTEXT",
    "SECOND",
    "WRITE_CONTEXT",
    "Snapshot",
    "Unit",
    "external_id",
    "key_of",
    "series_digests",
    "window_bounds",
    "write_date_of",
]

#: Every write: no invitation/update mails from Odoo (calsync's side effects are
#: previewed by the engine, and Outlook mails the attendees), datetimes in UTC,
#: and from Odoo 19 on no "Organized by ... Contact Details ..." block appended to
#: the description of the events it creates (``Meeting.create``): the event's
#: description is the other side's, and a block only Odoo holds would never sync.
WRITE_CONTEXT: dict[str, Any] = {
    "no_mail_to_attendees": True,
    "skip_contact_description": True,
    "tz": "UTC",
}
READ_CONTEXT: dict[str, Any] = {"tz": "UTC"}
#: Reads that must see archived rows too.
ALL_CONTEXT: dict[str, Any] = {"tz": "UTC", "active_test": False}
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
_KEY_MODULE = "calsync"
#: What an incremental pull lists of each row: its ``write_date`` and public fields.
LISTED_FIELDS = ("write_date", "recurrence_id", "active", "start", "stop")


def window_bounds(window: Window) -> tuple[str, str]:
    """The window a day wider each way, as Odoo's datetimes: rows that start before the
    second and stop after the first may hold events of the window."""
    return mapping.format_datetime(window.start - DAY), mapping.format_datetime(window.end + DAY)


def external_id(key: str) -> str:
    """The external id of a calsync key (``calsync.link_<key>``; other characters hex-coded)."""
    if key and all(ch.isalnum() or ch in "-_" for ch in key) and key.isascii():
        return f"{_KEY_MODULE}.link_{key}"
    return f"{_KEY_MODULE}.linkx_{key.encode().hex()}"


def key_of(xmlid: object) -> str | None:
    """The calsync key of an external id (None for other external ids)."""
    if not isinstance(xmlid, str) or not xmlid.startswith(f"{_KEY_MODULE}.link"):
        return None
    name = xmlid[len(_KEY_MODULE) + 1 :]
    if name.startswith("link_"):
        return name[len("link_") :]
    if name.startswith("linkx_"):
        try:
            return bytes.fromhex(name[len("linkx_") :]).decode()
        except ValueError:
            return None
    return None


def write_date_of(row: Mapping[str, Any]) -> str:
    """A row's ``write_date`` as Odoo sent it (empty when masked or missing)."""
    value = row.get("write_date")
    return value if isinstance(value, str) else ""


def series_digests(rows: Iterable[tuple[int, int | None]]) -> dict[int, str]:
    """Per recurrence, a digest of its row ids (rows without a recurrence are left out)."""
    members: dict[int, list[int]] = defaultdict(list)
    for row_id, rid in rows:
        if rid is not None:
            members[rid].append(row_id)
    return {rid: ids_digest(ids) for rid, ids in members.items()}


@attrs.define
class Snapshot:
    """Rows, attendees and recurrences read from Odoo, by id."""

    rows: dict[int, dict[str, Any]] = attrs.Factory(dict)
    attendees: dict[int, AttendeeRow] = attrs.Factory(dict)
    recurrences: dict[int, dict[str, Any]] = attrs.Factory(dict)
    #: recurrences whose every row (archived ones too) is in ``rows``
    complete: set[int] = attrs.Factory(set)

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add (or replace) rows by id."""
        for row in rows:
            self.rows[int(row["id"])] = dict(row)

    def members(self, rid: int) -> list[dict[str, Any]]:
        """The rows linked to recurrence ``rid``."""
        return [
            row for row in self.rows.values() if mapping.many2one(row.get("recurrence_id")) == rid
        ]


@attrs.define
class Unit:
    """What one RemoteEvent is made of: a single row, or a recurrence.

    ``sid`` is the id the event is reported under (for a series: 0 until known,
    then the id remembered for the recurrence, see ``OdooCalendar._series_id``).
    """

    sid: int
    rid: int | None = None
