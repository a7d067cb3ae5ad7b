"""Projections: what a provider can store of an event, and content fingerprints.

Outlook keeps one reminder and no "default" privacy; Odoo keeps free/busy
only, no attendee kinds, and a time zone only on recurring events. An adapter
declares its :class:`Projection`; calsync compares events *as that side can
hold them*, so a lossy side does not look changed on every sync, and it writes
to a side only when the side would hold something different.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal

import attrs

from calsync._model._event import Event
from calsync._model._html import canonical_html
from calsync._model._recurrence import ModifiedOccurrence, Recurrence
from calsync._model._values import Attendee, AttendeeKind, Availability, Privacy, Response

__all__ = ["CONTENT_FIELDS", "Projection", "canonical", "fingerprint"]

#: The fields that make up an event's content, in the order calsync merges them.
#: ``when`` stands for start, end and time zone together; ``organizer`` and
#: ``modified`` are identity and metadata, not content.
CONTENT_FIELDS: tuple[str, ...] = (
    "title",
    "when",
    "description",
    "location",
    "online_meeting_url",
    "attendees",
    "privacy",
    "availability",
    "reminders",
    "categories",
    "recurrence",
    "cancelled",
)

ZoneKeeping = Literal["all", "recurring", "none"]


def _frozen_mapping(value: Mapping[object, object]) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping of values, not {type(value).__name__}")
    return MappingProxyType(dict(value))


@attrs.frozen(eq=False)
class Projection:
    """What one provider can store of an event.

    Calling a projection maps an event to the event the provider would hold
    after it was written there (``projection(event)``).

    * ``reminders``: how many reminders the side keeps (the smallest first), or None for all.
    * ``availability`` / ``privacy``: values the side cannot hold, mapped to those it holds.
    * ``categories``, ``attendee_kinds``, ``online_meeting_url``: whether the side keeps them.
    * ``responses``: whether writing to the side can set other attendees' responses
      (Outlook: no, attendees answer for themselves).
    * ``zones``: which events keep their time zone ("all", "recurring" only, or "none").
    * ``empty_title``: what the side shows for an empty title (Odoo requires a name).
    * ``description``: how the side rewrites descriptions; by default the canonical HTML form.
    """

    name: str = "full"
    reminders: int | None = None
    availability: Mapping[Availability, Availability] = attrs.field(
        factory=dict, converter=_frozen_mapping
    )
    privacy: Mapping[Privacy, Privacy] = attrs.field(factory=dict, converter=_frozen_mapping)
    categories: bool = True
    attendee_kinds: bool = True
    responses: bool = True
    online_meeting_url: bool = True
    zones: ZoneKeeping = "all"
    empty_title: str | None = None
    description: Callable[[str], str] = canonical_html

    def __call__(self, event: Event) -> Event:
        changes = self._changes(event)
        recurrence = event.recurrence
        if recurrence is not None and recurrence.exceptions:
            exceptions = tuple(
                ModifiedOccurrence(item.original_start, self(item.event))
                for item in recurrence.exceptions
            )
            if exceptions != recurrence.exceptions:
                changes["recurrence"] = attrs.evolve(recurrence, exceptions=exceptions)
        return attrs.evolve(event, **changes) if changes else event

    def _changes(self, event: Event) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        description = self.description(event.description)
        if description != event.description:
            changes["description"] = description
        if self.empty_title is not None and not event.title.strip():
            changes["title"] = self.empty_title
        if self.reminders is not None and len(event.reminders) > self.reminders:
            changes["reminders"] = event.reminders[: self.reminders]
        availability = self.availability.get(event.availability, event.availability)
        if availability is not event.availability:
            changes["availability"] = availability
        privacy = self.privacy.get(event.privacy, event.privacy)
        if privacy is not event.privacy:
            changes["privacy"] = privacy
        if not self.categories and event.categories:
            changes["categories"] = ()
        if not self.online_meeting_url and event.online_meeting_url is not None:
            changes["online_meeting_url"] = None
        attendees = self._attendees(event.attendees)
        if attendees != event.attendees:
            changes["attendees"] = attendees
        if not event.all_day and self._drops_zone(event) and event.timezone != "UTC":
            changes["timezone"] = "UTC"
        return changes

    def _drops_zone(self, event: Event) -> bool:
        return self.zones == "none" or (self.zones == "recurring" and event.recurrence is None)

    def _attendees(self, attendees: tuple[Attendee, ...]) -> tuple[Attendee, ...]:
        if self.attendee_kinds and self.responses:
            return attendees
        return tuple(
            attrs.evolve(
                attendee,
                kind=attendee.kind if self.attendee_kinds else AttendeeKind.REQUIRED,
                response=attendee.response if self.responses else Response.NEEDS_ACTION,
            )
            for attendee in attendees
        )

    def keeps_zone(self, event: Event) -> bool:
        """Whether this side stores the time zone of that event."""
        return event.all_day or not self._drops_zone(event)


FULL = Projection()


def canonical(event: Event) -> object:
    """A JSON-able, order-independent form of an event's content."""
    if not isinstance(event, Event):
        raise TypeError(f"expected an Event, not {type(event).__name__}")
    return {
        "title": event.title,
        "start": _iso(event.start),
        "end": _iso(event.end),
        "timezone": event.timezone,
        "description": event.description,
        "location": event.location,
        "online_meeting_url": event.online_meeting_url,
        "attendees": [[a.email, a.kind.value, a.response.value] for a in event.attendees],
        "privacy": event.privacy.value,
        "availability": event.availability.value,
        "reminders": list(event.reminders),
        "categories": list(event.categories),
        "recurrence": _canonical_recurrence(event.recurrence),
        "cancelled": event.cancelled,
    }


def _canonical_recurrence(recurrence: Recurrence | None) -> object:
    if recurrence is None:
        return None
    return {
        "rule": str(recurrence.rule),
        "exceptions": [
            [_iso(item.original_start), canonical(item.event)] for item in recurrence.exceptions
        ],
        "cancelled": sorted(_iso(key) for key in recurrence.cancelled),
    }


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def fingerprint(event: Event, projection: Projection | None = None) -> str:
    """A stable hash of ``projection(event)``'s content (all content without a projection)."""
    if not isinstance(event, Event):
        raise TypeError(f"expected an Event, not {type(event).__name__}")
    projected = (projection or FULL)(event)
    text = json.dumps(canonical(projected), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
