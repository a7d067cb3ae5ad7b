"""The provider-agnostic calendar event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs

from calsync._errors import InvalidEventError
from calsync._model._checks import (
    aware_to_utc,
    in_years,
    is_date_only,
    to_enum,
    to_sorted_unique_strings,
    zone,
)
from calsync._model._recurrence import OccurrenceKey, Recurrence
from calsync._model._values import Attendee, Availability, Person, Privacy

if TYPE_CHECKING:
    from calsync._model._projection import Projection

__all__ = ["Event", "Occurrence", "When"]

#: A start or an end: an aware instant for timed events, a date for all-day ones.
When = datetime | date


def _to_when(value: object, field: str) -> When:
    if isinstance(value, datetime):
        return aware_to_utc(value, field)
    if isinstance(value, date):
        return in_years(value, field)
    raise InvalidEventError(field, value, "must be an aware datetime or a date")


def _to_start(value: object) -> When:
    return _to_when(value, "start")


def _to_end(value: object) -> When:
    return _to_when(value, "end")


def _to_privacy(value: object) -> Privacy:
    return to_enum(Privacy, "privacy")(value)


def _to_availability(value: object) -> Availability:
    return to_enum(Availability, "availability")(value)


def _to_categories(value: object) -> tuple[str, ...]:
    return to_sorted_unique_strings("categories")(value)  # type: ignore[arg-type]


def _to_attendees(values: object) -> tuple[Attendee, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidEventError("attendees", values, "must be a collection of Attendee")
    by_email: dict[str, Attendee] = {}
    for attendee in values:
        if not isinstance(attendee, Attendee):
            raise InvalidEventError("attendees", attendee, "must be an Attendee")
        if attendee.email in by_email and by_email[attendee.email] != attendee:
            raise InvalidEventError(
                "attendees", attendee.email, "is listed twice with different details"
            )
        by_email[attendee.email] = attendee
    return tuple(by_email[email] for email in sorted(by_email))


def _to_reminders(values: object) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidEventError("reminders", values, "must be a collection of minutes")
    minutes = tuple(values)
    for value in minutes:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidEventError("reminders", value, "must be whole minutes, 0 or more")
    return tuple(sorted(set(minutes)))


def _check_text(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidEventError(attribute.name, value, "must be a string")


def _check_optional_text(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidEventError(attribute.name, value, "must be a string or None")


def _check_organizer(_: object, attribute: attrs.Attribute[Person | None], value: object) -> None:
    if value is not None and not isinstance(value, Person):
        raise InvalidEventError("organizer", value, "must be a Person or None")


def _check_recurrence(
    _: object, attribute: attrs.Attribute[Recurrence | None], value: object
) -> None:
    if value is not None and not isinstance(value, Recurrence):
        raise InvalidEventError("recurrence", value, "must be a Recurrence or None")


def _check_modified(_: object, attribute: attrs.Attribute[datetime | None], value: object) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise InvalidEventError("modified", value, "must be an aware datetime or None")


def _default_timezone(event: Event) -> str | None:
    if is_date_only(event.start):
        return None
    return "UTC"


@attrs.frozen
class Event:
    """A calendar event as both providers can hold it, without provider ids.

    Timed events have aware ``start``/``end`` (stored as UTC instants) and the
    IANA ``timezone`` they were written in, which recurring series expand in.
    All-day events have ``date`` start and end, the end exclusive, and no zone.
    ``modified`` is the provider's last-modified instant: metadata used by
    conflict rules, not content, so it takes no part in comparisons.
    """

    title: str = attrs.field(validator=_check_text)
    start: When = attrs.field(converter=_to_start)
    end: When = attrs.field(converter=_to_end)
    timezone: str | None = attrs.field(default=attrs.Factory(_default_timezone, takes_self=True))
    description: str = attrs.field(default="", validator=_check_text)
    location: str = attrs.field(default="", validator=_check_text)
    online_meeting_url: str | None = attrs.field(default=None, validator=_check_optional_text)
    organizer: Person | None = attrs.field(default=None, validator=_check_organizer)
    attendees: tuple[Attendee, ...] = attrs.field(default=(), converter=_to_attendees)
    privacy: Privacy = attrs.field(default=Privacy.DEFAULT, converter=_to_privacy)
    availability: Availability = attrs.field(default=Availability.BUSY, converter=_to_availability)
    reminders: tuple[int, ...] = attrs.field(default=(), converter=_to_reminders)
    categories: tuple[str, ...] = attrs.field(default=(), converter=_to_categories)
    recurrence: Recurrence | None = attrs.field(default=None, validator=_check_recurrence)
    cancelled: bool = attrs.field(default=False, converter=bool)
    modified: datetime | None = attrs.field(
        default=None, eq=False, repr=False, validator=_check_modified
    )

    def __attrs_post_init__(self) -> None:
        self._check_timing()
        if self.recurrence is not None:
            self._canonicalise_rule(self.recurrence)
            self._check_first_occurrence(self.recurrence)
            self._check_occurrence_keys(self.recurrence)

    def _canonicalise_rule(self, recurrence: Recurrence) -> None:
        """Write out the rule parts the start implies, so equal series compare equal."""
        local = self.local_start()
        rule = recurrence.rule.canonical(local.date() if isinstance(local, datetime) else local)
        if rule is not recurrence.rule:
            object.__setattr__(self, "recurrence", attrs.evolve(recurrence, rule=rule))

    def _check_timing(self) -> None:
        all_day = is_date_only(self.start)
        if all_day != is_date_only(self.end):
            raise InvalidEventError(
                "end", self.end, "must be a date when start is a date, a datetime otherwise"
            )
        if all_day:
            if self.timezone is not None:
                raise InvalidEventError("timezone", self.timezone, "all-day events have no zone")
            if self.end <= self.start:
                raise InvalidEventError(
                    "end",
                    self.end,
                    f"must be after start {self.start} (all-day ends are exclusive)",
                )
            return
        if self.timezone is None:
            raise InvalidEventError(
                "timezone", None, "timed events need the zone they were written in"
            )
        zone(self.timezone)
        if self.end < self.start:
            raise InvalidEventError("end", self.end, f"is before start {self.start}")

    def _check_first_occurrence(self, recurrence: Recurrence) -> None:
        first = next(recurrence.original_starts(self.start, self.timezone), None)
        if first != self.start:
            raise InvalidEventError(
                "start",
                self.start,
                f"must be the series' first occurrence under {recurrence.rule} (that is {first})",
            )

    def _check_occurrence_keys(self, recurrence: Recurrence) -> None:
        keys = set(recurrence.cancelled) | {item.original_start for item in recurrence.exceptions}
        if not keys:
            return
        all_day = is_date_only(self.start)
        for key in keys:
            if is_date_only(key) != all_day:
                raise InvalidEventError(
                    "original_start", key, "must be a date for all-day series, an instant otherwise"
                )
        latest = max(keys, key=_instant)
        expected = set(
            recurrence.original_starts(
                self.start, self.timezone, before=_instant(latest) + timedelta(seconds=1)
            )
        )
        for key in sorted(keys - expected, key=_instant):
            raise InvalidEventError(
                "original_start", key, "is not an occurrence of the series' rule"
            )
        for item in recurrence.exceptions:
            if is_date_only(item.event.start) != all_day:
                raise InvalidEventError(
                    "exceptions", item.original_start, "must be all-day exactly when the series is"
                )

    # -- derived views -----------------------------------------------------------------------

    @property
    def all_day(self) -> bool:
        """True when the event covers whole days (``start``/``end`` are dates)."""
        return is_date_only(self.start)

    @property
    def duration(self) -> timedelta:
        """``end - start``; whole days for all-day events."""
        return self.end - self.start

    @property
    def zoneinfo(self) -> ZoneInfo | None:
        """The event's zone as a :class:`zoneinfo.ZoneInfo` (None for all-day events)."""
        return zone(self.timezone) if self.timezone else None

    def local_start(self) -> When:
        """The start as its writer saw it: wall-clock time in the event's zone."""
        if isinstance(self.start, datetime):
            return self.start.astimezone(self.zoneinfo)
        return self.start

    def span(self) -> tuple[datetime, datetime]:
        """Start and end as UTC instants (all-day dates are read as UTC midnights)."""
        return _instant(self.start), _instant(self.end)

    def occurrences(
        self, after: datetime | None = None, before: datetime | None = None
    ) -> Iterator[Occurrence]:
        """The event's occurrences overlapping ``[after, before)``, exceptions applied.

        A single event yields itself once. Cancelled occurrences are skipped.
        Without ``before``, an endless series yields forever.
        """
        if self.recurrence is None:
            if _overlaps(self.start, self.end, after, before):
                yield Occurrence(self.start, self)
            return
        recurrence = self.recurrence
        single = attrs.evolve(self, recurrence=None)
        exceptions = recurrence.exception_map
        duration = self.duration
        low = None if after is None else after - duration - timedelta(days=1)
        for key in recurrence.original_starts(self.start, self.timezone, after=low, before=before):
            if key in recurrence.cancelled:
                continue
            event = exceptions.get(key) or attrs.evolve(single, start=key, end=key + duration)
            if _overlaps(event.start, event.end, after, before):
                yield Occurrence(key, event)

    def fingerprint(self, projection: Projection | None = None) -> str:
        """A stable hash of the content as a side can store it.

        Two events with the same fingerprint under a side's projection look the
        same on that side; calsync compares fingerprints, not raw events, so a
        lossy provider does not look changed on every sync.
        """
        from calsync._model._projection import fingerprint

        return fingerprint(self, projection)


@attrs.frozen
class Occurrence:
    """One occurrence of an event: its original start and what it is now."""

    original_start: OccurrenceKey
    event: Event


def _instant(value: When) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def _overlaps(start: When, end: When, after: datetime | None, before: datetime | None) -> bool:
    begin, finish = _instant(start), _instant(end)
    if finish == begin:
        finish += timedelta(microseconds=1)
    return (after is None or finish > after) and (before is None or begin < before)
