"""Occurrence rows ⇄ one series with exceptions and cancelled occurrences.

Odoo materialises a series: every occurrence is a ``calendar.event`` row
linked to one ``calendar.recurrence``. It stores neither the original start of
a moved occurrence nor anything about a deleted one (odoo.md §5.6, §5.8), and
its expansion has quirks (§5.5b). So both directions work on occurrence
*sets*, with the model's own expansion as the reference:

Reading (:func:`assemble`)
  1. The **anchor** (the series' first slot) is, in order: the anchor calsync
     remembered for this recurrence, if the rows still fit it; else the
     earliest row Odoo made at a slot (``follow_recurrence``, archived ones
     included), moved back to the rule's slot nearest the earliest row when an
     earlier row exists (a first occurrence that was moved).
  2. The rule's **slots** are expanded from the anchor in the series' zone
     (count/until; an endless rule up to the last row).
  3. Rows exactly at a slot take it (active before archived); every other row
     takes the **nearest unfilled slot**. A row left without a slot cannot be
     expressed and is ignored (logged by the caller).
  4. The series content is the most common content of the active rows at
     their slots (a name edited on one occurrence does not rename the series).
     A slot whose active row differs from that content (time or any field) is
     an **exception**; a slot with an archived row or none is **cancelled**.

Limits: a deleted (unlinked) first occurrence leaves no trace; without a
remembered anchor the series then starts at its second slot (the occurrence
set is still right). An occurrence moved past its neighbour may be keyed to
the neighbour's slot.

Writing (:func:`plan_rows`)
  The wanted occurrences are matched to the rows: same start first, then the
  row at the original slot, then the nearest active row; each pair becomes a
  write of the fields that differ (a time change makes the row an exception in
  Odoo), unmatched active rows are cancelled (archived), and wanted
  occurrences no row can take are reported (Odoo's rule made fewer rows).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone

import attrs
from dateutil.relativedelta import relativedelta

from calsync._errors import InvalidEventError
from calsync._model._checks import is_date_only, zone
from calsync._model._event import Event, When
from calsync._model._recurrence import (
    Frequency,
    ModifiedOccurrence,
    OccurrenceKey,
    Recurrence,
    RecurrenceRule,
)

__all__ = ["Assembly", "Row", "RowPlan", "assemble", "local_date", "midnight", "plan_rows"]

UTC = timezone.utc
_PERIODS = {
    Frequency.DAILY: relativedelta(days=1),
    Frequency.WEEKLY: relativedelta(weeks=1),
    Frequency.MONTHLY: relativedelta(months=1),
    Frequency.YEARLY: relativedelta(years=1),
}
_NEIGHBOURS = 3


@attrs.frozen
class Row:
    """One occurrence row: its id, what it holds, whether active, whether Odoo placed it."""

    id: int
    event: Event
    active: bool = True
    follows: bool = True

    @property
    def start(self) -> When:
        """The row's start (an instant, or a date for all-day rows)."""
        return self.event.start


@attrs.frozen
class Assembly:
    """A series read from its rows: the event, its anchor, the rows no slot could take."""

    event: Event
    anchor: OccurrenceKey
    ignored: tuple[int, ...] = ()


@attrs.frozen
class RowPlan:
    """How to make a series' rows hold the wanted occurrences."""

    pairs: tuple[tuple[Row, Event], ...] = ()
    cancel: tuple[Row, ...] = ()
    missing: tuple[Event, ...] = ()


def _instant(value: When) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _slots(
    rule: RecurrenceRule, anchor: OccurrenceKey, tz: str | None, last: datetime
) -> list[OccurrenceKey]:
    recurrence = Recurrence(rule)
    if rule.count is None and rule.until is None:
        before = max(last, _instant(anchor)) + timedelta(seconds=1)
        return list(recurrence.original_starts(anchor, tz, before=before))
    return list(recurrence.original_starts(anchor, tz))


def _is_first(rule: RecurrenceRule, key: OccurrenceKey, tz: str | None) -> bool:
    return next(Recurrence(rule).original_starts(key, tz), None) == key


def _reaches(rule: RecurrenceRule, anchor: OccurrenceKey, tz: str | None, target: When) -> bool:
    open_rule = attrs.evolve(rule, count=None, until=None)
    before = _instant(target) + timedelta(seconds=1)
    return target in set(Recurrence(open_rule).original_starts(anchor, tz, before=before))


