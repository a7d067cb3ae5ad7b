"""The Odoo adapter against a live Odoo server: arguments, masked events, refused contacts.

Runs only when a server is given (the conformance suite reads the same variables):

* ``CALSYNC_ODOO_URL``, ``CALSYNC_ODOO_DB``;
* ``CALSYNC_ODOO_ADMIN_LOGIN``, ``CALSYNC_ODOO_ADMIN_PASSWORD`` (and, for Odoo 19's
  JSON-2, ``CALSYNC_ODOO_ADMIN_API_KEY``);
* ``CALSYNC_ODOO_USER_LOGIN``, ``CALSYNC_ODOO_USER_PASSWORD`` (``CALSYNC_ODOO_USER_API_KEY``):
  an ordinary internal user.

The server may be shared: every test makes its own users and events under
unique names, archives the users it made, and depends on nothing else in the
database.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
import pytest

from calsync import AccessDeniedError
from calsync.adapters import Create, Delete, RemoteEvent, Update
from calsync.adapters.odoo import JsonRpcTransport, OdooCalendar, OdooDatabase
from calsync.adapters.odoo._shared import READ_WINDOW_UP_TO
from calsync.model import Attendee, Event, Recurrence, RecurrenceRule, Window

T = TypeVar("T")
UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
QUIET = {"no_mail_to_attendees": True}
_NAMES = ("URL", "DB", "ADMIN_LOGIN", "ADMIN_PASSWORD", "USER_LOGIN", "USER_PASSWORD")

pytestmark = [
    pytest.mark.live,  # nox -s conformance
    pytest.mark.skipif(
        not all(os.environ.get(f"CALSYNC_ODOO_{name}") for name in _NAMES),
        reason="no live Odoo server: set CALSYNC_ODOO_URL, _DB, _ADMIN_LOGIN, _ADMIN_PASSWORD, "
        "_USER_LOGIN and _USER_PASSWORD to run these tests against one",
    ),
]


def env(name: str) -> str:
    return os.environ.get(f"CALSYNC_ODOO_{name}", "")


@attrs.define
class Live:
    """The live server, admin's raw RPC, and the users and events the test made."""

    loop: asyncio.AbstractEventLoop
    admin: JsonRpcTransport
    tag: str = attrs.Factory(lambda: uuid.uuid4().hex[:10])
    made_users: list[int] = attrs.Factory(list)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        return self.run(self.admin.call(model, method, *args, **options))

    def calendar(
        self, login: str, password: str, api_key: str = "", **options: Any
    ) -> OdooCalendar:
        secret = {"api_key": api_key} if api_key else {"password": password}
        return OdooCalendar(env("URL"), env("DB"), login, **secret, **options)  # type: ignore[arg-type]

    def user(self, **values: Any) -> tuple[str, str, int]:
        """A new internal user (login, password, uid) that the test archives afterwards."""
        login = f"calsync-live-{self.tag}-{len(self.made_users)}"
        password = uuid.uuid4().hex
        uid = int(
            self.call(
                "res.users",
                "create",
                {
                    "name": login,
                    "login": login,
                    "password": password,
                    "email": f"{login}@example.com",
                    **values,
                },
                context={"no_reset_password": True},
            )
        )
        self.made_users.append(uid)
        return login, password, uid

    def groups_field(self) -> str:
        """``groups_id`` (17.0, 18.0) or ``group_ids`` (19.0)."""
        fields = self.call("res.users", "fields_get", ["groups_id", "group_ids"])
        return "groups_id" if "groups_id" in fields else "group_ids"

    def at(self, day: int, hour: int = 9) -> datetime:
        return datetime(2027, 9, day, hour, tzinfo=UTC)

    def meeting(self, title: str, day: int, **changes: Any) -> Event:
        return attrs.evolve(Event(f"{title} {self.tag}", self.at(day), self.at(day, 10)), **changes)


