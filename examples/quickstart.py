"""Quickstart: a two-way sync end to end, with nothing to set up.

Two calendars (in memory, standing in for Odoo and Outlook) each hold a few
events; calsync previews the sync, runs it, edits both sides and syncs again,
keeping its state in a SQLite file. Run it with ``nox -s quickstart`` or
``python examples/quickstart.py [--state PATH]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import calsync
from calsync.adapters.memory import MemoryCalendar
from calsync.model import Attendee, Event, Projection, Recurrence, RecurrenceRule
from calsync.stores import SQLiteStore

BRUSSELS = ZoneInfo("Europe/Brussels")


class ProgressBar:
    """A one-line progress bar on stderr, cleared before results are printed."""

    def __call__(self, step: calsync.Progress) -> None:
        width = 24
        filled = width * step.done // step.total if step.total else width
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r  {step.stage:<7} [{bar}] {step.done}/{step.total}   ")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r" + " " * 48 + "\r")
        sys.stderr.flush()


def seed(odoo: MemoryCalendar, outlook: MemoryCalendar) -> None:
    """A realistic calendar on each side, one event already on both."""
    monday = datetime(2027, 3, 22, 9, 0, tzinfo=BRUSSELS)
    standup = Event(
        "Team standup",
        monday,
        monday + timedelta(minutes=15),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=10, by_day=["MO", "WE", "FR"])),
    )
    odoo.add(standup)
    odoo.add(Event("Company holiday", date(2027, 4, 5), date(2027, 4, 6)))
    review = Event(
        "Quarterly review",
        monday + timedelta(days=2, hours=5),
        monday + timedelta(days=2, hours=6),
        timezone="Europe/Brussels",
        location="Board room",
    )
    odoo.add(review)
    outlook.add(review)  # already on both sides: calsync links it, no duplicate
    outlook.add(
        Event(
            "Lunch with Ann",
            monday + timedelta(days=1, hours=3),
            monday + timedelta(days=1, hours=4),
            timezone="Europe/Brussels",
            attendees=[Attendee("ann@example.com", "Ann")],
            reminders=[30],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, help="SQLite state file (default: a temporary one)")
    args = parser.parse_args()
    state = args.state or Path(tempfile.mkdtemp()) / "calsync-state.sqlite3"

    odoo = MemoryCalendar("odoo", projection=Projection(name="odoo", zones="recurring"))
    outlook = MemoryCalendar("outlook", projection=Projection(name="outlook", reminders=1))
    seed(odoo, outlook)
    window = calsync.Window(
        datetime(2027, 1, 1, tzinfo=timezone.utc), datetime(2028, 1, 1, tzinfo=timezone.utc)
    )
    store = SQLiteStore(state)
    bar = ProgressBar()
    with calsync.Synchronizer(odoo, outlook, store, window=window, progress=bar) as sync:
        preview = sync.preview()
        bar.clear()
        print("Preview of the first sync:")
        for operation in preview.operations:
            print(f"  {operation}")
        report = sync.run()
        bar.clear()
        print(report)

        (lunch,) = [e for e in odoo.events if e.event.title == "Lunch with Ann"]
        odoo.edit(lunch.id, location="Chez Léon")
        (review,) = [e for e in outlook.events if e.event.title == "Quarterly review"]
        outlook.edit(
            review.id,
            title="Quarterly review (moved)",
            start=review.event.start + timedelta(hours=1),
            end=review.event.end + timedelta(hours=1),
        )
        report = sync.run()
        bar.clear()
        print(f"\nAfter an edit on each side:\n{report}")
        report = sync.run()
        bar.clear()
        print(f"\nA third run has nothing to do:\n{report}")
    store.close()
    print(f"\nState kept in {state}")


if __name__ == "__main__":
    main()
