"""Conflict and deletion rules.

A conflict is the same field changed differently on both sides since the last
sync. A rule looks at it and names the side whose value wins, or asks to keep
both versions (:data:`KEEP_BOTH`). Rules are plain callables, so any function
``(Conflict) -> str | KeepBothType`` is a rule too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from calsync._errors import ConfigurationError, ConflictError
from calsync._model._checks import Choice

__all__ = [
    "KEEP_BOTH",
    "Conflict",
    "ConflictRule",
    "DeletionRule",
    "KeepBoth",
    "KeepBothType",
    "LatestWins",
    "Prefer",
    "Raise",
    "Resolution",
]


class KeepBothType(enum.Enum):
    """The type of :data:`KEEP_BOTH`."""

    KEEP_BOTH = "keep both"


#: A resolution: keep both versions as two events on each side.
KEEP_BOTH = KeepBothType.KEEP_BOTH

#: What a rule returns: the name of the winning side, or :data:`KEEP_BOTH`.
Resolution = str | KeepBothType


@attrs.frozen
class Conflict:
    """The same field changed differently on both sides.

    ``left``/``right`` are the two new values, ``base`` the last synced one
    (None on a first sync), ``*_modified`` the providers' last-modified instants.
    """

    field: str
    title: str
    left_side: str
    right_side: str
    base: object
    left: object
    right: object
    left_modified: datetime | None
    right_modified: datetime | None
    link_key: str | None = None


ConflictRule = Callable[[Conflict], Resolution]


@attrs.frozen
class LatestWins:
    """The side modified last wins; within ``tolerance`` (clock skew) ``tie`` decides.

    ``tie`` is a side name, or None for the left side. A side that does not say
    when it was modified loses to one that does.
    """

    tolerance: timedelta = timedelta(seconds=60)
    tie: str | None = None

    def __call__(self, conflict: Conflict) -> Resolution:
        left, right = conflict.left_modified, conflict.right_modified
        if left is not None and right is not None:
            if abs(left - right) > self.tolerance:
                return conflict.left_side if left > right else conflict.right_side
        elif left is not None or right is not None:
            return conflict.left_side if left is not None else conflict.right_side
        return self.tie or conflict.left_side


@attrs.frozen
class Prefer:
    """One side always wins."""

    side: str

    def __call__(self, conflict: Conflict) -> Resolution:
        if self.side not in (conflict.left_side, conflict.right_side):
            raise ConfigurationError(
                f"Prefer({self.side!r}) names no side of this pair "
                f"({conflict.left_side!r}, {conflict.right_side!r})"
            )
        return self.side


@attrs.frozen
class KeepBoth:
    """Keep both versions: each side gets a copy of the other side's event."""

    def __call__(self, conflict: Conflict) -> Resolution:
        return KEEP_BOTH


@attrs.frozen
class Raise:
    """Stop planning with :class:`~calsync.ConflictError`: a human must decide."""

    def __call__(self, conflict: Conflict) -> Resolution:
        raise ConflictError(
            f"{conflict.field!r} changed on both sides of {conflict.title!r}: "
            f"{conflict.left_side}={conflict.left!r}, {conflict.right_side}={conflict.right!r}",
            field=conflict.field,
            event=conflict.link_key,
        )


class DeletionRule(Choice):
    """What happens when one side deletes an event the other side edited.

    ``EDIT_WINS`` (the default) re-creates the event where it was deleted, so
    nothing is lost; ``DELETE_WINS`` deletes the edited copy too.
    """

    EDIT_WINS = "edit_wins"
    DELETE_WINS = "delete_wins"
