"""Graph's ``patternedRecurrence`` to :class:`RecurrenceRule` and back.

=============================  ==================================================
Graph pattern                  RRULE (as Outlook expands it)
=============================  ==================================================
daily                          FREQ=DAILY;INTERVAL=n
weekly                         FREQ=WEEKLY;BYDAY=MO,WE;WKST=<firstDayOfWeek>
absoluteMonthly, day 1-28      FREQ=MONTHLY;BYMONTHDAY=d
absoluteMonthly, day 29, 30    FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1
absoluteMonthly, day 31        FREQ=MONTHLY;BYMONTHDAY=-1 (every month's last day)
relativeMonthly, one day       FREQ=MONTHLY;BYDAY=+nXX (index last: -1XX)
relativeMonthly, several days  FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=n
absoluteYearly                 FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d (February 29:
                               BYMONTHDAY=-1, the 28th in common years)
relativeYearly                 FREQ=YEARLY;BYMONTH=m;BYDAY=+nXX (several days:
                               BYDAY=...;BYSETPOS=n)
range endDate/numbered/noEnd   UNTIL=<endDate> / COUNT=n / neither
=============================  ==================================================

Outlook's expansion differs from RFC 5545 in ways the table absorbs: a
``dayOfMonth`` of 29 to 31 falls on the month's last day when the month is
shorter (Exchange's ``DayOfMonth``: "If for a particular month this value is
larger than the number of days in the month, the last day of the month is
assumed", https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/dayofmonth),
``index`` picks among all the ``daysOfWeek`` of the month ("the second Thursday
or Friday"), and an interval counts from the first occurrence, not from
``range.startDate`` (Graph's "Schedule repeating appointments" page: first
Thursday every 2 months from 2017-08-29 first occurs in September): the
series' reader moves the start to that first occurrence
(:func:`first_occurrence`).

Writing sends only the properties the pattern type needs (Graph refuses the
others), always ``firstDayOfWeek`` (its default differs between Graph's pages
and RFC 5545), ``range.startDate`` as the start's date in the series' zone,
and ``recurrenceTimeZone``. The pattern written is read back with
:func:`rule_from_graph` and its occurrences compared with the rule's: a rule
Outlook would expand otherwise (``BYMONTHDAY=31``, which RFC 5545 skips in
shorter months) or cannot express (a ``DAILY`` rule on some weekdays every
other day, a yearly rule over every month) raises
:class:`~calsync.UnsupportedRecurrenceError` saying what Outlook would do.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from calsync._errors import UnsupportedRecurrenceError
from calsync._model._recurrence import (
    Frequency,
    OccurrenceKey,
    Recurrence,
    RecurrenceRule,
    Weekday,
    WeekdayRule,
    first_difference,
)

__all__ = ["first_occurrence", "rule_from_graph", "rule_to_graph"]

DAY_NAMES: dict[Weekday, str] = {
    Weekday.MO: "monday",
    Weekday.TU: "tuesday",
    Weekday.WE: "wednesday",
    Weekday.TH: "thursday",
    Weekday.FR: "friday",
    Weekday.SA: "saturday",
    Weekday.SU: "sunday",
}
WEEKDAYS: dict[str, Weekday] = {name: day for day, name in DAY_NAMES.items()}
INDEXES: dict[int, str] = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
ORDINALS: dict[str, int] = {name: number for number, name in INDEXES.items()}
_NO_END = date(1, 1, 1)
_SHORTEST_MONTH = 28


def rule_to_graph(rule: RecurrenceRule, start: date, zone: str) -> dict[str, Any]:
    """The ``patternedRecurrence`` for ``rule`` on a series starting on ``start`` in ``zone``.

    ``start`` is the first occurrence's date in the series' zone; ``zone`` the
    IANA zone (``UTC`` for all-day series). Raises
    :class:`~calsync.UnsupportedRecurrenceError` when Outlook cannot hold the
    series' occurrences.
    """
    rule = rule.canonical(start)
    pattern = {"interval": rule.interval, **_pattern(rule)}
    pattern["firstDayOfWeek"] = DAY_NAMES[rule.week_start]
    span: dict[str, Any] = {"startDate": start.isoformat(), "recurrenceTimeZone": zone}
    if rule.count is not None:
        span.update(type="numbered", numberOfOccurrences=rule.count)
    elif rule.until is not None:
        span.update(type="endDate", endDate=rule.until.isoformat())
    else:
        span["type"] = "noEnd"
    body = {"pattern": pattern, "range": span}
    _check_expansion(rule, body, start)
    return body


def _pattern(rule: RecurrenceRule) -> dict[str, Any]:
    if rule.frequency is Frequency.DAILY:
        if rule.by_day:
            raise UnsupportedRecurrenceError(
                "BYDAY",
                ",".join(map(str, rule.by_day)),
                "Outlook repeats on chosen weekdays only weekly: "
                "a DAILY rule on weekdays with an INTERVAL has no Outlook pattern",
            )
        return {"type": "daily"}
    if rule.frequency is Frequency.WEEKLY:
        return {"type": "weekly", "daysOfWeek": [DAY_NAMES[d.weekday] for d in rule.by_day]}
    if rule.frequency is Frequency.MONTHLY:
        return _in_month(rule, "Monthly", None)
    if rule.by_month is None:
        raise UnsupportedRecurrenceError(
            "BYMONTH",
            None,
            "Outlook's yearly patterns fall in one month: BYMONTH is needed with BYDAY "
            "or BYMONTHDAY",
        )
    return {"month": rule.by_month, **_in_month(rule, "Yearly", rule.by_month)}


def _in_month(rule: RecurrenceRule, period: str, month: int | None) -> dict[str, Any]:
    """The day within the month: ``relative...`` weekdays or an ``absolute...`` day."""
    if rule.by_day:
        ordinal = rule.by_day[0].ordinal
        position = ordinal if ordinal is not None else rule.by_set_pos
        assert position is not None  # the model asks for one or the other
        return {
            "type": f"relative{period}",
            "daysOfWeek": [DAY_NAMES[d.weekday] for d in rule.by_day],
            "index": INDEXES[position],
        }
    return {"type": f"absolute{period}", "dayOfMonth": _day_of_month(rule, month)}


def _day_of_month(rule: RecurrenceRule, month: int | None) -> int:
    """Outlook's ``dayOfMonth`` for a day, the last day (-1) or "day d, or the last"."""
    days, position = rule.by_month_day, rule.by_set_pos
    if days == (-1,):
        return 31 if month is None else calendar.monthrange(2000, month)[1]
    if position is None and len(days) == 1 and days[0] > 0:
        return days[0]
    if position == -1 and days == tuple(range(_SHORTEST_MONTH, days[-1] + 1)):
        return days[-1]
    raise UnsupportedRecurrenceError(
        "BYMONTHDAY",
        ",".join(map(str, days)),
        "Outlook repeats on one day of the month, or on the last",
    )


