"""Two-way sync of an Odoo calendar (emulator) with a memory calendar, through the Synchronizer.

Each scenario edits one side as its user would, runs a sync, checks both sides
hold the same thing, then runs again: the second run must write nothing, and
an incremental Odoo pull with nothing new makes three calls (four within seconds
of a write, to read the newest event again).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from calsync import Synchronizer
from calsync.adapters import RemoteEvent
from calsync.adapters.memory import MemoryCalendar
from calsync.adapters.odoo import ODOO_PROJECTION, OdooCalendar, OdooDatabase
from calsync.model import (
    Attendee,
    Availability,
    Event,
    Privacy,
    Projection,
    Recurrence,
    RecurrenceRule,
    Response,
    Window,
)
from calsync.stores import SQLiteStore
from calsync.testing import OdooEmulator
from tests.adapters.odoo_support import (
    BRUSSELS,
    QUIET,
    WINDOW,
    Hands,
    adapter,
    emulator,
    shared_database,
    weekly,
)

UTC = timezone.utc


@attrs.define
class Pair:
    odoo: OdooEmulator
    hands: Hands
    calendar: OdooCalendar
    memory: MemoryCalendar
    sync: Synchronizer
    store: SQLiteStore
    #: a new Odoo adapter (a new process) for every run
    fresh: bool = False
    #: the administrator's change query the Odoo adapter lists through, if any
    database: OdooDatabase | None = None

    def run(self) -> Any:
        if self.fresh:
            self.sync.close()
            self.calendar = adapter(self.odoo)
            self.sync = Synchronizer(
                self.calendar, self.memory, self.store, pair="bob", window=WINDOW
            )
        report = self.sync.run()
        assert report.ok, [str(o.error) for o in report.failures]
        assert not report.held, report.held
        return report

    def settle(self) -> None:
        """Sync, check both sides agree, then a second run writes nothing (and pulls cheaply)."""
        self.run()
        self.assert_same()
        again = self.run()
        writes = [str(o.operation) for o in again.outcomes if o.operation.write is not None]
        assert writes == []
        if not self.fresh:  # a new process logs in first
            before = self.calendar.requests
            third = self.run()
            assert not [o for o in third.outcomes if o.operation.write is not None]
            # a quiet incremental pull: three calls, and within seconds of a write one
            # more, to read the newest event again (a second write in its second hides)
            assert self.calendar.requests - before <= 4

    def odoo_events(self) -> list[RemoteEvent]:
        listing = self.sync._block(self.calendar.pull(None, WINDOW))
        return sorted((i for i in listing.items if not i.archived), key=_order)

    def assert_same(self) -> None:
        """Both sides hold the same occurrences with the same content (as both can store it).

        Series are compared by their occurrences: Odoo may describe the same set with
        another rule (its week starts on Sunday for en_US users) plus exceptions.
        """
        both = [ODOO_PROJECTION, self.memory.projection]
        odoo = [_occurrences(item.event, both) for item in self.odoo_events()]
        memory = [_occurrences(item.event, both) for item in sorted(self.memory.events, key=_order)]
        assert odoo == memory

    def memory_event(self, title: str) -> RemoteEvent:
        [found] = [e for e in self.memory.events if e.event.title == title]
        return found


def _order(item: RemoteEvent) -> tuple[str, str]:
    return (item.event.span()[0].isoformat(), item.event.title)


def _occurrences(event: Event, projections: list[Projection]) -> list[Event]:
    for projection in projections:
        event = projection(event)
    return [
        attrs.evolve(
            occurrence.event,
            organizer=None,
            recurrence=None,
            timezone=None if occurrence.event.all_day else "UTC",
        )
        for occurrence in event.occurrences(before=WINDOW.end)
    ]


#: An Outlook-like side: one reminder, no "default" privacy.
OUTLOOKISH = Projection(name="outlookish", reminders=1, privacy={Privacy.DEFAULT: Privacy.PUBLIC})


@pytest.fixture(
    params=["same-process", "process-per-run", "lossy-other-side", "json2", "shared-database"]
)
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pair]:
    odoo = emulator("19.0" if request.param == "json2" else "18.0")
    database = shared_database(odoo) if request.param == "shared-database" else None
    calendar = adapter(odoo, database=database)
    projection = OUTLOOKISH if request.param == "lossy-other-side" else ODOO_PROJECTION
    memory = MemoryCalendar("outlook", account="bob@example.com", projection=projection)
    store = SQLiteStore(tmp_path / "calsync.sqlite")
    sync = Synchronizer(calendar, memory, store, pair="bob", window=WINDOW)
    fresh = request.param == "process-per-run"
    made = Pair(odoo, Hands(odoo), calendar, memory, sync, store, fresh, database)
    try:
        yield made
    finally:
        made.sync.close()
        if database is not None:
            made.sync._block(database.aclose())
        odoo.stop()


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=UTC)


def odoo_series(pair: Pair, **fields: Any) -> tuple[int, list[dict[str, Any]]]:
    values = weekly(**{"count": 5, "partner_ids": [(6, 0, [7])], **fields})
    base = int(pair.hands.call("calendar.event", "create", values, context=QUIET))
    return base, pair.hands.rows(pair.hands.recurrence_of(base))


def memory_series(title: str = "Planning") -> Event:
    start = at(16, 13)  # Tuesdays 14:00 in Brussels
    return Event(
        title,
        start,
        start + timedelta(hours=1),
        timezone=BRUSSELS,
        attendees=[Attendee("ann@example.com", "Ann")],
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=4, by_day=["TU"])),
    )


# -- scenarios ---------------------------------------------------------------------------------


def test_first_sync_converges_both_ways(pair: Pair) -> None:
    pair.hands.create(
        Event("Odoo single", at(10), at(10, 10), attendees=[Attendee("ann@example.com")])
    )
    pair.hands.create(Event("Odoo all-day", date(2027, 3, 27), date(2027, 3, 29)))
    odoo_series(pair)
    pair.memory.add(Event("Memory single", at(11), at(11, 10), reminders=[15, 60]))
    pair.memory.add(memory_series())
    pair.memory.add(Event("Memory all-day", date(2027, 4, 2), date(2027, 4, 3)))
    pair.settle()
    assert len(pair.memory) == 6


def test_series_edited_in_odoo_self_only(pair: Pair) -> None:
    _base, rows = odoo_series(pair)
    pair.settle()
    pair.hands.write(
        rows[1]["id"],
        {
            "name": "Standup (moved)",
            "start": "2027-03-23 10:00:00",
            "stop": "2027-03-23 10:15:00",
            "recurrence_update": "self_only",
        },
    )
    pair.settle()
    recurrence = pair.memory_event("Standup").event.recurrence
    assert recurrence is not None
    assert [(x.original_start, x.event.title) for x in recurrence.exceptions] == [
        (at(22, 8), "Standup (moved)")
    ]


def test_series_split_in_odoo_with_future_events(pair: Pair) -> None:
    _base, rows = odoo_series(pair)
    pair.settle()
    pair.hands.write(rows[3]["id"], {"name": "Standup v2", "recurrence_update": "future_events"})
    pair.settle()
    titles = sorted(e.event.title for e in pair.memory.events)
    assert titles == ["Standup", "Standup v2"]
    old = pair.memory_event("Standup").event
    assert [o.original_start for o in old.occurrences()] == [at(15, 8), at(22, 8), at(29, 7)]


def test_series_moved_in_odoo_with_all_events(pair: Pair) -> None:
    base, _rows = odoo_series(pair)
    pair.settle()
    pair.hands.write(base, {"location": "Lab", "recurrence_update": "all_events"})
    pair.settle()
    pair.hands.write(
        base,
        {
            "start": "2027-03-15 09:00:00",
            "stop": "2027-03-15 09:30:00",
            "recurrence_update": "all_events",
        },
    )
    pair.settle()
    moved = pair.memory_event("Standup").event
    assert (moved.start, moved.location, moved.duration) == (
        at(15, 9),
        "Lab",
        timedelta(minutes=30),
    )


def test_occurrences_archived_or_unlinked_in_odoo_are_cancelled(pair: Pair) -> None:
    _base, rows = odoo_series(pair)
    pair.settle()
    pair.hands.write(rows[1]["id"], {"active": False})
    pair.hands.call("calendar.event", "unlink", [rows[2]["id"]], context=QUIET)
    pair.settle()
    recurrence = pair.memory_event("Standup").event.recurrence
    assert recurrence is not None
    assert recurrence.cancelled == {at(22, 8), at(29, 7)}


def test_rsvp_in_odoo_reaches_the_other_side(pair: Pair) -> None:
    event_id = pair.hands.create(
        Event("Review", at(10), at(10, 10), attendees=[Attendee("ann@example.com", "Ann")])
    )
    pair.settle()
    [attendee] = pair.hands.read([event_id], "attendee_ids")[0]["attendee_ids"]
    pair.hands.call("calendar.attendee", "write", [attendee], {"state": "declined"})
    pair.settle()
    [ann] = pair.memory_event("Review").event.attendees
    assert ann.response is Response.DECLINED


def test_series_edits_on_the_other_side_reach_odoo(pair: Pair) -> None:
    event_id = pair.memory.add(memory_series())
    pair.settle()
    current = pair.memory.get(event_id)
    assert current is not None
    series = current.event
    assert series.recurrence is not None
    keys = list(series.recurrence.original_starts(series.start, series.timezone))
    moved = attrs.evolve(
        series,
        recurrence=None,
        title="Planning (moved)",
        start=keys[1] + timedelta(hours=3),
        end=keys[1] + timedelta(hours=4),
        timezone="UTC",
    )
    pair.memory.edit(
        event_id,
        recurrence=Recurrence(
            series.recurrence.rule, exceptions={keys[1]: moved}, cancelled=[keys[3]]
        ),
    )
    pair.settle()
    rows = pair.hands.call(
        "calendar.event",
        "search_read",
        [("name", "like", "Planning")],
        ["name", "start", "active"],
        order="start asc",
        context={"active_test": False},
    )
    assert [(r["name"], r["start"], r["active"]) for r in rows] == [
        ("Planning", "2027-03-16 13:00:00", True),
        ("Planning (moved)", "2027-03-23 16:00:00", True),
        ("Planning", "2027-03-30 12:00:00", True),
        ("Planning", "2027-04-06 12:00:00", False),
    ]


def test_deletions_both_ways(pair: Pair) -> None:
    odoo_id = pair.hands.create(Event("From Odoo", at(10), at(10, 10)))
    memory_id = pair.memory.add(Event("From memory", at(11), at(11, 10)))
    pair.settle()
    pair.hands.call("calendar.event", "unlink", [odoo_id], context=QUIET)
    pair.memory.delete(memory_id)
    pair.settle()
    assert len(pair.memory) == 0
    archived = pair.hands.call(
        "calendar.event",
        "search_read",
        [("name", "=", "From memory")],
        ["active"],
        context={"active_test": False},
    )
    assert [row["active"] for row in archived] == [False]  # archived, not unlinked


def test_rich_content_and_quirky_series_settle(pair: Pair) -> None:
    pair.memory.add(
        Event(
            "Rich",
            at(12),
            at(12, 11),
            description="<p>Agenda <b>first</b></p>",
            location="Room 1",
            online_meeting_url="https://meet.example.com/x",
            attendees=[Attendee("Ann@Example.com", "Ann", response="accepted")],
            availability=Availability.TENTATIVE,
            reminders=[10, 30],
            privacy=Privacy.CONFIDENTIAL,
        )
    )
    pair.memory.add(Event("", at(13), at(13, 10)))  # no title: Odoo requires a name
    pair.memory.add(
        Event(
            "All-day daily",
            date(2027, 7, 1),
            date(2027, 7, 2),
            recurrence=Recurrence(RecurrenceRule("DAILY", count=3), cancelled=[date(2027, 7, 2)]),
        )
    )
    pair.memory.add(
        Event(
            "Last day of the month",
            datetime(2027, 1, 31, 9, tzinfo=UTC),
            datetime(2027, 1, 31, 10, tzinfo=UTC),
            timezone=BRUSSELS,
            recurrence=Recurrence(RecurrenceRule("MONTHLY", count=4, by_month_day=-1)),
        )
    )
    pair.settle()
    last_days = pair.memory_event("Last day of the month").event
    assert [o.original_start.date() for o in last_days.occurrences()] == [  # type: ignore[union-attr]
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_series_odoo_would_expand_otherwise_are_held_with_the_reason(pair: Pair) -> None:
    """Odoo counts monthly intervals from the UTC month, weekly ones in the user's weeks.

    Writing such a series and correcting its rows one by one would leave a
    recurrence that describes another series than its rows (odoo.md §5.5b):
    calsync holds it on the Odoo side and says why; the other events sync.
    """
    sydney_start = datetime(2027, 2, 28, 21, tzinfo=UTC)  # 08:00 on March 1st in Sydney
    pair.memory.add(
        Event(
            "Sydney monthly",
            sydney_start,
            sydney_start + timedelta(hours=1),
            timezone="Australia/Sydney",
            recurrence=Recurrence(RecurrenceRule("MONTHLY", interval=2, count=3, by_month_day=1)),
        )
    )
    pair.memory.add(
        Event(
            "Biweekly",
            at(15, 8),
            at(15, 9),
            timezone=BRUSSELS,
            recurrence=Recurrence(
                RecurrenceRule("WEEKLY", interval=2, count=4, by_day=["MO", "SU"])
            ),
        )
    )
    pair.memory.add(Event("Plain", at(16), at(16, 10)))
    report = pair.sync.run()
    reasons = {item.title: item.error for item in report.held}
    assert sorted(reasons) == ["Biweekly", "Sydney monthly"]
    assert "2027-04-01 08:00 where the series has 2027-03-01 08:00" in reasons["Sydney monthly"]
    assert "UTC month" in reasons["Sydney monthly"]
    assert "week start (Sunday)" in reasons["Biweekly"]
    assert [item.event.title for item in pair.odoo_events()] == ["Plain"]


def test_a_deleted_first_occurrence_is_a_cancelled_one(pair: Pair) -> None:
    base, _rows = odoo_series(pair)
    pair.settle()
    pair.hands.call("calendar.event", "unlink", [base], context=QUIET)
    pair.settle()
    recurrence = pair.memory_event("Standup").event.recurrence
    assert recurrence is not None
    assert recurrence.cancelled == {at(15, 8)}


def test_both_sides_edited_between_runs(pair: Pair) -> None:
    odoo_id = pair.hands.create(Event("Shared", at(10), at(10, 10)))
    pair.settle()
    [memory_item] = pair.memory.events
    pair.hands.write(odoo_id, {"location": "Odoo room"})
    pair.memory.edit(memory_item.id, description="<p>from the other side</p>")
    pair.settle()
    merged = pair.memory.events[0].event
    assert (merged.location, merged.description) == ("Odoo room", "<p>from the other side</p>")


def test_a_new_window_keeps_the_odoo_cursor(pair: Pair) -> None:
    if pair.fresh:
        pytest.skip("each run makes its own Synchronizer with the fixed window")
    odoo_series(pair)
    pair.hands.create(Event("Shared", at(10), at(10, 10)))
    pair.settle()
    later = WINDOW.end + timedelta(days=10)
    pair.hands.create(Event("Next year", later, later + timedelta(hours=1)))
    pair.sync.window = Window(WINDOW.start + timedelta(days=30), WINDOW.end + timedelta(days=30))
    before = pair.calendar.calls.copy()
    report = pair.run()
    spent = pair.calendar.calls - before
    # the other side lists its new window in full; Odoo lists what its window adds
    assert [str(o.operation) for o in report.outcomes if o.operation.write is not None] == [
        "create on outlook: 'Next year' (new on odoo)"
    ]
    # the listing (the shared database's, if any), what the window adds
    assert spent["calendar.event.search_read"] == (1 if pair.database else 2)
    assert sum(spent.values()) <= 5
