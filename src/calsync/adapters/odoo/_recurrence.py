"""Odoo's recurrence fields ⇄ :class:`~calsync.model.RecurrenceRule`, and Odoo's expansion.

Odoo stores a series' rule as fields of ``calendar.recurrence`` (the same
names are writable pseudo-fields of ``calendar.event``):

================================  ==========================================
RRULE                             Odoo
================================  ==========================================
FREQ                              ``rrule_type`` daily / weekly / monthly / yearly
INTERVAL                          ``interval``
COUNT                             ``end_type='count'`` + ``count`` (at most 720)
UNTIL (a date)                    ``end_type='end_date'`` + ``until``
no end                            ``end_type='forever'``: Odoo materialises 720
                                  rows and reads back ``count=720``, which is
                                  read as "no end"
BYDAY (weekly)                    ``mon`` ... ``sun``
BYMONTHDAY (monthly)              ``month_by='date'`` + ``day``; ``day=-1`` is
                                  the month's last day (Odoo's check allows it
                                  and its ``dateutil`` rule expands it)
BYDAY=2TU / -1FR (monthly)        ``month_by='day'`` + ``byday`` + ``weekday``
YEARLY on the start's date        ``rrule_type='yearly'`` (18.0 and later)
other YEARLY (2TU of March,       ``monthly`` with ``interval`` 12n, which
last day of February), and every  counts from the first occurrence's month
YEARLY before 18.0
WKST                              not stored: Odoo takes the user's
                                  language's week start (en_US: Sunday)
================================  ==========================================

The ``rrule`` text is not read: its DTSTART is the time it was computed
(odoo.md §5.5), and the fields carry the same rule. Odoo cannot hold a rule on
several weekdays of a month ("the first weekday"), Outlook's "day 29 or 30, or
the month's last day when shorter", ``DAILY`` on some weekdays every other
day, or more than 720 occurrences: :func:`rule_to_odoo` refuses those with
:class:`~calsync.UnsupportedRecurrenceError`. Omitted fields are always
filled from the start (Odoo's RPC create fills them with defaults, not from
the start: §5.5b).

Odoo's expansion (:func:`odoo_starts`, an independent reading of
``calendar.recurrence._range_calculation``, checked against a real Odoo 18
server by ``bench/recurrence_table.py``) starts from the *start of the period*
of the first occurrence's UTC start (the user's week start for weekly rules,
the 1st of the UTC month for monthly ones) and drops what falls before it.
So a weekly series every other week, or a monthly one every other month,
comes out a period late when its local and UTC dates fall in different
periods (08:00 on the 1st in Sydney is the 31st in UTC), and a weekly one
every other week groups its days by the user's week start. :func:`check_rule`
compares that expansion with the model's and refuses a series Odoo would
expand otherwise, so the stored recurrence always describes the rows.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil import rrule
from dateutil.relativedelta import relativedelta

from calsync._errors import UnsupportedRecurrenceError
from calsync._model._checks import zone
from calsync._model._recurrence import (
    COMPARED_OCCURRENCES,
    Frequency,
    OccurrenceKey,
    Recurrence,
    RecurrenceRule,
    Weekday,
    WeekdayRule,
    first_difference,
)

__all__ = [
    "MAX_OCCURRENCES",
    "RECURRENCE_FIELDS",
    "WEEKDAY_FIELDS",
    "check_rule",
    "odoo_starts",
    "rule_from_odoo",
    "rule_key",
    "rule_to_odoo",
    "week_start",
]

UTC = timezone.utc
#: Odoo's ``MAX_RECURRENT_EVENT``: a series has at most this many rows.
MAX_OCCURRENCES = 720
WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ODOO_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_WEEKDAYS = tuple(Weekday)
_FREQUENCIES = {
    "daily": Frequency.DAILY,
    "weekly": Frequency.WEEKLY,
    "monthly": Frequency.MONTHLY,
    "yearly": Frequency.YEARLY,
}
_TYPES = {value: key for key, value in _FREQUENCIES.items()}
_DATEUTIL: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "monthly": rrule.MONTHLY,
    "yearly": rrule.YEARLY,
}
#: The ``calendar.recurrence`` fields the adapter reads.
RECURRENCE_FIELDS = (
    "rrule_type",
    "interval",
    "end_type",
    "count",
    "until",
    *WEEKDAY_FIELDS,
    "month_by",
    "day",
    "weekday",
    "byday",
    "event_tz",
    "base_event_id",
    "write_date",
)


def week_start(value: object) -> Weekday:
    """The week start of ``res.lang.week_start`` (``"1"`` Monday ... ``"7"`` Sunday).

    Unknown values give Sunday, ``res.lang``'s default (en_US).
    """
    try:
        number = int(str(value))
    except ValueError:
        return Weekday.SU
    return _WEEKDAYS[number - 1] if 1 <= number <= 7 else Weekday.SU


def rule_from_odoo(
    values: Mapping[str, Any],
    *,
    first: date,
    weeks_start: Weekday = Weekday.SU,
    yearly_type: bool = True,
) -> RecurrenceRule:
    """The rule of a ``calendar.recurrence`` row; ``first`` (local) fills missing days.

    WKST is set only where it changes the occurrences (weekly, interval above
    one), so that equal rules compare equal. ``yearly_type=False`` reads a row
    of Odoo 17, which stores a yearly series made in its own client as
    "monthly, every 12 months" on the day the series was *saved* (its
    ``_rrule_parse`` reads the rule before the series has a start, and
    dateutil then takes today's date): the series' day there is its first
    occurrence's.
    """
    frequency = _FREQUENCIES.get(str(values.get("rrule_type") or "weekly"), Frequency.WEEKLY)
    interval = max(1, int(values.get("interval") or 1))
    count: int | None = None
    until: date | None = None
    end_type = values.get("end_type")
    if end_type == "count":
        count = int(values.get("count") or 1)
        if count >= MAX_OCCURRENCES:
            count = None
    elif end_type == "end_date" and values.get("until"):
        until = date.fromisoformat(str(values["until"])[:10])
    by_day: list[WeekdayRule] = []
    by_month_day: int | None = None
    if frequency is Frequency.WEEKLY:
        days = [_WEEKDAYS[i] for i, name in enumerate(WEEKDAY_FIELDS) if values.get(name)]
        by_day = [WeekdayRule(day) for day in days or [Weekday.of(first)]]
    elif frequency is Frequency.MONTHLY:
        weekday, position = values.get("weekday"), values.get("byday")
        if values.get("month_by") == "day" and weekday in _ODOO_DAYS and position:
            by_day = [WeekdayRule(_WEEKDAYS[_ODOO_DAYS.index(weekday)], int(position))]
        else:
            by_month_day = int(values.get("day") or first.day)
            if not yearly_type and interval % 12 == 0 and by_month_day > 0:
                by_month_day = first.day  # the saved day of Odoo 17's own yearly form
    start_of_week = weeks_start if frequency is Frequency.WEEKLY and interval > 1 else Weekday.MO
    return RecurrenceRule(
        frequency,
        interval=interval,
        count=count,
        until=until,
        by_day=by_day,
        by_month_day=by_month_day,
        week_start=start_of_week,
    )


def rule_to_odoo(rule: RecurrenceRule, first: date, *, yearly_type: bool = True) -> dict[str, Any]:
    """Odoo's recurrence fields for ``rule`` on a series starting (locally) on ``first``.

    ``yearly_type=False`` (Odoo 17) writes every yearly rule as "monthly,
    every 12n months", with its day: Odoo 17 stores its own yearly type so,
    on the day the series is saved (see :func:`rule_from_odoo`).

    Raises :class:`~calsync.UnsupportedRecurrenceError` for what Odoo's fields
    cannot hold; :func:`check_rule` also checks that Odoo expands the fields to
    the same occurrences.
    """
    rule = rule.canonical(first)
    values: dict[str, Any] = {"rrule_type": _TYPES[rule.frequency], "interval": rule.interval}
    values.update(_end(rule))
    if rule.frequency is Frequency.DAILY and rule.by_day:
        raise UnsupportedRecurrenceError(
            "BYDAY",
            ",".join(map(str, rule.by_day)),
            "Odoo repeats on chosen weekdays only weekly: a DAILY rule on weekdays "
            "with an INTERVAL has no Odoo form",
        )
    if rule.frequency is Frequency.WEEKLY:
        days = {item.weekday.number for item in rule.by_day} or {first.weekday()}
        values.update({name: index in days for index, name in enumerate(WEEKDAY_FIELDS)})
    elif rule.frequency is Frequency.MONTHLY:
        values.update(_in_month(rule, first))
    elif rule.frequency is Frequency.YEARLY:
        values.update(_yearly(rule, first, yearly_type=yearly_type))
    return values


def _end(rule: RecurrenceRule) -> dict[str, Any]:
    if rule.count is not None:
        if rule.count > MAX_OCCURRENCES:
            raise UnsupportedRecurrenceError(
                "COUNT", rule.count, f"Odoo keeps at most {MAX_OCCURRENCES} occurrences"
            )
        return {"end_type": "count", "count": rule.count}
    if rule.until is not None:
        return {"end_type": "end_date", "until": rule.until.isoformat()}
    return {"end_type": "forever"}


def _in_month(rule: RecurrenceRule, first: date) -> dict[str, Any]:
    """``month_by`` and its day for a monthly rule (or a yearly one written monthly)."""
    if rule.by_day:
        item = rule.by_day[0]
        if len(rule.by_day) > 1 or item.ordinal is None:
            raise UnsupportedRecurrenceError(
                "BYDAY",
                ",".join(map(str, rule.by_day)),
                f"Odoo repeats on one weekday of the month (2TU), not on the n-th "
                f"(BYSETPOS={rule.by_set_pos}) of several",
            )
        return {
            "month_by": "day",
            "weekday": _ODOO_DAYS[item.weekday.number],
            "byday": str(item.ordinal),
        }
    days = rule.by_month_day or (first.day,)
    if rule.by_set_pos == -1 and days == tuple(range(28, days[-1] + 1)):
        # Outlook's "day d, or the month's last day": Odoo's day d skips shorter months,
        # which is the same series only where none comes (check_rule compares them)
        return {"month_by": "date", "day": days[-1]}
    if len(days) > 1 or rule.by_set_pos not in (None, 1, -1):
        raise UnsupportedRecurrenceError(
            "BYMONTHDAY",
            ",".join(map(str, days)),
            "Odoo repeats on one day of the month (or the last: -1)",
        )
    return {"month_by": "date", "day": days[0]}


def _yearly(rule: RecurrenceRule, first: date, *, yearly_type: bool) -> dict[str, Any]:
    """A yearly rule: Odoo's yearly type on the start's date, else every 12 months."""
    if rule.by_month is None and (rule.by_day or rule.by_month_day):
        raise UnsupportedRecurrenceError(
            "BYMONTH", None, "a yearly rule without BYMONTH repeats every month: Odoo has none"
        )
    if rule.by_month not in (None, first.month):
        raise UnsupportedRecurrenceError(
            "BYMONTH", rule.by_month, "Odoo repeats a yearly series in its first month"
        )
    on_start = not rule.by_day and rule.by_month_day in ((), (first.day,))
    if on_start and rule.by_set_pos is None and yearly_type:
        return {}  # Odoo's yearly type repeats the first occurrence's date
    return {"rrule_type": "monthly", "interval": 12 * rule.interval, **_in_month(rule, first)}


def rule_key(values: Mapping[str, Any]) -> tuple[object, ...]:
    """Odoo rule fields reduced to what decides the occurrences (to compare two rules)."""
    kind = values.get("rrule_type")
    end_type = values.get("end_type")
    count = int(values.get("count") or 0)
    end: tuple[object, ...]
    if end_type == "forever" or (end_type == "count" and count >= MAX_OCCURRENCES):
        end = ("forever",)
    elif end_type == "count":
        end = ("count", count)
    else:
        end = ("until", str(values.get("until") or "")[:10])
    key: list[object] = [kind, int(values.get("interval") or 1), end]
    if kind == "weekly":
        key.append(tuple(bool(values.get(name)) for name in WEEKDAY_FIELDS))
    elif kind == "monthly":
        if values.get("month_by") == "day":
            key.append(("day", values.get("weekday"), str(values.get("byday"))))
        else:
            key.append(("date", int(values.get("day") or 0)))
    return tuple(key)


# -- Odoo's expansion ---------------------------------------------------------------------------


def _localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall time in ``tz`` as pytz's ``localize(is_dst=False)`` reads it: standard time wins."""
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset() and early.dst():
        return late
    return early


def _period_start(
    values: Mapping[str, Any], base: datetime, tz: ZoneInfo, wkst: Weekday
) -> datetime:
    """Where Odoo starts expanding (naive UTC): the base's week or month start.

    When that start and the base are on different sides of a DST change (both
    naive UTC values read as wall times in ``tz``), Odoo starts from the base.
    """
    kind = values.get("rrule_type")
    if kind == "weekly":
        start = base + relativedelta(weekday=rrule.weekday(wkst.number)(-1))
    elif kind == "monthly":
        start = base + relativedelta(day=1)
    else:
        return base
    if _localize(base, tz).dst() != _localize(start, tz).dst():
        return base
    return start


def _dateutil_rule(
    values: Mapping[str, Any], dtstart: datetime, wkst: Weekday, count: int | None
) -> rrule.rrule:
    """The ``dateutil`` rule Odoo builds from its fields (``_get_rrule``)."""
    kind = str(values.get("rrule_type"))
    options: dict[str, Any] = {"dtstart": dtstart, "interval": int(values.get("interval") or 1)}
    if kind == "monthly" and values.get("month_by") == "day":
        weekday = _ODOO_DAYS.index(str(values.get("weekday")))
        options["byweekday"] = rrule.weekday(weekday, int(values.get("byday") or 1))
    elif kind == "monthly":
        options["bymonthday"] = int(values.get("day") or 1)
    elif kind == "weekly":
        options["byweekday"] = [i for i, name in enumerate(WEEKDAY_FIELDS) if values.get(name)]
        options["wkst"] = wkst.number
    end_type = values.get("end_type")
    if count is not None:
        options["count"] = min(count, MAX_OCCURRENCES)
    elif end_type == "count":
        options["count"] = min(int(values.get("count") or 1), MAX_OCCURRENCES)
    elif end_type == "forever":
        options["count"] = MAX_OCCURRENCES
    elif end_type == "end_date":
        options["until"] = datetime.combine(date.fromisoformat(str(values["until"])[:10]), time.max)
    return rrule.rrule(_DATEUTIL[kind], **options)


def odoo_starts(
    values: Mapping[str, Any],
    start: OccurrenceKey,
    tz_name: str | None,
    duration: timedelta,
    wkst: Weekday,
) -> list[OccurrenceKey]:
    """The occurrence starts Odoo makes for a series whose base event starts at ``start``.

    ``values`` are the recurrence fields written, ``start`` the base event's
    start (a UTC instant; a date for all-day series, whose rows Odoo keeps at
    08:00), ``wkst`` the user's week start. Odoo keeps the occurrences whose
    UTC start and end dates are not before the base's, and raises the count by
    the ones it dropped (``_range_calculation``).
    """
    if isinstance(start, datetime):
        all_day, base = False, start.astimezone(UTC).replace(tzinfo=None)
    else:
        all_day, base = True, datetime.combine(start, time(8))
    tz = zone(tz_name or "UTC")
    period = _period_start(values, base, tz, wkst)
    local = period if all_day else period.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)

    def kept(count: int | None) -> list[datetime]:
        found = []
        for item in _dateutil_rule(values, local, wkst, count):
            moment = item if all_day else _localize(item, tz).astimezone(UTC).replace(tzinfo=None)
            if moment.date() >= base.date() and (moment + duration).date() >= base.date():
                found.append(moment)
        return found

    starts = kept(None)
    wanted = int(values.get("count") or 0) if values.get("end_type") == "count" else 0
    if wanted and len(starts) < wanted:
        starts = kept(2 * wanted - len(starts))
    if all_day:
        return [moment.date() for moment in starts]
    return [moment.replace(tzinfo=UTC) for moment in starts]


