"""OdooCalendar against the Odoo emulator: pulls, series, writes, faults, secrets, RPC counts.

Real odoorpc (``/jsonrpc``, Odoo 18.0) and real httpx (JSON-2, Odoo 19.0) talk
HTTP to the emulator on 127.0.0.1. Bob, an ordinary internal user, owns the
calendar; ``Hands`` plays him (or admin) in Odoo's web client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Coroutine, Iterator
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, TypeVar

import attrs
import pytest

from calsync import (
    AccessDeniedError,
    AuthenticationError,
    NotFoundError,
    RejectedError,
    TransientError,
)
from calsync.adapters import Create, Delete, Listing, RemoteEvent, Update
from calsync.adapters.odoo import ODOO_PROJECTION as ODOO
from calsync.adapters.odoo import AutoTransport, OdooCalendar
from calsync.adapters.odoo._cursor import SETTLE, Cursor
from calsync.model import (
    Attendee,
    Event,
    Person,
    Recurrence,
    RecurrenceRule,
    Response,
    Window,
)
from calsync.testing import OdooEmulator
from calsync.testing._server import Response as HttpResponse
from tests.adapters.odoo_support import (
    API_KEY,
    BRUSSELS,
    PASSWORD,
    QUIET,
    WINDOW,
    Hands,
    adapter,
    emulator,
    weekly,
)

T = TypeVar("T")
UTC = timezone.utc


class Clock:
    """A settable naive-UTC clock for the emulator (write_date, transaction times)."""

    def __init__(self, now: str = "2026-11-23 10:00:00.250000") -> None:
        self.now = datetime.fromisoformat(now)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@attrs.define
class Setup:
    odoo: OdooEmulator
    hands: Hands
    calendar: OdooCalendar
    loop: asyncio.AbstractEventLoop
    #: the other adapters a test made, closed with the setup
    others: list[OdooCalendar] = attrs.Factory(list)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def pull(self, cursor: str | None = None) -> Listing:
        return self.run(self.calendar.pull(cursor, WINDOW))

    def fetch(self, *ids: str) -> dict[str, RemoteEvent | None]:
        return dict(self.run(self.calendar.fetch(list(ids))))

    def apply(self, *writes: Any) -> list[Any]:
        return list(self.run(self.calendar.apply(list(writes))))

    def another(self, **options: Any) -> OdooCalendar:
        """A fresh adapter instance (a new process): no memory of earlier runs."""
        return self.keep(adapter(self.odoo, **options))

    def keep(self, calendar: OdooCalendar) -> OdooCalendar:
        """``calendar``, closed with the setup."""
        self.others.append(calendar)
        return calendar


def make(version: str = "18.0", clock: Clock | None = None, **options: Any) -> Iterator[Setup]:
    odoo = emulator(version, clock=clock) if clock else emulator(version)
    loop = asyncio.new_event_loop()
    setup = Setup(odoo, Hands(odoo), adapter(odoo, **options), loop)
    try:
        yield setup
    finally:
        for calendar in (setup.calendar, *setup.others):
            loop.run_until_complete(calendar.aclose())
        loop.close()
        odoo.stop()


@pytest.fixture
def bob() -> Iterator[Setup]:
    yield from make()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(clock: Clock) -> Iterator[Setup]:
    yield from make(clock=clock)


@pytest.fixture(params=["18.0", "19.0"], ids=["jsonrpc", "json2"])
def either(request: pytest.FixtureRequest) -> Iterator[Setup]:
    yield from make(request.param)


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def meeting(title: str = "Review", day: int = 10, **changes: Any) -> Event:
    return attrs.evolve(Event(title, at(day), at(day, 10)), **changes)


def series_event(
    count: int = 4, exceptions: Any = None, cancelled: Any = (), title: str = "Standup"
) -> Event:
    start = at(15, 8)
    rule = RecurrenceRule("WEEKLY", count=count, by_day=["MO"])
    return Event(
        title,
        start,
        start + timedelta(minutes=15),
        timezone=BRUSSELS,
        recurrence=Recurrence(rule, exceptions=exceptions or {}, cancelled=cancelled),
    )


def only(listing: Listing, *, archived: bool = True) -> RemoteEvent:
    """The one item of a listing (``archived=False``: the one live item)."""
    items = [i for i in listing.items if archived or not i.archived]
    assert len(items) == 1, listing.items
    return items[0]


def calls(setup: Setup, before: int) -> int:
    return setup.calendar.requests - before


# -- incremental pulls -------------------------------------------------------------------------


def aged(cursor: str | None) -> str:
    """The cursor as a poll made ``SETTLE`` seconds later finds it (calsync's clock moved on)."""
    state = Cursor.parse(cursor)
    assert state is not None
    state.open = {second: at - SETTLE for second, at in state.open.items()}
    return state.dump()


def test_a_no_op_incremental_pull_makes_three_calls(either: Setup) -> None:
    either.hands.create(meeting())
    either.hands.call("calendar.event", "create", weekly(), context=QUIET)
    full = either.pull()
    assert full.full
    assert len(full.items) == 2
    before = either.calendar.requests
    soon = either.pull(full.cursor)
    # within seconds of the newest write it read, calsync reads that event once more:
    # a second write in the same second would look unchanged (odoo.md 5.17)
    assert calls(either, before) == 4
    assert not soon.items
    settled = either.pull(aged(soon.cursor))  # a last time once that second is over
    before, server = either.calendar.requests, either.odoo.call_count()
    quiet = either.pull(settled.cursor)
    assert calls(either, before) == 3
    assert either.odoo.call_count() - server == 3  # the server agrees
    assert not quiet.items
    assert quiet.present == {item.id for item in full.items}
    print(f"\nRPC: no-op incremental pull = {calls(either, before)} calls")


def test_rows_written_again_in_a_second_calsync_read_in_are_all_seen(
    clock: Clock, clocked: Setup
) -> None:
    """Odoo stamps both writes with the second calsync read in: only the last such row
    sorts last, but every row written again after the read is read again (odoo.md 5.17)."""
    ids = [clocked.hands.create(meeting(title, day=day)) for title, day in (("A", 10), ("B", 11))]
    full = clocked.pull()
    clocked.hands.write(ids[0], {"name": "A2"})
    clocked.hands.write(ids[1], {"name": "B2"})
    changes = clocked.pull(full.cursor)
    assert sorted(item.event.title for item in changes.items) == ["A2", "B2"]
    clock.advance(seconds=1)
    assert not clocked.pull(aged(changes.cursor)).items


def test_overlap_rereads_late_commits_and_dedupes_the_rest(clock: Clock, clocked: Setup) -> None:
    early = clocked.hands.create(meeting("Early"))
    clock.advance(minutes=5)
    clocked.hands.create(meeting("Latest", day=11))
    full = clocked.pull()
    # a transaction that started at 10:01 commits after the pull: write_date is its start
    clock.now = datetime.fromisoformat("2026-11-23 10:01:00")
    late = clocked.hands.create(meeting("Late commit", day=12))
    clock.now = datetime.fromisoformat("2026-11-23 10:06:00")
    changes = clocked.pull(full.cursor)
    assert [item.event.title for item in changes.items] == ["Late commit"]
    assert str(late) in changes.present
    again = clocked.pull(changes.cursor)
    assert not again.items  # the overlap returns all three rows again: de-duplicated
    assert str(early) in again.present
    # without an overlap the late commit is lost
    blind = clocked.another(overlap=timedelta(0))
    cursor = clocked.run(blind.pull(None, WINDOW)).cursor
    clock.now = datetime.fromisoformat("2026-11-23 10:02:00")
    clocked.hands.create(meeting("Lost", day=13))
    clock.now = datetime.fromisoformat("2026-11-23 10:07:00")
    assert not clocked.run(blind.pull(cursor, WINDOW)).items


def test_two_changes_in_one_second_are_both_seen(clock: Clock, clocked: Setup) -> None:
    event_id = clocked.hands.create(meeting())
    first = clocked.pull()
    clocked.hands.write(event_id, {"location": "Lab"})
    seen = clocked.pull(first.cursor)
    assert only(seen).event.location == "Lab"
    clocked.hands.write(event_id, {"location": "Lab 2"})  # the same second: same write_date
    [row] = clocked.hands.read([event_id], "write_date")
    assert row["write_date"] == "2026-11-23 10:00:00"
    again = clocked.pull(seen.cursor)
    assert only(again).event.location == "Lab 2"
    assert only(again).version != only(seen).version


def test_a_second_write_in_a_second_already_read_is_seen_behind_a_later_change(
    clock: Clock, clocked: Setup
) -> None:
    first = clocked.hands.create(meeting("First"))
    clock.advance(microseconds=100)
    second = clocked.hands.create(meeting("Second", day=11))
    full = clocked.pull()
    clock.advance(microseconds=100)  # the same second, after the pull: First now sorts last
    clocked.hands.write(first, {"location": "Lab"})
    clock.advance(seconds=5)
    clocked.hands.write(second, {"location": "Hall"})  # a later second: listed as new
    changes = clocked.pull(full.cursor)
    assert {item.event.title: item.event.location for item in changes.items} == {
        "First": "Lab",
        "Second": "Hall",
    }


def bulk(setup: Setup, count: int) -> list[int]:
    """``count`` events made in one call (one transaction: one write_date), as a first sync does."""
    values = [setup.hands.values(meeting(f"Bulk {n}", day=1 + n % 28)) for n in range(count)]
    return list(setup.hands.call("calendar.event", "create", values, context=QUIET))


def rows_read(setup: Setup, since: int) -> int:
    """Rows the adapter read in full (``calendar.event.read``) since request ``since``."""
    total = 0
    for request in setup.odoo.requests[since:]:
        body = json.loads(request.body or b"{}")
        args = body.get("params", {}).get("args", [])
        if len(args) > 4 and args[3:5] == ["calendar.event", "read"]:
            total += len(args[5][0])
    return total


def test_one_change_after_a_bulk_write_is_read_alone(clock: Clock, clocked: Setup) -> None:
    # every row written within the overlap used to be read again, in pages, at every poll
    calendar = clocked.another(page_size=50)
    ids = bulk(clocked, 200)
    full = clocked.run(calendar.pull(None, WINDOW))
    clock.advance(seconds=2)
    clocked.hands.write(ids[7], {"name": "Renamed"})
    before, requests = calendar.requests, len(clocked.odoo.requests)
    changes = clocked.run(calendar.pull(full.cursor, WINDOW))
    assert [item.event.title for item in changes.items] == ["Renamed"]
    assert calendar.requests - before == 4  # ids in the window, moved rows, one read, answers
    assert rows_read(clocked, requests) == 2  # the changed row, and the last one of its second
    clock.advance(hours=1)
    settled = clocked.run(calendar.pull(aged(changes.cursor), WINDOW))
    before, requests = calendar.requests, len(clocked.odoo.requests)
    quiet = clocked.run(calendar.pull(settled.cursor, WINDOW))
    assert not quiet.items
    assert calendar.requests - before == 3  # the bulk is listed by id and write_date only
    assert rows_read(clocked, requests) == 0
    assert quiet.present == {str(i) for i in ids}


def domains_of(
    setup: Setup, since: int, call: tuple[str, str] = ("calendar.event", "search_read")
) -> list[list[Any]]:
    """The domain of each ``call`` (``model``, ``method``; default: the event listing)
    since request ``since``."""
    domains = []
    for request in setup.odoo.requests[since:]:
        args = json.loads(request.body or b"{}").get("params", {}).get("args", [])
        if len(args) > 5 and tuple(args[3:5]) == call:
            domains.append(args[5][0])
    return domains


def listed_after(setup: Setup, since: int) -> list[str]:
    """The ``write_date`` bound of each ``calendar.event`` listing since request ``since``."""
    return [
        term[2]
        for domain in domains_of(setup, since)
        for term in domain
        if term[:2] == ["write_date", ">"]
    ]


def test_within_the_overlap_odoo_lists_only_the_rows_calsync_has_not_seen_as_they_are(
    clock: Clock, clocked: Setup
) -> None:
    ids = bulk(clocked, 200)  # one transaction: one second
    full = clocked.pull()
    clock.advance(seconds=30)  # still inside the overlap
    # the first poll after calsync read in a second lists all of its rows once, to read
    # the last of them again now that the second is over (see last_seen_of)
    first = clocked.pull(aged(full.cursor))
    clocked.hands.write(ids[7], {"name": "Renamed"})
    clocked.hands.create(meeting("New", day=20))
    requests = len(clocked.odoo.requests)
    changes = clocked.pull(first.cursor)
    assert sorted(item.event.title for item in changes.items) == ["New", "Renamed"]
    [domain] = domains_of(clocked, requests)
    matched = clocked.hands.call("calendar.event", "search", domain, context={"active_test": False})
    assert len(matched) == 2  # not the 198 rows calsync has read as they are
    assert ids[7] in matched


def guests_of(setup: Setup, ids: list[int]) -> list[int]:
    """The attendee row of ann@example.com in each of these events, in order."""
    rows = setup.hands.call(
        "calendar.attendee", "search_read", [("event_id", "in", ids)], ["event_id", "email"]
    )
    by_event = {row["event_id"][0]: row["id"] for row in rows if row["email"] == "ann@example.com"}
    return [by_event[event_id] for event_id in ids]


def test_within_the_overlap_odoo_polls_only_the_answers_calsync_has_not_read(
    clock: Clock, clocked: Setup
) -> None:
    guest = [Attendee("ann@example.com", "Ann")]
    values = [clocked.hands.values(meeting(f"Bulk {n}", day=1 + n % 28, attendees=guest))
              for n in range(100)]  # fmt: skip
    ids = list(clocked.hands.call("calendar.event", "create", values, context=QUIET))
    full = clocked.pull()
    clock.advance(seconds=30)  # still inside the overlap
    first = clocked.pull(aged(full.cursor))
    ann = guests_of(clocked, ids)
    clocked.hands.call("calendar.attendee", "write", [ann[7]], {"state": "accepted"})
    requests = len(clocked.odoo.requests)
    changes = clocked.pull(first.cursor)
    assert [item.event.title for item in changes.items] == ["Bulk 7"]
    [domain] = domains_of(clocked, requests, ("calendar.attendee", "read_group"))
    matched = clocked.hands.call("calendar.attendee", "search", domain)
    assert matched == [ann[7]]  # not the 199 attendee rows whose answer calsync has read
    assert not clocked.pull(changes.cursor).items


def test_an_answer_changed_twice_in_one_second_is_seen(clock: Clock, clocked: Setup) -> None:
    """Attendee rows keep one ``write_date`` a second: an answer read, then changed in the
    same second, still differs in state from what calsync read, and is polled again."""
    event_id = clocked.hands.create(meeting(attendees=[Attendee("ann@example.com", "Ann")]))
    full = clocked.pull()
    [ann] = guests_of(clocked, [event_id])
    clocked.hands.call("calendar.attendee", "write", [ann], {"state": "tentative"})
    tentative = clocked.pull(full.cursor)  # read in the second of that write
    assert [a.response for a in only(tentative).event.attendees] == [Response.TENTATIVE]
    clocked.hands.call("calendar.attendee", "write", [ann], {"state": "declined"})  # same second
    declined = clocked.pull(tentative.cursor)
    assert [a.response for a in only(declined).event.attendees] == [Response.DECLINED]
    assert not clocked.pull(declined.cursor).items


def test_a_bulk_write_leaves_the_listing_once_the_overlap_has_passed_it(
    clock: Clock, clocked: Setup
) -> None:
    # on a quiet calendar the newest write_date stays the bulk's; the time of the last
    # poll moves on, and the overlap reaches back from it
    ids = bulk(clocked, 200)
    bulk_stamp = f"{clock.now:%Y-%m-%d %H:%M:%S}"
    full = clocked.pull()
    clock.advance(minutes=6)
    first = clocked.pull(full.cursor)  # the full pull read at the bulk: it is in the overlap
    requests = len(clocked.odoo.requests)
    quiet = clocked.pull(first.cursor)
    assert not quiet.items
    assert quiet.present == {str(i) for i in ids}
    [low] = listed_after(clocked, requests)
    assert low > bulk_stamp  # six minutes after the bulk, minus the overlap
    state = Cursor.parse(quiet.cursor)
    assert state is not None
    assert state.since == bulk_stamp
    assert not state.seen  # the cursor no longer carries the bulk either
    clocked.hands.write(ids[3], {"name": "Renamed"})
    assert [item.event.title for item in clocked.pull(quiet.cursor).items] == ["Renamed"]


def test_a_server_clock_far_ahead_hides_no_change(bob: Setup) -> None:
    # a Date a day ahead (a proxy's clock, say) while Odoo stamps rows by the true time:
    # the overlap reaches back from the earlier of that clock and calsync's
    ahead = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)

    def skewed(_request: object, response: HttpResponse) -> HttpResponse:
        headers = tuple((k, v) for k, v in response.headers if k.lower() != "date")
        return attrs.evolve(response, headers=(*headers, ("Date", ahead)))

    bob.odoo._server.faults.add(rewrite=skewed, times=10_000)  # every answer
    bob.hands.create(meeting("First"))
    full = bob.pull()
    quiet = bob.pull(full.cursor)
    bob.hands.create(meeting("Later", day=12))
    assert [item.event.title for item in bob.pull(quiet.cursor).items] == ["Later"]
    state = Cursor.parse(quiet.cursor)
    assert state is not None
    assert state.read <= f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}"