@pytest.fixture
def live() -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    admin = JsonRpcTransport(env("URL"), env("DB"), env("ADMIN_LOGIN"), env("ADMIN_PASSWORD"))
    server = Live(loop, admin)
    try:
        loop.run_until_complete(admin.connect())
        yield server
    finally:
        for uid in server.made_users:
            server.call("res.users", "write", [uid], {"active": False})
        loop.run_until_complete(admin.aclose())
        loop.close()


def test_an_ordinary_user_creates_edits_and_deletes(live: Live) -> None:
    """Every argument as Odoo's own clients send it: real 18.0 refused calsync's keywords."""
    calendar = live.calendar(env("USER_LOGIN"), env("USER_PASSWORD"), env("USER_API_KEY"))
    start = live.at(6, 8)
    series = Event(
        f"Standup {live.tag}",
        start,
        start + timedelta(minutes=15),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=4, by_day=["MO"])),
    )
    single, made = live.run(
        calendar.apply(
            [
                Create(f"a{live.tag}", live.meeting("Single", 7, reminders=[30])),
                Create(f"s{live.tag}", series),
            ]
        )
    )
    assert single.ok, single.error
    assert made.ok, made.error
    moved = Event(f"Moved {live.tag}", live.at(13, 10), live.at(13, 11))
    edited = attrs.evolve(
        series,
        recurrence=Recurrence(
            series.recurrence.rule, exceptions={live.at(13, 8): moved}, cancelled=[live.at(20, 8)]
        ),  # type: ignore[union-attr]
    )
    results = live.run(
        calendar.apply(
            [
                Update(
                    f"a{live.tag}",
                    attrs.evolve(single.stored.event, location="Room 5"),
                    single.stored,
                ),  # type: ignore[union-attr]
                Update(f"s{live.tag}", edited, made.stored),  # type: ignore[arg-type]
            ]
        )
    )
    assert all(r.ok for r in results), [r.error for r in results]
    gone = live.run(calendar.apply([Delete(r.write.key, r.stored) for r in results]))  # type: ignore[arg-type]
    assert all(r.ok for r in gone), [r.error for r in gone]
    live.run(calendar.aclose())


def test_a_calendar_private_by_default_is_masked_and_left_alone(live: Live) -> None:
    version = live.call("res.users", "fields_get", ["calendar_default_privacy"])
    if not version:
        pytest.skip("this Odoo (17.0) has no default calendar privacy")
    login, password, uid = live.user()
    owner = JsonRpcTransport(env("URL"), env("DB"), login, password)
    live.run(owner.call("res.users", "write", [uid], {"calendar_default_privacy": "private"}))
    event = live.meeting("Hidden", 8, location="Room 9")
    hidden = live.run(
        owner.call(
            "calendar.event",
            "create",
            {
                "name": event.title,
                "location": "Room 9",
                "start": "2027-09-08 09:00:00",
                "stop": "2027-09-08 10:00:00",
            },
            context=QUIET,
        )
    )
    as_admin = live.calendar(env("ADMIN_LOGIN"), env("ADMIN_PASSWORD"), user_login=login)
    listing = live.run(as_admin.pull(None, WINDOW))
    assert all(
        live.tag not in item.event.title and item.event.title != "Busy" for item in listing.items
    )
    assert live.run(as_admin.fetch([str(hidden)])) == {}
    seen = RemoteEvent(str(hidden), live.meeting("Busy", 8), "v")
    results = live.run(as_admin.apply([Update("k", live.meeting("Overwritten", 8), seen)]))
    results += live.run(as_admin.apply([Delete("k", seen)]))
    assert [type(r.error) for r in results] == [AccessDeniedError, AccessDeniedError]
    (row,) = live.run(
        owner.call("calendar.event", "read", [hidden], ["name", "location", "active"])
    )
    assert (row["name"], row["location"], row["active"]) == (event.title, "Room 9", True)
    live.run(as_admin.aclose())
    live.run(owner.aclose())


