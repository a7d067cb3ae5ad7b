"""What a write does to an Outlook series, worked out without I/O.

Graph keeps a series as a master plus exceptions (modified occurrences, each
with its own id) and cancelled occurrences. The model keeps one event with a
:class:`Recurrence`. To make Outlook hold a model series, the adapter writes
the master (POST or PATCH), then turns each difference in exceptions and
cancellations into a PATCH or DELETE of that occurrence. Both the adapter
(which performs these steps) and the notification prediction (which must
foresee the mail each step causes) use the functions here.

Outlook's rules that shape this (as the emulator follows them):

- a PATCH of the master's start, end, zone, all-day flag or recurrence
  regenerates the series: exceptions and cancellations are dropped, and
  must be written again;
- any other PATCH of the master keeps the exceptions; an exception keeps the
  fields it overrides, and shows the master's new value for the others;
- a cancelled occurrence cannot be brought back (only a regenerated series
  has it again).
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from calsync._errors import RejectedError
from calsync._model._event import Event
from calsync._model._recurrence import OccurrenceKey, Recurrence
from calsync.adapters.outlook._mapping import FIELDS, master_patch_body, patch_body

__all__ = [
    "InstanceChange",
    "after_master_patch",
    "instance_changes",
    "occurrence",
    "regenerates",
    "slot_changed",
]


def occurrence(series: Event, key: OccurrenceKey) -> Event:
    """The unmodified occurrence of ``series`` at ``key``."""
    duration = series.end - series.start
    if isinstance(key, datetime):
        return attrs.evolve(series, start=key, end=key + duration, recurrence=None)
    assert isinstance(key, date)
    return attrs.evolve(series, start=key, end=key + duration, recurrence=None)


_TIMING = frozenset({"start", "end", "isAllDay", "recurrence"})
#: Content fields an exception may override (all but timing and recurrence).
_OVERRIDABLE = tuple(field.name for field in FIELDS if field.name != "when")


def regenerates(old: Event, new: Event, owner: str | None = None) -> bool:
    """Whether writing ``new``'s master over ``old`` makes Outlook regenerate the series."""
    return bool(_TIMING & master_patch_body(old, new, owner).keys())


def _propagate(old_master: Event, new_master: Event, exception: Event) -> Event:
    """An exception after a master change that keeps exceptions: unchanged fields follow."""
    changes = {}
    for field in _OVERRIDABLE:
        if getattr(exception, field) == getattr(old_master, field):
            changes[field] = getattr(new_master, field)
    return attrs.evolve(exception, **changes) if changes else exception


def after_master_patch(current: Event, wanted: Event, owner: str | None = None) -> Event:
    """The series Outlook holds once ``wanted``'s master is written over ``current``.

    Exceptions and cancellations are dropped when the series regenerates,
    else exceptions follow the master where they did not override it.
    """
    master = attrs.evolve(wanted, recurrence=None)
    if wanted.recurrence is None:
        return master
    if current.recurrence is None or regenerates(current, wanted, owner):
        return attrs.evolve(wanted, recurrence=Recurrence(wanted.recurrence.rule))
    old_master = attrs.evolve(current, recurrence=None)
    exceptions = {
        item.original_start: _propagate(old_master, master, item.event)
        for item in current.recurrence.exceptions
    }
    recurrence = Recurrence(
        wanted.recurrence.rule, exceptions=exceptions, cancelled=current.recurrence.cancelled
    )
    return attrs.evolve(wanted, recurrence=recurrence)


@attrs.frozen
class InstanceChange:
    """One occurrence to PATCH (``body``) or DELETE, with its content before and after."""

    key: OccurrenceKey
    action: str  # "patch" or "delete"
    before: Event
    after: Event | None = None
    body: dict[str, object] = attrs.field(factory=dict)


def instance_changes(
    now: Event, wanted: Event, owner: str | None = None
) -> tuple[InstanceChange, ...]:
    """The occurrence writes that turn the series ``now`` into ``wanted``.

    ``now`` is the series as Outlook holds it after its master was written.
    Raises :class:`RejectedError` when ``wanted`` brings back an occurrence
    Outlook has cancelled (Graph cannot restore one).
    """
    if now.recurrence is None or wanted.recurrence is None:
        return ()
    have, want = now.recurrence, wanted.recurrence
    restored = have.cancelled - want.cancelled
    if restored:
        first = sorted(restored, key=str)[0]
        raise RejectedError(
            f"Outlook cannot bring back the cancelled occurrence {first}; "
            "change the series' timing to regenerate it",
            code="OccurrenceCannotBeRestored",
        )
    changes: list[InstanceChange] = []
    master = attrs.evolve(now, recurrence=None)
    current = have.exception_map
    for key in sorted(want.cancelled - have.cancelled, key=_order):
        changes.append(InstanceChange(key, "delete", current.get(key) or occurrence(master, key)))
    wanted_exceptions = want.exception_map
    keys = (set(wanted_exceptions) | set(current)) - want.cancelled
    for key in sorted(keys, key=_order):
        before = current.get(key) or occurrence(master, key)
        after = wanted_exceptions.get(key) or occurrence(attrs.evolve(wanted, recurrence=None), key)
        body = patch_body(before, after, owner)
        if body:
            changes.append(InstanceChange(key, "patch", before, after, body))
    return tuple(changes)


def _order(key: OccurrenceKey) -> tuple[int, str]:
    return (1, key.isoformat()) if isinstance(key, datetime) else (0, key.isoformat())


def slot_changed(before: Event, after: Event) -> bool:
    """Whether Outlook mails an update for this change: time, place or recurrence."""
    location = next(f for f in FIELDS if f.name == "location")
    return (
        before.span() != after.span()
        or before.all_day != after.all_day
        or location.changed(before, after, None)
        or "recurrence" in master_patch_body(before, after)
    )