def _check_expansion(rule: RecurrenceRule, body: Mapping[str, Any], start: date) -> None:
    """Refuse the pattern when Outlook would expand it to other occurrences than ``rule``."""
    outlook = rule_from_graph(body, start).canonical(start)
    if outlook == rule:  # the usual case: no expansion to compare
        return
    difference = first_difference(
        Recurrence(rule).original_starts(start, None),
        Recurrence(outlook).original_starts(start, None),
    )
    if difference is None:
        return
    wanted, made = difference
    pattern = body["pattern"]
    raise UnsupportedRecurrenceError(
        "RRULE",
        str(rule),
        f"Outlook's nearest pattern ({_describe(pattern)}) would put an occurrence on "
        f"{_day(made)} where the rule has {_day(wanted)}",
    )


def _describe(pattern: Mapping[str, Any]) -> str:
    shown = [f"{key} {pattern[key]}" for key in ("type", "interval", "dayOfMonth", "month")
             if key in pattern]  # fmt: skip
    if "daysOfWeek" in pattern:
        shown.append("daysOfWeek " + ",".join(pattern["daysOfWeek"]))
    if "index" in pattern:
        shown.append(f"index {pattern['index']}")
    return ", ".join(shown)


def _day(value: OccurrenceKey | None) -> str:
    return "none (the series has ended)" if value is None else value.isoformat()