def _shift_back(key: OccurrenceKey, tz: str | None, delta: relativedelta) -> OccurrenceKey:
    if is_date_only(key):
        moved: date = key - delta
        return moved
    assert isinstance(key, datetime)
    local = key.astimezone(zone(tz or "UTC")).replace(tzinfo=None) - delta
    return local.replace(tzinfo=zone(tz or "UTC"), fold=0).astimezone(UTC)


def _earlier_slot(
    rule: RecurrenceRule, tz: str | None, base: OccurrenceKey, earliest: When
) -> OccurrenceKey | None:
    """The rule's slot before ``base`` nearest to ``earliest`` (a moved first occurrence)."""
    open_rule = attrs.evolve(rule, count=None, until=None)
    step = _PERIODS[rule.frequency] * rule.interval
    seed = base
    for _ in range(60):
        seed = _shift_back(seed, tz, step)
        if _instant(seed) < _instant(earliest) - timedelta(days=1):
            break
    else:
        return None
    starts = list(
        Recurrence(open_rule).original_starts(
            seed, tz, before=_instant(base) + timedelta(seconds=1)
        )
    )
    if base not in starts:
        return None
    earlier = [key for key in starts if _instant(key) < _instant(base)]
    if not earlier:
        return None
    target = _instant(earliest)
    nearest = min(earlier, key=lambda key: abs(_instant(key) - target))
    if abs(_instant(nearest) - target) >= abs(_instant(base) - target):
        return None
    return nearest if _is_first(open_rule, nearest, tz) else None


def _anchor(
    rule: RecurrenceRule, tz: str | None, rows: Sequence[Row], hint: OccurrenceKey | None
) -> OccurrenceKey:
    earliest = min((row.start for row in rows), key=_instant)
    placed = [row.start for row in rows if row.follows]
    base = min(placed, key=_instant) if placed else earliest
    if (
        hint is not None
        and is_date_only(hint) == is_date_only(base)
        and _instant(hint) <= _instant(base)
        and _is_first(rule, hint, tz)
        and _reaches(rule, hint, tz, base)
    ):
        return hint
    if _instant(earliest) < _instant(base):
        earlier = _earlier_slot(rule, tz, base, earliest)
        if earlier is not None:
            return earlier
    if _is_first(rule, base, tz):
        return base
    # an exception-only series off the rule's grid: start at the first slot from it
    first = next(Recurrence(rule).original_starts(base, tz), None)
    return first if first is not None else base


def _content_key(event: Event) -> tuple[object, ...]:
    return (
        event.title,
        event.description,
        event.location,
        event.online_meeting_url,
        tuple((a.email, a.response) for a in event.attendees),
        event.privacy,
        event.availability,
        event.reminders,
        event.categories,
        event.organizer,
        event.end - event.start,
    )


def _nearest_free(keys: Sequence[OccurrenceKey], free: set[int], value: When) -> int | None:
    instants = [_instant(key) for key in keys]
    position = bisect.bisect_left(instants, _instant(value))
    best: int | None = None
    low, high = position - 1, position
    while low >= 0 or high < len(keys):
        for index in (low, high):
            if 0 <= index < len(keys) and index in free:
                distance = abs(instants[index] - _instant(value))
                if best is None or distance < abs(instants[best] - _instant(value)):
                    best = index
        if best is not None:
            return best
        low, high = low - 1, high + 1
    return best


