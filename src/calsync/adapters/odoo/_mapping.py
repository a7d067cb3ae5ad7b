"""Odoo ``calendar.event`` rows ⇄ calsync :class:`~calsync.model.Event`: the one mapping table.

Everything the adapter knows about Odoo's field values lives here; the other
modules move rows around. The scalar fields are a table (:data:`SCALARS`);
time, attendees, reminders and tags need lookups and have a function each.

================================  ==================================================
model                             Odoo ``calendar.event``
================================  ==================================================
title                             ``name`` (required: an empty title is stored as
                                  :data:`EMPTY_TITLE`, as Odoo's Outlook module does)
start, end, timezone (timed)      ``start``/``stop``: naive UTC ``YYYY-MM-DD HH:MM:SS``;
                                  the zone is ``event_tz`` of the series (single events: UTC)
start, end (all-day)              ``allday`` + ``start_date``/``stop_date``, ``stop_date``
                                  inclusive (model end exclusive); the 08:00/18:00 times of
                                  ``start``/``stop`` are ignored
description                       ``description`` (HTML, sanitised by Odoo; read back in
                                  canonical form)
location                          ``location``
online_meeting_url                ``videocall_location``
organizer                         ``user_id`` (the user's e-mail and name); an organiser
                                  without an Odoo user: ``user_id`` empty, their partner
                                  among ``partner_ids``, answer ``accepted`` (see
                                  :func:`organizer_of`)
attendees                         ``partner_ids`` + ``calendar.attendee`` rows (e-mail,
                                  name, ``state``); no attendee kinds
privacy                           ``privacy``: ``false`` ⇄ DEFAULT, public, private,
                                  confidential
availability                      ``show_as``: free ⇄ FREE, busy ⇄ everything else
reminders                         ``alarm_ids`` of type ``notification`` (minutes);
                                  e-mail and SMS alarms are kept but not mapped
categories                        ``categ_ids`` (tag names, case-sensitive)
modified                          the latest ``write_date`` of the rows and attendees
================================  ==================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from email.utils import getaddresses
from typing import Any

import attrs

from calsync._errors import InvalidEventError
from calsync._model._event import Event
from calsync._model._html import canonical_html
from calsync._model._projection import Projection
from calsync._model._values import (
    Attendee,
    Availability,
    Person,
    Privacy,
    Response,
    normalize_email,
)
from calsync.adapters.odoo._series import Row

__all__ = [
    "ATTENDEE_FIELDS",
    "EMPTY_TITLE",
    "EVENT_FIELDS",
    "GROUPS",
    "ODOO_17_PROJECTION",
    "ODOO_PROJECTION",
    "PRIVACY",
    "RESPONSES",
    "SCALARS",
    "SHOW_AS",
    "STATES",
    "AttendeeRow",
    "Lookups",
    "Scalar",
    "attendees_of",
    "changed_groups",
    "format_date",
    "format_datetime",
    "load_cell",
    "many2one",
    "masked",
    "minutes_alarm",
    "normalize_address",
    "organizer_of",
    "outside_candidates",
    "parse_date",
    "parse_datetime",
    "response_state",
    "row_event",
    "row_modified",
    "scalar_values",
    "sorted_ids",
    "time_values",
    "user_domain",
    "user_filter",
]

UTC = timezone.utc

#: What Odoo stores for an event without a title (``name`` is required); Odoo's own
#: Outlook module uses the same placeholder.
EMPTY_TITLE = "(No title)"

#: What Odoo can hold of an event: free/busy only, no attendee kinds, a time zone
#: only on series (``event_tz`` is a recurrence field), many reminders, the four
#: privacy values, tags, a required title and sanitised HTML descriptions.
ODOO_PROJECTION = Projection(
    name="odoo",
    availability={
        Availability.TENTATIVE: Availability.BUSY,
        Availability.OUT_OF_OFFICE: Availability.BUSY,
        Availability.WORKING_ELSEWHERE: Availability.BUSY,
    },
    attendee_kinds=False,
    zones="recurring",
    empty_title=EMPTY_TITLE,
)

#: Odoo 17 has no "default" privacy: ``privacy`` is required there, ``public`` by
#: default (``calendar_default_privacy`` came with 18.0), so the default is public.
ODOO_17_PROJECTION = attrs.evolve(ODOO_PROJECTION, privacy={Privacy.DEFAULT: Privacy.PUBLIC})

#: The ``calendar.event`` fields the adapter reads: named, never all (odoo.md §6).
EVENT_FIELDS = (
    "name",
    "start",
    "stop",
    "allday",
    "start_date",
    "stop_date",
    "description",
    "location",
    "videocall_location",
    "privacy",
    "show_as",
    "user_id",
    "partner_id",
    "partner_ids",
    "attendee_ids",
    "alarm_ids",
    "categ_ids",
    "recurrence_id",
    "follow_recurrence",
    "active",
    "write_date",
)
#: The ``calendar.attendee`` fields the adapter reads.
ATTENDEE_FIELDS = ("event_id", "partner_id", "state", "email", "common_name", "write_date")

PRIVACY: Mapping[object, Privacy] = {
    False: Privacy.DEFAULT,
    None: Privacy.DEFAULT,
    "public": Privacy.PUBLIC,
    "private": Privacy.PRIVATE,
    "confidential": Privacy.CONFIDENTIAL,
}
_PRIVACY_OUT: Mapping[Privacy, object] = {
    Privacy.DEFAULT: False,
    Privacy.PUBLIC: "public",
    Privacy.PRIVATE: "private",
    Privacy.CONFIDENTIAL: "confidential",
}
SHOW_AS: Mapping[object, Availability] = {"free": Availability.FREE, "busy": Availability.BUSY}
RESPONSES: Mapping[object, Response] = {
    "needsAction": Response.NEEDS_ACTION,
    "accepted": Response.ACCEPTED,
    "declined": Response.DECLINED,
    "tentative": Response.TENTATIVE,
}
STATES: Mapping[Response, str] = {
    Response.NEEDS_ACTION: "needsAction",
    Response.ACCEPTED: "accepted",
    Response.DECLINED: "declined",
    Response.TENTATIVE: "tentative",
}

# -- wire values -------------------------------------------------------------------------------

_DATETIME = "%Y-%m-%d %H:%M:%S"


def parse_datetime(value: object) -> datetime:
    """Odoo's naive-UTC ``YYYY-MM-DD HH:MM:SS`` as an aware UTC instant."""
    if not isinstance(value, str):
        raise InvalidEventError("start", value, "Odoo sent no datetime")
    return datetime.strptime(value[:19], _DATETIME).replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """An aware instant as Odoo wants it: naive UTC, whole seconds."""
    return value.astimezone(UTC).strftime(_DATETIME)