NEXT_WINDOW = Window(WINDOW.start + timedelta(days=60), WINDOW.end + timedelta(days=60))


def test_a_window_refresh_reads_only_what_the_new_window_adds(clock: Clock, clocked: Setup) -> None:
    bob = clocked
    kept = bob.hands.create(meeting("Kept"))
    bob.hands.call("calendar.event", "create", weekly(), context=QUIET)
    later = WINDOW.end + timedelta(days=20)
    added = bob.hands.create(Event("Added", later, later + timedelta(hours=1)))
    bob.hands.create(Event("Beyond", later + timedelta(days=90), later + timedelta(days=91)))
    clock.advance(hours=1)
    newer = bob.hands.create(meeting("Newer", day=12))  # the others are behind the overlap now
    full = bob.pull()
    series = {item.id for item in full.items if item.event.recurrence is not None}
    assert {item.event.title for item in full.items} == {"Kept", "Newer", "Standup"}
    before = bob.calendar.requests
    moved = bob.run(bob.calendar.pull(full.cursor, NEXT_WINDOW))
    assert not moved.full
    assert [item.event.title for item in moved.items] == ["Added"]
    assert moved.present == {str(kept), str(newer), str(added), *series}  # the series keeps its id
    # the window's ids, moved rows, what the window adds, the newest event again, answers
    assert bob.calendar.requests - before == 5
    again = bob.run(bob.calendar.pull(moved.cursor, NEXT_WINDOW))
    assert not again.items


