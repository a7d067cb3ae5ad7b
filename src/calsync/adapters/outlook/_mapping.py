"""Graph's event JSON to the model and back: the whole field mapping, in one table.

Each :class:`Field` names a model content field, how to read it from Graph's
JSON and how to write it; :data:`FIELDS` lists them. A create sends every
field; an update sends only the fields whose written form changed
(:func:`patch_body`), so an unchanged body, with its online-meeting blob, is
never rewritten. What Graph only reports (organizer, join URL, isCancelled,
lastModifiedDateTime) is read, never written.

========================  =====================================  ===========================
model                     Graph                                  notes
========================  =====================================  ===========================
title                     subject
start/end/timezone        start, end, isAllDay,                  asked in UTC; the zone from
                          originalStartTimeZone                  originalStartTimeZone (IANA)
description               body (html)                            the document is unwrapped
location                  location.displayName
online_meeting_url        onlineMeeting.joinUrl                  read only
organizer                 organizer.emailAddress                 read only
attendees                 attendees (type, emailAddress,         the organizer is left out;
                          status.response)                       responses read, never written
privacy                   sensitivity                            normal = public; personal
                                                                 reads as private
availability              showAs                                 unknown reads as busy
reminders                 isReminderOn,                          one reminder
                          reminderMinutesBeforeStart
categories                categories
recurrence                recurrence (see ``_recurrence``)       series only
cancelled                 isCancelled                            read only
modified                  lastModifiedDateTime                   metadata
========================  =====================================  ===========================

On an attendee's copy (``isOrganizer`` false) Graph hides the others'
answers; the mailbox owner's own answer is in ``responseStatus``, and it is
read into the owner's attendee row.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from calsync._errors import InvalidEventError, UnsupportedRecurrenceError
from calsync._model._event import Event
from calsync._model._html import canonical_html
from calsync._model._recurrence import OccurrenceKey, Recurrence
from calsync._model._values import (
    Attendee,
    AttendeeKind,
    Availability,
    Person,
    Privacy,
    Response,
)
from calsync.adapters.outlook._recurrence import first_occurrence, rule_from_graph, rule_to_graph
from calsync.adapters.outlook._zones import to_iana

__all__ = [
    "FIELDS",
    "SELECT",
    "Field",
    "create_body",
    "event_from_graph",
    "master_patch_body",
    "parse_instant",
    "patch_body",
    "series_from_graph",
]

UTC = timezone.utc

#: Sensitivity and showAs, both ways.
SENSITIVITY_IN = {
    "normal": Privacy.PUBLIC,
    "personal": Privacy.PRIVATE,
    "private": Privacy.PRIVATE,
    "confidential": Privacy.CONFIDENTIAL,
}
SENSITIVITY_OUT = {
    Privacy.DEFAULT: "normal",
    Privacy.PUBLIC: "normal",
    Privacy.PRIVATE: "private",
    Privacy.CONFIDENTIAL: "confidential",
}
SHOW_AS_IN = {
    "free": Availability.FREE,
    "tentative": Availability.TENTATIVE,
    "busy": Availability.BUSY,
    "oof": Availability.OUT_OF_OFFICE,
    "workingelsewhere": Availability.WORKING_ELSEWHERE,
    "unknown": Availability.BUSY,
}
SHOW_AS_OUT = {
    Availability.FREE: "free",
    Availability.TENTATIVE: "tentative",
    Availability.BUSY: "busy",
    Availability.OUT_OF_OFFICE: "oof",
    Availability.WORKING_ELSEWHERE: "workingElsewhere",
}
RESPONSE_IN = {
    "none": Response.NEEDS_ACTION,
    "notresponded": Response.NEEDS_ACTION,
    "organizer": Response.ACCEPTED,
    "accepted": Response.ACCEPTED,
    "tentativelyaccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
}
KIND_IN = {
    "required": AttendeeKind.REQUIRED,
    "optional": AttendeeKind.OPTIONAL,
    "resource": AttendeeKind.RESOURCE,
}
KIND_OUT = {kind: name for name, kind in KIND_IN.items()}

#: What to ``$select`` when reading events (``cancelledOccurrences`` only comes when selected).
SELECT = (
    "id",
    "type",
    "iCalUId",
    "changeKey",
    "lastModifiedDateTime",
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "originalStart",
    "seriesMasterId",
    "location",
    "attendees",
    "organizer",
    "isOrganizer",
    "responseStatus",
    "sensitivity",
    "showAs",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "categories",
    "isCancelled",
    "isOnlineMeeting",
    "onlineMeeting",
    "recurrence",
    "cancelledOccurrences",
)

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_FRACTION = re.compile(r"\.(\d+)")


# -- reading helpers -------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _wall(text: str) -> datetime:
    """A naive wall-clock time from Graph's ``dateTime`` (seven fractional digits, no offset)."""
    cleaned = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.strip())
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1]
    value = datetime.fromisoformat(cleaned)
    return value.replace(tzinfo=None) if value.tzinfo is None else value


