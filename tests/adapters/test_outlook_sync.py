"""Two-way sync of a memory calendar with Outlook (the Graph emulator) through the Synchronizer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from calsync import Synchronizer, SyncReport
from calsync.adapters import MailKind, Notification
from calsync.adapters.memory import MemoryCalendar
from calsync.adapters.outlook import OUTLOOK_PROJECTION, OutlookCalendar
from calsync.model import Attendee, Event, Recurrence, RecurrenceRule, Response
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox, MailMessage
from tests.adapters.outlook_support import WINDOW, make_adapter, user_body

UTC = timezone.utc


@attrs.define
class World:
    graph: GraphEmulator
    alice: GraphMailbox
    memory: MemoryCalendar
    outlook: OutlookCalendar
    sync: Synchronizer

    def run(self) -> SyncReport:
        report = self.sync.run()
        assert report.ok, [str(o) for o in report.failures] + [str(h) for h in report.held]
        return report


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with GraphEmulator() as graph:
        alice = graph.add_mailbox("alice@example.com", name="Alice")
        memory = MemoryCalendar("odoo", account="alice@example.com")
        outlook = make_adapter(graph, alice)
        store = SQLiteStore(tmp_path / "state.sqlite3")
        sync = Synchronizer(
            memory, outlook, store, pair="alice", window=WINDOW, first_sync_max_notifications=None
        )
        try:
            yield World(graph, alice, memory, outlook, sync)
        finally:
            sync.close()
        assert graph.errors == []


def writes(report: SyncReport) -> list[str]:
    return [str(o.operation) for o in report.outcomes if o.operation.write is not None]


def as_notification(message: MailMessage) -> Notification:
    return Notification(
        MailKind(message.kind), message.recipient, message.subject, message.original_start
    )


def meeting(title: str, day: int, *people: str, hour: int = 9) -> Event:
    start = datetime(2027, 5, day, hour, tzinfo=UTC)
    return Event(
        title,
        start,
        start + timedelta(hours=1),
        timezone="Europe/Paris",
        description="<p>Agenda</p>",
        location="Room 1",
        attendees=[Attendee(p, p.split("@")[0].title()) for p in people],
        reminders=[10],
    )


def series(title: str, day: int = 15) -> Event:
    start = datetime(2027, 3, day, 8, tzinfo=UTC)  # a Monday, across the spring DST change
    rule = RecurrenceRule("WEEKLY", count=6, by_day=["MO"])
    plain = Event(title, start, start + timedelta(minutes=30), timezone="Europe/Brussels")
    keys = list(Recurrence(rule).original_starts(start, "Europe/Brussels"))
    moved = attrs.evolve(
        plain,
        title=f"{title} (moved)",
        start=keys[1] + timedelta(hours=2),
        end=keys[1] + timedelta(hours=2, minutes=30),
    )
    return attrs.evolve(
        plain, recurrence=Recurrence(rule, exceptions={keys[1]: moved}, cancelled=[keys[4]])
    )


def held_by_title(events: list[Event]) -> dict[str, str]:
    return {e.title: e.fingerprint(OUTLOOK_PROJECTION) for e in events}


def test_two_way_sync_converges_and_then_writes_nothing(world: World) -> None:
    graph, alice = world.graph, world.alice
    # Odoo's side (memory): a meeting with a response, an all-day event across DST, a series.
    world.memory.add(
        meeting("Kick-off", 3, "carol@example.com", "dave@example.com"),
    )
    world.memory.add(Event("Offsite", date(2027, 3, 27), date(2027, 3, 30)))
    world.memory.add(series("Standup"))
    # Outlook's side: the user's own series with an edited and a deleted occurrence,
    # an all-day event, and a meeting that Bob accepted.
    created = graph.create_event(alice, user_body(series("Sync").__class__(
        "Sync", datetime(2027, 3, 16, 7, tzinfo=UTC), datetime(2027, 3, 16, 8, tzinfo=UTC),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=5, by_day=["TU"])),
    )))  # fmt: skip
    instances = graph.instances(alice, created["id"], WINDOW.start, WINDOW.end)
    graph.update_event(alice, instances[1]["id"], {"subject": "Sync (edited)"})
    graph.delete_event(alice, instances[3]["id"])
    graph.create_event(alice, user_body(Event("Holiday", date(2027, 10, 30), date(2027, 11, 2))))
    review = graph.create_event(alice, user_body(meeting("Review", 7, "bob@example.com")))
    graph.respond(alice, review["id"], "bob@example.com", "accepted")
    graph.clear_mail_log()

    preview = world.sync.preview()
    first = world.run()
    print(f"\nfirst run: requests {first.requests}, outlook calls {dict(world.outlook.calls)}")
    assert sorted(as_notification(m) for m in graph.mail_log(alice)) == sorted(
        preview.notifications
    )
    second = world.run()
    print(f"second run: requests {second.requests}")
    assert writes(second) == []
    assert second.requests["outlook"] == 1
    third = world.sync.preview()
    assert not third.writes

    memory_side = held_by_title([e.event for e in world.memory.events])
    outlook_side = {
        i.event.title: i.event.fingerprint(OUTLOOK_PROJECTION)
        for i in world.sync._block(world.outlook.pull(None, WINDOW)).items
    }
    assert memory_side == outlook_side
    assert set(memory_side) == {"Kick-off", "Offsite", "Standup", "Sync", "Holiday", "Review"}
    (review_copy,) = [e.event for e in world.memory.events if e.event.title == "Review"]
    assert [(a.email, a.response) for a in review_copy.attendees] == [
        ("bob@example.com", Response.ACCEPTED)
    ]
    (sync_copy,) = [e.event for e in world.memory.events if e.event.title == "Sync"]
    assert sync_copy.recurrence is not None
    assert [x.event.title for x in sync_copy.recurrence.exceptions] == ["Sync (edited)"]
    assert len(sync_copy.recurrence.cancelled) == 1
    (offsite,) = [
        e for e in graph.events(alice) if e["subject"] == "Offsite"
    ]  # all-day across DST: midnight to midnight, end exclusive
    assert offsite["isAllDay"] is True
    assert offsite["start"]["dateTime"].startswith("2027-03-27T00:00:00")
    assert offsite["end"]["dateTime"].startswith("2027-03-30T00:00:00")


def test_predicted_mail_equals_outlooks_mail(world: World) -> None:
    graph, alice = world.graph, world.alice
    kickoff = world.memory.add(meeting("Kick-off", 3, "carol@example.com", "dave@example.com"))
    moving = world.memory.add(meeting("Moving", 4, "carol@example.com"))
    doomed = world.memory.add(meeting("Doomed", 5, "erin@example.com", "frank@example.com"))
    standup = world.memory.add(
        attrs.evolve(series("Standup"), attendees=[Attendee("gina@example.com", "Gina")])
    )
    preview = world.sync.preview()
    world.run()
    assert sorted(as_notification(m) for m in graph.mail_log(alice)) == sorted(
        preview.notifications
    )
    assert len(preview.notifications) > 5
    graph.clear_mail_log()

    # attendee changes, a time change, a delete, a series-wide change and an exception change
    world.memory.edit(
        kickoff,
        attendees=[Attendee("carol@example.com", "Carol"), Attendee("hugo@example.com", "Hugo")],
    )
    moved_start = datetime(2027, 5, 4, 14, tzinfo=UTC)
    world.memory.edit(moving, start=moved_start, end=moved_start + timedelta(hours=1))
    world.memory.delete(doomed)
    current = world.memory.get(standup)
    assert current is not None
    recurrence = current.event.recurrence
    assert recurrence is not None
    (exception,) = recurrence.exceptions
    world.memory.edit(
        standup,
        location="Room 7",
        recurrence=Recurrence(
            recurrence.rule,
            exceptions={exception.original_start: attrs.evolve(exception.event, location="Hall")},
            cancelled=recurrence.cancelled,
        ),
    )
    preview = world.sync.preview()
    world.run()
    logged = sorted(as_notification(m) for m in graph.mail_log(alice))
    assert logged == sorted(preview.notifications)
    kinds = {n.kind for n in logged}
    assert kinds == {MailKind.INVITATION, MailKind.CANCELLATION, MailKind.UPDATE}
    assert writes(world.run()) == []


def test_an_event_calsync_cannot_hold_is_left_alone_not_deleted(world: World) -> None:
    """A series without a single occurrence (its range ends first) is reported, never deleted."""
    world.memory.add(meeting("Review", 10))
    world.run()
    (item,) = world.graph.events(world.alice)
    world.graph.update_event(
        world.alice,
        item["id"],
        {
            "recurrence": {
                "pattern": {
                    "type": "relativeMonthly",
                    "interval": 1,
                    "daysOfWeek": ["monday"],
                    "index": "first",
                    "firstDayOfWeek": "monday",
                },
                # the first Monday after May 10 is June 7: nothing before the end
                "range": {"type": "endDate", "startDate": "2027-05-10", "endDate": "2027-05-31"},
            }
        },
    )
    world.graph.expire_delta_tokens(world.alice)  # a full round: the series is not listed
    report = world.sync.run()
    assert [(side, event_id) for side, event_id, _ in report.unreadable] == [
        ("outlook", item["id"])
    ]
    assert "unreadable on outlook" in str(report)
    assert [e.event.title for e in world.memory.events] == ["Review"], "nothing deleted"
    assert not writes(report)


@pytest.fixture
def attendee(tmp_path: Path) -> Iterator[World]:
    """Bob's pair: Bob's Outlook mailbox (Alice organises the meetings) and his Odoo side."""
    with GraphEmulator() as graph:
        graph.add_mailbox("alice@example.com", name="Alice")
        bob = graph.add_mailbox("bob@example.com", name="Bob")
        memory = MemoryCalendar("odoo", account="bob@example.com")
        outlook = make_adapter(graph, bob)
        store = SQLiteStore(tmp_path / "state.sqlite3")
        sync = Synchronizer(memory, outlook, store, pair="bob", window=WINDOW)
        try:
            yield World(graph, bob, memory, outlook, sync)
        finally:
            sync.close()
        assert graph.errors == []


def test_an_occurrence_the_organiser_cancels_is_a_cancelled_occurrence(attendee: World) -> None:
    """Bob's copy keeps it as an exception marked isCancelled ("Canceled: Standup"), as
    real Outlook.com mailboxes do: calsync cancels that occurrence, it copies no event."""
    graph = attendee.graph
    standup = attrs.evolve(series("Standup"), attendees=[Attendee("bob@example.com", "Bob")])
    master = graph.create_event("alice@example.com", user_body(standup))
    attendee.run()
    assert [e.event.title for e in attendee.memory.events] == ["Standup"]
    instances = graph.instances("alice@example.com", master["id"], WINDOW.start, WINDOW.end)
    graph.cancel_event("alice@example.com", instances[2]["id"])
    (bob_series,) = [e for e in graph.events(attendee.alice) if e["type"] == "seriesMaster"]
    cancelled = [
        e for e in graph.events(attendee.alice) if e["type"] == "exception" and e["isCancelled"]
    ]
    assert [e["subject"] for e in cancelled] == ["Canceled: Standup"]
    attendee.run()
    (after,) = attendee.memory.events
    assert after.event.recurrence is not None
    slot = datetime.fromisoformat(cancelled[0]["originalStart"].replace("Z", "+00:00"))
    assert slot in after.event.recurrence.cancelled
    assert "Canceled" not in str([x.event.title for x in after.event.recurrence.exceptions])
    assert writes(attendee.run()) == []
    graph.delete_event(attendee.alice, cancelled[0]["id"])  # Bob removes it from his calendar
    assert writes(attendee.run()) == []
    assert bob_series["id"] in {e["id"] for e in graph.events(attendee.alice)}


def test_a_meeting_the_organiser_cancels_is_gone_not_an_active_event(attendee: World) -> None:
    """Bob's copy of a cancelled meeting stays, marked isCancelled, until he deletes it:
    calsync reads it as the meeting's end, so his Odoo side drops it."""
    graph = attendee.graph
    review = graph.create_event(
        "alice@example.com", user_body(meeting("Review", 7, "bob@example.com"))
    )
    attendee.run()
    assert [e.event.title for e in attendee.memory.events] == ["Review"]
    graph.cancel_event("alice@example.com", review["id"])
    (copy,) = graph.events(attendee.alice)
    assert copy["isCancelled"] is True
    report = attendee.run()
    assert attendee.memory.events == []
    assert report.count("delete", "odoo") == 1
    assert writes(attendee.run()) == []