def test_an_answer_alone_is_seen_through_the_attendee_poll(bob: Setup) -> None:
    event_id = bob.hands.create(meeting(attendees=[Attendee("ann@example.com", "Ann")]))
    full = bob.pull()
    before = only(full)
    [attendee] = bob.hands.read([event_id], "attendee_ids")[0]["attendee_ids"]
    bob.hands.call("calendar.attendee", "write", [attendee], {"state": "accepted"})
    [row] = bob.hands.read([event_id], "write_date")
    changes = bob.pull(full.cursor)
    item = only(changes)
    assert [a.response for a in item.event.attendees] == [Response.ACCEPTED]
    assert item.version != before.version
    assert bob.hands.read([event_id], "write_date")[0] == row  # the event was not touched


def test_an_unlinked_event_shows_only_as_missing_from_present(bob: Setup) -> None:
    kept = bob.hands.create(meeting("Kept"))
    gone = bob.hands.create(meeting("Gone", day=11))
    full = bob.pull()
    bob.hands.call("calendar.event", "unlink", [gone], context=QUIET)
    changes = bob.pull(full.cursor)
    assert not changes.items
    assert changes.present == {str(kept)}
    assert bob.fetch(str(gone)) == {str(gone): None}


def test_archived_events_are_reported_archived(bob: Setup) -> None:
    event_id = bob.hands.create(meeting())
    full = bob.pull()
    bob.hands.write(event_id, {"active": False})
    item = only(bob.pull(full.cursor))
    assert item.archived
    assert bob.fetch(str(event_id))[str(event_id)].archived  # type: ignore[union-attr]
    assert only(bob.pull()).archived  # a full pull sees archives too


def test_events_are_the_users_and_in_the_window(bob: Setup) -> None:
    mine = bob.hands.create(meeting("Mine"))
    invited = Hands(bob.odoo, "admin")
    guest = invited.create(
        meeting("Invited", day=11, attendees=[Attendee("bob@example.com", "Bob")])
    )
    invited.create(meeting("Not mine", day=12))
    bob.hands.create(
        Event("Old", datetime(2020, 1, 1, 9, tzinfo=UTC), datetime(2020, 1, 1, 10, tzinfo=UTC))
    )
    listing = bob.pull()
    items = {item.event.title: item for item in listing.items}
    assert set(items) == {"Mine", "Invited"}
    assert not items["Mine"].read_only
    assert items["Invited"].read_only  # bob attends, admin organises
    assert items["Invited"].event.organizer is not None
    assert items["Invited"].event.organizer.email == "admin@example.com"
    assert {items["Mine"].id, items["Invited"].id} == {str(mine), str(guest)}


def test_full_pulls_are_paged(bob: Setup) -> None:
    for day in range(1, 26):
        bob.hands.create(meeting(f"M{day}", day=day))
    paged = bob.another(page_size=10)
    before = bob.odoo.call_count(model="calendar.event", method="search_read")
    listing = bob.run(paged.pull(None, WINDOW))
    assert len(listing.items) == 25
    # the mark, then three pages of the window
    assert bob.odoo.call_count(model="calendar.event", method="search_read") - before == 4
    bob.run(paged.aclose())


def test_private_events_read_by_someone_else_are_never_taken_for_data(bob: Setup) -> None:
    private = bob.hands.create(meeting("Secret board", privacy="private", location="Room 9"))
    as_admin = OdooCalendar(bob.odoo.url, bob.odoo.db, "admin", password="admin", user_login="bob")
    listing = bob.run(as_admin.pull(None, WINDOW))
    assert not listing.items  # masked: "Busy", no write_date
    assert bob.run(as_admin.fetch([str(private)])) == {}, "unknown: neither alive nor gone"
    bob.run(as_admin.aclose())
    assert only(bob.pull()).event.title == "Secret board"


def test_events_of_a_private_by_default_calendar_are_masked_too(bob: Setup) -> None:
    """Odoo 18 also masks an event without privacy whose organiser's calendar is private by
    default (``_check_private_event_conditions``); an ordinary user cannot even read that
    default (another user's ``calendar_default_privacy`` reads "public"): the row tells."""
    bob.odoo.add_user(
        "dora", "dora-pw", email="dora@example.com", calendar_default_privacy="private"
    )
    dora = Hands(bob.odoo, "dora")
    hidden = dora.create(meeting("Dora's board", location="Room 9"))
    as_admin = OdooCalendar(bob.odoo.url, bob.odoo.db, "admin", password="admin", user_login="dora")
    listing = bob.run(as_admin.pull(None, WINDOW))
    assert not listing.items
    assert bob.run(as_admin.fetch([str(hidden)])) == {}, "unknown: neither alive nor gone"
    (update,) = bob.run(
        as_admin.apply(
            [Update("k", meeting("Overwritten"), RemoteEvent(str(hidden), meeting("Busy"), "v"))]
        )
    )
    (delete,) = bob.run(
        as_admin.apply([Delete("k", RemoteEvent(str(hidden), meeting("Busy"), "v"))])
    )
    bob.run(as_admin.aclose())
    assert isinstance(update.error, AccessDeniedError)
    assert isinstance(delete.error, AccessDeniedError)
    (row,) = dora.read([hidden], "name", "location", "active")
    assert row == {"id": hidden, "name": "Dora's board", "location": "Room 9", "active": True}


def test_an_occurrence_the_user_left_in_a_private_calendar_is_cancelled_not_busy(
    bob: Setup,
) -> None:
    bob.odoo.add_user(
        "dora", "dora-pw", email="dora@example.com", calendar_default_privacy="private"
    )
    dora = Hands(bob.odoo, "dora")
    partners = [dora.partner("dora@example.com"), dora.partner("bob@example.com")]
    base = int(
        dora.call(
            "calendar.event",
            "create",
            weekly(count=4, partner_ids=[(6, 0, partners)]),
            context=QUIET,
        )
    )
    rows = dora.rows(dora.recurrence_of(base))
    dora.write(rows[1]["id"], {"partner_ids": [(6, 0, partners[:1])]})  # bob leaves one
    item = only(bob.pull())
    assert item.read_only
    recurrence = item.event.recurrence
    assert recurrence is not None
    assert [e.event.title for e in recurrence.exceptions] == []
    assert len(recurrence.cancelled) == 1
    (result,) = bob.apply(Update("k", attrs.evolve(item.event, title="Mine now"), item))
    assert result.ok  # read-only: only bob's answers are written, never the hidden row
    (hidden,) = bob.hands.read([rows[1]["id"]], "name")
    assert hidden["name"] == "Busy"


@pytest.mark.parametrize("version", ["17.0", "18.0", "19.0"])
def test_another_login_reads_the_users_calendar_as_the_user_would(version: str) -> None:
    """An administrator who attends dora's private series reads every occurrence; bob, who
    left one, may not: read for bob by the administrator, that occurrence is masked as
    Odoo masks it for bob (cancelled, not kept), exactly as bob's own read shows it."""
    odoo = emulator(version)
    default = "private" if version != "17.0" else "public"  # 17.0 has no default privacy
    odoo.add_user("dora", "dora-pw", email="dora@example.com", calendar_default_privacy=default)
    dora = Hands(odoo, "dora")
    people = [dora.partner(f"{who}@example.com") for who in ("dora", "bob", "admin")]
    privacy = {} if version != "17.0" else {"privacy": "private"}
    base = int(
        dora.call(
            "calendar.event",
            "create",
            weekly(count=4, partner_ids=[(6, 0, people)], **privacy),
            context=QUIET,
        )
    )
    rows = dora.rows(dora.recurrence_of(base))
    dora.write(rows[1]["id"], {"partner_ids": [(6, 0, [people[0], people[2]])]})  # bob leaves
    loop = asyncio.new_event_loop()
    own = adapter(odoo)
    as_admin = OdooCalendar(odoo.url, odoo.db, "admin", password="admin", user_login="bob")
    try:
        (mine,) = loop.run_until_complete(own.pull(None, WINDOW)).items
        (read_for_bob,) = loop.run_until_complete(as_admin.pull(None, WINDOW)).items
        recurrence = read_for_bob.event.recurrence
        assert recurrence is not None
        assert len(recurrence.cancelled) == 1
        assert read_for_bob.event == mine.event
        fetched = loop.run_until_complete(as_admin.fetch([read_for_bob.id]))
        assert fetched[read_for_bob.id].event == mine.event  # type: ignore[union-attr]
    finally:
        for calendar in (own, as_admin):
            loop.run_until_complete(calendar.aclose())
        loop.close()
        odoo.stop()


# -- series read from Odoo ---------------------------------------------------------------------


def created_series(setup: Setup, **fields: Any) -> tuple[int, list[dict[str, Any]]]:
    base = int(setup.hands.call("calendar.event", "create", weekly(**fields), context=QUIET))
    return base, setup.hands.rows(setup.hands.recurrence_of(base))


def test_a_series_is_one_event_with_its_rule(bob: Setup) -> None:
    base, rows = created_series(bob)
    assert len(rows) == 6
    item = only(bob.pull())
    assert item.id == str(base)
    assert item.event.timezone == BRUSSELS
    assert item.event.recurrence == Recurrence(RecurrenceRule("WEEKLY", count=6, by_day=["MO"]))
    assert item.event.start == at(15, 8)


