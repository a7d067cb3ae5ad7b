"""A Hypothesis state machine over two memory calendars and a Synchronizer.

Two lossy sides (one keeps free/busy only and zones on series only, the other
one reminder only and no "default" privacy) receive random creates, edits,
deletes, archives, series exceptions, cancellations and new rules (every pattern
kind of ``tests.strategies.rules``), version bumps, and injected faults (failed
writes, listings cut short). After every fault-free
sync:

* both sides hold the same events under the projection they share;
* a second sync plans nothing;
* no event exists twice on a side;
* nothing a user did not delete is gone;
* every planned operation appears in the report.

Each user-created event carries a unique category token, so identity can be
checked across sides whatever edits and conflict resolutions did to it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta, timezone

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from calsync import (
    DeletionRule,
    LatestWins,
    Prefer,
    Synchronizer,
    TransientError,
    Window,
)
from calsync.adapters import RemoteEvent
from calsync.adapters.memory import MemoryCalendar, SimulatedCrash
from calsync.model import Availability, Event, Privacy, Projection, Recurrence
from calsync.stores import SQLiteStore
from tests.strategies import (
    WINDOW_END,
    WINDOW_START,
    attendees,
    descriptions,
    events,
    fits,
    locations,
    rules,
    titles,
)

ODOO_LIKE = Projection(
    name="odoo-like",
    availability={
        Availability.TENTATIVE: Availability.BUSY,
        Availability.OUT_OF_OFFICE: Availability.BUSY,
        Availability.WORKING_ELSEWHERE: Availability.BUSY,
    },
    attendee_kinds=False,
    zones="recurring",
    empty_title="(No title)",
)
OUTLOOK_LIKE = Projection(
    name="outlook-like",
    reminders=1,
    privacy={Privacy.DEFAULT: Privacy.PUBLIC},
    responses=False,
)


def shared(event: Event) -> Event:
    """What both sides can hold of an event."""
    return OUTLOOK_LIKE(ODOO_LIKE(event))


WINDOW = Window(WINDOW_START, WINDOW_END)
SIDES = ("odoo", "outlook")


def token_of(event: Event) -> str | None:
    """The identity token a test event carries at the end of its title."""
    _, mark, token = event.title.rpartition(" #")
    return token if mark else None


def titled(title: str, token: str | None) -> str:
    """A title that keeps the event's identity token."""
    return f"{title} #{token}" if token else title


