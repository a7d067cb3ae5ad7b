"""The event model: validation, recurrence expansion, projections, fingerprints, JSON."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given

from calsync import InvalidEventError, UnsupportedRecurrenceError
from calsync._model._codec import event_from_json, event_to_json
from calsync._model._recurrence import first_difference
from calsync.model import (
    Attendee,
    Availability,
    Event,
    Frequency,
    Privacy,
    Projection,
    Recurrence,
    RecurrenceRule,
    Response,
    Window,
    canonical_html,
)
from tests.strategies import events

UTC = timezone.utc
BRUSSELS = ZoneInfo("Europe/Brussels")


def at(*args: int, tz: ZoneInfo | timezone = UTC) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"start": datetime(2027, 1, 1), "end": at(2027, 1, 1, 1)}, "start", "naive"),
        ({"start": at(2027, 1, 1, 2), "end": at(2027, 1, 1, 1)}, "end", "before start"),
        ({"start": date(2027, 1, 2), "end": date(2027, 1, 2)}, "end", "exclusive"),
        ({"start": date(2027, 1, 2), "end": at(2027, 1, 3)}, "end", "must be a date"),
        (
            {"start": at(2027, 1, 1), "end": at(2027, 1, 1, 1), "timezone": "Mars/Olympus"},
            "timezone",
            "IANA",
        ),
        ({"start": "2027-01-01", "end": at(2027, 1, 1)}, "start", "datetime or a date"),
        (
            {"start": at(2027, 1, 1), "end": at(2027, 1, 1), "privacy": "secret"},
            "privacy",
            "one of",
        ),
        (
            {"start": at(2027, 1, 1), "end": at(2027, 1, 1), "reminders": [-5]},
            "reminders",
            "minutes",
        ),
        (
            {"start": at(2027, 1, 1), "end": at(2027, 1, 1), "categories": "Work"},
            "categories",
            "not a string",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_value(
    kwargs: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(InvalidEventError, match=fragment) as caught:
        Event("Bad", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert repr(caught.value.value) in str(caught.value)


def test_instants_are_stored_in_utc_and_read_back_in_their_zone() -> None:
    event = Event(
        "Call",
        at(2027, 6, 1, 9, tz=BRUSSELS),
        at(2027, 6, 1, 10, tz=BRUSSELS),
        timezone="Europe/Brussels",
    )
    assert event.start == at(2027, 6, 1, 7)
    assert event.start.tzinfo is UTC
    assert event.local_start() == at(2027, 6, 1, 9, tz=BRUSSELS)
    assert not event.all_day


def test_zone_defaults_to_utc_and_all_day_has_none() -> None:
    assert Event("x", at(2027, 1, 1), at(2027, 1, 1, 1)).timezone == "UTC"
    assert Event("x", date(2027, 1, 1), date(2027, 1, 2)).timezone is None


def test_attendees_are_compared_by_address_whatever_the_case_and_order() -> None:
    a = Event(
        "m",
        at(2027, 1, 1),
        at(2027, 1, 1),
        attendees=[Attendee("Ann@Example.com", "Ann"), Attendee("bob@example.com")],
    )
    b = Event(
        "m",
        at(2027, 1, 1),
        at(2027, 1, 1),
        attendees=[Attendee("bob@example.com"), Attendee("ann@example.com")],
    )
    assert a == b
    with pytest.raises(InvalidEventError, match="e-mail"):
        Attendee("not an address")
    with pytest.raises(InvalidEventError, match="twice"):
        Event(
            "m",
            at(2027, 1, 1),
            at(2027, 1, 1),
            attendees=[Attendee("a@x.org"), Attendee("a@x.org", response=Response.DECLINED)],
        )


def test_modified_is_metadata_not_content() -> None:
    a = Event("m", at(2027, 1, 1), at(2027, 1, 1), modified=at(2026, 1, 1))
    assert a == attrs.evolve(a, modified=at(2026, 5, 5))


# -- recurrence rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=DAILY;COUNT=5",
        "FREQ=WEEKLY;INTERVAL=2;UNTIL=20271231;BYDAY=MO,WE,FR;WKST=SU",
        "FREQ=MONTHLY;COUNT=3;BYDAY=+2TU",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2",
        "FREQ=YEARLY;COUNT=2;BYDAY=+1MO;BYMONTH=9",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
        "FREQ=YEARLY;BYDAY=TH,FR;BYMONTH=11;BYSETPOS=-1",
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR",
    ],
)
def test_rrule_text_round_trips(text: str) -> None:
    rule = RecurrenceRule.parse(text)
    assert RecurrenceRule.parse(str(rule)) == rule


def test_rrule_parse_reads_a_floating_dtstart_and_a_utc_until() -> None:
    rule = RecurrenceRule.parse(
        "DTSTART:20261123T233058\nRRULE:FREQ=WEEKLY;WKST=SU;UNTIL=20270131T235959Z;BYDAY=FR"
    )
    assert rule.until == date(2027, 1, 31)
    assert rule.frequency is Frequency.WEEKLY


NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def test_a_utc_until_is_an_instant_compared_with_each_start_in_the_series_zone() -> None:
    """RFC 5545 3.3.10 and its "daily until December 24, 1997" example."""
    new_york = RecurrenceRule.parse(
        "DTSTART;TZID=America/New_York:19970902T090000\nRRULE:FREQ=DAILY;UNTIL=19971224T000000Z"
    )
    assert new_york.until == date(1997, 12, 23)  # Dec 24 09:00 EST is after the instant
    start = at(1997, 12, 20, 9, tz=SYDNEY)
    sydney = RecurrenceRule.parse(
        "FREQ=DAILY;UNTIL=19971223T230000Z", start=start, timezone="Australia/Sydney"
    )
    assert sydney.until == date(1997, 12, 24)  # Dec 24 09:00 AEDT is Dec 23 22:00 UTC
    late = RecurrenceRule.parse(
        "FREQ=DAILY;UNTIL=19971223T210000Z",
        start=at(1997, 12, 20, 9, tz=SYDNEY),
        timezone="Australia/Sydney",
    )
    assert late.until == date(1997, 12, 23)  # Dec 24 08:00 local: before the 09:00 start
    utc = RecurrenceRule.parse("DTSTART:19970902T090000Z\nRRULE:FREQ=DAILY;UNTIL=19971224T090000Z")
    assert utc.until == date(1997, 12, 24)  # inclusive


def test_a_utc_until_without_the_series_start_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="series' start"):
        RecurrenceRule.parse("FREQ=DAILY;UNTIL=19971224T000000Z")


@pytest.mark.parametrize(
    ("start", "zone"),
    [
        (at(1997, 9, 2, 9, tz=NEW_YORK), "America/New_York"),
        (at(1997, 9, 2, 9, tz=SYDNEY), "Australia/Sydney"),
        (at(1997, 9, 2, 23, 30), "UTC"),
    ],
)
def test_ical_text_puts_a_utc_until_beside_a_zoned_dtstart(start: datetime, zone: str) -> None:
    """dateutil refuses a date-only UNTIL beside a zoned DTSTART; calsync never writes one."""
    rule = RecurrenceRule("DAILY", until=date(1997, 12, 23))
    text = rule.to_ical(start, zone)
    assert RecurrenceRule.parse(text) == rule
    expanded = list(rrulestr(text))
    assert expanded[0] == start
    assert expanded[-1].astimezone(ZoneInfo(zone)).date() == date(1997, 12, 23)
    assert len(expanded) == len(list(Recurrence(rule).original_starts(start, zone)))
    with pytest.raises(ValueError, match="UNTIL"):
        rrulestr(f"{text.splitlines()[0]}\nRRULE:{rule}")  # what calsync must not write


def test_ical_text_of_an_all_day_series_has_dates() -> None:
    rule = RecurrenceRule("WEEKLY", until=date(2027, 3, 29), by_day=["MO"])
    text = rule.to_ical(date(2027, 3, 1))
    assert text == "DTSTART;VALUE=DATE:20270301\nRRULE:FREQ=WEEKLY;UNTIL=20270329;BYDAY=MO"
    assert RecurrenceRule.parse(text) == rule
    assert len(list(rrulestr(text))) == 5


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("FREQ=HOURLY;COUNT=2", "FREQ"),
        ("FREQ=MONTHLY;BYSETPOS=5;BYDAY=MO,TU", "BYSETPOS"),
        ("FREQ=MONTHLY;BYSETPOS=1,2;BYDAY=MO,TU", "BYSETPOS"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=MO", "BYDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=MO;BYSETPOS=1", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYDAY=+5MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=+1MO,+3MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=+1MO;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=+1MO", "BYDAY"),
        ("FREQ=WEEKLY;BYMONTH=3", "BYMONTH"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
    ],
)
def test_rules_outside_the_subset_are_refused_by_part(text: str, part: str) -> None:
    with pytest.raises((UnsupportedRecurrenceError, InvalidEventError)) as caught:
        RecurrenceRule.parse(text)
    assert caught.value.field == part


@pytest.mark.parametrize(
    ("text", "start", "canonical"),
    [
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", date(2027, 1, 4), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        ("FREQ=DAILY;INTERVAL=2;BYDAY=MO", date(2027, 1, 4), "FREQ=DAILY;INTERVAL=2;BYDAY=MO"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1",
            date(2027, 1, 31),
            "FREQ=MONTHLY;BYMONTHDAY=-1",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
            date(2027, 1, 30),
            "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=31", date(2027, 1, 31), "FREQ=MONTHLY;BYMONTHDAY=31"),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1",
            date(2028, 2, 29),
            "FREQ=YEARLY;BYMONTHDAY=-1;BYMONTH=2",
        ),
        (
            "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=28,29,30,31;BYSETPOS=-1",
            date(2027, 6, 30),
            "FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=6",
        ),
        (
            "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=-1",
            date(2027, 6, 30),
            "FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=6",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=12;BYDAY=+2TU",
            date(2027, 3, 9),
            "FREQ=YEARLY;BYDAY=+2TU;BYMONTH=3",
        ),
        ("FREQ=MONTHLY;BYDAY=TH;BYSETPOS=1", date(2027, 1, 7), "FREQ=MONTHLY;BYDAY=+1TH"),
        ("FREQ=YEARLY", date(2027, 3, 20), "FREQ=YEARLY;BYMONTHDAY=20;BYMONTH=3"),
        ("FREQ=YEARLY;BYMONTHDAY=15", date(2027, 3, 15), "FREQ=YEARLY;BYMONTHDAY=15"),
        ("FREQ=WEEKLY;INTERVAL=2;WKST=SU", date(2027, 1, 4), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),
    ],
)
def test_a_series_has_one_canonical_rule(text: str, start: date, canonical: str) -> None:
    rule = RecurrenceRule.parse(text)
    assert str(rule.canonical(start)) == canonical
    same = Recurrence(rule.canonical(start)).original_starts(start, None)
    assert first_difference(Recurrence(rule).original_starts(start, None), same) is None


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        (  # Outlook's day 31: the month's last day
            RecurrenceRule("MONTHLY", count=4, by_month_day=-1),
            date(2027, 1, 31),
            [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)],
        ),
        (  # Outlook's day 30: the 30th, or February's last day
            RecurrenceRule("MONTHLY", count=3, by_month_day=[28, 29, 30], by_set_pos=-1),
            date(2028, 1, 30),
            [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)],
        ),
        (  # RFC 5545's day 31 skips shorter months
            RecurrenceRule("MONTHLY", count=3, by_month_day=31),
            date(2027, 1, 31),
            [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31)],
        ),
        (  # Outlook's yearly February 29: the 28th in common years
            RecurrenceRule("YEARLY", count=3, by_month=2, by_month_day=-1),
            date(2028, 2, 29),
            [date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28)],
        ),
        (  # the first weekday of the month
            RecurrenceRule("MONTHLY", count=3, by_day=["MO", "TU", "WE", "TH", "FR"], by_set_pos=1),
            date(2027, 5, 3),
            [date(2027, 5, 3), date(2027, 6, 1), date(2027, 7, 1)],
        ),
        (  # the last weekday of the month
            RecurrenceRule(
                "MONTHLY", count=2, by_day=["MO", "TU", "WE", "TH", "FR"], by_set_pos=-1
            ),
            date(2027, 7, 30),
            [date(2027, 7, 30), date(2027, 8, 31)],
        ),
        (  # every other day, on weekdays only
            RecurrenceRule("DAILY", interval=2, count=4, by_day=["MO", "TU", "WE", "TH", "FR"]),
            date(2027, 1, 4),
            [date(2027, 1, 4), date(2027, 1, 6), date(2027, 1, 8), date(2027, 1, 12)],
        ),
    ],
)
def test_new_patterns_expand_as_their_providers_mean(
    rule: RecurrenceRule, start: date, expected: list[date]
) -> None:
    series = Event("s", start, start + timedelta(days=1), recurrence=Recurrence(rule))
    assert [o.original_start for o in series.occurrences()] == expected


def test_count_and_until_are_exclusive() -> None:
    with pytest.raises(InvalidEventError, match="UNTIL"):
        RecurrenceRule("DAILY", count=2, until=date(2027, 1, 1))


def test_weekly_expansion_keeps_local_time_across_dst() -> None:
    start = at(2027, 3, 22, 9, tz=BRUSSELS)
    series = Event(
        "Standup",
        start,
        start + timedelta(minutes=15),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=3, by_day=["MO"])),
    )
    locals_ = [o.event.start.astimezone(BRUSSELS) for o in series.occurrences()]
    assert [(d.day, d.hour) for d in locals_] == [(22, 9), (29, 9), (5, 9)]
    assert [o.event.start.hour for o in series.occurrences()] == [8, 7, 7]


def test_a_missing_wall_time_moves_forward_like_odoo() -> None:
    start = at(2027, 3, 27, 2, 30, tz=BRUSSELS)
    series = Event(
        "Night",
        start,
        start + timedelta(minutes=30),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("DAILY", count=2)),
    )
    second = list(series.occurrences())[1].event.start.astimezone(BRUSSELS)
    assert (second.day, second.hour, second.minute) == (28, 3, 30)


def test_exceptions_and_cancellations_shape_the_occurrences() -> None:
    start = at(2027, 1, 4, 9)
    rule = RecurrenceRule("WEEKLY", count=4, by_day=["MO"])
    keys = list(Recurrence(rule).original_starts(start, "UTC"))
    moved = Event("Moved", keys[1] + timedelta(hours=3), keys[1] + timedelta(hours=4))
    series = Event(
        "Weekly",
        start,
        start + timedelta(hours=1),
        recurrence=Recurrence(rule, exceptions={keys[1]: moved}, cancelled=[keys[2]]),
    )
    seen = [(o.original_start, o.event.title) for o in series.occurrences()]
    assert seen == [(keys[0], "Weekly"), (keys[1], "Moved"), (keys[3], "Weekly")]
    assert list(series.occurrences(after=keys[3])) == list(series.occurrences())[-1:]


def test_exception_keys_must_be_occurrences() -> None:
    start = at(2027, 1, 4, 9)
    with pytest.raises(InvalidEventError, match="not an occurrence"):
        Event(
            "Weekly",
            start,
            start + timedelta(hours=1),
            recurrence=Recurrence(
                RecurrenceRule("WEEKLY", count=2), cancelled=[start + timedelta(days=1)]
            ),
        )
    with pytest.raises(InvalidEventError, match="first occurrence"):
        Event(
            "Weekly",
            start,
            start + timedelta(hours=1),
            recurrence=Recurrence(RecurrenceRule("WEEKLY", count=2, by_day=["TU"])),
        )


def test_all_day_series_expand_to_dates() -> None:
    series = Event(
        "Holiday",
        date(2027, 1, 1),
        date(2027, 1, 2),
        recurrence=Recurrence(RecurrenceRule("YEARLY", count=3)),
    )
    assert [o.original_start for o in series.occurrences()] == [
        date(2027, 1, 1),
        date(2028, 1, 1),
        date(2029, 1, 1),
    ]


def test_window_contains_events_that_overlap_it() -> None:
    window = Window(at(2027, 1, 1), at(2027, 2, 1))
    assert window.contains(Event("in", at(2027, 1, 31, 23), at(2027, 2, 1, 1)))
    assert not window.contains(Event("out", at(2027, 2, 1), at(2027, 2, 1, 1)))
    start = at(2026, 12, 1)
    series = Event(
        "s", start, start + timedelta(hours=1), recurrence=Recurrence(RecurrenceRule("WEEKLY"))
    )
    assert window.contains(series)


# -- projections, fingerprints, HTML ---------------------------------------------------------


def test_projection_maps_what_a_side_cannot_hold() -> None:
    event = Event(
        "m",
        at(2027, 1, 1),
        at(2027, 1, 1, 1),
        timezone="Europe/Brussels",
        reminders=[60, 5, 15],
        privacy=Privacy.DEFAULT,
        availability=Availability.OUT_OF_OFFICE,
        attendees=[Attendee("a@x.org", kind="optional", response="accepted")],
    )
    outlook = Projection(reminders=1, privacy={Privacy.DEFAULT: Privacy.PUBLIC}, responses=False)
    odoo = Projection(
        availability={Availability.OUT_OF_OFFICE: Availability.BUSY},
        attendee_kinds=False,
        zones="recurring",
    )
    assert outlook(event).reminders == (5,)
    assert outlook(event).privacy is Privacy.PUBLIC
    assert outlook(event).attendees[0].response is Response.NEEDS_ACTION
    assert odoo(event).availability is Availability.BUSY
    assert odoo(event).timezone == "UTC"
    assert odoo(event).attendees[0].kind.value == "required"
    assert event.fingerprint(outlook) == outlook(event).fingerprint(outlook)
    assert event.fingerprint(outlook) != event.fingerprint(odoo)


def test_fingerprints_ignore_order_and_metadata() -> None:
    a = Event("m", at(2027, 1, 1), at(2027, 1, 1), categories=["b", "a"], modified=at(2026, 1, 1))
    b = Event("m", at(2027, 1, 1), at(2027, 1, 1), categories=["a", "b"])
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != attrs.evolve(a, title="n").fingerprint()


@pytest.mark.parametrize(
    ("outlook", "odoo"),
    [
        (
            '<html><head><meta charset="utf-8"><style>p{}</style></head>'
            "<body><p>Hello <b>bold</b></p></body></html>",
            "<p>Hello <b>bold</b></p>",
        ),
        ("<p onclick='x()'>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
        ("plain text", "<p>plain text</p>"),
        ('<a href="javascript:evil()">x</a>', '<p><a href="">x</a></p>'),
        ("", "   "),
    ],
)
def test_canonical_html_absorbs_provider_rewrites(outlook: str, odoo: str) -> None:
    assert canonical_html(outlook) == canonical_html(odoo)
    assert canonical_html(canonical_html(outlook)) == canonical_html(outlook)


@given(events())
def test_json_round_trip_is_lossless(event: Event) -> None:
    again = event_from_json(event_to_json(event))
    assert again == event
    assert [a.name for a in again.attendees] == [a.name for a in event.attendees]
    assert again.modified == event.modified