def parse_date(value: object) -> date:
    """Odoo's ``YYYY-MM-DD`` (or the date part of a datetime)."""
    if not isinstance(value, str):
        raise InvalidEventError("start", value, "Odoo sent no date")
    return date.fromisoformat(value[:10])


def format_date(value: date) -> str:
    """``YYYY-MM-DD``."""
    return value.isoformat()


def load_cell(value: object) -> str:
    """One cell of a ``load`` call: Odoo's import reads every value as text."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_ADDRESS = re.compile(r"^[^\s@<>,;\"']+@[^\s@<>,;\"']+$")


def normalize_address(text: object) -> str | None:
    """The first valid address in a partner's ``email``, lower-cased (``email_normalized``)."""
    if not isinstance(text, str) or not text.strip():
        return None
    for _name, address in getaddresses([text.replace(";", ",")]):
        candidate = address.strip()
        if _ADDRESS.match(candidate):
            try:
                return normalize_email(candidate)
            except InvalidEventError:
                continue
    return None


# -- scalar fields: the table ------------------------------------------------------------------


def _read_title(value: object) -> str:
    return value if isinstance(value, str) else ""


def _write_title(value: str) -> object:
    return value if value.strip() else EMPTY_TITLE


def _read_html(value: object) -> str:
    return canonical_html(value) if isinstance(value, str) else ""


def _text_or_false(value: object) -> object:
    return value or False


