"""Stored items, their read-only views, and series expansion into instances.

A mailbox stores :class:`Item` objects: single instances and series masters.
A master keeps its exceptions (:class:`Modified`, keyed by original start)
and its cancelled occurrences. Occurrences are not stored: they are computed
from the master's recurrence, and their ids encode the master id and the
original start, so an occurrence keeps its id when it becomes an exception.

An exception stores only the fields it overrides; the rest comes from the
master, so a series-wide change of, say, the subject reaches exceptions that
did not change their subject, as in Outlook.

:class:`View` is an immutable snapshot of one item or instance as Graph would
show it (delta rounds keep views, so later writes do not leak into them).
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._graph._recurrence import slots
from calsync.testing._graph._zones import UTC, as_utc, to_wall

if TYPE_CHECKING:
    from collections.abc import Iterator

    from calsync.testing._graph._content import Content

__all__ = [
    "Item",
    "Modified",
    "View",
    "cancelled_occurrence_id",
    "decode_occurrence_id",
    "exception_view",
    "expansion_zone",
    "has_slot",
    "instance_view",
    "instances",
    "item_view",
    "neighbours",
    "new_change_key",
    "new_ical_uid",
    "new_id",
    "occurrence_id",
    "occurrence_uid",
    "occurrence_view",
    "series_slots",
]

_ID_PREFIX = "AAMkA"
_UID_CLASS = "040000008200E00074C5B7101A82E008"


def _bytes(count: int, rng: random.Random | None) -> bytes:
    return rng.randbytes(count) if rng is not None else secrets.token_bytes(count)


def new_id(rng: random.Random | None = None) -> str:
    """A fresh opaque item id in Outlook's style (from ``rng`` when given, for stable ids)."""
    raw = base64.urlsafe_b64encode(_bytes(30, rng)).decode().rstrip("=")
    return f"{_ID_PREFIX}{raw}AAA="


def new_change_key() -> str:
    """A fresh ``changeKey``."""
    return base64.b64encode(secrets.token_bytes(18)).decode()


def new_ical_uid(rng: random.Random | None = None) -> str:
    """A fresh iCalUId in the shape of Exchange's GlobalObjectId (instance date zeroed)."""
    return f"{_UID_CLASS}00000000{'0' * 32}10000000{_bytes(16, rng).hex().upper()}"


def occurrence_uid(master_uid: str, day: date) -> str:
    """An occurrence's iCalUId: the master's with the instance date filled in, as Exchange does."""
    if not master_uid.startswith(_UID_CLASS) or len(master_uid) < 40:
        digest = hashlib.sha256(f"{master_uid}|{day.isoformat()}".encode()).hexdigest()
        return f"{master_uid}-{digest[:12]}"
    stamp = f"{day.year:04X}{day.month:02X}{day.day:02X}"
    return f"{master_uid[:32]}{stamp}{master_uid[40:]}"


def occurrence_id(master_id: str, original_start: datetime) -> str:
    """The stable id of the occurrence of ``master_id`` originally at ``original_start``."""
    stamp = original_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = base64.urlsafe_b64encode(f"{master_id}|{stamp}".encode()).decode()
    return f"{_ID_PREFIX}{raw}"


