"""Recording each run in the store's per-pair status (:mod:`calsync.stores._status`)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from calsync._sync._report import SyncReport, describe
from calsync.stores._base import MappingStore
from calsync.stores._status import RunRecord, StatusStore

__all__ = ["record_run"]

logger = logging.getLogger("calsync.sync")


def _record(report: SyncReport | None, error: BaseException | None, started: datetime) -> RunRecord:
    finished = datetime.now(timezone.utc)
    if report is None:
        return RunRecord(started, finished, "failed", error=describe(error))
    writes: dict[str, int] = {}
    for (side, _), count in report.counts.items():
        if side != "links":
            writes[side] = writes.get(side, 0) + count
    return RunRecord(
        started,
        finished,
        "ok" if report.ok else "held",
        writes=writes,
        requests=dict(report.requests),
        throttled={side: n for side, n in report.throttled.items() if n},
        notifications=len(report.notifications),
    )


def record_run(
    store: MappingStore,
    pair: str,
    started: datetime,
    *,
    report: SyncReport | None = None,
    error: BaseException | None = None,
) -> None:
    """Keep how the run went in the store, when it keeps status; never fails the run."""
    if not isinstance(store, StatusStore):
        return
    try:
        store.record_run(pair, _record(report, error, started))
    except Exception:  # the run's own outcome matters more than its bookkeeping
        logger.warning(
            "could not record the run's status", exc_info=True, extra={"calsync_pair": pair}
        )
