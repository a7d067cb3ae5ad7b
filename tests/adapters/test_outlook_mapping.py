"""The Outlook mapping both ways, on Graph-shaped JSON (no server)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from calsync._errors import UnsupportedRecurrenceError
from calsync._protocol import Create, Delete, MailKind, Notification, RemoteEvent, Update
from calsync.adapters.outlook import OUTLOOK_PROJECTION
from calsync.adapters.outlook._mail import predict
from calsync.adapters.outlook._mapping import (
    create_body,
    event_from_graph,
    master_patch_body,
    patch_body,
    series_from_graph,
    unwrap_body,
)
from calsync.adapters.outlook._recurrence import rule_from_graph, rule_to_graph
from calsync.adapters.outlook._zones import same_zone, to_iana
from calsync.model import (
    Attendee,
    AttendeeKind,
    Availability,
    Event,
    Person,
    Privacy,
    Recurrence,
    RecurrenceRule,
    Response,
)

UTC = timezone.utc


def graph_event(**fields: Any) -> dict[str, Any]:
    """A full event as Graph answers it with ``Prefer: outlook.timezone="UTC"``."""
    base: dict[str, Any] = {
        "@odata.etag": 'W/"ck1"',
        "id": "AAMkAD1",
        "changeKey": "ck1",
        "iCalUId": "040000008200E00074C5B7101A82E008",
        "lastModifiedDateTime": "2027-03-01T08:00:00.1234567Z",
        "subject": "Planning",
        "body": {
            "contentType": "html",
            "content": '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; '
            'charset=utf-8">\r\n</head>\r\n<body>\r\n<p>Agenda</p>\r\n</body>\r\n</html>\r\n',
        },
        "start": {"dateTime": "2027-03-10T08:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-10T09:00:00.0000000", "timeZone": "UTC"},
        "originalStartTimeZone": "W. Europe Standard Time",
        "originalEndTimeZone": "W. Europe Standard Time",
        "isAllDay": False,
        "location": {"displayName": "Room 1", "locationType": "default"},
        "attendees": [],
        "organizer": {"emailAddress": {"name": "Alice", "address": "alice@example.com"}},
        "isOrganizer": True,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "sensitivity": "normal",
        "showAs": "busy",
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 15,
        "categories": [],
        "isCancelled": False,
        "onlineMeeting": None,
        "type": "singleInstance",
        "recurrence": None,
        "IsDraft": False,
    }
    base.update(fields)
    return base


# -- scalar fields ---------------------------------------------------------------------------


def test_read_a_full_event() -> None:
    event = event_from_graph(graph_event(), owner="alice@example.com")
    assert event.title == "Planning"
    assert event.start == datetime(2027, 3, 10, 8, tzinfo=UTC)
    assert event.end == datetime(2027, 3, 10, 9, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"
    assert event.description == "<p>Agenda</p>"
    assert event.location == "Room 1"
    assert event.organizer == Person("alice@example.com")
    assert event.privacy is Privacy.PUBLIC
    assert event.availability is Availability.BUSY
    assert event.reminders == (15,)
    assert event.modified == datetime(2027, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sensitivity", "privacy"),
    [
        ("normal", Privacy.PUBLIC),
        ("personal", Privacy.PRIVATE),
        ("private", Privacy.PRIVATE),
        ("confidential", Privacy.CONFIDENTIAL),
    ],
)
def test_sensitivity_reads(sensitivity: str, privacy: Privacy) -> None:
    assert event_from_graph(graph_event(sensitivity=sensitivity)).privacy is privacy


@pytest.mark.parametrize(
    ("privacy", "sensitivity"),
    [
        (Privacy.DEFAULT, "normal"),
        (Privacy.PUBLIC, "normal"),
        (Privacy.PRIVATE, "private"),
        (Privacy.CONFIDENTIAL, "confidential"),
    ],
)
def test_privacy_writes(privacy: Privacy, sensitivity: str) -> None:
    event = attrs.evolve(event_from_graph(graph_event()), privacy=privacy)
    assert create_body(event)["sensitivity"] == sensitivity


@pytest.mark.parametrize(
    ("show_as", "availability"),
    [
        ("free", Availability.FREE),
        ("tentative", Availability.TENTATIVE),
        ("busy", Availability.BUSY),
        ("oof", Availability.OUT_OF_OFFICE),
        ("workingElsewhere", Availability.WORKING_ELSEWHERE),
        ("unknown", Availability.BUSY),
    ],
)
def test_show_as_both_ways(show_as: str, availability: Availability) -> None:
    event = event_from_graph(graph_event(showAs=show_as))
    assert event.availability is availability
    if show_as != "unknown":
        assert create_body(event)["showAs"] == show_as


def test_reminders_and_categories_both_ways() -> None:
    off = event_from_graph(graph_event(isReminderOn=False, categories=["Blue", "Red"]))
    assert off.reminders == ()
    assert off.categories == ("Blue", "Red")
    body = create_body(off)
    assert body["isReminderOn"] is False
    assert "reminderMinutesBeforeStart" not in body
    assert body["categories"] == ["Blue", "Red"]
    two = attrs.evolve(off, reminders=[60, 5])
    assert create_body(two)["reminderMinutesBeforeStart"] == 5  # Outlook keeps one: the nearest
    assert OUTLOOK_PROJECTION(two).reminders == (5,)


def test_body_unwrap_and_text_bodies() -> None:
    assert unwrap_body({"contentType": "html", "content": ""}) == ""
    assert unwrap_body({"contentType": "html", "content": "<p>bare</p>"}) == "<p>bare</p>"
    assert unwrap_body({"contentType": "text", "content": "a < b\nc"}) == "a &lt; b<br>c"


def test_unchanged_body_is_not_rewritten() -> None:
    stored = event_from_graph(graph_event())
    rewritten = attrs.evolve(stored, description="<p>Agenda</p>\n", title="Renamed")
    assert patch_body(stored, rewritten) == {"subject": "Renamed"}
    changed = attrs.evolve(stored, description="<p>New agenda</p>")
    assert patch_body(stored, changed) == {
        "body": {"contentType": "html", "content": "<p>New agenda</p>"}
    }


def test_attendees_and_responses() -> None:
    data = graph_event(
        attendees=[
            {
                "type": "required",
                "status": {"response": "accepted"},
                "emailAddress": {"name": "Bob", "address": "Bob@Example.com"},
            },
            {
                "type": "optional",
                "status": {"response": "tentativelyAccepted"},
                "emailAddress": {"name": "Carol", "address": "carol@example.com"},
            },
            {
                "type": "resource",
                "status": {"response": "none"},
                "emailAddress": {"name": "Room", "address": "room@example.com"},
            },
            {
                "type": "required",
                "status": {"response": "declined"},
                "emailAddress": {"name": "Dave", "address": "dave@example.com"},
            },
            {
                "type": "required",
                "status": {"response": "notResponded"},
                "emailAddress": {"name": "Erin", "address": "erin@example.com"},
            },
            {
                "type": "required",
                "status": {"response": "organizer"},
                "emailAddress": {"name": "Alice", "address": "alice@example.com"},
            },
        ]
    )
    event = event_from_graph(data, owner="alice@example.com")
    assert [(a.email, a.kind, a.response) for a in event.attendees] == [
        ("bob@example.com", AttendeeKind.REQUIRED, Response.ACCEPTED),
        ("carol@example.com", AttendeeKind.OPTIONAL, Response.TENTATIVE),
        ("dave@example.com", AttendeeKind.REQUIRED, Response.DECLINED),
        ("erin@example.com", AttendeeKind.REQUIRED, Response.NEEDS_ACTION),
        ("room@example.com", AttendeeKind.RESOURCE, Response.NEEDS_ACTION),
    ]  # the organiser is left out
    written = create_body(event, "alice@example.com")["attendees"]
    assert written[1] == {
        "type": "optional",
        "emailAddress": {"address": "carol@example.com", "name": "Carol"},
    }
    assert all("status" not in a for a in written)  # the organiser cannot set responses


def test_own_answer_on_an_attendee_copy_comes_from_response_status() -> None:
    data = graph_event(
        isOrganizer=False,
        organizer={"emailAddress": {"name": "Bob", "address": "bob@example.com"}},
        responseStatus={"response": "tentativelyAccepted"},
        attendees=[
            {
                "type": "required",
                "status": {"response": "none"},
                "emailAddress": {"address": "alice@example.com"},
            }
        ],
    )
    (own,) = event_from_graph(data, owner="alice@example.com").attendees
    assert own.response is Response.TENTATIVE


def test_online_meeting_url_is_read_only() -> None:
    event = event_from_graph(graph_event(onlineMeeting={"joinUrl": "https://teams/x"}))
    assert event.online_meeting_url == "https://teams/x"
    assert "onlineMeeting" not in create_body(event)
    assert OUTLOOK_PROJECTION(event).online_meeting_url is None


# -- time and zones --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Romance Standard Time", "Europe/Paris"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("FLE Standard Time", "Europe/Kyiv"),
        ("India Standard Time", "Asia/Kolkata"),
        ("UTC", "UTC"),
        ("Europe/Brussels", "Europe/Brussels"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("tzone://Microsoft/Custom", "UTC"),
        ("Nowhere Standard Time", "UTC"),
    ],
)
def test_zones(name: str, iana: str) -> None:
    assert to_iana(name) == iana


def test_zones_compare_by_what_they_are() -> None:
    assert same_zone("Europe/Kiev", "Europe/Kyiv")
    assert same_zone("FLE Standard Time", "Europe/Kyiv")
    assert not same_zone("Europe/Brussels", "Europe/Paris")


def test_times_in_another_zone_are_read_as_instants() -> None:
    data = graph_event(
        start={"dateTime": "2027-03-10T09:00:00.0000000", "timeZone": "Romance Standard Time"},
        end={"dateTime": "2027-03-10T10:00:00.0000000", "timeZone": "Europe/Paris"},
        originalStartTimeZone="Romance Standard Time",
    )
    event = event_from_graph(data)
    assert event.start == datetime(2027, 3, 10, 8, tzinfo=UTC)
    assert event.end == datetime(2027, 3, 10, 9, tzinfo=UTC)
    assert event.timezone == "Europe/Paris"


def test_timed_events_are_written_in_their_zone() -> None:
    event = Event(
        "Summer",
        datetime(2027, 7, 1, 7, tzinfo=UTC),
        datetime(2027, 7, 1, 8, tzinfo=UTC),
        timezone="Europe/Brussels",
    )
    body = create_body(event)
    assert body["start"] == {"dateTime": "2027-07-01T09:00:00", "timeZone": "Europe/Brussels"}
    assert body["end"] == {"dateTime": "2027-07-01T10:00:00", "timeZone": "Europe/Brussels"}
    assert body["isAllDay"] is False


def test_all_day_across_dst_both_ways() -> None:
    data = graph_event(
        isAllDay=True,
        start={"dateTime": "2027-03-27T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2027-03-30T00:00:00.0000000", "timeZone": "UTC"},
        originalStartTimeZone="Romance Standard Time",
    )
    event = event_from_graph(data)
    assert (event.start, event.end, event.timezone) == (date(2027, 3, 27), date(2027, 3, 30), None)
    body = create_body(event)
    assert body["isAllDay"] is True
    assert body["start"]["dateTime"] == "2027-03-27T00:00:00"
    assert body["end"]["dateTime"] == "2027-03-30T00:00:00"


# -- recurrence ------------------------------------------------------------------------------

RULES = [
    ("FREQ=DAILY;INTERVAL=2;COUNT=10", {"type": "daily", "interval": 2}),
    (
        "FREQ=WEEKLY;UNTIL=20271231;BYDAY=MO,WE,FR",
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday", "friday"]},
    ),
    (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
        {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "thursday"]},
    ),
    ("FREQ=MONTHLY;COUNT=5;BYMONTHDAY=15", {"type": "absoluteMonthly", "dayOfMonth": 15}),
    (
        "FREQ=MONTHLY;BYDAY=+2TU",
        {"type": "relativeMonthly", "daysOfWeek": ["tuesday"], "index": "second"},
    ),
    (
        "FREQ=MONTHLY;BYDAY=-1FR",
        {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
    ),
    (
        "FREQ=YEARLY;BYMONTHDAY=15;BYMONTH=3",
        {"type": "absoluteYearly", "dayOfMonth": 15, "month": 3},
    ),
    (
        "FREQ=YEARLY;COUNT=3;BYDAY=+1MO;BYMONTH=9",
        {"type": "relativeYearly", "daysOfWeek": ["monday"], "index": "first", "month": 9},
    ),
]


@pytest.mark.parametrize(("text", "pattern"), RULES)
def test_recurrence_both_ways(text: str, pattern: dict[str, Any]) -> None:
    rule = RecurrenceRule.parse(text)
    written = rule_to_graph(rule, date(2027, 3, 15), "Europe/Brussels")
    for key, value in pattern.items():
        assert written["pattern"][key] == value
    assert written["pattern"]["firstDayOfWeek"] == ("sunday" if "WKST=SU" in text else "monday")
    unused = {"daysOfWeek", "dayOfMonth", "month", "index"} - pattern.keys()
    assert not unused & written["pattern"].keys()  # only what the type needs
    assert written["range"]["startDate"] == "2027-03-15"
    assert written["range"]["recurrenceTimeZone"] == "Europe/Brussels"
    # Graph reads every field back filled.
    filled = {
        "pattern": {
            "type": "daily",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": [],
            "firstDayOfWeek": "sunday",
            "index": "first",
            **written["pattern"],
        },
        "range": {
            "type": "noEnd",
            "startDate": "2027-03-15",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "W. Europe Standard Time",
            "numberOfOccurrences": 0,
            **written["range"],
        },
    }
    assert rule_from_graph(filled, date(2027, 3, 15)) == rule


@pytest.mark.parametrize(
    ("range_", "part"),
    [
        ({"type": "endDate", "endDate": "2027-06-30"}, "UNTIL=20270630"),
        ({"type": "numbered", "numberOfOccurrences": 7}, "COUNT=7"),
        ({"type": "noEnd"}, None),
    ],
)
def test_range_types(range_: dict[str, Any], part: str | None) -> None:
    recurrence = {
        "pattern": {"type": "daily", "interval": 1, "firstDayOfWeek": "monday"},
        "range": {"startDate": "2027-03-15", **range_},
    }
    rule = rule_from_graph(recurrence, date(2027, 3, 15))
    assert str(rule) == "FREQ=DAILY" + (f";{part}" if part else "")


def test_implicit_parts_are_written_explicitly() -> None:
    weekly = rule_to_graph(RecurrenceRule("WEEKLY"), date(2027, 3, 17), "UTC")
    assert weekly["pattern"]["daysOfWeek"] == ["wednesday"]
    monthly = rule_to_graph(RecurrenceRule("MONTHLY"), date(2027, 3, 17), "UTC")
    assert monthly["pattern"]["dayOfMonth"] == 17
    yearly = rule_to_graph(RecurrenceRule("YEARLY"), date(2027, 3, 17), "UTC")
    assert (yearly["pattern"]["month"], yearly["pattern"]["dayOfMonth"]) == (3, 17)


@pytest.mark.parametrize(
    "text",
    ["FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYDAY=+1MO"],
)
def test_rules_outlook_would_expand_differently_are_refused(text: str) -> None:
    with pytest.raises(UnsupportedRecurrenceError):
        rule_to_graph(RecurrenceRule.parse(text), date(2027, 1, 31), "UTC")


def test_relative_pattern_with_several_days_is_the_nth_of_those_days() -> None:
    """Outlook's "first weekday of the month": index picks among all the daysOfWeek."""
    recurrence = {
        "pattern": {
            "type": "relativeMonthly",
            "interval": 1,
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "index": "first",
        },
        "range": {"type": "noEnd", "startDate": "2027-03-01"},
    }
    rule = rule_from_graph(recurrence, date(2027, 3, 1))
    assert str(rule) == "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;WKST=SU"
    firsts = Recurrence(rule).original_starts(date(2027, 5, 3), None)
    assert list(itertools.islice(firsts, 3)) == [
        date(2027, 5, 3),  # May 1st and 2nd are a weekend
        date(2027, 6, 1),
        date(2027, 7, 1),
    ]


