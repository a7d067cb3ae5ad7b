"""Checks of the arguments calsync's public constructors take.

A wrong type is a :class:`TypeError`; a value of the right type that cannot
work is a :class:`~calsync.ConfigurationError` saying what to give instead.
Each check returns the value, so constructors read ``self._x = text("x", x)``.
"""

from __future__ import annotations

import math
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from calsync._errors import ConfigurationError

__all__ = ["count", "http_url", "instance", "optional_text", "seconds", "text"]

T = TypeVar("T")


def _kind(value: object) -> str:
    return type(value).__name__


def text(name: str, value: object) -> str:
    """A string (any, even empty)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {_kind(value)}")
    return value


def optional_text(name: str, value: object) -> str | None:
    """A string or None."""
    return None if value is None else text(name, value)


def count(name: str, value: object, *, least: int = 1) -> int:
    """An int of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {_kind(value)}")
    if value < least:
        raise ConfigurationError(f"{name} must be at least {least}, not {value}")
    return value


def seconds(name: str, value: object, *, zero: bool = False) -> float:
    """A finite number of seconds, positive (or 0 too, with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {_kind(value)}")
    if not (value >= 0 if zero else value > 0) or not value < math.inf:
        least = "0 or more" if zero else "a positive number of"
        raise ConfigurationError(f"{name} must be {least} seconds, not {value!r}")
    return float(value)


def instance(name: str, value: object, kind: type[T]) -> T:
    """An instance of ``kind``."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}, not {_kind(value)}")
    return value


def http_url(name: str, value: object, example: str) -> SplitResult:
    """The parts of an ``http(s)://host[:port]...`` URL; ``example`` shows a good one."""
    try:
        parts = urlsplit(text(name, value))
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and (parts.port is None or parts.port > 0)
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        valid = False
    if not valid:
        raise ConfigurationError(
            f"{name} must be an http(s) URL with a host (and a port from 1 to 65535), "
            f"such as {example}, not {value!r}"
        )
    return parts