class SyncMachine(RuleBasedStateMachine):
    """Random edits on two sides, synced, checked after each clean sync."""

    def __init__(self) -> None:
        super().__init__()
        ticks = itertools.count()
        base = datetime(2026, 11, 1, tzinfo=timezone.utc)

        def clock() -> datetime:
            return base + timedelta(seconds=next(ticks))

        self.sides = {
            "odoo": MemoryCalendar("odoo", projection=ODOO_LIKE, clock=clock),
            "outlook": MemoryCalendar("outlook", projection=OUTLOOK_LIKE, clock=clock),
        }
        self.tokens = itertools.count(1)
        self.created: set[str] = set()
        self.user_deleted: set[str] = set()
        self.faulty = False
        self.synced_once = False
        #: Tokens entered on both sides without a uid and not yet synced.
        self.unmatched: set[str] = set()
        #: Tokens whose two copies were told apart by an edit before the first sync.
        self.split: set[str] = set()
        self.store = SQLiteStore(":memory:")

    @initialize(
        rule=st.sampled_from(("latest", "prefer-odoo", "prefer-outlook", "callable")),
        deletion=st.sampled_from(DeletionRule),
    )
    def choose_rules(self, rule: str, deletion: DeletionRule) -> None:
        rules = {
            "latest": LatestWins(tolerance=timedelta(0)),
            "prefer-odoo": Prefer("odoo"),
            "prefer-outlook": Prefer("outlook"),
            "callable": lambda conflict: "outlook" if conflict.field == "title" else "odoo",
        }
        self.sync = Synchronizer(
            self.sides["odoo"],
            self.sides["outlook"],
            self.store,
            pair="machine",
            window=WINDOW,
            rule=rules[rule],
            deletion=deletion,
            allow_mass_deletion=True,
        )

    def teardown(self) -> None:
        self.sync.close()
        self.store.close()

    # -- the users' actions --------------------------------------------------------------------

    def _live(self, side: str) -> list[str]:
        return [e.id for e in self.sides[side].events]

    def _new_event(self, data: st.DataObject) -> Event:
        token = str(next(self.tokens))
        event = data.draw(events())
        self.created.add(token)
        return attrs.evolve(event, title=titled(event.title, token))

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def create(self, side: str, data: st.DataObject) -> None:
        self.sides[side].add(self._new_event(data))

    @rule(data=st.data(), shared_uid=st.booleans())
    def create_on_both_sides(self, data: st.DataObject, shared_uid: bool) -> None:
        """The same event entered in both calendars: calsync must link, not duplicate.

        With a shared uid (an iCalUId) the match survives edits made before the
        first sync; without one, it rests on title, start and end, and an edit of
        those before the first sync rightly makes two events.
        """
        event = self._new_event(data)
        token = token_of(event)
        for calendar in self.sides.values():
            calendar.add(event, uid=f"uid-{token}" if shared_uid else None)
        if not shared_uid and token:
            self.unmatched.add(token)

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def edit(self, side: str, data: st.DataObject) -> None:
        ids = self._live(side)
        if not ids:
            return
        event_id = data.draw(st.sampled_from(ids))
        event = self.sides[side].get(event_id).event  # type: ignore[union-attr]
        field = data.draw(
            st.sampled_from(
                (
                    "title",
                    "description",
                    "location",
                    "attendees",
                    "reminders",
                    "move",
                    "availability",
                )
            )
        )
        if field == "move":
            shift = timedelta(days=data.draw(st.integers(-3, 3)) * 7 or 7)
            changes = {"start": event.start + shift, "end": event.end + shift}
            if event.recurrence is not None:
                if event.recurrence.rule.frequency.value not in ("DAILY", "WEEKLY"):
                    return
                changes["recurrence"] = Recurrence(event.recurrence.rule)
        else:
            strategy = {
                "title": titles,
                "description": descriptions,
                "location": locations,
                "attendees": attendees,
                "reminders": st.lists(st.sampled_from((0, 10, 30)), max_size=2),
                "availability": st.sampled_from(Availability),
            }[field]
            changes = {field: data.draw(strategy)}
        token = token_of(event)
        if field == "title":
            changes["title"] = titled(changes["title"], token)
        if field in ("title", "move") and token in self.unmatched:
            self.split.add(token)  # type: ignore[arg-type]
        self.sides[side].edit(event_id, **changes)

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def respond(self, side: str, data: st.DataObject) -> None:
        ids = [i for i in self._live(side) if self.sides[side].get(i).event.attendees]  # type: ignore[union-attr]
        if not ids:
            return
        event_id = data.draw(st.sampled_from(ids))
        event = self.sides[side].get(event_id).event  # type: ignore[union-attr]
        who = data.draw(st.sampled_from(event.attendees))
        answer = data.draw(st.sampled_from(("accepted", "declined", "tentative")))
        changed = tuple(
            attrs.evolve(a, response=answer) if a == who else a for a in event.attendees
        )
        self.sides[side].edit(event_id, attendees=changed)

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def delete(self, side: str, data: st.DataObject) -> None:
        ids = self._live(side)
        if not ids:
            return
        self.delete_event(side, data.draw(st.sampled_from(ids)))

    def delete_event(self, side: str, event_id: str) -> None:
        """Delete an event as its user, remembering that a user deleted it."""
        token = token_of(self.sides[side].get(event_id).event)  # type: ignore[union-attr]
        self.sides[side].delete(event_id)
        if token:
            self.user_deleted.add(token)

    @rule(data=st.data())
    def archive(self, data: st.DataObject) -> None:
        ids = self._live("odoo")
        if not ids:
            return
        event_id = data.draw(st.sampled_from(ids))
        token = token_of(self.sides["odoo"].get(event_id).event)  # type: ignore[union-attr]
        self.sides["odoo"].archive(event_id)
        if token:
            self.user_deleted.add(token)

    def _a_series(self, side: str, data: st.DataObject) -> RemoteEvent | None:
        """One of the side's series, drawn (None when it has none)."""
        series = [e for e in self.sides[side].events if e.event.recurrence is not None]
        return data.draw(st.sampled_from(series)) if series else None

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def modify_occurrence(self, side: str, data: st.DataObject) -> None:
        item = self._a_series(side, data)
        if item is None:
            return
        recurrence = item.event.recurrence
        assert recurrence is not None
        occurrences = list(item.event.occurrences())
        if not occurrences:
            return
        occurrence = data.draw(st.sampled_from(occurrences))
        if data.draw(st.booleans()):
            if len(occurrences) == 1:
                # Cancelling the last occurrence deletes the series, as calendar apps do.
                self.delete_event(side, item.id)
                return
            cancelled = recurrence.cancelled | {occurrence.original_start}
            exceptions = [
                x for x in recurrence.exceptions if x.original_start != occurrence.original_start
            ]
            changed = Recurrence(recurrence.rule, exceptions=exceptions, cancelled=cancelled)
        else:
            modified = attrs.evolve(
                occurrence.event, title=data.draw(titles), location=data.draw(locations)
            )
            table = recurrence.exception_map
            table[occurrence.original_start] = modified
            changed = Recurrence(recurrence.rule, exceptions=table, cancelled=recurrence.cancelled)
        self.sides[side].edit(item.id, recurrence=changed)

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def change_rule(self, side: str, data: st.DataObject) -> None:
        """The whole series gets another rule (the last weekday instead of the 31st ...)."""
        item = self._a_series(side, data)
        if item is None:
            return
        event = item.event
        recurrence = Recurrence(data.draw(rules))
        first = next(recurrence.original_starts(event.start, event.timezone), None)
        if first is None or not fits(recurrence, first, event.timezone):
            return  # the series would leave the window: out of scope, not a change
        token = token_of(event)
        if first != event.start and token in self.unmatched:
            self.split.add(token)  # type: ignore[arg-type]
        self.sides[side].edit(
            item.id, start=first, end=first + event.duration, recurrence=recurrence
        )

    @rule(side=st.sampled_from(SIDES), data=st.data())
    def touch(self, side: str, data: st.DataObject) -> None:
        ids = self._live(side)
        if not ids:
            return
        self.sides[side].touch(data.draw(st.sampled_from(ids)))

    # -- faults ----------------------------------------------------------------------------------

    @rule(side=st.sampled_from(SIDES), nth=st.integers(1, 4))
    def fail_a_write(self, side: str, nth: int) -> None:
        self.sides[side].fail_write(TransientError("injected", side=side), nth=nth)
        self.faulty = True

    @rule(side=st.sampled_from(SIDES), nth=st.integers(1, 4), after=st.booleans())
    def crash_at_a_write(self, side: str, nth: int, after: bool) -> None:
        self.sides[side].crash_at_write(nth, after=after)
        self.faulty = True

    @rule(side=st.sampled_from(SIDES), after=st.integers(0, 3))
    def cut_a_listing(self, side: str, after: int) -> None:
        self.sides[side].cut_next_listing(after)
        self.faulty = True

    # -- syncing -----------------------------------------------------------------------------------

    @rule()
    def sync_now(self) -> None:
        preview = None if self.faulty else self.sync.preview()
        try:
            report = self.sync.run()
        except SimulatedCrash:
            self._clear_faults()
            return
        self.synced_once = True
        if self.faulty:
            self._clear_faults()
            return
        assert preview is not None
        for op in preview.operations:  # the engine's fast builders skip its values' type checks
            attrs.validate(op)
            if op.write is not None:
                attrs.validate(op.write)
        assert [str(o.operation) for o in report.outcomes] == [str(op) for op in preview.operations]
        assert report.ok, str(report)
        self.unmatched.clear()
        self._check_converged()

    def _clear_faults(self) -> None:
        self.faulty = False
        for calendar in self.sides.values():
            calendar._faults.writes.clear()
            calendar._faults.crashes.clear()
            calendar._faults.cut_after = None

    def _check_converged(self) -> None:
        again = self.sync.preview()
        assert not again.operations, [str(op) for op in again.operations]
        held = {
            side: Counter(shared(e.event) for e in cal.events) for side, cal in self.sides.items()
        }
        assert held["odoo"] == held["outlook"], _diff(held["odoo"], held["outlook"])
        for side, calendar in self.sides.items():
            tokens = Counter(token_of(e.event) for e in calendar.events)
            twice = [t for t, n in tokens.items() if t and n > 1 and t not in self.split]
            assert not twice, f"{side} holds {twice} twice"
            lost = self.created - self.user_deleted - set(tokens)
            assert not lost, f"{side} lost {sorted(lost)}"

    @invariant()
    def archived_events_stay_out(self) -> None:
        for calendar in self.sides.values():
            assert all(not e.archived for e in calendar.events)

    @precondition(lambda self: self.synced_once and not self.faulty)
    @invariant()
    def nothing_unsynced_is_lost(self) -> None:
        present = {token_of(e.event) for cal in self.sides.values() for e in cal.events}
        assert not (self.created - self.user_deleted - present)


def _diff(left: Counter[Event], right: Counter[Event]) -> str:
    only_left = [e.title for e in left - right]
    only_right = [e.title for e in right - left]
    return f"only on odoo: {only_left}; only on outlook: {only_right}"


TestSync = SyncMachine.TestCase
