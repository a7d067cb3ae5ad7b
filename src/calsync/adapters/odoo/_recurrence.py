"""Odoo's recurrence fields ⇄ :class:`~calsync.model.RecurrenceRule`.

Odoo stores a series' rule as fields of ``calendar.recurrence`` (the same
names are writable pseudo-fields of ``calendar.event``):

=============================  ==========================================
RRULE                          Odoo
=============================  ==========================================
FREQ                           ``rrule_type`` daily / weekly / monthly / yearly
INTERVAL                       ``interval``
COUNT                          ``end_type='count'`` + ``count`` (at most 720)
UNTIL (a date)                 ``end_type='end_date'`` + ``until``
no end                         ``end_type='forever'``: Odoo materialises 720
                               rows and reads back ``count=720``, which is
                               read as "no end"
BYDAY (weekly)                 ``mon`` ... ``sun``
BYMONTHDAY (monthly)           ``month_by='date'`` + ``day``
BYDAY=2TU / -1FR (monthly)     ``month_by='day'`` + ``byday`` + ``weekday``
YEARLY                         ``rrule_type='yearly'`` on the start's day
WKST                           not stored: Odoo takes the user's language's
                               week start (en_US: Sunday)
=============================  ==========================================

The ``rrule`` text is not read: its DTSTART is the time it was computed
(odoo.md §5.5), and the fields carry the same rule. Odoo cannot express a
yearly rule on a weekday (``BYDAY=1MO;BYMONTH=3``), a yearly rule on another
day than the start's, or more than 720 occurrences: :func:`rule_to_odoo`
refuses those with :class:`~calsync.UnsupportedRecurrenceError`. Omitted
fields are always filled from the start (Odoo's RPC create fills them with
defaults, not from the start: §5.5b).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from calsync._errors import UnsupportedRecurrenceError
from calsync._model._recurrence import Frequency, RecurrenceRule, Weekday, WeekdayRule

__all__ = [
    "MAX_OCCURRENCES",
    "RECURRENCE_FIELDS",
    "WEEKDAY_FIELDS",
    "rule_from_odoo",
    "rule_key",
    "rule_to_odoo",
    "week_start",
]

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
#: ``res.lang.week_start`` of the languages Odoo ships with Monday weeks; others: Sunday.
_MONDAY_LANGUAGES = frozenset(
    {"en_GB", "en_AU", "en_IE", "en_NZ", "fr_BE", "fr_FR", "fr_CH", "nl_BE", "nl_NL", "de_DE",
     "de_CH", "de_AT", "es_ES", "it_IT", "pt_PT", "pl_PL", "sv_SE", "da_DK", "nb_NO", "fi_FI"}
)  # fmt: skip


def week_start(lang: str | None) -> Weekday:
    """The week start Odoo expands weekly rules with for a user's language (en_US: Sunday)."""
    return Weekday.MO if lang in _MONDAY_LANGUAGES else Weekday.SU


def rule_from_odoo(
    values: Mapping[str, Any], *, first: date, weeks_start: Weekday = Weekday.SU
) -> RecurrenceRule:
    """The rule of a ``calendar.recurrence`` row; ``first`` (local) fills missing days.

    WKST is set only where it changes the occurrences (weekly, interval above
    one), so that equal rules compare equal.
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
        by_day = [WeekdayRule(day) for day in days or [_WEEKDAYS[first.weekday()]]]
    elif frequency is Frequency.MONTHLY:
        weekday, position = values.get("weekday"), values.get("byday")
        if values.get("month_by") == "day" and weekday in _ODOO_DAYS and position:
            by_day = [WeekdayRule(_WEEKDAYS[_ODOO_DAYS.index(weekday)], int(position))]
        else:
            by_month_day = int(values.get("day") or first.day)
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


def rule_to_odoo(rule: RecurrenceRule, first: date) -> dict[str, Any]:
    """Odoo's recurrence fields for ``rule`` on a series starting (locally) on ``first``.

    Raises :class:`~calsync.UnsupportedRecurrenceError` for what Odoo cannot hold.
    """
    values: dict[str, Any] = {"rrule_type": _TYPES[rule.frequency], "interval": rule.interval}
    if rule.count is not None:
        if rule.count > MAX_OCCURRENCES:
            raise UnsupportedRecurrenceError(
                "COUNT", rule.count, f"Odoo keeps at most {MAX_OCCURRENCES} occurrences"
            )
        values.update(end_type="count", count=rule.count)
    elif rule.until is not None:
        values.update(end_type="end_date", until=rule.until.isoformat())
    else:
        values["end_type"] = "forever"
    if rule.frequency is Frequency.WEEKLY:
        days = {item.weekday.number for item in rule.by_day} or {first.weekday()}
        values.update({name: index in days for index, name in enumerate(WEEKDAY_FIELDS)})
    elif rule.frequency is Frequency.MONTHLY:
        if rule.by_day:
            item = rule.by_day[0]
            values.update(
                month_by="day",
                weekday=_ODOO_DAYS[item.weekday.number],
                byday=str(item.ordinal),
            )
        else:
            values.update(month_by="date", day=rule.by_month_day or first.day)
    elif rule.frequency is Frequency.YEARLY:
        if rule.by_day:
            raise UnsupportedRecurrenceError(
                "BYDAY", ",".join(map(str, rule.by_day)), "Odoo cannot repeat yearly on a weekday"
            )
        for part, value, expected in (
            ("BYMONTH", rule.by_month, first.month),
            ("BYMONTHDAY", rule.by_month_day, first.day),
        ):
            if value is not None and value != expected:
                raise UnsupportedRecurrenceError(
                    part, value, "Odoo repeats a yearly series on its first day only"
                )
    return values


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
