"""What a sync run did: the report and the progress callback's values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import attrs

from calsync._engine._plan import Operation, OperationKind
from calsync._protocol import Notification
from calsync.stores._base import Held

__all__ = ["Outcome", "Progress", "SyncReport", "describe"]


def describe(error: BaseException | None) -> str:
    """An error for a report line: its type, the provider's own code, the message."""
    if error is None:
        return ""
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}{f' ({code})' if code else ''}: {message}"


@attrs.frozen
class Progress:
    """Where a run is: ``stage`` ("pull", "plan", "apply", "commit"), ``done`` of ``total``."""

    pair: str
    stage: str
    done: int
    total: int


@attrs.frozen
class Outcome:
    """One planned operation and how it went; ``error`` says why it failed."""

    operation: Operation
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the operation succeeded."""
        return self.error is None


@attrs.frozen
class SyncReport:
    """The result of one run.

    ``outcomes`` holds every planned operation with its result; ``held`` the
    events quarantined by an error (retried on the next run, shown here until
    they sync); ``requests`` the provider requests made per side;
    ``throttled`` the answers per side that asked calsync to slow down (429);
    ``notifications`` the attendee e-mails the successful writes caused;
    ``unreadable`` the (side, id, reason) of events calsync cannot hold and
    leaves alone; ``timings`` the seconds spent per stage ("pull", "plan",
    "apply", "commit").
    """

    pair: str
    left: str
    right: str
    outcomes: tuple[Outcome, ...] = ()
    held: tuple[Held, ...] = ()
    conflicts: int = 0
    requests: Mapping[str, int] = attrs.field(factory=dict)
    throttled: Mapping[str, int] = attrs.field(factory=dict)
    notifications: tuple[Notification, ...] = ()
    duration: float = 0.0
    unknown: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str, str], ...] = ()
    timings: Mapping[str, float] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every operation succeeded and nothing is held back."""
        return all(outcome.ok for outcome in self.outcomes) and not self.held

    @property
    def failures(self) -> tuple[Outcome, ...]:
        """The operations that failed."""
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)

    def count(self, kind: OperationKind | str, side: str | None = None) -> int:
        """Successful operations of that kind (on that side)."""
        wanted = OperationKind(kind)
        return sum(
            1
            for outcome in self.outcomes
            if outcome.ok
            and outcome.operation.kind is wanted
            and (side is None or outcome.operation.side == side)
        )

    @property
    def counts(self) -> Mapping[tuple[str, str], int]:
        """Successful operations per (side or "links", kind)."""
        tally: Counter[tuple[str, str]] = Counter(
            (outcome.operation.side or "links", outcome.operation.kind.value)
            for outcome in self.outcomes
            if outcome.ok
        )
        return dict(sorted(tally.items()))

    def __str__(self) -> str:
        lines = [f"calsync {self.pair}: {self.summary} in {self.duration:.2f}s"]
        for side in (self.left, self.right):
            kinds = ", ".join(
                f"{count} {kind}" for (where, kind), count in self.counts.items() if where == side
            )
            requests = _counted(self.requests.get(side, 0), "request")
            lines.append(f"  {side}: {kinds or 'no changes'}; {requests}")
        if self.notifications:
            lines.append(f"  e-mails caused: {len(self.notifications)}")
        if self.conflicts:
            lines.append(f"  conflicts resolved: {self.conflicts}")
        for outcome in self.failures:
            lines.append(f"  failed: {outcome.operation}: {describe(outcome.error)}")
        for item in self.held:
            lines.append(
                f"  held: {item.title!r} on {item.side} since {item.since:%Y-%m-%d %H:%M} "
                f"({_counted(item.attempts, 'attempt')}): {item.error}"
            )
        for side in self.unknown:
            lines.append(f"  {side}: listing incomplete, no deletions inferred")
        for side, event_id, reason in self.unreadable:
            lines.append(f"  unreadable on {side}: {event_id} ({reason}); left alone")
        return "\n".join(lines)

    @property
    def summary(self) -> str:
        """One line: how many writes, and whether everything went well."""
        writes = sum(1 for o in self.outcomes if o.ok and o.operation.write is not None)
        if not self.outcomes:
            return "in sync, nothing to do"
        status = "ok" if self.ok else f"{len(self.failures)} failed, {len(self.held)} held"
        return f"{_counted(writes, 'write')}, {status}"


def _counted(count: int, noun: str) -> str:
    """``1 request``, ``2 requests``: a count with its noun, for the readable report."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
