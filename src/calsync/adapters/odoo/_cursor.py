"""The incremental pull's cursor: an opaque JSON string only this adapter reads.

``{"v": 1, "w": [window start, window end], "since": "YYYY-MM-DD HH:MM:SS",
"seen": {row id: row hash}, "att": {attendee id: "write_date|state"},
"series": {recurrence id: [series id, anchor]}, "rows": {recurrence id: digest}}``

* ``since`` is the newest ``write_date`` known; the next poll asks for
  ``write_date > since - overlap`` (Odoo stamps a row with its transaction's
  *start*, so a long transaction can commit behind the cursor: odoo.md §5.2).
* ``seen`` de-duplicates the rows the overlap returns again: a row whose hash
  (of every field read, ``write_date`` included) is unchanged is not reported
  twice. Hashing the content, not just ``(id, write_date)``, also catches a
  second change within the same second (write_date has second precision).
* ``att`` does the same for attendee rows (RSVPs do not move the event's
  ``write_date``: §5.3).
* ``series`` remembers, per recurrence, the id calsync reports the series
  under and its first slot, which Odoo does not store (see ``_series``).
* ``rows`` holds, per recurrence, a digest of the ids of its active rows in
  the window: an occurrence deleted with ``unlink`` changes nothing else
  (§5.8), so only this id-set diff shows it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs

from calsync._model._recurrence import OccurrenceKey
from calsync._model._window import Window

__all__ = ["EPOCH", "Cursor", "ids_digest", "row_hash", "shift"]

UTC = timezone.utc
EPOCH = "1970-01-01 00:00:00"
_VERSION = 1


def ids_digest(ids: Iterable[int]) -> str:
    """A short digest of a set of row ids."""
    text = ",".join(str(i) for i in sorted(set(ids)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def row_hash(row: Mapping[str, Any]) -> str:
    """A short hash of a row as read (every field, ``write_date`` included)."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _key_text(key: OccurrenceKey) -> str:
    return key.isoformat()


def _key_value(text: str) -> OccurrenceKey:
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(UTC)
    return date.fromisoformat(text)


@attrs.define
class Cursor:
    """The decoded cursor."""

    window: tuple[str, str]
    since: str = EPOCH
    seen: dict[int, str] = attrs.Factory(dict)
    attendees: dict[int, str] = attrs.Factory(dict)
    series: dict[int, tuple[int, OccurrenceKey | None]] = attrs.Factory(dict)
    rows: dict[int, str] = attrs.Factory(dict)

    @staticmethod
    def window_key(window: Window) -> tuple[str, str]:
        """How a window is written in the cursor."""
        return (window.start.isoformat(), window.end.isoformat())

    @classmethod
    def parse(cls, text: str | None, window: Window) -> Cursor | None:
        """The cursor, or None when it is missing, foreign, or for another window."""
        if not text:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != _VERSION:
                return None
            stored = tuple(data["w"])
            if stored != cls.window_key(window):
                return None
            datetime.strptime(data["since"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 (validation)
            series: dict[int, tuple[int, OccurrenceKey | None]] = {}
            for rid, (sid, anchor) in data.get("series", {}).items():
                series[int(rid)] = (int(sid), _key_value(anchor) if anchor else None)
            return cls(
                window=(str(stored[0]), str(stored[1])),
                since=str(data["since"]),
                seen={int(k): str(v) for k, v in data.get("seen", {}).items()},
                attendees={int(k): str(v) for k, v in data.get("att", {}).items()},
                series=series,
                rows={int(k): str(v) for k, v in data.get("rows", {}).items()},
            )
        except (ValueError, KeyError, TypeError):
            return None

    def dump(self) -> str:
        """The cursor as text."""
        data = {
            "v": _VERSION,
            "w": list(self.window),
            "since": self.since,
            "seen": {str(k): v for k, v in sorted(self.seen.items())},
            "att": {str(k): v for k, v in sorted(self.attendees.items())},
            "series": {
                str(rid): [sid, _key_text(anchor) if anchor is not None else None]
                for rid, (sid, anchor) in sorted(self.series.items())
            },
            "rows": {str(k): v for k, v in sorted(self.rows.items())},
        }
        return json.dumps(data, separators=(",", ":"))


def shift(stamp: str, delta: timedelta) -> str:
    """A ``YYYY-MM-DD HH:MM:SS`` stamp moved by ``delta`` (not before the epoch)."""
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) + delta
    floor = datetime(1970, 1, 1, tzinfo=UTC)
    return max(moment, floor).strftime("%Y-%m-%d %H:%M:%S")
