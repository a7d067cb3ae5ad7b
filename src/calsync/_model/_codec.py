"""Lossless JSON form of events, for stores that keep link bases on disk."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from calsync._errors import InvalidEventError
from calsync._model._event import Event
from calsync._model._recurrence import ModifiedOccurrence, OccurrenceKey, Recurrence, RecurrenceRule
from calsync._model._values import Attendee, Person

__all__ = ["event_from_json", "event_to_json"]


def _when_to_json(value: date) -> str:
    return value.isoformat()


def _when_from_json(text: str) -> date | datetime:
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def event_to_json(event: Event) -> dict[str, Any]:
    """A JSON-able dict holding every field of the event, metadata included."""
    data: dict[str, Any] = {
        "title": event.title,
        "start": _when_to_json(event.start),
        "end": _when_to_json(event.end),
        "timezone": event.timezone,
    }
    optional: dict[str, Any] = {
        "description": event.description,
        "location": event.location,
        "online_meeting_url": event.online_meeting_url,
        "organizer": [event.organizer.email, event.organizer.name] if event.organizer else None,
        "attendees": [[a.email, a.name, a.kind.value, a.response.value] for a in event.attendees],
        "privacy": event.privacy.value if event.privacy.value != "default" else None,
        "availability": event.availability.value if event.availability.value != "busy" else None,
        "reminders": list(event.reminders),
        "categories": list(event.categories),
        "recurrence": _recurrence_to_json(event.recurrence),
        "cancelled": event.cancelled,
        "modified": event.modified.isoformat() if event.modified else None,
    }
    data.update({name: value for name, value in optional.items() if value})
    return data


def _recurrence_to_json(recurrence: Recurrence | None) -> dict[str, Any] | None:
    if recurrence is None:
        return None
    return {
        "rule": str(recurrence.rule),
        "exceptions": [
            [_when_to_json(item.original_start), event_to_json(item.event)]
            for item in recurrence.exceptions
        ],
        "cancelled": sorted(_when_to_json(key) for key in recurrence.cancelled),
    }


def event_from_json(data: dict[str, Any]) -> Event:
    """The event :func:`event_to_json` wrote."""
    try:
        organizer = data.get("organizer")
        return Event(
            title=data["title"],
            start=_when_from_json(data["start"]),
            end=_when_from_json(data["end"]),
            timezone=data.get("timezone"),
            description=data.get("description", ""),
            location=data.get("location", ""),
            online_meeting_url=data.get("online_meeting_url"),
            organizer=Person(*organizer) if organizer else None,
            attendees=[Attendee(*row) for row in data.get("attendees", ())],
            privacy=data.get("privacy") or "default",
            availability=data.get("availability") or "busy",
            reminders=data.get("reminders", ()),
            categories=data.get("categories", ()),
            recurrence=_recurrence_from_json(data.get("recurrence")),
            cancelled=data.get("cancelled", False),
            modified=datetime.fromisoformat(data["modified"]) if data.get("modified") else None,
        )
    except (KeyError, TypeError) as error:
        raise InvalidEventError("json", data, f"is not a stored event ({error})") from None


def _recurrence_from_json(data: dict[str, Any] | None) -> Recurrence | None:
    if data is None:
        return None
    exceptions = [
        ModifiedOccurrence(_key(key), event_from_json(event)) for key, event in data["exceptions"]
    ]
    return Recurrence(
        RecurrenceRule.parse(data["rule"]),
        exceptions=exceptions,
        cancelled=[_key(key) for key in data["cancelled"]],
    )


def _key(text: str) -> OccurrenceKey:
    return _when_from_json(text)