def test_self_only_edits_become_exceptions_and_removals_cancellations(bob: Setup) -> None:
    base, rows = created_series(bob)
    full = bob.pull()
    bob.hands.write(
        rows[1]["id"],
        {
            "name": "Moved",
            "start": "2027-03-23 10:00:00",
            "stop": "2027-03-23 10:15:00",
            "recurrence_update": "self_only",
        },
    )
    bob.hands.write(rows[2]["id"], {"active": False})
    bob.hands.call("calendar.event", "unlink", [rows[3]["id"]], context=QUIET)
    item = only(bob.pull(full.cursor))
    assert item.id == str(base)
    recurrence = item.event.recurrence
    assert recurrence is not None
    assert [(x.original_start, x.event.title, x.event.start) for x in recurrence.exceptions] == [
        (at(22, 8), "Moved", datetime(2027, 3, 23, 10, tzinfo=UTC))
    ]
    assert recurrence.cancelled == {at(29, 7), at(5, 7, month=4)}


def test_future_events_split_the_series_in_two(bob: Setup) -> None:
    base, rows = created_series(bob)
    full = bob.pull()
    bob.hands.write(rows[3]["id"], {"name": "Standup v2", "recurrence_update": "future_events"})
    changes = bob.pull(full.cursor)
    items = {item.id: item for item in changes.items if not item.archived}
    old, new = items[str(base)], items[str(rows[3]["id"])]
    assert old.event.recurrence is not None
    assert old.event.recurrence.rule.until == date(2027, 4, 3)
    assert [o.original_start for o in old.event.occurrences()] == [
        at(15, 8),
        at(22, 8),
        at(29, 7),
    ]
    assert new.event.title == "Standup v2"
    assert new.event.start == at(5, 7, month=4)
    assert new.event.recurrence is not None
    assert new.event.recurrence.rule.count == 3
    assert changes.present >= {str(base), str(rows[3]["id"])}


def test_all_events_edits_keep_the_series_id(bob: Setup) -> None:
    base, rows = created_series(bob)
    full = bob.pull()
    bob.hands.write(base, {"location": "Lab", "recurrence_update": "all_events"})
    listing = bob.pull(full.cursor)
    in_place = only(listing)
    assert (in_place.id, in_place.event.location) == (str(base), "Lab")
    assert [r["id"] for r in bob.hands.rows(bob.hands.recurrence_of(base))] == [
        r["id"] for r in rows
    ]
    bob.hands.write(
        rows[1]["id"],
        {
            "start": "2027-03-22 09:00:00",
            "stop": "2027-03-22 09:15:00",
            "recurrence_update": "all_events",
        },
    )
    rebuilt = [i for i in bob.pull(listing.cursor).items if not i.archived]
    assert [i.id for i in rebuilt] == [str(base)]  # a new recurrence, the same series
    assert rebuilt[0].event.start == at(15, 9)
    assert rebuilt[0].event.recurrence is not None
    assert not rebuilt[0].event.recurrence.exceptions


def test_a_moved_first_occurrence_is_read_the_same_by_a_fresh_adapter(bob: Setup) -> None:
    base, _rows = created_series(bob, count=4)
    bob.hands.write(
        base,
        {
            "start": "2027-03-15 11:00:00",
            "stop": "2027-03-15 11:15:00",
            "recurrence_update": "self_only",
        },
    )
    item = only(bob.pull())
    fresh = bob.another()
    again = only(bob.run(fresh.pull(None, WINDOW)))
    bob.run(fresh.aclose())
    assert item.event == again.event
    assert item.event.start == at(15, 8)
    assert item.event.recurrence is not None
    assert [x.original_start for x in item.event.recurrence.exceptions] == [at(15, 8)]


# -- writes ------------------------------------------------------------------------------------


def test_a_created_series_with_exceptions_reads_back_the_same(either: Setup) -> None:
    moved = Event("Moved", at(23, 10), at(23, 10, 15))
    wanted = series_event(exceptions={at(22, 8): moved}, cancelled=[at(29, 7)])
    (result,) = either.apply(Create("s1", wanted))
    assert result.ok, result.error
    assert result.stored.event.fingerprint(either.calendar.projection) == wanted.fingerprint(
        either.calendar.projection
    )
    pulled = only(either.pull())
    assert (pulled.id, pulled.version, pulled.event) == (
        result.stored.id,
        result.stored.version,
        result.stored.event,
    )


def test_series_updates_rule_exception_and_cancellation(either: Setup) -> None:
    (created,) = either.apply(Create("s1", series_event()))
    stored = created.stored
    moved = Event("Moved", at(23, 10), at(23, 10, 15))
    steps = [
        series_event(exceptions={at(22, 8): moved}),
        series_event(exceptions={at(22, 8): moved}, cancelled=[at(5, 7, month=4)]),
        attrs.evolve(series_event(count=6), title="Standup (renamed)"),
        series_event(count=3),
    ]
    for wanted in steps:
        (result,) = either.apply(Update("s1", wanted, stored))
        assert result.ok, result.error
        assert result.stored.id == stored.id
        projection = either.calendar.projection
        assert result.stored.event.fingerprint(projection) == wanted.fingerprint(projection)
        stored = result.stored
    # Odoo rebuilt the series twice: the old rows are archived and detached
    assert only(either.pull(), archived=False).version == stored.version


def test_no_op_updates_write_nothing(bob: Setup) -> None:
    (created,) = bob.apply(Create("k", meeting(attendees=[Attendee("ann@example.com")])))
    bob.odoo.reset_counts()
    (result,) = bob.apply(
        Update("k", meeting(attendees=[Attendee("ann@example.com")]), created.stored)
    )
    assert result.ok
    assert bob.odoo.call_count(method="write") == 0
    assert result.stored.version == created.stored.version


def test_updates_write_only_the_changed_fields(bob: Setup) -> None:
    (created,) = bob.apply(Create("k", meeting(location="Room 1")))
    event_id = int(created.stored.id)
    bob.hands.write(event_id, {"description": "<p>edited in Odoo meanwhile</p>"})
    (result,) = bob.apply(Update("k", meeting(location="Room 2"), created.stored))
    assert result.ok
    [row] = bob.hands.read([event_id], "location", "description")
    assert (row["location"], row["description"]) == ("Room 2", "<p>edited in Odoo meanwhile</p>")


def test_an_organiser_without_an_odoo_user_stays_the_organiser(bob: Setup) -> None:
    """An invitation from someone Odoo has no user for is nobody's in Odoo, and reads back so.

    As Odoo's own Outlook module stores it: ``user_id`` empty, the organiser's
    partner among the partners (answer "accepted"). Bob's pull reads the
    organiser back, so the meeting is someone else's; an update keeps her.
    """
    olga = Person("olga@partner.example", "Olga")
    people = [Attendee("bob@example.com"), Attendee("eve@partner.example")]
    invitation = meeting("Partner review", organizer=olga, attendees=people)
    (created,) = bob.apply(Create("k", invitation))
    assert created.ok, created.error
    event_id = int(created.stored.id)

    def partners() -> dict[str, str]:
        [row] = bob.hands.read([event_id], "user_id", "partner_id", "attendee_ids")
        assert (row["user_id"], row["partner_id"]) == (False, False), "no Odoo user organises it"
        rows = bob.hands.call("calendar.attendee", "read", row["attendee_ids"], ["email", "state"])
        return {r["email"]: r["state"] for r in rows}

    assert partners() == {
        "bob@example.com": "needsAction",
        "eve@partner.example": "needsAction",
        "olga@partner.example": "accepted",
    }
    pulled = only(bob.pull())
    assert pulled.event.organizer == olga
    assert pulled.event.attendees == created.stored.event.attendees
    assert [a.email for a in pulled.event.attendees] == ["bob@example.com", "eve@partner.example"]
    assert not pulled.read_only, "it follows what its organiser changes"
    moved = attrs.evolve(invitation, start=at(10, 11), end=at(10, 12))
    (updated,) = bob.apply(Update("k", moved, created.stored))
    assert updated.ok, updated.error
    assert sorted(partners()) == ["bob@example.com", "eve@partner.example", "olga@partner.example"]
    assert updated.stored.event.organizer == olga
    (again,) = bob.apply(Update("k", moved, updated.stored))
    assert again.stored.version == updated.stored.version, "settled: nothing more to write"


def test_the_organiser_outside_odoo_is_told_apart_from_odoo_users_who_accepted(
    bob: Setup,
) -> None:
    """Ann, an Odoo user, accepted the same invitation: Olga is still its organiser."""
    bob.odoo.add_user("ann", "ann-pw", name="Ann", email="ann@example.com")
    olga = Person("olga@partner.example", "Olga")
    people = [Attendee("bob@example.com"), Attendee("ann@example.com", response="accepted")]
    (created,) = bob.apply(Create("k", meeting("Partner review", organizer=olga, attendees=people)))
    assert created.ok, created.error
    fresh = bob.another()
    pulled = bob.run(fresh.pull(None, WINDOW))
    bob.run(fresh.aclose())
    assert only(pulled).event.organizer == olga


def test_a_row_whose_organiser_cannot_be_told_is_read_only(bob: Setup) -> None:
    """No ``user_id`` and no accepted attendee besides Bob: nobody calsync knows organises it."""
    guest = bob.hands.partner("eve@partner.example")
    owner = bob.hands.partner("bob@example.com")
    values = {"name": "Imported", "start": "2027-03-10 09:00:00", "stop": "2027-03-10 10:00:00"}
    values |= {"user_id": False, "partner_ids": [(6, 0, [owner, guest])]}
    bob.hands.call("calendar.event", "create", values, context=QUIET)
    pulled = only(bob.pull())
    assert pulled.event.organizer is None
    assert pulled.read_only


