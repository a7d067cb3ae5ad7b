"""The Synchronizer over memory calendars: guards, preview, held events, reports, progress."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from calsync import (
    ConfigurationError,
    MassDeletionError,
    NotificationLimitError,
    PairLockedError,
    Progress,
    RejectedError,
    SideUnavailableError,
    Synchronizer,
    Window,
)
from calsync.adapters import Create, Listing, MailKind, Notification, Write
from calsync.adapters.memory import MemoryCalendar
from calsync.model import Attendee, Event
from calsync.stores import MemoryStore, SQLiteStore

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def event(title: str = "Standup", day: int = 4, **changes: object) -> Event:
    start = datetime(2027, 1, day, 9, tzinfo=UTC)
    return attrs.evolve(Event(title, start, start + timedelta(minutes=30)), **changes)


def invitations(write: Write) -> tuple[Notification, ...]:
    if isinstance(write, Create):
        return tuple(
            Notification(MailKind.INVITATION, a.email, write.event.title)
            for a in write.event.attendees
        )
    return ()


@attrs.define
class Pair:
    odoo: MemoryCalendar
    outlook: MemoryCalendar
    store: MemoryStore

    def sync(self, **options: object) -> Synchronizer:
        return Synchronizer(self.odoo, self.outlook, self.store, pair="p", window=WINDOW, **options)  # type: ignore[arg-type]


@pytest.fixture
def pair() -> Pair:
    return Pair(
        MemoryCalendar("odoo"),
        MemoryCalendar("outlook", notifications=invitations),
        MemoryStore(),
    )


def test_preview_writes_nothing_and_run_does_what_it_showed(pair: Pair) -> None:
    pair.odoo.add(event("A"))
    pair.outlook.add(event("B", day=5))
    sync = pair.sync()
    preview = sync.preview()
    assert [str(op) for op in preview.operations] == [
        "create on outlook: 'A' (new on odoo)",
        "create on odoo: 'B' (new on outlook)",
    ]
    assert (len(pair.odoo), len(pair.outlook)) == (1, 1)
    report = sync.run()
    assert [str(o.operation) for o in report.outcomes] == [str(op) for op in preview.operations]
    assert (len(pair.odoo), len(pair.outlook)) == (2, 2)
    assert report.ok
    assert report.count("create", "odoo") == 1
    assert not sync.run().outcomes


def test_the_first_sync_refuses_to_send_invitations_by_default(pair: Pair) -> None:
    pair.odoo.add(
        event("Meeting", attendees=[Attendee("ann@example.com"), Attendee("bob@example.com")])
    )
    with pytest.raises(
        NotificationLimitError, match="2 times, more than the 0 allowed on a first sync"
    ) as caught:
        pair.sync().run()
    assert caught.value.count == 2
    assert len(pair.outlook) == 0
    assert [n.recipient for n in pair.sync().preview().notifications] == [
        "ann@example.com",
        "bob@example.com",
    ]
    with pytest.raises(NotificationLimitError, match="more than the 1 you allowed"):
        pair.sync().run(allow_notifications=1)
    report = pair.sync().run(allow_notifications=2)
    assert len(report.notifications) == 2
    assert len(pair.outlook) == 1


@pytest.mark.parametrize("cap", [20, None], ids=["a-cap-of-20", "no-cap"])
def test_max_notifications_never_lifts_the_first_sync_guard(pair: Pair, cap: int | None) -> None:
    """A service's cap on every run is no consent to a first sync's invitations."""
    pair.odoo.add(event("Meeting", attendees=[Attendee("ann@example.com")]))
    sync = pair.sync(max_notifications=cap)
    with pytest.raises(NotificationLimitError, match="allowed on a first sync") as caught:
        sync.run()
    assert "run(allow_notifications=1)" in str(caught.value)
    assert len(pair.outlook) == 0, "nothing was written, no one was e-mailed"
    assert (
        len(pair.sync(max_notifications=cap, first_sync_max_notifications=1).run().notifications)
        == 1
    )


def test_a_waived_first_sync_guard_leaves_max_notifications_in_charge(pair: Pair) -> None:
    pair.odoo.add(event("Meeting", attendees=[Attendee("ann@example.com")]))
    with pytest.raises(NotificationLimitError, match="more than the 0 allowed;"):
        pair.sync(first_sync_max_notifications=None, max_notifications=0).run()
    assert pair.sync(first_sync_max_notifications=None).run().notifications


@pytest.mark.parametrize("given", [-1, 1.5, "2", True])
def test_allow_notifications_is_a_count(pair: Pair, given: object) -> None:
    with pytest.raises((ConfigurationError, TypeError), match="allow_notifications"):
        pair.sync().run(allow_notifications=given)  # type: ignore[arg-type]


def test_later_runs_follow_max_notifications(pair: Pair) -> None:
    pair.odoo.add(event("Solo"))
    pair.sync().run()
    pair.odoo.add(event("Meeting", day=6, attendees=[Attendee("ann@example.com")]))
    assert pair.sync().run().notifications
    pair.odoo.add(event("Another", day=7, attendees=[Attendee("bob@example.com")]))
    with pytest.raises(NotificationLimitError):
        pair.sync(max_notifications=0).run()


def test_mass_deletion_stops_before_any_write(pair: Pair) -> None:
    ids = [pair.odoo.add(event(f"E{day}", day=day)) for day in range(1, 21)]
    pair.sync().run()
    for event_id in ids[:12]:
        pair.odoo.delete(event_id)
    with pytest.raises(MassDeletionError, match="deletes 12 events on outlook") as caught:
        pair.sync().run()
    assert caught.value.count == 12
    assert len(pair.outlook) == 20
    pair.sync(allow_mass_deletion=True).run()
    assert len(pair.outlook) == 8


def test_an_empty_cut_short_listing_deletes_nothing(pair: Pair) -> None:
    for day in range(1, 4):
        pair.odoo.add(event(f"E{day}", day=day))
    pair.sync().run()
    pair.store.clear("p", cursors=True)  # the next pull is a full listing...
    pair.odoo.cut_next_listing(0)  # ...that comes back empty
    report = pair.sync().run()
    assert report.unknown == ("odoo",)
    assert len(pair.outlook) == 3


def test_a_failed_listing_writes_nothing(pair: Pair) -> None:
    pair.outlook.add(event())
    pair.odoo.fail_next_pull()
    with pytest.raises(SideUnavailableError, match="nothing was written"):
        pair.sync().run()
    assert len(pair.odoo) == 0


def test_a_rejected_event_is_held_reported_and_retried(pair: Pair) -> None:
    pair.outlook.add(event("Good"))
    bad = pair.outlook.add(event("Bad", day=6))
    pair.odoo.fail_write(
        RejectedError("ValidationError: bad dates", code="odoo.exceptions.ValidationError"), nth=2
    )
    report = pair.sync().run()
    assert [h.title for h in report.held] == ["Bad"]
    assert "ValidationError: bad dates" in str(report)
    assert len(pair.odoo) == 1
    again = pair.sync().run()
    assert again.ok
    assert not again.held
    assert {e.event.title for e in pair.odoo.events} == {"Good", "Bad"}
    assert bad


def test_a_held_event_stays_in_the_report_until_it_syncs(pair: Pair) -> None:
    pair.outlook.add(event("Bad"))
    for attempt in range(1, 4):
        pair.odoo.fail_write(RejectedError("refused"), nth=1)
        (held,) = pair.sync().run().held
        assert held.attempts == attempt
    assert pair.sync().run().ok


def test_the_pair_lock_stops_a_concurrent_run(pair: Pair) -> None:
    with pair.store.lock("p"), pytest.raises(PairLockedError):
        pair.sync().run()


def test_progress_and_logging(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    pair.odoo.add(event("A"))
    seen: list[Progress] = []
    with caplog.at_level(logging.INFO, logger="calsync"):
        pair.sync(progress=seen.append).run()
    assert [p.stage for p in seen] == [
        "pull",
        "pull",
        "plan",
        "plan",
        "apply",
        "apply",
        "commit",
        "commit",
    ]
    (record,) = [r for r in caplog.records if "create on outlook" in r.getMessage()]
    assert record.calsync_pair == "p"  # type: ignore[attr-defined]
    assert record.calsync_side == "outlook"  # type: ignore[attr-defined]


def test_the_report_reads_well(pair: Pair) -> None:
    pair.odoo.add(event("A"))
    text = str(pair.sync().run())
    assert text.startswith("calsync p: 1 write, ok in ")
    assert "outlook: 1 create" in text
    assert "odoo: no changes" in text


def test_run_inside_an_event_loop_asks_for_run_async(pair: Pair) -> None:
    sync = pair.sync()

    async def inside() -> None:
        with pytest.raises(ConfigurationError, match="run_async"):
            sync.run()
        await sync.run_async()

    asyncio.run(inside())


def test_sides_need_distinct_names() -> None:
    with pytest.raises(ConfigurationError, match="distinct"):
        Synchronizer(MemoryCalendar("x"), MemoryCalendar("x"), MemoryStore())


def test_a_new_window_relists_without_duplicating(pair: Pair) -> None:
    pair.odoo.add(event("A"))
    pair.sync().run()
    moved = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2028, 2, 1, tzinfo=UTC))
    report = Synchronizer(pair.odoo, pair.outlook, pair.store, pair="p", window=moved).run()
    assert not report.outcomes
    assert report.requests == {"odoo": 1, "outlook": 1}
    assert (len(pair.odoo), len(pair.outlook)) == (1, 1)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


def test_state_survives_a_restart_with_sqlite(sqlite_path: Path) -> None:
    odoo, outlook = MemoryCalendar("odoo"), MemoryCalendar("outlook")
    first = SQLiteStore(sqlite_path)
    odoo.add(event("A"))
    Synchronizer(odoo, outlook, first, pair="p", window=WINDOW).run()
    first.close()
    second = SQLiteStore(sqlite_path)
    (item,) = outlook.events
    outlook.edit(item.id, title="A renamed")
    report = Synchronizer(odoo, outlook, second, pair="p", window=WINDOW).run()
    assert [str(o.operation) for o in report.outcomes] == [
        "update on odoo: 'A renamed' (changed on outlook)"
    ]
    second.close()


def test_refused_credentials_come_through_as_they_are(pair: Pair) -> None:
    from calsync import ReauthorizationRequiredError

    pair.outlook.fail_next_pull(ReauthorizationRequiredError("sign in again", account="ann"))
    with pytest.raises(ReauthorizationRequiredError, match="sign in again") as caught:
        pair.sync().run()
    assert caught.value.side == "outlook"
    assert caught.value.pair == "p"


def test_a_failed_listing_names_its_side(pair: Pair) -> None:
    pair.odoo.fail_next_pull()
    with pytest.raises(SideUnavailableError, match="odoo could not be listed") as caught:
        pair.sync().run()
    assert caught.value.side == "odoo"


class SlowCalendar(MemoryCalendar):
    """A side whose listing takes a while; it records how its pull ended."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ended = ""

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            self.ended = "cancelled"
            raise
        self.ended = "listed"
        return await super().pull(cursor, window)


def test_a_failed_listing_leaves_nothing_running(pair: Pair) -> None:
    """The run ends when one side cannot be listed: nothing of it runs on behind the caller."""
    slow = SlowCalendar("outlook")
    pair.odoo.fail_next_pull()
    sync = Synchronizer(pair.odoo, slow, pair.store, pair="p", window=WINDOW)

    async def run_and_look() -> list[asyncio.Task[object]]:
        with pytest.raises(SideUnavailableError):
            await sync.run_async()
        current = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not current and not t.done()]

    assert asyncio.run(run_and_look()) == []
    assert slow.ended in ("cancelled", "listed")
