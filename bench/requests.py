"""Request counts that issues promise, checked against the emulators and printed.

* Outlook: pushing 100 new events takes at most 5 ``$batch`` calls; a no-op
  incremental pull is one request.
* Odoo: a no-op incremental sync makes at most 3 calls after login; pushing
  100 new events is one create (``load``) call plus partner look-ups bounded by
  the distinct new attendees, not by the events.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pair import Host, synchronizer

import calsync


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)
    }


def checks() -> list[tuple[str, str, str]]:
    """(what, measured, promise) rows."""
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        emulators = Host()
        try:
            sync = synchronizer(emulators.hello, Path(folder) / "state.sqlite3")
            sync.max_notifications = 1000
            sync.run()  # an empty first sync: logged in, cursors set
            sync.run()
            emulators.ask("seed_side", side="odoo", count=100, guests=7)
            odoo, outlook = sync.left, sync.right
            before = dict(outlook.calls)  # type: ignore[attr-defined]
            sync.run()
            pushed = delta(before, dict(outlook.calls))  # type: ignore[attr-defined]
            rows.append(
                (
                    "100 new Odoo events pushed to Outlook",
                    f"{pushed.get('batch', 0)} $batch calls ({pushed})",
                    "≤ 5 $batch",
                )
            )
            sync.run()  # the echo of those writes
            before = dict(outlook.calls)  # type: ignore[attr-defined]
            sync.run()
            quiet = delta(before, dict(outlook.calls))  # type: ignore[attr-defined]
            rows.append(
                ("no-op incremental pull, Outlook", f"{sum(quiet.values())} request ({quiet})", "1")
            )
            emulators.ask("seed_side", side="outlook", count=100, guests=7)
            before = dict(odoo.calls)  # type: ignore[attr-defined]
            sync.run()
            created = delta(before, dict(odoo.calls))  # type: ignore[attr-defined]
            loads = created.get("calendar.event.load", 0)
            partners = {k: v for k, v in created.items() if k.startswith("res.partner")}
            rows.append(
                (
                    "100 new Outlook events (7 distinct guests) pushed to Odoo",
                    f"{loads} load call, partner calls {partners}; all calls {created}",
                    "1 create call + partner look-ups ≤ distinct guests",
                )
            )
            sync.run()
            before = dict(odoo.calls)  # type: ignore[attr-defined]
            sync.run()
            quiet = delta(before, dict(odoo.calls))  # type: ignore[attr-defined]
            rows.append(
                (
                    "no-op incremental sync, Odoo",
                    f"{sum(quiet.values())} calls ({quiet})",
                    "≤ 3 after login",
                )
            )
            sync.close()
        finally:
            emulators.close()
    return rows


def markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| check | measured | promise |", "|---|---|---|"]
    lines += [f"| {what} | {measured} | {promise} |" for what, measured, promise in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(checks()))
    del calsync
