"""``calendarView/delta``: rounds, pages and tokens.

A round starts with a window (first round) or a ``$deltatoken`` (the next
rounds) and is computed at once, then served page by page; what changes
while a client pages shows in the next round. Each round compares the
window's content with what the token's round delivered, per *unit* (a
single event, or a series: master plus its instances in the window):

- a new or changed unit is sent whole: single events, series masters (with
  ``recurrence``) and exceptions (with ``originalStart``, ``seriesMasterId``)
  in full; occurrences as stubs (``@odata.type``, ``@odata.etag``, ``id``,
  ``type``, ``seriesMasterId``, ``start``, ``end``). A unit is never split
  across pages, so a page may exceed ``odata.maxpagesize`` to hold a series;
- a deleted or cancelled occurrence gets no ``@removed``: its series is sent
  again without it (the master's ``cancelledOccurrences`` lists it);
- a unit that left the view (deleted, or moved out of the window) comes as
  ``{"id": ..., "@removed": {"reason": "deleted"}}`` for each id the client
  had received for it (a series: its master and its instances);
- full items carry stray PascalCase keys (``IsDraft``,
  ``AllowNewTimeProposals``) like real pages, unless switched off.

Links are absolute URLs on the emulator: ``@odata.nextLink`` with
``$skiptoken`` (following it again gives the same page) and, on the last
page, ``@odata.deltaLink`` with ``$deltatoken``; the tokens stand for the
window, calendar and mailbox kept server-side. An unknown or expired token
answers 410 ``syncStateNotFound`` (with a ``Location`` holding the initial
query when the token was known). ``$select``, ``$filter``, ``$orderby``,
``$expand`` and ``$search`` answer 400.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._handlers import json_answer, window_of
from calsync.testing._graph._render import Shape, event_json, removed_json, stub_json
from calsync.testing._graph._zones import format_instant

if TYPE_CHECKING:
    from datetime import datetime

    from calsync.testing._graph._items import View
    from calsync.testing._graph._router import Call, Router
    from calsync.testing._server import Response

__all__ = ["DeltaEngine", "register"]

_UNSUPPORTED = ("$select", "$filter", "$orderby", "$expand", "$search")
_PREFIXES = ("", "calendar/", "calendars/{calendar_id}/")


@attrs.frozen
class Window:
    """What a token follows: a mailbox's calendar between two instants, at a link path."""

    mailbox_id: str
    calendar_id: str | None
    start: datetime
    end: datetime
    path: str


@attrs.frozen
class Entry:
    """One delta entry: a view in full or as a stub, or the id of something removed."""

    view: View | None = None
    stub: bool = False
    removed: str | None = None


Unit = tuple[Entry, ...]
Seen = dict[str, tuple[str, tuple[str, ...]]]


@attrs.define
class Round:
    """A round being paged: its units and what the client will have seen after it."""

    window: Window
    units: list[Unit]
    seen: Seen
    token: str | None = None


def _version(views: tuple[View, ...]) -> str:
    text = "|".join(f"{view.id}:{view.change_key}" for view in views)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _unit(views: tuple[View, ...]) -> Unit:
    return tuple(Entry(view=view, stub=view.kind == "occurrence") for view in views)


def _first_start(views: tuple[View, ...]) -> datetime:
    return min(view.start_utc for view in views if view.kind != "seriesMaster")