def test_read_only_events_change_only_the_users_own_answer(bob: Setup) -> None:
    admin = Hands(bob.odoo, "admin")
    people = [Attendee("bob@example.com"), Attendee("ann@example.com")]
    event_id = admin.create(meeting("Admin's", attendees=people))
    current = only(bob.pull())
    assert current.read_only
    answered = meeting(
        "Renamed by calsync",
        attendees=[
            Attendee("bob@example.com", response="accepted"),
            Attendee("ann@example.com", response="declined"),
        ],
    )
    (result,) = bob.apply(Update("k", answered, current))
    assert result.ok, result.error
    [row] = admin.read([event_id], "name")
    assert row["name"] == "Admin's"
    answers = {a.email: a.response for a in result.stored.event.attendees}
    assert answers == {
        "bob@example.com": Response.ACCEPTED,
        "ann@example.com": Response.NEEDS_ACTION,
    }


def test_deletes_archive_by_default_or_unlink(either: Setup) -> None:
    (single, series) = either.apply(Create("a", meeting()), Create("b", series_event()))
    results = either.apply(Delete("a", single.stored), Delete("b", series.stored))
    assert all(r.ok for r in results)
    assert not either.hands.call("calendar.event", "search", [])  # all archived
    assert either.fetch(single.stored.id)[single.stored.id].archived  # type: ignore[union-attr]
    assert either.fetch(series.stored.id)[series.stored.id].archived  # type: ignore[union-attr]
    # a create with the same key brings the record back
    (again,) = either.apply(Create("a", meeting("Back")))
    assert (again.stored.id, again.stored.archived) == (single.stored.id, False)
    unlinking = either.another(on_delete="unlink")
    (other,) = either.run(unlinking.apply([Create("c", series_event())]))
    (gone,) = either.run(unlinking.apply([Delete("c", other.stored)]))
    assert gone.ok
    assert either.run(unlinking.fetch([other.stored.id])) == {other.stored.id: None}
    either.run(unlinking.aclose())


def test_update_of_an_unlinked_event_is_not_found_and_delete_succeeds(bob: Setup) -> None:
    (created,) = bob.apply(Create("k", meeting()))
    bob.hands.call("calendar.event", "unlink", [int(created.stored.id)], context=QUIET)
    update, delete = bob.apply(
        Update("k", meeting("x"), created.stored), Delete("k", created.stored)
    )
    assert isinstance(update.error, NotFoundError)
    assert delete.ok


def test_a_rejected_load_is_split_to_isolate_the_bad_rows(either: Setup) -> None:
    good = [
        Create(f"g{day}", attrs.evolve(series_event(count=2), title=f"Series {day}"))
        for day in range(5)
    ]
    bad = Create("bad", attrs.evolve(series_event(count=2), timezone="Factory", title="Factory"))
    singles = [Create(f"s{day}", meeting(f"Single {day}", day=day + 1)) for day in range(3)]
    either.odoo.reset_counts()
    results = either.apply(*good[:3], bad, *good[3:], *singles)
    assert [r.ok for r in results] == [True, True, True, False, True, True, True, True, True]
    error = results[3].error
    assert isinstance(error, RejectedError)
    assert "Factory" in error.message
    assert error.event == "bad"
    assert either.odoo.call_count(method="load") <= 1 + 2 * 3  # the singles, then the halves
    titles = {i.event.title for i in either.pull().items}
    assert titles == {f"Series {d}" for d in range(5)} | {f"Single {d}" for d in range(3)}


def test_unsupported_series_are_refused_before_writing(bob: Setup) -> None:
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)  # the first weekday of March
    yearly = Event(
        "First weekday of the month",
        start,
        start + timedelta(hours=1),
        recurrence=Recurrence(
            RecurrenceRule("MONTHLY", by_day=["MO", "TU", "WE", "TH", "FR"], by_set_pos=1)
        ),
    )
    bob.odoo.reset_counts()
    (result,) = bob.apply(Create("y", yearly))
    assert isinstance(result.error, RejectedError)
    assert result.error.code == "unsupported-recurrence"
    assert bob.odoo.call_count(method="load") == 0


def test_a_create_retried_after_a_crash_makes_one_record(either: Setup) -> None:
    (first,) = either.apply(Create("crash", meeting("Before the crash")))
    (first_series,) = either.apply(Create("crash-s", series_event()))
    # the process died before the links were committed: a new one retries the creates
    fresh = either.another()
    again, again_series = either.run(
        fresh.apply([Create("crash", meeting("After")), Create("crash-s", series_event())])
    )
    either.run(fresh.aclose())
    assert again.stored.id == first.stored.id
    assert again_series.stored.id == first_series.stored.id
    assert again_series.stored.event == first_series.stored.event
    assert len(either.hands.call("calendar.event", "search", [("name", "=", "After")])) == 1
    assert either.fetch(first.stored.id)[first.stored.id].key == "crash"  # type: ignore[union-attr]


def test_echoes_of_calsyncs_own_writes_are_not_changes(bob: Setup) -> None:
    full = bob.pull()
    (created,) = bob.apply(Create("k", meeting(attendees=[Attendee("ann@example.com")])))
    before = bob.calendar.requests
    echo = bob.pull(full.cursor)
    # remembered in this process, and read once more only as the newest row of its second
    assert calls(bob, before) == 4
    assert not echo.items
    assert created.stored.id in echo.present
    fresh = bob.another()
    cold = bob.run(fresh.pull(full.cursor, WINDOW))  # a new process reads it, same version
    bob.run(fresh.aclose())
    assert only(cold).version == created.stored.version


# -- transports and faults ---------------------------------------------------------------------


def test_auto_picks_json2_on_19_with_a_key_and_jsonrpc_otherwise() -> None:
    for version, key, expected in (
        ("19.0", True, "json2"),
        ("19.0", False, "jsonrpc"),
        ("18.0", True, "jsonrpc"),
    ):
        odoo = emulator(version)
        loop = asyncio.new_event_loop()
        secret = {"api_key": API_KEY} if key else {"password": PASSWORD}
        calendar = OdooCalendar(odoo.url, odoo.db, "bob", **secret)  # type: ignore[arg-type]
        loop.run_until_complete(calendar.pull(None, WINDOW))
        protocols = {call.protocol for call in odoo.calls if call.model}
        assert protocols == {expected}
        assert calendar.owner_email == "bob@example.com"
        assert calendar.account == "bob"
        loop.run_until_complete(calendar.aclose())
        loop.close()
        odoo.stop()


@pytest.mark.parametrize("transport", ["json2", "jsonrpc"])
def test_an_api_key_of_another_user_is_refused(transport: str) -> None:
    """JSON-2 takes the user from the key alone: Ann's key given for bob never syncs Ann's
    calendar under bob's pair (checked on a real Odoo 19.0: admin's key for bob is refused)."""
    odoo = emulator("19.0")
    loop = asyncio.new_event_loop()
    try:
        odoo.add_user("ann", "ann-pw", name="Ann", email="ann@example.com", api_key="a" * 40)
        calendar = OdooCalendar(odoo.url, odoo.db, "bob", api_key="a" * 40, transport=transport)  # type: ignore[arg-type]
        if transport == "json2":
            with pytest.raises(AuthenticationError, match="are those of 'ann'") as caught:
                loop.run_until_complete(calendar.pull(None, WINDOW))
            assert caught.value.code == "wrong_user"
        else:  # /jsonrpc checks login and key together
            with pytest.raises(AuthenticationError):
                loop.run_until_complete(calendar.pull(None, WINDOW))
        assert not [c for c in odoo.calls if c.model == "calendar.event"], "nothing was read"
        loop.run_until_complete(calendar.aclose())
    finally:
        loop.close()
        odoo.stop()


def test_a_restart_or_an_expired_session_means_one_new_login(bob: Setup) -> None:
    bob.hands.create(meeting())
    full = bob.pull()
    # the login, and the first call (a login fills no cache: odoo.md 5.1)
    assert (bob.calendar.calls["common.login"], bob.odoo.password_checks) == (1, 2)
    bob.odoo.restart()  # /jsonrpc carries the password: no new login, one new check
    assert not bob.pull(full.cursor).items
    assert (bob.calendar.calls["common.login"], bob.odoo.password_checks) == (1, 3)
    bob.odoo.fail("SessionExpiredException", "Session expired", model="calendar.event")
    assert not bob.pull(full.cursor).items  # the calls after it are checked already
    assert (bob.calendar.calls["common.login"], bob.odoo.password_checks) == (2, 4)


@pytest.mark.parametrize("version", ["18.0", "19.0"], ids=["jsonrpc", "json2"])
def test_a_kept_adapter_logs_in_once_across_runs_closes_and_event_loops(version: str) -> None:
    """Each run in a new event loop, the adapter closed after it (as ``asyncio.run`` and
    ``sync_many`` once did): one login for all, and the password hashes of the first run
    (the login's and, on /jsonrpc, the first call's)."""
    odoo = emulator(version)
    calendar = adapter(odoo)
    Hands(odoo).create(meeting())
    cursor = None
    for _ in range(3):
        loop = asyncio.new_event_loop()
        cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        loop.run_until_complete(calendar.aclose())
        loop.close()
    login = "common.login" if version == "18.0" else "res.users.context_get"
    assert calendar.calls[login] == 1
    assert odoo.password_checks == (2 if version == "18.0" else 1)
    odoo.stop()