def assemble(
    rule: RecurrenceRule,
    tz_name: str,
    rows: Sequence[Row],
    *,
    hint: OccurrenceKey | None = None,
) -> Assembly | None:
    """The series that ``rows`` (all rows linked to one recurrence) hold; see the module doc."""
    if not rows:
        return None
    all_day = sum(1 if row.event.all_day else -1 for row in rows) >= 0
    usable = sorted(
        (row for row in rows if row.event.all_day == all_day),
        key=lambda row: (_instant(row.start), not row.active, row.id),
    )
    ignored = [row.id for row in rows if row.event.all_day != all_day]
    tz = None if all_day else tz_name
    anchor = _anchor(rule, tz, usable, hint)
    keys = _slots(rule, anchor, tz, max(_instant(row.start) for row in usable))
    index = {key: position for position, key in enumerate(keys)}
    taken: dict[int, Row] = {}
    rest: list[Row] = []
    for row in usable:
        position = index.get(row.start)
        if position is not None and position not in taken:
            taken[position] = row
        else:
            rest.append(row)
    free = set(range(len(keys))) - set(taken)
    moved: set[int] = set()
    for row in sorted(rest, key=lambda row: (not row.active, _instant(row.start))):
        position = _nearest_free(keys, free, row.start)
        if position is None:
            ignored.append(row.id)
            continue
        free.discard(position)
        taken[position] = row
        moved.add(position)
    at_slot = [taken[p].event for p in sorted(taken) if p not in moved and taken[p].active]
    candidates = at_slot or [row.event for row in usable if row.active] or [usable[0].event]
    counts = Counter(_content_key(event) for event in candidates)
    best = max(counts.values())
    template = next(event for event in candidates if counts[_content_key(event)] == best)
    duration = template.end - template.start
    exceptions: list[ModifiedOccurrence] = []
    cancelled: list[OccurrenceKey] = []
    for position, key in enumerate(keys):
        holder = taken.get(position)
        if holder is None or not holder.active:
            cancelled.append(key)
            continue
        plain = attrs.evolve(template, start=key, end=key + duration)
        if holder.event != plain:
            exceptions.append(ModifiedOccurrence(key, holder.event))
    stamps = [row.event.modified for row in rows if row.event.modified is not None]
    try:
        event = attrs.evolve(
            template,
            start=anchor,
            end=anchor + duration,
            timezone=tz,
            recurrence=Recurrence(rule, exceptions, cancelled),
            modified=max(stamps) if stamps else None,
        )
    except InvalidEventError:
        return None
    return Assembly(event, anchor, tuple(sorted(ignored)))


def _targets(wanted: Event, rows: Sequence[Row]) -> list[tuple[OccurrenceKey, Event]]:
    recurrence = wanted.recurrence
    assert recurrence is not None
    rule = recurrence.rule
    before = None
    if rule.count is None and rule.until is None:
        last = max([_instant(wanted.start), *(_instant(row.start) for row in rows)])
        before = last + wanted.duration + timedelta(days=1)
    return [
        (occurrence.original_start, attrs.evolve(occurrence.event, recurrence=None))
        for occurrence in wanted.occurrences(before=before)
    ]


def plan_rows(wanted: Event, rows: Sequence[Row]) -> RowPlan:
    """Pair the wanted occurrences of a series with its rows; see the module doc."""
    targets = _targets(wanted, rows)
    by_start: dict[datetime, list[Row]] = {}
    for row in sorted(rows, key=lambda row: (not row.active, not row.follows, row.id)):
        by_start.setdefault(_instant(row.start), []).append(row)
    used: set[int] = set()
    pairs: dict[int, Row] = {}

    def take(position: int, candidates: Iterable[Row]) -> None:
        for row in candidates:
            if row.id not in used:
                used.add(row.id)
                pairs[position] = row
                return

    for position, (_key, event) in enumerate(targets):
        take(position, by_start.get(_instant(event.start), ()))
    for position, (key, _event) in enumerate(targets):
        if position not in pairs:
            take(position, by_start.get(_instant(key), ()))
    spare = sorted(
        (row for row in rows if row.active and row.id not in used),
        key=lambda row: _instant(row.start),
    )
    open_targets = [p for p in range(len(targets)) if p not in pairs]
    if spare and open_targets:
        starts = [_instant(row.start) for row in spare]
        options: list[tuple[timedelta, int, int]] = []
        for position in open_targets:
            moment = _instant(targets[position][1].start)
            middle = bisect.bisect_left(starts, moment)
            for index in range(max(0, middle - _NEIGHBOURS), min(len(spare), middle + _NEIGHBOURS)):
                options.append((abs(starts[index] - moment), position, index))
        for _distance, position, index in sorted(options):
            if position not in pairs and spare[index].id not in used:
                used.add(spare[index].id)
                pairs[position] = spare[index]
    return RowPlan(
        pairs=tuple((pairs[p], targets[p][1]) for p in sorted(pairs)),
        cancel=tuple(row for row in rows if row.active and row.id not in used),
        missing=tuple(targets[p][1] for p in range(len(targets)) if p not in pairs),
    )


def local_date(key: OccurrenceKey, tz: str | None) -> date:
    """The local date of a series start (the day Odoo's rule fields refer to)."""
    if not isinstance(key, datetime):
        return key
    return key.astimezone(zone(tz or "UTC")).date()


def midnight(day: date) -> datetime:
    """A date as a UTC midnight."""
    return datetime.combine(day, time(), UTC)
