"""Converters and validators shared by the model's attrs classes.

Each one raises :class:`~calsync.InvalidEventError` naming the field and the
value, so that bad input from a provider or a caller is easy to trace.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calsync._errors import ConfigurationError, InvalidEventError

E = TypeVar("E", bound=enum.Enum)
D = TypeVar("D", bound=date)


class Choice(str, enum.Enum):
    """A string enum whose unknown values are a :class:`~calsync.ConfigurationError`.

    The error lists the values there are (a bare ``ValueError`` would not say).
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        allowed = ", ".join(repr(member.value) for member in cls)
        raise ConfigurationError(f"unknown {cls.__name__} {value!r}: one of {allowed}")


def to_enum(enum_type: type[E], field: str) -> Callable[[object], E]:
    """A converter that accepts a member or its value, and names the field on failure."""

    def convert(value: object) -> E:
        if isinstance(value, enum_type):
            return value
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in enum_type)
            raise InvalidEventError(field, value, f"must be one of {allowed}") from None

    return convert


def to_utc(field: str) -> Callable[[object], datetime]:
    """A converter for instants: aware datetimes only, normalised to UTC."""

    def convert(value: object) -> datetime:
        if not isinstance(value, datetime):
            raise InvalidEventError(field, value, "must be a timezone-aware datetime")
        return aware_to_utc(value, field)

    return convert


def aware_to_utc(value: datetime, field: str) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is an error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidEventError(field, value, "is naive: give it a time zone")
    try:
        return in_years(value.astimezone(timezone.utc), field)
    except OverflowError:
        raise InvalidEventError(field, value, "is beyond the dates Python can hold") from None


def in_years(value: D, field: str) -> D:
    """A date or instant within the years 2 to 9998: one a day or a series away from the
    ends of Python's calendar (years 1 and 9999) could not be computed with."""
    if not 1 < value.year < 9999:
        raise InvalidEventError(field, value, "is outside the years 2 to 9998")
    return value


def to_sorted_unique_strings(field: str) -> Callable[[Iterable[object]], tuple[str, ...]]:
    """A converter for sets of names kept as a sorted tuple (hashable, stable)."""

    def convert(values: Iterable[object]) -> tuple[str, ...]:
        if isinstance(values, str):
            raise InvalidEventError(field, values, "must be a collection of strings, not a string")
        items: list[str] = []
        for item in values:
            if not isinstance(item, str) or not item.strip():
                raise InvalidEventError(field, item, "must be a non-empty string")
            items.append(item)
        return tuple(sorted(set(items)))

    return convert


def is_date_only(value: object) -> bool:
    """True for a plain ``date`` (``datetime`` is a subclass of ``date``)."""
    return isinstance(value, date) and not isinstance(value, datetime)


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; an unknown name is an :class:`InvalidEventError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidEventError("timezone", name, "is not a known IANA time zone") from None
