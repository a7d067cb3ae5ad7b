"""Request counts that issues promise, checked against the emulators and printed.

* Outlook: pushing 100 new events takes at most 5 ``$batch`` calls; a no-op
  incremental pull is one request.
* Odoo: a no-op incremental sync makes at most 3 calls after login (4 within
  seconds of a write: the newest event is read again); pushing 100 new events
  is one create (``load``) call plus partner look-ups bounded by the distinct
  new attendees, not by the events.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from pair import Host, synchronizer

import calsync
from calsync.adapters.odoo._cursor import SETTLE


def counted(sync: calsync.Synchronizer, side: Any) -> dict[str, int]:
    """Run once; the calls ``side``'s adapter made, by kind."""
    before = dict(side.calls)
    sync.run()
    return {k: v - before.get(k, 0) for k, v in side.calls.items() if v != before.get(k, 0)}


def checks() -> list[tuple[str, str, str]]:
    """(what, measured, promise) rows."""
    with tempfile.TemporaryDirectory() as folder:
        emulators = Host()
        try:
            sync = synchronizer(emulators.hello, Path(folder) / "state.sqlite3")
            sync.max_notifications = 1000
            odoo, outlook = sync.left, sync.right
            sync.run()  # an empty first sync: logged in, cursors set
            sync.run()
            emulators.ask("seed_side", side="odoo", count=100, guests=7)
            pushed = counted(sync, outlook)
            sync.run()  # the echo of those writes
            quiet_outlook = counted(sync, outlook)
            emulators.ask("seed_side", side="outlook", count=100, guests=7)
            created = counted(sync, odoo)
            sync.run()
            soon_odoo = counted(sync, odoo)
            time.sleep(SETTLE)  # the newest second calsync read in is over for sure
            sync.run()
            quiet_odoo = counted(sync, odoo)
            sync.close()
        finally:
            emulators.close()
    partners = {k: v for k, v in created.items() if k.startswith("res.partner")}
    return [
        (
            "100 new Odoo events pushed to Outlook",
            f"{pushed.get('batch', 0)} $batch calls ({pushed})",
            "≤ 5 $batch",
        ),
        (
            "no-op incremental pull, Outlook",
            f"{sum(quiet_outlook.values())} request ({quiet_outlook})",
            "1",
        ),
        (
            "100 new Outlook events (7 distinct guests) pushed to Odoo",
            f"{created.get('calendar.event.load', 0)} load call, partner calls {partners}; "
            f"all calls {created}",
            "1 create call + partner look-ups ≤ distinct guests",
        ),
        (
            "no-op incremental sync, Odoo, seconds after a write",
            f"{sum(soon_odoo.values())} calls ({soon_odoo})",
            "≤ 4 after login",
        ),
        (
            "no-op incremental sync, Odoo",
            f"{sum(quiet_odoo.values())} calls ({quiet_odoo})",
            "≤ 3 after login",
        ),
    ]


def markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| check | measured | promise |", "|---|---|---|"]
    lines += [f"| {what} | {measured} | {promise} |" for what, measured, promise in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(checks()))
