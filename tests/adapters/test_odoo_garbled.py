"""Malformed Odoo answers: a typed transient error for the envelope, one unreadable event for a row.

The emulator garbles its own answers (``OdooEmulator.garble``) over both
protocols (odoorpc on ``/jsonrpc``, JSON-2 on 19.0). A garbled envelope
(truncated JSON, an HTML page, ``null``, an empty body, no ``result``, a
``result`` that is a string or an object where a list belongs) is a
:class:`~calsync.MalformedAnswerError`: no listing, no cursor, no write. A
row without an id or with fields of the wrong type is one event calsync
cannot read: reported in ``Listing.unreadable``, the others read as usual,
and the cursor stays before it so that the next pull reads it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from calsync import MalformedAnswerError, TransientError
from calsync.adapters import Create
from calsync.model import Event
from tests.adapters.odoo_support import WINDOW, OdooHarness, harness, weekly

UTC = timezone.utc
ENVELOPES = [
    "truncated",
    "html",
    "null",
    "empty",
    "no-result",
    "result-string",
    "result-not-list",
]


def meeting(title: str, day: int) -> Event:
    start = datetime(2027, 3, day, 9, tzinfo=UTC)
    return Event(title, start, start + timedelta(hours=1))


@pytest.fixture(params=["18.0", "19.0"], ids=["jsonrpc", "json2"])
def odoo(request: pytest.FixtureRequest) -> Iterator[OdooHarness]:
    with harness(request.param) as made:
        yield made


def malformed(error: BaseException) -> None:
    assert isinstance(error, MalformedAnswerError)
    assert isinstance(error, TransientError)
    assert error.code == "MalformedAnswer"
    assert error.side == "odoo"


def titles(odoo: OdooHarness, cursor: str | None = None) -> list[str]:
    listing = odoo.run(odoo.adapter.pull(cursor, WINDOW))
    return sorted(item.event.title for item in listing.items)


@pytest.mark.parametrize("kind", ENVELOPES)
def test_a_garbled_listing_is_no_listing(odoo: OdooHarness, kind: str) -> None:
    for day in (1, 2):
        odoo.hands.create(meeting(f"E{day}", day))
    odoo.odoo.garble(kind, model="calendar.event", method="search_read", nth=2)  # after _mark
    with pytest.raises(MalformedAnswerError) as caught:
        odoo.run(odoo.adapter.pull(None, WINDOW))
    malformed(caught.value)
    assert titles(odoo) == ["E1", "E2"]


@pytest.mark.parametrize("kind", ENVELOPES)
def test_a_garbled_incremental_pull_leaves_the_cursor_to_be_used_again(
    odoo: OdooHarness, kind: str
) -> None:
    first = odoo.run(odoo.adapter.pull(None, WINDOW))
    odoo.hands.create(meeting("Odoo only", 3))
    odoo.odoo.garble(kind, model="calendar.event", method="search_read")
    with pytest.raises(MalformedAnswerError) as caught:
        odoo.run(odoo.adapter.pull(first.cursor, WINDOW))
    malformed(caught.value)
    assert titles(odoo, first.cursor) == ["Odoo only"]


@pytest.mark.parametrize("kind", ["row-without-id", "wrong-types"])
def test_one_unreadable_row_does_not_stop_the_others(odoo: OdooHarness, kind: str) -> None:
    ids = [odoo.hands.create(meeting(f"E{day}", day)) for day in (1, 2, 3)]
    odoo.odoo.garble(kind, model="calendar.event", method="search_read", nth=2, row=1)
    listing = odoo.run(odoo.adapter.pull(None, WINDOW))
    assert sorted(i.event.title for i in listing.items) == ["E1", "E3"]
    assert len(listing.unreadable) == 1
    assert not listing.complete  # it may be the twin of a new event of the other side
    label, reason = next(iter(listing.unreadable.items()))
    if kind == "wrong-types":
        assert label == str(ids[1])
        assert "start" in reason
        assert listing.cursor is not None  # before E2: the next pull reads it again
        again = odoo.run(odoo.adapter.pull(listing.cursor, WINDOW))
        assert [i.event.title for i in again.items] == ["E2"]
    else:
        assert label == "calendar.event row #1"
        assert listing.cursor is None  # which event it was is unknown: start over


def test_an_unreadable_row_of_a_series_makes_the_series_unreadable(odoo: OdooHarness) -> None:
    """A series read without one of its rows would look like a series with a cancelled
    occurrence: it is left out whole."""
    odoo.hands.call("calendar.event", "create", weekly(count=4), context={})
    odoo.hands.create(meeting("Single", 1))
    odoo.odoo.garble("wrong-types", model="calendar.event", method="search_read", nth=2, row=2)
    listing = odoo.run(odoo.adapter.pull(None, WINDOW))
    assert [i.event.title for i in listing.items] == ["Single"]
    assert len(listing.unreadable) == 1


@pytest.mark.parametrize("kind", ["row-without-id", "wrong-types"])
def test_an_unreadable_row_in_fetch_is_unknown_not_gone(odoo: OdooHarness, kind: str) -> None:
    ids = [str(odoo.hands.create(meeting(f"E{day}", day))) for day in (1, 2)]
    odoo.odoo.garble(kind, model="calendar.event", method="read", row=0)
    found = odoo.run(odoo.adapter.fetch(ids))
    assert None not in found.values()  # neither is taken for deleted
    assert len(found) == 1
    again = odoo.run(odoo.adapter.fetch(ids))
    assert sorted(item.event.title for item in again.values() if item) == ["E1", "E2"]


@pytest.mark.parametrize("kind", [*ENVELOPES, "row-without-id"])
def test_a_garbled_answer_to_a_create_is_retried_without_a_duplicate(
    odoo: OdooHarness, kind: str
) -> None:
    method = "read" if kind == "row-without-id" else "load"
    odoo.odoo.garble(kind, model="calendar.event", method=method)
    (result,) = odoo.run(odoo.adapter.apply([Create("k1", meeting("Once", 4))]))
    assert isinstance(result.error, MalformedAnswerError)
    (again,) = odoo.run(odoo.adapter.apply([Create("k1", meeting("Once", 4))]))
    assert again.ok, again.error
    assert titles(odoo) == ["Once"]


LOGINS = [("18.0", "login", kind) for kind in ("truncated", "html", "null", "no-result")]
LOGINS += [("19.0", "context_get", kind) for kind in ("truncated", "html", "null", "result-string")]


@pytest.mark.parametrize(("version", "method", "kind"), LOGINS)
def test_a_garbled_answer_to_the_login_is_malformed(version: str, method: str, kind: str) -> None:
    """odoorpc's ``common.login`` or JSON-2's key check (``context_get``). (A login answered
    with a string for a uid makes odoorpc's own next call fail: Odoo refuses that uid.)"""
    with harness(version) as made:
        made.odoo.garble(kind, method=method)
        with pytest.raises(MalformedAnswerError) as caught:
            made.run(made.adapter.pull(None, WINDOW))
        malformed(caught.value)
        assert made.run(made.adapter.pull(None, WINDOW)).items == ()
