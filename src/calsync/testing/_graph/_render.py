"""Events as Graph's JSON.

Full events carry every field of Graph's event resource, with Outlook's
forms: ``dateTime`` with seven fractional digits and the zone apart (UTC
unless ``Prefer: outlook.timezone`` names another; an all-day event is
floating, at midnight in whatever zone is asked), bodies as full HTML
documents, ``originalStartTimeZone`` as the writer gave it, the recurrence
with every field filled. Delta pages use :func:`stub_json` for occurrences
and :func:`removed_json` for what left the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import attrs

from calsync.testing._graph._content import Attendee, Content, body_text, wrap_html
from calsync.testing._graph._query import Expand
from calsync.testing._graph._recurrence import render_recurrence
from calsync.testing._graph._zones import format_instant, format_wall, to_wall, windows_name

if TYPE_CHECKING:
    from datetime import datetime

    from calsync.testing._graph._items import View

__all__ = ["Shape", "calendar_json", "event_json", "removed_json", "stub_json"]

_EVENT_TYPE = "#microsoft.graph.event"
_NO_TIME = "0001-01-01T00:00:00Z"


@attrs.frozen
class Shape:
    """How to render: output zone, body type, ``$select``/``$expand``, delta extras.

    ``extras`` adds what only ``$select``/``$expand`` show (cancelled and
    exception occurrences, extended properties): the test helpers use it.
    """

    time_zone: str = "UTC"
    body_as_text: bool = False
    select: frozenset[str] | None = None
    expand: Expand = attrs.field(factory=Expand)
    stray_keys: bool = False
    odata_type: bool = False
    extras: bool = False


def _when(content: Content, which: str, shape: Shape) -> dict[str, str]:
    """``start`` or ``end`` in the output zone (all-day events stay at midnight)."""
    if content.is_all_day:
        wall = content.start if which == "start" else content.end
    else:
        instant = content.start_utc if which == "start" else content.end_utc
        wall = to_wall(instant, shape.time_zone)
    return {"dateTime": format_wall(wall), "timeZone": shape.time_zone}


def _stamp(value: datetime | None) -> str:
    return _NO_TIME if value is None else format_instant(value)


def _attendee_json(attendee: Attendee) -> dict[str, Any]:
    return {
        "type": attendee.type,
        "status": {"response": attendee.response, "time": _stamp(attendee.time)},
        "emailAddress": {"name": attendee.name, "address": attendee.address},
    }


def _location_json(place: object) -> dict[str, Any]:
    found = dict(place) if isinstance(place, dict) else {}
    if not found.get("displayName"):
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return found


def _body(content: Content, shape: Shape) -> dict[str, str]:
    if shape.body_as_text:
        return {"contentType": "text", "content": body_text(content.body)}
    return {"contentType": "html", "content": wrap_html(content.body) if content.body else ""}


def _core(view: View, shape: Shape) -> dict[str, Any]:
    content = view.content
    return {
        "@odata.etag": view.etag,
        "id": view.id,
        "createdDateTime": format_instant(view.created),
        "lastModifiedDateTime": format_instant(view.modified),
        "changeKey": view.change_key,
        "categories": list(content.categories),
        "transactionId": view.transaction_id,
        "originalStartTimeZone": content.start_zone,
        "originalEndTimeZone": content.end_zone,
        "iCalUId": view.ical_uid,
        "reminderMinutesBeforeStart": content.reminder_minutes,
        "isReminderOn": content.is_reminder_on,
        "hasAttachments": False,
        "subject": content.subject,
        "bodyPreview": " ".join(body_text(content.body).split())[:255],
        "importance": content.importance,
        "sensitivity": content.sensitivity,
        "isAllDay": content.is_all_day,
        "isCancelled": content.is_cancelled,
        "isOrganizer": view.is_organizer,
        "responseRequested": content.response_requested,
        "seriesMasterId": view.master_id,
        "showAs": content.show_as,
        "type": view.kind,
        "webLink": "https://outlook.office365.com/owa/?itemid="
        f"{quote(view.id, safe='')}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": content.is_online_meeting,
        "onlineMeetingProvider": content.online_meeting_provider,
        "allowNewTimeProposals": content.allow_new_time_proposals,
        "isDraft": content.is_draft,
        "hideAttendees": content.hide_attendees,
    }


def _details(view: View, shape: Shape) -> dict[str, Any]:
    content = view.content
    recurrence = content.recurrence
    details: dict[str, Any] = {
        "responseStatus": {"response": content.response, "time": _stamp(content.response_time)},
        "body": _body(content, shape),
        "start": _when(content, "start", shape),
        "end": _when(content, "end", shape),
        "location": _location_json(content.location),
        "locations": [_location_json(place) for place in content.locations],
        "recurrence": None
        if recurrence is None
        else render_recurrence(recurrence, windows_name(content.start_zone)),
        "attendees": [_attendee_json(attendee) for attendee in content.attendees],
        "organizer": {
            "emailAddress": {"name": content.organizer_name, "address": content.organizer_address}
        },
        "onlineMeeting": None if content.join_url is None else {"joinUrl": content.join_url},
    }
    if view.original_start is not None:
        details["originalStart"] = format_instant(view.original_start)
    return details


def _optional(view: View, shape: Shape) -> dict[str, Any]:
    """Fields Graph returns only when selected or expanded."""
    extra: dict[str, Any] = {}
    select = shape.select or frozenset()
    master = view.kind == "seriesMaster"
    if ("cancelledoccurrences" in select or shape.extras) and master:
        extra["cancelledOccurrences"] = list(view.cancelled_ids)
    if ("exceptionoccurrences" in select or shape.expand.exceptions or shape.extras) and master:
        inner = attrs.evolve(shape, select=None, expand=Expand(), stray_keys=False, extras=False)
        extra["exceptionOccurrences"] = [event_json(e, inner) for e in view.exceptions]
    if shape.expand.attachments:
        extra["attachments"] = []
    expand = shape.expand
    every = expand.all_properties or shape.extras
    if every or expand.properties:
        wanted = expand.properties or frozenset()
        found = [
            {"id": pid, "value": value}
            for pid, value in view.extended
            if every or pid.lower() in wanted
        ]
        if found:
            extra["singleValueExtendedProperties"] = found
    return extra


def event_json(view: View, shape: Shape) -> dict[str, Any]:
    """A full event as Graph answers it."""
    full = {**_core(view, shape), **_details(view, shape)}
    if shape.select is not None:
        keep = shape.select | {"id", "@odata.etag"}
        full = {key: value for key, value in full.items() if key.lower() in keep}
    full.update(_optional(view, shape))
    if shape.odata_type:
        full = {"@odata.type": _EVENT_TYPE, **full}
    if shape.stray_keys:
        full["IsDraft"] = view.content.is_draft
        full["AllowNewTimeProposals"] = view.content.allow_new_time_proposals
    return full


def stub_json(view: View, shape: Shape) -> dict[str, Any]:
    """An occurrence as a delta page shows it: ids, type, master and times only."""
    return {
        "@odata.type": _EVENT_TYPE,
        "@odata.etag": view.etag,
        "id": view.id,
        "type": view.kind,
        "seriesMasterId": view.master_id,
        "start": _when(view.content, "start", shape),
        "end": _when(view.content, "end", shape),
    }


def removed_json(event_id: str) -> dict[str, Any]:
    """A delta entry for an item that left the view (deleted or moved out of the window)."""
    return {"id": event_id, "@removed": {"reason": "deleted"}}


def calendar_json(
    calendar_id: str, name: str, *, default: bool, owner_name: str, owner_address: str
) -> dict[str, Any]:
    """A calendar resource."""
    return {
        "@odata.id": f"calendars('{calendar_id}')",
        "id": calendar_id,
        "name": name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": default,
        "changeKey": "AAAAAA==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isRemovable": not default,
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": owner_name, "address": owner_address},
    }
