"""Engine benchmark: how long planning takes, as the number of events grows.

Scenarios (events per side):

* initial sync of N events per side, half of them already on both sides
  (matched, linked without writes) and half new on one side or the other;
* incremental sync of 100 changes over N existing links.

Only :func:`calsync.engine.plan` is timed (the pure engine, one core); building
the inputs is not. "Plan time" pauses the garbage collector, so it measures the
engine alone; "GC on" leaves it running, as in a program that embeds calsync,
and adds a collection of the young generations made while the plan is alive:
``plan`` pauses the collector while it runs, so what a plan's hundreds of
thousands of new objects cost it comes after the plan. Run with ``nox -s bench``
or ``python bench/engine.py``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import datetime, timedelta, timezone
from functools import partial

import attrs

from calsync.adapters import RemoteEvent
from calsync.engine import Link, Links, SideInput, SideRef, plan
from calsync.model import Event, Projection, Window

UTC = timezone.utc
WINDOW = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
START = datetime(2027, 1, 1, 8, tzinfo=UTC)
ODOO = Projection(name="odoo", zones="recurring")
OUTLOOK = Projection(name="outlook", reminders=1)


def make_event(n: int) -> Event:
    start = START + timedelta(minutes=10 * n)
    return Event(
        f"Event {n}", start, start + timedelta(minutes=30), location="Room", reminders=(15,)
    )


def initial_inputs(count: int) -> tuple[SideInput, SideInput]:
    """``count`` events per side: half shared (to match), a quarter new on each side."""
    events = [make_event(n) for n in range(count * 3 // 2)]
    shared = events[: count // 2]
    left_only = events[count // 2 : count]
    right_only = events[count : count * 3 // 2]
    left = [RemoteEvent(f"L{i}", e, "1") for i, e in enumerate([*shared, *left_only])]
    right = [RemoteEvent(f"R{i}", e, "1") for i, e in enumerate([*shared, *right_only])]
    return (
        SideInput("odoo", left, full=True, projection=ODOO),
        SideInput("outlook", right, full=True, projection=OUTLOOK),
    )


def incremental_inputs(count: int, changes: int) -> tuple[SideInput, SideInput, Links]:
    """``count`` links; ``changes`` events edited on the left since the last run."""
    events = [make_event(n) for n in range(count)]
    links = Links(
        Link(f"k{i}", e, SideRef(f"L{i}", "1"), SideRef(f"R{i}", "1")) for i, e in enumerate(events)
    )
    step = max(count // changes, 1)
    edited = [
        RemoteEvent(f"L{i}", attrs.evolve(events[i], title=f"Renamed {i}"), "2")
        for i in range(0, count, step)[:changes]
    ]
    return (
        SideInput("odoo", edited, projection=ODOO),
        SideInput("outlook", [], projection=OUTLOOK),
        links,
    )


def timed(function: object, repeat: int, *, collect: bool = False) -> float:
    """The median wall time of ``function()`` over ``repeat`` runs, GC paused unless ``collect``.

    With ``collect``, the time also holds a collection of the young generations made
    while the result is still alive: what the new objects cost the collector
    (``plan`` pauses it while it runs, so those collections come after it).
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        if not collect:
            gc.disable()
        started = time.perf_counter()
        result = function()  # type: ignore[operator]
        if collect:
            gc.collect(1)
        times.append(time.perf_counter() - started)
        del result
        gc.enable()
    return statistics.median(times)


Row = tuple[str, float, float, int]


def measure(sizes: str = "10000,100000", repeat: int = 3) -> list[Row]:
    """(scenario, median plan seconds, the same with GC on, operations) for each size."""
    rows = []
    for size in map(int, sizes.split(",")):
        left, right = initial_inputs(size)
        rows.append(row(f"initial, {size:,} events per side", left, right, [], repeat))
        left, right, links = incremental_inputs(size, 100)
        name = f"incremental, 100 changes over {size:,} links"
        rows.append(row(name, left, right, links, repeat))
    return rows


def row(
    name: str, left: SideInput, right: SideInput, links: Links | list[Link], repeat: int
) -> Row:
    """One scenario: ``plan(left, right, links)`` timed as :func:`measure` says."""
    run = partial(plan, left, right, links, window=WINDOW)
    operations = len(run().operations)
    return name, timed(run, repeat), timed(run, repeat, collect=True), operations


def markdown(rows: list[Row]) -> str:
    lines = [
        "| engine scenario | plan time | plan time, GC on | operations |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {seconds * 1000:,.1f} ms | {collected * 1000:,.1f} ms | {operations:,} |"
        for name, seconds, collected, operations in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(markdown(measure(args.sizes, args.repeat)))


if __name__ == "__main__":
    main()
