"""Odoo's recurrence arithmetic, as pure functions over a :class:`Rule`.

This is an independent implementation of what the recordings show Odoo 18.0
does (§5.5, §5.5b), on ``dateutil.rrule``:

* Expansion starts from the **start of the period** of the event's UTC start
  (the week start before it for weekly rules, the 1st of its UTC month for
  monthly ones), converted to ``event_tz`` (or the context tz, or UTC), and
  runs in that zone's local time; occurrences before the event's date are
  dropped, and when that leaves fewer than ``count`` the count is raised and
  the rule expanded again. So a weekly 14:00 Brussels series stays at 14:00
  local across the DST switch (13:00 then 12:00 UTC) [11, 30], and a monthly
  series starting on the 1st in Sydney (the 31st in UTC) comes out a month late.
* Local times that do not exist or exist twice are resolved like pytz's
  ``localize(is_dst=False)``: standard time wins.
* The week start (``WKST``) comes from the user's language (``res.lang``):
  Sunday for en_US, Monday for en_GB, Saturday for ar_001.
* ``forever`` means 720 occurrences (``MAX_RECURRENT_EVENT``).
* The ``rrule`` text is dateutil's ``str()`` of the rule with a ``DTSTART``
  that is the **time of computation** (naive UTC, seconds), not the event
  start [09].
* The recurrence's ``name`` is the English description Odoo stores
  (``"Every 1 Weeks on Monday, Wednesday for 5 events"``).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs
from dateutil import rrule
from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_RECURRENT_EVENT",
    "RULE_FIELDS",
    "Rule",
    "localize",
    "occurrences",
    "parse_rrule",
    "range_calculation",
    "rule_name",
    "serialize_rrule",
    "start_of_period",
    "weekday_occurrence",
]

MAX_RECURRENT_EVENT = 720
WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
WEEKDAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BYDAY_LABELS = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "-1": "Last"}
RULE_FIELDS = (
    "rrule_type", "interval", "end_type", "count", "until", *WEEKDAY_FIELDS,
    "month_by", "day", "weekday", "byday", "event_tz",
)  # fmt: skip
_FREQ: dict[str, Any] = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "monthly": rrule.MONTHLY,
    "yearly": rrule.YEARLY,
}
_FREQ_NAMES = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}
_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PERIOD_LABEL = {"daily": "Days", "weekly": "Weeks", "monthly": "Months", "yearly": "Years"}


@attrs.frozen
class Rule:
    """The stored fields of a ``calendar.recurrence`` that define its occurrences."""

    rrule_type: str = "weekly"
    interval: int = 1
    end_type: str = "count"
    count: int = 1
    until: date | None = None
    mon: bool = False
    tue: bool = False
    wed: bool = False
    thu: bool = False
    fri: bool = False
    sat: bool = False
    sun: bool = False
    month_by: str = "date"
    day: int = 1
    weekday: str | None = None
    byday: str | None = None
    event_tz: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Rule:
        """The rule of a stored recurrence row (NULLs become the field's empty value)."""
        values: dict[str, Any] = {name: row.get(name) for name in RULE_FIELDS}
        for name in WEEKDAY_FIELDS:
            values[name] = bool(values[name])
        for name in ("interval", "count", "day"):
            values[name] = int(values[name] or 0)
        for name in ("rrule_type", "end_type", "month_by"):
            values[name] = values[name] or ""
        return cls(**values)

    def weekdays(self) -> list[int]:
        """The selected weekdays (0 = Monday), Monday first."""
        return [index for index, name in enumerate(WEEKDAY_FIELDS) if getattr(self, name)]


def weekday_occurrence(day: date) -> int:
    """Which occurrence of its weekday ``day`` is in its month (4th and 5th count as -1)."""
    position = math.ceil(day.day / 7)
    return -1 if position in (4, 5) else position


def build_rrule(
    rule: Rule, dtstart: datetime, week_start: int, count: int | None = None
) -> rrule.rrule:
    """The dateutil rule Odoo builds for a recurrence (``_get_rrule``)."""
    params: dict[str, Any] = {"dtstart": dtstart, "interval": rule.interval}
    if rule.rrule_type == "monthly" and rule.month_by == "date":
        params["bymonthday"] = rule.day
    elif rule.rrule_type == "monthly" and rule.month_by == "day" and rule.weekday and rule.byday:
        code = _DAY_CODES[WEEKDAY_CODES.index(rule.weekday)]
        params["byweekday"] = getattr(rrule, code)(int(rule.byday))
    elif rule.rrule_type == "weekly":
        days = rule.weekdays()
        if not days:
            from calsync.testing._odoo._errors import UserError

            raise UserError("You have to choose at least one day in the week")
        params["byweekday"] = tuple(rrule.weekday(day) for day in days)
        params["wkst"] = rrule.weekday(week_start)
    if count is not None:
        params["count"] = min(count, MAX_RECURRENT_EVENT)
    elif rule.end_type == "count":
        params["count"] = min(rule.count, MAX_RECURRENT_EVENT)
    elif rule.end_type == "forever":
        params["count"] = MAX_RECURRENT_EVENT
    elif rule.end_type == "end_date" and rule.until is not None:
        params["until"] = datetime.combine(rule.until, time.max)
    return rrule.rrule(_FREQ[rule.rrule_type], **params)


def serialize_rrule(rule: Rule, now: datetime, week_start: int) -> str:
    """The stored ``rrule`` text: ``DTSTART`` is the computation time [09]."""
    if not rule.rrule_type:
        return ""
    return str(build_rrule(rule, now.replace(microsecond=0, tzinfo=None), week_start))


def rule_name(rule: Rule) -> str:
    """The recurrence's stored English name."""
    every = f"Every {rule.interval} {_PERIOD_LABEL.get(rule.rrule_type, '')}"
    parts = [every]
    if rule.rrule_type == "weekly":
        parts.append("on " + ", ".join(WEEKDAY_LABELS[index] for index in rule.weekdays()))
    elif rule.rrule_type == "monthly" and rule.month_by == "day":
        weekday = WEEKDAY_LABELS[WEEKDAY_CODES.index(rule.weekday)] if rule.weekday else ""
        parts.append(f"on the {BYDAY_LABELS.get(rule.byday or '', '')} {weekday}")
    elif rule.rrule_type == "monthly":
        parts.append(f"day {rule.day}")
    if rule.end_type == "count":
        parts.append(f"for {rule.count} events")
    elif rule.end_type == "end_date":
        parts.append(f"until {rule.until}")
    return " ".join(parts)


def zone_of(rule: Rule, context_tz: str | None) -> ZoneInfo:
    """The zone a series expands in: ``event_tz``, else the context tz, else UTC."""
    return ZoneInfo(rule.event_tz or context_tz or "UTC")


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """A local wall time made aware like pytz's ``localize(is_dst=False)``.

    Ambiguous or nonexistent wall times take the standard-time offset.
    """
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    for candidate in (first, second):
        if candidate.dst() == timedelta(0):
            return candidate
    return first


def to_utc(aware: datetime) -> datetime:
    """An aware datetime as naive UTC."""
    return aware.astimezone(timezone.utc).replace(tzinfo=None)


def start_of_period(
    rule: Rule, moment: datetime, zone: ZoneInfo, week_start: int, *, check_dst: bool = True
) -> datetime:
    """Where Odoo starts expanding: week start / 1st of month of the UTC datetime.

    When that start is on the other side of a DST change (in ``zone``), Odoo
    keeps the event's own start instead.
    """
    if rule.rrule_type == "weekly":
        start = moment + relativedelta(weekday=rrule.weekday(week_start)(-1))
    elif rule.rrule_type == "monthly":
        start = moment + relativedelta(day=1)
    else:
        start = moment
    if check_dst and localize(moment, zone).dst() != localize(start, zone).dst():
        start = moment
    return start


def occurrences(
    rule: Rule,
    first_start: datetime,
    *,
    allday: bool,
    context_tz: str | None,
    week_start: int,
    count: int | None = None,
) -> list[datetime]:
    """Occurrence starts (naive UTC) of ``rule`` expanded from ``first_start``."""
    zone = zone_of(rule, context_tz)
    dtstart = start_of_period(rule, first_start, zone, week_start)
    if allday:
        return list(build_rrule(rule, dtstart, week_start, count))
    local_start = dtstart.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
    return [
        to_utc(localize(item, zone)) for item in build_rrule(rule, local_start, week_start, count)
    ]


def range_calculation(
    rule: Rule,
    start: datetime,
    duration: timedelta,
    *,
    allday: bool,
    context_tz: str | None,
    week_start: int,
) -> set[tuple[datetime, datetime]]:
    """The (start, stop) ranges a series must have from ``start`` on (``_range_calculation``)."""

    def ranges(count: int | None) -> set[tuple[datetime, datetime]]:
        starts = occurrences(
            rule, start, allday=allday, context_tz=context_tz, week_start=week_start, count=count
        )
        return {(item, item + duration) for item in starts}

    def future(found: set[tuple[datetime, datetime]]) -> set[tuple[datetime, datetime]]:
        day = start.date()
        return {(a, b) for a, b in found if a.date() >= day and b.date() >= day}

    found = ranges(None)
    wanted = rule.count if rule.end_type == "count" else 0
    if wanted and len(future(found)) < wanted:
        found = ranges(2 * wanted - len(future(found)))
    return future(found)


# -- RRULE text -> fields ----------------------------------------------------------------------

_X_PARAM = re.compile(r";?X-[-\w]+=[^;:]*")


def parse_rrule(
    text: str, dtstart: datetime | None, *, now: datetime | None = None, major: int = 18
) -> dict[str, Any]:
    """Recurrence fields from an RRULE string, the way Odoo's ``_rrule_parse`` maps them.

    BYDAY turns a rule weekly, an nth weekday (``+2TU``) monthly by day, BYMONTHDAY
    monthly by date; a rule without BY* parts takes its day (and a yearly one its
    month) from ``dtstart``, as dateutil does, or from ``now`` when the series has
    no start yet (dateutil's default). Before 18.0 (``calendar_recurrence.py``
    ``_rrule_parse`` at 17.0) any BYMONTHDAY turns the rule monthly, yearly ones
    included, and a BYMONTH multiplies the interval by 12: Odoo 17 stores a
    yearly series as "every 12 months on day N", N from ``dtstart`` (the day it
    was saved, when the recurrence is parsed before its events exist).
    """
    parts = _rrule_parts(text)
    freq_name = parts.get("FREQ", "")
    if freq_name not in _FREQ_NAMES:
        from calsync.testing._odoo._errors import OdooValueError

        raise OdooValueError(f"invalid rrule string: {text!r}")
    freq = _FREQ_NAMES[freq_name]
    plain, nth = _byday(parts.get("BYDAY", ""), freq)
    monthdays = [int(item) for item in parts.get("BYMONTHDAY", "").split(",") if item]
    months = [int(item) for item in parts.get("BYMONTH", "").split(",") if item]
    anchor = dtstart or now or datetime(2000, 1, 1)  # noqa: DTZ001 (Odoo's are naive UTC)
    if not (plain or nth or monthdays or parts.get("BYWEEKNO") or parts.get("BYYEARDAY")):
        if freq in ("yearly", "monthly"):
            monthdays = [anchor.day]
        elif freq == "weekly":
            plain = [anchor.weekday()]
        if freq == "yearly" and not months:
            months = [anchor.month]
    until = _until(parts.get("UNTIL"))
    data: dict[str, Any] = {
        "rrule_type": freq,
        "count": int(parts["COUNT"]) if "COUNT" in parts else None,
        "interval": int(parts.get("INTERVAL", "1")),
        "until": until,
    }
    if plain:
        data.update(dict.fromkeys(WEEKDAY_FIELDS, False))
        data.update({WEEKDAY_FIELDS[index]: True for index in plain})
        data["rrule_type"] = "weekly"
    if nth:
        weekday, position = sorted(nth)[0]
        data.update(
            weekday=WEEKDAY_CODES[weekday],
            byday=str(position),
            month_by="day",
            rrule_type="monthly",
        )
    positive_days = sorted(day for day in monthdays if day > 0)
    if positive_days and (data["rrule_type"] == "monthly" or major < 18):
        data.update(day=positive_days[0], month_by="date", rrule_type="monthly")
    if months and major < 18:
        data["interval"] *= 12
    data["end_type"] = "end_date" if until else "count" if data["count"] else "forever"
    return data


def _rrule_parts(text: str) -> dict[str, str]:
    line = text
    for candidate in text.splitlines():
        stripped = candidate.strip()
        if stripped.upper().startswith("RRULE"):
            line = stripped
            break
        if "FREQ=" in stripped.upper():
            line = stripped
    line = _X_PARAM.sub("", line).replace(":;", ":")
    if ":" in line:
        line = line.split(":", 1)[1]
    parts = {}
    for item in line.strip(";").split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            parts[key.strip().upper()] = value.strip().upper()
    return parts


def _byday(value: str, freq: str) -> tuple[list[int], list[tuple[int, int]]]:
    plain: list[int] = []
    nth: list[tuple[int, int]] = []
    for item in filter(None, value.split(",")):
        match = re.fullmatch(r"([+-]?\d*)([A-Z]{2})", item)
        if not match or match.group(2) not in _DAY_CODES:
            continue
        index = _DAY_CODES.index(match.group(2))
        number = int(match.group(1)) if match.group(1) not in ("", "+", "-") else 0
        if number and freq in ("monthly", "yearly"):
            nth.append((index, number))
        elif index not in plain:
            plain.append(index)
    return sorted(plain), nth


def _until(value: str | None) -> date | None:
    if not value:
        return None
    digits = value.rstrip("Z")
    fmt = "%Y%m%dT%H%M%S" if "T" in digits else "%Y%m%d"
    return datetime.strptime(digits, fmt).date()  # noqa: DTZ007 (a date is wanted)