def restarted(odoo: OdooEmulator, cursor: str | None) -> tuple[OdooCalendar, Listing]:
    """A new process (a new calendar and transport) pulling from the cursor kept in the
    store, on a server whose caches were cleared (each password check counts)."""
    odoo.restart()
    calendar = adapter(odoo)
    loop = asyncio.new_event_loop()
    try:
        listing = loop.run_until_complete(calendar.pull(cursor, WINDOW))
        loop.run_until_complete(calendar.aclose())
    finally:
        loop.close()
    return calendar, listing


def test_a_new_process_takes_the_uid_from_the_cursor_instead_of_logging_in() -> None:
    """A login costs Odoo a password hash, and the first call after it another (a login
    fills no cache: odoo.md 5.1). The uid kept in the cursor saves the login."""
    odoo = emulator("18.0")
    Hands(odoo).create(meeting())
    _calendar, first = restarted(odoo, None)
    checks = odoo.password_checks
    calendar, listing = restarted(odoo, first.cursor)
    assert not listing.items
    assert calendar.calls["common.login"] == 0
    assert odoo.password_checks - checks == 1  # the first call's, not a login's too
    odoo.stop()


@pytest.mark.parametrize("password", ["ann-pw", PASSWORD], ids=["refused", "same-password"])
def test_a_kept_uid_of_someone_else_means_a_login_and_the_right_user(password: str) -> None:
    """The cursor names another user's uid (a user made again, a pair given another
    login): Odoo refuses it with bob's password, or takes it when that user has the same
    one; either way calsync logs in, reads bob, and keeps his uid."""
    odoo = emulator("18.0")
    Hands(odoo).create(meeting())
    _calendar, first = restarted(odoo, None)
    assert first.cursor is not None
    kept = json.loads(first.cursor)
    other = odoo.add_user("ann", password, email="ann@example.com")
    stale = json.dumps({**kept, "uid": other})
    calendar, listing = restarted(odoo, stale)
    assert calendar.calls["common.login"] == 1
    assert calendar.account == "bob"
    assert not listing.items
    assert json.loads(str(listing.cursor))["uid"] == kept["uid"]
    odoo.stop()


def test_one_transport_serves_many_calendars_with_one_login(bob: Setup) -> None:
    """A service login reading three users' calendars: one transport, one login for all."""
    for name in ("ann", "cid"):
        bob.odoo.add_user(name, f"{name}-pw", email=f"{name}@example.com")
        Hands(bob.odoo, name).create(meeting(f"{name}'s"))
    service = AutoTransport(bob.odoo.url, bob.odoo.db, "admin", password="admin")
    calendars = [
        OdooCalendar(bob.odoo.url, bob.odoo.db, "admin", transport=service, user_login=user)
        for user in ("bob", "ann", "cid")
    ]
    before = bob.odoo.password_checks
    for _ in range(2):
        for calendar in calendars:
            bob.run(calendar.pull(None, WINDOW))
            bob.run(calendar.aclose())  # not its transport: the service's stays open
    assert [only(bob.run(c.pull(None, WINDOW))).event.title for c in calendars[1:]] == [
        "ann's",
        "cid's",
    ]
    assert service.calls["common.login"] == 1
    assert bob.odoo.password_checks - before == 2  # the login, and its first call
    bob.run(service.aclose())


@pytest.mark.parametrize("method", ["login", "read"])
def test_an_expired_session_while_logging_in_means_one_new_login(bob: Setup, method: str) -> None:
    """A front that answers the login itself (or the call right after it, reading the
    user) with an expired session: calsync logs in once more, as it does for any other
    call, and goes on."""
    bob.hands.create(meeting())
    bob.odoo.fail("SessionExpiredException", "Session expired", method=method)
    assert len(bob.pull().items) == 1
    assert bob.calendar.calls["common.login"] == 2


def test_server_down_is_transient_and_recovers(either: Setup) -> None:
    either.hands.create(meeting())
    full = either.pull()
    either.odoo.down()
    with pytest.raises(TransientError):
        either.pull(full.cursor)
    (result,) = either.apply(Create("k", meeting("During the outage")))
    assert isinstance(result.error, TransientError)
    either.odoo.up()
    assert not either.pull(full.cursor).items
    (result,) = either.apply(Create("k", meeting("After the outage")))
    assert result.ok


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        ("ValidationError", RejectedError),
        ("AccessError", AccessDeniedError),
        ("MissingError", NotFoundError),
    ],
)
def test_odoo_errors_on_a_write_are_results_with_odoos_name(
    either: Setup, exception: str, error: type[Exception]
) -> None:
    (created,) = either.apply(Create("k", meeting()))
    # an update goes in a load; a load Odoo refuses leaves the row to a write, whose error
    # names the event's fault (a load's refusal says it only in words)
    either.odoo.fail(exception, "Odoo refuses the load", model="calendar.event", method="load")
    either.odoo.fail(exception, "Odoo says no", model="calendar.event", method="write")
    (result,) = either.apply(Update("k", meeting("Changed"), created.stored))
    assert isinstance(result.error, error)
    assert result.error.code == f"odoo.exceptions.{exception}"
    assert result.error.message == "Odoo says no"


def test_wrong_credentials_are_an_authentication_error(either: Setup) -> None:
    wrong = OdooCalendar(
        either.odoo.url, either.odoo.db, "bob", password="nope", api_key="nope" * 10
    )
    with pytest.raises(AuthenticationError):
        either.run(wrong.pull(None, WINDOW))
    either.run(wrong.aclose())


def test_no_secret_reaches_logs_reprs_or_errors(
    either: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    either.hands.create(meeting())
    full = either.pull()
    either.apply(Create("k", meeting("Logged")))
    either.pull(full.cursor)
    wrong = OdooCalendar(
        either.odoo.url, either.odoo.db, "bob", password=PASSWORD + "x", api_key=API_KEY + "x"
    )
    with pytest.raises(AuthenticationError) as failure:
        either.run(wrong.pull(None, WINDOW))
    either.run(wrong.aclose())
    either.odoo.down()
    with pytest.raises(TransientError) as outage:
        either.pull(full.cursor)
    texts = [
        caplog.text,
        repr(either.calendar),
        repr(either.calendar.transport),
        str(failure.value),
        str(outage.value),
    ]
    assert "execute_kw" in caplog.text or "json/2" in caplog.text  # the clients did log
    for text in texts:
        assert PASSWORD not in text
        assert API_KEY not in text


# -- one refused event among many ------------------------------------------------------------


def refuse(
    odoo: OdooEmulator, model: str, method: str, record: int, error: str = "AccessError"
) -> None:
    """From now on Odoo refuses every ``model.method`` call that touches ``record``.

    A ``load`` touches the records its ``.id`` column names.
    """

    def touches(request: Any) -> bool:
        body = request.json()
        if "params" in body:  # execute_kw(db, uid, password, model, method, args, kwargs)
            args = body["params"]["args"][5]
            ids = args[0] if args else []
            if method == "load":
                ids = _load_ids(args[0], args[1])
        elif method == "load":
            ids = _load_ids(body["fields"], body["data"])
        else:
            ids = body.get("ids") or []
        return record in ([ids] if isinstance(ids, int) else ids)

    odoo.fail(
        error,
        f"Odoo refuses record {record}",
        model=model,
        method=method,
        times=None,
        match=touches,
    )


def _load_ids(fields: list[str], data: list[list[str]]) -> list[int]:
    if ".id" not in fields:
        return []
    column = fields.index(".id")
    return [int(row[column]) for row in data if row[column]]


def test_a_user_without_contact_creation_holds_only_the_event_with_a_new_address(
    either: Setup,
) -> None:
    """Real 18.0 answers such a user's res.partner.create with "You are not allowed to create
    'Contact'": the event that needs a new contact is held, the other two are synced."""
    odoo, key = either.odoo, "feed" * 10
    nora = odoo.add_user("nora", "nora-pw", email="nora@example.com", api_key=key)
    odoo.execute("admin", "res.users", "write", [nora], {"groups_id": [(3, 9)]})  # Contact Creation
    either.hands.partner("known@example.com")
    secret = {"api_key": key} if odoo.version >= "19" else {"password": "nora-pw"}
    calendar = OdooCalendar(odoo.url, odoo.db, "nora", **secret)  # type: ignore[arg-type]
    known = [Attendee("known@example.com")]
    writes = [
        Create("a", meeting("First", attendees=known)),
        Create("b", meeting("With a stranger", attendees=[Attendee("stranger@example.com")])),
        Create("c", meeting("Third", day=11)),
    ]
    results = either.run(calendar.apply(writes))
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, AccessDeniedError)
    assert "stranger@example.com" in results[1].error.message
    assert "Contact Creation" in results[1].error.message
    assert calendar.calls["res.partner.create"] == 1
    either.run(calendar.aclose())


def test_a_refused_alarm_holds_only_the_events_with_that_reminder(either: Setup) -> None:
    either.odoo.fail(
        "ValidationError",
        "no 21-minute reminders here",
        model="calendar.alarm",
        method="create",
        times=None,
        match=lambda request: b'"duration": 21' in request.body or b'"duration":21' in request.body,
    )
    results = either.apply(
        Create("a", meeting("Twenty", reminders=[20])),
        Create("b", meeting("Twenty-one", reminders=[21])),
        Create("c", meeting("Both", reminders=[20, 21])),
        Create("d", meeting("None")),
    )
    assert [r.ok for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, RejectedError)
    assert "21" in results[1].error.message


