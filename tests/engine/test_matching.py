"""First-sync matching finds exactly the pairs a plain table of signatures finds.

The matcher looks signatures up by title and start day and compares start and
end in the bucket (hashing aware datetimes is slow); this checks it against
the obvious implementation, on events made to collide: few titles spelt in
several ways, few days, all-day and timed events on the same dates, shared
uids and different organisers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from calsync._engine._plan import _Matcher
from calsync.adapters import RemoteEvent
from calsync.engine import signature
from calsync.model import Event, Person

BRUSSELS = ZoneInfo("Europe/Brussels")
TITLES = ("Standup", " standup", "STANDUP ", "Stand up", "Lunch", "lunch  break", "Lunch break")


@st.composite
def events(draw: st.DrawFn) -> Event:
    day = date(2027, 3, 27) + timedelta(days=draw(st.integers(0, 2)))
    if draw(st.booleans()):
        start: date | datetime = day
        end: date | datetime = day + timedelta(days=draw(st.integers(1, 2)))
    else:
        hour = draw(st.sampled_from((0, 1, 9, 23)))
        zone = draw(st.sampled_from((timezone.utc, BRUSSELS)))  # the same instant, spelt twice
        start = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        end = start + timedelta(minutes=draw(st.sampled_from((0, 30, 60))))
    organizer = draw(st.sampled_from((None, "ann@example.com", "bob@example.com")))
    return Event(
        draw(st.sampled_from(TITLES)),
        start,
        end,
        organizer=Person(organizer) if organizer else None,
    )


def items(prefix: str) -> st.SearchStrategy[list[RemoteEvent]]:
    uids = st.sampled_from((None, None, "u-1", "u-2"))
    return st.lists(st.tuples(events(), uids), max_size=12).map(
        lambda drawn: [RemoteEvent(f"{prefix}{i}", e, uid=uid) for i, (e, uid) in enumerate(drawn)]
    )


def same_uid(item: RemoteEvent, candidate: RemoteEvent) -> bool:
    return candidate.uid == item.uid


def same_signature(item: RemoteEvent, candidate: RemoteEvent) -> bool:
    return signature(candidate.event) == signature(item.event)


def reference(left: list[RemoteEvent], right: list[RemoteEvent]) -> list[tuple[str, str, str]]:
    """Each left event takes the first free right one with its uid, else with its signature."""
    taken: set[int] = set()

    def claim(
        item: RemoteEvent, same: Callable[[RemoteEvent, RemoteEvent], bool]
    ) -> RemoteEvent | None:
        for index, candidate in enumerate(right):
            organizers = (item.event.organizer, candidate.event.organizer)
            if index in taken or (None not in organizers and organizers[0] != organizers[1]):
                continue
            if same(item, candidate):
                taken.add(index)
                return candidate
        return None

    pairs = []
    for item in left:
        found, how = None, ""
        if item.uid and any(candidate.uid for candidate in right):
            found, how = claim(item, same_uid), "matched by uid"
        if found is None:
            found, how = claim(item, same_signature), "matched by title, start and end"
        if found is not None:
            pairs.append((item.id, found.id, how))
    return pairs


@given(items("L"), items("R"))
def test_the_matcher_pairs_what_a_signature_table_pairs(
    left: list[RemoteEvent], right: list[RemoteEvent]
) -> None:
    matcher = _Matcher(right)
    pairs = []
    for item in left:
        match = matcher.take(item)
        if match is not None:
            pairs.append((item.id, match[0].id, match[1]))
    assert pairs == reference(left, right)
    paired = {right_id for _, right_id, _ in pairs}
    assert [i.id for i in matcher.remaining()] == [i.id for i in right if i.id not in paired]