def test_series_with_exceptions_and_cancellations() -> None:
    master = graph_event(
        type="seriesMaster",
        id="MASTER",
        start={"dateTime": "2027-03-15T08:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2027-03-15T08:30:00.0000000", "timeZone": "UTC"},
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                        "firstDayOfWeek": "monday", "month": 0, "dayOfMonth": 0,
                        "index": "first"},
            "range": {"type": "numbered", "numberOfOccurrences": 4, "startDate": "2027-03-15",
                      "endDate": "0001-01-01", "recurrenceTimeZone": "Romance Standard Time"},
        },
    )  # fmt: skip
    exception = graph_event(
        type="exception",
        id="EXC",
        subject="Moved",
        seriesMasterId="MASTER",
        originalStart="2027-03-22T08:00:00Z",
        start={"dateTime": "2027-03-22T12:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2027-03-22T12:30:00.0000000", "timeZone": "UTC"},
        lastModifiedDateTime="2027-03-05T00:00:00Z",
    )
    # After the DST change the slot is 07:00 UTC; the cancelled id names its local date.
    event = series_from_graph(master, [exception], ["OID.MASTER.2027-03-29"])
    assert event.timezone == "Europe/Paris"
    assert event.recurrence is not None
    assert str(event.recurrence.rule) == "FREQ=WEEKLY;COUNT=4;BYDAY=MO"
    moved = event.recurrence.exception(datetime(2027, 3, 22, 8, tzinfo=UTC))
    assert moved is not None
    assert moved.title == "Moved"
    assert event.recurrence.cancelled == {datetime(2027, 3, 29, 7, tzinfo=UTC)}
    assert event.modified == datetime(2027, 3, 5, tzinfo=UTC)  # the latest of the series


