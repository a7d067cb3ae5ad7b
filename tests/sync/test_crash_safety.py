"""A run stopped at any write, then run again, ends exactly as a clean run does.

Fifty events (twenty-five per side, some of them already on both sides,
some meetings, some series) are synced two ways. The run is stopped at every
write — before the request and just after it, before calsync could commit —
and then run again. The final calendars must equal those of an uninterrupted
run: no duplicate, nothing lost.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from calsync import Synchronizer, Window
from calsync.adapters.memory import MemoryCalendar, SimulatedCrash
from calsync.engine import KeepBoth
from calsync.model import Attendee, Event, Projection, Recurrence, RecurrenceRule
from calsync.stores import SQLiteStore

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
ODOO = Projection(name="odoo", zones="recurring", attendee_kinds=False)
OUTLOOK = Projection(name="outlook", reminders=1)


def seeded_events() -> tuple[list[Event], list[Event], list[Event]]:
    """(odoo only, outlook only, on both) events, fifty in all."""
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)

    def make(n: int, side: str) -> Event:
        begin = start + timedelta(days=n, hours=n % 5)
        event = Event(f"{side} {n}", begin, begin + timedelta(minutes=45), reminders=[10, 30])
        if n % 4 == 0:
            event = attrs.evolve(event, attendees=[Attendee(f"guest{n}@example.com")])
        if n % 7 == 0:
            event = attrs.evolve(event, recurrence=Recurrence(RecurrenceRule("DAILY", count=3)))
        return event

    return (
        [make(n, "odoo") for n in range(20)],
        [make(n, "outlook") for n in range(20, 40)],
        [make(n, "shared") for n in range(40, 45)],
    )


def fresh_pair(tmp_path: object, name: str) -> tuple[MemoryCalendar, MemoryCalendar, SQLiteStore]:
    odoo = MemoryCalendar("odoo", projection=ODOO)
    outlook = MemoryCalendar("outlook", projection=OUTLOOK)
    odoo_only, outlook_only, shared = seeded_events()
    for event in odoo_only + shared:
        odoo.add(event)
    for event in outlook_only + shared:
        outlook.add(event)
    return odoo, outlook, SQLiteStore(f"{tmp_path}/{name}.sqlite3")


def synchronizer(
    odoo: MemoryCalendar, outlook: MemoryCalendar, store: SQLiteStore, **options: Any
) -> Synchronizer:
    return Synchronizer(
        odoo, outlook, store, pair="p", window=WINDOW, first_sync_max_notifications=None, **options
    )


def holdings(calendar: MemoryCalendar) -> Counter[str]:
    return Counter(e.event.fingerprint(calendar.projection) for e in calendar.events)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Counter[str], Counter[str], int]:
    odoo, outlook, store = fresh_pair(tmp_path_factory.mktemp("clean"), "clean")
    report = synchronizer(odoo, outlook, store).run()
    assert report.ok
    writes = sum(1 for o in report.outcomes if o.operation.write is not None)
    return holdings(odoo), holdings(outlook), writes


@pytest.mark.parametrize("after", [False, True], ids=["before-the-request", "after-the-request"])
def test_a_run_stopped_at_any_write_ends_as_a_clean_run(
    clean: tuple[Counter[str], Counter[str], int], tmp_path: object, after: bool
) -> None:
    odoo_clean, outlook_clean, writes = clean
    assert writes == 40
    stopped = 0
    for side in ("odoo", "outlook"):
        for nth in range(1, 21):
            odoo, outlook, store = fresh_pair(tmp_path, f"{side}-{nth}-{after}")
            sides = {"odoo": odoo, "outlook": outlook}
            sides[side].crash_at_write(nth, after=after)
            with pytest.raises(SimulatedCrash):
                synchronizer(odoo, outlook, store).run()
            stopped += 1
            again = synchronizer(odoo, outlook, store)
            assert again.run().ok
            where = f"after a stop at {side} write {nth}"
            assert holdings(odoo) == odoo_clean, f"odoo differs {where}"
            assert holdings(outlook) == outlook_clean, f"outlook differs {where}"
            assert not again.run().outcomes
            store.close()
    assert stopped == 40


# -- a stop, then the user edits before the next run ----------------------------------------------


def _synced_pair(
    tmp_path: object, name: str
) -> tuple[MemoryCalendar, MemoryCalendar, SQLiteStore, str, str]:
    """One event synced on both sides; its ids on each side."""
    odoo = MemoryCalendar("odoo", projection=ODOO)
    outlook = MemoryCalendar("outlook", projection=OUTLOOK)
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    source = odoo.add(Event("Review", start, start + timedelta(hours=1)))
    store = SQLiteStore(f"{tmp_path}/{name}.sqlite3")
    assert synchronizer(odoo, outlook, store).run().ok
    (copy,) = outlook.events
    return odoo, outlook, store, source, copy.id


def test_a_stopped_recreate_is_found_again_after_the_survivor_is_edited(tmp_path: object) -> None:
    """Deleted in Odoo, edited in Outlook: the edit wins and comes back to Odoo. A run stopped
    just after that create, then another edit in Outlook: the next run finds the copy it made
    (its key does not depend on the survivor's version) instead of making a second one."""
    odoo, outlook, store, source, copy = _synced_pair(tmp_path, "recreate")
    odoo.delete(source)
    outlook.edit(copy, title="Review (moved)")
    odoo.crash_at_write(1, after=True)
    with pytest.raises(SimulatedCrash):
        synchronizer(odoo, outlook, store).run()
    outlook.edit(copy, title="Review (moved again)")
    again = synchronizer(odoo, outlook, store)
    assert again.run().ok
    assert [e.event.title for e in odoo.events] == ["Review (moved again)"]
    assert [e.event.title for e in outlook.events] == ["Review (moved again)"]
    assert not again.run().outcomes


def test_stopped_copies_of_a_conflict_are_found_again_after_an_edit(tmp_path: object) -> None:
    """The keep-both rule copies each side's version to the other side. A run stopped after the
    first copy, then an edit of that copy's original: the next run finds the copy it made."""
    odoo, outlook, store, source, copy = _synced_pair(tmp_path, "copies")
    odoo.edit(source, title="Review (Odoo)")
    outlook.edit(copy, title="Review (Outlook)")
    odoo.crash_at_write(1, after=True)
    with pytest.raises(SimulatedCrash):
        synchronizer(odoo, outlook, store, rule=KeepBoth()).run()
    outlook.edit(copy, location="Room 2")
    again = synchronizer(odoo, outlook, store, rule=KeepBoth())
    assert again.run().ok
    odoo_titles = sorted(e.event.title for e in odoo.events)
    assert odoo_titles == ["Review (Odoo)", "Review (Outlook)"]
    assert sorted(e.event.title for e in outlook.events) == odoo_titles
    assert not again.run().outcomes


def test_the_copy_a_stopped_run_made_of_an_event_deleted_since_is_deleted(
    tmp_path: object,
) -> None:
    """A run stopped just after copying a new Odoo event to Outlook; the user then deletes the
    event in Odoo. The next run deletes the copy (as a clean run followed by the deletion
    would): copying it back to Odoo would bring the deleted event back on both sides."""
    odoo = MemoryCalendar("odoo", projection=ODOO)
    outlook = MemoryCalendar("outlook", projection=OUTLOOK)
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    kept = odoo.add(Event("Kept", start, start + timedelta(hours=1)))
    gone = odoo.add(Event("Gone", start + timedelta(days=1), start + timedelta(days=1, hours=1)))
    store = SQLiteStore(f"{tmp_path}/abandoned.sqlite3")
    outlook.crash_at_write(2, after=True)
    with pytest.raises(SimulatedCrash):
        synchronizer(odoo, outlook, store).run()
    assert sorted(e.event.title for e in outlook.events) == ["Gone", "Kept"]
    odoo.delete(gone)
    again = synchronizer(odoo, outlook, store)
    preview = again.preview()
    (removal,) = [op for op in preview.operations if op.kind.value == "delete"]
    assert (removal.side, removal.title) == ("outlook", "Gone")
    assert "interrupted run" in removal.reason
    assert again.run().ok
    assert [e.event.title for e in odoo.events] == ["Kept"]
    assert [e.event.title for e in outlook.events] == ["Kept"]
    assert odoo.get(kept) is not None
    assert not again.run().outcomes