@pytest.mark.parametrize("on_delete", ["archive", "unlink"])
def test_a_refused_delete_holds_only_that_event(either: Setup, on_delete: str) -> None:
    created = either.apply(
        Create("a", meeting("A")),
        Create("b", meeting("B", day=11)),
        Create("s", series_event()),
        Create("t", series_event(title="Other")),
    )
    calendar = either.another(on_delete=on_delete)
    method = "write" if on_delete == "archive" else "unlink"
    refuse(either.odoo, "calendar.event", method, int(created[1].stored.id))
    if on_delete == "unlink":  # one of the second series' rows
        refuse(either.odoo, "calendar.event", "unlink", int(created[3].stored.id))
    results = either.run(calendar.apply([Delete(r.write.key, r.stored) for r in created]))
    either.run(calendar.aclose())
    assert [r.ok for r in results] == [True, False, True, on_delete == "archive"]
    assert isinstance(results[1].error, AccessDeniedError)
    left = either.hands.call("calendar.event", "search_read", [], ["name"])
    assert {row["name"] for row in left} >= {"B"}
    assert "A" not in {row["name"] for row in left}


def test_a_refused_update_holds_only_that_event(either: Setup) -> None:
    created = either.apply(Create("a", meeting("A")), Create("b", meeting("B", day=11)))
    for method in ("load", "write"):
        refuse(either.odoo, "calendar.event", method, int(created[0].stored.id), "ValidationError")
    results = either.apply(
        *(
            Update(
                r.write.key,
                meeting(f"{r.stored.event.title}!", day=r.stored.event.start.day),
                r.stored,
            )
            for r in created
        )
    )
    assert [r.ok for r in results] == [False, True]
    assert isinstance(results[0].error, RejectedError)


def test_a_refused_exception_edit_holds_only_that_series(either: Setup) -> None:
    created = either.apply(Create("s", series_event()), Create("t", series_event(title="Other")))
    moved = Event("Moved", at(23, 10), at(23, 10, 15))
    rows = either.hands.rows(either.hands.recurrence_of(int(created[0].stored.id)))
    for method in ("load", "write"):
        refuse(either.odoo, "calendar.event", method, int(rows[1]["id"]))
    results = either.apply(
        Update("s", series_event(exceptions={at(22, 8): moved}), created[0].stored),
        Update(
            "t",
            attrs.evolve(series_event(exceptions={at(22, 8): moved}), title="Other"),
            created[1].stored,
        ),
    )
    assert [r.ok for r in results] == [False, True]
    assert isinstance(results[0].error, AccessDeniedError)


def test_a_refused_answer_holds_only_that_event(bob: Setup) -> None:
    admin = Hands(bob.odoo, "admin")
    people = [Attendee("bob@example.com")]
    first = admin.create(meeting("One", attendees=people))
    admin.create(meeting("Two", day=11, attendees=people))
    items = sorted(bob.pull().items, key=lambda item: item.event.title)
    (attendee,) = admin.read([first], "attendee_ids")[0]["attendee_ids"]
    refuse(bob.odoo, "calendar.attendee", "write", attendee)
    accepted = [Attendee("bob@example.com", response="accepted")]
    results = bob.apply(
        *(
            Update(str(i), attrs.evolve(item.event, attendees=accepted), item)
            for i, item in enumerate(items)
        )
    )
    assert [r.ok for r in results] == [False, True]
    assert isinstance(results[0].error, AccessDeniedError)
    assert results[1].stored.event.attendees[0].response is Response.ACCEPTED


# -- RPC counts --------------------------------------------------------------------------------


def test_rpc_counts_for_bulk_creates_and_full_pulls(bob: Setup) -> None:
    people = [f"guest{n}@example.com" for n in range(7)]
    writes = [
        Create(
            f"bulk-{n}",
            meeting(
                f"Bulk {n}",
                day=1 + n % 28,
                attendees=[Attendee(people[n % 7]), Attendee("bob@example.com")],
                reminders=[15],
            ),
        )
        for n in range(100)
    ]
    before = bob.calendar.calls
    bob.odoo.reset_counts()
    results = bob.apply(*writes)
    assert all(r.ok for r in results)
    spent = bob.calendar.calls - before
    assert spent["calendar.event.load"] == 1
    assert spent["res.partner.search_read"] == 1  # the 7 new addresses, looked up once
    assert spent["res.partner.create"] == 1  # and created in one call
    print(f"\nRPC: 100 new events = {sum(spent.values())} calls {dict(spent)}")
    for n in range(5):
        bob.hands.call("calendar.event", "create", weekly(title=f"Series {n}"), context=QUIET)
    fresh = bob.another()
    listing = bob.run(fresh.pull(None, WINDOW))
    assert len(listing.items) == 105
    print(f"RPC: full pull of 100 events + 5 series = {fresh.requests} calls {dict(fresh.calls)}")
    bob.run(fresh.aclose())


def test_many_different_updates_go_in_one_load(either: Setup) -> None:
    people = [Attendee("ann@example.com", "Ann")]
    created = either.apply(
        *(
            Create(f"k{n}", meeting(f"Event {n}", day=1 + n % 28, attendees=people))
            for n in range(60)
        )
    )
    changes = []
    for n, result in enumerate(created):
        event = result.stored.event
        if n % 3 == 0:
            event = attrs.evolve(event, title=f"Renamed {n}")  # each its own value
        elif n % 3 == 1:
            event = attrs.evolve(event, location="Room 9")  # the same value for twenty
        else:
            later = event.start + timedelta(hours=1)
            event = attrs.evolve(event, start=later, end=later + timedelta(hours=1), attendees=[])
        changes.append(Update(result.write.key, event, result.stored))
    before = either.calendar.calls
    results = either.apply(*changes)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    spent = either.calendar.calls - before
    # renames and moves: one load per set of columns; the same location: one write
    assert (spent["calendar.event.load"], spent["calendar.event.write"]) == (2, 1)
    assert sum(spent.values()) <= 7  # 60 writes made 60 calls
    stored = {r.write.key: r.stored.event for r in results}
    assert stored["k0"].title == "Renamed 0"
    assert stored["k1"].location == "Room 9"
    assert (stored["k2"].start.hour, stored["k2"].attendees) == (10, ())
    titles = {item.event.title for item in either.pull().items}
    assert {"Renamed 0", "Renamed 57", "Event 1", "Event 59"} <= titles


def test_a_bad_row_in_a_bulk_update_is_split_down_to_its_own_write(either: Setup) -> None:
    created = either.apply(*(Create(f"k{n}", meeting(f"E{n}", day=n + 1)) for n in range(16)))
    for method in ("load", "write"):
        refuse(either.odoo, "calendar.event", method, int(created[11].stored.id), "ValidationError")
    before = either.calendar.calls
    results = either.apply(
        *(
            Update(r.write.key, attrs.evolve(r.stored.event, title=f"F{n}"), r.stored)
            for n, r in enumerate(created)
        )
    )
    assert [r.ok for r in results] == [n != 11 for n in range(16)]
    assert isinstance(results[11].error, RejectedError)
    spent = either.calendar.calls - before
    assert spent["calendar.event.load"] == 1 + 2 * 4  # halves down to one row
    assert spent["calendar.event.write"] == 1  # which alone says why
    assert either.hands.read([int(created[12].stored.id)], "name")[0]["name"] == "F12"


def test_a_bad_row_in_a_shared_write_holds_only_that_event(either: Setup) -> None:
    created = either.apply(*(Create(f"k{n}", meeting(f"E{n}", day=n + 1)) for n in range(24)))
    refuse(either.odoo, "calendar.event", "write", int(created[5].stored.id), "ValidationError")
    before = either.calendar.calls
    results = either.apply(
        *(
            Update(r.write.key, attrs.evolve(r.stored.event, location="Room 42"), r.stored)
            for r in created
        )
    )
    assert [r.ok for r in results] == [n != 5 for n in range(24)]
    assert isinstance(results[5].error, RejectedError)
    spent = either.calendar.calls - before
    assert spent["calendar.event.load"] == 0  # the same values: one write, split when refused
    assert spent["calendar.event.write"] == 1 + 2 * 5  # halves down to the row at fault
    rows = either.hands.read([int(r.stored.id) for r in created], "location")
    assert [row["location"] == "Room 42" for row in rows] == [n != 5 for n in range(24)]


def test_occurrences_of_many_series_are_written_in_one_load(either: Setup) -> None:
    created = either.apply(*(Create(f"s{n}", series_event(title=f"Series {n}")) for n in range(4)))
    before = either.calendar.calls
    results = either.apply(
        *(
            Update(r.write.key, attrs.evolve(r.stored.event, title=f"Renamed {n}"), r.stored)
            for n, r in enumerate(created)
        )
    )
    assert all(r.ok for r in results), [r.error for r in results]
    spent = either.calendar.calls - before
    assert spent["calendar.event.load"] == 1  # 16 rows, 4 titles
    assert spent["calendar.event.write"] == 0
    rows = either.hands.rows(either.hands.recurrence_of(int(created[2].stored.id)), "name")
    assert {row["name"] for row in rows} == {"Renamed 2"}
    assert all(row["follow_recurrence"] for row in rows)  # renamed, not made exceptions


