"""``calsync.reset``: the reset API as a function, for scripts and admin tools."""

from __future__ import annotations

from typing import Literal, overload

from calsync import _arguments as checks
from calsync._engine._plan import Plan
from calsync._engine._reset import ExistingEvents, NextSync
from calsync._sync._report import SyncReport
from calsync._sync._synchronizer import Synchronizer

__all__ = ["reset"]


@overload
def reset(
    sync: Synchronizer,
    *,
    existing: ExistingEvents | str = ...,
    next_sync: NextSync | str = ...,
    preview: Literal[True],
) -> Plan: ...


@overload
def reset(
    sync: Synchronizer,
    *,
    existing: ExistingEvents | str = ...,
    next_sync: NextSync | str = ...,
    preview: Literal[False] = ...,
) -> SyncReport: ...


def reset(
    sync: Synchronizer,
    *,
    existing: ExistingEvents | str = ExistingEvents.LEAVE,
    next_sync: NextSync | str = NextSync.NEW_ONLY,
    preview: bool = False,
) -> Plan | SyncReport:
    """Reset a pair as Odoo's "Reset Account" wizard does, or preview it.

    ``existing``: leave the synced events, or delete them from the Microsoft
    calendar, from Odoo, or from both (events this account organises).
    ``next_sync``: only new events, or all existing events. With
    ``preview=True`` nothing is written and the :class:`~calsync.Plan` comes
    back, its ``notifications`` listing the cancellations Outlook would send;
    otherwise the reset runs and its :class:`~calsync.SyncReport` comes back.
    See :meth:`Synchronizer.reset_async` for the details.
    """
    checks.instance("sync", sync, Synchronizer)
    if preview:
        return sync.preview_reset(existing, next_sync)
    return sync.reset(existing, next_sync)
