"""Outlook's zone names to IANA, and comparing zones by what they are.

Graph gives zones as IANA names or Windows names (``W. Europe Standard
Time``, in ``originalStartTimeZone`` and ``recurrenceTimeZone``), and a zone
defined inside the event as ``tzone://Microsoft/Custom``. Windows names map
to IANA through CLDR's ``windowsZones`` table as tzlocal ships it. That table
names a few zones by deprecated aliases (``Europe/Kiev``), and Outlook says
``UTC`` where CLDR says ``Etc/UTC``: :func:`to_iana` answers the current
canonical name, so that a zone read back compares equal to the one written.
Unknown and custom zones read as UTC, with a warning.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal import windows_tz

__all__ = ["canonical_zone", "same_zone", "to_iana"]

logger = logging.getLogger("calsync.outlook")

_WINDOWS = {name.lower(): iana for name, iana in windows_tz.win_tz.items()}

#: Deprecated IANA aliases (tzdata's ``backward`` links) that CLDR's table and
#: Outlook still use, and the UTC spellings, to their canonical names.
_ALIASES = {
    "etc/utc": "UTC",
    "etc/gmt": "UTC",
    "etc/uct": "UTC",
    "etc/universal": "UTC",
    "etc/zulu": "UTC",
    "gmt": "UTC",
    "uct": "UTC",
    "utc": "UTC",
    "zulu": "UTC",
    "europe/kiev": "Europe/Kyiv",
    "asia/calcutta": "Asia/Kolkata",
    "asia/katmandu": "Asia/Kathmandu",
    "asia/rangoon": "Asia/Yangon",
    "asia/saigon": "Asia/Ho_Chi_Minh",
    "america/godthab": "America/Nuuk",
    "america/buenos_aires": "America/Argentina/Buenos_Aires",
    "america/indianapolis": "America/Indiana/Indianapolis",
    "pacific/truk": "Pacific/Chuuk",
    "pacific/ponape": "Pacific/Pohnpei",
    "atlantic/faeroe": "Atlantic/Faroe",
}


def canonical_zone(name: str) -> str:
    """The canonical IANA spelling of an IANA name (aliases resolved)."""
    return _ALIASES.get(name.strip().lower(), name.strip())


@functools.lru_cache(maxsize=512)
def to_iana(name: str | None) -> str:
    """The IANA zone for an Outlook zone name (IANA or Windows); UTC when unknown."""
    if not name or not name.strip():
        return "UTC"
    key = name.strip()
    iana = canonical_zone(_WINDOWS.get(key.lower(), key))
    try:
        ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown or custom time zone %r read as UTC", key)
        return "UTC"
    return iana


@functools.lru_cache(maxsize=512)
def _tzif(name: str) -> bytes | None:
    """The compiled zone data (links share it with their target), if tzdata has it."""
    parts = canonical_zone(name).split("/")
    try:
        node = resources.files("tzdata.zoneinfo").joinpath(*parts)
        return node.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def same_zone(first: str, second: str) -> bool:
    """Whether two names (IANA or Windows) are the same zone (``Europe/Kiev`` = ``Europe/Kyiv``)."""
    a, b = to_iana(first), to_iana(second)
    if a == b:
        return True
    data_a, data_b = _tzif(a), _tzif(b)
    return data_a is not None and data_a == data_b