def _read_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _read_url(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _read_privacy(value: object) -> Privacy:
    return PRIVACY.get(value, Privacy.DEFAULT)


def _write_privacy(value: Privacy) -> object:
    return _PRIVACY_OUT[value]


def _read_show_as(value: object) -> Availability:
    return SHOW_AS.get(value, Availability.BUSY)


def _write_show_as(value: Availability) -> object:
    return "free" if value is Availability.FREE else "busy"


@attrs.frozen
class Scalar:
    """One model field stored in one Odoo field, with a converter each way."""

    attribute: str
    field: str
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]


#: The scalar fields, model attribute ⇄ Odoo field.
SCALARS: tuple[Scalar, ...] = (
    Scalar("title", "name", _read_title, _write_title),
    Scalar("description", "description", _read_html, _text_or_false),
    Scalar("location", "location", _read_text, _text_or_false),
    Scalar("online_meeting_url", "videocall_location", _read_url, _text_or_false),
    Scalar("privacy", "privacy", _read_privacy, _write_privacy),
    Scalar("availability", "show_as", _read_show_as, _write_show_as),
)

#: The groups a write is made of: the scalars, the time, and the relational fields.
GROUPS: tuple[str, ...] = (
    *(scalar.attribute for scalar in SCALARS),
    "when",
    "attendees",
    "reminders",
    "categories",
)


def _group_value(event: Event, group: str) -> object:
    if group == "when":
        return (event.start, event.end)
    if group == "attendees":
        return tuple((a.email, a.response) for a in event.attendees)
    return getattr(event, group)


def changed_groups(
    current: Event, wanted: Event, projection: Projection = ODOO_PROJECTION
) -> list[str]:
    """The groups in which two events (as Odoo holds them) differ, in :data:`GROUPS` order."""
    old, new = projection(current), projection(wanted)
    return [group for group in GROUPS if _group_value(old, group) != _group_value(new, group)]


def scalar_values(
    event: Event, groups: Iterable[str] | None = None, projection: Projection = ODOO_PROJECTION
) -> dict[str, Any]:
    """Odoo values of the scalar fields (those in ``groups``, or all), as ``projection`` keeps."""
    wanted = None if groups is None else set(groups)
    projected = projection(event)
    return {
        scalar.field: scalar.write(getattr(projected, scalar.attribute))
        for scalar in SCALARS
        if wanted is None or scalar.attribute in wanted
    }


def time_values(event: Event, *, for_load: bool = False) -> dict[str, Any]:
    """``allday``, ``start``/``stop`` and ``start_date``/``stop_date`` of an event.

    All-day events are written by date (Odoo sets 08:00/18:00 itself); a
    ``load`` gets every column, so that timed and all-day rows share one call.
    """
    if event.all_day:
        assert isinstance(event.start, date)
        assert isinstance(event.end, date)
        last = max(event.start, event.end - timedelta(days=1))
        values: dict[str, Any] = {
            "allday": True,
            "start_date": format_date(event.start),
            "stop_date": format_date(last),
        }
        if for_load:
            values["start"] = format_datetime(datetime.combine(event.start, time(8), UTC))
            values["stop"] = format_datetime(datetime.combine(last, time(18), UTC))
        return values
    assert isinstance(event.start, datetime)
    assert isinstance(event.end, datetime)
    values = {"allday": False, "start": format_datetime(event.start)}
    values["stop"] = format_datetime(event.end)
    if for_load:
        values.update(start_date=False, stop_date=False)
    return values


# -- reading -----------------------------------------------------------------------------------


@attrs.frozen
class AttendeeRow:
    """A ``calendar.attendee`` row as the mapping needs it."""

    id: int
    event_id: int
    partner_id: int
    email: str | None
    name: str
    state: str
    write_date: str

    @classmethod
    def from_wire(cls, row: Mapping[str, Any]) -> AttendeeRow:
        """From a ``read``/``search_read`` row."""
        partner = row.get("partner_id")
        event = row.get("event_id")
        partner_id = int(partner[0]) if isinstance(partner, list) and partner else 0
        partner_name = str(partner[1]) if isinstance(partner, list) and len(partner) > 1 else ""
        return cls(
            id=int(row["id"]),
            event_id=int(event[0]) if isinstance(event, list) and event else 0,
            partner_id=partner_id,
            email=normalize_address(row.get("email")),
            name=str(row.get("common_name") or partner_name or ""),
            state=str(row.get("state") or "needsAction"),
            write_date=str(row.get("write_date") or ""),
        )


