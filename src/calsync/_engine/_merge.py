"""Three-way, field-by-field merge of one event.

Each side is compared with *its own* content at the last sync (``seen``), so
a side that stores less than the other (one reminder, free/busy only) is not
mistaken for a change. A field changed on one side takes that side's value; a
field changed on both sides to different values goes to the conflict rule.
Attendees merge per person, exceptions and cancellations per occurrence, so
unrelated edits on the two sides never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

import attrs

from calsync._engine._rules import KEEP_BOTH, Conflict, ConflictRule
from calsync._model._event import Event, When
from calsync._model._html import canonical_html
from calsync._model._projection import Projection
from calsync._model._recurrence import OccurrenceKey, Recurrence
from calsync._model._values import Attendee

__all__ = ["KeepBothRequested", "MergeOutcome", "ResolvedConflict", "SideView", "merge"]

T = TypeVar("T")
U = TypeVar("U")


class _Missing:
    """No earlier value: the side had no content at the last sync (a first match)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


@attrs.frozen
class _Sides(Generic[T]):
    """One value as the base holds it and as each side holds it now and held it before."""

    base: T
    left_now: T
    left_seen: T | _Missing
    right_now: T
    right_seen: T | _Missing
    #: On a first match: what the right side would hold of the left's value, and back.
    left_fit: T | _Missing = MISSING
    right_fit: T | _Missing = MISSING

    def map(self, get: Callable[[T], U]) -> _Sides[U]:
        def maybe(value: T | _Missing) -> U | _Missing:
            return MISSING if isinstance(value, _Missing) else get(value)

        return _Sides(
            get(self.base),
            get(self.left_now),
            maybe(self.left_seen),
            get(self.right_now),
            maybe(self.right_seen),
            maybe(self.left_fit),
            maybe(self.right_fit),
        )


@attrs.frozen
class SideView:
    """One side's input to a merge: its content now and at the last sync (None: never)."""

    name: str
    now: Event
    seen: Event | None
    projection: Projection
    modified: datetime | None


@attrs.frozen
class ResolvedConflict:
    """A conflict and the side the rule chose."""

    field: str
    winner: str


@attrs.frozen
class MergeOutcome:
    """The merged event and the conflicts decided on the way."""

    event: Event
    conflicts: tuple[ResolvedConflict, ...]


class KeepBothRequested(Exception):  # noqa: N818 (control flow, not an error)
    """The conflict rule asked to keep both versions of the event."""


def _equal(a: object, b: object) -> bool:
    return a == b


@attrs.define
class _Merger:
    left: SideView
    right: SideView
    rule: ConflictRule
    title: str
    link_key: str | None
    conflicts: list[ResolvedConflict] = attrs.Factory(list)

    def value(
        self,
        field: str,
        sides: _Sides[T],
        same: Callable[[T, T], bool] = _equal,
        *,
        alike: Callable[[T, T], bool] | None = None,
        union: Callable[[T, T], T] | None = None,
    ) -> T:
        """Merge one value against its base; a two-sided change goes to the rule.

        On a first match, ``alike`` loosens the comparison (titles that differ
        only in case or spacing are the same title, not a conflict) and
        ``union`` combines the two values instead of choosing one (two copies'
        reminders or categories: nothing is lost, nobody is e-mailed).
        """
        if isinstance(sides.left_seen, _Missing) and isinstance(sides.right_seen, _Missing):
            if union is not None:
                return union(sides.left_now, sides.right_now)
            return self._first(field, sides, alike or same)
        left_changed = isinstance(sides.left_seen, _Missing) or not same(
            sides.left_now, sides.left_seen
        )
        right_changed = isinstance(sides.right_seen, _Missing) or not same(
            sides.right_now, sides.right_seen
        )
        if not left_changed and not right_changed:
            return sides.base
        if not right_changed:
            return sides.left_now
        if not left_changed or same(sides.left_now, sides.right_now):
            return sides.right_now
        return sides.left_now if self._left_wins(field, sides) else sides.right_now

    def _first(self, field: str, sides: _Sides[T], same: Callable[[T, T], bool]) -> T:
        """No history: the value one side holds of the other's is no disagreement.

        When the right side holds exactly what it would hold of the left's value
        (one reminder out of two, say), the left's richer value is the truth;
        and the other way round. Anything else is a conflict.
        """
        if same(sides.left_now, sides.right_now):
            return sides.left_now
        if not isinstance(sides.left_fit, _Missing) and same(sides.left_fit, sides.right_now):
            return sides.left_now
        if not isinstance(sides.right_fit, _Missing) and same(sides.right_fit, sides.left_now):
            return sides.right_now
        return sides.left_now if self._left_wins(field, sides) else sides.right_now

    def _left_wins(self, field: str, sides: _Sides[T]) -> bool:
        conflict = Conflict(
            field=field,
            title=self.title,
            left_side=self.left.name,
            right_side=self.right.name,
            base=sides.base,
            left=sides.left_now,
            right=sides.right_now,
            left_modified=self.left.modified,
            right_modified=self.right.modified,
            link_key=self.link_key,
        )
        winner = self.rule(conflict)
        if winner is KEEP_BOTH:
            raise KeepBothRequested(field)
        self.conflicts.append(ResolvedConflict(field, str(winner)))
        return winner == self.left.name


