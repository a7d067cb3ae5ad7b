"""Recurrence rules: the RFC 5545 subset that Outlook and Odoo can both express.

Expansion uses :mod:`dateutil.rrule` on local wall-clock times in the series'
own zone, then attaches the zone, so a weekly 09:00 meeting stays at 09:00
local across daylight-saving changes. A wall time that does not exist on a
spring-forward day is read with ``fold=0`` (02:30 becomes 03:30 local), which
is also what Odoo does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs
from dateutil import rrule as _rrule

from calsync._errors import InvalidEventError, UnsupportedRecurrenceError
from calsync._model._checks import Choice, aware_to_utc, in_years, is_date_only, to_enum, zone

if TYPE_CHECKING:
    from calsync._model._event import Event

__all__ = [
    "Frequency",
    "ModifiedOccurrence",
    "OccurrenceKey",
    "Recurrence",
    "RecurrenceRule",
    "Weekday",
    "WeekdayRule",
]

#: The original start of an occurrence: a UTC instant, or a date for all-day series.
OccurrenceKey = datetime | date

_ORDINALS = frozenset({1, 2, 3, 4, -1})


class Frequency(Choice):
    """How often a series repeats."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class Weekday(Choice):
    """Days of the week as RFC 5545 writes them."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"

    @property
    def number(self) -> int:
        """0 for Monday to 6 for Sunday, as :meth:`datetime.date.weekday` counts."""
        return _WEEKDAY_NUMBERS[self]


_WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}


def _to_weekday(value: object) -> Weekday:
    return to_enum(Weekday, "BYDAY")(value)


def _to_week_start(value: object) -> Weekday:
    return to_enum(Weekday, "WKST")(value)


def _to_frequency(value: object) -> Frequency:
    return to_enum(Frequency, "FREQ")(value)


def _check_ordinal(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value not in _ORDINALS:
        raise UnsupportedRecurrenceError("BYDAY", value, "ordinals must be 1, 2, 3, 4 or -1 (last)")


@attrs.frozen
class WeekdayRule:
    """A ``BYDAY`` entry: a weekday, with an ordinal (``2TU``: second Tuesday) or without."""

    weekday: Weekday = attrs.field(converter=_to_weekday)
    ordinal: int | None = attrs.field(default=None, validator=_check_ordinal)

    def __str__(self) -> str:
        if self.ordinal is None:
            return self.weekday.value
        return f"{self.ordinal:+d}{self.weekday.value}"

    @classmethod
    def parse(cls, text: str) -> WeekdayRule:
        """Read ``MO``, ``2TU``, ``+2TU`` or ``-1FR``."""
        if not isinstance(text, str):
            raise InvalidEventError("BYDAY", text, "must be a string")
        text = text.strip().upper()
        day, number = text[-2:], text[:-2]
        try:
            ordinal = int(number) if number else None
        except ValueError:
            raise UnsupportedRecurrenceError("BYDAY", text, "is not a weekday rule") from None
        return cls(day, ordinal)


def _to_by_day(values: Iterable[WeekdayRule | str]) -> tuple[WeekdayRule, ...]:
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    rules = [WeekdayRule.parse(v) if isinstance(v, str) else v for v in values]
    return tuple(sorted(set(rules), key=lambda r: (r.ordinal or 0, r.weekday.number)))


def _check_positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise InvalidEventError(attribute.name, value, "must be a positive integer")


def _check_month_day(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value not in range(1, 32):
        raise UnsupportedRecurrenceError("BYMONTHDAY", value, "must be one day from 1 to 31")


def _check_month(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value not in range(1, 13):
        raise UnsupportedRecurrenceError("BYMONTH", value, "must be one month from 1 to 12")


def _check_until(_: object, attribute: attrs.Attribute[date | None], value: date | None) -> None:
    if value is not None and not is_date_only(value):
        raise InvalidEventError("UNTIL", value, "must be a date (the last day of the series)")


@attrs.frozen
class RecurrenceRule:
    """An RRULE within the subset both providers express.

    ``until`` is the last day on which an occurrence may start, in the series'
    own zone (both Outlook and Odoo end series on a date). Build one directly or
    with :meth:`parse`; ``str(rule)`` gives the RRULE text back.
    """

    frequency: Frequency = attrs.field(converter=_to_frequency)
    interval: int = attrs.field(default=1, validator=_check_positive)
    count: int | None = attrs.field(default=None, validator=_check_positive)
    until: date | None = attrs.field(default=None, validator=_check_until)
    by_day: tuple[WeekdayRule, ...] = attrs.field(default=(), converter=_to_by_day)
    by_month_day: int | None = attrs.field(default=None, validator=_check_month_day)
    by_month: int | None = attrs.field(default=None, validator=_check_month)
    week_start: Weekday = attrs.field(default=Weekday.MO, converter=_to_week_start)

    def __attrs_post_init__(self) -> None:
        if self.count is not None and self.until is not None:
            raise InvalidEventError("COUNT", self.count, "cannot be combined with UNTIL")
        ordinals = [rule for rule in self.by_day if rule.ordinal is not None]
        if self.frequency in (Frequency.DAILY, Frequency.WEEKLY):
            if ordinals:
                raise UnsupportedRecurrenceError(
                    "BYDAY",
                    str(ordinals[0]),
                    f"ordinals are not allowed with {self.frequency.value}",
                )
            for part, value in (("BYMONTHDAY", self.by_month_day), ("BYMONTH", self.by_month)):
                if value is not None:
                    raise UnsupportedRecurrenceError(
                        part, value, f"is not allowed with {self.frequency.value}"
                    )
        if self.frequency is Frequency.DAILY and self.by_day:
            raise UnsupportedRecurrenceError(
                "BYDAY", ",".join(map(str, self.by_day)), "is not allowed with DAILY: use WEEKLY"
            )
        if self.frequency in (Frequency.MONTHLY, Frequency.YEARLY):
            self._check_monthly_parts(ordinals)

    def _check_monthly_parts(self, ordinals: list[WeekdayRule]) -> None:
        if len(ordinals) != len(self.by_day):
            raise UnsupportedRecurrenceError(
                "BYDAY",
                ",".join(map(str, self.by_day)),
                f"{self.frequency.value} needs an ordinal on its weekday (2TU, -1FR)",
            )
        if len(self.by_day) > 1:
            raise UnsupportedRecurrenceError(
                "BYDAY", ",".join(map(str, self.by_day)), "only one ordinal weekday is supported"
            )
        if self.by_day and self.by_month_day is not None:
            raise UnsupportedRecurrenceError(
                "BYMONTHDAY", self.by_month_day, "cannot be combined with an ordinal BYDAY"
            )
        if self.frequency is Frequency.MONTHLY and self.by_month is not None:
            raise UnsupportedRecurrenceError(
                "BYMONTH", self.by_month, "is not allowed with MONTHLY"
            )

    def canonical(self, local_start: date) -> RecurrenceRule:
        """The same rule with the parts the start implies written out.

        ``FREQ=WEEKLY`` starting on a Monday is ``FREQ=WEEKLY;BYDAY=MO``; a
        monthly rule without days falls on the start's day; a week start that
        changes nothing is Monday. Providers write rules out like this, so
        canonical rules compare equal exactly when they expand alike.
        """
        changes: dict[str, Any] = {}
        if self.frequency is Frequency.WEEKLY and not self.by_day:
            changes["by_day"] = (WeekdayRule(list(Weekday)[local_start.weekday()]),)
        if self.frequency is Frequency.MONTHLY and not self.by_day and self.by_month_day is None:
            changes["by_month_day"] = local_start.day
        if self.frequency is Frequency.YEARLY and not self.by_day and self.by_month_day is None:
            changes["by_month_day"] = local_start.day
            if self.by_month is None:
                changes["by_month"] = local_start.month
        weekdays = changes.get("by_day", self.by_day)
        week_start_matters = (
            self.frequency is Frequency.WEEKLY and self.interval > 1 and len(weekdays) > 1
        )
        if not week_start_matters and self.week_start is not Weekday.MO:
            changes["week_start"] = Weekday.MO
        return attrs.evolve(self, **changes) if changes else self

    # -- text form ---------------------------------------------------------------------------

    _KNOWN_PARTS = frozenset(
        {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}
    )

    @classmethod
    def parse(cls, text: str) -> RecurrenceRule:
        """Read an RRULE (with or without the ``RRULE:`` prefix; a DTSTART line is ignored).

        A part outside the subset raises :class:`~calsync.UnsupportedRecurrenceError`
        naming it.
        """
        line = _rrule_line(text)
        parts: dict[str, str] = {}
        for chunk in filter(None, line.split(";")):
            name, eq, value = chunk.partition("=")
            name = name.strip().upper()
            if not eq or not value:
                raise InvalidEventError("RRULE", chunk, "is not a NAME=VALUE part")
            if name not in cls._KNOWN_PARTS:
                raise UnsupportedRecurrenceError(name, value, "is outside the supported subset")
            parts[name] = value.strip()
        if "FREQ" not in parts:
            raise InvalidEventError("RRULE", text, "has no FREQ")
        return cls(
            frequency=parts["FREQ"].upper(),
            interval=_parse_int("INTERVAL", parts.get("INTERVAL", "1")),
            count=_parse_int("COUNT", parts["COUNT"]) if "COUNT" in parts else None,
            until=_parse_until(parts["UNTIL"]) if "UNTIL" in parts else None,
            by_day=parts.get("BYDAY", ""),
            by_month_day=_parse_single_int("BYMONTHDAY", parts.get("BYMONTHDAY")),
            by_month=_parse_single_int("BYMONTH", parts.get("BYMONTH")),
            week_start=parts.get("WKST", "MO").upper(),
        )

    def __str__(self) -> str:
        parts = [f"FREQ={self.frequency.value}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.by_day:
            parts.append("BYDAY=" + ",".join(map(str, self.by_day)))
        if self.by_month_day is not None:
            parts.append(f"BYMONTHDAY={self.by_month_day}")
        if self.by_month is not None:
            parts.append(f"BYMONTH={self.by_month}")
        if self.week_start is not Weekday.MO:
            parts.append(f"WKST={self.week_start.value}")
        return ";".join(parts)

    # -- expansion ---------------------------------------------------------------------------

    def _dateutil_rule(self, local_start: datetime) -> _rrule.rrule:
        by_weekday = None
        if self.by_day:
            by_weekday = [_rrule.weekday(rule.weekday.number, rule.ordinal) for rule in self.by_day]
        until = None
        if self.until is not None:
            until = datetime.combine(self.until, time.max).replace(microsecond=0)
        return _rrule.rrule(
            _FREQUENCIES[self.frequency],
            dtstart=local_start,
            interval=self.interval,
            count=self.count,
            until=until,
            byweekday=by_weekday,
            bymonthday=self.by_month_day,
            bymonth=self.by_month,
            wkst=self.week_start.number,
            cache=False,
        )


_FREQUENCIES: dict[Frequency, Any] = {
    Frequency.DAILY: _rrule.DAILY,
    Frequency.WEEKLY: _rrule.WEEKLY,
    Frequency.MONTHLY: _rrule.MONTHLY,
    Frequency.YEARLY: _rrule.YEARLY,
}


def _rrule_line(text: str) -> str:
    if not isinstance(text, str):
        raise InvalidEventError("RRULE", text, "must be a string")
    for raw in text.replace("\r", "\n").split("\n"):
        line = raw.strip()
        if line.upper().startswith("RRULE:"):
            return line[len("RRULE:") :]
        if line and ":" not in line:
            return line
    raise InvalidEventError("RRULE", text, "holds no RRULE line")


def _parse_int(part: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidEventError(part, value, "must be an integer") from None


def _parse_single_int(part: str, value: str | None) -> int | None:
    if value is None:
        return None
    if "," in value:
        raise UnsupportedRecurrenceError(part, value, "only one value is supported")
    return _parse_int(part, value)


def _parse_until(value: str) -> date:
    digits = value.strip().upper()
    try:
        return datetime.strptime(digits[:8], "%Y%m%d").date()  # noqa: DTZ007 (a date)
    except ValueError:
        raise InvalidEventError("UNTIL", value, "must be YYYYMMDD or YYYYMMDDTHHMMSSZ") from None


def _to_key(value: object) -> OccurrenceKey:
    if isinstance(value, datetime):
        return aware_to_utc(value, "original_start")
    if isinstance(value, date):
        return in_years(value, "original_start")
    raise InvalidEventError("original_start", value, "must be a date or an aware datetime")


@attrs.frozen
class ModifiedOccurrence:
    """One occurrence of a series that differs from the rule: an exception.

    ``original_start`` is the start the rule gives it (its identity; a UTC
    instant, or a date for all-day series) and ``event`` what it became.
    """

    original_start: OccurrenceKey = attrs.field(converter=_to_key)
    event: Event = attrs.field(validator=lambda _, __, value: _check_event(value))

    def __attrs_post_init__(self) -> None:
        if self.event.recurrence is not None:
            raise InvalidEventError(
                "exceptions", self.original_start, "an exception cannot recur itself"
            )


def _check_event(value: object) -> None:
    from calsync._model._event import Event  # _event imports this module

    if not isinstance(value, Event):
        raise TypeError(f"an exception's event must be an Event, not {type(value).__name__}")


def _to_exceptions(
    values: Mapping[OccurrenceKey, Event] | Iterable[ModifiedOccurrence],
) -> tuple[ModifiedOccurrence, ...]:
    if isinstance(values, Mapping):
        items = [ModifiedOccurrence(key, event) for key, event in values.items()]
    else:
        items = list(values)
    for item in items:
        if not isinstance(item, ModifiedOccurrence):
            raise TypeError(f"exceptions must be ModifiedOccurrences, not {type(item).__name__}")
    keys = [item.original_start for item in items]
    if len(set(keys)) != len(keys):
        raise InvalidEventError("exceptions", keys, "two exceptions share one original start")
    return tuple(sorted(items, key=lambda item: _sort_key(item.original_start)))


def _to_cancelled(values: Iterable[object]) -> frozenset[OccurrenceKey]:
    return frozenset(_to_key(value) for value in values)


def _sort_key(key: OccurrenceKey) -> tuple[int, str]:
    return (1, key.isoformat()) if isinstance(key, datetime) else (0, key.isoformat())


@attrs.frozen
class Recurrence:
    """A rule plus the occurrences that depart from it.

    ``exceptions`` are modified occurrences keyed by original start;
    ``cancelled`` the original starts of deleted occurrences.
    """

    rule: RecurrenceRule = attrs.field(validator=attrs.validators.instance_of(RecurrenceRule))
    exceptions: tuple[ModifiedOccurrence, ...] = attrs.field(default=(), converter=_to_exceptions)
    cancelled: frozenset[OccurrenceKey] = attrs.field(default=frozenset(), converter=_to_cancelled)

    def __attrs_post_init__(self) -> None:
        both = self.cancelled & {item.original_start for item in self.exceptions}
        if both:
            raise InvalidEventError(
                "cancelled", sorted(both, key=_sort_key)[0], "is also listed as an exception"
            )

    def exception(self, original_start: OccurrenceKey) -> Event | None:
        """The modified occurrence for that original start, if there is one."""
        key = _to_key(original_start)
        for item in self.exceptions:
            if item.original_start == key:
                return item.event
        return None

    @property
    def exception_map(self) -> dict[OccurrenceKey, Event]:
        """Exceptions as a dict from original start to event."""
        return {item.original_start: item.event for item in self.exceptions}

    def original_starts(
        self,
        start: OccurrenceKey,
        zone_name: str | None,
        *,
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> Iterator[OccurrenceKey]:
        """The rule's occurrence starts for a series starting at ``start``.

        Timed series expand in ``zone_name`` and yield UTC instants; all-day
        series yield dates. ``after``/``before`` (aware) bound the expansion;
        without ``before`` an endless rule is endless.
        """
        if is_date_only(start):
            local_start = datetime.combine(start, time())
            for value in self._expand(local_start, after, before, None):
                yield value.date()
            return
        assert isinstance(start, datetime)
        tz = zone(zone_name or "UTC")
        local_start = start.astimezone(tz).replace(tzinfo=None)
        for value in self._expand(local_start, after, before, tz):
            yield value.replace(tzinfo=tz).astimezone(timezone.utc)

    def _expand(
        self,
        local_start: datetime,
        after: datetime | None,
        before: datetime | None,
        tz: object,
    ) -> Iterator[datetime]:
        rule = self.rule._dateutil_rule(local_start)
        # Bounds are compared on local wall time; widen by a day to stay safe at
        # zone offsets, then filter exactly on the instants.
        low = _local_bound(after, tz, -1)
        high = _local_bound(before, tz, +1)
        iterator: Iterable[datetime] = rule.xafter(low, inc=True) if low else rule
        for value in iterator:
            if high is not None and value > high:
                return
            yield value


def _local_bound(bound: datetime | None, tz: object, days: int) -> datetime | None:
    if bound is None:
        return None
    if tz is None:
        local = bound.astimezone(timezone.utc).replace(tzinfo=None)
    else:
        local = bound.astimezone(tz).replace(tzinfo=None)  # type: ignore[arg-type]
    return local + timedelta(days=days)
