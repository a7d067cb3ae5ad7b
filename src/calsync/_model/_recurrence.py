"""Recurrence rules: the RFC 5545 subset that Outlook or Odoo can express.

Expansion uses :mod:`dateutil.rrule` on local wall-clock times in the series'
own zone, then attaches the zone, so a weekly 09:00 meeting stays at 09:00
local across daylight-saving changes. A wall time that does not exist on a
spring-forward day is read with ``fold=0`` (02:30 becomes 03:30 local), which
is also what Odoo does.

The subset holds what either provider can: ``DAILY`` (also on chosen
weekdays), ``WEEKLY``, ``MONTHLY`` and ``YEARLY`` on a month day (``-1``: the
last), on an ordinal weekday (``2TU``, ``-1FR``) or on the n-th of several
weekdays (``BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1``: the first weekday of the
month), and Outlook's "day 29-31, or the month's last day when it is
shorter" (``BYMONTHDAY=28,29,30;BYSETPOS=-1``). Each adapter refuses, with
:class:`~calsync.UnsupportedRecurrenceError`, what its provider cannot hold.

A series starts on its first occurrence (:class:`~calsync.model.Event`
checks it), so an interval counts from that occurrence, as Outlook counts it.
"""

from __future__ import annotations

import calendar
import itertools
import re
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
    "first_difference",
]

#: The original start of an occurrence: a UTC instant, or a date for all-day series.
OccurrenceKey = datetime | date

UTC = timezone.utc
_ORDINALS = frozenset({1, 2, 3, 4, -1})
#: How many occurrences :func:`first_difference` compares of an endless series.
COMPARED_OCCURRENCES = 720


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

    @classmethod
    def of(cls, day: date) -> Weekday:
        """The weekday of a date."""
        return _WEEKDAYS[day.weekday()]


_WEEKDAYS = tuple(Weekday)
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


