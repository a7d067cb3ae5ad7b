"""The sync window: the span of time a pair keeps in sync."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from calsync._errors import InvalidEventError
from calsync._model._checks import to_utc
from calsync._model._event import Event

__all__ = ["Window"]


def _to_start(value: object) -> datetime:
    return to_utc("window.start")(value)


def _to_end(value: object) -> datetime:
    return to_utc("window.end")(value)


@attrs.frozen
class Window:
    """A half-open span ``[start, end)`` of UTC instants.

    Events that overlap it are in scope; an event that leaves it is out of
    scope, never deleted. Odoo's own module syncs one year back and two ahead:
    :meth:`around` does the same by default.
    """

    start: datetime = attrs.field(converter=_to_start)
    end: datetime = attrs.field(converter=_to_end)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidEventError("window.end", self.end, f"must be after {self.start}")

    @classmethod
    def around(
        cls,
        now: datetime | None = None,
        *,
        past: timedelta = timedelta(days=365),
        future: timedelta = timedelta(days=730),
    ) -> Window:
        """The window from ``now - past`` to ``now + future`` (``now`` defaults to the clock)."""
        moment = now or datetime.now(timezone.utc)
        for name, value, kind in (("now", moment, datetime), ("past", past, timedelta),
                                  ("future", future, timedelta)):  # fmt: skip
            if not isinstance(value, kind):
                raise TypeError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
        try:
            return cls(moment - past, moment + future)
        except OverflowError:
            raise InvalidEventError(
                "window", moment, f"{past} before to {future} after it is beyond year 1 or 9999"
            ) from None

    def contains(self, event: Event) -> bool:
        """Whether any occurrence of the event overlaps the window."""
        return next(event.occurrences(self.start, self.end), None) is not None
