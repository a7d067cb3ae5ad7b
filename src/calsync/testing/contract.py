"""The adapter contract: one pytest suite every calsync adapter must pass.

Subclass :class:`AdapterContract` in a test module and give it a ``harness``
fixture that yields a :class:`Harness` for a fresh, empty calendar::

    class TestMyAdapter(AdapterContract):
        @pytest.fixture
        def harness(self):
            with make_my_harness() as harness:
                yield harness

The suite covers create, read, update and delete through ``apply``; full and
incremental pulls and cursor resume; series with exceptions and cancelled
occurrences; the projection round trip (what the adapter stores is what its
projection says); and errors as results, never as exceptions. A harness lists
the optional behaviours its provider has in ``capabilities``.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

import attrs
import pytest

from calsync._errors import NotFoundError, PreconditionFailedError, ProviderError
from calsync._model._event import Event
from calsync._model._recurrence import Recurrence, RecurrenceRule
from calsync._model._values import Attendee, Availability, Privacy
from calsync._model._window import Window
from calsync._protocol import (
    CalendarAdapter,
    Create,
    Delete,
    Listing,
    RemoteEvent,
    Update,
    Write,
    WriteResult,
)

__all__ = ["CAPABILITIES", "AdapterContract", "Harness"]

T = TypeVar("T")

#: Optional behaviours a harness may declare.
CAPABILITIES = frozenset(
    {
        "optimistic_concurrency",  # a stale version is refused (412)
        "keys_in_fetch",  # fetch() reports the calsync key stored with an event
        "rejects_content",  # the harness can build content the provider refuses
    }
)

UTC = timezone.utc


class Harness(Protocol):
    """One adapter on a fresh calendar, plus the hands of its user."""

    @property
    def adapter(self) -> CalendarAdapter:
        """The adapter under test."""

    @property
    def window(self) -> Window:
        """The sync window the tests use; their events fall in 2027."""

    @property
    def capabilities(self) -> frozenset[str]:
        """Which of :data:`CAPABILITIES` the provider has."""

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the adapter's event loop."""

    def user_create(self, event: Event) -> str:
        """Create an event as the calendar's owner would in the provider's app."""

    def user_update(self, event_id: str, event: Event) -> None:
        """Change an event as its owner would."""

    def user_delete(self, event_id: str) -> None:
        """Delete an event as its owner would."""

    def rejected_event(self) -> Event:
        """An event the provider refuses (only with the ``rejects_content`` capability)."""


def _at(day: int, hour: int, minutes: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minutes, tzinfo=UTC)


def meeting(title: str = "Planning", day: int = 10) -> Event:
    """A timed single event with an attendee, in the contract's window."""
    return Event(
        title=title,
        start=_at(day, 9),
        end=_at(day, 10),
        timezone="Europe/Brussels",
        description="<p>Agenda</p>",
        location="Room 1",
        attendees=[Attendee("ann@example.com", "Ann")],
        privacy=Privacy.PRIVATE,
        availability=Availability.BUSY,
        reminders=[15],
    )


def series() -> Event:
    """A weekly series over the spring DST change, one exception, one cancelled occurrence."""
    start = datetime(2027, 3, 15, 8, 0, tzinfo=UTC)  # Monday 09:00 in Brussels
    rule = RecurrenceRule("WEEKLY", count=4, by_day=["MO"])
    plain = Event("Standup", start, start + timedelta(minutes=15), timezone="Europe/Brussels")
    keys = list(Recurrence(rule).original_starts(start, "Europe/Brussels"))
    moved = attrs.evolve(
        plain,
        title="Standup (moved)",
        start=keys[1] + timedelta(hours=2),
        end=keys[1] + timedelta(hours=2, minutes=15),
    )
    recurrence = Recurrence(rule, exceptions={keys[1]: moved}, cancelled=[keys[2]])
    return attrs.evolve(plain, recurrence=recurrence)


def all_day() -> Event:
    """A two-day all-day event around the spring DST change."""
    return Event("Conference", date(2027, 3, 27), date(2027, 3, 29))


