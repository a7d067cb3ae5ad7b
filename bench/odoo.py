"""The Odoo side alone: what an incremental pull and bulk writes cost, in calls and seconds.

One Odoo calendar gets a bulk write of N events (default 10,000, one
multi-create: one transaction, as a first sync's write), then:

1. a full pull, and a quiet poll right after;
2. one change right after the bulk write (the bulk is inside the overlap);
3. one change after the overlap has passed (the Odoo clock moves on);
4. 1,000 updates in one ``apply`` (each event its own new title), then the
   poll that follows them (calsync's own writes come back);
5. the same 1,000 events moved to one room (rows taking the same values);
6. a window refresh: the window moved 7 days on (``window_refresh``'s default).

With ``--shared`` the calendar takes its changes from an
:class:`~calsync.adapters.odoo.OdooDatabase` (its own login standing for the
service account), as the calendars of ``bench/many.py``'s shared rounds do:
the same steps then show what one shared listing costs for a large calendar.

It runs on the Odoo emulator (in its own process; its clock is moved rather
than waited for) and, with ``--real``, on the server that ``CALSYNC_ODOO_URL``,
``_DB``, ``_ADMIN_LOGIN`` and ``_ADMIN_PASSWORD`` name: a new user is made for
the run (its events deleted and the user archived at the end), the overlap is
waited for, and with ``--odoo-log`` (or ``CALSYNC_ODOO_LOG``) the server's own
time for each step is read from its log (werkzeug's line per request: query
time plus the rest), beside the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import attrs
from pair import WINDOW, Host

import calsync
from calsync.adapters import RemoteEvent, Update
from calsync.adapters.odoo import JsonRpcTransport, OdooCalendar, OdooDatabase

#: The overlap calsync looks behind its cursor (the adapter's default).
OVERLAP = 300.0
#: How far a window refresh moves the window (``Synchronizer.window_refresh``'s default).
REFRESH = timedelta(days=7)


@attrs.define
class Step:
    """One measured step: Odoo calls by kind, wall seconds, the server's own seconds."""

    name: str
    calls: Counter[str]
    wall: float
    server: float | None = None

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Server(Protocol):
    """An Odoo server with one user's calendar, and that user's hands."""

    url: str
    db: str
    login: str
    password: str

    def bulk(self, count: int) -> list[int]: ...

    def rename(self) -> None: ...

    def advance(self, seconds: float) -> None: ...

    def server_time(self, windows: Sequence[tuple[float, float]]) -> float | None: ...

    def close(self) -> None: ...


class Emulated:
    """The emulator host of ``pair`` (its own process); its Odoo clock is moved on."""

    def __init__(self) -> None:
        self.host = Host(latency=0.0)
        hello = self.host.hello
        self.url, self.db = hello["odoo"], hello["db"]
        self.login, self.password = hello["login"], hello["password"]

    def bulk(self, count: int) -> list[int]:
        return list(self.host.ask("odoo_bulk", count=count)["ids"])

    def rename(self) -> None:
        self.host.ask("edit", side="odoo", count=1)

    def advance(self, seconds: float) -> None:
        self.host.ask("advance", seconds=seconds)

    def server_time(self, windows: Sequence[tuple[float, float]]) -> float | None:
        return None

    def close(self) -> None:
        self.host.close()