def _to_month_days(values: object) -> tuple[int, ...]:
    """``BYMONTHDAY``: None, one day, ``"28,29,30"`` or several days, kept sorted."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [_parse_int("BYMONTHDAY", part) for part in values.split(",") if part.strip()]
    elif isinstance(values, int):
        values = (values,)
    if not isinstance(values, Iterable):
        raise InvalidEventError("BYMONTHDAY", values, "must be a day or a collection of days")
    days: list[int] = []
    for day in values:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= abs(day) <= 31:
            raise UnsupportedRecurrenceError(
                "BYMONTHDAY", day, "month days are 1 to 31, or -1 to -31 from the month's end"
            )
        days.append(day)
    return tuple(sorted(set(days)))


def _check_positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise InvalidEventError(attribute.name, value, "must be a positive integer")


def _check_month(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value not in range(1, 13):
        raise UnsupportedRecurrenceError("BYMONTH", value, "must be one month from 1 to 12")


def _check_set_position(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and value not in _ORDINALS:
        raise UnsupportedRecurrenceError(
            "BYSETPOS", value, "must be one position: 1, 2, 3, 4 or -1 (last)"
        )


def _check_until(_: object, attribute: attrs.Attribute[date | None], value: date | None) -> None:
    if value is not None and not is_date_only(value):
        raise InvalidEventError("UNTIL", value, "must be a date (the last day of the series)")


@attrs.frozen
class RecurrenceRule:
    """An RRULE within the subset Outlook or Odoo can express (see the module doc).

    ``until`` is the last day on which an occurrence may start, in the series'
    own zone (both Outlook and Odoo end series on a date). ``by_month_day``
    holds the month days (``-1``: the last day); ``by_set_pos`` picks the n-th
    of the days the other parts give in each period (``-1``: the last). Build
    one directly or with :meth:`parse`; ``str(rule)`` gives the RRULE value
    back, :meth:`to_ical` the DTSTART and RRULE lines for a given start.
    """

    frequency: Frequency = attrs.field(converter=_to_frequency)
    interval: int = attrs.field(default=1, validator=_check_positive)
    count: int | None = attrs.field(default=None, validator=_check_positive)
    until: date | None = attrs.field(default=None, validator=_check_until)
    by_day: tuple[WeekdayRule, ...] = attrs.field(default=(), converter=_to_by_day)
    by_month_day: tuple[int, ...] = attrs.field(default=(), converter=_to_month_days)
    by_month: int | None = attrs.field(default=None, validator=_check_month)
    by_set_pos: int | None = attrs.field(default=None, validator=_check_set_position)
    week_start: Weekday = attrs.field(default=Weekday.MO, converter=_to_week_start)

    def __attrs_post_init__(self) -> None:
        if self.count is not None and self.until is not None:
            raise InvalidEventError("COUNT", self.count, "cannot be combined with UNTIL")
        if self.frequency in (Frequency.DAILY, Frequency.WEEKLY):
            self._check_day_parts()
        else:
            self._check_monthly_parts()

    def _check_day_parts(self) -> None:
        kind = self.frequency.value
        ordinals = [rule for rule in self.by_day if rule.ordinal is not None]
        if ordinals:
            raise UnsupportedRecurrenceError(
                "BYDAY", str(ordinals[0]), f"ordinals are not allowed with {kind}"
            )
        for part, value in (
            ("BYMONTHDAY", ",".join(map(str, self.by_month_day)) or None),
            ("BYMONTH", self.by_month),
            ("BYSETPOS", self.by_set_pos),
        ):
            if value is not None:
                raise UnsupportedRecurrenceError(part, value, f"is not allowed with {kind}")

    def _check_monthly_parts(self) -> None:
        kind = self.frequency.value
        days = ",".join(map(str, self.by_day))
        ordinals = [rule for rule in self.by_day if rule.ordinal is not None]
        if ordinals and len(ordinals) != len(self.by_day):
            raise UnsupportedRecurrenceError(
                "BYDAY", days, "mixes weekdays with and without an ordinal"
            )
        if len(ordinals) > 1:
            raise UnsupportedRecurrenceError(
                "BYDAY", days, "several ordinal weekdays: neither Outlook nor Odoo holds them"
            )
        if ordinals and self.by_set_pos is not None:
            raise UnsupportedRecurrenceError(
                "BYSETPOS", self.by_set_pos, "cannot be combined with 2TU-style days"
            )
        if self.by_day and not ordinals and self.by_set_pos is None:
            raise UnsupportedRecurrenceError(
                "BYDAY", days, f"{kind} needs an ordinal (2TU, -1FR) or a BYSETPOS on its weekdays"
            )
        if self.by_day and self.by_month_day:
            raise UnsupportedRecurrenceError(
                "BYMONTHDAY", ",".join(map(str, self.by_month_day)), "cannot be combined with BYDAY"
            )
        if len(self.by_month_day) > 1 and self.by_set_pos is None:
            raise UnsupportedRecurrenceError(
                "BYMONTHDAY",
                ",".join(map(str, self.by_month_day)),
                "several month days need a BYSETPOS (neither side repeats on several days)",
            )
        if self.by_set_pos is not None and not (self.by_day or self.by_month_day):
            raise UnsupportedRecurrenceError(
                "BYSETPOS", self.by_set_pos, "needs BYDAY or BYMONTHDAY"
            )
        if self.frequency is Frequency.MONTHLY and self.by_month is not None:
            raise UnsupportedRecurrenceError(
                "BYMONTH", self.by_month, "is not allowed with MONTHLY"
            )

    def canonical(self, local_start: date) -> RecurrenceRule:
        """The same series' rule written in one form, with the parts the start implies.

        ``FREQ=WEEKLY`` starting on a Monday is ``FREQ=WEEKLY;BYDAY=MO``; a
        monthly rule without days falls on the start's day; ``DAILY`` on
        weekdays is ``WEEKLY`` on them; every 12 months is yearly;
        ``BYDAY=TU;BYSETPOS=2`` is ``BYDAY=+2TU``; Outlook's day 31 of every
        month is ``BYMONTHDAY=-1``, a yearly last day of June is June 30; a
        week start that changes nothing is Monday. ``local_start`` is the first
        occurrence's date. Canonical rules compare equal exactly when they
        expand alike from the same start.
        """
        parts = attrs.asdict(self, recurse=False)
        if parts["frequency"] is Frequency.DAILY and self.by_day and self.interval == 1:
            parts["frequency"] = Frequency.WEEKLY
        if parts["frequency"] is Frequency.WEEKLY and not self.by_day:
            parts["by_day"] = (WeekdayRule(Weekday.of(local_start)),)
        if parts["frequency"] in (Frequency.MONTHLY, Frequency.YEARLY):
            _canonical_monthly(parts, local_start)
        weekdays = parts["by_day"]
        week_start_matters = (
            parts["frequency"] is Frequency.WEEKLY and parts["interval"] > 1 and len(weekdays) > 1
        )
        if not week_start_matters:
            parts["week_start"] = Weekday.MO
        rule = RecurrenceRule(**parts)
        return self if rule == self else rule

    # -- text form ---------------------------------------------------------------------------

    _KNOWN_PARTS = frozenset(
        {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
    )

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        start: date | datetime | None = None,
        timezone: str | None = None,
    ) -> RecurrenceRule:
        """Read an RRULE (with or without the ``RRULE:`` prefix, with or without DTSTART).

        A date-time ``UNTIL`` is an instant (RFC 5545 3.3.10: in UTC when the
        start has a zone, inclusive): it becomes the last day whose occurrence
        starts at or before it, in the series' zone. That needs the series'
        start: ``start`` (an aware datetime, or a date for all-day series) and
        ``timezone`` (its IANA zone), else the text's ``DTSTART`` line
        (``DTSTART;TZID=Europe/Brussels:20270104T090000``, ``...Z``, or a
        date). A part outside the subset raises
        :class:`~calsync.UnsupportedRecurrenceError` naming it.
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
        if start is None:
            start, found_zone = _dtstart(text)
            timezone = timezone or found_zone
        return cls(
            frequency=parts["FREQ"].upper(),
            interval=_parse_int("INTERVAL", parts.get("INTERVAL", "1")),
            count=_parse_int("COUNT", parts["COUNT"]) if "COUNT" in parts else None,
            until=_parse_until(parts["UNTIL"], start, timezone) if "UNTIL" in parts else None,
            by_day=parts.get("BYDAY", ""),
            by_month_day=parts.get("BYMONTHDAY"),
            by_month=_parse_single_int("BYMONTH", parts.get("BYMONTH")),
            by_set_pos=_parse_single_int("BYSETPOS", parts.get("BYSETPOS")),
            week_start=parts.get("WKST", "MO").upper(),
        )

    def _parts(self, until: str | None) -> str:
        parts = [f"FREQ={self.frequency.value}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if until is not None:
            parts.append(f"UNTIL={until}")
        if self.by_day:
            parts.append("BYDAY=" + ",".join(map(str, self.by_day)))
        if self.by_month_day:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.by_month_day)))
        if self.by_month is not None:
            parts.append(f"BYMONTH={self.by_month}")
        if self.by_set_pos is not None:
            parts.append(f"BYSETPOS={self.by_set_pos}")
        if self.week_start is not Weekday.MO:
            parts.append(f"WKST={self.week_start.value}")
        return ";".join(parts)

    def __str__(self) -> str:
        """The RRULE value alone, ``UNTIL`` a date (beside a DTSTART, use :meth:`to_ical`)."""
        return self._parts(None if self.until is None else f"{self.until:%Y%m%d}")

    def to_ical(self, start: date | datetime, timezone: str | None = None) -> str:
        """``DTSTART`` and ``RRULE`` lines for a series starting at ``start`` in ``timezone``.

        A timed series gets ``DTSTART;TZID=...`` (``...Z`` in UTC) and, as
        RFC 5545 requires beside a zoned start, a UTC ``UNTIL``: the end of the
        last day in the series' zone. An all-day series gets date values.
        :meth:`parse` reads the text back to this rule.
        """
        if is_date_only(start):
            head = f"DTSTART;VALUE=DATE:{start:%Y%m%d}"
            return f"{head}\nRRULE:{self}"
        if not isinstance(start, datetime) or start.utcoffset() is None:
            raise InvalidEventError("start", start, "must be a date or an aware datetime")
        name = timezone or "UTC"
        tz = zone(name)
        local = start.astimezone(tz)
        if name == "UTC":
            head = f"DTSTART:{local:%Y%m%dT%H%M%S}Z"
        else:
            head = f"DTSTART;TZID={name}:{local:%Y%m%dT%H%M%S}"
        until = None
        if self.until is not None:
            last = datetime.combine(self.until, time(23, 59, 59), tzinfo=tz)
            until = f"{last.astimezone(UTC):%Y%m%dT%H%M%S}Z"
        return f"{head}\nRRULE:{self._parts(until)}"

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
            bymonthday=self.by_month_day or None,
            bymonth=self.by_month,
            bysetpos=self.by_set_pos,
            wkst=self.week_start.number,
            cache=False,
        )