# -- reading ------------------------------------------------------------------------------------


def _text(mapping: Mapping[str, Any], key: str, default: str = "") -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else default


def _int(mapping: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _weekdays(values: object) -> list[Weekday]:
    if not isinstance(values, list):
        return []
    found = []
    for value in values:
        day = WEEKDAYS.get(str(value).lower())
        if day is None:
            raise UnsupportedRecurrenceError("daysOfWeek", value, "is not a day of the week")
        found.append(day)
    return found


def _parse_date(value: str) -> date | None:
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return None if parsed == _NO_END else parsed


def _outlook_month_days(day: int) -> dict[str, Any]:
    """Outlook's ``dayOfMonth``: the day, or the month's last day when it is shorter."""
    if day <= _SHORTEST_MONTH:
        return {"by_month_day": day}
    if day >= 31:
        return {"by_month_day": -1}
    return {"by_month_day": range(_SHORTEST_MONTH, day + 1), "by_set_pos": -1}


def _relative_days(days: list[Weekday], index: int, kind: str) -> dict[str, Any]:
    """Outlook's ``index`` among ``daysOfWeek``: an ordinal weekday, or a set position."""
    if not days:
        raise UnsupportedRecurrenceError("daysOfWeek", "", f"a {kind} pattern needs a weekday")
    if len(days) == 1:
        return {"by_day": [WeekdayRule(days[0], index)]}
    return {"by_day": [WeekdayRule(day) for day in days], "by_set_pos": index}


def rule_from_graph(recurrence: Mapping[str, Any], start: date | datetime) -> RecurrenceRule:
    """The model's rule for a Graph ``patternedRecurrence`` (every field filled, as Graph reads).

    The rule expands as Outlook does (see the module doc). ``start`` is the
    series' start (its date fills what the pattern leaves implicit).
    """
    pattern = recurrence.get("pattern") or {}
    span = recurrence.get("range") or {}
    kind = _text(pattern, "type")
    interval = max(_int(pattern, "interval", 1), 1)
    week_start = WEEKDAYS.get(_text(pattern, "firstDayOfWeek", "sunday").lower(), Weekday.SU)
    days = _weekdays(pattern.get("daysOfWeek"))
    parts: dict[str, Any] = {"interval": interval, "week_start": week_start}
    if kind == "daily":
        parts["frequency"] = Frequency.DAILY
    elif kind == "weekly":
        parts["frequency"] = Frequency.WEEKLY
        parts["by_day"] = [WeekdayRule(day) for day in days]
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        parts["frequency"] = Frequency.MONTHLY if kind == "absoluteMonthly" else Frequency.YEARLY
        parts.update(_outlook_month_days(_int(pattern, "dayOfMonth") or start.day))
    elif kind in ("relativeMonthly", "relativeYearly"):
        index = ORDINALS.get(_text(pattern, "index", "first").lower(), 1)
        parts["frequency"] = Frequency.MONTHLY if kind == "relativeMonthly" else Frequency.YEARLY
        parts.update(_relative_days(days, index, kind))
    else:
        raise UnsupportedRecurrenceError("pattern.type", kind, "is not a Graph recurrence pattern")
    if kind in ("absoluteYearly", "relativeYearly"):
        parts["by_month"] = _int(pattern, "month") or start.month
    range_type = _text(span, "type", "noEnd")
    if range_type == "numbered" and _int(span, "numberOfOccurrences") > 0:
        parts["count"] = _int(span, "numberOfOccurrences")
    elif range_type == "endDate":
        until = _parse_date(_text(span, "endDate"))
        if until is not None:
            parts["until"] = until
    return RecurrenceRule(**parts)


def first_occurrence(
    rule: RecurrenceRule, start: OccurrenceKey, zone: str | None
) -> OccurrenceKey | None:
    """The series' first occurrence, as Outlook finds it from ``start``.

    Outlook counts the interval from the first day on or after ``startDate``
    that fits the pattern, not from ``startDate`` itself, so that day is found
    with an interval of one; the model's series starts there.
    """
    scan = attrs.evolve(rule, interval=1, count=None, until=None)
    return next(Recurrence(scan).original_starts(start, zone), None)