@attrs.frozen
class Lookups:
    """What mapping a row needs besides the row: attendees, organisers, alarms, tags."""

    attendees: Mapping[int, AttendeeRow]
    users: Mapping[int, Person | None]
    #: alarm id -> minutes, for notification alarms only
    reminders: Mapping[int, int]
    #: tag id -> name
    tags: Mapping[int, str]
    #: the calendar owner's partner (preferred when two partners share an address)
    owner_partner: int | None = None
    #: partners known to be Odoo users' (never the organiser of a row without ``user_id``)
    user_partners: frozenset[int] = frozenset()


def _many2one_id(value: object) -> int | None:
    if isinstance(value, list) and value and isinstance(value[0], int):
        return value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def attendees_of(row: Mapping[str, Any], lookups: Lookups) -> tuple[Attendee, ...]:
    """The row's attendees: one per address (the owner's partner wins a tie, then the oldest)."""
    chosen: dict[str, AttendeeRow] = {}
    for attendee_id in sorted(row.get("attendee_ids") or ()):
        found = lookups.attendees.get(attendee_id)
        if found is None or found.email is None:
            continue
        current = chosen.get(found.email)
        if current is None or (found.partner_id == lookups.owner_partner != current.partner_id):
            chosen[found.email] = found
    return tuple(
        Attendee(email, item.name, response=RESPONSES.get(item.state, Response.NEEDS_ACTION))
        for email, item in sorted(chosen.items())
    )


def _when(row: Mapping[str, Any]) -> tuple[date | datetime, date | datetime]:
    if row.get("allday"):
        start_day = parse_date(row.get("start_date") or row.get("start"))
        last_day = parse_date(row.get("stop_date") or row.get("stop"))
        return start_day, max(last_day, start_day) + timedelta(days=1)
    start = parse_datetime(row.get("start"))
    stop = parse_datetime(row.get("stop"))
    return start, max(start, stop)


def row_modified(row: Mapping[str, Any], lookups: Lookups) -> datetime | None:
    """The latest ``write_date`` of a row and its attendees."""
    stamps = [row.get("write_date")]
    stamps += [
        lookups.attendees[a].write_date
        for a in row.get("attendee_ids") or ()
        if a in lookups.attendees
    ]
    found = [
        parse_datetime(stamp) for stamp in stamps if isinstance(stamp, str) and len(stamp) >= 19
    ]
    return max(found) if found else None


def series_row(row: Mapping[str, Any], lookups: Lookups) -> Row:
    """One member row of a series, as the series' assembly and row planning take it."""
    return Row(
        int(row["id"]),
        row_event(row, lookups),
        active=bool(row.get("active")),
        follows=bool(row.get("follow_recurrence")),
    )


def row_event(row: Mapping[str, Any], lookups: Lookups) -> Event:
    """One ``calendar.event`` row as a single event (no recurrence), as Odoo holds it.

    Timed events are in UTC: Odoo keeps a zone for series only (``event_tz``).
    """
    start, end = _when(row)
    values: dict[str, Any] = {
        scalar.attribute: scalar.read(row.get(scalar.field)) for scalar in SCALARS
    }
    organizer = organizer_of(row, lookups)
    event = Event(
        start=start,
        end=end,
        timezone="UTC" if isinstance(start, datetime) else None,
        organizer=organizer,
        # Odoo lists the organiser among the attendees; the model (like Outlook) does not.
        attendees=[
            a for a in attendees_of(row, lookups) if organizer is None or a.email != organizer.email
        ],
        reminders=sorted(
            {lookups.reminders[a] for a in row.get("alarm_ids") or () if a in lookups.reminders}
        ),
        categories=[lookups.tags[t] for t in row.get("categ_ids") or () if t in lookups.tags],
        modified=row_modified(row, lookups),
        **values,
    )
    return ODOO_PROJECTION(event)


