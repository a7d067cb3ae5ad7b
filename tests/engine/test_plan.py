"""The planner, case by case: one-sided changes, merges, conflicts, deletions, guards, matching."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import attrs
import pytest

from calsync import ConflictError
from calsync.adapters import Create, Delete, MailKind, Notification, RemoteEvent, Update
from calsync.engine import (
    DeletionGuard,
    DeletionRule,
    KeepBoth,
    LatestWins,
    Link,
    OperationKind,
    Prefer,
    Raise,
    SideInput,
    SideRef,
    plan,
)
from calsync.model import (
    Attendee,
    Availability,
    Event,
    Projection,
    Recurrence,
    RecurrenceRule,
    Response,
    Window,
)

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def event(title: str = "Standup", day: int = 4, **changes: object) -> Event:
    start = datetime(2027, 1, day, 9, tzinfo=UTC)
    base = Event(title, start, start + timedelta(minutes=15))
    return attrs.evolve(base, **changes)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def linked(base: Event, key: str = "k1", left_id: str = "L1", right_id: str = "R1") -> Link:
    return Link(key, base, SideRef(left_id, "lv1"), SideRef(right_id, "rv1"))


def sides(
    left: list[RemoteEvent] | None = None,
    right: list[RemoteEvent] | None = None,
    *,
    left_opts: dict[str, object] | None = None,
    right_opts: dict[str, object] | None = None,
) -> tuple[SideInput, SideInput]:
    """An "odoo" and an "outlook" side with these items and SideInput options."""
    return (
        SideInput("odoo", left or [], **(left_opts or {})),  # type: ignore[arg-type]
        SideInput("outlook", right or [], **(right_opts or {})),  # type: ignore[arg-type]
    )


def kinds(the_plan: object) -> list[tuple[str, str | None]]:
    return [(op.kind.value, op.side) for op in the_plan.operations]  # type: ignore[attr-defined]


# -- new events ------------------------------------------------------------------------------


def test_new_events_are_created_on_the_other_side_with_stable_keys() -> None:
    left, right = sides([RemoteEvent("L1", event("A"))], [RemoteEvent("R1", event("B", day=5))])
    first = plan(left, right, [], window=WINDOW, pair="p")
    again = plan(left, right, [], window=WINDOW, pair="p")
    assert kinds(first) == [("create", "outlook"), ("create", "odoo")]
    assert [op.key for op in first.operations] == [op.key for op in again.operations]
    assert all(op.reason.startswith("new on") for op in first.operations)


def test_first_sync_links_the_same_event_instead_of_creating_it() -> None:
    left, right = sides(
        [RemoteEvent("L1", event(" standup "))], [RemoteEvent("R1", event("Standup"))]
    )
    result = plan(left, right, [], window=WINDOW)
    assert kinds(result) == [("link", None)]
    assert "matched by title, start and end" in result.operations[0].reason
    (link,) = [link for link in result.links.values() if link is not None]
    assert (link.left.id, link.right.id) == ("L1", "R1")  # type: ignore[union-attr]


def test_matching_by_uid_survives_a_renamed_copy() -> None:
    left, right = sides(
        [RemoteEvent("L1", event("Standup"), uid="u-1")],
        [RemoteEvent("R1", event("Daily standup", day=5), uid="u-1", version="r")],
    )
    result = plan(left, right, [], window=WINDOW, rule=Prefer("outlook"))
    assert [op.kind for op in result.operations] == [OperationKind.UPDATE]
    assert "matched by uid" in result.operations[0].reason
    assert result.operations[0].side == "odoo"


def test_matching_respects_different_organisers() -> None:
    from calsync.model import Person

    left, right = sides(
        [RemoteEvent("L1", event(organizer=Person("ann@example.com")))],
        [RemoteEvent("R1", event(organizer=Person("bob@example.com")))],
    )
    assert kinds(plan(left, right, [], window=WINDOW)) == [
        ("create", "outlook"),
        ("create", "odoo"),
    ]


def test_first_match_takes_the_richer_value_a_lossy_side_cannot_hold() -> None:
    rich = event(reminders=[10, 60], availability=Availability.TENTATIVE)
    outlook_copy = event(reminders=[10], availability=Availability.TENTATIVE)
    odoo = SideInput(
        "odoo",
        [RemoteEvent("L1", rich)],
        projection=Projection(availability={Availability.TENTATIVE: Availability.BUSY}),
    )
    odoo_copy = attrs.evolve(rich, availability=Availability.BUSY)
    odoo = attrs.evolve(odoo, items=(RemoteEvent("L1", odoo_copy),))
    outlook = SideInput(
        "outlook", [RemoteEvent("R1", outlook_copy)], projection=Projection(reminders=1)
    )
    result = plan(odoo, outlook, [], window=WINDOW)
    assert not result.conflicts
    (link,) = [link for link in result.links.values() if link is not None]
    assert link.base.reminders == (10, 60)
    assert link.base.availability is Availability.TENTATIVE


def test_events_outside_the_window_are_not_created() -> None:
    old = Event("Old", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, 1, tzinfo=UTC))
    left, right = sides([RemoteEvent("L1", old)])
    assert not plan(left, right, [], window=WINDOW).operations


def test_archived_new_events_are_ignored() -> None:
    left, right = sides([RemoteEvent("L1", event(), archived=True)])
    assert not plan(left, right, [], window=WINDOW).operations


def test_creates_onto_an_incomplete_side_are_deferred() -> None:
    left, right = sides([RemoteEvent("L1", event())], right_opts={"complete": False})
    result = plan(left, right, [], window=WINDOW)
    assert not result.operations
    assert [(d.side, d.id) for d in result.deferred] == [("odoo", "L1")]


# -- changes to linked events ----------------------------------------------------------------


def test_unchanged_versions_cost_nothing() -> None:
    base = event()
    left, right = sides([RemoteEvent("L1", event("whatever"), "lv1")])
    assert not plan(left, right, [linked(base)], window=WINDOW).operations


def test_a_version_bump_without_content_change_is_bookkeeping_only() -> None:
    base = event()
    left, right = sides([RemoteEvent("L1", base, "lv2")])
    result = plan(left, right, [linked(base)], window=WINDOW)
    assert not result.operations
    assert result.links["k1"].left.version == "lv2"  # type: ignore[union-attr]


def test_a_change_on_one_side_updates_the_other() -> None:
    base = event()
    left, right = sides([RemoteEvent("L1", attrs.evolve(base, title="Renamed"), "lv2")])
    result = plan(left, right, [linked(base)], window=WINDOW)
    (op,) = result.operations
    assert (op.kind, op.side, op.reason) == (OperationKind.UPDATE, "outlook", "changed on odoo")
    assert isinstance(op.write, Update)
    assert op.write.event.title == "Renamed"
    assert op.write.current.version == "rv1"


def test_different_fields_changed_on_both_sides_merge_without_conflict() -> None:
    base = event()
    left, right = sides(
        [RemoteEvent("L1", attrs.evolve(base, title="Renamed"), "lv2")],
        [RemoteEvent("R1", attrs.evolve(base, location="Room 2"), "rv2")],
    )
    result = plan(left, right, [linked(base)], window=WINDOW)
    assert not result.conflicts
    merged = {op.side: op.write.event for op in result.operations}  # type: ignore[union-attr]
    assert merged["odoo"].location == "Room 2"
    assert merged["outlook"].title == "Renamed"


@pytest.mark.parametrize(
    ("rule", "winner"),
    [
        (LatestWins(), "outlook"),
        (LatestWins(tolerance=timedelta(hours=1)), "odoo"),
        (LatestWins(tolerance=timedelta(hours=1), tie="outlook"), "outlook"),
        (Prefer("odoo"), "odoo"),
        (lambda conflict: "odoo" if conflict.field == "title" else "outlook", "odoo"),
    ],
)
def test_same_field_conflicts_go_to_the_rule(rule: object, winner: str) -> None:
    base = event()
    left, right = sides(
        [RemoteEvent("L1", attrs.evolve(base, title="By Odoo", modified=at(1)), "lv2")],
        [RemoteEvent("R1", attrs.evolve(base, title="By Outlook", modified=at(5)), "rv2")],
    )
    result = plan(left, right, [linked(base)], window=WINDOW, rule=rule)  # type: ignore[arg-type]
    assert [c.winner for _, c in result.conflicts] == [winner]
    assert result.links["k1"].base.title == f"By {winner.capitalize()}"  # type: ignore[union-attr]
    assert "conflict on title" in result.operations[0].reason


def test_raise_stops_planning_with_a_conflict_error() -> None:
    base = event()
    left, right = sides(
        [RemoteEvent("L1", attrs.evolve(base, title="A"), "lv2")],
        [RemoteEvent("R1", attrs.evolve(base, title="B"), "rv2")],
    )
    with pytest.raises(ConflictError, match="'title' changed on both sides") as caught:
        plan(left, right, [linked(base)], window=WINDOW, rule=Raise())
    assert caught.value.field == "title"


def test_keep_both_unlinks_and_copies_each_version() -> None:
    base = event()
    left, right = sides(
        [RemoteEvent("L1", attrs.evolve(base, title="A"), "lv2")],
        [RemoteEvent("R1", attrs.evolve(base, title="B"), "rv2")],
    )
    result = plan(left, right, [linked(base)], window=WINDOW, rule=KeepBoth())
    assert kinds(result) == [("unlink", None), ("create", "outlook"), ("create", "odoo")]
    titles = {op.side: op.write.event.title for op in result.operations if op.write}  # type: ignore[union-attr]
    assert titles == {"outlook": "A", "odoo": "B"}
    assert result.links["k1"] is None


def test_attendees_merge_per_person() -> None:
    base = event(attendees=[Attendee("ann@example.com"), Attendee("bob@example.com")])
    left_now = attrs.evolve(base, attendees=[*base.attendees, Attendee("cat@example.com")])
    right_now = attrs.evolve(
        base, attendees=[Attendee("ann@example.com", response=Response.ACCEPTED)]
    )
    left, right = sides([RemoteEvent("L1", left_now, "lv2")], [RemoteEvent("R1", right_now, "rv2")])
    result = plan(left, right, [linked(base)], window=WINDOW)
    merged = result.links["k1"].base  # type: ignore[union-attr]
    assert [(a.email, a.response) for a in merged.attendees] == [
        ("ann@example.com", Response.ACCEPTED),
        ("cat@example.com", Response.NEEDS_ACTION),
    ]
    assert not result.conflicts


def test_a_lossy_side_is_compared_with_its_own_last_report() -> None:
    base = event(reminders=[10, 60])
    link = Link("k1", base, SideRef("L1", "lv1"), SideRef("R1", "rv1", seen=event(reminders=[10])))
    outlook = SideInput(
        "outlook",
        [RemoteEvent("R1", event(reminders=[10], title="Renamed"), "rv2")],
        projection=Projection(reminders=1),
    )
    result = plan(SideInput("odoo"), outlook, [link], window=WINDOW)
    (op,) = result.operations
    assert op.side == "odoo"
    assert op.write.event.reminders == (10, 60)  # type: ignore[union-attr]


def test_no_write_when_the_target_already_holds_the_merge_under_its_projection() -> None:
    base = event(availability=Availability.BUSY)
    odoo = SideInput(
        "odoo", projection=Projection(availability={Availability.TENTATIVE: Availability.BUSY})
    )
    outlook = SideInput(
        "outlook", [RemoteEvent("R1", event(availability=Availability.TENTATIVE), "rv2")]
    )
    result = plan(odoo, outlook, [linked(base)], window=WINDOW)
    assert not result.operations
    assert result.links["k1"].base.availability is Availability.TENTATIVE  # type: ignore[union-attr]


# -- series --------------------------------------------------------------------------------


def weekly() -> Event:
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    return Event(
        "Weekly",
        start,
        start + timedelta(hours=1),
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=5, by_day=["MO"])),
    )


def keys_of(series: Event) -> list[object]:
    assert series.recurrence is not None
    return list(series.recurrence.original_starts(series.start, series.timezone))


def test_exceptions_and_cancellations_merge_per_occurrence() -> None:
    base = weekly()
    keys = keys_of(base)
    rule = base.recurrence.rule  # type: ignore[union-attr]
    moved = attrs.evolve(
        base, recurrence=None, title="Moved", start=keys[1], end=keys[1] + timedelta(hours=1)
    )
    left_now = attrs.evolve(base, recurrence=Recurrence(rule, exceptions={keys[1]: moved}))
    right_now = attrs.evolve(base, recurrence=Recurrence(rule, cancelled=[keys[3]]))
    left, right = sides([RemoteEvent("L1", left_now, "lv2")], [RemoteEvent("R1", right_now, "rv2")])
    result = plan(left, right, [linked(base)], window=WINDOW)
    merged = result.links["k1"].base.recurrence  # type: ignore[union-attr]
    assert merged.exception(keys[1]).title == "Moved"
    assert merged.cancelled == {keys[3]}
    assert not result.conflicts


def test_a_new_rule_drops_exceptions_that_no_longer_exist() -> None:
    base = weekly()
    keys = keys_of(base)
    rule = base.recurrence.rule  # type: ignore[union-attr]
    with_cancel = attrs.evolve(base, recurrence=Recurrence(rule, cancelled=[keys[1]]))
    daily = attrs.evolve(base, recurrence=Recurrence(RecurrenceRule("DAILY", count=3)))
    link = linked(with_cancel)
    right = SideInput("outlook", [RemoteEvent("R1", daily, "rv2")])
    result = plan(SideInput("odoo"), right, [link], window=WINDOW)
    merged = result.links["k1"].base  # type: ignore[union-attr]
    assert merged.recurrence.rule.frequency.value == "DAILY"
    assert merged.recurrence.cancelled == {keys[1]} & set(keys_of(daily))


# -- deletions -----------------------------------------------------------------------------


def test_a_deletion_is_propagated() -> None:
    left, right = sides([], [], left_opts={"removed": ["L1"]})
    result = plan(left, right, [linked(event())], window=WINDOW)
    (op,) = result.operations
    assert (op.kind, op.side, op.reason) == (OperationKind.DELETE, "outlook", "deleted on odoo")
    assert isinstance(op.write, Delete)
    assert result.links["k1"] is None


def test_an_archive_is_a_deletion() -> None:
    base = event()
    left, right = sides([RemoteEvent("L1", base, "lv2", archived=True)])
    (op,) = plan(left, right, [linked(base)], window=WINDOW).operations
    assert (op.kind, op.reason) == (OperationKind.DELETE, "archived on odoo")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (DeletionRule.EDIT_WINS, ("create", "odoo")),
        (DeletionRule.DELETE_WINS, ("delete", "outlook")),
    ],
)
def test_delete_against_edit_follows_the_deletion_rule(
    rule: DeletionRule, expected: tuple[str, str]
) -> None:
    base = event()
    left, right = sides(
        [],
        [RemoteEvent("R1", attrs.evolve(base, title="Edited"), "rv2")],
        left_opts={"removed": ["L1"]},
    )
    result = plan(left, right, [linked(base)], window=WINDOW, deletion=rule)
    assert kinds(result) == [expected]


def test_deleted_on_both_sides_just_unlinks() -> None:
    left, right = sides([], [], left_opts={"removed": ["L1"]}, right_opts={"removed": ["R1"]})
    assert kinds(plan(left, right, [linked(event())], window=WINDOW)) == [("unlink", None)]


def test_a_full_listing_missing_a_linked_event_deletes_it() -> None:
    links = [linked(event(), "k1", "L1", "R1"), linked(event("Other", day=6), "k2", "L2", "R2")]
    left, right = sides(
        [RemoteEvent("L2", event("Other", day=6), "lv1")], [], left_opts={"full": True}
    )
    assert kinds(plan(left, right, links, window=WINDOW)) == [("delete", "outlook")]


def test_an_empty_full_listing_with_links_is_unknown_not_deleted() -> None:
    left, right = sides([], [], left_opts={"full": True})
    result = plan(left, right, [linked(event())], window=WINDOW)
    assert not result.operations
    assert result.unknown == ("odoo",)


def test_a_cut_short_listing_deletes_nothing() -> None:
    links = [linked(event(), "k1", "L1", "R1"), linked(event("Other", day=6), "k2", "L2", "R2")]
    left, right = sides(
        [RemoteEvent("L2", event("Other", day=6), "lv1")],
        [],
        left_opts={"full": True, "complete": False},
    )
    result = plan(left, right, links, window=WINDOW)
    assert not result.operations
    assert result.unknown == ("odoo",)


def test_leaving_the_window_is_not_a_deletion() -> None:
    old = Event("Old", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, 1, tzinfo=UTC))
    left, right = sides([], [], left_opts={"full": True})
    links = [linked(old), linked(event(), "k2", "L2", "R2")]
    left = attrs.evolve(left, items=(RemoteEvent("L2", event(), "lv1"),))
    assert not plan(left, right, links, window=WINDOW).operations


def test_moving_out_of_the_window_is_an_update() -> None:
    base = event()
    moved = attrs.evolve(
        base, start=datetime(2030, 1, 1, tzinfo=UTC), end=datetime(2030, 1, 1, 1, tzinfo=UTC)
    )
    left, right = sides([RemoteEvent("L1", moved, "lv2")])
    assert kinds(plan(left, right, [linked(base)], window=WINDOW)) == [("update", "outlook")]


def test_the_mass_deletion_guard_blocks_a_plan() -> None:
    links = [linked(event(day=d), f"k{d}", f"L{d}", f"R{d}") for d in range(1, 21)]
    left, right = sides([], [], left_opts={"removed": [f"L{d}" for d in range(1, 11)]})
    result = plan(left, right, links, window=WINDOW)
    assert result.deletions["outlook"] == 10
    assert result.blocked == ("outlook",)
    small = plan(*sides([], [], left_opts={"removed": ["L1", "L2"]}), links, window=WINDOW)
    assert small.blocked == ()
    assert (
        plan(left, right, links, window=WINDOW, guard=DeletionGuard(max_fraction=0.9)).blocked == ()
    )


# -- ownership -----------------------------------------------------------------------------


def invites(write: object) -> tuple[Notification, ...]:
    if isinstance(write, Create):
        return tuple(
            Notification(MailKind.INVITATION, a.email, write.event.title)
            for a in write.event.attendees
        )
    return ()


def test_a_meeting_the_account_only_attends_is_not_created_where_it_would_be_its_own() -> None:
    meeting = event(attendees=[Attendee("ann@example.com")])
    left = SideInput("odoo", [RemoteEvent("L1", meeting, read_only=True)])
    right = SideInput("outlook", notifications=invites, holds_others_meetings=False)
    result = plan(left, right, [], window=WINDOW)
    assert kinds(result) == [("skip", None)]
    assert "would become this account's own meeting" in result.operations[0].reason
    (link,) = result.links.values()
    assert link is not None
    assert link.right is None
    assert not plan(left, right, [link], window=WINDOW).operations


def test_a_meeting_someone_else_organises_is_never_created_where_it_would_be_its_own() -> None:
    """Not read-only (its copy follows its organiser), but organised by Zed: never re-sent.

    Neither as a new event nor as the copy an edit puts back after a deletion.
    """
    from calsync.model import Person

    zed = Person("zed@other.example", "Zed")
    meeting = event(organizer=zed, attendees=[Attendee("me@example.com")])
    left = SideInput("odoo", [RemoteEvent("L1", meeting)], owner_email="me@example.com")
    right = SideInput("outlook", notifications=invites, holds_others_meetings=False)
    result = plan(left, right, [], window=WINDOW)
    assert kinds(result) == [("skip", None)]
    assert result.notifications == ()

    link = Link("k1", meeting, SideRef("L1", "lv1"), SideRef("R1", "rv1", read_only=True))
    edited = RemoteEvent("L1", attrs.evolve(meeting, title="Edited"), "lv2")
    deleted_in_outlook = plan(
        attrs.evolve(left, items=(edited,)),
        attrs.evolve(right, removed=["R1"]),
        [link],
        window=WINDOW,
    )
    assert kinds(deleted_in_outlook) == [("skip", None)]
    assert deleted_in_outlook.notifications == ()

    own = attrs.evolve(meeting, organizer=Person("me@example.com"))
    assert kinds(
        plan(attrs.evolve(left, items=(RemoteEvent("L1", own),)), right, [], window=WINDOW)
    ) == [("create", "outlook")]


def test_changes_to_a_read_only_copy_only_touch_the_owner_response() -> None:
    base = event(attendees=[Attendee("me@example.com"), Attendee("ann@example.com")])
    link = Link("k1", base, SideRef("L1", "lv1"), SideRef("R1", "rv1", read_only=True))
    answered = attrs.evolve(
        base,
        title="Renamed",
        attendees=[Attendee("me@example.com", response="accepted"), Attendee("ann@example.com")],
    )
    left = SideInput("odoo", [RemoteEvent("L1", answered, "lv2")])
    right = SideInput("outlook", owner_email="me@example.com")
    (op,) = plan(left, right, [link], window=WINDOW).operations
    assert op.side == "outlook"
    assert op.write.event.title == "Standup"  # type: ignore[union-attr]
    assert op.write.event.attendees[1].response is Response.ACCEPTED  # type: ignore[union-attr]


def test_deleting_a_meeting_the_account_only_attends_declines_it() -> None:
    base = event(attendees=[Attendee("me@example.com")])
    link = Link("k1", base, SideRef("L1", "lv1"), SideRef("R1", "rv1", read_only=True))
    left = SideInput("odoo", removed=["L1"])
    right = SideInput("outlook", owner_email="me@example.com")
    result = plan(left, right, [link], window=WINDOW)
    (op,) = result.operations
    assert op.kind is OperationKind.UPDATE
    assert op.write.event.attendees[0].response is Response.DECLINED  # type: ignore[union-attr]
    assert result.links["k1"].left is None  # type: ignore[union-attr]


def test_notifications_are_listed_per_operation() -> None:
    meeting = event(attendees=[Attendee("ann@example.com"), Attendee("bob@example.com")])
    result = plan(
        SideInput("odoo", [RemoteEvent("L1", meeting)]),
        SideInput("outlook", notifications=invites),
        [],
        window=WINDOW,
    )
    assert [n.recipient for n in result.notifications] == ["ann@example.com", "bob@example.com"]


def test_all_day_events_plan_like_timed_ones() -> None:
    day = Event("Holiday", date(2027, 5, 1), date(2027, 5, 2))
    result = plan(
        SideInput("odoo", [RemoteEvent("L1", day)]), SideInput("outlook"), [], window=WINDOW
    )
    assert kinds(result) == [("create", "outlook")]


def test_a_copy_left_by_an_interrupted_run_whose_original_is_gone_is_deleted() -> None:
    """An Outlook event carrying the key of a create the journal holds as pending, with no
    Odoo event claiming it: its original was deleted since. Delete it, do not copy it back;
    without the pending create it is an ordinary new event; a meeting the account does not
    organise is left alone; an incomplete listing of the other side concludes nothing."""
    orphan = RemoteEvent("R9", event("Copy"), "rv9", key="k9")
    pending = [("outlook", "k9")]
    deleted = plan(*sides([], [orphan]), [], window=WINDOW, pending=pending)
    assert kinds(deleted) == [("delete", "outlook")]
    assert deleted.operations[0].write == Delete("k9", orphan)
    assert deleted.links == {"k9": None}
    assert kinds(plan(*sides([], [orphan]), [], window=WINDOW)) == [("create", "odoo")]
    attended = attrs.evolve(orphan, read_only=True)
    assert kinds(plan(*sides([], [attended]), [], window=WINDOW, pending=pending)) == [
        ("skip", None)
    ]
    cut = plan(
        *sides([], [orphan], left_opts={"complete": False}), [], window=WINDOW, pending=pending
    )
    assert cut.operations == ()
    assert [d.id for d in cut.deferred] == ["R9"]