MONDAYS_MASTER = {
    "type": "seriesMaster",
    "id": "MASTER",
    "start": {"dateTime": "2027-03-15T08:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2027-03-15T08:30:00.0000000", "timeZone": "UTC"},
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                    "firstDayOfWeek": "sunday", "month": 0, "dayOfMonth": 0, "index": "first"},
        "range": {"type": "numbered", "numberOfOccurrences": 4, "startDate": "2027-03-15",
                  "endDate": "0001-01-01", "recurrenceTimeZone": "UTC"},
    },
}  # fmt: skip


def test_an_exception_marked_cancelled_is_a_cancelled_occurrence() -> None:
    """The organiser cancelled it: the attendee's mailbox keeps "Canceled: ..." until removed."""
    cancelled = graph_event(
        type="exception",
        id="EXC",
        subject="Canceled: Planning",
        isCancelled=True,
        seriesMasterId="MASTER",
        originalStart="2027-03-22T08:00:00Z",
        start={"dateTime": "2027-03-22T08:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2027-03-22T08:30:00.0000000", "timeZone": "UTC"},
        lastModifiedDateTime="2027-03-06T00:00:00Z",
    )
    event = series_from_graph(graph_event(**MONDAYS_MASTER), [cancelled])
    assert event.recurrence is not None
    assert event.recurrence.exceptions == ()
    assert event.recurrence.cancelled == {datetime(2027, 3, 22, 8, tzinfo=UTC)}
    assert event.modified == datetime(2027, 3, 6, tzinfo=UTC)  # the cancellation is a change