class DeltaEngine:
    """The delta tokens and rounds of one emulator."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[Window, Seen]] = {}
        self.rounds: dict[str, Round] = {}
        self.expired: dict[str, Window] = {}

    def begin(self, units: dict[str, tuple[View, ...]], window: Window, seen: Seen | None) -> str:
        """Start a round over the window's current ``units``; returns the round's key."""
        ordered = sorted(units.items(), key=lambda pair: (_first_start(pair[1]), pair[0]))
        sent: list[Unit] = []
        now: Seen = {}
        for key, views in ordered:
            version = _version(views)
            now[key] = (version, tuple(view.id for view in views))
            if seen is None or seen.get(key, ("",))[0] != version:
                sent.append(_unit(views))
        for key, (_, ids) in (seen or {}).items():
            if key not in units:
                sent.append(tuple(Entry(removed=event_id) for event_id in ids))
        key = secrets.token_urlsafe(12)
        self.rounds[key] = Round(window, sent, now)
        return key

    def page(self, key: str, offset: int, size: int) -> tuple[list[Entry], int | None, str | None]:
        """Entries from unit ``offset``; the next offset, or the delta token when done."""
        found = self.rounds[key]
        entries: list[Entry] = []
        position = offset
        while position < len(found.units) and (not entries or len(entries) < size):
            unit = found.units[position]
            if entries and len(entries) + len(unit) > size:
                break
            entries += unit
            position += 1
        if position < len(found.units):
            return entries, position, None
        if found.token is None:
            found.token = secrets.token_urlsafe(24)
            self.tokens[found.token] = (found.window, found.seen)
        return entries, None, found.token

    def expire(self, mailbox_id: str | None) -> None:
        """Make the tokens (and rounds) of one mailbox, or of all, unknown."""
        for token, (window, _) in list(self.tokens.items()):
            if mailbox_id is None or window.mailbox_id == mailbox_id:
                self.expired[token] = window
                del self.tokens[token]
        for key, found in list(self.rounds.items()):
            if mailbox_id is None or found.window.mailbox_id == mailbox_id:
                self.expired[key] = found.window
                del self.rounds[key]


def register(router: Router) -> None:
    """Add the delta routes (``delta`` and ``delta()`` alike)."""
    for prefix in _PREFIXES:
        router.add_mailbox("GET", f"{prefix}calendarView/delta", handle_delta)


def _gone(call: Call, engine: DeltaEngine, token: str) -> GraphError:
    window = engine.expired.get(token)
    headers: tuple[tuple[str, str], ...] = ()
    if window is not None:
        initial = {
            "startDateTime": format_instant(window.start),
            "endDateTime": format_instant(window.end),
        }
        headers = (("Location", call.link(initial, window.path)),)
    return GraphError(
        410,
        "syncStateNotFound",
        "The sync state generation is not found or has expired; start a new round.",
        headers,
    )


def _skiptoken(key: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{key}.{offset}".encode()).decode()


def _decode_skiptoken(text: str) -> tuple[str, int]:
    try:
        key, offset = base64.urlsafe_b64decode(text.encode()).decode().rsplit(".", 1)
        return key, int(offset)
    except ValueError:
        return text, -1


def _round(call: Call, engine: DeltaEngine) -> tuple[str, int]:
    """The round and offset this request reads: a page, a next round or a first round."""
    box = call.target
    skip, token = call.param("$skiptoken"), call.param("$deltatoken")
    if skip is not None:
        key, offset = _decode_skiptoken(skip)
        found = engine.rounds.get(key)
        if found is None or offset < 0 or found.window.mailbox_id != box.id:
            raise _gone(call, engine, key)
        return key, offset
    if token is not None:
        known = engine.tokens.get(token)
        if known is None or known[0].mailbox_id != box.id:
            raise _gone(call, engine, token)
        window, seen = known
    else:
        start, end = window_of(call)
        path = call.request.path.replace("delta()", "delta")
        window, seen = Window(box.id, call.params.get("calendar_id"), start, end, path), None
    units = call.store.units(box, window.calendar_id, window.start, window.end)
    return engine.begin(units, window, seen), 0


def _render(entry: Entry, shape: Shape) -> dict[str, Any]:
    if entry.removed is not None:
        return removed_json(entry.removed)
    assert entry.view is not None
    return stub_json(entry.view, shape) if entry.stub else event_json(entry.view, shape)


def handle_delta(call: Call) -> Response:
    """``GET /me/calendarView/delta``: one page of a round."""
    for name in _UNSUPPORTED:
        if name in call.request.query:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The query option {name} is not supported with change tracking over calendarView.",
            )
    engine = call.pipeline.delta
    assert engine is not None
    key, offset = _round(call, engine)
    size = call.prefer.max_page_size or call.pipeline.settings.default_page_size
    entries, following, token = engine.page(key, offset, size)
    shape = Shape(
        time_zone=call.prefer.time_zone or "UTC",
        body_as_text=call.prefer.body_text,
        stray_keys=call.pipeline.settings.stray_keys,
        odata_type=True,
    )
    window = engine.rounds[key].window
    payload: dict[str, Any] = {
        "@odata.context": f"{call.pipeline.base_url}/v1.0/$metadata#Collection(event)",
        "value": [_render(entry, shape) for entry in entries],
    }
    if following is not None:
        payload["@odata.nextLink"] = call.link(
            {"$skiptoken": _skiptoken(key, following)}, window.path
        )
    else:
        assert token is not None
        payload["@odata.deltaLink"] = call.link({"$deltatoken": token}, window.path)
    return json_answer(call, 200, payload)