def _canonical_monthly(parts: dict[str, Any], local_start: date) -> None:
    """:meth:`RecurrenceRule.canonical` for monthly and yearly rules, on its parts."""
    by_day: tuple[WeekdayRule, ...] = parts["by_day"]
    if parts["by_set_pos"] is not None and len(by_day) == 1 and by_day[0].ordinal is None:
        parts["by_day"] = (WeekdayRule(by_day[0].weekday, parts["by_set_pos"]),)
        parts["by_set_pos"] = None
    implied = not parts["by_day"] and not parts["by_month_day"]
    if implied:
        parts["by_month_day"] = (local_start.day,)
    if parts["frequency"] is Frequency.MONTHLY and parts["interval"] % 12 == 0:
        parts.update(
            frequency=Frequency.YEARLY, interval=parts["interval"] // 12, by_month=local_start.month
        )
    elif parts["frequency"] is Frequency.YEARLY and implied and parts["by_month"] is None:
        parts["by_month"] = local_start.month
    days, position = _month_day_or_last(
        parts["by_month_day"], parts["by_set_pos"], parts["frequency"], parts["by_month"]
    )
    parts.update(by_month_day=days, by_set_pos=position)


def _month_day_or_last(
    days: tuple[int, ...], position: int | None, frequency: Frequency, month: int | None
) -> tuple[tuple[int, ...], int | None]:
    """Outlook's "day d, or the month's last day when shorter" in its simplest RRULE form.

    That rule is ``BYMONTHDAY=28..d;BYSETPOS=-1``; for day 31 (every month's
    last day) it is ``BYMONTHDAY=-1``. In a yearly rule the month is known:
    June's last day is June 30, February's stays ``-1`` (the 28th or 29th).
    """
    if len(days) == 1 and position in (1, -1):
        position = None  # the only day of a one-day set
    if position == -1 and len(days) > 1 and days == tuple(range(28, days[-1] + 1)):
        day_or_last = days[-1]
    elif days == (-1,):
        day_or_last = 31
    else:
        return days, position
    if frequency is Frequency.MONTHLY or month is None:
        return ((-1,), None) if day_or_last == 31 else (days, position)
    if month == 2:
        return (-1,), None
    longest = calendar.monthrange(2001, month)[1]
    return (min(day_or_last, longest),), None


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