def test_without_contact_creation_only_the_event_with_a_new_address_is_held(live: Live) -> None:
    login, password, uid = live.user()
    _model, group = live.call(
        "ir.model.data", "check_object_reference", "base", "group_partner_manager"
    )
    live.call("res.users", "write", [uid], {live.groups_field(): [(3, group)]})
    calendar = live.calendar(login, password, transport="jsonrpc")
    results = live.run(
        calendar.apply(
            [
                Create(
                    f"n1{live.tag}",
                    live.meeting("Known", 9, attendees=[Attendee(f"{login}@example.com")]),
                ),
                Create(
                    f"n2{live.tag}",
                    live.meeting(
                        "Stranger", 10, attendees=[Attendee(f"stranger-{live.tag}@example.com")]
                    ),
                ),
                Create(f"n3{live.tag}", live.meeting("Alone", 11)),
            ]
        )
    )
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, AccessDeniedError)
    assert f"stranger-{live.tag}@example.com" in results[1].error.message
    assert calendar.calls["res.partner.create"] == 1
    live.run(calendar.apply([Delete(r.write.key, r.stored) for r in results if r.stored]))
    live.run(calendar.aclose())


def test_an_administrator_reads_a_users_calendar_as_the_user_would(live: Live) -> None:
    """The administrator attends a private series that one of its users left for one
    occurrence: Odoo shows the administrator that occurrence, and masks it for the user.
    Read for the user by the administrator, the series is what the user's own read is."""
    owner_login, owner_password, owner_uid = live.user()
    user_login, user_password, user_uid = live.user()
    owner = JsonRpcTransport(env("URL"), env("DB"), owner_login, owner_password)
    admin_uid = live.run(live.admin.connect())
    people = {
        uid: live.call("res.users", "read", [uid], ["partner_id"])[0]["partner_id"][0]
        for uid in (owner_uid, user_uid, admin_uid)
    }
    base = live.run(
        owner.call(
            "calendar.event",
            "create",
            {
                "name": f"Private series {live.tag}",
                "privacy": "private",
                "start": "2027-09-06 08:00:00",
                "stop": "2027-09-06 08:30:00",
                "recurrency": True,
                "rrule_type": "weekly",
                "interval": 1,
                "end_type": "count",
                "count": 4,
                "mon": True,
                "event_tz": "UTC",
                "partner_ids": [(6, 0, list(people.values()))],
            },
            context=QUIET,
        )
    )
    (record,) = live.run(owner.call("calendar.event", "read", [base], ["recurrence_id"]))
    rows = live.run(
        owner.call(
            "calendar.event",
            "search_read",
            [("recurrence_id", "=", record["recurrence_id"][0])],
            fields=["start"],
            order="start asc",
        )
    )
    left = [people[owner_uid], people[admin_uid]]
    live.run(
        owner.call(
            "calendar.event", "write", [rows[1]["id"]], {"partner_ids": [(6, 0, left)]},
            context=QUIET,
        )
    )  # fmt: skip
    mine = live.calendar(user_login, user_password)
    for_user = live.calendar(env("ADMIN_LOGIN"), env("ADMIN_PASSWORD"), user_login=user_login)
    try:
        (own,) = [i for i in live.run(mine.pull(None, WINDOW)).items if live.tag in i.event.title]
        (read,) = [
            i for i in live.run(for_user.pull(None, WINDOW)).items if live.tag in i.event.title
        ]
        assert own.event.recurrence is not None
        assert len(own.event.recurrence.cancelled) == 1  # Odoo masks it for the user
        assert read.event == own.event
    finally:
        live.run(owner.call("calendar.event", "unlink", [r["id"] for r in rows], context=QUIET))
        for calendar in (mine, for_user):
            live.run(calendar.aclose())
        live.run(owner.aclose())


