"""Recorded Odoo semantics the replay does not exercise on its own (odoo.md §5)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from calsync.testing import OdooEmulator, OdooError, OdooMail

QUIET = {"no_mail_to_attendees": True}


class Clock:
    """A settable naive-UTC clock for the emulator."""

    def __init__(self, now: str = "2026-11-23 10:00:00.500000") -> None:
        self.now = datetime.fromisoformat(now)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def odoo_clocked(clock: Clock) -> Any:
    with OdooEmulator(clock=clock) as emulator:
        yield emulator


def series(odoo_emulator: OdooEmulator, **values: Any) -> tuple[int, list[dict[str, Any]]]:
    """Create a recurring event; return the base id and the active rows by start."""
    context = {**QUIET, **values.pop("context", {})}
    base = {"name": "series", "recurrency": True, **values}
    event_id = odoo_emulator.execute("admin", "calendar.event", "create", base, context=context)
    [recurrence] = odoo_emulator.execute(
        "admin", "calendar.recurrence", "search", [], order="id desc", limit=1
    )
    rows = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "search_read",
        [["recurrence_id", "=", recurrence]],
        ["start", "stop", "start_date"],
        order="start asc",
    )
    return event_id, rows


def starts(rows: list[dict[str, Any]]) -> list[str]:
    return [row["start"] for row in rows]


# -- recurrence expansion ----------------------------------------------------------------------


def test_weekly_series_keeps_local_time_across_dst(odoo_emulator: OdooEmulator) -> None:
    _id, rows = series(
        odoo_emulator,
        start="2027-03-15 13:00:00",
        stop="2027-03-15 14:00:00",
        rrule_type="weekly",
        interval=1,
        end_type="count",
        count=4,
        mon=True,
        event_tz="Europe/Brussels",
    )
    assert starts(rows) == [
        "2027-03-15 13:00:00",
        "2027-03-22 13:00:00",
        "2027-03-29 12:00:00",
        "2027-04-05 12:00:00",
    ]


def test_without_any_time_zone_the_series_expands_in_utc(odoo_emulator: OdooEmulator) -> None:
    event_id, rows = series(
        odoo_emulator,
        start="2027-03-26 13:00:00",
        stop="2027-03-26 14:00:00",
        rrule_type="daily",
        count=4,
    )
    assert {start[11:] for start in starts(rows)} == {"13:00:00"}
    assert (
        odoo_emulator.execute("admin", "calendar.event", "read", [event_id], ["event_tz"])[0][
            "event_tz"
        ]
        is False
    )


def test_event_tz_defaults_to_the_context_tz(odoo_emulator: OdooEmulator) -> None:
    event_id, rows = series(
        odoo_emulator,
        start="2027-03-26 13:00:00",
        stop="2027-03-26 14:00:00",
        rrule_type="daily",
        count=4,
        context={"tz": "Europe/Brussels"},
    )
    assert starts(rows)[2:] == ["2027-03-28 12:00:00", "2027-03-29 12:00:00"]
    tz = odoo_emulator.execute("admin", "calendar.event", "read", [event_id], ["event_tz"])[0][
        "event_tz"
    ]
    assert tz == "Europe/Brussels"


def test_a_wall_time_in_the_spring_gap_moves_forward_like_pytz_is_dst_false(
    odoo_emulator: OdooEmulator,
) -> None:
    _id, rows = series(
        odoo_emulator,
        start="2027-03-27 01:30:00",  # 02:30 in Brussels
        stop="2027-03-27 02:00:00",
        rrule_type="daily",
        count=3,
        event_tz="Europe/Brussels",
    )
    # 2027-03-28 02:30 does not exist in Brussels; standard time (+01:00) gives 03:30 CEST
    assert starts(rows) == ["2027-03-27 01:30:00", "2027-03-28 01:30:00", "2027-03-29 00:30:00"]


def test_monthly_interval_counts_from_the_utc_month(odoo_emulator: OdooEmulator) -> None:
    # 08:00 on March 1st in Sydney is February 28th in UTC (odoo.md 5.5b)
    event_id, rows = series(
        odoo_emulator,
        start="2027-02-28 21:00:00",
        stop="2027-02-28 22:00:00",
        rrule_type="monthly",
        interval=2,
        month_by="date",
        day=1,
        count=3,
        event_tz="Australia/Sydney",
    )
    assert starts(rows) == ["2027-03-31 21:00:00", "2027-05-31 22:00:00", "2027-07-31 22:00:00"]
    base = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "read",
        [event_id],
        ["active", "recurrence_id"],
        context={"active_test": False},
    )
    assert base == [{"id": event_id, "active": False, "recurrence_id": False}]


def test_week_start_is_sunday_for_en_us(odoo_emulator: OdooEmulator) -> None:
    _id, rows = series(
        odoo_emulator,
        start="2027-01-04 10:00:00",  # a Monday
        stop="2027-01-04 11:00:00",
        rrule_type="weekly",
        interval=2,
        count=4,
        mon=True,
        sun=True,
    )
    # with WKST=MO (RFC 5545's default) this would be 01-04, 01-10, 01-18, 01-24
    assert [start[:10] for start in starts(rows)] == [
        "2027-01-04",
        "2027-01-17",
        "2027-01-18",
        "2027-01-31",
    ]


def test_forever_materialises_720_rows_and_reads_back_as_count(odoo_emulator: OdooEmulator) -> None:
    began = time.perf_counter()
    event_id, rows = series(
        odoo_emulator,
        start="2027-01-04 09:00:00",
        stop="2027-01-04 10:00:00",
        rrule_type="weekly",
        end_type="forever",
        mon=True,
    )
    assert len(rows) == 720
    assert rows[-1]["start"] == "2040-10-15 09:00:00"  # 719 weeks after the first
    values = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "read",
        [event_id],
        ["end_type", "count", "rrule", "recurrence_id"],
    )
    assert values[0]["end_type"] == "count"
    assert values[0]["count"] == 720
    assert values[0]["rrule"].endswith("COUNT=720;BYDAY=MO")
    assert values[0]["recurrence_id"][1] == "Every 1 Weeks on Monday for 720 events"
    odoo_emulator.execute(
        "admin", "calendar.event", "action_mass_deletion", [event_id], "all_events"
    )
    assert (
        odoo_emulator.execute(
            "admin", "calendar.event", "search_count", [], context={"active_test": False}
        )
        == 0
    )
    assert odoo_emulator.execute("admin", "calendar.recurrence", "search_count", []) == 0
    assert time.perf_counter() - began < 10


def test_rrule_text_as_input_is_parsed_and_stored_as_given(odoo_emulator: OdooEmulator) -> None:
    text = "FREQ=WEEKLY;INTERVAL=1;COUNT=3;BYDAY=TU,TH"
    event_id, rows = series(
        odoo_emulator, start="2026-12-01 10:00:00", stop="2026-12-01 11:00:00", rrule=text
    )
    assert [start[:10] for start in starts(rows)] == ["2026-12-01", "2026-12-03", "2026-12-08"]
    values = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "read",
        [event_id],
        ["rrule_type", "count", "tue", "thu", "rrule"],
    )
    assert values[0] == {
        "id": event_id,
        "rrule_type": "weekly",
        "count": 3,
        "tue": True,
        "thu": True,
        "rrule": text,
    }


def test_rrule_dtstart_is_the_creation_time(odoo_clocked: OdooEmulator) -> None:
    event_id, _rows = series(
        odoo_clocked,
        start="2026-12-07 14:00:00",
        stop="2026-12-07 15:00:00",
        rrule_type="daily",
        count=2,
    )
    rrule = odoo_clocked.execute("admin", "calendar.event", "read", [event_id], ["rrule"])[0][
        "rrule"
    ]
    assert rrule == "DTSTART:20261123T100000\nRRULE:FREQ=DAILY;COUNT=2"


TIMES = ["start", "stop", "start_date", "stop_date", "duration", "allday"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # real 18.0 at 2026-12-05 23:54 UTC (default start 2026-12-06 00:00); the clock
        # here is 2026-11-23 10:00:00.5, whose default start is 10:00 (seconds dropped)
        (
            {"allday": True, "stop_date": "2027-08-10"},
            ("2026-11-23 08:00:00", "2027-08-10 18:00:00", "2026-11-23", "2027-08-10", 6250.0),
        ),
        (
            {"allday": True},
            ("2026-11-23 10:00:00", "2026-11-23 11:00:00", "2026-11-23", "2026-11-23", 1.0),
        ),
        (
            {"allday": True, "start": "2027-08-13 10:00:00", "stop_date": "2027-08-14"},
            ("2027-08-13 08:00:00", "2027-08-14 18:00:00", "2027-08-13", "2027-08-14", 34.0),
        ),
        (
            {"start": "2026-11-23 05:00:00"},  # the default stop, whatever the start
            ("2026-11-23 05:00:00", "2026-11-23 11:00:00", False, False, 6.0),
        ),
        (
            {"duration": 2.5},  # stored as given, beside the default times
            ("2026-11-23 10:00:00", "2026-11-23 11:00:00", False, False, 2.5),
        ),
    ],
)
def test_create_takes_the_field_defaults_for_missing_times(
    odoo_clocked: OdooEmulator, values: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    event_id = odoo_clocked.execute(
        "admin", "calendar.event", "create", {"name": "Times", **values}, context=QUIET
    )
    (row,) = odoo_clocked.execute("admin", "calendar.event", "read", [event_id], TIMES)
    assert tuple(row[name] for name in TIMES[:5]) == expected


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        (
            {"allday": True, "start_date": "2027-08-11"},
            "The ending date cannot be earlier than the starting date.\n"
            "Meeting “Times” starts on 2027-08-11 and ends on 2026-11-23",
        ),
        (
            {"start": "2027-08-12 10:00:00"},
            "The ending date and time cannot be earlier than the starting date and time.\n"
            "Meeting “Times” starts at 2027-08-12 10:00:00 and ends at 2026-11-23 11:00:00",
        ),
    ],
)
def test_a_future_start_without_a_stop_is_refused(
    odoo_clocked: OdooEmulator, values: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(OdooError) as caught:
        odoo_clocked.execute(
            "admin", "calendar.event", "create", {"name": "Times", **values}, context=QUIET
        )
    assert (caught.value.name, caught.value.message) == (
        "odoo.exceptions.ValidationError",
        refusal,
    )


def test_a_written_start_moves_the_stop_by_the_duration(odoo_emulator: OdooEmulator) -> None:
    event_id = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "create",
        {"name": "W", "start": "2027-08-12 10:00:00", "stop": "2027-08-12 12:00:00"},
        context=QUIET,
    )
    odoo_emulator.execute(
        "admin", "calendar.event", "write", [event_id], {"start": "2027-08-13 10:00:00"}
    )
    (row,) = odoo_emulator.execute("admin", "calendar.event", "read", [event_id], TIMES)
    assert (row["stop"], row["duration"]) == ("2027-08-13 12:00:00", 2.0)


@pytest.mark.parametrize("where", ["event_tz", "context"])
def test_an_unknown_zone_in_a_series_is_pytzs_error(
    odoo_emulator: OdooEmulator, where: str
) -> None:
    values = {"name": "TZ", "start": "2027-08-16 08:00:00", "stop": "2027-08-16 09:00:00"}
    values |= {"recurrency": True, "rrule_type": "weekly", "interval": 1, "end_type": "count"}
    values |= {"count": 2, "mon": True}
    context = dict(QUIET)
    if where == "event_tz":
        values["event_tz"] = "Mars/Olympus"
    else:
        context["tz"] = "Mars/Olympus"
    with pytest.raises(OdooError) as caught:
        odoo_emulator.execute("admin", "calendar.event", "create", values, context=context)
    assert (caught.value.name, caught.value.message) == (
        "pytz.exceptions.UnknownTimeZoneError",
        "Mars/Olympus",
    )


def test_all_day_series_are_0800_to_1800_with_inclusive_stop_date(
    odoo_emulator: OdooEmulator,
) -> None:
    _id, rows = series(
        odoo_emulator,
        allday=True,
        start_date="2027-07-01",
        stop_date="2027-07-01",
        rrule_type="daily",
        count=3,
    )
    assert starts(rows) == ["2027-07-01 08:00:00", "2027-07-02 08:00:00", "2027-07-03 08:00:00"]
    assert [row["stop"][11:] for row in rows] == ["18:00:00"] * 3
    assert [row["start_date"] for row in rows] == ["2027-07-01", "2027-07-02", "2027-07-03"]


def test_series_ids_are_not_chronological_by_default(odoo_emulator: OdooEmulator) -> None:
    _id, rows = series(
        odoo_emulator,
        start="2027-01-04 09:00:00",
        stop="2027-01-04 10:00:00",
        rrule_type="daily",
        count=8,
    )
    ids = [row["id"] for row in rows]
    assert sorted(ids) == list(range(1, 9))
    assert ids != sorted(ids)


def test_chronological_series_order_can_be_chosen() -> None:
    with OdooEmulator(series_order="chronological") as odoo:
        _id, rows = series(
            odoo,
            start="2027-01-04 09:00:00",
            stop="2027-01-04 10:00:00",
            rrule_type="daily",
            count=8,
        )
    assert [row["id"] for row in rows] == list(range(1, 9))


# -- write_date --------------------------------------------------------------------------------


def test_write_date_has_seconds_on_the_wire_and_microseconds_in_searches(
    odoo_clocked: OdooEmulator, clock: Clock
) -> None:
    clock.now = datetime.fromisoformat("2026-11-23 23:30:56.986170")
    event_id = odoo_clocked.execute(
        "admin",
        "calendar.event",
        "create",
        {"name": "p", "start": "2027-01-01 09:00:00", "stop": "2027-01-01 10:00:00"},
    )
    read = odoo_clocked.execute("admin", "calendar.event", "read", [event_id], ["write_date"])
    assert read[0]["write_date"] == "2026-11-23 23:30:56"

    def found(operator: str, value: str) -> bool:
        domain = [["id", "=", event_id], ["write_date", operator, value]]
        return bool(odoo_clocked.execute("admin", "calendar.event", "search", domain))

    assert found(">", "2026-11-23 23:30:56")
    assert found(">=", "2026-11-23 23:30:56")
    assert not found(">", "2026-11-23 23:30:56.999999")


def test_one_call_shares_one_write_date_to_the_microsecond(
    odoo_clocked: OdooEmulator, clock: Clock
) -> None:
    clock.now = datetime.fromisoformat("2026-11-23 23:31:03.029201")
    values = [
        {"name": f"mc {index}", "start": "2027-01-01 10:00:00", "stop": "2027-01-01 11:00:00"}
        for index in range(3)
    ]
    ids = odoo_clocked.execute("admin", "calendar.event", "create", values, context=QUIET)
    exact = [["write_date", "=", "2026-11-23 23:31:03.029201"]]
    assert sorted(odoo_clocked.execute("admin", "calendar.event", "search", exact)) == ids


def test_attendee_answers_do_not_move_the_event(odoo_clocked: OdooEmulator, clock: Clock) -> None:
    event_id = odoo_clocked.execute(
        "admin",
        "calendar.event",
        "create",
        {"name": "p", "start": "2027-01-01 09:00:00", "stop": "2027-01-01 10:00:00"},
    )
    clock.now += timedelta(seconds=5)
    [attendee] = odoo_clocked.execute(
        "admin", "calendar.event", "read", [event_id], ["attendee_ids"]
    )[0]["attendee_ids"]
    odoo_clocked.execute("admin", "calendar.attendee", "write", [attendee], {"state": "declined"})
    event = odoo_clocked.execute("admin", "calendar.event", "read", [event_id], ["write_date"])[0]
    answer = odoo_clocked.execute("admin", "calendar.attendee", "read", [attendee], ["write_date"])[
        0
    ]
    assert event["write_date"] == "2026-11-23 10:00:00"
    assert answer["write_date"] == "2026-11-23 10:00:05"


# -- privacy -----------------------------------------------------------------------------------


@pytest.fixture
def with_bob(odoo_emulator: OdooEmulator) -> OdooEmulator:
    odoo_emulator.add_user("bob", "bob", name="Bob", email="bob@example.com")
    return odoo_emulator


def private_event(odoo_emulator: OdooEmulator, user: str = "admin", **values: Any) -> int:
    base = {
        "name": "Secret board",
        "start": "2027-02-04 09:00:00",
        "stop": "2027-02-04 10:00:00",
        "privacy": "private",
    }
    event_id: int = odoo_emulator.execute(
        user, "calendar.event", "create", {**base, **values}, context=QUIET
    )
    return event_id


def test_private_events_are_masked_per_caller(with_bob: OdooEmulator) -> None:
    event_id = private_event(with_bob, location="Room A", description="<p>budget</p>")
    fields = [
        "name",
        "location",
        "description",
        "partner_ids",
        "write_date",
        "start",
        "privacy",
        "user_id",
    ]
    as_bob = with_bob.execute("bob", "calendar.event", "read", [event_id], fields)[0]
    as_admin = with_bob.execute("admin", "calendar.event", "read", [event_id], fields)[0]
    assert as_bob == {
        "id": event_id,
        "name": "Busy",
        "location": False,
        "description": False,
        "partner_ids": [],
        "write_date": False,
        "start": "2027-02-04 09:00:00",
        "privacy": "private",
        "user_id": [2, "Administrator"],
    }
    assert as_admin["name"] == "Secret board"
    hits = with_bob.execute(
        "bob", "calendar.event", "search_read", [["description", "ilike", "budget"]], ["name"]
    )
    assert hits == [{"id": event_id, "name": "Busy"}]


def test_a_private_calendar_makes_events_without_privacy_private(with_bob: OdooEmulator) -> None:
    with_bob.execute("admin", "res.users", "write", [2], {"calendar_default_privacy": "private"})
    event_id = private_event(with_bob, privacy=False)
    assert (
        with_bob.execute("bob", "calendar.event", "read", [event_id], ["name"])[0]["name"] == "Busy"
    )


def test_a_private_calendar_refuses_writes_but_not_unlinks(with_bob: OdooEmulator) -> None:
    """Real 18.0 (2026-12-05): an ordinary user's write of another user's event in a calendar
    private by default raised the AccessError of ``Meeting.write``; his unlink went through
    (the ir.rule covers privacy 'private' only), and so did his answer on its attendee row."""
    with_bob.add_user("dora", "dora", email="dora@example.com", calendar_default_privacy="private")
    event_id = private_event(with_bob, user="dora", privacy=False)
    for method, args in (("write", ({"location": "x"},)), ("action_archive", ()), ("copy", ())):
        with pytest.raises(OdooError, match="'write' access") as caught:
            with_bob.execute("bob", "calendar.event", method, [event_id], *args)
        assert caught.value.name == "odoo.exceptions.AccessError"
    (attendee,) = with_bob.execute(
        "bob", "calendar.attendee", "search", [["event_id", "=", event_id]]
    )
    assert with_bob.execute("bob", "calendar.attendee", "write", [attendee], {"state": "tentative"})
    assert with_bob.execute("bob", "calendar.event", "unlink", [event_id]) is True


@pytest.mark.parametrize(("version", "seen"), [("18.0", "public"), ("19.0", "private")])
def test_another_users_default_privacy_reads_public_on_18(version: str, seen: str) -> None:
    """18.0 computes it from res.users.settings, hidden from others but Settings admins;
    19.0 reads it with sudo. (17.0 has no such field.)"""
    with OdooEmulator(version) as odoo:
        odoo.add_user("bob", "bob", email="bob@example.com")
        dora = odoo.add_user("dora", "dora", calendar_default_privacy="private")
        read = ["calendar_default_privacy"]
        assert odoo.execute("bob", "res.users", "read", [dora], read)[0][read[0]] == seen
        assert odoo.execute("dora", "res.users", "read", [dora], read)[0][read[0]] == "private"
        assert odoo.execute("admin", "res.users", "read", [dora], read)[0][read[0]] == "private"
        event_id = private_event(odoo, user="dora", privacy=False)
        name = odoo.execute("bob", "calendar.event", "read", [event_id], ["name"])[0]["name"]
        assert name == "Busy"  # masked all the same: Odoo reads the setting with sudo


def test_17_masks_only_events_marked_private() -> None:
    with OdooEmulator("17.0") as odoo:
        odoo.add_user("bob", "bob", email="bob@example.com")
        odoo.add_user("dora", "dora", calendar_default_privacy="private")
        event_id = private_event(odoo, user="dora", privacy=False)
        name = odoo.execute("bob", "calendar.event", "read", [event_id], ["name"])[0]["name"]
        assert name == "Secret board"


def test_others_private_events_refuse_write_and_unlink(with_bob: OdooEmulator) -> None:
    event_id = private_event(with_bob)
    with pytest.raises(OdooError) as caught:
        with_bob.execute("bob", "calendar.event", "write", [event_id], {"name": "x"})
    assert caught.value.name == "odoo.exceptions.AccessError"
    assert (
        "Sorry, Bob (id=6) doesn't have 'write' access to:\n- Calendar Event (calendar.event)"
        in caught.value.message
    )
    with pytest.raises(OdooError, match="'unlink' access"):
        with_bob.execute("bob", "calendar.event", "unlink", [event_id])
    invited = private_event(with_bob, partner_ids=[[6, 0, [3, 7]]])
    assert with_bob.execute("bob", "calendar.event", "write", [invited], {"location": "ok"}) is True


def test_events_no_odoo_user_organises(with_bob: OdooEmulator) -> None:
    """``user_id`` False, as checked on Odoo 18.0 (2026-12-05): no ``partner_id``, the
    partners as given (the caller's by default), the caller's answer accepted, writable by
    any user unless private, then only by its attendees; masked for the others."""
    zed = with_bob.execute(
        "admin", "res.partner", "create", {"name": "Zed", "email": "z@o.example"}
    )
    fields = ["user_id", "partner_id", "partner_ids", "attendee_ids", "name"]
    alone = private_event(with_bob, privacy=False, user_id=False)
    assert with_bob.execute("admin", "calendar.event", "read", [alone], fields)[0] == {
        "id": alone,
        "user_id": False,
        "partner_id": False,
        "partner_ids": [3],
        "attendee_ids": [1],
        "name": "Secret board",
    }
    event_id = private_event(with_bob, user_id=False, partner_ids=[[6, 0, [zed, 3]]])
    row = with_bob.execute("admin", "calendar.event", "read", [event_id], fields)[0]
    states = with_bob.execute("admin", "calendar.attendee", "read", row["attendee_ids"], ["state"])
    assert sorted(s["state"] for s in states) == ["accepted", "needsAction"]
    assert with_bob.execute("bob", "calendar.event", "read", [event_id], ["name"])[0]["name"] == (
        "Busy"
    )
    with pytest.raises(OdooError, match="'write' access"):
        with_bob.execute("bob", "calendar.event", "write", [event_id], {"location": "x"})
    assert with_bob.execute("admin", "calendar.event", "write", [event_id], {"location": "A"})
    assert with_bob.execute("bob", "calendar.event", "write", [alone], {"location": "B"})
    loaded = with_bob.execute(
        "admin",
        "calendar.event",
        "load",
        ["id", "name", "start", "stop", "user_id/.id"],
        [["calsync.t1", "Loaded", "2027-02-05 09:00:00", "2027-02-05 10:00:00", ""]],
        context=QUIET,
    )
    (row,) = with_bob.execute("admin", "calendar.event", "read", loaded["ids"], ["user_id"])
    assert row["user_id"] is False, "an empty cell is no organiser, not the default"


def test_users_see_the_private_events_of_bob_masked_too(with_bob: OdooEmulator) -> None:
    event_id = private_event(with_bob, user="bob", name="Dentist")
    assert (
        with_bob.execute("admin", "calendar.event", "read", [event_id], ["name"])[0]["name"]
        == "Busy"
    )
    attendee = with_bob.execute(
        "admin", "calendar.attendee", "search_read", [["event_id", "=", event_id]], ["event_id"]
    )
    assert attendee[0]["event_id"] == [event_id, "Busy"]


def test_creating_contacts_needs_contact_creation(with_bob: OdooEmulator) -> None:
    """Real 18.0 (2026-12-05), an internal user without base.group_partner_manager."""
    nora = with_bob.add_user("nora", "nora", email="nora@example.com")
    with_bob.execute("admin", "res.users", "write", [nora], {"groups_id": [[3, 9]]})
    refusal = (
        "You are not allowed to create 'Contact' (res.partner) records.\n\n"
        "This operation is allowed for the following groups:\n\t- Extra Rights/Contact Creation"
        "\n\nContact your administrator to request access if necessary."
    )
    for method, args in (
        ("create", ([{"name": "New", "email": "new@example.com"}],)),
        ("find_or_create", ("new@example.com",)),
    ):
        with pytest.raises(OdooError) as caught:
            with_bob.execute("nora", "res.partner", method, *args)
        assert (caught.value.name, caught.value.message) == ("odoo.exceptions.AccessError", refusal)
    assert with_bob.execute("bob", "res.partner", "create", {"name": "Fine"})  # bob may
    alarm = {"name": "Notification - 21 Minutes", "alarm_type": "notification", "duration": 21}
    assert with_bob.execute("nora", "calendar.alarm", "create", [{**alarm, "interval": "minutes"}])


# -- mail --------------------------------------------------------------------------------------


@pytest.fixture
def partners(odoo_emulator: OdooEmulator) -> list[int]:
    values = [
        {"name": "Alice", "email": "alice@example.com"},
        {"name": "Carl", "email": "carl@example.com"},
    ]
    ids: list[int] = odoo_emulator.execute("admin", "res.partner", "create", values)
    return ids


def meeting(
    odoo_emulator: OdooEmulator,
    partner_ids: list[int],
    context: dict[str, Any] | None = None,
    **values: Any,
) -> int:
    base = {"name": "Kick-off", "start": "2030-01-07 09:00:00", "stop": "2030-01-07 10:00:00"}
    base["partner_ids"] = [[6, 0, partner_ids]]
    event_id: int = odoo_emulator.execute(
        "admin", "calendar.event", "create", {**base, **values}, context=context or {}
    )
    return event_id


def test_create_invites_every_attendee_but_the_caller(
    odoo_emulator: OdooEmulator, partners: list[int]
) -> None:
    event_id = meeting(odoo_emulator, [3, *partners])
    assert sorted(odoo_emulator.mail_log(), key=lambda mail: mail.recipient) == [
        OdooMail(
            "invitation", "alice@example.com", event_id, "Invitation to Kick-off", partners[0]
        ),
        OdooMail("invitation", "carl@example.com", event_id, "Invitation to Kick-off", partners[1]),
    ]


def test_no_mail_to_attendees_suppresses_invitations(
    odoo_emulator: OdooEmulator, partners: list[int]
) -> None:
    meeting(odoo_emulator, partners, context=QUIET)
    assert odoo_emulator.mail_log() == []


def test_new_attendees_are_invited_and_moves_are_announced(
    odoo_emulator: OdooEmulator, partners: list[int]
) -> None:
    event_id = meeting(odoo_emulator, [partners[0]])
    odoo_emulator.clear_mail_log()
    odoo_emulator.execute(
        "admin", "calendar.event", "write", [event_id], {"partner_ids": [[4, partners[1]]]}
    )
    assert [(mail.kind, mail.recipient) for mail in odoo_emulator.mail_log()] == [
        ("invitation", "carl@example.com")
    ]
    odoo_emulator.clear_mail_log()
    odoo_emulator.execute(
        "admin",
        "calendar.event",
        "write",
        [event_id],
        {"start": "2030-01-08 09:00:00", "stop": "2030-01-08 10:00:00"},
    )
    assert sorted(
        (mail.kind, mail.recipient, mail.subject) for mail in odoo_emulator.mail_log()
    ) == [
        ("date_updated", "alice@example.com", "Kick-off: Date updated"),
        ("date_updated", "carl@example.com", "Kick-off: Date updated"),
    ]


def test_past_events_and_failed_calls_send_nothing(
    odoo_emulator: OdooEmulator, partners: list[int]
) -> None:
    meeting(odoo_emulator, partners, start="2001-01-01 09:00:00", stop="2001-01-01 10:00:00")
    with pytest.raises(OdooError):
        meeting(odoo_emulator, partners, stop="2029-01-01 00:00:00")
    assert odoo_emulator.mail_log() == []


def test_a_series_is_announced_once(odoo_emulator: OdooEmulator, partners: list[int]) -> None:
    meeting(odoo_emulator, partners[:1], recurrency=True, rrule_type="daily", count=5)
    assert len(odoo_emulator.mail_log()) == 1


def test_a_new_user_gets_a_signup_mail_unless_told_not_to(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.execute(
        "admin",
        "res.users",
        "create",
        {"name": "Dora", "login": "dora", "email": "dora@example.com"},
    )
    assert odoo_emulator.mail_log() == [
        OdooMail(
            "signup",
            "dora@example.com",
            None,
            "Administrator from My Company invites you to connect to Odoo",
            7,
        )
    ]


# -- web sessions ------------------------------------------------------------------------------


def jsonrpc(client: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        path, json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    )
    payload: dict[str, Any] = response.json()
    return payload


def test_a_restart_expires_the_web_session(odoo_emulator: OdooEmulator) -> None:
    call = {"model": "res.partner", "method": "search", "args": [[["id", "=", 3]]], "kwargs": {}}
    with httpx.Client(base_url=odoo_emulator.url) as client:
        info = jsonrpc(
            client,
            "/web/session/authenticate",
            {"db": odoo_emulator.db, "login": "admin", "password": "admin"},
        )
        assert info["result"]["uid"] == 2
        assert jsonrpc(client, "/web/dataset/call_kw/res.partner/search", call)["result"] == [3]
        odoo_emulator.restart()
        expired = jsonrpc(client, "/web/dataset/call_kw/res.partner/search", call)
    assert expired["id"] is None
    assert expired["error"]["code"] == 100
    assert expired["error"]["message"] == "Odoo Session Expired"
    assert expired["error"]["data"]["name"] == "odoo.http.SessionExpiredException"


def test_web_login_sets_the_base_url_used_for_relative_meeting_links(
    odoo_emulator: OdooEmulator,
) -> None:
    assert odoo_emulator.base_url == "http://localhost:8069"
    with httpx.Client(base_url=odoo_emulator.url) as client:
        jsonrpc(
            client,
            "/web/session/authenticate",
            {"db": odoo_emulator.db, "login": "admin", "password": "admin"},
        )
    assert odoo_emulator.base_url == odoo_emulator.url
    event_id = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "create",
        {
            "name": "v",
            "start": "2030-01-01 09:00:00",
            "stop": "2030-01-01 10:00:00",
            "videocall_location": "meet/x",
        },
    )
    location = odoo_emulator.execute(
        "admin", "calendar.event", "read", [event_id], ["videocall_location"]
    )[0]
    assert location["videocall_location"] == f"{odoo_emulator.url}/meet/x"


def test_wrong_password_on_the_web_is_access_denied(odoo_emulator: OdooEmulator) -> None:
    with httpx.Client(base_url=odoo_emulator.url) as client:
        answer = jsonrpc(
            client,
            "/web/session/authenticate",
            {"db": odoo_emulator.db, "login": "admin", "password": "no"},
        )
    assert answer["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"


def test_unknown_database_fails_like_postgresql(odoo_emulator: OdooEmulator) -> None:
    params = {"service": "common", "method": "login", "args": ["nope", "admin", "admin"]}
    with httpx.Client(base_url=odoo_emulator.url) as client:
        answer = jsonrpc(client, "/jsonrpc", params)
    assert answer["error"]["data"]["name"] == "psycopg2.OperationalError"