def test_a_start_off_its_pattern_moves_to_the_first_occurrence() -> None:
    """Graph's recurrence page: first Thursday every 2 months from 2017-08-29 first occurs in
    September (Outlook counts the interval from the first occurrence, not from startDate)."""
    master = graph_event(
        type="seriesMaster",
        start={"dateTime": "2017-08-29T09:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2017-08-29T10:00:00.0000000", "timeZone": "UTC"},
        recurrence={
            "pattern": {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["thursday"],
                        "index": "first", "firstDayOfWeek": "sunday"},
            "range": {"type": "numbered", "numberOfOccurrences": 3, "startDate": "2017-08-29",
                      "recurrenceTimeZone": "UTC"},
        },
    )  # fmt: skip
    event = series_from_graph(master)
    assert [o.original_start.date() for o in event.occurrences()] == [  # type: ignore[union-attr]
        date(2017, 9, 7),
        date(2017, 11, 2),
        date(2018, 1, 4),
    ]
    assert event.end == datetime(2017, 9, 7, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "start", "expected"),
    [
        (  # Exchange's DayOfMonth: "the last day of the month is assumed"
            {"type": "absoluteMonthly", "dayOfMonth": 31},
            date(2027, 1, 31),
            "FREQ=MONTHLY;COUNT=6;BYMONTHDAY=-1",
        ),
        (
            {"type": "absoluteMonthly", "dayOfMonth": 30},
            date(2027, 1, 30),
            "FREQ=MONTHLY;COUNT=6;BYMONTHDAY=28,29,30;BYSETPOS=-1",
        ),
        (
            {"type": "absoluteYearly", "dayOfMonth": 29, "month": 2},
            date(2028, 2, 29),
            "FREQ=YEARLY;COUNT=6;BYMONTHDAY=-1;BYMONTH=2",
        ),
        (  # every June has a 30th: a plain yearly date
            {"type": "absoluteYearly", "dayOfMonth": 30, "month": 6},
            date(2027, 6, 30),
            "FREQ=YEARLY;COUNT=6;BYMONTHDAY=30;BYMONTH=6",
        ),
        (
            {"type": "relativeMonthly", "daysOfWeek": ["thursday", "friday"], "index": "second"},
            date(2027, 1, 8),
            "FREQ=MONTHLY;COUNT=6;BYDAY=TH,FR;BYSETPOS=2",
        ),
        (
            {"type": "relativeYearly", "daysOfWeek": ["monday", "friday"], "index": "last",
             "month": 5},
            date(2027, 5, 31),
            "FREQ=YEARLY;COUNT=6;BYDAY=MO,FR;BYMONTH=5;BYSETPOS=-1",
        ),
    ],
)  # fmt: skip
def test_outlook_patterns_read_as_outlook_expands_them(
    pattern: dict[str, Any], start: date, expected: str
) -> None:
    master = graph_event(
        type="seriesMaster",
        isAllDay=True,
        start={"dateTime": f"{start}T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": f"{start + timedelta(days=1)}T00:00:00.0000000", "timeZone": "UTC"},
        recurrence={
            "pattern": {"interval": 1, "firstDayOfWeek": "monday", **pattern},
            "range": {"type": "numbered", "numberOfOccurrences": 6, "startDate": str(start)},
        },
    )
    event = series_from_graph(master)
    assert event.recurrence is not None
    assert str(event.recurrence.rule) == expected
    written = rule_to_graph(event.recurrence.rule, start, "UTC")["pattern"]
    assert {key: written[key] for key in pattern} == pattern


