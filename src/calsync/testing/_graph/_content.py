"""An event's content as Outlook stores it, and how a POST or PATCH body changes it.

:class:`Content` holds what an event says (subject, times, attendees, ...),
independent of ids and versions. :func:`apply_write` validates a JSON body
the way Graph does and returns the new content: unknown keys and
``@odata.type`` are ignored, read-only keys are ignored, attendee responses
written by the organiser are ignored (they change only when an attendee
answers), times are kept as wall clock plus the zone name the writer used.

Bodies are stored as HTML and read back as full HTML documents; a document
written back is unwrapped first, so a read-modify-write cycle is stable.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._recurrence import Recurrence, parse_recurrence
from calsync.testing._graph._zones import as_utc, parse_wall, same_zone, zone

__all__ = ["Attendee", "Content", "apply_write", "body_text", "wrap_html"]

SENSITIVITIES = ("normal", "personal", "private", "confidential")
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
IMPORTANCES = ("low", "normal", "high")
ATTENDEE_TYPES = ("required", "optional", "resource")
PROVIDERS = ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer")

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_HEAD = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    "\r\n</head>\r\n<body>\r\n"
)
_TAIL = "\r\n</body>\r\n</html>\r\n"


@attrs.frozen
class Attendee:
    """One attendee: address, display name, type and the response the organiser has seen."""

    address: str
    name: str = ""
    type: str = "required"
    response: str = "none"
    time: datetime | None = None

    @property
    def key(self) -> str:
        """The address compared case-insensitively."""
        return self.address.lower()


@attrs.frozen(kw_only=True)
class Content:
    """What an event says. Times are naive wall clock in ``start_zone``/``end_zone``."""

    start: datetime
    end: datetime
    start_zone: str = "UTC"
    end_zone: str = "UTC"
    is_all_day: bool = False
    subject: str = ""
    body: str = ""
    location: Mapping[str, Any] = attrs.field(factory=dict)
    locations: tuple[Mapping[str, Any], ...] = ()
    attendees: tuple[Attendee, ...] = ()
    organizer_name: str = ""
    organizer_address: str = ""
    sensitivity: str = "normal"
    show_as: str = "busy"
    is_reminder_on: bool = True
    reminder_minutes: int = 15
    categories: tuple[str, ...] = ()
    importance: str = "normal"
    response_requested: bool = True
    allow_new_time_proposals: bool = True
    hide_attendees: bool = False
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    join_url: str | None = None
    is_cancelled: bool = False
    is_draft: bool = False
    response: str = "organizer"
    response_time: datetime | None = None
    recurrence: Recurrence | None = None

    @property
    def start_utc(self) -> datetime:
        """The start as an aware UTC instant."""
        return as_utc(self.start, self.start_zone)

    @property
    def end_utc(self) -> datetime:
        """The end as an aware UTC instant."""
        return as_utc(self.end, self.end_zone)

    def attendee(self, address: str) -> Attendee | None:
        """The attendee with this address, if any."""
        key = address.lower()
        return next((a for a in self.attendees if a.key == key), None)


def _bad(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def wrap_html(inner: str) -> str:
    """The full HTML document Outlook answers for a stored body."""
    return f"{_HEAD}{inner}{_TAIL}"


def body_text(inner: str) -> str:
    """The body as plain text (``bodyPreview`` and text answers)."""
    text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", inner, flags=re.IGNORECASE)
    return html.unescape(_TAG.sub("", text)).strip()


def _inner_html(body: object) -> str:
    """What to store for a written ``body``: the HTML inside ``<body>``, or escaped text."""
    if not isinstance(body, Mapping):
        raise _bad("body must be an object.", "RequestBodyRead")
    content = body.get("content") or ""
    kind = str(body.get("contentType") or "text").lower()
    if not isinstance(content, str) or kind not in ("html", "text"):
        raise _bad("Invalid body.", "RequestBodyRead")
    if kind == "text":
        return html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    match = _BODY.search(content)
    if match is None:
        return content
    inner = match.group(1)
    inner = inner.removeprefix("\r\n").removeprefix("\n")
    return inner.removesuffix("\r\n").removesuffix("\n")


def _str(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"Property {key} must be a string.", "RequestBodyRead")
    return value


# Graph reads a JSON string where its model has another primitive type by converting it
# to that type, as Microsoft's OData library does by default: "all primitive values are
# converted to the type specified in the model" (ODataMessageReaderSettings,
# DisablePrimitiveTypeConversion, default false; OData.NET's ODataPayloadValueConverter:
# "For string types, we support conversion to all possible primitive types", through
# .NET's Convert.ChangeType, whose Boolean.Parse takes "true"/"false" in any case around
# blanks). So "isOnlineMeeting": "false", as python-o365 sends it, is false; a number is
# no boolean ("cannot convert a JSON number to Edm.Boolean"), nor "yes".


def _bool(value: object, key: str) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise _bad(f"Property {key} must be a boolean.", "RequestBodyRead")
    return value


def _choice(value: object, key: str, choices: tuple[str, ...]) -> str:
    for choice in choices:
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise _bad(f"Invalid value {value!r} for {key}.", "RequestBodyRead")


def _time(value: object, key: str) -> tuple[datetime, str]:
    if not isinstance(value, Mapping):
        raise _bad(f"Property {key} must be a dateTimeTimeZone object.", "RequestBodyRead")
    zone_name = str(value.get("timeZone") or "UTC")
    zone(zone_name)
    return parse_wall(value.get("dateTime"), zone_name), zone_name


def _place(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad("A location must be an object.", "RequestBodyRead")
    place = {k: v for k, v in value.items() if not str(k).startswith("@odata.") and v is not None}
    name = place.get("displayName") or ""
    place["displayName"] = _str(name, "location.displayName")
    place.setdefault("locationType", "default")
    if name:
        place.setdefault("uniqueId", name)
        place.setdefault("uniqueIdType", "private")
    return place


def _attendees(value: object, before: tuple[Attendee, ...]) -> tuple[Attendee, ...]:
    """Written attendees; responses already seen are kept, new attendees start at ``none``."""
    if not isinstance(value, list):
        raise _bad("attendees must be a list.", "RequestBodyRead")
    seen = {a.key: a for a in before}
    result: dict[str, Attendee] = {}
    for raw in value:
        attendee = _attendee(raw, seen)
        result[attendee.key] = attendee
    return tuple(result.values())


def _attendee(raw: object, seen: Mapping[str, Attendee]) -> Attendee:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("emailAddress"), Mapping):
        raise _bad("Each attendee needs an emailAddress with an address.")
    email: Mapping[str, Any] = raw["emailAddress"]
    address = email.get("address")
    if not isinstance(address, str) or "@" not in address:
        raise _bad("Each attendee needs an emailAddress with an address.")
    old = seen.get(address.lower())
    return Attendee(
        address=address,
        name=str(email.get("name") or (old.name if old else "") or address),
        type=_choice(raw.get("type") or "required", "attendee.type", ATTENDEE_TYPES),
        response=old.response if old else "none",
        time=old.time if old else None,
    )


def _categories(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad("categories must be a list of strings.", "RequestBodyRead")
    return tuple(value)


def _reminder(value: object) -> int:
    if isinstance(value, str) and value.strip().lstrip("+").isdigit():  # Int32 from a string
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad("reminderMinutesBeforeStart must be a non-negative integer.")
    return value


#: Written keys with a plain conversion: JSON key -> (Content field, converter).
_SIMPLE: dict[str, tuple[str, Any]] = {
    "subject": ("subject", lambda v: _str(v, "subject")),
    "isAllDay": ("is_all_day", lambda v: _bool(v, "isAllDay")),
    "sensitivity": ("sensitivity", lambda v: _choice(v, "sensitivity", SENSITIVITIES)),
    "showAs": ("show_as", lambda v: _choice(v, "showAs", SHOW_AS)),
    "importance": ("importance", lambda v: _choice(v, "importance", IMPORTANCES)),
    "isReminderOn": ("is_reminder_on", lambda v: _bool(v, "isReminderOn")),
    "reminderMinutesBeforeStart": ("reminder_minutes", _reminder),
    "categories": ("categories", _categories),
    "responseRequested": ("response_requested", lambda v: _bool(v, "responseRequested")),
    "allowNewTimeProposals": (
        "allow_new_time_proposals",
        lambda v: _bool(v, "allowNewTimeProposals"),
    ),
    "hideAttendees": ("hide_attendees", lambda v: _bool(v, "hideAttendees")),
    "isOnlineMeeting": ("is_online_meeting", lambda v: _bool(v, "isOnlineMeeting")),
    "onlineMeetingProvider": (
        "online_meeting_provider",
        lambda v: _choice(v, "onlineMeetingProvider", PROVIDERS),
    ),
}


def apply_write(
    before: Content | None,
    body: Mapping[str, Any],
    *,
    organizer: bool = True,
    allow_recurrence: bool = True,
) -> Content:
    """The content after a POST (``before`` None) or a PATCH of ``body``; 400 on invalid input.

    ``organizer`` False (an attendee's copy) ignores attendee changes;
    ``allow_recurrence`` False (an occurrence or exception) refuses ``recurrence``.
    """
    changes = _changes(before, body, organizer=organizer)
    if before is None:
        if "start" not in changes or "end" not in changes:
            raise _bad("An event needs both a start and an end.")
        content = Content(**changes)
    else:
        content = attrs.evolve(before, **changes)
    content = _with_recurrence(content, body, allow_recurrence=allow_recurrence)
    content = _with_online_meeting(before, content)
    _check_times(content)
    return content


def _changes(before: Content | None, body: Mapping[str, Any], *, organizer: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, (field, convert) in _SIMPLE.items():
        if body.get(key) is not None:
            changes[field] = convert(body[key])
    for key in ("start", "end"):
        if body.get(key) is not None:
            changes[key], changes[f"{key}_zone"] = _time(body[key], key)
    if body.get("body") is not None:
        changes["body"] = _inner_html(body["body"])
    changes.update(_places(body))
    if body.get("attendees") is not None and organizer:
        changes["attendees"] = _attendees(body["attendees"], before.attendees if before else ())
    return changes


def _with_recurrence(
    content: Content, body: Mapping[str, Any], *, allow_recurrence: bool
) -> Content:
    """Apply a written ``recurrence`` (null clears it); a kept one must still fit the start."""
    if "recurrence" in body:
        raw = body["recurrence"]
        if raw is not None and not allow_recurrence:
            raise _bad("An occurrence or exception cannot have a recurrence.")
        recurrence = None if raw is None else parse_recurrence(raw, content.start.date())
        return attrs.evolve(content, recurrence=recurrence)
    kept = content.recurrence
    if kept is not None and kept.range.start_date != content.start.date():
        raise _bad("The recurrence range's startDate must be the same as the event's start date.")
    return content


def _places(body: Mapping[str, Any]) -> dict[str, Any]:
    """``location`` and ``locations`` kept consistent with each other, as Outlook does."""
    changes: dict[str, Any] = {}
    if body.get("location") is not None:
        place = _place(body["location"])
        changes["location"] = place
        changes["locations"] = (place,) if place["displayName"] else ()
    if body.get("locations") is not None:
        raw = body["locations"]
        if not isinstance(raw, list):
            raise _bad("locations must be a list.", "RequestBodyRead")
        places = tuple(_place(item) for item in raw)
        changes["locations"] = places
        if "location" not in changes:
            changes["location"] = places[0] if places else {}
    return changes


def _with_online_meeting(before: Content | None, content: Content) -> Content:
    """Turning ``isOnlineMeeting`` on makes a join URL and appends a meeting blob to the body."""
    if not content.is_online_meeting or (before is not None and before.is_online_meeting):
        return content
    provider = content.online_meeting_provider
    if provider == "unknown":
        provider = "teamsForBusiness"
    url = f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{secrets.token_hex(16)}%40thread.v2/0"
    blob = (
        '<div class="online-meeting">'
        "<p>Online meeting</p>"
        f'<p><a href="{url}">Join the meeting now</a></p>'
        "</div>"
    )
    return attrs.evolve(
        content, online_meeting_provider=provider, join_url=url, body=content.body + blob
    )


def _check_times(content: Content) -> None:
    """End not before start; all-day events from midnight to midnight in one zone."""
    if content.end_utc < content.start_utc:
        raise _bad("The end time must not be before the start time.")
    if not content.is_all_day:
        return
    midnight = content.start.time() == content.end.time() == datetime.min.time()
    if not (
        midnight and content.end > content.start and same_zone(content.start_zone, content.end_zone)
    ):
        raise _bad(
            "An all-day event's start and end must be at midnight, in the same time zone, "
            "with the end after the start."
        )
