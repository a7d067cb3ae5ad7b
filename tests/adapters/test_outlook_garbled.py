"""Garbled Graph answers are typed transient errors, never an empty page or a success.

Every read path of the Outlook adapter (delta pages, series masters, event
GETs, instances, the extended-property look-up, ``$batch`` envelopes and
their inner answers) and its write answers meet each kind of garbling the
emulator makes (``GraphEmulator.garble``): a 2xx answer whose body is
truncated JSON, an HTML page, ``null``, empty, a listing whose ``value`` is
no list or missing, a delta page without a next or delta link, an object
that is no event. Each must end in :class:`~calsync.MalformedAnswerError`
(a :class:`~calsync.TransientError`): no listing, so no cursor, and no write
made because of it; and the same call made again once the answers are sound
again ends as if nothing had happened (no duplicate).
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from calsync import MalformedAnswerError, TransientError
from calsync.adapters import Create, Update
from calsync.model import Event, Recurrence, RecurrenceRule
from calsync.testing import GraphEmulator
from tests.adapters.outlook_support import WINDOW, OutlookHarness, make_adapter, user_body

UTC = timezone.utc

BYTES = ["truncated", "html", "null", "empty"]
DELTA_KINDS = [*BYTES, "value-not-list", "no-value", "no-link"]
LISTING_KINDS = [*BYTES, "value-not-list", "no-value"]
EVENT_KINDS = [*BYTES, "not-an-event"]


def single(title: str, day: int = 5) -> Event:
    start = datetime(2027, 4, day, 9, tzinfo=UTC)
    return Event(title, start, start + timedelta(hours=1), timezone="Europe/Brussels")


def weekly(title: str = "Weekly") -> Event:
    start = datetime(2027, 4, 5, 7, tzinfo=UTC)
    rule = RecurrenceRule("WEEKLY", count=5, by_day=["MO"])
    return Event(
        title, start, start + timedelta(minutes=30), timezone="Europe/Brussels",
        recurrence=Recurrence(rule),
    )  # fmt: skip


def subjects(outlook: OutlookHarness) -> list[str]:
    return sorted(str(e["subject"]) for e in outlook.graph.events(outlook.mailbox))


def writes(outlook: OutlookHarness) -> int:
    """Writes Graph received (inner requests of a ``$batch`` included)."""
    return sum(
        1
        for r in outlook.graph.all_requests
        if r.method in ("POST", "PATCH", "DELETE") and "$batch" not in r.path
    )


@pytest.fixture
def outlook() -> Iterator[OutlookHarness]:
    with GraphEmulator() as graph:
        alice = graph.add_mailbox("alice@example.com", name="Alice")
        made = OutlookHarness(graph, alice, make_adapter(graph, alice))
        try:
            yield made
        finally:
            made.close()
        assert graph.errors == []


def malformed(outlook: OutlookHarness, coroutine: Coroutine[Any, Any, Any]) -> MalformedAnswerError:
    with pytest.raises(MalformedAnswerError) as caught:
        outlook.run(coroutine)
    assert isinstance(caught.value, TransientError)
    assert caught.value.code == "MalformedAnswer"
    assert caught.value.side == "outlook"
    return caught.value


# -- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DELTA_KINDS)
def test_a_garbled_delta_page_is_no_listing(outlook: OutlookHarness, kind: str) -> None:
    for day in range(1, 4):
        outlook.graph.create_event(outlook.mailbox, user_body(single(f"E{day}", day)))
    adapter = outlook.adapter
    adapter.page_size = 2
    outlook.graph.garble(kind, path=r"delta", skip=1)  # the second page of the round
    malformed(outlook, adapter.pull(None, WINDOW))
    listing = outlook.run(adapter.pull(None, WINDOW))
    assert sorted(i.event.title for i in listing.items) == ["E1", "E2", "E3"]
    assert listing.cursor is not None


@pytest.mark.parametrize("kind", DELTA_KINDS)
def test_a_garbled_incremental_page_leaves_the_cursor_to_be_used_again(
    outlook: OutlookHarness, kind: str
) -> None:
    adapter = outlook.adapter
    first = outlook.run(adapter.pull(None, WINDOW))
    assert first.cursor is not None
    outlook.graph.create_event(outlook.mailbox, user_body(single("Outlook only")))
    outlook.graph.garble(kind, path=r"delta")
    malformed(outlook, adapter.pull(first.cursor, WINDOW))
    again = outlook.run(adapter.pull(first.cursor, WINDOW))
    assert not again.full
    assert [i.event.title for i in again.items] == ["Outlook only"]


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_a_garbled_series_master_is_no_listing(outlook: OutlookHarness, kind: str) -> None:
    outlook.graph.create_event(outlook.mailbox, user_body(weekly()))
    outlook.graph.garble(kind, inner=True, method="GET")
    malformed(outlook, outlook.adapter.pull(None, WINDOW))
    listing = outlook.run(outlook.adapter.pull(None, WINDOW))
    assert [i.event.title for i in listing.items] == ["Weekly"]


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_a_garbled_event_get_is_neither_gone_nor_read(outlook: OutlookHarness, kind: str) -> None:
    event_id = str(outlook.graph.create_event(outlook.mailbox, user_body(single("One")))["id"])
    outlook.graph.garble(kind, inner=True, method="GET")
    error = malformed(outlook, outlook.adapter.fetch([event_id]))
    assert error.event == event_id
    found = outlook.run(outlook.adapter.fetch([event_id]))
    assert found[event_id] is not None


@pytest.mark.parametrize("kind", ["truncated", "html", "null", "not-an-event"])
def test_a_garbled_batch_envelope_fails_each_of_its_reads(
    outlook: OutlookHarness, kind: str
) -> None:
    ids = [
        str(outlook.graph.create_event(outlook.mailbox, user_body(single(f"E{d}", d)))["id"])
        for d in (1, 2)
    ]
    outlook.graph.garble(kind, path=r"/\$batch$")
    malformed(outlook, outlook.adapter.fetch(ids))
    assert all(item is not None for item in outlook.run(outlook.adapter.fetch(ids)).values())


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "1", "headers": {}},  # no status
        {"id": "1", "status": "200", "headers": {}},  # a status that is no number
    ],
)
def test_an_inner_answer_without_a_status_is_malformed(
    outlook: OutlookHarness, answer: Any
) -> None:
    event_id = str(outlook.graph.create_event(outlook.mailbox, user_body(single("One")))["id"])
    outlook.graph.garble(lambda body: {"responses": [answer]}, path=r"/\$batch$")
    malformed(outlook, outlook.adapter.fetch([event_id]))


# -- writes --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_a_garbled_answer_to_a_create_is_retried_without_a_duplicate(
    outlook: OutlookHarness, kind: str
) -> None:
    adapter = outlook.adapter
    outlook.graph.garble(kind, inner=True, method="POST")
    (result,) = outlook.run(adapter.apply([Create("k1", single("Once"))]))
    assert isinstance(result.error, MalformedAnswerError)
    assert result.error.event == "k1"
    assert subjects(outlook) == ["Once"]  # made, but its answer was lost
    (again,) = outlook.run(adapter.apply([Create("k1", single("Once"))]))
    assert again.ok, again.error
    assert subjects(outlook) == ["Once"]
    assert again.stored is not None
    assert again.stored.key == "k1"


@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_a_garbled_answer_to_an_update_is_an_error(outlook: OutlookHarness, kind: str) -> None:
    adapter = outlook.adapter
    (created,) = outlook.run(adapter.apply([Create("k1", single("Draft"))]))
    assert created.stored is not None
    outlook.graph.garble(kind, inner=True, method="PATCH")
    renamed = attrs.evolve(single("Draft"), title="Final")
    (result,) = outlook.run(adapter.apply([Update("k1", renamed, created.stored)]))
    assert isinstance(result.error, MalformedAnswerError)
    assert subjects(outlook) == ["Final"]


@pytest.mark.parametrize("kind", LISTING_KINDS)
def test_a_garbled_extended_property_lookup_is_an_error(outlook: OutlookHarness, kind: str) -> None:
    """A create whose first answer was lost finds its event by the calsync key: a garbled
    answer to that look-up is no "not found" (which would create a second copy)."""
    adapter = outlook.adapter
    outlook.graph.drop(after=True, inner=True, method="POST", times=1)
    outlook.graph.garble(kind, inner=True, method="GET", path=r"/events$")
    (result,) = outlook.run(adapter.apply([Create("k1", single("Once"))]))
    assert isinstance(result.error, MalformedAnswerError)
    assert subjects(outlook) == ["Once"]
    (again,) = outlook.run(adapter.apply([Create("k1", single("Once"))]))
    assert again.ok, again.error
    assert subjects(outlook) == ["Once"]


@pytest.mark.parametrize("kind", LISTING_KINDS)
def test_a_garbled_instances_listing_writes_no_occurrence(
    outlook: OutlookHarness, kind: str
) -> None:
    adapter = outlook.adapter
    series = weekly()
    (created,) = outlook.run(adapter.apply([Create("s", series)]))
    assert created.stored is not None
    assert series.recurrence is not None
    keys = list(series.recurrence.original_starts(series.start, series.timezone))
    wanted = attrs.evolve(
        series, recurrence=Recurrence(series.recurrence.rule, cancelled=[keys[2]])
    )
    outlook.graph.garble(kind, inner=True, path=r"/instances$")
    before = writes(outlook)
    (result,) = outlook.run(adapter.apply([Update("s", wanted, created.stored)]))
    assert isinstance(result.error, MalformedAnswerError)
    assert writes(outlook) == before  # no occurrence deleted on a garbled listing
    (again,) = outlook.run(adapter.apply([Update("s", wanted, created.stored)]))
    assert again.ok, again.error
    instances = outlook.graph.instances(
        outlook.mailbox, created.stored.id, WINDOW.start, WINDOW.end
    )
    assert len(instances) == 4