def parse_instant(text: str) -> datetime:
    """An aware UTC instant from Graph's instant form (``...0000000Z`` or an offset)."""
    cleaned = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.strip())
    cleaned = cleaned.replace("Z", "+00:00")
    value = datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def read_when(value: Mapping[str, Any], all_day: bool) -> datetime | date:
    """A ``dateTimeTimeZone`` as the model holds it: a date (all-day) or a UTC instant."""
    wall = _wall(_text(value, "dateTime"))
    if wall.tzinfo is not None:
        return wall.date() if all_day else wall.astimezone(UTC)
    if all_day:
        return wall.date()
    zone = ZoneInfo(to_iana(_text(value, "timeZone") or "UTC"))
    return wall.replace(tzinfo=zone).astimezone(UTC)


def unwrap_body(body: Mapping[str, Any]) -> str:
    """The description held in a Graph ``body``: the inner HTML of Outlook's document."""
    content = _text(body, "content")
    if not content:
        return ""
    if _text(body, "contentType").lower() == "text":
        return html.escape(content).replace("\r\n", "\n").replace("\n", "<br>")
    match = _BODY.search(content)
    inner = match.group(1) if match else content
    return inner.strip("\r\n")


def _person(value: Mapping[str, Any]) -> Person | None:
    email = _mapping(value, "emailAddress")
    address = _text(email, "address")
    if "@" not in address:
        return None
    try:
        return Person(address, _text(email, "name"))
    except InvalidEventError:
        return None


def _attendees(data: Mapping[str, Any], owner: str | None) -> tuple[Attendee, ...]:
    organizer = _person(_mapping(data, "organizer"))
    skip = organizer.email if organizer is not None else None
    own_answer = None
    if data.get("isOrganizer") is False and owner:
        response = _text(_mapping(data, "responseStatus"), "response").lower()
        own_answer = RESPONSE_IN.get(response, Response.NEEDS_ACTION)
    found: list[Attendee] = []
    raw = data.get("attendees")
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        email = _mapping(item, "emailAddress")
        address = _text(email, "address").strip().lower()
        if "@" not in address or address == skip:
            continue
        response = RESPONSE_IN.get(
            _text(_mapping(item, "status"), "response").lower(), Response.NEEDS_ACTION
        )
        if own_answer is not None and owner is not None and address == owner.lower():
            response = own_answer
        try:
            found.append(
                Attendee(
                    address,
                    _text(email, "name"),
                    KIND_IN.get(_text(item, "type").lower(), AttendeeKind.REQUIRED),
                    response,
                )
            )
        except InvalidEventError:
            continue
    return tuple(found)


def _reminders(data: Mapping[str, Any]) -> tuple[int, ...]:
    minutes = data.get("reminderMinutesBeforeStart")
    if data.get("isReminderOn") is True and isinstance(minutes, int) and minutes >= 0:
        return (minutes,)
    return ()


def _categories(data: Mapping[str, Any]) -> tuple[str, ...]:
    raw = data.get("categories")
    return tuple(c for c in raw if isinstance(c, str)) if isinstance(raw, list) else ()


def event_zone(data: Mapping[str, Any]) -> str:
    """The IANA zone an event (or a series) was written in."""
    recurrence = _mapping(data, "recurrence")
    series_zone = _text(_mapping(recurrence, "range"), "recurrenceTimeZone")
    return to_iana(series_zone or _text(data, "originalStartTimeZone") or "UTC")


