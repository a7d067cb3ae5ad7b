"""OdooDatabase: one change query per round for every calendar of a database.

Several users' calendars list their incremental pulls through an
administrator's :class:`~calsync.adapters.odoo.OdooDatabase`: a round of
pulls costs the five shared calls whatever the number of calendars and the
size of their windows (the window's rows are grouped in SQL, only the changed
ones read), and each
calendar gets exactly what its own queries would have given it, private
events of others included (the administrator reads them masked; the users do
not). Counts, never timings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import attrs
import pytest

from calsync.adapters import Create, Listing
from calsync.adapters.odoo import OdooCalendar, OdooDatabase
from calsync.adapters.odoo._adapter import SHARED_EXCLUSION
from calsync.adapters.odoo._shared import READ_WINDOW_UP_TO
from calsync.model import Event
from calsync.testing import OdooEmulator
from tests.adapters.odoo_support import (
    PASSWORD,
    QUIET,
    WINDOW,
    Hands,
    emulator,
    shared_database,
)

UTC = timezone.utc
USERS = ("ann", "bob", "cid", "dee")


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=UTC)


class Clock:
    """The emulator's clock (write_date): each round a few seconds after the last, so that a
    quiet round finds no row written in the second of its last read (re-read once more)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 10, 0, 0, 250000)

    def __call__(self) -> datetime:
        return self.now


@attrs.define
class World:
    odoo: OdooEmulator
    database: OdooDatabase
    calendars: dict[str, OdooCalendar]
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    cursors: dict[str, str | None] = attrs.Factory(dict)
    clock: Clock | None = None

    def hands(self, user: str) -> Hands:
        return Hands(self.odoo, user)

    def round(self, *users: str) -> dict[str, Listing]:
        """One round: the users' pulls at once (every calendar when none is named)."""
        chosen = users or tuple(self.calendars)
        if self.clock is not None:
            self.clock.now += timedelta(seconds=5)

        async def pulls() -> list[Listing]:
            return list(
                await asyncio.gather(
                    *(self.calendars[u].pull(self.cursors.get(u), WINDOW) for u in chosen)
                )
            )

        listings = dict(zip(chosen, self.loop.run_until_complete(pulls()), strict=True))
        for user, listing in listings.items():
            self.cursors[user] = listing.cursor
        return listings

    def titles(self, listing: Listing) -> list[str]:
        return sorted(item.event.title for item in listing.items)

    def own_calls(self) -> int:
        return sum(calendar.requests for calendar in self.calendars.values())


def password(user: str) -> str:
    return PASSWORD if user == "bob" else f"{user}-pw"


def own_calendar(odoo: OdooEmulator, user: str, database: OdooDatabase) -> OdooCalendar:
    return OdooCalendar(odoo.url, odoo.db, user, password=password(user), database=database)


def users(odoo: OdooEmulator, *names: str) -> None:
    """These users (bob is there already) and dora, who is never synced."""
    for user in (*names, "dora"):
        if user != "bob":
            odoo.add_user(user, password(user), email=f"{user}@example.com")


@contextmanager
def made_world(read_window_up_to: int) -> Iterator[World]:
    clock = Clock()
    odoo = emulator("18.0", clock=clock)
    users(odoo, *USERS)
    database = shared_database(odoo, read_window_up_to=read_window_up_to)
    made = World(odoo, database, {u: own_calendar(odoo, u, database) for u in USERS}, clock=clock)
    try:
        yield made
    finally:
        for calendar in made.calendars.values():
            made.loop.run_until_complete(calendar.aclose())
        made.loop.run_until_complete(database.aclose())
        made.loop.close()
        odoo.stop()