def merge(
    base: Event | None,
    left: SideView,
    right: SideView,
    rule: ConflictRule,
    *,
    link_key: str | None = None,
) -> MergeOutcome:
    """Merge both sides' current content against the base.

    ``base`` None (and no ``seen`` content) is a first match: every field that
    differs is a conflict. Raises :class:`KeepBothRequested` when the rule asks
    for it, and :class:`~calsync.InvalidEventError` when the merged fields do
    not make a valid event.
    """
    merger = _Merger(left, right, rule, title=left.now.title or right.now.title, link_key=link_key)
    first = left.seen is None and right.seen is None
    events = _Sides(
        base if base is not None else left.now,
        left.now,
        left.seen if left.seen is not None else MISSING,
        right.now,
        right.seen if right.seen is not None else MISSING,
        right.projection(left.now) if first else MISSING,
        left.projection(right.now) if first else MISSING,
    )
    event = _merge_event(merger, events, has_base=base is not None)
    return MergeOutcome(event, tuple(merger.conflicts))


def _merge_event(merger: _Merger, events: _Sides[Event], *, has_base: bool) -> Event:
    def simple(field: str, get: Callable[[Event], T], same: Callable[[T, T], bool] = _equal) -> T:
        return merger.value(field, events.map(get), same)

    start, end, zone_name = _merge_when(merger, events, has_base=has_base)
    recurrence = _merge_recurrence(merger, events.map(lambda e: e.recurrence))
    if recurrence is not None:
        recurrence = _valid_for(recurrence, start, zone_name)
    base = events.base
    return attrs.evolve(
        base,
        title=merger.value("title", events.map(lambda e: e.title), alike=_same_title),
        start=start,
        end=end,
        timezone=zone_name,
        description=simple("description", lambda e: e.description, _same_html),
        location=simple("location", lambda e: e.location),
        online_meeting_url=simple("online_meeting_url", lambda e: e.online_meeting_url),
        organizer=base.organizer or events.left_now.organizer or events.right_now.organizer,
        attendees=_merge_attendees(merger, events.map(lambda e: e.attendees)),
        privacy=simple("privacy", lambda e: e.privacy),
        availability=simple("availability", lambda e: e.availability),
        reminders=merger.value("reminders", events.map(lambda e: e.reminders), union=_union),
        categories=merger.value("categories", events.map(lambda e: e.categories), union=_union),
        recurrence=recurrence,
        cancelled=simple("cancelled", lambda e: e.cancelled),
        modified=None,
    )