class Real:
    """A live Odoo: a new user of this run, whose hands are plain RPC calls."""

    def __init__(self, log: Path | None) -> None:
        self.url, self.db = env("URL"), env("DB")
        self.loop = asyncio.new_event_loop()
        admin = JsonRpcTransport(self.url, self.db, env("ADMIN_LOGIN"), env("ADMIN_PASSWORD"))
        self.login = f"calsync-bench-{uuid.uuid4().hex[:8]}"
        self.password = uuid.uuid4().hex
        self.loop.run_until_complete(admin.connect())
        values = {
            "name": self.login,
            "login": self.login,
            "password": self.password,
            "email": f"{self.login}@example.com",
        }
        self.uid = int(
            self.loop.run_until_complete(
                admin.call("res.users", "create", values, context={"no_reset_password": True})
            )
        )
        self.admin = admin
        self.hands = JsonRpcTransport(self.url, self.db, self.login, self.password)
        self.loop.run_until_complete(self.hands.connect())
        self.log = log
        self.ids: list[int] = []
        self.edits = 0

    def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        return self.loop.run_until_complete(self.hands.call(model, method, *args, **options))

    def bulk(self, count: int) -> list[int]:
        start = datetime(2027, 1, 4, 8)
        for first in range(0, count, 1000):  # one transaction a thousand: a worker's limit
            rows = [
                {
                    "name": f"Bulk {n}",
                    "start": f"{start + timedelta(hours=n):%Y-%m-%d %H:%M:%S}",
                    "stop": f"{start + timedelta(hours=n, minutes=30):%Y-%m-%d %H:%M:%S}",
                    "location": f"Room {n % 7}",
                }
                for n in range(first, min(count, first + 1000))
            ]
            self.ids += self.call(
                "calendar.event", "create", rows, context={"no_mail_to_attendees": True}
            )
        return self.ids

    def rename(self) -> None:
        self.edits += 1
        values = {"name": f"Renamed {self.edits}"}
        self.call("calendar.event", "write", [self.ids[0]], values)

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)

    def server_time(self, windows: Sequence[tuple[float, float]]) -> float | None:
        return server_seconds(self.log, windows) if self.log else None

    def close(self) -> None:
        """Delete the run's events and archive its user: runs do not pile up rows that every
        later listing on this server scans (Odoo has no index on ``write_date``)."""
        quiet = {"no_mail_to_attendees": True, "active_test": False}
        ids = self.call("calendar.event", "search", [("user_id", "=", self.uid)], context=quiet)
        for first in range(0, len(ids), 5000):
            self.call("calendar.event", "unlink", ids[first : first + 5000], context=quiet)
        self.loop.run_until_complete(
            self.admin.call("res.users", "write", [self.uid], {"active": False})
        )
        for transport in (self.hands, self.admin):
            self.loop.run_until_complete(transport.aclose())
        self.loop.close()


def env(name: str) -> str:
    return os.environ.get(f"CALSYNC_ODOO_{name}", "")


_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*\"POST /jsonrpc HTTP/1\.1\" 200 - "
    r"\d+ ([\d.]+) ([\d.]+)$"
)


def server_seconds(log: Path, windows: Sequence[tuple[float, float]]) -> float:
    """The server's own seconds for calls made in ``windows`` (UTC epoch start, end).

    Werkzeug logs each request when it ends, with its query time and the rest;
    each call takes the line that ended closest to its answer and fits in its wall
    time (the server is shared: other clients' lines are left to them).
    """
    lines: list[tuple[float, float]] = []
    for text in log.read_text(errors="replace").splitlines()[-200_000:]:
        match = _LINE.match(text)
        if match:
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=timezone.utc
            )
            ended = stamp.timestamp() + int(match.group(2)) / 1000
            lines.append((ended, float(match.group(3)) + float(match.group(4))))
    taken: set[int] = set()
    total = 0.0
    for start, end in windows:
        fits = [
            (abs(ended - end), index, spent)
            for index, (ended, spent) in enumerate(lines)
            if index not in taken and start - 0.01 <= ended <= end + 0.05
            and spent <= end - start + 0.05
        ]  # fmt: skip
        if fits:
            _gap, index, spent = min(fits)
            taken.add(index)
            total += spent
    return total


class Timed:
    """An Odoo transport that notes when each call was sent and answered (UTC epoch)."""

    def __init__(self, inner: JsonRpcTransport) -> None:
        self.inner = inner
        self.windows: list[tuple[float, float]] = []

    @property
    def requests(self) -> int:
        return self.inner.requests

    @property
    def version(self) -> str | None:
        return self.inner.version

    @property
    def calls(self) -> Counter[str]:
        return self.inner.calls

    def server_time(self, moment: float) -> datetime | None:
        """The server's clock, as the transport read it (the cursor's read time needs it)."""
        return self.inner.server_time(moment)

    async def connect(self) -> int:
        return await self.inner.connect()

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        started = time.time()
        try:
            return await self.inner.call(model, method, *args, **options)
        finally:
            self.windows.append((started, time.time()))

    async def aclose(self) -> None:
        await self.inner.aclose()


def _calendar(server: Server, overlap: float, shared: bool) -> tuple[OdooCalendar, list[Timed]]:
    """The user's calendar, listing alone or through an ``OdooDatabase`` (its own login
    standing for the service account), and its timed transports."""
    transports = [
        Timed(JsonRpcTransport(server.url, server.db, server.login, server.password))
        for _ in range(2 if shared else 1)
    ]
    database = (
        OdooDatabase(server.url, server.db, server.login, transport=transports[1])
        if shared
        else None
    )
    calendar = OdooCalendar(
        server.url,
        server.db,
        server.login,
        transport=transports[0],
        overlap=timedelta(seconds=overlap),
        database=database,
    )
    return calendar, transports