@pytest.fixture(params=["read", "grouped"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The four users' calendars; their windows read in full (small: the default), or
    grouped in SQL as larger ones are."""
    with made_world(READ_WINDOW_UP_TO if request.param == "read" else 0) as made:
        yield made


def shared_calls(world: World, before: int) -> int:
    return world.database.transport.requests - before


def test_a_round_of_pulls_costs_five_calls_for_every_calendar(world: World) -> None:
    for n, user in enumerate(USERS):
        world.hands(user).create(Event(f"{user}'s", at(n + 1), at(n + 1, 10)))
    first = world.round()  # full pulls: each calendar lists its own window
    assert {u: world.titles(listing) for u, listing in first.items()} == {
        u: [f"{u}'s"] for u in USERS
    }
    world.round()  # each calendar reads its newest row once more (its second may not be over)
    assert world.database.listings == 1
    own, shared = world.own_calls(), world.database.transport.calls.copy()
    quiet = world.round()
    assert all(not listing.items for listing in quiet.values())
    assert world.own_calls() - own == 0  # no calendar asks Odoo anything itself
    assert world.database.listings == 2
    spent = world.database.transport.calls - shared
    assert spent["calendar.event.search_read"] == spent["calendar.attendee.search_read"] == 1
    # the window's rows by organiser and by invited partner, grouped in SQL (but for those
    # the grouping by partner hides, read in full), or all read in full when it is small
    assert spent["calendar.event.read_group"] + spent["calendar.event.search"] <= 3
    assert sum(spent.values()) <= 7  # the open second's rows, read again, at most two reads
    # a change reaches its own calendar only; the calendar reads that one row itself
    (event,) = world.hands("cid").call("calendar.event", "search", [("name", "=", "cid's")])
    world.hands("cid").write(event, {"location": "Room 4"})
    own = world.own_calls()
    changed = world.round()
    assert {u for u, listing in changed.items() if listing.items} == {"cid"}
    assert changed["cid"].items[0].event.location == "Room 4"
    assert world.database.listings == 3
    assert world.own_calls() - own <= 3  # cid reads its row, its attendees, its organiser


def test_a_large_window_costs_the_rows_that_changed_not_the_window() -> None:
    """Ann's 500 events (a window larger than read_window_up_to; enough for a clause of
    her own, SHARED_EXCLUSION), then her polls: a quiet one, within the overlap of their
    write and past it, reads no row of the window, and one change reads that row alone
    (the whole window was read at every poll before, and within the overlap every row
    written in it)."""
    with made_world(read_window_up_to=100) as world:
        ann = world.hands("ann")
        made = [
            ann.create(Event(f"Ann {n}", at(1 + n % 27), at(1 + n % 27, 10)))
            for n in range(SHARED_EXCLUSION)
        ]
        world.round()
        ann.create(Event("Ann, later", at(28), at(28, 10)))  # a later second: theirs is over
        world.round()
        before = world.database.rows_listed
        world.round()  # all written within the overlap, and known as they are
        assert world.database.rows_listed - before <= 1  # the newest second's, maybe not over
        assert world.clock is not None
        world.clock.now += timedelta(seconds=600)  # past the overlap
        world.round()
        before = world.database.rows_listed
        quiet = world.round()
        assert all(not listing.items for listing in quiet.values())
        assert world.database.rows_listed == before
        assert quiet["ann"].present is not None
        assert len(quiet["ann"].present) == SHARED_EXCLUSION + 1
        ann.write(made[7], {"location": "Room 7"})
        changed = world.round()
        assert [item.event.location for item in changed["ann"].items] == ["Room 7"]
        assert world.database.rows_listed == before + 1


def test_a_meeting_of_two_synced_users_reaches_both_and_an_answer_too(world: World) -> None:
    ann = world.hands("ann")
    event = ann.create(
        Event("Planning", at(3), at(3, 10)),
        partner_ids=[(6, 0, [ann.partner("ann@example.com"), ann.partner("bob@example.com")])],
    )
    world.round()
    world.round()
    (attendee,) = ann.call(
        "calendar.attendee",
        "search",
        [("event_id", "=", event), ("partner_id.email", "=", "bob@example.com")],
    )
    world.hands("bob").call("calendar.attendee", "write", [attendee], {"state": "accepted"})
    answered = world.round()
    assert {u for u, listing in answered.items() if listing.items} == {"ann", "bob"}
    assert world.database.listings == 2  # one a round, the first incremental one included


def private_meeting(world: World, title: str, *guests: str) -> int:
    """A private event that dora (not synced) organises, with these users invited."""
    dora = world.hands("dora")
    partners = [dora.partner(f"{who}@example.com") for who in ("dora", *guests)]
    return int(
        dora.call(
            "calendar.event",
            "create",
            {
                "name": title,
                "privacy": "private",
                "start": "2027-03-09 09:00:00",
                "stop": "2027-03-09 10:00:00",
                "partner_ids": [(6, 0, partners)],
            },
            context=QUIET,
        )
    )


def test_private_events_the_administrator_may_not_read_are_read_by_their_users(
    world: World,
) -> None:
    """The administrator reads dora's private meeting masked (no write_date, no attendees):
    the shared listing routes it by its attendee rows and learns with a search that it
    changed; bob, who attends, reads it himself, as his own query would have."""
    event = private_meeting(world, "Board", "bob")
    first = world.round()
    assert world.titles(first["bob"]) == ["Board"]
    world.round()
    world.hands("dora").write(event, {"location": "Room 9"})
    own = {user: calendar.requests for user, calendar in world.calendars.items()}
    changed = world.round()
    assert [item.event.location for item in changed["bob"].items] == ["Room 9"]
    assert {u for u, listing in changed.items() if listing.items} == {"bob"}
    spent = {user: calendar.requests - own[user] for user, calendar in world.calendars.items()}
    assert spent["ann"] == spent["cid"] == spent["dee"] == 0


def test_a_quiet_poll_of_a_grouped_window_reads_no_row_private_or_archived() -> None:
    """Bob is invited to dora's private meeting (the administrator reads it masked) and
    to one she archived: once their writes are past the overlap, a quiet poll of a
    window grouped in SQL reads neither (the private one was read in full at every poll
    when the window was grouped on ``calendar.event.partner_ids``, which Odoo masks)."""
    with made_world(read_window_up_to=0) as world:
        bob = world.hands("bob")
        bob.create(Event("Single", at(2), at(2, 10)))
        private_meeting(world, "Board", "bob")
        archived = private_meeting(world, "Old board", "bob")
        world.hands("dora").write(archived, {"active": False, "privacy": "public"})
        world.round()
        assert world.clock is not None
        world.clock.now += timedelta(seconds=600)  # past the overlap
        world.round()
        before = world.database.rows_listed
        quiet = world.round()
        assert world.titles(quiet["bob"]) == []
        assert quiet["bob"].present is not None
        assert len(quiet["bob"].present) == 2  # Single, Board
        assert world.database.rows_listed == before


@pytest.mark.parametrize(
    "scene",
    [
        "quiet",
        "edited",
        "answered",
        "answered-outside",
        "unlinked",
        "archived",
        "private",
        "private-archived",
        "stray-attendee",
    ],
)
def test_each_calendar_lists_what_its_own_query_lists(world: World, scene: str) -> None:
    """Bob's shared calendar and a twin of it that queries alone give the same listing."""
    bob = world.hands("bob")
    single = bob.create(Event("Single", at(2), at(2, 10)))
    both = [(6, 0, [bob.partner("bob@example.com"), bob.partner("ann@example.com")])]
    other = bob.create(Event("Other", at(4), at(4, 10)), partner_ids=both)
    private = private_meeting(world, "Board", "bob")
    # a meeting beyond the window: only its answers are listed (by the attendee poll)
    later = bob.create(Event("Later", datetime(2029, 1, 8, 9, tzinfo=UTC),
                             datetime(2029, 1, 8, 10, tzinfo=UTC)), partner_ids=both)  # fmt: skip
    twin = OdooCalendar(world.odoo.url, world.odoo.db, "bob", password=PASSWORD)
    try:
        world.round()
        cursor = world.cursors["bob"]
        if scene == "edited":
            bob.write(single, {"location": "Room 2"})
        elif scene == "answered":
            rows = bob.call("calendar.attendee", "search", [("event_id", "=", other)])
            bob.call("calendar.attendee", "write", rows[:1], {"state": "declined"})
        elif scene == "answered-outside":
            world.clock.now += timedelta(seconds=600)
            bob.write(other, {"location": "Room 3"})  # bob's and ann's cursors move past Later
            world.round()
            world.round()  # the database knows their new cursors: Later is listed for no one
            cursor = world.cursors["bob"]
            (ann,) = bob.call(
                "calendar.attendee",
                "search",
                [("event_id", "=", later), ("partner_id.email", "=", "ann@example.com")],
            )
            world.hands("ann").call("calendar.attendee", "write", [ann], {"state": "declined"})
        elif scene == "unlinked":
            bob.call("calendar.event", "unlink", [other], context=QUIET)
        elif scene == "archived":
            bob.write(other, {"active": False})
        elif scene == "private-archived":  # an event bob is invited to, not one he organises
            world.hands("dora").write(private, {"active": False})
        elif scene == "private":
            world.hands("dora").write(private, {"name": "Board, moved"})
        elif scene == "stray-attendee":  # an attendee row alone: partner_ids lacks bob
            dora = world.hands("dora")
            event = dora.create(Event("Stray", at(6), at(6, 10)))
            row = {"event_id": event, "partner_id": dora.partner("bob@example.com")}
            dora.call("calendar.attendee", "create", row, context=QUIET)
        shared = world.round("bob")["bob"]
        alone = world.loop.run_until_complete(twin.pull(cursor, WINDOW))
        assert _listing(shared) == _listing(alone)
    finally:
        world.loop.run_until_complete(twin.aclose())


def _listing(listing: Listing) -> dict[str, Any]:
    return {
        "items": sorted((item.id, item.event, item.version) for item in listing.items),
        "present": listing.present,
        "cursor": _comparable(listing.cursor),
        "complete": listing.complete,
    }


def _comparable(cursor: str | None) -> Any:
    """The cursor but for when (calsync's clock) each open second was first read in."""
    data = json.loads(cursor or "null")
    if isinstance(data, dict) and isinstance(data.get("open"), dict):
        data["open"] = sorted(data["open"])
    return data


def test_a_service_login_reads_for_its_users_with_one_login_and_one_listing() -> None:
    """Every calendar read by the administrator on its user's behalf, on the database's own
    transport: one login and one listing for the round; a private event the administrator
    may not read stays out, as it does for a service login that queries alone."""
    odoo = emulator("18.0")
    users(odoo, "ann", "cid")
    database = shared_database(odoo)
    calendars = {
        user: OdooCalendar(
            odoo.url,
            odoo.db,
            "admin",
            transport=database.transport,
            user_login=user,
            database=database,
        )
        for user in ("ann", "bob", "cid")
    }
    loop = asyncio.new_event_loop()
    world = World(odoo, database, calendars, loop)
    try:
        Hands(odoo, "ann").create(Event("Ann's", at(1), at(1, 10)))
        private_meeting(world, "Board", "bob")
        world.round()
        world.round()
        assert world.titles(world.round()["bob"]) == []
        assert database.transport.calls["common.login"] == 1
        assert odoo.password_checks == 2  # the login, and its first call
    finally:
        for calendar in calendars.values():
            loop.run_until_complete(calendar.aclose())
        loop.run_until_complete(database.aclose())
        loop.close()
        odoo.stop()


def test_a_pull_is_served_by_a_listing_that_started_after_it(world: World) -> None:
    """Ann's pull starts a slow listing; bob's event is created, then bob's pull starts
    while that listing is on its way: bob waits for the next listing, which holds his
    event (the first one cannot); cid and dee, who start with bob, share that one."""
    world.round()
    world.round()
    made = world.database.listings
    world.odoo.slow(0.5, model="calendar.event", method="search_read", times=1)
    bob = world.hands("bob")

    async def pulls() -> dict[str, Listing]:
        def pull(user: str) -> Awaitable[Listing]:
            return world.calendars[user].pull(world.cursors[user], WINDOW)

        first = asyncio.ensure_future(pull("ann"))
        await asyncio.sleep(0.2)  # ann's listing is on its way
        await asyncio.to_thread(bob.create, Event("Late", at(7), at(7, 10)))
        later = await asyncio.gather(pull("bob"), pull("cid"), pull("dee"))
        return dict(zip(USERS, [await first, *later], strict=True))

    listings = world.loop.run_until_complete(pulls())
    assert world.titles(listings["bob"]) == ["Late"]
    assert world.database.listings == made + 2


def test_a_calendar_sees_its_own_writes_in_its_next_listing(world: World) -> None:
    world.round()
    world.round()
    (written,) = world.loop.run_until_complete(
        world.calendars["bob"].apply([Create("k1", Event("By calsync", at(6), at(6, 10)))])
    )
    assert written.error is None
    by_hand = world.hands("bob").create(Event("By hand", at(5), at(5, 10)))
    listing = world.round("bob")["bob"]
    assert [item.id for item in listing.items] == [str(by_hand)]  # its own write: an echo


def test_the_database_cannot_stand_for_a_calendar_it_cannot_read_as(world: World) -> None:
    """The shared account is the administrator: its rights, its masking; each calendar still
    reads and writes with its own credentials."""
    world.round()  # full pulls: each calendar lists its window itself
    world.round()
    assert world.database.transport.calls["common.login"] == 1
    assert all(calendar.calls["common.login"] == 1 for calendar in world.calendars.values())
    assert world.odoo.password_checks == 2 * (1 + len(USERS))  # logins, and first calls


def test_a_failing_shared_listing_leaves_each_calendar_to_list_alone(world: World) -> None:
    """The shared account's listing fails: every calendar of the round lists its own
    changes with its own login, and gets them; the next round shares again."""
    for n, user in enumerate(USERS):
        world.hands(user).create(Event(f"{user}'s", at(n + 1), at(n + 1, 10)))
    world.round()
    world.round()
    (event,) = world.hands("cid").call("calendar.event", "search", [("name", "=", "cid's")])
    world.hands("cid").write(event, {"location": "Room 4"})
    world.odoo.fail("AccessError", model="calendar.event", method="search_read")
    own = {user: calendar.calls.copy() for user, calendar in world.calendars.items()}
    changed = world.round()
    assert {u for u, listing in changed.items() if listing.items} == {"cid"}
    assert changed["cid"].items[0].event.location == "Room 4"
    for user, calendar in world.calendars.items():
        assert (calendar.calls - own[user])["calendar.event.search_read"] == 1, user
    own_total = world.own_calls()
    quiet = world.round()
    assert all(not listing.items for listing in quiet.values())
    assert world.own_calls() == own_total  # shared again


def test_a_garbled_shared_listing_serves_no_one(world: World) -> None:
    """A listing row calsync cannot route to its calendars (no id) is no one's: each
    calendar lists alone rather than miss or take a row."""
    for n, user in enumerate(USERS):
        world.hands(user).create(Event(f"{user}'s", at(n + 1), at(n + 1, 10)))
    world.round()
    world.odoo.garble("row-without-id", model="calendar.event", method="search_read")
    own = {user: calendar.calls.copy() for user, calendar in world.calendars.items()}
    listings = world.round()
    assert all(not listing.items for listing in listings.values())
    for user, calendar in world.calendars.items():
        assert (calendar.calls - own[user])["calendar.event.search_read"] == 1, user


def test_each_calendar_is_listed_after_its_own_cursor(world: World) -> None:
    """A calendar with nothing new for a long time (cid: never anything) does not drag the
    others' old rows into every listing: each user's rows are listed after that user's
    own cursor."""
    ann = world.hands("ann")
    for day in (8, 9, 10):  # beyond the window: listed only while in ann's overlap
        ann.create(Event(f"Old {day}", datetime(2029, 1, day, 9, tzinfo=UTC),
                         datetime(2029, 1, day, 10, tzinfo=UTC)))  # fmt: skip
    world.round()
    assert world.clock is not None
    world.clock.now += timedelta(seconds=600)
    ann.create(Event("New", at(1), at(1, 10)))
    world.round()
    world.round()
    before = world.database.rows_listed
    world.round()
    assert world.database.rows_listed - before == 1  # New: in the window (and the overlap)


def listing_domains(odoo: OdooEmulator) -> list[list[Any]]:
    """The domains of the listings' calls for the rows written after the cursors."""
    found = []
    for request in odoo.requests:
        body = request.json() if request.path == "/jsonrpc" else None
        args = body["params"]["args"] if body else []
        if args[3:5] == ["calendar.event", "search_read"] and "write_date" in repr(args[5]):
            found.append(args[5][0])
    return found


def write_date_terms(domain: list[Any], operator: str) -> int:
    return sum(
        1 for leaf in domain if isinstance(leaf, list) and leaf[:2] == ["write_date", operator]
    )


def test_calendars_with_small_overlaps_share_one_clause_of_the_listing(world: World) -> None:
    """Four calendars with a few rows in their overlap, all read in the same second: the
    listing asks for what was written after their cursor in one clause, with no terms
    leaving out rows they know (below SHARED_EXCLUSION those terms cost more than the
    rows they leave out; one clause per calendar made a quiet listing of 50 users take
    2.7 s on real 18.0)."""
    for user in USERS:
        for day in (1, 2, 3):
            world.hands(user).create(Event(f"{user} {day}", at(day), at(day, 10)))
    world.round()
    world.round()
    domain = listing_domains(world.odoo)[-1]
    assert write_date_terms(domain, ">") == 1
    assert write_date_terms(domain, ">=") == 0


def test_the_listing_has_a_clause_per_cursor_and_per_calendar_that_leaves_rows_out() -> None:
    from calsync.adapters.odoo._shared import _Listing, written_domain

    lows = {1: "2027-01-01 10:00:00", 2: "2027-01-01 10:00:00", 3: "2027-01-01 10:00:00",
            4: "2027-01-02 10:00:00"}  # fmt: skip
    known = ["|", ("write_date", "<", "2027-01-01 10:00:05"), ("id", ">", 9)]
    plan = _Listing(lows, ("a", "b"), (), (), (), {}, frozenset(), exclusions={3: (known, ())})
    partners = {uid: 100 + uid for uid in lows}
    rows = written_domain(plan, partners, "", 0)
    assert sum(1 for leaf in rows if leaf == ("write_date", ">", lows[1])) == 2  # 1 and 2; 3
    assert ("user_id", "in", [1, 2]) in rows
    assert ("partner_ids", "in", [101, 102]) in rows
    assert ("user_id", "in", [3]) in rows
    assert known[1] in rows
    assert ("user_id", "in", [4]) in rows
    assert rows.count("|") == 2 + 3 + 1  # joining three clauses; one in each; one in 3's terms
    answers = written_domain(plan, partners, "event_id.", 1)
    assert ("event_id.user_id", "in", [1, 2, 3]) in answers  # no terms for answers
    assert sum(1 for leaf in answers if isinstance(leaf, tuple) and leaf[1] == ">") == 2


class CountedRow(dict[str, Any]):
    """A listed row that counts the reads of its fields (all rows together)."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        type(self).reads += 1
        return super().get(key, default)


def test_routing_a_listing_reads_each_row_a_few_times_whatever_the_calendars() -> None:
    from calsync.adapters.odoo._shared import Member, _Listing

    @attrs.frozen
    class Someone:
        uid: int
        partner: int

    people = [cast(Member, Someone(uid, 1000 + uid)) for uid in range(1, 201)]
    rows = [
        CountedRow(
            id=10 * person.uid + n,
            user_id=[person.uid, "x"],
            partner_ids=[person.partner, 1000 + (person.uid * 7 + n) % 200 + 1],
            write_date="2026-12-06 10:00:00",
        )
        for person in people
        for n in range(3)
    ]
    answers = [
        CountedRow(id=n + 1, event_id=[row["id"], "x"], state="accepted")
        for n, row in enumerate(rows[::2])
    ]
    listing = _Listing({}, ("", ""), tuple(rows), tuple(answers), (), {}, frozenset()).indexed()
    for person in people:
        mine = [
            row
            for row in rows
            if row["user_id"][0] == person.uid or person.partner in row["partner_ids"]
        ]
        assert listing.rows_of(person) == mine
        ids = {row["id"] for row in mine}
        assert listing.answers_of(person) == [a for a in answers if a["event_id"][0] in ids]
    # each row read a few times for all 200 calendars, not once per calendar
    assert CountedRow.reads < 10 * (len(rows) + len(answers))