def _union(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(sorted(set(a) | set(b)))


def normal_title(title: str) -> str:
    """A title as matching compares it: case folded, whitespace runs made one space."""
    return " ".join(title.casefold().split())


def _same_title(a: str, b: str) -> bool:
    return normal_title(a) == normal_title(b)


def _same_html(a: str, b: str) -> bool:
    return a == b or canonical_html(a) == canonical_html(b)


_When = tuple[When, When, "str | None"]


def _merge_when(merger: _Merger, events: _Sides[Event], *, has_base: bool) -> _When:
    """Start, end and zone merge as one value; a side that drops zones keeps the base's."""
    base = events.base

    def view(projection: Projection) -> Callable[[Event], _When]:
        def get(event: Event) -> _When:
            zone_name = event.timezone
            keeps = projection.keeps_zone(event)
            if has_base and not keeps and not base.all_day and not event.all_day:
                zone_name = base.timezone
            return (event.start, event.end, zone_name)

        return get

    left_view, right_view = view(merger.left.projection), view(merger.right.projection)

    def through(get: Callable[[Event], _When], event: Event | _Missing) -> _When | _Missing:
        return MISSING if isinstance(event, _Missing) else get(event)

    sides = _Sides(
        (base.start, base.end, base.timezone),
        left_view(events.left_now),
        through(left_view, events.left_seen),
        right_view(events.right_now),
        through(right_view, events.right_seen),
        through(right_view, events.left_fit),
        through(left_view, events.right_fit),
    )
    return merger.value("when", sides)


def _merge_attendees(
    merger: _Merger, attendees: _Sides[tuple[Attendee, ...]]
) -> tuple[Attendee, ...]:
    tables = attendees.map(_by_email)
    emails: set[str] = set()
    for table in (
        tables.base,
        tables.left_now,
        tables.left_seen,
        tables.right_now,
        tables.right_seen,
    ):
        if not isinstance(table, _Missing):
            emails.update(table)
    merged = (_merge_attendee(merger, tables.map(_entry(email))) for email in sorted(emails))
    return tuple(attendee for attendee in merged if attendee is not None)


def _merge_attendee(merger: _Merger, sides: _Sides[Attendee | None]) -> Attendee | None:
    """Presence, kind and response merge separately: an RSVP never undoes an invitation."""
    email = next(a.email for a in (sides.left_now, sides.right_now, sides.base) if a is not None)
    if not merger.value(f"attendees[{email}]", sides.map(lambda a: a is not None)):
        return None
    left, right = sides.left_now, sides.right_now
    if left is None or right is None:
        return left or right
    template = sides.base or left
    kind = merger.value(f"attendees[{email}].kind", sides.map(lambda a: a.kind if a else None))
    response = merger.value(
        f"attendees[{email}].response", sides.map(lambda a: a.response if a else None)
    )
    return attrs.evolve(
        template,
        name=left.name or right.name,
        kind=kind or template.kind,
        response=response or template.response,
    )


def _merge_recurrence(merger: _Merger, recurrences: _Sides[Recurrence | None]) -> Recurrence | None:
    rule = merger.value("recurrence", recurrences.map(lambda r: r.rule if r else None))
    if rule is None:
        return None
    keys: set[OccurrenceKey] = set()
    for rec in (
        recurrences.base,
        recurrences.left_now,
        recurrences.left_seen,
        recurrences.right_now,
        recurrences.right_seen,
    ):
        if isinstance(rec, Recurrence):
            keys.update(rec.cancelled)
            keys.update(item.original_start for item in rec.exceptions)
    cancelled: set[OccurrenceKey] = set()
    exceptions: dict[OccurrenceKey, Event] = {}
    for key in sorted(keys, key=_instant):
        if merger.value(f"cancelled[{key}]", recurrences.map(_cancels(key))):
            cancelled.add(key)
            continue
        exception = _merge_exception(merger, key, recurrences.map(_exception_at(key)))
        if exception is not None:
            exceptions[key] = exception
    return Recurrence(rule, exceptions=exceptions, cancelled=cancelled)


def _by_email(attendees: tuple[Attendee, ...]) -> dict[str, Attendee]:
    return {attendee.email: attendee for attendee in attendees}


def _entry(email: str) -> Callable[[dict[str, Attendee]], Attendee | None]:
    return lambda table: table.get(email)


def _cancels(key: OccurrenceKey) -> Callable[[Recurrence | None], bool]:
    return lambda recurrence: recurrence is not None and key in recurrence.cancelled


def _exception_at(key: OccurrenceKey) -> Callable[[Recurrence | None], Event | None]:
    return lambda recurrence: recurrence.exception(key) if recurrence else None


def _merge_exception(
    merger: _Merger, key: OccurrenceKey, sides: _Sides[Event | None]
) -> Event | None:
    """One modified occurrence: merged field by field when both sides have it."""
    left, right = sides.left_now, sides.right_now
    if left is None or right is None:
        return merger.value(f"exceptions[{key}]", sides)

    def present(value: Event | _Missing | None) -> Event | _Missing:
        return value if isinstance(value, Event) else MISSING

    events = _Sides(
        sides.base or left,
        left,
        present(sides.left_seen),
        right,
        present(sides.right_seen),
        present(sides.left_fit),
        present(sides.right_fit),
    )
    return _merge_event(merger, events, has_base=sides.base is not None)


def _valid_for(recurrence: Recurrence, start: When, zone_name: str | None) -> Recurrence:
    """Drop exceptions and cancellations that are no occurrence of the merged series.

    Changing a series' rule or start moves its occurrences; Outlook drops the
    exceptions then, and so does calsync rather than keep orphans.
    """
    keys = set(recurrence.cancelled) | {item.original_start for item in recurrence.exceptions}
    if not keys:
        return recurrence
    latest = max(_instant(key) for key in keys)
    valid = set(recurrence.original_starts(start, zone_name, before=latest + timedelta(seconds=1)))
    if keys <= valid:
        return recurrence
    return Recurrence(
        recurrence.rule,
        exceptions=[item for item in recurrence.exceptions if item.original_start in valid],
        cancelled=recurrence.cancelled & valid,
    )


def _instant(key: date) -> datetime:
    if isinstance(key, datetime):
        return key
    return datetime(key.year, key.month, key.day, tzinfo=timezone.utc)