@pytest.mark.parametrize(
    ("rule", "start", "reason"),
    [
        (
            RecurrenceRule("MONTHLY", by_month_day=31),
            date(2027, 1, 31),
            "would put an occurrence on 2027-02-28 where the rule has 2027-03-31",
        ),
        (
            RecurrenceRule("YEARLY", by_month=2, by_month_day=29, interval=4),
            date(2028, 2, 29),
            "on 2100-02-28 where the rule has 2104-02-29",
        ),
        (
            RecurrenceRule("DAILY", interval=2, by_day=["MO", "TU", "WE", "TH", "FR"]),
            date(2027, 1, 4),
            "Outlook repeats on chosen weekdays only weekly",
        ),
        (
            RecurrenceRule("MONTHLY", by_month_day=[1, 15], by_set_pos=1),
            date(2027, 1, 1),
            "one day of the month",
        ),
    ],
)
def test_rules_outlook_cannot_hold_are_refused_with_the_reason(
    rule: RecurrenceRule, start: date, reason: str
) -> None:
    with pytest.raises(UnsupportedRecurrenceError, match=reason):
        rule_to_graph(rule, start, "UTC")


def test_master_patch_resends_the_recurrence_when_the_start_moves() -> None:
    start = datetime(2027, 3, 15, 8, tzinfo=UTC)
    series = Event(
        "S", start, start + timedelta(hours=1), timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=3)),
    )  # fmt: skip
    retitled = attrs.evolve(series, title="T")
    assert master_patch_body(series, retitled) == {"subject": "T"}
    later = attrs.evolve(
        series, start=start + timedelta(days=7), end=start + timedelta(days=7, hours=1)
    )
    body = master_patch_body(series, later)
    assert body["recurrence"]["range"]["startDate"] == "2027-03-22"
    single = attrs.evolve(series, recurrence=None)
    assert master_patch_body(series, single) == {"recurrence": None}