def _calls(transports: Sequence[Timed]) -> Counter[str]:
    """The calls of these transports so far, by kind."""
    return sum((transport.calls for transport in transports), Counter())


def measure(
    size: int, server: Server, *, overlap: float = OVERLAP, shared: bool = False
) -> list[Step]:
    """The steps of the module docstring, on ``server`` (``shared``: through an
    ``OdooDatabase``)."""
    calendar, transports = _calendar(server, overlap, shared)
    loop = asyncio.new_event_loop()
    steps: list[Step] = []

    @contextmanager
    def step(name: str) -> Iterator[None]:
        before, made = [len(t.windows) for t in transports], _calls(transports)
        started = time.perf_counter()
        yield
        wall = time.perf_counter() - started
        spent = _calls(transports)
        spent.subtract(made)
        windows = [w for t, n in zip(transports, before, strict=True) for w in t.windows[n:]]
        steps.append(Step(name, +spent, wall, server.server_time(windows)))

    try:
        loop.run_until_complete(calendar.connect())
        server.bulk(size)
        with step(f"full pull of {size:,} events"):
            listing = loop.run_until_complete(calendar.pull(None, WINDOW))
        cursor = listing.cursor
        with step("quiet poll right after the bulk write"):
            cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        server.rename()
        with step("one change right after the bulk write"):
            cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        server.advance(overlap + 1)
        server.rename()
        with step("one change after the overlap passed"):
            cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        with step("quiet poll after the overlap passed"):
            cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        items = sorted(listing.items, key=lambda item: int(item.id))[1:1001]
        renamed = [_update(item, title=f"{item.event.title} (new)") for item in items]
        with step(f"{len(renamed):,} updates, each its own title"):
            results = loop.run_until_complete(calendar.apply(renamed))
        assert all(result.ok for result in results), [r.error for r in results if not r.ok]
        with step("the poll after them (calsync's own writes)"):
            cursor = loop.run_until_complete(calendar.pull(cursor, WINDOW)).cursor
        stored = [result.stored for result in results if result.stored is not None]
        moved = [_update(item, location="Room 42") for item in stored]
        with step(f"{len(moved):,} updates, one room for all"):
            results = loop.run_until_complete(calendar.apply(moved))
        assert all(result.ok for result in results), [r.error for r in results if not r.ok]
        moved_window = calsync.Window(WINDOW.start + REFRESH, WINDOW.end + REFRESH)
        with step("window refresh (7 days on)"):
            loop.run_until_complete(calendar.pull(cursor, moved_window))
    finally:
        loop.run_until_complete(calendar.aclose())
        for transport in transports:  # the database's too
            loop.run_until_complete(transport.aclose())
        loop.close()
    return steps


def _update(item: RemoteEvent, **changes: Any) -> Update:
    return Update(f"bench-{item.id}", attrs.evolve(item.event, **changes), item)


def markdown(steps: Sequence[Step]) -> str:
    lines = [
        "| step | Odoo calls | by kind | wall time | Odoo server time |",
        "|---|---:|---|---:|---:|",
    ]
    for s in steps:
        kinds = ", ".join(f"`{name}` {count}" for name, count in sorted(s.calls.items()))
        server = f"{s.server:,.2f} s" if s.server is not None else "n/a"
        lines.append(f"| {s.name} | {s.total:,} | {kinds} | {s.wall:,.2f} s | {server} |")
    return "\n".join(lines)


def run(
    size: int, *, real: bool = False, log: Path | None = None, shared: bool = False
) -> list[Step]:
    server: Server = Real(log) if real else Emulated()
    try:
        return measure(size, server, shared=shared)
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--real", action="store_true", help="the CALSYNC_ODOO_* server")
    parser.add_argument("--odoo-log", type=Path, default=env("LOG") or None)
    parser.add_argument(
        "--shared", action="store_true", help="changes from an OdooDatabase's shared listing"
    )
    args = parser.parse_args()
    print(markdown(run(args.size, real=args.real, log=args.odoo_log, shared=args.shared)))


if __name__ == "__main__":
    main()