def organizer_of(row: Mapping[str, Any], lookups: Lookups) -> Person | None:
    """Who organises the row: its ``user_id``, else the organiser it holds as an attendee.

    A meeting whose organiser has no Odoo user has no ``user_id`` (Odoo's own
    Outlook module stores such invitations so); its organiser is among the
    partners, with the answer ``accepted`` (Graph's "organizer" answer, as Odoo
    maps it). That attendee, other than the calendar's owner and Odoo's users,
    is the organiser when there is exactly one; otherwise the row's organiser
    is unknown (None).
    """
    organizer_id = _many2one_id(row.get("user_id"))
    if organizer_id is not None:
        return lookups.users.get(organizer_id)
    found = [
        a for a in outside_candidates(row, lookups) if a.partner_id not in lookups.user_partners
    ]
    if len(found) != 1 or found[0].email is None:
        return None
    return Person(found[0].email, found[0].name)


def outside_candidates(row: Mapping[str, Any], lookups: Lookups) -> list[AttendeeRow]:
    """The attendees that may organise a row without ``user_id``: accepted, not the owner."""
    if _many2one_id(row.get("user_id")) is not None:
        return []
    return [
        found
        for aid in sorted(row.get("attendee_ids") or ())
        if (found := lookups.attendees.get(aid)) is not None
        and found.state == "accepted"
        and found.email is not None
        and found.partner_id != lookups.owner_partner
    ]


def organizer_partner(row: Mapping[str, Any]) -> int | None:
    """The organiser's partner id, as Odoo reads it on the row (``partner_id``)."""
    return _many2one_id(row.get("partner_id"))


def masked(row: Mapping[str, Any]) -> bool:
    """Whether Odoo hid this ``calendar.event`` row from the caller ("Busy", empty fields).

    ``calendar.event._fetch_query`` empties every field outside
    ``_get_public_fields()`` (``write_date`` among them; ``name`` reads "Busy") for a
    user who neither organises nor attends the event when
    ``_check_private_event_conditions()`` holds: privacy ``private`` (17.0+), or no
    privacy and an organiser whose ``calendar_default_privacy`` is ``private``
    (18.0, 19.0) [5.14, 5.20]. The rule cannot be evaluated from outside: on 18.0 an
    ordinary user reads every other user's ``calendar_default_privacy`` as
    "public" (their ``res.users.settings`` are hidden from him), and 17.0 has no
    such field. The row itself tells, at no cost: a stored row always has a
    ``write_date``, a masked one reads ``false`` (the fields read must include it,
    as :data:`EVENT_FIELDS` does; a row read without it counts as masked).
    """
    return not row.get("write_date")


def user_filter(row: Mapping[str, Any], uid: int, partner_id: int) -> bool:
    """Whether the row is the user's: organised by them or with their partner invited."""
    return _many2one_id(row.get("user_id")) == uid or partner_id in (row.get("partner_ids") or ())


def user_domain(uid: int, partner_id: int) -> list[Any]:
    """The search domain of :func:`user_filter`."""
    return ["|", ("user_id", "=", uid), ("partner_ids", "in", [partner_id])]


def response_state(response: Response) -> str:
    """A model response as a ``calendar.attendee`` state."""
    return STATES[response]


def minutes_alarm(minutes: int) -> dict[str, Any]:
    """A new notification alarm for ``minutes`` (name given: Odoo does not compute it [5.11])."""
    for unit, size, label in (("days", 1440, "Days"), ("hours", 60, "Hours")):
        if minutes and minutes % size == 0:
            count = minutes // size
            return {
                "name": f"Notification - {count} {label}",
                "alarm_type": "notification",
                "duration": count,
                "interval": unit,
            }
    return {
        "name": f"Notification - {minutes} Minutes",
        "alarm_type": "notification",
        "duration": minutes,
        "interval": "minutes",
    }


def many2one(value: object) -> int | None:
    """The id of a many2one value (``[id, "name"]`` or ``false``)."""
    return _many2one_id(value)


def sorted_ids(values: Sequence[object]) -> list[int]:
    """Integer ids, sorted."""
    return sorted(int(value) for value in values if isinstance(value, int))