def check_rule(
    rule: RecurrenceRule,
    start: OccurrenceKey,
    tz_name: str | None,
    duration: timedelta,
    wkst: Weekday,
    *,
    yearly_type: bool = True,
) -> dict[str, Any]:
    """Odoo's fields for a series, checked to expand to the series' own occurrences.

    ``start`` is the series' first occurrence, ``tz_name`` its zone, ``wkst``
    the Odoo user's week start, ``yearly_type`` as for :func:`rule_to_odoo`. Raises
    :class:`~calsync.UnsupportedRecurrenceError` naming the first occurrence
    Odoo would put elsewhere (its monthly interval counted from the UTC month,
    its weekly one grouped by the user's week start: see the module doc).
    """
    first = _local_date(start, tz_name)
    values = rule_to_odoo(rule, first, yearly_type=yearly_type)
    model = Recurrence(rule).original_starts(start, tz_name)
    made = odoo_starts(values, start, tz_name, duration, wkst)
    difference = first_difference(model, made, limit=min(COMPARED_OCCURRENCES, MAX_OCCURRENCES))
    if difference is not None:
        wanted, odoo = difference
        raise UnsupportedRecurrenceError(
            "RRULE",
            str(rule),
            f"Odoo would expand it to other occurrences: {_when(odoo, tz_name)} where the "
            f"series has {_when(wanted, tz_name)} ({_why(values, wkst)})",
        )
    return values


def _local_date(key: OccurrenceKey, tz_name: str | None) -> date:
    if isinstance(key, datetime):
        return key.astimezone(zone(tz_name or "UTC")).date()
    return key


def _when(key: OccurrenceKey | None, tz_name: str | None) -> str:
    if key is None:
        return "nothing"
    if isinstance(key, datetime):
        return key.astimezone(zone(tz_name or "UTC")).strftime("%Y-%m-%d %H:%M")
    return key.isoformat()


def _why(values: Mapping[str, Any], wkst: Weekday) -> str:
    kind, interval = values.get("rrule_type"), int(values.get("interval") or 1)
    if kind == "monthly" and interval > 1:
        return "Odoo counts monthly intervals from the 1st of the first occurrence's UTC month"
    if kind == "weekly" and interval > 1:
        return (
            f"Odoo counts weekly intervals in weeks starting on the Odoo user's week start "
            f"({calendar.day_name[wkst.number]}), from the first occurrence's UTC date"
        )
    if kind == "monthly" and values.get("month_by") == "date" and int(values.get("day") or 0) > 28:
        return "Odoo skips the months that have no such day"
    return "Odoo's daylight-saving rules differ at this time of day"