def test_answers_are_polled_as_they_change_also_in_the_second_calsync_read_in(live: Live) -> None:
    """Ann's three meetings with bob as guest: each answer of bob's is seen by the next
    incremental pull, though the answers calsync has read are left out of the attendee
    poll, and each answer usually comes within the second of the pull before it (Odoo
    keeps one ``write_date`` a second); a pull after the last sees nothing."""
    ann, bob = live.user(), live.user()
    bob_partner = live.call("res.users", "read", [bob[2]], ["partner_id"])[0]["partner_id"][0]
    calendar = live.calendar(*ann[:2])
    try:
        made = live.run(
            calendar.apply(
                [
                    Create(
                        f"m{n}{live.tag}",
                        live.meeting(f"Meeting {n}", 6 + n, attendees=[Attendee(
                            f"{bob[0]}@example.com", bob[0])]),
                    )
                    for n in range(3)
                ]
            )
        )  # fmt: skip
        assert all(result.ok for result in made), [result.error for result in made]
        cursor = live.run(calendar.pull(None, WINDOW)).cursor
        event_ids = [int(result.stored.id) for result in made]  # type: ignore[union-attr]
        (answer,) = live.call(
            "calendar.attendee",
            "search",
            [("event_id", "=", event_ids[1]), ("partner_id", "=", bob_partner)],
        )
        seen: list[list[str]] = []
        for state in ("tentative", "declined", "accepted"):
            live.call("calendar.attendee", "write", [answer], {"state": state})
            listing = live.run(calendar.pull(cursor, WINDOW))
            cursor = listing.cursor
            seen.append(
                [
                    f"{item.event.title.split()[1]} {attendee.response.value}"
                    for item in listing.items
                    for attendee in item.event.attendees
                    if attendee.email == f"{bob[0]}@example.com"
                ]
            )
        assert seen == [["1 tentative"], ["1 declined"], ["1 accepted"]]
        assert not live.run(calendar.pull(cursor, WINDOW)).items
    finally:
        live.run(calendar.aclose())


def _comparable(listing: Any) -> Any:
    """A listing as compared between calendars: items, what is present, the cursor but for
    what depends on when each pull ran: the time it read, and which of the newest seconds
    are still re-read (a second is over once calsync has waited long enough after first
    reading in it)."""
    cursor = json.loads(listing.cursor)
    for timing in ("read", "open", "closed"):
        cursor.pop(timing, None)
    return (
        sorted((item.id, item.event, item.version) for item in listing.items),
        listing.present,
        cursor,
        listing.complete,
    )


