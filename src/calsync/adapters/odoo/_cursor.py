"""The incremental pull's cursor: an opaque JSON string only this adapter reads.

``{"v": 2, "w": [window start, window end], "since": "YYYY-MM-DD HH:MM:SS",
"read": "YYYY-MM-DD HH:MM:SS", "seen": {row id: "write_date|row hash"},
"open": {second: read at}, "closed": second, "att": {attendee id:
"write_date|state"}, "series": {recurrence id: [series id, anchor]},
"rows": {recurrence id: digest}}``

* ``since`` is the newest ``write_date`` known, ``read`` a time the last poll
  read after (see :meth:`Cursor.low`). Each poll lists ``(id, write_date)`` of
  the rows written after the later of the two, minus the overlap: Odoo stamps
  a row with its transaction's *start*, so a long transaction can commit
  behind the cursor (odoo.md §5.2); its rows then show a ``write_date``
  calsync has not seen for them. A transaction that commits after the last
  poll read started less than an overlap before it, so rows stamped earlier
  were all there to be read then; ``read`` lets a quiet calendar stop listing
  the last bulk write once the overlap has passed it.
* ``seen`` holds, for the rows written in that overlap, the ``write_date`` and
  a hash of the row as last read in full. A row listed with the same
  ``write_date`` is not read again: only new or moved ``write_date`` s are.
* ``open`` names the seconds in which calsync's last reads may have happened,
  with when calsync first read in them (its own clock, Unix time): Odoo's
  ``write_date`` has second precision, so a second write in the same second,
  after calsync read the first, looks unchanged (§5.17). Such a write starts
  after that read, so its row sorts after every row calsync saw of that second
  (rows sort by their exact stamp): the last of them, in Odoo's order, is read
  in full again at each poll until a poll is known to read after that second
  has passed (it saw a later ``write_date``, or :data:`SETTLE` seconds went
  by since the first read in it); ``closed`` is then the newest such second.
  When that row was written again, every row of its second is read again (others
  may have been written after the read too, each sorting before it).
* ``att`` does the same for attendee rows (RSVPs do not move the event's
  ``write_date``: §5.3); the state is in the listing itself.
* ``series`` remembers, per recurrence, the id calsync reports the series
  under and its first slot, which Odoo does not store (see ``_series``).
* ``rows`` holds, per recurrence, a digest of the ids of its active rows in
  the window: an occurrence deleted with ``unlink`` changes nothing else
  (§5.8), so only this id-set diff shows it.

A cursor made for another window is still read: the adapter lists what the
new window adds instead of starting over. A version 1 cursor (hashes without
``write_date``) is read too: its rows are read once more in full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs

from calsync._model._recurrence import OccurrenceKey
from calsync._model._window import Window

__all__ = [
    "EPOCH",
    "SETTLE",
    "Cursor",
    "Seen",
    "ids_digest",
    "last_seen_of",
    "low_bound",
    "row_hash",
    "shift",
]

UTC = timezone.utc
EPOCH = "1970-01-01 00:00:00"
#: Seconds after calsync first read in a second when no write can start in it any
#: more (one second, and room for calsync's clock and Odoo's to drift apart).
SETTLE = 10.0
_VERSION = 2
_VERSIONS = (1, 2)


def ids_digest(ids: Iterable[int]) -> str:
    """A short digest of a set of row ids."""
    text = ",".join(str(i) for i in sorted(set(ids)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


#: Fields holding a set of ids, hashed sorted: Odoo lists a row's attendees in
#: ``calendar.attendee._order``, ``create_date ASC``, and the attendees created with
#: the event tie; PostgreSQL then returns them in whatever order it finds them, which
#: one attendee's answer can change (seen on 19.0).
_ID_SETS = frozenset({"attendee_ids", "partner_ids", "alarm_ids", "categ_ids"})


def row_hash(row: Mapping[str, Any]) -> str:
    """A short hash of a row as read (every field, ``write_date`` included; sets of ids
    in any order)."""
    normal = {
        name: sorted(value) if name in _ID_SETS and _all_ids(value) else value
        for name, value in row.items()
    }
    text = json.dumps(normal, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _all_ids(value: object) -> bool:
    return isinstance(value, list) and all(type(item) is int for item in value)


@attrs.frozen
class Seen:
    """A row as calsync last read it in full: its ``write_date`` and the hash of the row."""

    write_date: str
    hash: str

    def dump(self) -> str:
        """``write_date|hash``."""
        return f"{self.write_date}|{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Seen:
        """The inverse of :meth:`dump`; a bare hash (version 1) has no ``write_date``."""
        stamp, _, digest = text.rpartition("|")
        return cls(stamp, digest)


def last_seen_of(
    listed: Sequence[tuple[int, str]], seen: Mapping[int, Seen], second: str
) -> int | None:
    """The row to read again for ``second``: the last, in Odoo's order, of those seen in it.

    ``listed`` is ``(id, write_date)`` in ``write_date`` order, which Odoo sorts by the
    exact stamp. A write in ``second`` that came after calsync's read sorts after every
    row seen then, and keeps its row's ``write_date`` string: if there was one, this
    row is one it wrote.
    """
    found = None
    for row_id, stamp in listed:
        known = seen.get(row_id)
        if stamp == second and known is not None and known.write_date == stamp:
            found = row_id
    return found


def _key_text(key: OccurrenceKey) -> str:
    return key.isoformat()


def _key_value(text: str) -> OccurrenceKey:
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(UTC)
    return date.fromisoformat(text)


def _stamp(text: object) -> str:
    value = str(text)
    datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (validation)
    return value


@attrs.define
class Cursor:
    """The decoded cursor."""

    window: tuple[str, str]
    since: str = EPOCH
    #: a time (Odoo's clock, to the second) the last poll read after; EPOCH when unknown
    read: str = EPOCH
    seen: dict[int, Seen] = attrs.Factory(dict)
    attendees: dict[int, str] = attrs.Factory(dict)
    series: dict[int, tuple[int, OccurrenceKey | None]] = attrs.Factory(dict)
    rows: dict[int, str] = attrs.Factory(dict)
    open: dict[str, float] = attrs.Factory(dict)
    #: the newest second known to be over when calsync last read in it (none is open)
    closed: str = EPOCH
    #: the uid of the transport's login (the next process skips ``common.login``)
    login_uid: int | None = None

    @staticmethod
    def window_key(window: Window) -> tuple[str, str]:
        """How a window is written in the cursor."""
        return (window.start.isoformat(), window.end.isoformat())

    def low(self, overlap: timedelta) -> str:
        """The ``write_date`` after which the next poll lists rows (:func:`low_bound`)."""
        return low_bound(self.since, self.read, overlap)

    def made_for(self, window: Window) -> bool:
        """Whether this cursor describes ``window`` (else the window moved since)."""
        return self.window == self.window_key(window)

    def old_window(self) -> Window:
        """The window this cursor was made for."""
        start, end = (datetime.fromisoformat(text) for text in self.window)
        return Window(start, end)

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor, or None when it is missing or foreign."""
        if not text:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") not in _VERSIONS:
                return None
            start, end = (str(value) for value in data["w"])
            Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
            series: dict[int, tuple[int, OccurrenceKey | None]] = {}
            for rid, (sid, anchor) in data.get("series", {}).items():
                series[int(rid)] = (int(sid), _key_value(anchor) if anchor else None)
            return cls(
                window=(start, end),
                since=_stamp(data["since"]),
                read=_stamp(data.get("read", EPOCH)),
                seen={int(k): Seen.parse(str(v)) for k, v in data.get("seen", {}).items()},
                attendees={int(k): str(v) for k, v in data.get("att", {}).items()},
                series=series,
                rows={int(k): str(v) for k, v in data.get("rows", {}).items()},
                open={_stamp(k): float(v) for k, v in data.get("open", {data["since"]: 0}).items()},
                closed=_stamp(data.get("closed", EPOCH)),
                # an id the transport takes (JsonRpcTransport.assume_uid), or it logs in
                login_uid=uid if isinstance(uid := data.get("uid"), int) else None,
            )
        except (ValueError, KeyError, TypeError):
            return None

    def dump(self) -> str:
        """The cursor as text."""
        data = {
            "v": _VERSION,
            "w": list(self.window),
            "since": self.since,
            "read": self.read,
            "seen": {str(k): v.dump() for k, v in sorted(self.seen.items())},
            "open": dict(sorted(self.open.items())),
            "closed": self.closed,
            "att": {str(k): v for k, v in sorted(self.attendees.items())},
            "series": {
                str(rid): [sid, _key_text(anchor) if anchor is not None else None]
                for rid, (sid, anchor) in sorted(self.series.items())
            },
            "rows": {str(k): v for k, v in sorted(self.rows.items())},
        }
        if self.login_uid is not None:
            data["uid"] = self.login_uid
        return json.dumps(data, separators=(",", ":"))


def low_bound(since: str, read: str, overlap: timedelta) -> str:
    """``overlap`` before the later of ``since`` (the newest ``write_date`` known) and
    ``read`` (a time the last poll read after): no row a poll has not seen is older."""
    return shift(max(since, read), -overlap)


def shift(stamp: str, delta: timedelta) -> str:
    """A ``YYYY-MM-DD HH:MM:SS`` stamp moved by ``delta`` (not before the epoch)."""
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) + delta
    floor = datetime(1970, 1, 1, tzinfo=UTC)
    return max(moment, floor).strftime("%Y-%m-%d %H:%M:%S")