class AdapterContract:
    """The tests every adapter passes; see the module docstring."""

    @pytest.fixture
    def harness(self) -> Harness:
        """A harness on a fresh calendar: provide it in the subclass."""
        raise NotImplementedError("give the contract subclass a `harness` fixture")

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def apply(harness: Harness, *writes: Write) -> Sequence[WriteResult]:
        results = harness.run(harness.adapter.apply(list(writes)))
        assert len(results) == len(writes)
        return results

    @staticmethod
    def create(harness: Harness, event: Event, key: str = "k1") -> RemoteEvent:
        (result,) = AdapterContract.apply(harness, Create(key, event))
        assert result.ok, result.error
        assert result.stored is not None
        return result.stored

    @staticmethod
    def fetch(harness: Harness, event_id: str) -> RemoteEvent | None:
        return harness.run(harness.adapter.fetch([event_id]))[event_id]

    @staticmethod
    def pull(harness: Harness, cursor: str | None = None) -> Listing:
        return harness.run(harness.adapter.pull(cursor, harness.window))

    @staticmethod
    def assert_holds(harness: Harness, stored: RemoteEvent, event: Event) -> None:
        projection = harness.adapter.projection
        assert stored.event.fingerprint(projection) == event.fingerprint(projection), (
            f"stored {projection(stored.event)!r}\nwanted {projection(event)!r}"
        )

    # -- create, read, update, delete ----------------------------------------------------------

    def test_create_returns_what_is_stored(self, harness: Harness) -> None:
        stored = self.create(harness, meeting())
        self.assert_holds(harness, stored, meeting())
        fetched = self.fetch(harness, stored.id)
        assert fetched is not None
        self.assert_holds(harness, fetched, meeting())
        assert fetched.version == stored.version

    def test_create_with_the_same_key_does_not_duplicate(self, harness: Harness) -> None:
        first = self.create(harness, meeting(), key="same")
        again = self.create(harness, meeting(), key="same")
        assert again.id == first.id
        listing = self.pull(harness)
        assert [item.id for item in listing.items] == [first.id]

    def test_update_changes_content_and_version(self, harness: Harness) -> None:
        stored = self.create(harness, meeting())
        changed = attrs.evolve(
            meeting(), title="Planning (moved)", start=_at(11, 14), end=_at(11, 15)
        )
        (result,) = self.apply(harness, Update("k1", changed, stored))
        assert result.ok, result.error
        assert result.stored is not None
        assert result.stored.id == stored.id
        assert result.stored.version != stored.version
        self.assert_holds(harness, result.stored, changed)

    def test_update_of_a_deleted_event_is_not_found(self, harness: Harness) -> None:
        stored = self.create(harness, meeting())
        harness.user_delete(stored.id)
        (result,) = self.apply(harness, Update("k1", meeting("Again"), stored))
        assert isinstance(result.error, NotFoundError)

    def test_stale_update_is_refused(self, harness: Harness) -> None:
        if "optimistic_concurrency" not in harness.capabilities:
            pytest.skip("the provider has no optimistic concurrency control")
        stored = self.create(harness, meeting())
        harness.user_update(stored.id, meeting("Edited by the user"))
        (result,) = self.apply(harness, Update("k1", meeting("Edited by calsync"), stored))
        assert isinstance(result.error, PreconditionFailedError)

    def test_delete_is_idempotent(self, harness: Harness) -> None:
        stored = self.create(harness, meeting())
        first, second = self.apply(harness, Delete("k1", stored), Delete("k1", stored))
        assert first.ok, first.error
        assert second.ok, second.error
        fetched = self.fetch(harness, stored.id)
        # gone, or archived (Odoo's archive: RemoteEvent.archived "counts as deleted")
        assert fetched is None or fetched.archived

    def test_one_failing_write_does_not_stop_the_others(self, harness: Harness) -> None:
        stored = self.create(harness, meeting())
        harness.user_delete(stored.id)
        results = self.apply(
            harness,
            Update("k1", meeting("Gone"), stored),
            Create("k2", meeting("Fresh", day=12)),
        )
        assert not results[0].ok
        assert results[1].ok, results[1].error

    def test_rejected_content_is_a_result_not_an_exception(self, harness: Harness) -> None:
        if "rejects_content" not in harness.capabilities:
            pytest.skip("the harness cannot build content this provider refuses")
        (result,) = self.apply(harness, Create("bad", harness.rejected_event()))
        assert isinstance(result.error, ProviderError)

    # -- pulls and cursors ---------------------------------------------------------------------

    def test_full_pull_lists_the_window(self, harness: Harness) -> None:
        inside = harness.user_create(meeting())
        harness.user_create(
            attrs.evolve(
                meeting("Long ago"),
                start=datetime(2020, 1, 1, 9, tzinfo=UTC),
                end=datetime(2020, 1, 1, 10, tzinfo=UTC),
            )
        )
        listing = self.pull(harness)
        assert listing.full
        assert listing.complete
        assert [item.id for item in listing.items] == [inside]
        self.assert_holds(harness, listing.items[0], meeting())

    def test_incremental_pull_reports_changes_once(self, harness: Harness) -> None:
        kept = harness.user_create(meeting("Kept"))
        edited = harness.user_create(meeting("Edited", day=11))
        removed = harness.user_create(meeting("Removed", day=12))
        cursor = self.pull(harness).cursor
        assert cursor is not None
        harness.user_update(edited, meeting("Edited twice", day=11))
        harness.user_delete(removed)
        added = harness.user_create(meeting("Added", day=13))
        changes = self.pull(harness, cursor)
        assert not changes.full
        changed = {item.id: item for item in changes.items}
        assert set(changed) >= {edited, added}
        assert kept not in changed
        assert self._gone(changes, removed)
        self.assert_holds(harness, changed[edited], meeting("Edited twice", day=11))
        quiet = self.pull(harness, changes.cursor)
        assert not [item for item in quiet.items if item.id in (edited, added)]

    @staticmethod
    def _gone(listing: Listing, event_id: str) -> bool:
        if event_id in listing.removed:
            return True
        return listing.present is not None and event_id not in listing.present

    def test_the_same_cursor_gives_the_same_changes(self, harness: Harness) -> None:
        harness.user_create(meeting())
        cursor = self.pull(harness).cursor
        harness.user_create(meeting("Later", day=14))
        first = self.pull(harness, cursor)
        second = self.pull(harness, cursor)
        assert sorted(i.id for i in first.items) == sorted(i.id for i in second.items)

    def test_an_unknown_cursor_starts_over(self, harness: Harness) -> None:
        created = harness.user_create(meeting())
        listing = self.pull(harness, "not-a-cursor-this-provider-ever-gave")
        assert listing.full
        assert [item.id for item in listing.items] == [created]

    # -- recurrence and the projection round trip ----------------------------------------------

    def test_series_round_trip(self, harness: Harness) -> None:
        stored = self.create(harness, series())
        self.assert_holds(harness, stored, series())
        listing = self.pull(harness)
        (item,) = listing.items
        self.assert_holds(harness, item, series())

    def test_series_exception_edit(self, harness: Harness) -> None:
        stored = self.create(harness, series())
        recurrence = series().recurrence
        assert recurrence is not None
        key = recurrence.exceptions[0].original_start
        exception = attrs.evolve(recurrence.exceptions[0].event, title="Standup (moved again)")
        changed = attrs.evolve(
            series(),
            recurrence=Recurrence(
                recurrence.rule, exceptions={key: exception}, cancelled=recurrence.cancelled
            ),
        )
        (result,) = self.apply(harness, Update("k1", changed, stored))
        assert result.ok, result.error
        assert result.stored is not None
        self.assert_holds(harness, result.stored, changed)

    def test_all_day_round_trip(self, harness: Harness) -> None:
        stored = self.create(harness, all_day())
        self.assert_holds(harness, stored, all_day())
        fetched = self.fetch(harness, stored.id)
        assert fetched is not None
        assert fetched.event.start == date(2027, 3, 27)
        assert fetched.event.end == date(2027, 3, 29)

    def test_user_edits_read_back_through_the_projection(self, harness: Harness) -> None:
        event_id = harness.user_create(meeting())
        rich = attrs.evolve(meeting(), reminders=[5, 60], availability=Availability.TENTATIVE)
        harness.user_update(event_id, rich)
        fetched = self.fetch(harness, event_id)
        assert fetched is not None
        self.assert_holds(harness, fetched, rich)

    def test_keys_come_back_in_fetch(self, harness: Harness) -> None:
        if "keys_in_fetch" not in harness.capabilities:
            pytest.skip("the provider cannot report calsync keys on fetch")
        stored = self.create(harness, meeting(), key="a-key")
        fetched = self.fetch(harness, stored.id)
        assert fetched is not None
        assert fetched.key == "a-key"

    def test_notifications_are_predicted_for_writes(self, harness: Harness) -> None:
        predicted = harness.adapter.notifications(Create("k", meeting()))
        assert isinstance(predicted, tuple)