def decode_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    """``(master id, original start)`` of an occurrence id; None for any other id."""
    if not event_id.startswith(_ID_PREFIX):
        return None
    raw = event_id[len(_ID_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        master_id, stamp = text.split("|")
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return master_id, when


@attrs.define(eq=False)
class Modified:
    """An exception of a series: the fields it overrides, keyed in the master by original start."""

    id: str
    original_start: datetime
    created: datetime
    modified: datetime
    change_key: str = attrs.field(factory=new_change_key)
    overrides: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(eq=False)
class Item:
    """A stored single instance or series master of one mailbox."""

    id: str
    calendar_id: str
    ical_uid: str
    created: datetime
    modified: datetime
    content: Content
    change_key: str = attrs.field(factory=new_change_key)
    is_organizer: bool = True
    transaction_id: str | None = None
    extended: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    exceptions: dict[datetime, Modified] = attrs.field(factory=dict)
    cancelled: dict[datetime, str] = attrs.field(factory=dict)

    @property
    def kind(self) -> str:
        """``seriesMaster`` or ``singleInstance``."""
        return "seriesMaster" if self.content.recurrence is not None else "singleInstance"

    def touch(self, now: datetime) -> None:
        """Record an edit: new ``changeKey`` and ``lastModifiedDateTime``."""
        self.change_key = new_change_key()
        self.modified = now


@attrs.frozen
class View:
    """One item or instance as Graph shows it, frozen at the time it was taken."""

    id: str
    kind: str
    calendar_id: str
    ical_uid: str
    change_key: str
    created: datetime
    modified: datetime
    content: Content
    is_organizer: bool = True
    master_id: str | None = None
    original_start: datetime | None = None
    transaction_id: str | None = None
    extended: tuple[tuple[str, str], ...] = ()
    cancelled_ids: tuple[str, ...] = ()
    exceptions: tuple[View, ...] = ()

    @property
    def etag(self) -> str:
        """``@odata.etag``: the change key in a weak entity tag."""
        return f'W/"{self.change_key}"'

    @property
    def start_utc(self) -> datetime:
        """Start instant (all-day events: midnight in their own zone)."""
        return self.content.start_utc

    @property
    def end_utc(self) -> datetime:
        """End instant (all-day events: midnight in their own zone)."""
        return self.content.end_utc

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether the instance meets ``[start, end)`` (a zero-length one: starts in it)."""
        if self.start_utc == self.end_utc:
            return start <= self.start_utc < end
        return self.start_utc < end and self.end_utc > start


def item_view(item: Item, *, with_exceptions: bool = False) -> View:
    """The view of a single instance or series master."""
    return View(
        id=item.id,
        kind=item.kind,
        calendar_id=item.calendar_id,
        ical_uid=item.ical_uid,
        change_key=item.change_key,
        created=item.created,
        modified=item.modified,
        content=item.content,
        is_organizer=item.is_organizer,
        transaction_id=item.transaction_id,
        extended=tuple(item.extended.values()),
        cancelled_ids=tuple(cancelled_occurrence_id(item, key) for key in sorted(item.cancelled)),
        exceptions=tuple(
            exception_view(item, item.exceptions[key]) for key in sorted(item.exceptions)
        )
        if with_exceptions
        else (),
    )


def cancelled_occurrence_id(item: Item, original_start: datetime) -> str:
    """A cancelled occurrence as ``cancelledOccurrences`` lists it.

    Graph documents the values as occurrence ids of the form
    ``OID.{seriesMasterId}.{occurrence start date}``, the date in the
    series' recurrence zone (not as the occurrence's own event id).
    """
    day = to_wall(original_start, expansion_zone(item.content)).date()
    return f"OID.{item.id}.{day.isoformat()}"


def expansion_zone(content: Content) -> str:
    """The zone a series expands in: its recurrence zone, else its start zone (all-day: start)."""
    recurrence = content.recurrence
    if content.is_all_day or recurrence is None or recurrence.range.time_zone is None:
        return content.start_zone
    return recurrence.range.time_zone


def series_slots(item: Item) -> Iterator[datetime]:
    """The original starts (UTC) of every slot of a series, cancelled ones included, in order."""
    content = item.content
    recurrence = content.recurrence
    if recurrence is None:
        return
    zone_name = expansion_zone(content)
    first = to_wall(content.start_utc, zone_name)
    for wall in slots(recurrence, first):
        yield as_utc(wall, zone_name)


def _slot_content(item: Item, original_start: datetime) -> Content:
    """The master's content moved to one slot (without the recurrence)."""
    content = item.content
    if content.is_all_day:
        day = to_wall(original_start, content.start_zone)
        return attrs.evolve(
            content, start=day, end=day + (content.end - content.start), recurrence=None
        )
    duration = content.end_utc - content.start_utc
    return attrs.evolve(
        content,
        start=to_wall(original_start, content.start_zone),
        end=to_wall(original_start + duration, content.end_zone),
        recurrence=None,
    )


def _instance_uid(item: Item, original_start: datetime) -> str:
    day = to_wall(original_start, expansion_zone(item.content)).date()
    return occurrence_uid(item.ical_uid, day)


def occurrence_view(item: Item, original_start: datetime) -> View:
    """The view of the unmodified occurrence of ``item`` at ``original_start``."""
    occ_id = occurrence_id(item.id, original_start)
    digest = hashlib.sha256(f"{item.change_key}|{occ_id}".encode()).digest()[:18]
    return View(
        id=occ_id,
        kind="occurrence",
        calendar_id=item.calendar_id,
        ical_uid=_instance_uid(item, original_start),
        change_key=base64.b64encode(digest).decode(),
        created=item.created,
        modified=item.modified,
        content=_slot_content(item, original_start),
        is_organizer=item.is_organizer,
        master_id=item.id,
        original_start=original_start,
    )


def exception_view(item: Item, modified: Modified) -> View:
    """The view of an exception: the slot's content with the exception's overrides."""
    base = _slot_content(item, modified.original_start)
    return View(
        id=modified.id,
        kind="exception",
        calendar_id=item.calendar_id,
        ical_uid=_instance_uid(item, modified.original_start),
        change_key=modified.change_key,
        created=modified.created,
        modified=modified.modified,
        content=attrs.evolve(base, **modified.overrides),
        is_organizer=item.is_organizer,
        master_id=item.id,
        original_start=modified.original_start,
    )


def instance_view(item: Item, original_start: datetime) -> View:
    """The occurrence or exception of ``item`` at ``original_start``."""
    modified = item.exceptions.get(original_start)
    if modified is not None:
        return exception_view(item, modified)
    return occurrence_view(item, original_start)


def instances(item: Item, start: datetime, end: datetime) -> list[View]:
    """The occurrences and exceptions of a series meeting ``[start, end)``, by start time.

    Cancelled occurrences are left out. Slots are read until the window ends;
    exceptions are checked at their own (possibly moved) times.
    """
    if item.content.recurrence is None:
        return []
    modified = (exception_view(item, exception) for exception in item.exceptions.values())
    found = [view for view in modified if view.overlaps(start, end)]
    span = item.content.end_utc - item.content.start_utc
    lead = max(span, timedelta(0)) + timedelta(days=2)
    for original in series_slots(item):
        if original >= end:
            break
        if original + lead < start:
            continue
        if original in item.cancelled or original in item.exceptions:
            continue
        view = occurrence_view(item, original)
        if view.overlaps(start, end):
            found.append(view)
    return sorted(found, key=lambda view: (view.start_utc, view.id))


def has_slot(item: Item, original_start: datetime) -> bool:
    """Whether the series has a slot at ``original_start`` (cancelled or not)."""
    for original in series_slots(item):
        if original >= original_start:
            return original == original_start
    return False


def neighbours(item: Item, original_start: datetime) -> tuple[View | None, View | None]:
    """The live instances before and after the slot at ``original_start``."""
    previous: datetime | None = None
    following: datetime | None = None
    found = False
    for original in series_slots(item):
        if original == original_start:
            found = True
        elif original in item.cancelled:
            continue
        elif found:
            following = original
            break
        else:
            previous = original
    before = None if previous is None else instance_view(item, previous)
    after = None if following is None else instance_view(item, following)
    return before, after
