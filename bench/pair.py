"""The real pair benchmark: OdooCalendar ⇄ OutlookCalendar against the emulators.

For initial syncs of N events per side (half of them already on both sides)
and incremental syncs of K changes (half in Odoo, half in Outlook), it
measures the requests each side made, the floor they cannot go under, wall
time, peak memory of the syncing process and engine (planning) time. The
emulators run in another process (``emulator_host.py``), so the figures are
calsync's own.

The same pushes are also driven the way Odoo's own Outlook module does it —
one Graph request per event written, no ``$batch`` — so the two are measured
side by side in one run.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx

import calsync
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore

HERE = Path(__file__).parent
WINDOW = calsync.Window(
    datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2030, 12, 1, tzinfo=timezone.utc)
)
PAGE = 50  # Graph delta page size (calsync's default, and Odoo's module's)
BATCH = 20  # Graph $batch size
ODOO_BATCH = 500  # events per Odoo `load` call
#: Seconds the Graph emulator adds to every request: loopback is unrealistically fast.
LATENCY = 0.02


@attrs.define
class Row:
    """One measured scenario."""

    scenario: str
    odoo_requests: int
    outlook_requests: int
    outlook_inner: int
    outlook_floor: int
    odoo_floor: int
    wall: float
    peak_mb: float
    engine: float
    apply: float
    odoo_style_requests: int | None = None
    odoo_style_wall: float | None = None


class Host:
    """An emulators' process (``script``, by default ``emulator_host.py``), spoken to in
    JSON lines."""

    def __init__(
        self, latency: float = LATENCY, script: str = "emulator_host.py", *options: str
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / script), str(latency), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        return dict(json.loads(self.process.stdout.readline()))

    def ask(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write('{"op": "quit"}\n')
        self.process.stdin.close()
        self.process.wait(60)


@contextmanager
def host() -> Iterator[Host]:
    made = Host()
    try:
        yield made
    finally:
        made.close()


def synchronizer(hello: dict[str, Any], state: Path) -> calsync.Synchronizer:
    odoo = OdooCalendar(hello["odoo"], hello["db"], hello["login"], password=hello["password"])
    outlook = OutlookCalendar(
        StaticToken(hello["token"]), base_url=hello["graph"], account=hello["mailbox"]
    )
    return calsync.Synchronizer(odoo, outlook, SQLiteStore(state), window=WINDOW, pair="bench")


def measure(
    sync: calsync.Synchronizer, emulators: Host
) -> tuple[calsync.SyncReport, float, float, int]:
    """Run once: the report, wall seconds, peak MB, and Graph requests inside batches."""
    emulators.ask("reset")
    tracemalloc.start()
    started = time.perf_counter()
    report = sync.run()
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    counts = emulators.ask("counts")
    assert report.ok, str(report)
    return report, wall, peak, int(counts["graph_inner"]) - int(counts["graph"])


def writes(report: calsync.SyncReport, side: str) -> int:
    return sum(1 for o in report.outcomes if o.operation.side == side and o.operation.write)


def odoo_style_pushes(hello: dict[str, Any], count: int, *, update: bool) -> tuple[int, float]:
    """What Odoo's module sends for ``count`` Odoo-side writes: one request each, in turn."""
    headers = {"Authorization": f"Bearer {hello['odoo_style_token']}"}
    base = hello["graph"]
    started = time.perf_counter()
    requests = 0
    with httpx.Client(headers=headers, timeout=30) as client:
        ids = []
        for n in range(count):
            body = {
                "subject": f"Pushed {n}",
                "start": {"dateTime": f"2027-06-01T{n % 24:02d}:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"2027-06-01T{n % 24:02d}:30:00", "timeZone": "UTC"},
                "isOnlineMeeting": False,
            }
            answer = client.post(f"{base}/me/calendar/events", json=body)
            requests += 1
            ids.append(answer.json()["id"])
        if update:
            requests = 0
            started = time.perf_counter()
            for event_id in ids:
                client.patch(f"{base}/me/events/{event_id}", json={"subject": "Renamed"})
                requests += 1
    return requests, time.perf_counter() - started


def initial(size: int, state: Path) -> tuple[Row, calsync.Synchronizer, Host]:
    emulators = Host()
    emulators.ask("seed", count=size, shared=size // 2)
    sync = synchronizer(emulators.hello, state)
    report, wall, peak, inner = measure(sync, emulators)
    outlook_writes, odoo_writes = writes(report, "outlook"), writes(report, "odoo")
    listed = size  # Outlook's full delta round lists every event of the window
    style_requests, style_wall = odoo_style_pushes(emulators.hello, outlook_writes, update=False)
    row = Row(
        scenario=f"initial, {size:,} per side",
        odoo_requests=report.requests["odoo"],
        outlook_requests=report.requests["outlook"],
        outlook_inner=inner,
        outlook_floor=math.ceil(listed / PAGE) + math.ceil(outlook_writes / BATCH),
        odoo_floor=math.ceil(size / 1000) + (1 if odoo_writes else 0),
        wall=wall,
        peak_mb=peak,
        engine=report.timings.get("plan", 0.0),
        apply=report.timings.get("apply", 0.0),
        odoo_style_requests=math.ceil(listed / PAGE) + style_requests,
        odoo_style_wall=style_wall,
    )
    return row, sync, emulators


def incremental(changes: int, sync: calsync.Synchronizer, emulators: Host) -> Row:
    # calsync's own writes come back in the next delta round: let a quiet run absorb them,
    # so the measured run pays for the users' changes only.
    sync.run()
    in_odoo, in_outlook = changes - changes // 2, changes // 2
    emulators.ask("edit", side="odoo", count=in_odoo)
    if in_outlook:
        emulators.ask("edit", side="outlook", count=in_outlook)
    report, wall, peak, inner = measure(sync, emulators)
    style_requests, style_wall = odoo_style_pushes(emulators.hello, in_odoo, update=True)
    return Row(
        scenario=f"incremental, {changes:,} change{'' if changes == 1 else 's'}",
        odoo_requests=report.requests["odoo"],
        outlook_requests=report.requests["outlook"],
        outlook_inner=inner,
        outlook_floor=1 + math.ceil(writes(report, "outlook") / BATCH),
        odoo_floor=3 + math.ceil(writes(report, "odoo") / ODOO_BATCH),
        wall=wall,
        peak_mb=peak,
        engine=report.timings.get("plan", 0.0),
        apply=report.timings.get("apply", 0.0),
        odoo_style_requests=1 + style_requests,
        odoo_style_wall=style_wall,
    )


def run(sizes: list[int], changes: list[int]) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        for index, size in enumerate(sizes):
            row, sync, emulators = initial(size, Path(folder) / f"state-{size}.sqlite3")
            rows.append(row)
            try:
                if index == len(sizes) - 1:
                    rows.extend(incremental(k, sync, emulators) for k in changes)
            finally:
                sync.close()
                emulators.close()
    return rows


def markdown(rows: list[Row]) -> str:
    lines = [
        "| scenario | Odoo requests (floor) | Outlook requests (floor) | inside $batch "
        "| Odoo's module: Graph requests | ratio | wall time | calsync writes "
        "| Odoo's module: Outlook writes | peak memory | engine time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = (r.odoo_style_requests or 0) / max(r.outlook_requests, 1)
        lines.append(
            f"| {r.scenario} | {r.odoo_requests:,} ({r.odoo_floor:,}) "
            f"| {r.outlook_requests:,} ({r.outlook_floor:,}) | {r.outlook_inner:,} "
            f"| {r.odoo_style_requests or 0:,} | {ratio:,.1f}x | {r.wall:,.2f} s "
            f"| {r.apply:,.2f} s | {r.odoo_style_wall or 0:,.2f} s "
            f"| {r.peak_mb:,.1f} MB | {r.engine * 1000:,.1f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    print(markdown(run([1000], [1, 100])))
