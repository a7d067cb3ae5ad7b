"""Graph's ``patternedRecurrence``: validation on write, filled form on read, Outlook's expansion.

Writing follows Graph's "send only what the pattern type needs" rule: a key
the type does not use (``dayOfMonth`` on a weekly pattern, even ``0``) is a
400, and ``range.startDate`` must be the event's start date. Reading returns
every field filled (``index: first``, ``month: 0``, ``dayOfMonth: 0``,
``endDate: 0001-01-01``, ``numberOfOccurrences: 0``).

Expansion follows Outlook where it differs from RFC 5545, as Microsoft
documents it:

- ``dayOfMonth`` 29 to 31 falls on the last day of shorter months (RFC skips
  those months); a yearly February 29 falls on February 28 in other years.
  Exchange's ``DayOfMonth`` element: "If for a particular month this value is
  larger than the number of days in the month, the last day of the month is
  assumed"
  (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/dayofmonth).
  Both are written as ``BYMONTHDAY=28..n;BYSETPOS=-1``: the last existing day
  of that set.
- ``interval`` counts from the first occurrence, not from the event's start
  when that start is no occurrence: the first occurrence is found with
  interval 1, and the rule restarts from it. Graph's "Schedule repeating
  appointments" page gives the case: the first Thursday every 2 months with a
  ``startDate`` of 2017-08-29 first occurs in September
  (https://learn.microsoft.com/en-us/graph/outlook-schedule-recurring-events).
- ``index`` picks among all days of ``daysOfWeek`` in the month
  (``BYSETPOS``), which for one day is the RFC's ``BYDAY=+nXX``: Graph's
  ``recurrencePattern`` counts the index over the instances of the allowed
  days from the first one in the month, its relativeMonthly example being "the
  second Thursday or Friday" every three months
  (https://learn.microsoft.com/en-us/graph/api/resources/recurrencepattern).
- ``firstDayOfWeek`` (default sunday) is the week start of weekly intervals.

Slots are wall-clock times: the caller expands in the recurrence zone, so a
10:00 series stays at 10:00 across a DST change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, Literal

import attrs
from dateutil import rrule

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._zones import parse_date, zone

__all__ = ["Pattern", "Range", "Recurrence", "parse_recurrence", "render_recurrence", "slots"]

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
INDEXES = ("first", "second", "third", "fourth", "last")
PATTERN_TYPES = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
RANGE_TYPES = ("endDate", "noEnd", "numbered")

#: The pattern keys each type uses; any other pattern key Graph knows is a 400.
_USES: dict[str, frozenset[str]] = {
    "daily": frozenset({"interval"}),
    "weekly": frozenset({"interval", "daysOfWeek"}),
    "absoluteMonthly": frozenset({"interval", "dayOfMonth"}),
    "relativeMonthly": frozenset({"interval", "daysOfWeek", "index"}),
    "absoluteYearly": frozenset({"interval", "dayOfMonth", "month"}),
    "relativeYearly": frozenset({"interval", "daysOfWeek", "month", "index"}),
}
_OPTIONAL = frozenset({"index"})
_PATTERN_KEYS = frozenset({"interval", "daysOfWeek", "dayOfMonth", "month", "index"})
_WEEKDAYS = {
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
    "sunday": rrule.SU,
}
_SETPOS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQ: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY,
    "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}


@attrs.frozen
class Pattern:
    """``recurrencePattern`` as stored (unused fields at their zero values)."""

    type: str
    interval: int = 1
    days_of_week: tuple[str, ...] = ()
    first_day_of_week: str = "sunday"
    day_of_month: int = 0
    month: int = 0
    index: str = "first"


@attrs.frozen
class Range:
    """``recurrenceRange`` as stored; ``time_zone`` is None when the writer sent none."""

    type: str
    start_date: date
    end_date: date | None = None
    count: int = 0
    time_zone: str | None = None


@attrs.frozen
class Recurrence:
    """A series' ``patternedRecurrence``."""

    pattern: Pattern
    range: Range


