"""Handlers for users, calendars, events, instances and calendarView.

Every event path exists under ``/me`` and ``/users/{id or address}``, and for
``events``/``calendarView`` also under ``/calendar/...`` and
``/calendars/{id}/...``. ``/me/events`` and ``/me/calendarView`` cover the
default calendar. Listings page with ``$top``/``$skip`` (default page size
10, like Graph; ``Prefer: odata.maxpagesize`` is honoured too) and an
absolute ``@odata.nextLink``. ``/events`` lists single events and series
masters; ``calendarView`` and ``/instances`` list single events,
occurrences and exceptions (both window parameters required, UTC unless the
value has an offset).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._items import View, instances, item_view
from calsync.testing._graph._query import (
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
    query_int,
)
from calsync.testing._graph._render import Shape, calendar_json, event_json
from calsync.testing._graph._zones import parse_instant
from calsync.testing._server import Response

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from calsync.testing._graph._router import Call, Router

__all__ = ["json_answer", "register", "shape_of", "window_of"]

_PREFIXES = ("", "calendar/", "calendars/{calendar_id}/")
_RSVP = ("accept", "tentativelyAccept", "decline")


def register(router: Router) -> None:
    """Add the user, calendar and event routes."""
    router.add("GET", "/v1.0/me", get_user, mailbox=True)
    router.add("GET", "/v1.0/users/{user}", get_user, mailbox=True)
    router.add_mailbox("GET", "calendars", list_calendars)
    router.add_mailbox("GET", "calendar", get_calendar)
    router.add_mailbox("GET", "calendars/{calendar_id}", get_calendar)
    for prefix in _PREFIXES:
        events = f"{prefix}events"
        one = f"{events}/{{event_id}}"
        router.add_mailbox("GET", events, list_events)
        router.add_mailbox("POST", events, create_event)
        router.add_mailbox("GET", one, get_event)
        router.add_mailbox("PATCH", one, patch_event)
        router.add_mailbox("DELETE", one, delete_event)
        router.add_mailbox("POST", f"{one}/cancel", cancel_event)
        router.add_mailbox("GET", f"{one}/instances", list_instances)
        for action in _RSVP:
            router.add_mailbox("POST", f"{one}/{action}", _rsvp(action))
        router.add_mailbox("GET", f"{prefix}calendarView", calendar_view)


# -- helpers ---------------------------------------------------------------------


def json_answer(call: Call, status: int, payload: object) -> Response:
    """A JSON answer with ``Preference-Applied`` when preferences were honoured."""
    applied = call.prefer.applied()
    headers = (("Preference-Applied", applied),) if applied else ()
    return Response.json(status, payload, headers)


def shape_of(call: Call, **extra: Any) -> Shape:
    """How this request wants events rendered."""
    return Shape(
        time_zone=call.prefer.time_zone or "UTC",
        body_as_text=call.prefer.body_text,
        select=parse_select(call.param("$select")),
        expand=parse_expand(call.param("$expand")),
        **extra,
    )


def window_of(call: Call) -> tuple[datetime, datetime]:
    """``startDateTime``/``endDateTime``: both required and non-empty."""
    start, end = call.param("startDateTime"), call.param("endDateTime")
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    first, last = parse_instant(start), parse_instant(end)
    if last < first:
        raise GraphError(400, "ErrorInvalidParameter", "EndDateTime is before StartDateTime.")
    return first, last


def _calendar(call: Call) -> str | None:
    calendar_id = call.params.get("calendar_id")
    if calendar_id is not None and calendar_id not in call.target.calendars:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return calendar_id


def _context(call: Call, what: str) -> str:
    return f"{call.pipeline.base_url}/v1.0/$metadata#users('{call.target.email}')/{what}"


def _page(
    call: Call, views: Sequence[View], render: Callable[[View], dict[str, Any]], what: str
) -> Response:
    """One page of a listing, with ``@odata.nextLink`` when more follow."""
    size = (
        query_int(call.request.query, "$top", 1)
        or call.prefer.max_page_size
        or call.pipeline.settings.default_page_size
    )
    skip = query_int(call.request.query, "$skip", 0) or 0
    payload: dict[str, Any] = {
        "@odata.context": _context(call, what),
        "value": [render(view) for view in views[skip : skip + size]],
    }
    if (call.param("$count") or "").lower() == "true":
        payload["@odata.count"] = len(views)
    if skip + size < len(views):
        query = {k: v[0] for k, v in call.request.query.items() if k != "$skip"}
        query.update({"$top": str(size), "$skip": str(skip + size)})
        payload["@odata.nextLink"] = call.link(query)
    return json_answer(call, 200, payload)


def _ordered(call: Call, views: list[View], default: Callable[[View], Any]) -> list[View]:
    order = parse_orderby(call.param("$orderby"))
    if order is None:
        return sorted(views, key=default)
    key, descending = order
    return sorted(views, key=lambda view: (key(view), view.id), reverse=descending)


# -- users and calendars -----------------------------------------------------------


def get_user(call: Call) -> Response:
    """``GET /me``: the signed-in user (or the addressed one)."""
    box = call.target
    return json_answer(
        call,
        200,
        {
            "@odata.context": f"{call.pipeline.base_url}/v1.0/$metadata#users/$entity",
            "id": box.id,
            "displayName": box.name,
            "mail": box.email,
            "userPrincipalName": box.email,
        },
    )


def _calendar_json(call: Call, calendar_id: str) -> dict[str, Any]:
    box = call.target
    return calendar_json(
        calendar_id,
        box.calendars[calendar_id],
        default=calendar_id == box.default_calendar,
        owner_name=box.name,
        owner_address=box.email,
    )


def list_calendars(call: Call) -> Response:
    """``GET /me/calendars``."""
    value = [_calendar_json(call, calendar_id) for calendar_id in call.target.calendars]
    return json_answer(call, 200, {"@odata.context": _context(call, "calendars"), "value": value})


def get_calendar(call: Call) -> Response:
    """``GET /me/calendar`` or ``/me/calendars/{id}``."""
    calendar_id = _calendar(call) or call.target.default_calendar
    return json_answer(call, 200, _calendar_json(call, calendar_id))


# -- events ----------------------------------------------------------------------


def list_events(call: Call) -> Response:
    """``GET /me/events``: singles and series masters, filtered, ordered, paged."""
    shape = shape_of(call)
    keep = parse_filter(call.param("$filter"))
    items = call.store.calendar_items(call.target, _calendar(call))
    with_exceptions = shape.expand.exceptions or "exceptionoccurrences" in (shape.select or ())
    views = [item_view(item, with_exceptions=with_exceptions) for item in items]
    chosen = _ordered(call, [view for view in views if keep(view)], lambda v: (v.created, v.id))
    return _page(call, chosen, lambda view: event_json(view, shape), "events")


def create_event(call: Call) -> Response:
    """``POST /me/events``: 201 with the full event."""
    view = call.store.create(call.target, call.body(), calendar_id=_calendar(call))
    return json_answer(call, 201, event_json(view, shape_of(call)))


def get_event(call: Call) -> Response:
    """``GET /me/events/{id}``, with ``$select`` and ``$expand``."""
    shape = shape_of(call)
    target = call.store.resolve(call.target, call.params["event_id"])
    with_exceptions = shape.expand.exceptions or "exceptionoccurrences" in (shape.select or ())
    view = call.store.view(target, with_exceptions=with_exceptions)
    return json_answer(call, 200, event_json(view, shape))


def patch_event(call: Call) -> Response:
    """``PATCH /me/events/{id}``: 200 with the full event; ``If-Match`` honoured."""
    view = call.store.patch(
        call.target,
        call.params["event_id"],
        call.body(),
        if_match=call.request.headers.get("if-match"),
    )
    return json_answer(call, 200, event_json(view, shape_of(call)))


def delete_event(call: Call) -> Response:
    """``DELETE /me/events/{id}``: 204; ``If-Match`` honoured."""
    call.store.delete(
        call.target, call.params["event_id"], if_match=call.request.headers.get("if-match")
    )
    return Response(204)


def cancel_event(call: Call) -> Response:
    """``POST /me/events/{id}/cancel``: 202 (organiser only)."""
    call.body()
    call.store.cancel(call.target, call.params["event_id"])
    return Response(202)


def _rsvp(action: str) -> Callable[[Call], Response]:
    def handle(call: Call) -> Response:
        body = call.body()
        send = body.get("sendResponse", True)
        if not isinstance(send, bool):
            raise GraphError(400, "RequestBodyRead", "sendResponse must be a boolean.")
        call.store.rsvp(call.target, call.params["event_id"], action, send_response=send)
        return Response(202)

    handle.__doc__ = f"``POST /me/events/{{id}}/{action}``: 202."
    return handle


def list_instances(call: Call) -> Response:
    """``GET /me/events/{id}/instances``: a series' occurrences and exceptions in a window."""
    start, end = window_of(call)
    target = call.store.resolve(call.target, call.params["event_id"])
    if target.original_start is not None:
        found: list[View] = []
    elif target.item.content.recurrence is None:
        own = item_view(target.item)
        found = [own] if own.overlaps(start, end) else []
    else:
        found = instances(target.item, start, end)
    shape = shape_of(call)
    chosen = _ordered(call, found, lambda v: (v.start_utc, v.id))
    return _page(call, chosen, lambda view: event_json(view, shape), "events")


def calendar_view(call: Call) -> Response:
    """``GET /me/calendarView``: singles, occurrences and exceptions meeting the window."""
    start, end = window_of(call)
    shape = shape_of(call)
    keep = parse_filter(call.param("$filter"))
    found = call.store.window(call.target, _calendar(call), start, end)
    chosen = _ordered(call, [view for view in found if keep(view)], lambda v: (v.start_utc, v.id))
    return _page(call, chosen, lambda view: event_json(view, shape), "calendarView")
