"""Planning runs with Python's cyclic garbage collector paused, and restores it after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import attrs
import pytest

from calsync import ConflictError
from calsync._collector import collector_paused
from calsync.adapters import RemoteEvent
from calsync.engine import Conflict, Link, Raise, SideInput, SideRef, plan
from calsync.model import Event, Window

UTC = timezone.utc
WINDOW = Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
START = datetime(2027, 1, 4, 9, tzinfo=UTC)


def event(n: int) -> Event:
    start = START + timedelta(minutes=10 * n)
    return Event(f"Event {n}", start, start + timedelta(minutes=30))


def first_sync(count: int) -> tuple[SideInput, SideInput]:
    """``count`` events per side, half on both (matched), half new on one side."""
    events = [event(n) for n in range(count * 3 // 2)]
    left = [RemoteEvent(f"L{i}", e, "1") for i, e in enumerate(events[:count])]
    shared = events[: count // 2]
    right_only = events[count : count * 3 // 2]
    right = [RemoteEvent(f"R{i}", e, "1") for i, e in enumerate([*shared, *right_only])]
    return SideInput("odoo", left, full=True), SideInput("outlook", right, full=True)


def one_conflict() -> tuple[SideInput, SideInput, Link]:
    base = event(0)
    left = RemoteEvent("L1", attrs.evolve(base, title="By Odoo"), "lv2")
    right = RemoteEvent("R1", attrs.evolve(base, title="By Outlook"), "rv2")
    link = Link("k1", base, SideRef("L1", "lv1"), SideRef("R1", "rv1"))
    return SideInput("odoo", [left]), SideInput("outlook", [right]), link


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_a_large_plan_sets_off_no_collection_while_it_runs() -> None:
    left, right = first_sync(5_000)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        result = plan(left, right, [], window=WINDOW)
    finally:
        gc.callbacks.remove(count)
    assert len(result.operations) == 7_500
    # the plan makes some 45,000 objects: dozens of collections if the collector ran;
    # the one it owes may come with the first allocation after it is turned back on
    assert len(collections) <= 1, collections


@pytest.mark.usefixtures("collector_on")
def test_the_rule_runs_with_the_collector_paused_and_it_is_on_again_after() -> None:
    left, right, link = one_conflict()
    seen: list[bool] = []

    def rule(conflict: Conflict) -> str:
        seen.append(gc.isenabled())
        return "odoo"

    plan(left, right, [link], window=WINDOW, rule=rule)
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_plan_that_raises_turns_the_collector_back_on() -> None:
    left, right, link = one_conflict()
    with pytest.raises(ConflictError):
        plan(left, right, [link], window=WINDOW, rule=Raise())
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        left, right, link = one_conflict()
        plan(left, right, [link], window=WINDOW, rule=lambda conflict: "odoo")
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_overlapping_pauses_end_with_the_last_one() -> None:
    first = collector_paused()
    second = collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
