"""A garbled answer during a real sync: nothing concluded, nothing written, no cursor moved.

Both calendars already hold the same events (and one each of their own),
as the issue that found it describes: a garbled Graph delta page read as an
empty page made the run say "ok", moved the delta cursor, and two clean
runs later every event was on both sides twice. Here a garbled answer of
either provider stops the run with a typed :class:`~calsync.SideUnavailableError`
before any write, the cursors stay where they were, and the clean runs that
follow end with each event once on each side. A garbled Odoo *row* is one
event left out for that run, reported, and synced once it reads well again.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from calsync import MalformedAnswerError, SideUnavailableError
from tests.e2e.test_pair import seed_both_sides
from tests.e2e.world import World, world

GRAPH_KINDS = ["truncated", "html", "null", "value-not-list", "no-value", "no-link"]
ODOO_KINDS = ["truncated", "html", "null", "no-result", "result-string", "result-not-list"]
ALL = ["Dentist", "Kick-off", "Odoo only", "Outlook only"]


def writes(made: World) -> tuple[int, int]:
    """Writes each provider received: Odoo calls that change records, Graph requests."""
    odoo = sum(made.odoo.call_count(method=name) for name in ("create", "write", "unlink", "load"))
    graph = sum(
        1
        for request in made.graph.all_requests
        if request.method in ("POST", "PATCH", "DELETE") and not request.path.endswith("$batch")
    )
    return odoo, graph


def cursors(made: World) -> dict[str, Any]:
    assert made.store is not None
    return dict(made.store.load("alice").cursors)


def fails_typed(made: World) -> None:
    """One run that must stop before writing, its cursors untouched."""
    before, sent = cursors(made), writes(made)
    with pytest.raises(SideUnavailableError) as caught:
        made.sync("alice")
    assert isinstance(caught.value.__cause__, MalformedAnswerError)
    assert writes(made) == sent, "nothing is written because of a garbled answer"
    assert cursors(made) == before


def converges(made: World) -> None:
    for _ in range(2):
        report = made.sync("alice")
        assert report.ok, str(report)
    odoo, outlook = made.titles("alice")
    assert odoo == outlook == ALL
    assert max(Counter(odoo).values()) == max(Counter(outlook).values()) == 1
    assert not made.sync("alice").outcomes


@pytest.mark.parametrize("kind", GRAPH_KINDS)
def test_a_garbled_delta_page_on_a_first_sync(tmp_path: Path, kind: str) -> None:
    with world(tmp_path, "alice", max_notifications=None) as made:
        seed_both_sides(made, "alice")
        made.graph.garble(kind, path=r"delta")
        fails_typed(made)
        converges(made)


@pytest.mark.parametrize("kind", ODOO_KINDS)
def test_a_garbled_odoo_listing_on_a_first_sync(tmp_path: Path, kind: str) -> None:
    with world(tmp_path, "alice", max_notifications=None) as made:
        seed_both_sides(made, "alice")
        made.odoo.garble(kind, model="calendar.event", method="search_read", nth=2)
        fails_typed(made)
        converges(made)


@pytest.mark.parametrize("kind", [*GRAPH_KINDS[:3], "no-link"])
def test_a_garbled_delta_page_on_a_later_sync(tmp_path: Path, kind: str) -> None:
    """The Outlook-only event made after the first sync is not lost behind a moved cursor."""
    with world(tmp_path, "alice", max_notifications=None) as made:
        seed_both_sides(made, "alice")
        made.sync("alice")
        made.users["alice"].outlook.create("Later", 20, 9)
        made.graph.garble(kind, path=r"delta")
        fails_typed(made)
        assert made.sync("alice").ok
        odoo, outlook = made.titles("alice")
        assert odoo == outlook == sorted([*ALL, "Later"])


@pytest.mark.parametrize("kind", ["wrong-types", "row-without-id"])
def test_one_garbled_odoo_row_does_not_stop_the_sync(tmp_path: Path, kind: str) -> None:
    """The others sync; what might be the garbled event's twin waits a run, not copied over it."""
    with world(tmp_path, "alice", max_notifications=None) as made:
        seed_both_sides(made, "alice")
        # Rows come by start: Kick-off (10th), Dentist, Odoo only: the Dentist row is garbled.
        made.odoo.garble(kind, model="calendar.event", method="search_read", nth=2, row=1)
        report = made.sync("alice")  # runs to its end: its writes made, none failed
        assert report.outcomes
        assert all(o.error is None for o in report.outcomes), str(report)
        assert [side for side, _, _ in report.unreadable] == ["odoo"]
        assert report.unknown == ("odoo",)
        held = sorted(h.title for h in report.held)
        assert held == ["Dentist", "Outlook only"], "creates into Odoo wait for a sound listing"
        odoo, outlook = made.titles("alice")
        assert "Odoo only" in outlook, "the others' sync went on"
        assert odoo.count("Dentist") == 1, "the garbled event's twin was not copied over it"
        converges(made)


def test_a_garbled_row_of_a_changed_event_writes_nothing_until_read(tmp_path: Path) -> None:
    with world(tmp_path, "alice", max_notifications=None) as made:
        seed_both_sides(made, "alice")
        made.sync("alice")
        alice = made.users["alice"]
        alice.odoo.write("Dentist", {"location": "Smile street"})

        def garble_dentist(rows: Any) -> Any:
            return [{**row, "start": 123} if row.get("name") == "Dentist" else row for row in rows]

        made.odoo.garble(garble_dentist, model="calendar.event", method="read")  # moved rows
        sent = writes(made)
        report = made.sync("alice")
        assert report.ok, str(report)
        assert len(report.unreadable) == 1
        assert writes(made)[1] == sent[1], "Outlook is not written because of the garbled row"
        assert made.sync("alice").ok  # the cursor stayed before it: read again, synced
        (dentist,) = alice.outlook.find("Dentist")
        assert dentist["location"]["displayName"] == "Smile street"
