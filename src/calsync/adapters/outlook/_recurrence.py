"""Graph's ``patternedRecurrence`` to :class:`RecurrenceRule` and back.

========================  ==========================================
Graph pattern             RRULE
========================  ==========================================
daily                     FREQ=DAILY;INTERVAL=n
weekly                    FREQ=WEEKLY;BYDAY=MO,WE;WKST=<firstDayOfWeek>
absoluteMonthly           FREQ=MONTHLY;BYMONTHDAY=d
relativeMonthly           FREQ=MONTHLY;BYDAY=+nXX (index last: -1XX)
absoluteYearly            FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d
relativeYearly            FREQ=YEARLY;BYMONTH=m;BYDAY=+nXX
range endDate/numbered    UNTIL=<endDate> / COUNT=n; noEnd: neither
========================  ==========================================

Writing sends only the properties the pattern type needs (Graph refuses the
others), always ``firstDayOfWeek`` (its default differs between Graph's pages
and RFC 5545), ``range.startDate`` as the start's date in the series' zone,
and ``recurrenceTimeZone``. A rule Graph cannot hold, or one Outlook would
expand differently from RFC 5545, raises :class:`UnsupportedRecurrenceError`:

- several ordinal weekdays, or ``YEARLY`` with ``BYDAY``/``BYMONTHDAY`` but
  no ``BYMONTH`` (Graph has no such patterns);
- a monthly or yearly day of month above 28 (Outlook moves the 29th-31st to
  the last day of shorter months where RFC 5545 skips those months; a yearly
  February 29 falls on February 28 in other years). Writing such a rule would
  make occurrences the other side does not have, so it is refused.

Reading maps every Graph pattern the model can express; a relative pattern
with several weekdays ("the first weekday of the month") cannot be, and
raises :class:`UnsupportedRecurrenceError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from calsync._errors import UnsupportedRecurrenceError
from calsync._model._recurrence import Frequency, RecurrenceRule, Weekday, WeekdayRule

__all__ = ["rule_from_graph", "rule_to_graph"]

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


def _weekday_of(day: date) -> Weekday:
    return list(Weekday)[day.weekday()]


def rule_to_graph(rule: RecurrenceRule, start: date, zone: str) -> dict[str, Any]:
    """The ``patternedRecurrence`` for ``rule`` on a series starting on ``start`` in ``zone``.

    ``start`` is the first occurrence's date in the series' zone; ``zone`` the
    IANA zone (``UTC`` for all-day series).
    """
    pattern: dict[str, Any] = {"type": "", "interval": rule.interval}
    ordinals = [d for d in rule.by_day if d.ordinal is not None]
    if rule.frequency is Frequency.DAILY:
        pattern["type"] = "daily"
    elif rule.frequency is Frequency.WEEKLY:
        days = [d.weekday for d in rule.by_day] or [_weekday_of(start)]
        pattern["type"] = "weekly"
        pattern["daysOfWeek"] = [DAY_NAMES[d] for d in days]
    elif rule.frequency is Frequency.MONTHLY:
        if ordinals:
            pattern.update(_relative(ordinals))
            pattern["type"] = "relativeMonthly"
        else:
            pattern["type"] = "absoluteMonthly"
            pattern["dayOfMonth"] = _month_day(rule.by_month_day or start.day)
    else:
        if rule.by_month is None and (rule.by_day or rule.by_month_day is not None):
            raise UnsupportedRecurrenceError(
                "BYMONTH", None, "Outlook's yearly rules need BYMONTH with BYDAY or BYMONTHDAY"
            )
        month = rule.by_month or start.month
        if ordinals:
            pattern.update(_relative(ordinals))
            pattern["type"] = "relativeYearly"
        else:
            pattern["type"] = "absoluteYearly"
            pattern["dayOfMonth"] = _month_day(rule.by_month_day or start.day)
        pattern["month"] = month
    pattern["firstDayOfWeek"] = DAY_NAMES[rule.week_start]
    span: dict[str, Any] = {"startDate": start.isoformat(), "recurrenceTimeZone": zone}
    if rule.count is not None:
        span.update(type="numbered", numberOfOccurrences=rule.count)
    elif rule.until is not None:
        span.update(type="endDate", endDate=rule.until.isoformat())
    else:
        span["type"] = "noEnd"
    return {"pattern": pattern, "range": span}


def _relative(ordinals: list[WeekdayRule]) -> dict[str, Any]:
    (only,) = ordinals  # the model allows one ordinal weekday in monthly and yearly rules
    assert only.ordinal is not None
    return {"daysOfWeek": [DAY_NAMES[only.weekday]], "index": INDEXES[only.ordinal]}


def _month_day(day: int) -> int:
    if day > 28:
        raise UnsupportedRecurrenceError(
            "BYMONTHDAY",
            day,
            "Outlook moves days 29-31 to the last day of shorter months where RFC 5545 "
            "skips those months; such a series would differ between the two sides",
        )
    return day


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


def rule_from_graph(recurrence: Mapping[str, Any], start: date | datetime) -> RecurrenceRule:
    """The model's rule for a Graph ``patternedRecurrence`` (every field filled, as Graph reads).

    ``start`` is the series' start (its date fills what the pattern leaves implicit).
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
        parts["by_month_day"] = _int(pattern, "dayOfMonth") or start.day
    elif kind in ("relativeMonthly", "relativeYearly"):
        if len(days) != 1:
            raise UnsupportedRecurrenceError(
                "daysOfWeek",
                ",".join(d.value for d in days),
                f"a {kind} pattern with several weekdays has no RRULE in the shared subset",
            )
        index = ORDINALS.get(_text(pattern, "index", "first").lower(), 1)
        parts["frequency"] = Frequency.MONTHLY if kind == "relativeMonthly" else Frequency.YEARLY
        parts["by_day"] = [WeekdayRule(days[0], index)]
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
