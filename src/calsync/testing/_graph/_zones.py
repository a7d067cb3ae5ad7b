"""Time zones and Graph's date-time wire format.

Graph writes ``dateTime`` as a wall-clock string with seven fractional digits
and no offset, and names the zone apart, either as an IANA name or as a
Windows name (``W. Europe Standard Time``). Windows names are mapped to IANA
with CLDR's table as tzlocal ships it; the reverse map (IANA to Windows) is
built from the same table and tzlocal's own reverse table, so that the
emulator can answer with Windows names where Outlook does.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal import windows_tz

from calsync.testing._graph._errors import GraphError

__all__ = [
    "UTC",
    "as_utc",
    "format_instant",
    "format_wall",
    "is_windows_name",
    "parse_instant",
    "parse_wall",
    "same_zone",
    "to_wall",
    "windows_name",
    "zone",
]

UTC = timezone.utc

_WINDOWS_TO_IANA: dict[str, str] = {name.lower(): iana for name, iana in windows_tz.win_tz.items()}
_IANA_TO_WINDOWS: dict[str, str] = {
    **{iana: name for name, iana in windows_tz.win_tz.items()},
    **getattr(windows_tz, "tz_win", {}),
}
_CUSTOM_ZONE = "tzone://microsoft/custom"
_WALL = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def is_windows_name(name: str) -> bool:
    """Whether ``name`` is a Windows zone name from CLDR's table."""
    return name.lower() in _WINDOWS_TO_IANA


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The zone named ``name`` (IANA or Windows); 400 ``TimeZoneNotSupportedException`` if none.

    ``tzone://Microsoft/Custom`` stands for a zone defined inside an event;
    without that definition the emulator treats it as UTC.
    """
    key = name.strip()
    if not key:
        raise _unsupported(name)
    if key.lower() == _CUSTOM_ZONE:
        return ZoneInfo("UTC")
    iana = _WINDOWS_TO_IANA.get(key.lower(), key)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _unsupported(name) from exc


def _unsupported(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is "
        f"not supported: '{name}'.",
    )


def windows_name(name: str) -> str:
    """The Windows name of a zone given by IANA or Windows name (the name itself if unknown)."""
    if is_windows_name(name):
        for windows in windows_tz.win_tz:
            if windows.lower() == name.lower():
                return windows
    if name in ("UTC", "Etc/UTC", "Etc/GMT"):
        return "UTC"
    return _IANA_TO_WINDOWS.get(name, name)


def same_zone(first: str, second: str) -> bool:
    """Whether two zone names denote the same zone (by IANA key or by Windows name)."""
    return zone(first).key == zone(second).key or windows_name(first) == windows_name(second)


def to_wall(instant: datetime, zone_name: str) -> datetime:
    """The naive wall-clock time of an aware ``instant`` in zone ``zone_name``."""
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None)


def as_utc(wall: datetime, zone_name: str) -> datetime:
    """The aware UTC instant of the naive wall-clock ``wall`` in zone ``zone_name``."""
    return wall.replace(tzinfo=zone(zone_name)).astimezone(UTC)


def format_wall(wall: datetime) -> str:
    """Graph's ``dateTime`` string: seven fractional digits, no offset."""
    return f"{wall:%Y-%m-%dT%H:%M:%S}.{wall.microsecond:06d}0"


def format_instant(instant: datetime) -> str:
    """A UTC instant as Graph writes it (``...0000000Z``)."""
    return format_wall(instant.astimezone(UTC).replace(tzinfo=None)) + "Z"


def parse_wall(text: object, zone_name: str) -> datetime:
    """Parse a ``dateTime`` written for zone ``zone_name`` into a naive wall-clock time.

    Graph's form has no offset; an offset or ``Z``, when a client sends one, is
    honoured by converting the instant into the zone.
    """
    wall, offset = _parse(text)
    if offset is None:
        return wall
    return to_wall(wall.replace(tzinfo=offset), zone_name)


def parse_instant(text: object, default_zone: str = "UTC") -> datetime:
    """Parse an ISO 8601 instant (query parameters); no offset means ``default_zone``."""
    wall, offset = _parse(text)
    if offset is None:
        return as_utc(wall, default_zone)
    return wall.replace(tzinfo=offset).astimezone(UTC)


def parse_date(text: object, what: str) -> date:
    """Parse a ``YYYY-MM-DD`` date (recurrence ranges)."""
    match = _DATE.match(text) if isinstance(text, str) else None
    if match is None:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid date for {what}: {text!r}.")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid date for {what}.") from exc


def _parse(text: object) -> tuple[datetime, timezone | None]:
    match = _WALL.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise GraphError(
            400, "ErrorInvalidRequest", f"Cannot convert the literal '{text}' to a date and time."
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(7, "0")[:6])
    try:
        wall = datetime(  # noqa: DTZ001 (a wall-clock time; its zone travels apart)
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid date and time '{text}'.") from exc
    return wall, _offset(offset)


def _offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
