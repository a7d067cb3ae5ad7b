"""Per-pair status: how each pair's last run went, what is held, when it is due next.

The :class:`~calsync.Synchronizer` records every run that got the pair's
lock (:meth:`StatusStore.record_run`); a scheduler (``calsync serve``)
records when it means to run the pair next (:meth:`StatusStore.set_next_due`).
:meth:`StatusStore.status` reads both back, with the pair's held events
counted live, for ``calsync status``, the service's ``/metrics`` and any
application::

    with SQLiteStore("state.sqlite3") as store:
        print(store.status("ann"))

Every store calsync ships implements :class:`StatusStore`; a store of your own
may leave it out (the Synchronizer then records nothing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["PairStatus", "RunRecord", "StatusStore", "run_from_json", "run_to_json"]

UTC = timezone.utc


@attrs.frozen
class RunRecord:
    """One run as the store keeps it.

    ``outcome``: ``ok`` (every write done, nothing held), ``held`` (the run
    finished, some events are held for the next one) or ``failed`` (the run
    stopped: ``error`` says why). ``writes`` counts successful writes per
    side, ``requests`` the provider requests per side, ``throttled`` the answers
    per side that asked to slow down (429). ``runs`` counts the
    pair's recorded runs, ``failures`` the failed ones in a row up to this one.
    """

    started: datetime
    finished: datetime
    outcome: str
    error: str = ""
    writes: Mapping[str, int] = attrs.field(factory=dict)
    requests: Mapping[str, int] = attrs.field(factory=dict)
    throttled: Mapping[str, int] = attrs.field(factory=dict)
    notifications: int = 0
    runs: int = 1
    failures: int = 0

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return (self.finished - self.started).total_seconds()


@attrs.frozen
class PairStatus:
    """What a store knows about a pair: its last run, its held events, its next due time."""

    pair: str
    last_run: RunRecord | None = None
    held: int = 0
    next_due: datetime | None = None

    @property
    def outcome(self) -> str:
        """The last run's outcome, ``never`` before the first."""
        return self.last_run.outcome if self.last_run is not None else "never"

    @property
    def ok(self) -> bool:
        """True when the last run was ok and nothing is held."""
        return self.outcome == "ok" and not self.held


@runtime_checkable
class StatusStore(Protocol):
    """A store that keeps :class:`PairStatus` (every store calsync ships)."""

    def record_run(self, pair: str, run: RunRecord) -> RunRecord:
        """Store the pair's latest run; returns it with ``runs`` and ``failures`` counted."""

    def set_next_due(self, pair: str, when: datetime | None) -> None:
        """Store when a scheduler means to run the pair next (None: not scheduled)."""

    def status(self, pair: str) -> PairStatus:
        """The pair's status (``last_run`` None before its first recorded run)."""

    def statuses(self) -> list[PairStatus]:
        """Every pair's status, sorted by pair."""


def counted(run: RunRecord, before: RunRecord | None) -> RunRecord:
    """``run`` with the pair's run count and its failures in a row."""
    runs = (before.runs if before is not None else 0) + 1
    streak = before.failures if before is not None else 0
    return attrs.evolve(run, runs=runs, failures=streak + 1 if run.outcome == "failed" else 0)


def run_to_json(run: RunRecord) -> str:
    """The JSON text a store keeps for a run."""
    return json.dumps(
        {
            "started": run.started.isoformat(),
            "finished": run.finished.isoformat(),
            "outcome": run.outcome,
            "error": run.error,
            "writes": dict(run.writes),
            "requests": dict(run.requests),
            "throttled": dict(run.throttled),
            "notifications": run.notifications,
            "runs": run.runs,
            "failures": run.failures,
        },
        separators=(",", ":"),
    )


def run_from_json(text: str | None) -> RunRecord | None:
    """The run :func:`run_to_json` wrote (None for none or unreadable text)."""
    if not text:
        return None
    try:
        data: dict[str, Any] = json.loads(text)
        return RunRecord(
            started=datetime.fromisoformat(data["started"]),
            finished=datetime.fromisoformat(data["finished"]),
            outcome=str(data["outcome"]),
            error=str(data.get("error", "")),
            writes=_counts(data.get("writes")),
            requests=_counts(data.get("requests")),
            throttled=_counts(data.get("throttled")),
            notifications=int(data.get("notifications", 0)),
            runs=int(data.get("runs", 1)),
            failures=int(data.get("failures", 0)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _counts(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(value or {}).items()}  # type: ignore[call-overload]


def parse_instant(text: str | None) -> datetime | None:
    """A stored ISO instant (None for none)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