_DTSTART = re.compile(r"^DTSTART(?P<params>(;[^:]*)?):(?P<value>\S+)$", re.IGNORECASE)


def _dtstart(text: str) -> tuple[date | datetime | None, str | None]:
    """The start and zone a ``DTSTART`` line gives (a floating time reads as UTC)."""
    for raw in text.replace("\r", "\n").split("\n"):
        found = _DTSTART.match(raw.strip())
        if found is None:
            continue
        params = {
            name.upper(): value
            for name, _, value in (p.partition("=") for p in found["params"].split(";") if p)
        }
        value = found["value"].upper()
        if len(value) == 8:
            return _parse_stamp("DTSTART", value).date(), None
        name = "UTC" if value.endswith("Z") else params.get("TZID", "UTC")
        local = _parse_stamp("DTSTART", value.rstrip("Z"))
        return local.replace(tzinfo=zone(name)), name
    return None, None


def _parse_stamp(part: str, value: str) -> datetime:
    pattern = "%Y%m%d" if len(value) == 8 else "%Y%m%dT%H%M%S"
    try:
        return datetime.strptime(value, pattern)  # noqa: DTZ007 (the zone is attached by the caller)
    except ValueError:
        raise InvalidEventError(part, value, "must be YYYYMMDD or YYYYMMDDTHHMMSS[Z]") from None


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


def _parse_until(value: str, start: date | datetime | None, timezone: str | None) -> date:
    """The last local day of a series from its ``UNTIL`` (RFC 5545 3.3.10).

    A date is that day. A date-time is an instant (UTC with ``Z``, else wall
    time in the series' zone) compared, inclusively, with each occurrence's
    start: the last day is the one whose occurrence starts at or before it.
    """
    text = value.strip().upper()
    stamp = _parse_stamp("UNTIL", text.rstrip("Z"))
    if len(text) == 8:
        return stamp.date()
    if start is None:
        raise InvalidEventError(
            "UNTIL",
            value,
            "is a date-time: its last occurrence depends on the series' start "
            "(give start= and timezone=, or a DTSTART line)",
        )
    if is_date_only(start):
        return stamp.date()  # an all-day series ends on a date (RFC 5545 wants UNTIL as one)
    assert isinstance(start, datetime)
    tz = zone(timezone or "UTC")
    wall = start.astimezone(tz).time() if start.utcoffset() is not None else start.time()
    if text.endswith("Z"):
        limit = stamp.replace(tzinfo=UTC).astimezone(tz)
    else:
        limit = stamp.replace(tzinfo=tz)
    day = limit.date()
    if datetime.combine(day, wall, tzinfo=tz) > limit:
        day -= timedelta(days=1)
    return day


def first_difference(
    left: Iterable[OccurrenceKey],
    right: Iterable[OccurrenceKey],
    *,
    limit: int = COMPARED_OCCURRENCES,
) -> tuple[OccurrenceKey | None, OccurrenceKey | None] | None:
    """Where two occurrence sequences part (None when their first ``limit`` agree).

    Returns the pair of occurrences at the first position where they differ;
    ``None`` on one side means that sequence had already ended.
    """
    pairs = itertools.zip_longest(itertools.islice(left, limit), itertools.islice(right, limit))
    for mine, theirs in pairs:
        if mine != theirs:
            return mine, theirs
    return None


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