def test_deleting_many_series_takes_two_calls(either: Setup) -> None:
    calendar = either.another(on_delete="unlink")
    created = either.run(
        calendar.apply([Create(f"s{n}", series_event(title=f"Series {n}")) for n in range(3)])
    )
    recurrences = [either.hands.recurrence_of(int(r.stored.id)) for r in created]
    before = calendar.calls
    results = either.run(calendar.apply([Delete(r.write.key, r.stored) for r in created]))
    assert all(r.ok for r in results)
    spent = calendar.calls - before
    assert (spent["calendar.event.unlink"], spent["calendar.recurrence.unlink"]) == (1, 1)
    assert not either.hands.call("calendar.recurrence", "search", [("id", "in", recurrences)])
    assert not either.hands.call(
        "calendar.event",
        "search",
        [("recurrence_id", "in", recurrences)],
        context={"active_test": False},
    )
    either.run(calendar.aclose())


# -- more write paths --------------------------------------------------------------------------


def test_a_single_becomes_a_series_and_back(either: Setup) -> None:
    (created,) = either.apply(Create("k", meeting("Sync")))
    wanted = attrs.evolve(
        meeting("Sync"),
        timezone=BRUSSELS,
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=3, by_day=["WE"])),
    )
    (series,) = either.apply(Update("k", wanted, created.stored))
    assert series.ok, series.error
    assert series.stored.id == created.stored.id
    assert series.stored.event.recurrence == wanted.recurrence
    assert len(either.hands.rows(either.hands.recurrence_of(int(created.stored.id)))) == 3
    (single,) = either.apply(Update("k", meeting("Sync again"), series.stored))
    assert single.ok, single.error
    assert (single.stored.id, single.stored.event.recurrence) == (created.stored.id, None)
    assert single.stored.event.title == "Sync again"
    assert len(either.hands.call("calendar.event", "search", [])) == 1


def test_timed_and_all_day_convert_both_ways(bob: Setup) -> None:
    (created,) = bob.apply(Create("k", meeting()))
    all_day = Event("Review", date(2027, 3, 10), date(2027, 3, 12))
    (whole,) = bob.apply(Update("k", all_day, created.stored))
    assert (whole.stored.event.start, whole.stored.event.end) == (
        date(2027, 3, 10),
        date(2027, 3, 12),
    )
    assert whole.stored.event.fingerprint(ODOO) == all_day.fingerprint(ODOO)
    (timed,) = bob.apply(Update("k", meeting(), whole.stored))
    assert timed.stored.event.fingerprint(ODOO) == meeting().fingerprint(ODOO)


def test_read_only_series_answer_on_every_occurrence(bob: Setup) -> None:
    admin = Hands(bob.odoo, "admin")
    base = int(
        admin.call(
            "calendar.event",
            "create",
            weekly(count=3, partner_ids=[(6, 0, [admin.partner("bob@example.com")])]),
            context=QUIET,
        )
    )
    current = only(bob.pull())
    assert current.read_only
    answered = attrs.evolve(
        current.event, attendees=[Attendee("bob@example.com", response="declined")]
    )
    (result,) = bob.apply(Update("k", answered, current))
    assert result.ok, result.error
    states = admin.call(
        "calendar.attendee",
        "search_read",
        [("event_id.recurrence_id", "=", admin.recurrence_of(base))],
        ["state"],
    )
    assert [row["state"] for row in states] == ["declined"] * 3


def test_tags_are_linked_but_only_admins_create_them(bob: Setup) -> None:
    Hands(bob.odoo, "admin").call("calendar.event.type", "create", {"name": "Customer"})
    (result,) = bob.apply(Create("k", meeting(categories=["Customer", "Brand new"])))
    assert result.ok
    assert result.stored.event.categories == ("Customer",)  # bob may not create tags
    as_admin = OdooCalendar(bob.odoo.url, bob.odoo.db, "admin", password="admin")
    (made,) = bob.run(as_admin.apply([Create("a", meeting(categories=["Brand new"]))]))
    assert made.stored.event.categories == ("Brand new",)
    bob.run(as_admin.aclose())


def test_reminders_keep_odoos_email_alarms(bob: Setup) -> None:
    (created,) = bob.apply(Create("k", meeting(reminders=[15])))
    event_id = int(created.stored.id)
    bob.hands.write(event_id, {"alarm_ids": [(4, 6)]})  # "Email - 3 Hours"
    current = bob.fetch(str(event_id))[str(event_id)]
    assert current is not None
    assert current.event.reminders == (15,)
    (result,) = bob.apply(Update("k", meeting(reminders=[20, 60]), current))
    assert result.stored.event.reminders == (20, 60)
    [row] = bob.hands.read([event_id], "alarm_ids")
    names = bob.hands.call("calendar.alarm", "read", row["alarm_ids"], ["name"])
    assert sorted(n["name"] for n in names) == [
        "Email - 3 Hours",
        "Notification - 1 Hours",
        "Notification - 20 Minutes",
    ]


# -- configuration mistakes are said so, not retried (issue 14) ---------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("odoo.example.com", "an http(s) URL with a host"),
        ("127.0.0.1:8069", "such as https://odoo.example.com"),
        ("ftp://odoo.example.com", "an http(s) URL"),
        ("https://odoo.example.com/odoo", "give 'https://odoo.example.com'"),
        ("https://odoo.example.com/odoo/calendar", "Odoo's web client"),
        ("https://odoo.example.com/web#action=calendar", "Odoo's web client"),
        ("https://odoo.example.com:99999", "a port from 1 to 65535"),
    ],
)
def test_a_url_that_cannot_be_the_server_is_refused_at_once(url: str, says: str) -> None:
    from calsync import ConfigurationError

    with pytest.raises(ConfigurationError, match=re.escape(says)):
        OdooCalendar(url, "db", "bob", password="x")


@pytest.mark.parametrize(
    ("version", "credentials", "says"),
    [
        ("18.0", {"password": PASSWORD}, "Odoo has no database 'nosuchdb': check its name"),
        ("19.0", {"api_key": API_KEY}, "Odoo serves no database 'nosuchdb' at"),
    ],
    ids=["jsonrpc", "json2"],
)
def test_a_wrong_database_is_a_configuration_error_not_a_retry_later(
    tmp_path: Any, version: str, credentials: dict[str, str], says: str
) -> None:
    """Real Odoo answers /jsonrpc with psycopg2's OperationalError ('database "x" does not
    exist', which looks transient) and JSON-2 with an HTML 404 (checked on 18.0 and 19.0)."""
    from calsync import ConfigurationError, Synchronizer
    from calsync.adapters.memory import MemoryCalendar
    from calsync.stores import MemoryStore

    odoo = emulator(version)
    try:
        calendar = OdooCalendar(odoo.url, "nosuchdb", "bob", **credentials)  # type: ignore[arg-type]
        with (
            Synchronizer(calendar, MemoryCalendar("outlook"), MemoryStore()) as sync,
            pytest.raises(ConfigurationError, match=re.escape(says)),
        ):
            sync.run()
    finally:
        odoo.stop()


@pytest.fixture(params=["17.0", "18.0"])
def on_december_6(request: pytest.FixtureRequest) -> Iterator[Setup]:
    yield from make(request.param, clock=Clock("2026-12-06 10:00:00"))


def test_a_yearly_series_is_stored_as_the_version_expands_it(on_december_6: Setup) -> None:
    """Odoo 17 re-stores its yearly type as "every 12 months on the day it was saved"
    (its ``_rrule_parse``): calsync writes months with the series' day there, and reads
    a series made in Odoo 17's own client on its first occurrence's day."""
    setup = on_december_6
    version = setup.odoo.version
    start = datetime(2027, 3, 15, 8, tzinfo=UTC)
    rule = RecurrenceRule("YEARLY", count=2)
    series = Event(
        "Anniversary", start, start + timedelta(hours=1), timezone=BRUSSELS,
        recurrence=Recurrence(rule),
    )  # fmt: skip
    (created,) = setup.apply(Create("a", series))
    assert created.ok
    [record] = setup.hands.call(
        "calendar.recurrence", "search_read", [], ["rrule_type", "interval", "day"]
    )
    expected = (
        {"rrule_type": "yearly", "interval": 1}
        if version == "18.0"
        else {"rrule_type": "monthly", "interval": 12, "day": 15}
    )
    assert {key: record[key] for key in expected} == expected
    [item] = setup.pull().items
    assert item.event.recurrence == Recurrence(rule.canonical(start.date()))
    if version == "18.0":
        return
    # a yearly series made in Odoo 17's client: its record says day 6 (the day it was saved)
    made = start.replace(year=2027, month=4, day=20).strftime("%Y-%m-%d %H:%M:%S")
    setup.hands.call(
        "calendar.event", "create",
        [{"name": "Made in Odoo", "start": made, "stop": made[:11] + "09:00:00",
          "recurrency": True, "rrule_type": "yearly", "end_type": "count", "count": 2,
          "event_tz": BRUSSELS}],
        context=QUIET,
    )  # fmt: skip
    days = setup.hands.call("calendar.recurrence", "search_read", [], ["day", "interval"])
    assert {row["day"] for row in days} == {15, 6}
    [read] = [i for i in setup.pull().items if i.event.title == "Made in Odoo"]
    assert read.event.recurrence is not None
    assert read.event.recurrence.rule.by_month_day == (20,)
    assert not read.event.recurrence.exceptions