# -- predicted mail --------------------------------------------------------------------------

OWNER = "alice@example.com"


def meeting(*people: str, **changes: Any) -> Event:
    start = datetime(2027, 5, 3, 9, tzinfo=UTC)
    event = Event(
        "Kick-off", start, start + timedelta(hours=1), timezone="Europe/Paris",
        attendees=[Attendee(p) for p in people],
    )  # fmt: skip
    return attrs.evolve(event, **changes)


def test_mail_for_creates_updates_and_deletes() -> None:
    invite = predict(Create("k", meeting("bob@example.com", OWNER)), OWNER)
    assert invite == (Notification(MailKind.INVITATION, "bob@example.com", "Kick-off"),)
    assert predict(Create("k", meeting()), OWNER) == ()
    current = RemoteEvent("id", meeting("bob@example.com", "carol@example.com"), "v")
    changed = meeting("carol@example.com", "dave@example.com", location="Hall")
    kinds = {(n.kind, n.recipient) for n in predict(Update("k", changed, current), OWNER)}
    assert kinds == {
        (MailKind.INVITATION, "dave@example.com"),
        (MailKind.CANCELLATION, "bob@example.com"),
        (MailKind.UPDATE, "carol@example.com"),
    }
    retitled = attrs.evolve(current.event, title="Renamed")
    assert predict(Update("k", retitled, current), OWNER) == ()
    gone = predict(Delete("k", current), OWNER)
    assert {n.recipient for n in gone} == {"bob@example.com", "carol@example.com"}
    attending = attrs.evolve(current, read_only=True)
    assert predict(Update("k", changed, attending), OWNER) == ()
    assert predict(Delete("k", attending), OWNER) == ()