def _read_fields(data: Mapping[str, Any], owner: str | None) -> dict[str, Any]:
    all_day = data.get("isAllDay") is True
    modified = _text(data, "lastModifiedDateTime")
    join = _text(_mapping(data, "onlineMeeting"), "joinUrl")
    return {
        "title": _text(data, "subject"),
        "start": read_when(_mapping(data, "start"), all_day),
        "end": read_when(_mapping(data, "end"), all_day),
        "timezone": None if all_day else event_zone(data),
        "description": unwrap_body(_mapping(data, "body")),
        "location": _text(_mapping(data, "location"), "displayName"),
        "online_meeting_url": join or None,
        "organizer": _person(_mapping(data, "organizer")),
        "attendees": _attendees(data, owner),
        "privacy": SENSITIVITY_IN.get(_text(data, "sensitivity").lower(), Privacy.PUBLIC),
        "availability": SHOW_AS_IN.get(_text(data, "showAs").lower(), Availability.BUSY),
        "reminders": _reminders(data),
        "categories": _categories(data),
        "cancelled": data.get("isCancelled") is True,
        "modified": parse_instant(modified) if modified else None,
    }


def event_from_graph(data: Mapping[str, Any], *, owner: str | None = None) -> Event:
    """A single event, an occurrence or an exception as a model event (no recurrence)."""
    return Event(**_read_fields(data, owner))


def occurrence_key(value: str, *, all_day: bool, zone: str) -> OccurrenceKey:
    """The model's key for Graph's ``originalStart`` (a date for all-day series)."""
    instant = parse_instant(value)
    if all_day:
        return instant.astimezone(ZoneInfo(zone)).date() if zone != "UTC" else instant.date()
    return instant


def cancelled_date(value: str) -> date | None:
    """The date in a cancelled occurrence id, ``OID.{seriesMasterId}.{YYYY-MM-DD}``.

    Graph documents that date as the occurrence's start date in the series'
    recurrence zone.
    """
    tail = value.rsplit(".", 1)[-1] if value.startswith("OID.") else ""
    try:
        return date.fromisoformat(tail)
    except ValueError:
        return None


def _slot_on(event: Event, day: date) -> OccurrenceKey | None:
    """The series slot (cancelled ones included) whose local start falls on ``day``."""
    assert event.recurrence is not None
    plain = Recurrence(event.recurrence.rule)
    zone = ZoneInfo(event.timezone or "UTC")
    low = datetime.combine(day, time(), tzinfo=UTC) - timedelta(days=2)
    for key in plain.original_starts(event.start, event.timezone, after=low):
        local = key.astimezone(zone).date() if isinstance(key, datetime) else key
        if local == day:
            return key
        if local > day:
            return None
    return None


def series_from_graph(
    master: Mapping[str, Any],
    exceptions: Sequence[Mapping[str, Any]] = (),
    cancelled: Sequence[str] = (),
    *,
    owner: str | None = None,
) -> Event:
    """A series master with its exceptions and cancelled occurrence ids as one model event.

    The master's start is moved to the series' first occurrence when Outlook
    kept another one (the model starts a series on its first occurrence, and
    Outlook counts the interval from there). An exception Outlook marks
    ``isCancelled`` (the organiser cancelled that occurrence; real mailboxes
    keep it until the attendee removes it) is a cancelled occurrence.
    Cancelled ids whose date matches no slot are ignored.
    """
    fields = _read_fields(master, owner)
    start = fields["start"]
    all_day = master.get("isAllDay") is True
    zone = event_zone(master)
    rule = rule_from_graph(_mapping(master, "recurrence"), start)
    plain = Recurrence(rule)
    first = first_occurrence(rule, start, fields["timezone"])
    if first is not None and first != start:
        fields["end"] = first + (fields["end"] - start)
        fields["start"] = first
    series = attrs.evolve(Event(**fields), recurrence=plain)
    modified = fields["modified"]
    found: dict[OccurrenceKey, Event] = {}
    gone: set[OccurrenceKey] = set()
    for item in exceptions:
        original = _text(item, "originalStart")
        if not original:
            continue
        key = occurrence_key(original, all_day=all_day, zone=zone)
        exception = event_from_graph(item, owner=owner)
        if exception.modified is not None and (modified is None or exception.modified > modified):
            modified = exception.modified
        if exception.cancelled:
            gone.add(key)
        else:
            found[key] = exception
    for value in cancelled:
        day = cancelled_date(value)
        slot = None if day is None else _slot_on(series, day)
        if slot is not None and slot not in found:
            gone.add(slot)
    recurrence = Recurrence(rule, exceptions=found, cancelled=gone)
    return attrs.evolve(series, recurrence=recurrence, modified=modified)


# -- writing ----------------------------------------------------------------------------------


def _iso_wall(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="seconds")


