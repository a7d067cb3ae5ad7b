"""The Odoo mapping both ways, on Odoo-shaped rows (no server).

Rows look like what ``search_read`` returns on the recorded Odoo 18.0 server:
naive-UTC ``YYYY-MM-DD HH:MM:SS`` strings, ``[id, "name"]`` many2ones, id lists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from calsync import (
    AccessDeniedError,
    AuthenticationError,
    NotFoundError,
    ProviderError,
    RejectedError,
    TransientError,
    UnsupportedRecurrenceError,
)
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._apply import changed_answers
from calsync.adapters.odoo._cursor import Cursor, Seen, last_seen_of, row_hash, shift
from calsync.adapters.odoo._errors import from_odoo
from calsync.adapters.odoo._mapping import (
    EMPTY_TITLE,
    ODOO_PROJECTION,
    AttendeeRow,
    Lookups,
    row_event,
)
from calsync.adapters.odoo._recurrence import rule_from_odoo, rule_key, rule_to_odoo, week_start
from calsync.adapters.odoo._series import Row, assemble, plan_rows
from calsync.adapters.odoo._snapshot import external_id, key_of
from calsync.model import (
    Attendee,
    Availability,
    Event,
    Person,
    Privacy,
    Recurrence,
    RecurrenceRule,
    Response,
    Weekday,
    Window,
    canonical_html,
)

UTC = timezone.utc
BRUSSELS = "Europe/Brussels"


def row(**values: Any) -> dict[str, Any]:
    """A calendar.event row as search_read returns it (defaults: a plain 1-hour meeting)."""
    base: dict[str, Any] = {
        "id": 7,
        "name": "Review",
        "start": "2027-03-10 09:00:00",
        "stop": "2027-03-10 10:00:00",
        "allday": False,
        "start_date": False,
        "stop_date": False,
        "description": False,
        "location": False,
        "videocall_location": False,
        "privacy": False,
        "show_as": "busy",
        "user_id": [6, "Bob"],
        "partner_ids": [],
        "attendee_ids": [],
        "alarm_ids": [],
        "categ_ids": [],
        "recurrence_id": False,
        "follow_recurrence": False,
        "active": True,
        "write_date": "2026-11-23 23:30:56",
    }
    base.update(values)
    return base


BOB = Person("bob@example.com", "Bob")
LOOKUPS = Lookups(
    attendees={
        11: AttendeeRow(11, 7, 8, "ann@example.com", "Ann", "accepted", "2026-11-23 23:31:00"),
        12: AttendeeRow(12, 7, 9, "carl@example.com", "Carl", "tentative", "2026-11-23 23:30:56"),
        13: AttendeeRow(13, 7, 10, None, "No address", "needsAction", "2026-11-23 23:30:56"),
        14: AttendeeRow(14, 7, 7, "bob@example.com", "Bob", "declined", "2026-11-23 23:30:56"),
        15: AttendeeRow(
            15, 7, 99, "bob@example.com", "Bob (dup)", "accepted", "2026-11-23 23:30:56"
        ),
    },
    users={6: BOB},
    reminders={1: 15, 3: 60, 20: 20},
    tags={4: "Customer", 5: "Internal"},
    owner_partner=7,
)


# -- times -------------------------------------------------------------------------------------


def test_naive_utc_strings_are_aware_utc_instants_both_ways() -> None:
    moment = mapping.parse_datetime("2027-03-10 09:00:00")
    assert moment == datetime(2027, 3, 10, 9, tzinfo=UTC)
    brussels = datetime(2027, 3, 10, 10, tzinfo=timezone(timedelta(hours=1)))
    assert mapping.format_datetime(brussels) == "2027-03-10 09:00:00"
    assert mapping.format_datetime(datetime(2027, 3, 10, 9, 0, 0, 999999, tzinfo=UTC)) == (
        "2027-03-10 09:00:00"
    )


def test_a_timed_row_is_a_utc_event() -> None:
    event = row_event(row(), LOOKUPS)
    assert (event.start, event.end) == (
        datetime(2027, 3, 10, 9, tzinfo=UTC),
        datetime(2027, 3, 10, 10, tzinfo=UTC),
    )
    assert event.timezone == "UTC"
    assert event.organizer == BOB
    assert event.modified == datetime(2026, 11, 23, 23, 30, 56, tzinfo=UTC)
    assert mapping.time_values(event) == {
        "allday": False,
        "start": "2027-03-10 09:00:00",
        "stop": "2027-03-10 10:00:00",
    }


def test_all_day_stop_date_is_inclusive_and_the_model_end_exclusive() -> None:
    wire = row(
        allday=True,
        start="2027-03-27 08:00:00",
        stop="2027-03-28 18:00:00",
        start_date="2027-03-27",
        stop_date="2027-03-28",
    )
    event = row_event(wire, LOOKUPS)
    assert (event.start, event.end, event.timezone) == (date(2027, 3, 27), date(2027, 3, 29), None)
    assert mapping.time_values(event) == {
        "allday": True,
        "start_date": "2027-03-27",
        "stop_date": "2027-03-28",
    }
    assert mapping.time_values(event, for_load=True) == {
        "allday": True,
        "start_date": "2027-03-27",
        "stop_date": "2027-03-28",
        "start": "2027-03-27 08:00:00",
        "stop": "2027-03-28 18:00:00",
    }


def test_all_day_times_are_ignored_even_when_stored_as_given() -> None:
    # created by start/stop with allday=True: 22:30 -> 03:00, dates computed from them [5.4]
    wire = row(
        allday=True,
        start="2026-12-11 22:30:00",
        stop="2026-12-12 03:00:00",
        start_date="2026-12-11",
        stop_date="2026-12-12",
    )
    event = row_event(wire, LOOKUPS)
    assert (event.start, event.end) == (date(2026, 12, 11), date(2026, 12, 13))
    one_day = row(allday=True, start_date="2027-07-01", stop_date="2027-07-01")
    assert row_event(one_day, LOOKUPS).end == date(2027, 7, 2)


# -- scalar fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "model"),
    [
        (False, Privacy.DEFAULT),
        ("public", Privacy.PUBLIC),
        ("private", Privacy.PRIVATE),
        ("confidential", Privacy.CONFIDENTIAL),
    ],
)
def test_privacy_false_is_default_and_each_value_maps_back(wire: object, model: Privacy) -> None:
    assert row_event(row(privacy=wire), LOOKUPS).privacy is model
    event = Event("x", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert mapping.scalar_values(attrs.evolve(event, privacy=model), ["privacy"]) == {
        "privacy": wire
    }


@pytest.mark.parametrize(
    ("model", "wire"),
    [
        (Availability.FREE, "free"),
        (Availability.BUSY, "busy"),
        (Availability.TENTATIVE, "busy"),
        (Availability.OUT_OF_OFFICE, "busy"),
        (Availability.WORKING_ELSEWHERE, "busy"),
    ],
)
def test_show_as_is_free_or_busy(model: Availability, wire: str) -> None:
    event = Event("x", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert mapping.scalar_values(attrs.evolve(event, availability=model), ["availability"]) == {
        "show_as": wire
    }
    back = row_event(row(show_as=wire), LOOKUPS).availability
    assert back is (Availability.FREE if wire == "free" else Availability.BUSY)
    assert ODOO_PROJECTION(attrs.evolve(event, availability=model)).availability is back


def test_empty_title_location_description_and_url() -> None:
    event = row_event(row(name="", location=False, description=False), LOOKUPS)
    assert (event.title, event.location, event.description, event.online_meeting_url) == (
        EMPTY_TITLE,
        "",
        "",
        None,
    )
    blank = Event("  ", datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert mapping.scalar_values(blank)["name"] == EMPTY_TITLE
    assert mapping.scalar_values(blank)["location"] is False
    assert mapping.scalar_values(blank)["description"] is False
    assert mapping.scalar_values(blank)["videocall_location"] is False


def test_descriptions_compare_in_canonical_form() -> None:
    stored = row(description="<p>Hello <b>bold</b></p>", videocall_location="https://meet/x")
    event = row_event(stored, LOOKUPS)
    written = Event(
        "Review",
        event.start,
        event.end,
        description="<p>Hello <script>x</script><b>bold</b></p>",
        online_meeting_url="https://meet/x",
        organizer=BOB,
    )
    assert event.description == canonical_html("<p>Hello <b>bold</b></p>")
    assert event.fingerprint(ODOO_PROJECTION) == written.fingerprint(ODOO_PROJECTION)
    assert mapping.changed_groups(event, written) == []


# -- relational fields -------------------------------------------------------------------------


def test_attendees_by_address_with_states_one_per_address() -> None:
    event = row_event(
        row(attendee_ids=[11, 12, 13, 14, 15], partner_ids=[7, 8, 9, 10, 99]), LOOKUPS
    )
    # bob organises: Odoo lists him among the attendees, the model (like Outlook) does not
    assert [(a.email, a.name, a.response) for a in event.attendees] == [
        ("ann@example.com", "Ann", Response.ACCEPTED),
        ("carl@example.com", "Carl", Response.TENTATIVE),
    ]
    guest = row_event(row(user_id=[9, "Someone else"], attendee_ids=[11, 14]), LOOKUPS)
    assert "bob@example.com" in [a.email for a in guest.attendees]  # the owner, as a guest


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("carol@example.com", "carol@example.com"),
        ("  Carol@Example.COM ", "carol@example.com"),
        ('"Carol" <carol@example.com>', "carol@example.com"),
        ("m1@example.com, m2@example.com", "m1@example.com"),
        ("not-an-email", None),
        (False, None),
    ],
)
def test_partner_addresses_are_normalised_like_email_normalized(
    raw: object, address: str | None
) -> None:
    assert mapping.normalize_address(raw) == address


def test_reminders_are_notification_alarms_only_and_tags_are_names() -> None:
    event = row_event(row(alarm_ids=[3, 1, 6], categ_ids=[5, 4, 77]), LOOKUPS)
    assert event.reminders == (15, 60)  # alarm 6 is an e-mail alarm: not a reminder
    assert event.categories == ("Customer", "Internal")


@pytest.mark.parametrize(
    ("minutes", "name", "duration", "interval"),
    [
        (15, "Notification - 15 Minutes", 15, "minutes"),
        (60, "Notification - 1 Hours", 1, "hours"),
        (90, "Notification - 90 Minutes", 90, "minutes"),
        (2880, "Notification - 2 Days", 2, "days"),
        (0, "Notification - 0 Minutes", 0, "minutes"),
    ],
)
def test_new_alarms_get_an_explicit_name(
    minutes: int, name: str, duration: int, interval: str
) -> None:
    assert mapping.minutes_alarm(minutes) == {
        "name": name,
        "alarm_type": "notification",
        "duration": duration,
        "interval": interval,
    }


def test_changed_groups_name_the_fields_to_write() -> None:
    event = row_event(row(attendee_ids=[11]), LOOKUPS)
    moved = attrs.evolve(event, start=event.start + timedelta(hours=1), end=event.end)
    assert mapping.changed_groups(event, moved) == ["when"]
    answered = attrs.evolve(
        event, attendees=[Attendee("ann@example.com", response=Response.DECLINED)]
    )
    assert mapping.changed_groups(event, answered) == ["attendees"]
    assert mapping.changed_groups(event, attrs.evolve(event, availability="tentative")) == []
    assert changed_answers(event, answered) == {"ann@example.com"}


def test_load_cells_are_text() -> None:
    assert [mapping.load_cell(v) for v in (None, False, True, [3, 4], date(2027, 1, 2), 7)] == [
        "",
        "",
        "1",
        "3,4",
        "2027-01-02",
        "7",
    ]


# -- recurrence rules --------------------------------------------------------------------------


def fields(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rrule_type": "weekly",
        "interval": 1,
        "end_type": "count",
        "count": 5,
        "until": False,
        **dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), False),
        "month_by": "date",
        "day": 1,
        "weekday": False,
        "byday": False,
        "event_tz": BRUSSELS,
    }
    base.update(values)
    return base


FIRST = date(2027, 3, 15)  # a Monday


@pytest.mark.parametrize(
    ("odoo", "rrule"),
    [
        (fields(mon=True, wed=True), "FREQ=WEEKLY;COUNT=5;BYDAY=MO,WE"),
        (fields(mon=True, interval=2), "FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=MO;WKST=SU"),
        (
            fields(rrule_type="daily", end_type="end_date", until="2027-04-30"),
            "FREQ=DAILY;UNTIL=20270430",
        ),
        (fields(rrule_type="daily", end_type="forever", count=0), "FREQ=DAILY"),
        (fields(rrule_type="daily", count=720), "FREQ=DAILY"),
        (fields(rrule_type="monthly", day=15), "FREQ=MONTHLY;COUNT=5;BYMONTHDAY=15"),
        (
            fields(rrule_type="monthly", month_by="day", weekday="TUE", byday="2"),
            "FREQ=MONTHLY;COUNT=5;BYDAY=+2TU",
        ),
        (
            fields(rrule_type="monthly", month_by="day", weekday="FRI", byday="-1"),
            "FREQ=MONTHLY;COUNT=5;BYDAY=-1FR",
        ),
        (fields(rrule_type="yearly", count=3), "FREQ=YEARLY;COUNT=3"),
        (fields(rrule_type="monthly", day=-1), "FREQ=MONTHLY;COUNT=5;BYMONTHDAY=-1"),
        (
            fields(rrule_type="monthly", interval=12, month_by="day", weekday="MON", byday="3"),
            "FREQ=MONTHLY;INTERVAL=12;COUNT=5;BYDAY=+3MO",
        ),
    ],
)
def test_recurrence_fields_to_a_rule(odoo: dict[str, Any], rrule: str) -> None:
    rule = rule_from_odoo(odoo, first=FIRST, weeks_start=Weekday.SU)
    assert str(rule) == rrule
    assert rule_key(rule_to_odoo(rule, FIRST)) == rule_key(odoo)


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=3;UNTIL=20271231;BYDAY=MO;WKST=SU",
        "FREQ=DAILY;INTERVAL=2;COUNT=10",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        "FREQ=MONTHLY;INTERVAL=2;COUNT=6;BYDAY=-1MO",
        "FREQ=YEARLY;COUNT=5",
        "FREQ=DAILY;COUNT=720",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",  # weekly on weekdays
        "FREQ=YEARLY;BYMONTH=3;BYDAY=+3MO",  # every 12 months in Odoo
        "FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=15;COUNT=4",
    ],
)
@pytest.mark.parametrize("yearly_type", [True, False], ids=["18+", "17"])
def test_rules_survive_a_round_trip(rrule: str, yearly_type: bool) -> None:
    rule = RecurrenceRule.parse(rrule)
    odoo = rule_to_odoo(rule, FIRST, yearly_type=yearly_type)
    back = rule_from_odoo(odoo, first=FIRST, weeks_start=Weekday.SU, yearly_type=yearly_type)
    expected = attrs.evolve(rule, count=None) if rule.count == 720 else rule
    assert back.canonical(FIRST) == expected.canonical(FIRST)


def test_omitted_days_are_filled_from_the_start_not_odoo_defaults() -> None:
    assert rule_to_odoo(RecurrenceRule("WEEKLY"), FIRST)["mon"] is True
    assert rule_to_odoo(RecurrenceRule("MONTHLY"), date(2027, 3, 20))["day"] == 20
    assert rule_to_odoo(RecurrenceRule("YEARLY", by_month=3, by_month_day=20), date(2027, 3, 20))


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",  # the first weekday of the month
        "FREQ=YEARLY;BYMONTH=3;BYDAY=TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;BYMONTHDAY=1,15;BYSETPOS=1",
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO,TU",
        "FREQ=YEARLY;BYMONTHDAY=15",  # the 15th of every month, as RFC 5545 reads it
        "FREQ=YEARLY;BYMONTH=4",  # yearly in another month than the start's
        "FREQ=DAILY;COUNT=721",
    ],
)
def test_rules_odoo_cannot_hold_are_refused(rrule: str) -> None:
    with pytest.raises(UnsupportedRecurrenceError):
        rule_to_odoo(RecurrenceRule.parse(rrule), FIRST)


def test_the_week_start_is_res_lang_s() -> None:
    assert week_start("7") is Weekday.SU  # en_US
    assert week_start("1") is Weekday.MO  # en_GB, fr_BE ...
    assert week_start("6") is Weekday.SA  # ar_001
    assert week_start(None) is Weekday.SU


# -- series rows ⇄ series ----------------------------------------------------------------------


def occurrence(start: datetime, title: str = "Standup", **changes: Any) -> Event:
    return attrs.evolve(
        Event(title, start, start + timedelta(minutes=15), organizer=BOB), **changes
    )


WEEKLY = RecurrenceRule("WEEKLY", count=4, by_day=["MO"])
MONDAYS = [  # 09:00 in Brussels, across the spring DST change
    datetime(2027, 3, 15, 8, tzinfo=UTC),
    datetime(2027, 3, 22, 8, tzinfo=UTC),
    datetime(2027, 3, 29, 7, tzinfo=UTC),
    datetime(2027, 4, 5, 7, tzinfo=UTC),
]


def rows_of(*items: tuple[datetime, bool, bool] | tuple[datetime, bool, bool, str]) -> list[Row]:
    return [
        Row(index + 1, occurrence(start, *rest), active=active, follows=follows)
        for index, (start, active, follows, *rest) in enumerate(items)
    ]


def test_plain_rows_across_dst_make_a_clean_series() -> None:
    assembly = assemble(WEEKLY, BRUSSELS, rows_of(*((m, True, True) for m in MONDAYS)))
    assert assembly is not None
    event = assembly.event
    assert (event.start, event.timezone) == (MONDAYS[0], BRUSSELS)
    assert event.recurrence == Recurrence(WEEKLY)


def test_exceptions_are_keyed_by_the_nearest_unfilled_slot_and_gaps_are_cancelled() -> None:
    moved = MONDAYS[1] + timedelta(hours=26)  # Tuesday
    rows = rows_of(
        (MONDAYS[0], True, True),
        (moved, True, False, "Moved"),
        (MONDAYS[2], False, True),  # archived: cancelled
        # MONDAYS[3] unlinked: nothing records it -> cancelled
    )
    assembly = assemble(WEEKLY, BRUSSELS, rows)
    assert assembly is not None
    recurrence = assembly.event.recurrence
    assert recurrence is not None
    assert [(x.original_start, x.event.title) for x in recurrence.exceptions] == [
        (MONDAYS[1], "Moved")
    ]
    assert recurrence.cancelled == {MONDAYS[2], MONDAYS[3]}


def test_a_renamed_occurrence_does_not_rename_the_series() -> None:
    rows = rows_of(
        (MONDAYS[0], True, True, "Renamed"),
        (MONDAYS[1], True, True),
        (MONDAYS[2], True, True),
        (MONDAYS[3], True, True),
    )
    assembly = assemble(WEEKLY, BRUSSELS, rows)
    assert assembly is not None
    assert assembly.event.title == "Standup"
    assert assembly.event.recurrence is not None
    assert [x.event.title for x in assembly.event.recurrence.exceptions] == ["Renamed"]


def test_a_moved_first_occurrence_keeps_the_series_start() -> None:
    later = MONDAYS[0] + timedelta(hours=3)
    rows = rows_of((later, True, False, "Late"), *((m, True, True) for m in MONDAYS[1:]))
    assembly = assemble(WEEKLY, BRUSSELS, rows)  # no remembered anchor: found from the rows
    assert assembly is not None
    assert assembly.anchor == MONDAYS[0]
    recurrence = assembly.event.recurrence
    assert recurrence is not None
    assert [x.original_start for x in recurrence.exceptions] == [MONDAYS[0]]


def test_a_remembered_anchor_keeps_a_deleted_first_occurrence_cancelled() -> None:
    rows = rows_of(*((m, True, True) for m in MONDAYS[1:]))
    unknown = assemble(WEEKLY, BRUSSELS, rows)
    assert unknown is not None
    assert unknown.anchor == MONDAYS[1]  # nothing records the deletion
    remembered = assemble(WEEKLY, BRUSSELS, rows, hint=MONDAYS[0])
    assert remembered is not None
    assert remembered.anchor == MONDAYS[0]
    assert remembered.event.recurrence is not None
    assert remembered.event.recurrence.cancelled == {MONDAYS[0]}


def test_plan_rows_moves_exceptions_and_cancels_the_rest() -> None:
    series = attrs.evolve(
        occurrence(MONDAYS[0]),
        timezone=BRUSSELS,
        recurrence=Recurrence(
            WEEKLY,
            exceptions={MONDAYS[1]: occurrence(MONDAYS[1] + timedelta(hours=2), "Moved")},
            cancelled=[MONDAYS[2]],
        ),
    )
    plan = plan_rows(series, rows_of(*((m, True, True) for m in MONDAYS)))
    assert [(row.id, target.title, target.start) for row, target in plan.pairs] == [
        (1, "Standup", MONDAYS[0]),
        (2, "Moved", MONDAYS[1] + timedelta(hours=2)),
        (4, "Standup", MONDAYS[3]),
    ]
    assert [row.id for row in plan.cancel] == [3]
    assert not plan.missing


def test_plan_rows_reports_occurrences_no_row_can_hold() -> None:
    series = attrs.evolve(occurrence(MONDAYS[0]), timezone=BRUSSELS, recurrence=Recurrence(WEEKLY))
    plan = plan_rows(series, rows_of(*((m, True, True) for m in MONDAYS[:2])))
    assert [row.id for row, _target in plan.pairs] == [1, 2]
    assert [target.start for target in plan.missing] == MONDAYS[2:]


def test_monthly_rows_a_month_late_are_moved_onto_the_wanted_occurrences() -> None:
    # Odoo counts a monthly interval from the UTC date (odoo.md 5.5b): rows a month late
    sydney = "Australia/Sydney"
    first = datetime(2027, 2, 28, 21, tzinfo=UTC)  # 08:00 on March 1st in Sydney
    rule = RecurrenceRule("MONTHLY", interval=2, count=3, by_month_day=1)
    series = attrs.evolve(occurrence(first), timezone=sydney, recurrence=Recurrence(rule))
    late = [datetime(2027, 3, 31, 21, tzinfo=UTC), datetime(2027, 5, 31, 22, tzinfo=UTC)]
    rows = [
        Row(1, occurrence(first), active=False, follows=True),  # archived and detached by Odoo
        Row(2, occurrence(late[0])),
        Row(3, occurrence(late[1])),
        Row(4, occurrence(datetime(2027, 7, 31, 22, tzinfo=UTC))),
    ]
    plan = plan_rows(series, rows)
    wanted = [o.original_start for o in series.occurrences()]
    assert [target.start for _row, target in plan.pairs] == wanted
    assert plan.pairs[0][0].id == 1  # the base comes back
    assert len(plan.cancel) == 1
    assert not plan.missing


# -- cursor, keys, errors ----------------------------------------------------------------------


WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def test_the_cursor_round_trips_and_refuses_foreign_text() -> None:
    cursor = Cursor(
        window=Cursor.window_key(WINDOW),
        since="2027-01-02 03:04:05",
        seen={5: Seen("2027-01-02 03:04:05", "abc")},
        attendees={9: "2027-01-02 03:04:05|accepted"},
        series={3: (12, MONDAYS[0]), 4: (20, date(2027, 1, 1))},
        open={"2027-01-02 03:04:05": 1790000000.5},
        read="2027-01-02 03:10:00",
    )
    assert Cursor.parse(cursor.dump()) == cursor
    # the overlap reaches back from the later of the newest write and the last read
    assert cursor.low(timedelta(minutes=5)) == "2027-01-02 03:05:00"
    assert cursor.made_for(WINDOW)
    other = Window(datetime(2027, 1, 2, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    assert not cursor.made_for(other)  # still read: the adapter lists what ``other`` adds
    assert cursor.old_window() == WINDOW
    for text in ("", "42", "not json", '{"v": 1}', cursor.dump().replace('"v":2', '"v":9')):
        assert Cursor.parse(text) is None
    assert shift("1970-01-01 00:01:00", -timedelta(hours=1)) == "1970-01-01 00:00:00"
    assert row_hash({"a": 1}) != row_hash({"a": 2})
    # Odoo lists attendees created together in no fixed order (create_date ties)
    assert row_hash({"attendee_ids": [2, 1]}) == row_hash({"attendee_ids": [1, 2]})
    assert row_hash({"attendee_ids": [1, 3]}) != row_hash({"attendee_ids": [1, 2]})
    assert row_hash({"user_id": [7, "Ann"]}) != row_hash({"user_id": ["Ann", 7]})


def test_a_version_1_cursor_is_read_with_its_rows_to_read_again() -> None:
    text = (
        '{"v":1,"w":["2027-01-01T00:00:00+00:00","2028-01-01T00:00:00+00:00"],'
        '"since":"2027-01-02 03:04:05","seen":{"5":"abc"},"att":{},"series":{},"rows":{}}'
    )
    cursor = Cursor.parse(text)
    assert cursor is not None
    assert cursor.seen == {5: Seen("", "abc")}  # no write_date: read in full once more
    assert cursor.open == {"2027-01-02 03:04:05": 0.0}  # read long ago: checked once more
    assert cursor.read == "1970-01-01 00:00:00"  # no time of reading: from ``since`` alone
    assert cursor.low(timedelta(minutes=5)) == "2027-01-02 02:59:05"


def test_the_row_to_read_again_is_the_last_seen_of_its_second() -> None:
    second = "2027-01-02 03:04:05"
    seen = {1: Seen(second, "a"), 2: Seen(second, "b"), 3: Seen("2027-01-02 03:04:04", "c")}
    # Odoo's order is by the exact stamp: a later write in the same second comes last
    listed = [(3, "2027-01-02 03:04:04"), (2, second), (1, second), (7, second)]
    assert last_seen_of(listed, seen, second) == 1  # 7 is new: read anyway
    assert last_seen_of(listed, seen, "2027-01-02 03:04:06") is None


@pytest.mark.parametrize("key", ["0f3e" * 8, "k1", "a-key", "with.dot", "späce key", ""])
def test_calsync_keys_are_external_ids(key: str) -> None:
    xmlid = external_id(key)
    assert xmlid.startswith("calsync.link")
    assert " " not in xmlid
    assert "." not in xmlid.split(".", 1)[1]
    assert key_of(xmlid) == key
    assert key_of("base.partner_admin") is None


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("odoo.exceptions.ValidationError", RejectedError),
        ("odoo.exceptions.UserError", RejectedError),
        ("builtins.ValueError", RejectedError),
        ("odoo.exceptions.MissingError", NotFoundError),
        ("odoo.exceptions.AccessError", AccessDeniedError),
        ("odoo.exceptions.AccessDenied", AuthenticationError),
        ("odoo.http.SessionExpiredException", AuthenticationError),
        ("psycopg2.OperationalError", TransientError),
        ("builtins.RuntimeError", ProviderError),
    ],
)
def test_odoo_exceptions_become_calsync_errors_with_the_name_as_code(
    name: str, cls: type[ProviderError]
) -> None:
    error = from_odoo(name, "Odoo said no", side="odoo")
    assert type(error) is cls
    assert (error.code, error.message, error.side) == (name, "Odoo said no", "odoo")
    assert type(from_odoo(None, "", status=502)) is TransientError


def test_odoo_17_keeps_a_yearly_last_day_of_february_but_not_its_saved_day() -> None:
    leap = date(2028, 2, 29)
    last = RecurrenceRule("YEARLY", by_month=2, by_month_day=[-1])
    written = rule_to_odoo(last, leap, yearly_type=False)
    assert (written["rrule_type"], written["interval"], written["day"]) == ("monthly", 12, -1)
    assert rule_from_odoo(written, first=leap, yearly_type=False).canonical(leap) == last
    saved = {**rule_to_odoo(RecurrenceRule("YEARLY"), leap, yearly_type=False), "day": 6}
    assert rule_from_odoo(saved, first=leap, yearly_type=False).by_month_day == (29,)
