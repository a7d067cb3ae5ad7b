"""An in-memory calendar: the reference implementation of the adapter Protocol.

:class:`MemoryCalendar` keeps events in a dict and a change feed with a
cursor, stores only what its :class:`~calsync.model.Projection` allows (to
mimic a lossy provider), and takes faults on demand: failed writes, failed or
cut-short listings, versions bumped without a content change. Tests, examples
and the benchmarks use it; so can an application, as a scratch calendar.

Methods without ``async`` (``add``, ``edit``, ``delete``, ``archive`` ...)
act as the calendar's user would in a calendar app; the ``async`` ones are
the adapter Protocol that calsync drives.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from calsync._errors import (
    NotFoundError,
    PreconditionFailedError,
    ProviderError,
    TransientError,
)
from calsync._model._event import Event
from calsync._model._projection import Projection
from calsync._model._window import Window
from calsync._protocol import (
    Create,
    Delete,
    Listing,
    Notification,
    RemoteEvent,
    Update,
    Write,
    WriteResult,
)

__all__ = ["MemoryCalendar", "SimulatedCrash"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SimulatedCrash(Exception):  # noqa: N818 (it is not an error of calsync's)
    """Raised by :meth:`MemoryCalendar.crash_at_write`: the process "died" mid-run."""


@attrs.define
class _Faults:
    """Faults queued on a memory calendar."""

    writes: dict[int, ProviderError] = attrs.Factory(dict)
    crashes: dict[int, bool] = attrs.Factory(dict)
    pull: ProviderError | None = None
    cut_after: int | None = None


class MemoryCalendar:
    """An in-memory calendar that calsync can sync like any provider.

    ``name`` labels the side in plans; ``projection`` is what it stores of an
    event; ``notifications`` (optional) predicts the attendee e-mails a write
    would cause, to stand in for a provider that sends them; ``clock`` stamps
    ``Event.modified`` (the wall clock by default); ``holds_others_meetings``
    False makes it refuse, like Outlook, meetings another person organises.
    """

    def __init__(
        self,
        name: str = "memory",
        *,
        account: str = "me@example.com",
        owner_email: str | None = None,
        projection: Projection | None = None,
        notifications: Callable[[Write], tuple[Notification, ...]] | None = None,
        clock: Clock | None = None,
        holds_others_meetings: bool = True,
    ) -> None:
        self._name = name
        self._account = account
        self._owner_email = owner_email or account
        self._projection = projection or Projection()
        self._notifications = notifications
        self._clock = clock or _utc_now
        self._holds_others_meetings = holds_others_meetings
        self._events: dict[str, RemoteEvent] = {}
        self._keys: dict[str, str] = {}
        self._feed: list[str] = []
        self._ids = itertools.count(1)
        self._faults = _Faults()
        self._writes_done = 0
        #: Calls made through the adapter Protocol, by method name ("pull", "write", ...).
        self.calls: Counter[str] = Counter()

    # -- identity ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The side's label in plans and reports."""
        return self._name

    @property
    def account(self) -> str:
        """Whose calendar this is."""
        return self._account

    @property
    def owner_email(self) -> str | None:
        """The owner's address, to find their own attendee row."""
        return self._owner_email

    @property
    def projection(self) -> Projection:
        """What this calendar stores of an event."""
        return self._projection

    @property
    def holds_others_meetings(self) -> bool:
        """Whether meetings others organise may be created here (as given at construction)."""
        return self._holds_others_meetings

    @property
    def requests(self) -> int:
        """Protocol calls made so far (a stand-in for a provider's request count)."""
        return sum(self.calls.values())

    def notifications(self, write: Write) -> tuple[Notification, ...]:
        """The e-mails ``write`` would cause, per the policy given at construction."""
        return self._notifications(write) if self._notifications else ()

    def __repr__(self) -> str:
        return f"MemoryCalendar(name={self._name!r}, events={len(self)})"

    # -- the user's side: edits as a person would make them in a calendar app ------------------

    def add(
        self,
        event: Event,
        *,
        uid: str | None = None,
        read_only: bool = False,
        key: str | None = None,
    ) -> str:
        """Create an event as the calendar's user; returns its new id."""
        event_id = str(next(self._ids))
        self._store(RemoteEvent(event_id, event, uid=uid, key=key, read_only=read_only))
        return event_id

    def edit(self, event_id: str, **changes: Any) -> RemoteEvent:
        """Change fields of an event (``edit(id, title="New")``), as its user."""
        current = self._require(event_id)
        return self._store(attrs.evolve(current, event=attrs.evolve(current.event, **changes)))

    def replace(self, event_id: str, event: Event) -> RemoteEvent:
        """Replace an event's whole content, as its user."""
        return self._store(attrs.evolve(self._require(event_id), event=event))

    def delete(self, event_id: str) -> None:
        """Delete an event for good, as its user."""
        current = self._events.pop(event_id, None)
        if current is not None:
            if current.key is not None:
                self._keys.pop(current.key, None)
            self._feed.append(event_id)

    def archive(self, event_id: str) -> None:
        """Hide an event but keep it (Odoo's archive); calsync treats it as deleted."""
        self._store(attrs.evolve(self._require(event_id), archived=True))

    def unarchive(self, event_id: str) -> None:
        """Bring an archived event back; calsync treats it as new."""
        self._store(attrs.evolve(self._require(event_id), archived=False))

    def touch(self, event_id: str) -> None:
        """Bump an event's version without changing its content (a fault some providers have)."""
        current = self._require(event_id)
        self._store(current, stamp=False)

    def get(self, event_id: str) -> RemoteEvent | None:
        """An event by id, archived ones included."""
        return self._events.get(event_id)

    @property
    def events(self) -> list[RemoteEvent]:
        """The live (not archived) events, by id."""
        return [e for _, e in sorted(self._events.items(), key=_numeric_id) if not e.archived]

    def __len__(self) -> int:
        return sum(1 for e in self._events.values() if not e.archived)

    # -- faults --------------------------------------------------------------------------------

    def fail_write(self, error: ProviderError, *, nth: int = 1) -> None:
        """Make the ``nth`` write from now on (1 = the next) fail with ``error``."""
        self._faults.writes[self._writes_done + nth] = error

    def crash_at_write(self, nth: int = 1, *, after: bool = False) -> None:
        """Stop the run at the ``nth`` write from now on, before it or just after it.

        :class:`SimulatedCrash` escapes the adapter like a dying process would:
        nothing after it runs, nothing is committed.
        """
        self._faults.crashes[self._writes_done + nth] = after

    def fail_next_pull(self, error: ProviderError | None = None) -> None:
        """Make the next pull fail (the listing is then unknown, not empty)."""
        self._faults.pull = error or TransientError("listing failed", side=self._name)

    def cut_next_listing(self, after: int) -> None:
        """Make the next pull stop after ``after`` items, marked incomplete."""
        self._faults.cut_after = after

    # -- the adapter Protocol ------------------------------------------------------------------

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        """Changes since ``cursor``; every event in ``window`` when it is None or unknown."""
        self.calls["pull"] += 1
        if self._faults.pull is not None:
            error, self._faults.pull = self._faults.pull, None
            raise error
        position = _position(cursor, len(self._feed))
        if position is None:
            items = [e for e in self._events.values() if window.contains(e.event)]
            listing = Listing(items=_by_id(items), full=True, cursor=str(len(self._feed)))
        else:
            changed = dict.fromkeys(self._feed[position:])
            items = [self._events[i] for i in changed if i in self._events]
            removed = frozenset(i for i in changed if i not in self._events)
            listing = Listing(items=_by_id(items), removed=removed, cursor=str(len(self._feed)))
        return self._maybe_cut(listing, cursor)

    def _maybe_cut(self, listing: Listing, cursor: str | None) -> Listing:
        after, self._faults.cut_after = self._faults.cut_after, None
        if after is None or after >= len(listing.items):
            return listing
        return attrs.evolve(
            listing, items=listing.items[:after], removed=frozenset(), complete=False, cursor=cursor
        )

    async def fetch(self, ids: Sequence[str]) -> Mapping[str, RemoteEvent | None]:
        """The current state of these events (None for the deleted ones)."""
        self.calls["fetch"] += 1
        return {event_id: self._events.get(event_id) for event_id in ids}

    async def apply(self, writes: Sequence[Write]) -> Sequence[WriteResult]:
        """Perform writes in order; one failing write does not stop the others."""
        self.calls["apply"] += 1
        return [self._apply_one(write) for write in writes]

    async def aclose(self) -> None:
        """Nothing to release."""

    def _apply_one(self, write: Write) -> WriteResult:
        self.calls["write"] += 1
        self._writes_done += 1
        crash_after = self._faults.crashes.pop(self._writes_done, None)
        if crash_after is False:
            raise SimulatedCrash(f"stopped before write {self._writes_done}")
        error = self._faults.writes.pop(self._writes_done, None)
        if error is not None:
            return WriteResult(write, error=error)
        result = self._perform(write)
        if crash_after:
            raise SimulatedCrash(f"stopped after write {self._writes_done}")
        return result

    def _perform(self, write: Write) -> WriteResult:
        try:
            if isinstance(write, Create):
                return WriteResult(write, stored=self._create(write))
            if isinstance(write, Update):
                return WriteResult(write, stored=self._update(write))
            self._delete(write)
            return WriteResult(write)
        except ProviderError as failure:
            return WriteResult(write, error=failure)

    def _create(self, write: Create) -> RemoteEvent:
        """Create, or (same key) bring back and update what an earlier attempt created."""
        existing = self._events.get(self._keys.get(write.key, ""))
        if existing is not None:
            return self._store(attrs.evolve(existing, event=write.event, archived=False))
        event_id = str(next(self._ids))
        return self._store(RemoteEvent(event_id, write.event, key=write.key))

    def _update(self, write: Update) -> RemoteEvent:
        current = self._events.get(write.current.id)
        if current is None:
            raise NotFoundError("no such event", side=self._name, event=write.current.id)
        if write.current.version is not None and write.current.version != current.version:
            raise PreconditionFailedError(
                "the event changed since it was read", side=self._name, event=current.id
            )
        if current.read_only:
            return self._store(
                attrs.evolve(current, event=self._own_response(current, write.event))
            )
        return self._store(attrs.evolve(current, event=write.event))

    def _own_response(self, current: RemoteEvent, wanted: Event) -> Event:
        """A read-only event: only the owner's own response can change."""
        owner = self._owner_email.lower()
        answers = {a.email: a.response for a in wanted.attendees}
        attendees = tuple(
            attrs.evolve(a, response=answers.get(a.email, a.response)) if a.email == owner else a
            for a in current.event.attendees
        )
        return attrs.evolve(current.event, attendees=attendees)

    def _delete(self, write: Delete) -> None:
        self.delete(write.current.id)

    # -- storage -------------------------------------------------------------------------------

    def _require(self, event_id: str) -> RemoteEvent:
        current = self._events.get(event_id)
        if current is None:
            raise NotFoundError("no such event", side=self._name, event=event_id)
        return current

    def _store(self, item: RemoteEvent, *, stamp: bool = True) -> RemoteEvent:
        event = self._projection(item.event)
        if stamp:
            event = attrs.evolve(event, modified=self._clock())
        self._feed.append(item.id)
        stored = attrs.evolve(item, event=event, version=str(len(self._feed)))
        self._events[item.id] = stored
        if stored.key is not None:
            self._keys[stored.key] = stored.id
        return stored


def _position(cursor: str | None, length: int) -> int | None:
    if cursor is None or not cursor.isdigit() or int(cursor) > length:
        return None
    return int(cursor)


def _numeric_id(entry: tuple[str, RemoteEvent]) -> tuple[int, str]:
    event_id = entry[0]
    return (int(event_id), "") if event_id.isdigit() else (0, event_id)


def _by_id(items: list[RemoteEvent]) -> tuple[RemoteEvent, ...]:
    return tuple(sorted(items, key=lambda e: _numeric_id((e.id, e))))
