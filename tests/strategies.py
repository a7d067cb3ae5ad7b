"""Hypothesis strategies for calsync's model, shared by the test suite."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
from hypothesis import assume
from hypothesis import strategies as st

from calsync.model import (
    Attendee,
    AttendeeKind,
    Availability,
    Event,
    Privacy,
    Recurrence,
    RecurrenceRule,
    Response,
)

ZONES = ("UTC", "Europe/Brussels", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
TITLES = ("Standup", "Lunch", "1:1 with Bob", "Board meeting", "Dentist", "")
EMAILS = ("alice@example.com", "bob@example.com", "carol@example.org", "dan@example.net")

titles = st.sampled_from(TITLES) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20
)
descriptions = st.sampled_from(("", "Agenda", "<p>Agenda: <b>budget</b></p>", "line one\nline two"))
locations = st.sampled_from(("", "Room 1", "Brussels office", "https://meet.example.com/x"))
attendees = st.lists(
    st.builds(
        Attendee,
        email=st.sampled_from(EMAILS),
        name=st.sampled_from(("", "Someone")),
        kind=st.sampled_from(AttendeeKind),
        response=st.sampled_from(Response),
    ),
    max_size=3,
    unique_by=lambda a: a.email,
)


@st.composite
def timed_spans(draw: st.DrawFn) -> tuple[datetime, datetime, str]:
    """A start, end and zone in 2027, on quarter hours, up to three hours long."""
    zone = draw(st.sampled_from(ZONES))
    day = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    minutes = draw(st.integers(0, 95)) * 15
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)) + timedelta(
        minutes=minutes
    )
    start = local.astimezone(timezone.utc)
    length = timedelta(minutes=15 * draw(st.integers(1, 12)))
    return start, start + length, zone


@st.composite
def all_day_spans(draw: st.DrawFn) -> tuple[date, date]:
    """One to three whole days in 2027."""
    start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    return start, start + timedelta(days=draw(st.integers(1, 3)))


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
rules = st.one_of(
    st.builds(RecurrenceRule, frequency=st.just("DAILY"), count=st.integers(2, 6)),
    st.builds(  # "every weekday" (weekly on them) and every other day on some weekdays
        RecurrenceRule,
        frequency=st.just("DAILY"),
        interval=st.integers(1, 2),
        count=st.integers(2, 6),
        by_day=st.lists(st.sampled_from(WEEKDAYS), min_size=2, max_size=5, unique=True),
    ),
    st.builds(
        RecurrenceRule,
        frequency=st.just("WEEKLY"),
        interval=st.integers(1, 2),
        count=st.integers(2, 6),
        by_day=st.lists(st.sampled_from(("MO", "WE", "FR")), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        RecurrenceRule,
        frequency=st.just("MONTHLY"),
        count=st.integers(2, 4),
        by_month_day=st.integers(1, 28) | st.just(-1),
    ),
    st.builds(  # Outlook's day 29 or 30: that day, or the month's last when shorter
        RecurrenceRule,
        frequency=st.just("MONTHLY"),
        interval=st.integers(1, 2),
        count=st.integers(2, 4),
        by_month_day=st.sampled_from(((28, 29), (28, 29, 30))),
        by_set_pos=st.just(-1),
    ),
    st.builds(
        RecurrenceRule,
        frequency=st.just("MONTHLY"),
        count=st.integers(2, 4),
        by_day=st.sampled_from(("+2TU", "-1FR")),
    ),
    st.builds(  # the first or last weekday, or the second Thursday or Friday
        RecurrenceRule,
        frequency=st.just("MONTHLY"),
        count=st.integers(2, 4),
        by_day=st.sampled_from((WEEKDAYS, ("TH", "FR"))),
        by_set_pos=st.sampled_from((1, 2, -1)),
    ),
    st.builds(
        RecurrenceRule,
        frequency=st.just("YEARLY"),
        count=st.just(2),
        by_month=st.integers(1, 12),
        by_day=st.sampled_from(("+1MO", "+4TH", "-1SU")),
    ),
    st.builds(  # February's last day (Outlook's yearly February 29)
        RecurrenceRule,
        frequency=st.just("YEARLY"),
        count=st.just(2),
        by_month=st.just(2),
        by_month_day=st.just(-1),
    ),
)


@st.composite
def events(
    draw: st.DrawFn, *, recurring: bool | None = None, categories: tuple[str, ...] = ()
) -> Event:
    """A valid event; ``recurring`` forces a series (True) or a single event (False)."""
    all_day = draw(st.booleans())
    if all_day:
        start, end = draw(all_day_spans())
        zone = None
    else:
        start, end, zone = draw(timed_spans())
    event = Event(
        title=draw(titles),
        start=start,
        end=end,
        timezone=zone,
        description=draw(descriptions),
        location=draw(locations),
        attendees=draw(attendees),
        privacy=draw(st.sampled_from(Privacy)),
        availability=draw(st.sampled_from(Availability)),
        reminders=draw(st.lists(st.sampled_from((0, 5, 15, 60, 1440)), max_size=2)),
        categories=(*categories, *draw(st.lists(st.sampled_from(("Work", "Travel")), max_size=1))),
    )
    if recurring is None:
        recurring = draw(st.booleans())
    if recurring:
        recurrence = Recurrence(draw(rules))
        for base in (event.start, event.start - timedelta(days=364)):
            first = next(recurrence.original_starts(base, event.timezone))
            if fits(recurrence, first, event.timezone):
                break
        else:  # a yearly rule whose two occurrences straddle the test window
            assume(False)
        event = attrs.evolve(event, start=first, end=first + event.duration, recurrence=recurrence)
    return event


#: The window the state machine syncs: a series drawn here has every occurrence in it.
WINDOW_START = datetime(2026, 6, 1, tzinfo=timezone.utc)
WINDOW_END = datetime(2028, 6, 1, tzinfo=timezone.utc)


def fits(recurrence: Recurrence, first: date | datetime, zone: str | None) -> bool:
    """Whether every occurrence of a (counted) series starting at ``first`` is in the window.

    A yearly series can start a year after the drawn date; one whose occurrences
    leave the window would be partly out of scope, which is no sync question.
    """
    starts = list(recurrence.original_starts(first, zone, before=WINDOW_END))
    inside = bool(starts) and instant(starts[0]) >= WINDOW_START
    return inside and len(starts) == recurrence.rule.count


def instant(value: date | datetime) -> datetime:
    """A start as an instant (an all-day date at UTC midnight)."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