def write_when(event: Event) -> dict[str, Any]:
    """``start``, ``end`` and ``isAllDay``: wall clock in the event's IANA zone."""
    if event.all_day:
        assert isinstance(event.start, date)
        assert isinstance(event.end, date)
        return {
            "start": {"dateTime": f"{event.start.isoformat()}T00:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{event.end.isoformat()}T00:00:00", "timeZone": "UTC"},
            "isAllDay": True,
        }
    zone = event.timezone or "UTC"
    tz = ZoneInfo(zone)
    assert isinstance(event.start, datetime)
    assert isinstance(event.end, datetime)
    return {
        "start": {"dateTime": _iso_wall(event.start.astimezone(tz)), "timeZone": zone},
        "end": {"dateTime": _iso_wall(event.end.astimezone(tz)), "timeZone": zone},
        "isAllDay": False,
    }


def _write_attendees(event: Event, owner: str | None) -> dict[str, Any]:
    skip = {owner.lower()} if owner else set()
    if event.organizer is not None:
        skip.add(event.organizer.email)
    return {
        "attendees": [
            {
                "type": KIND_OUT[a.kind],
                "emailAddress": {"address": a.email, "name": a.name or a.email},
            }
            for a in event.attendees
            if a.email not in skip
        ]
    }


def _write_reminders(event: Event) -> dict[str, Any]:
    if not event.reminders:
        return {"isReminderOn": False}
    return {"isReminderOn": True, "reminderMinutesBeforeStart": event.reminders[0]}


@attrs.frozen
class Field:
    """One mapped content field: how it is written, and how two values compare.

    ``same`` (optional) says two events hold the same value although their
    written forms differ (descriptions compare in canonical HTML).
    ``slot``: Outlook e-mails an update to attendees when it changes.
    """

    name: str
    write: Callable[[Event, str | None], dict[str, Any]]
    same: Callable[[Event, Event], bool] | None = None
    slot: bool = False

    def changed(self, old: Event, new: Event, owner: str | None) -> bool:
        """Whether writing ``new`` over ``old`` would change this field in Outlook."""
        if self.same is not None:
            return not self.same(old, new)
        return self.write(old, owner) != self.write(new, owner)


FIELDS: tuple[Field, ...] = (
    Field("title", lambda e, _: {"subject": e.title}),
    Field("when", lambda e, _: write_when(e), slot=True),
    Field(
        "description",
        lambda e, _: {"body": {"contentType": "html", "content": e.description}},
        same=lambda a, b: canonical_html(a.description) == canonical_html(b.description),
    ),
    Field("location", lambda e, _: {"location": {"displayName": e.location}}, slot=True),
    Field("attendees", _write_attendees),
    Field("privacy", lambda e, _: {"sensitivity": SENSITIVITY_OUT[e.privacy]}),
    Field("availability", lambda e, _: {"showAs": SHOW_AS_OUT[e.availability]}),
    Field("reminders", lambda e, _: _write_reminders(e)),
    Field("categories", lambda e, _: {"categories": list(e.categories)}),
)


def recurrence_body(event: Event) -> dict[str, Any] | None:
    """The ``patternedRecurrence`` for a series (None for a single event)."""
    if event.recurrence is None:
        return None
    local = event.local_start()
    day = local.date() if isinstance(local, datetime) else local
    zone = event.timezone or "UTC"
    return rule_to_graph(event.recurrence.rule, day, zone)


def create_body(event: Event, owner: str | None = None) -> dict[str, Any]:
    """Everything a POST sends for ``event`` (recurrence included, exceptions not)."""
    body: dict[str, Any] = {}
    for field in FIELDS:
        body.update(field.write(event, owner))
    recurrence = recurrence_body(event)
    if recurrence is not None:
        body["recurrence"] = recurrence
    return body


def patch_body(old: Event, new: Event, owner: str | None = None) -> dict[str, Any]:
    """Only the properties whose written form changes from ``old`` to ``new``."""
    body: dict[str, Any] = {}
    for field in FIELDS:
        if field.changed(old, new, owner):
            body.update(field.write(new, owner))
    return body


def master_patch_body(old: Event, new: Event, owner: str | None = None) -> dict[str, Any]:
    """A series master's PATCH: changed fields, and the recurrence when it must be re-sent.

    Graph wants ``range.startDate`` equal to the start's date, so a moved start
    sends the recurrence again; turning a series into a single event sends
    ``recurrence: null``.
    """
    body = patch_body(old, new, owner)
    try:
        before = recurrence_body(old)
    except UnsupportedRecurrenceError:  # read from Outlook, not writable as read: re-send
        before = {"unsupported": True}
    after = recurrence_body(new)
    if after != before or (after is not None and "start" in body):
        body["recurrence"] = after
    return body