def _bad(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def _clean(raw: object, what: str) -> dict[str, Any]:
    """A JSON object without nulls and ``@odata.*`` keys."""
    if not isinstance(raw, Mapping):
        raise _bad(f"{what} must be an object.")
    return {k: v for k, v in raw.items() if v is not None and not str(k).startswith("@odata.")}


def parse_recurrence(raw: object, start_date: date) -> Recurrence:
    """Validate a written ``patternedRecurrence`` for an event starting on ``start_date``."""
    body = _clean(raw, "recurrence")
    pattern = _parse_pattern(_clean(body.get("pattern"), "recurrence.pattern"))
    recurrence_range = _parse_range(_clean(body.get("range"), "recurrence.range"))
    if recurrence_range.start_date != start_date:
        raise _bad(
            "The recurrence range's startDate must be the same as the event's start date "
            f"({start_date.isoformat()})."
        )
    return Recurrence(pattern, recurrence_range)


def _parse_pattern(body: dict[str, Any]) -> Pattern:
    kind = body.get("type")
    if kind not in _USES:
        raise _bad(f"Invalid recurrence pattern type {kind!r}.")
    uses = _USES[kind]
    for key in sorted(_PATTERN_KEYS & body.keys()):
        if key not in uses:
            raise _bad(f"Property {key} is not allowed for a recurrence pattern of type {kind}.")
    for key in sorted(uses - _OPTIONAL):
        if key not in body:
            raise _bad(f"Property {key} is required for a recurrence pattern of type {kind}.")
    return Pattern(
        type=kind,
        interval=_int(body, "interval", 1, 999),
        days_of_week=_days(body.get("daysOfWeek", [])),
        first_day_of_week=_day(body.get("firstDayOfWeek", "sunday")),
        day_of_month=_int(body, "dayOfMonth", 1, 31) if "dayOfMonth" in uses else 0,
        month=_int(body, "month", 1, 12) if "month" in uses else 0,
        index=_index(body.get("index", "first")),
    )


def _int(body: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"Property {key} must be an integer from {low} to {high}.")
    return value


def _day(value: object) -> str:
    name = value.lower() if isinstance(value, str) else ""
    if name not in DAYS:
        raise _bad(f"Invalid day of week {value!r}.")
    return name


def _days(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _bad("daysOfWeek must be a list.")
    days = tuple(dict.fromkeys(_day(item) for item in value))
    return tuple(sorted(days, key=DAYS.index))


def _index(value: object) -> str:
    name = value.lower() if isinstance(value, str) else ""
    if name not in INDEXES:
        raise _bad(f"Invalid week index {value!r}.")
    return name


def _parse_range(body: dict[str, Any]) -> Range:
    kind = body.get("type")
    if kind not in RANGE_TYPES:
        raise _bad(f"Invalid recurrence range type {kind!r}.")
    if "startDate" not in body:
        raise _bad("The recurrence range needs a startDate.")
    start = parse_date(body["startDate"], "recurrence.range.startDate")
    end = None
    if kind == "endDate":
        end = parse_date(body.get("endDate"), "recurrence.range.endDate")
        if end < start:
            raise _bad("The recurrence range's endDate is before its startDate.")
    count = _int(body, "numberOfOccurrences", 1, 999) if kind == "numbered" else 0
    time_zone = body.get("recurrenceTimeZone") or None
    if time_zone is not None:
        zone(str(time_zone))
    return Range(kind, start, end, count, None if time_zone is None else str(time_zone))


def render_recurrence(recurrence: Recurrence, default_zone: str) -> dict[str, Any]:
    """The ``patternedRecurrence`` as Graph reads it back: every field filled."""
    pattern, span = recurrence.pattern, recurrence.range
    return {
        "pattern": {
            "type": pattern.type,
            "interval": pattern.interval,
            "month": pattern.month,
            "dayOfMonth": pattern.day_of_month,
            "daysOfWeek": list(pattern.days_of_week),
            "firstDayOfWeek": pattern.first_day_of_week,
            "index": pattern.index,
        },
        "range": {
            "type": span.type,
            "startDate": span.start_date.isoformat(),
            "endDate": (span.end_date or date(1, 1, 1)).isoformat(),
            "recurrenceTimeZone": span.time_zone or default_zone,
            "numberOfOccurrences": span.count,
        },
    }


def _rule(pattern: Pattern, dtstart: datetime, interval: int) -> rrule.rrule:
    """The dateutil rule for a pattern, starting at ``dtstart``."""
    options: dict[str, Any] = {
        "dtstart": dtstart,
        "interval": interval,
        "wkst": _WEEKDAYS[pattern.first_day_of_week],
        "cache": False,
    }
    kind = pattern.type
    if kind in ("weekly", "relativeMonthly", "relativeYearly"):
        options["byweekday"] = [_WEEKDAYS[day] for day in pattern.days_of_week]
    if kind in ("relativeMonthly", "relativeYearly"):
        options["bysetpos"] = _SETPOS[pattern.index]
    if kind in ("absoluteMonthly", "absoluteYearly"):
        day = pattern.day_of_month
        options["bymonthday"] = tuple(range(min(day, 28), day + 1))
        options["bysetpos"] = -1
    if kind in ("absoluteYearly", "relativeYearly"):
        options["bymonth"] = pattern.month
    return rrule.rrule(_FREQ[kind], **options)


def slots(recurrence: Recurrence, start: datetime) -> Iterator[datetime]:
    """The series' occurrence starts as naive wall-clock times, in order.

    ``start`` is the master's start, wall clock in the recurrence zone. The
    iterator ends with the range; a ``noEnd`` series goes on to year 9999, so
    callers stop reading at the end of the window they need.
    """
    pattern, span = recurrence.pattern, recurrence.range
    first = next(iter(_rule(pattern, start, 1)), None)
    if first is None:
        return iter(())
    found: Iterator[datetime] = iter(_rule(pattern, first, pattern.interval))
    if span.type == "numbered":
        return itertools.islice(found, span.count)
    if span.type == "endDate":
        end = span.end_date
        assert end is not None
        return itertools.takewhile(lambda slot: slot.date() <= end, found)
    return found