@pytest.mark.parametrize("read_window_up_to", [READ_WINDOW_UP_TO, 0], ids=["read", "grouped"])
def test_a_shared_listing_gives_each_calendar_what_its_own_queries_give(
    live: Live, read_window_up_to: int
) -> None:
    """Ann's and bob's calendars list through the administrator's OdooDatabase; after an
    edit, an answer, a private meeting of carl's (never synced) that bob attends renamed,
    and an unlinked meeting, each calendar's incremental pull equals the one a calendar
    of the same user makes alone from the same cursor. Another private meeting of
    carl's, left as it is, stays among bob's present rows (Odoo leaves it out of the
    listing's grouping by attendee: it is read in full instead). The window read in
    full (small), and grouped in SQL (as a large one is)."""
    users = {name: live.user() for name in ("ann", "bob", "carl")}
    partner = {
        name: live.call("res.users", "read", [uid], ["partner_id"])[0]["partner_id"][0]
        for name, (_login, _password, uid) in users.items()
    }

    def event(title: str, day: int, organiser: str, *guests: str, **values: Any) -> int:
        people = [partner[who] for who in (organiser, *guests)]
        return int(
            live.call(
                "calendar.event",
                "create",
                {
                    "name": f"{title} {live.tag}",
                    "start": f"2027-09-{day:02d} 09:00:00",
                    "stop": f"2027-09-{day:02d} 10:00:00",
                    "user_id": users[organiser][2],
                    "partner_ids": [(6, 0, people)],
                    **values,
                },
                context=QUIET,
            )
        )

    single = event("Single", 6, "ann")
    both = event("Both", 7, "ann", "bob")
    carl = JsonRpcTransport(env("URL"), env("DB"), *users["carl"][:2])

    def carls_private(title: str, day: int) -> int:
        values = {
            "name": f"{title} {live.tag}",
            "start": f"2027-09-{day:02d} 09:00:00",
            "stop": f"2027-09-{day:02d} 10:00:00",
            "privacy": "private",
            "partner_ids": [(6, 0, [partner["carl"], partner["bob"]])],
        }
        return int(live.run(carl.call("calendar.event", "create", values, context=QUIET)))

    private = carls_private("Board", 8)
    unchanged = carls_private("Quiet board", 10)
    gone = event("Gone", 9, "bob", "ann")
    database = OdooDatabase(
        env("URL"),
        env("DB"),
        env("ADMIN_LOGIN"),
        password=env("ADMIN_PASSWORD"),
        read_window_up_to=read_window_up_to,
    )
    shared = {name: live.calendar(*users[name][:2], database=database) for name in ("ann", "bob")}
    try:
        cursors = {name: live.run(c.pull(None, WINDOW)).cursor for name, c in shared.items()}
        live.call("calendar.event", "write", [single], {"location": "Room 2"}, context=QUIET)
        (answer,) = live.call(
            "calendar.attendee",
            "search",
            [("event_id", "=", both), ("partner_id", "=", partner["bob"])],
        )
        live.call("calendar.attendee", "write", [answer], {"state": "declined"})
        live.run(
            carl.call(
                "calendar.event",
                "write",
                [private],
                {"name": f"Board moved {live.tag}"},
                context=QUIET,
            )
        )
        live.call("calendar.event", "unlink", [gone], context=QUIET)

        async def round_() -> list[Any]:
            return list(
                await asyncio.gather(*(c.pull(cursors[n], WINDOW) for n, c in shared.items()))
            )

        listings = dict(zip(shared, live.run(round_()), strict=True))
        assert database.listings == 1
        for name, listing in listings.items():
            alone = live.calendar(*users[name][:2])
            try:
                assert _comparable(listing) == _comparable(
                    live.run(alone.pull(cursors[name], WINDOW))
                ), name
            finally:
                live.run(alone.aclose())
        titles = {n: sorted(i.event.title for i in found.items) for n, found in listings.items()}
        assert f"Board moved {live.tag}" in titles["bob"]
        assert str(unchanged) in (listings["bob"].present or ())
        assert not any("Board" in title for title in titles["ann"])
    finally:
        live.call("calendar.event", "unlink", [single, both], context=QUIET)
        live.run(carl.call("calendar.event", "unlink", [private, unchanged], context=QUIET))
        live.run(carl.aclose())
        for calendar in shared.values():
            live.run(calendar.aclose())
        live.run(database.aclose())


def test_a_new_process_sends_the_kept_uid_and_falls_back_to_a_login(live: Live) -> None:
    """Odoo accepts ``execute_kw`` with a uid and password and no ``common.login`` before
    it (each login costs a password hash, and the first call after it another); a uid it
    refuses (another user's, with this user's password) costs one login, no error."""
    login, password, uid = live.user()
    first = live.calendar(login, password)
    cursor = live.run(first.pull(None, WINDOW)).cursor
    live.run(first.aclose())
    assert cursor is not None
    assert json.loads(cursor)["uid"] == uid
    later = live.calendar(login, password)
    assert not live.run(later.pull(cursor, WINDOW)).items
    assert later.calls["common.login"] == 0
    live.run(later.aclose())
    stale = json.dumps({**json.loads(cursor), "uid": live.admin.uid})
    refused = live.calendar(login, password)
    listing = live.run(refused.pull(stale, WINDOW))
    assert not listing.items
    assert refused.calls["common.login"] == 1
    assert json.loads(str(listing.cursor))["uid"] == uid
    live.run(refused.aclose())
