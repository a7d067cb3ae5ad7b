"""The reset API over memory calendars: Odoo's eight wizard combinations, previewed and run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import pytest

import calsync
from calsync import ExistingEvents, NextSync, Synchronizer, Window
from calsync.adapters import Delete, MailKind, Notification, Write
from calsync.adapters.memory import MemoryCalendar
from calsync.model import Attendee, Event
from calsync.stores import Intent, MemoryStore

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def event(title: str, day: int, **changes: object) -> Event:
    start = datetime(2027, 2, day, 9, tzinfo=UTC)
    return attrs.evolve(Event(title, start, start + timedelta(hours=1)), **changes)


def cancellations(write: Write) -> tuple[Notification, ...]:
    if isinstance(write, Delete):
        return tuple(
            Notification(MailKind.CANCELLATION, a.email, write.current.event.title)
            for a in write.current.event.attendees
        )
    return ()


@attrs.define
class World:
    odoo: MemoryCalendar
    outlook: MemoryCalendar
    store: MemoryStore

    def sync(self) -> Synchronizer:
        return Synchronizer(
            self.odoo,
            self.outlook,
            self.store,
            pair="p",
            window=WINDOW,
            max_notifications=100,
            first_sync_max_notifications=100,
        )

    def titles(self) -> tuple[list[str], list[str]]:
        return (
            sorted(e.event.title for e in self.odoo.events),
            sorted(e.event.title for e in self.outlook.events),
        )


@pytest.fixture
def world() -> World:
    """Two synced events (one a meeting), one attended meeting, then one unsynced event per side."""
    odoo = MemoryCalendar("odoo")
    outlook = MemoryCalendar("outlook", notifications=cancellations)
    result = World(odoo, outlook, MemoryStore())
    odoo.add(event("Synced", 1))
    odoo.add(event("Meeting", 2, attendees=[Attendee("ann@example.com")]))
    outlook.add(event("Attended", 3, attendees=[Attendee("me@example.com")]), read_only=True)
    result.sync().run()
    odoo.add(event("Odoo only", 4))
    outlook.add(event("Outlook only", 5))
    return result


COMBINATIONS = [(existing, next_sync) for existing in ExistingEvents for next_sync in NextSync]


@pytest.mark.parametrize(("existing", "next_sync"), COMBINATIONS)
def test_every_combination(world: World, existing: ExistingEvents, next_sync: NextSync) -> None:
    sync = world.sync()
    preview = calsync.reset(sync, existing=existing, next_sync=next_sync, preview=True)
    assert isinstance(preview, calsync.Plan)
    assert world.titles() == (
        ["Attended", "Meeting", "Odoo only", "Synced"],
        ["Attended", "Meeting", "Outlook only", "Synced"],
    ), "a preview writes nothing"
    report = calsync.reset(sync, existing=existing, next_sync=next_sync)
    assert isinstance(report, calsync.SyncReport)
    assert [str(o.operation) for o in report.outcomes] == [str(op) for op in preview.operations]
    assert report.ok

    synced = {"Synced", "Meeting"}
    kept_odoo = {"Attended", "Odoo only"} | (set() if 0 in existing.positions else synced)
    kept_outlook = {"Attended", "Outlook only"} | (set() if 1 in existing.positions else synced)
    assert set(world.titles()[0]) == kept_odoo
    assert set(world.titles()[1]) == kept_outlook, "meetings only attended are never deleted"

    state = world.store.load("p")
    assert state.cursors.get("odoo") is None
    assert state.pending == ()

    after = sync.run()
    if next_sync is NextSync.NEW_ONLY:
        assert not [o for o in after.outcomes if o.operation.write], "existing events stay out"
        assert set(world.titles()[0]) == kept_odoo
        world.odoo.add(event("Brand new", 9))
        sync.run()
        assert "Brand new" in world.titles()[1]
    else:
        everything = kept_odoo | kept_outlook
        assert set(world.titles()[0]) == everything
        assert set(world.titles()[1]) == everything
        assert all(len(titles) == len(set(titles)) for titles in world.titles()), "no duplicate"
    assert not sync.run().outcomes, "a second sync after the reset does nothing"


def test_the_preview_lists_the_cancellations_outlook_will_send(world: World) -> None:
    plan = world.sync().preview_reset(ExistingEvents.DELETE_FROM_MICROSOFT, NextSync.ALL)
    assert [(n.kind, n.recipient, n.title) for n in plan.notifications] == [
        (MailKind.CANCELLATION, "ann@example.com", "Meeting")
    ]
    assert plan.deletions == {"odoo": 0, "outlook": 2}


def test_reset_clears_links_cursors_and_journal_and_nothing_else(world: World) -> None:
    world.store.record_intents("p", [Intent("stale", "outlook", "create", "Lost")])
    world.store.commit("other", links={}, cursors={"odoo": "42"}, done=(), held=())
    world.sync().reset()
    state = world.store.load("p")
    assert state.pending == ()
    assert all(link.left is None or link.right is None for link in state.links)
    assert world.store.load("other").cursors == {"odoo": "42"}


def test_a_failed_delete_keeps_the_event_out_of_later_syncs(world: World) -> None:
    world.outlook.fail_write(calsync.TransientError("down"), nth=1)
    report = world.sync().reset(ExistingEvents.DELETE_FROM_MICROSOFT, NextSync.NEW_ONLY)
    assert len(report.failures) == 1
    assert not [o for o in world.sync().run().outcomes if o.operation.write]


def invitations(write: Write) -> tuple[Notification, ...]:
    from calsync.adapters import Create

    if isinstance(write, Create):
        return tuple(
            Notification(MailKind.INVITATION, a.email, write.event.title)
            for a in write.event.attendees
        )
    return cancellations(write)


def test_the_sync_after_a_reset_of_everything_is_a_first_sync_again() -> None:
    """Deleted from Microsoft, then all existing events: the guard holds the re-invitations.

    ``max_notifications``, a cap on every run, is no consent to them (docs/howto/reset.md).
    """
    odoo, outlook = MemoryCalendar("odoo"), MemoryCalendar("outlook", notifications=invitations)
    odoo.add(event("Meeting", 2, attendees=[Attendee("ann@example.com")]))
    store = MemoryStore()
    sync = Synchronizer(odoo, outlook, store, pair="p", window=WINDOW, max_notifications=5)
    sync.run(allow_notifications=1)
    sync.reset(ExistingEvents.DELETE_FROM_MICROSOFT, NextSync.ALL)
    with pytest.raises(calsync.NotificationLimitError, match="on a first sync"):
        sync.run()
    assert len(outlook) == 0
    assert len(sync.run(allow_notifications=1).notifications) == 1
