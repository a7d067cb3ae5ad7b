"""Many users at once: N pairs, each user with their own mailbox, on one Graph emulator.

For N users (20 and 50), each with an Odoo login and a mailbox on one
:class:`~calsync.testing.GraphEmulator` answering every request in 100 ms,
``calsync.sync_many`` at its defaults runs, over synchronizers kept from
round to round:

0. a first sync of the empty calendars (each user logs in to Odoo once);
1. **pull**: 10 new Outlook events per mailbox, created in Odoo;
2. **push**: 5 new Odoo events per user, created in Outlook;
3. **no-op**: nothing changed;
4. **restart**: nothing changed, synced by new synchronizers over the same state, as
   after a restart of the process (new transports: the Odoo cursors keep each
   login's uid, so no login is needed).

Each size runs twice: **alone**, each calendar listing its own changes (its
own login, kept from round to round), and **shared**, the calendars of the
database listing theirs through one :class:`~calsync.adapters.odoo.OdooDatabase`
made by the administrator (one listing and one attendee poll per round for
all of them; each calendar still reads and writes with its own login).

Per round: calsync's wall time, the requests per side (Graph's top-level ones
and those inside ``$batch``, Odoo's calls), Odoo logins, and the peak of
requests in flight per mailbox and overall as Graph's emulator saw them
(Outlook allows 4 per mailbox; the emulator answers 429 beyond).

Odoo is the emulator (in the emulators' process, a password check costing
0.31 s as on an idle 18.0 server), or a real server (``--real``, from
``CALSYNC_ODOO_URL``, ``_DB``, ``_ADMIN_LOGIN``, ``_ADMIN_PASSWORD``; users
``calsync-bench-<run>-<n>`` are created there with their own passwords, and
archived with their events deleted at the end). On
a real server, ``--odoo-log`` (or ``CALSYNC_ODOO_LOG``) gives the
server's own time per round: the werkzeug access lines of calsync's requests
(tagged with a query string Odoo ignores) carry each request's SQL and
Python time.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
from pair import Host

import calsync
from calsync.adapters.odoo import JsonRpcTransport, OdooCalendar, OdooDatabase
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore

HERE = Path(__file__).parent
WINDOW = calsync.Window(
    datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2028, 12, 1, tzinfo=timezone.utc)
)
LATENCY = 0.1
#: The real server's log (its access lines give its own time per request).
ODOO_LOG = Path(os.environ["CALSYNC_ODOO_LOG"]) if os.environ.get("CALSYNC_ODOO_LOG") else None
PULLED, PUSHED = 10, 5
#: Odoo 18's own Outlook module for 50 users (issue 16: its cron, one user after another,
#: on a real 18.0 server against the same Graph emulator), seconds per round.
MODULE_50 = {"pull": 8.7, "push": 35.3, "no-op": 5.7}
#: ``sync_many``'s keyword arguments from the command line (``--concurrency``,
#: ``--app-concurrency``); its defaults where not given
OPTIONS: dict[str, Any] = {}
#: The Odoo transports' limiter (``--odoo-in-flight``); None: the default, SERVER_LIMITER
LIMITER: calsync.ConcurrencyLimiter | None = None
MODES = ("alone", "shared")


@attrs.frozen
class ServerTime:
    """The requests of a round as the server logged them: how many, their summed time, and
    the time at least one of them was running (``busy``: concurrent requests count once)."""

    requests: int
    total: float
    busy: float

    @classmethod
    def of(cls, spans: Sequence[tuple[float, float]]) -> ServerTime:
        busy, reach = 0.0, float("-inf")
        for start, end in sorted(spans):
            if end > reach:
                busy += end - max(start, reach)
                reach = end
        return cls(len(spans), sum(end - start for start, end in spans), busy)


@attrs.define
class Round:
    """One measured round."""

    users: int
    mode: str
    name: str
    wall: float
    graph: int
    graph_inner: int
    odoo: int
    logins: int
    peak_mailbox: int
    peak_all: int
    writes: int
    failures: int
    server: ServerTime | None = None


# -- a real Odoo server --------------------------------------------------------------------------


class Tagged(JsonRpcTransport):
    """``/jsonrpc`` with a query string naming the round, for the server log."""

    ENDPOINT = "/jsonrpc"


class RealOdoo:
    """A real server: users made as its administrator, its log read for its own time."""

    def __init__(self, url: str, db: str, login: str, password: str, log: Path) -> None:
        self.url, self.db, self.log = url.rstrip("/"), db, log
        self._admin = (login, password)
        self.admin = self._admin
        self._http = httpx.Client(base_url=self.url, timeout=600)
        self._uid = self._rpc("common", "login", [db, login, password])
        if not self._uid:
            raise SystemExit(f"{url}: the administrator's login was refused")

    def _rpc(self, service: str, method: str, args: list[Any]) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
        }
        answer = self._http.post("/jsonrpc?calsync-bench=setup", json=body).json()
        if "error" in answer:
            raise SystemExit(json.dumps(answer["error"])[:2000])
        return answer.get("result")

    def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._rpc(
            "object",
            "execute_kw",
            [self.db, self._uid, self._admin[1], model, method, list(args), kwargs],
        )

    def users(self, logins: Sequence[str]) -> list[dict[str, Any]]:
        """Internal users with these logins and passwords (one call)."""
        values = [
            {
                "name": login,
                "login": login,
                "email": f"{login}@bench.example",
                "password": f"{login}-password",
                "tz": "UTC",
            }
            for login in logins
        ]
        uids = self.execute("res.users", "create", values, context={"no_reset_password": True})
        rows = self.execute("res.users", "read", uids, ["partner_id"])
        partners = {row["id"]: row["partner_id"][0] for row in rows}
        return [
            {**value, "uid": uid, "partner": partners[uid]}
            for value, uid in zip(values, uids, strict=True)
        ]

    def seed(self, users: Sequence[dict[str, Any]], count: int, first: int) -> None:
        """``count`` new events organised by each user (one call)."""
        from many_host import odoo_values

        rows = [
            {
                **odoo_values(n, f"Odoo {n} {user['login']}"),
                "user_id": user["uid"],
                "partner_ids": [(6, 0, [user["partner"]])],
            }
            for user in users
            for n in range(first, first + count)
        ]
        self.execute("calendar.event", "create", rows, context={"no_mail_to_attendees": True})

    def forget(self, users: Sequence[dict[str, Any]]) -> None:
        """Delete the users' events and archive the users: runs do not pile up rows that
        every later listing on this server scans (Odoo has no index on ``write_date``)."""
        uids = [user["uid"] for user in users]
        events = self.execute(
            "calendar.event",
            "search",
            [("user_id", "in", uids)],
            context={"active_test": False},
        )
        if events:
            self.execute("calendar.event", "unlink", events, context={"no_mail_to_attendees": True})
        self.execute("res.users", "write", uids, {"active": False})

    def server_time(self, tag: str) -> ServerTime:
        """What the server's log says of the requests tagged ``tag``."""
        tagged = r"^(\S+ \S+) .*\?calsync-bench=" + re.escape(tag)
        pattern = re.compile(tagged + r'[ #].*" \d+ - \d+ ([\d.]+) ([\d.]+)')
        spans: list[tuple[float, float]] = []
        time.sleep(0.5)  # the last lines reach the file
        with self.log.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                found = pattern.search(line)
                if found:
                    end = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                    spans.append((end - float(found.group(2)) - float(found.group(3)), end))
        return ServerTime.of(spans)

    def close(self) -> None:
        self._http.close()


# -- the rounds ----------------------------------------------------------------------------------


def writes_of(outcomes: Sequence[calsync.PairOutcome]) -> tuple[int, int]:
    """(writes made, pairs or writes that failed)."""
    made = failed = 0
    for outcome in outcomes:
        if outcome.report is None:
            failed += 1
            continue
        made += sum(1 for o in outcome.report.outcomes if o.operation.write and o.ok)
        failed += sum(1 for o in outcome.report.outcomes if o.operation.write and not o.ok)
    return made, failed


@contextmanager
def world(users: int, real: RealOdoo | None) -> Iterator[tuple[Host, list[dict[str, Any]], str]]:
    """The emulators, the users, and the run's tag."""
    run = uuid.uuid4().hex[:6]
    host = Host(LATENCY, "many_host.py", *([] if real is None else ["--no-odoo"]))
    made: list[dict[str, Any]] = []
    try:
        logins = [f"calsync-bench-{run}-{n}" for n in range(users)]
        made = host.ask("users", logins=logins)["users"]
        if real is not None:
            odoo_users = {u["login"]: u for u in real.users(logins)}
            made = [{**user, **odoo_users[user["login"]]} for user in made]
        yield host, made, run
    finally:
        host.close()
        if real is not None and made and "uid" in made[0]:  # the server's users, made
            real.forget(made)


def synchronizers(
    host: Host, users: Sequence[dict[str, Any]], real: RealOdoo | None, state: Path, mode: str
) -> tuple[list[calsync.Synchronizer], OdooDatabase | None]:
    store = SQLiteStore(state)
    url = real.url if real else host.hello["odoo"]
    db = real.db if real else host.hello["db"]
    database = None
    if mode == "shared":
        login, password = real.admin if real else ("admin", "admin")
        transport = Tagged(url, db, login, password, version="18.0", side="odoo", limiter=LIMITER)
        database = OdooDatabase(url, db, login, transport=transport)
    made = []
    for user in users:
        transport = Tagged(
            url, db, user["login"], user["password"], version="18.0", side="odoo", limiter=LIMITER
        )
        odoo = OdooCalendar(url, db, user["login"], transport=transport, database=database)
        outlook = OutlookCalendar(
            StaticToken(user["token"]), base_url=host.hello["graph"], account=user["email"]
        )
        made.append(
            calsync.Synchronizer(
                odoo,
                outlook,
                store,
                pair=user["login"],
                window=WINDOW,
                first_sync_max_notifications=None,
            )
        )
    return made, database


def transports_of(
    syncs: Sequence[calsync.Synchronizer], database: OdooDatabase | None
) -> list[Any]:
    """The Odoo transports: each calendar's, and the shared listing's."""
    found = [getattr(sync.left, "transport", None) for sync in syncs]
    return [t for t in [*found, database and database.transport] if t is not None]


def logins_of(syncs: Sequence[calsync.Synchronizer], database: OdooDatabase | None) -> int:
    return sum(
        transport.calls["common.login"]
        for transport in transports_of(syncs, database)
        if isinstance(transport, JsonRpcTransport)
    )


def requests_of(syncs: Sequence[calsync.Synchronizer], database: OdooDatabase | None) -> int:
    return sum(transport.requests for transport in transports_of(syncs, database))


def measure(
    name: str,
    mode: str,
    syncs: Sequence[calsync.Synchronizer],
    database: OdooDatabase | None,
    host: Host,
    real: RealOdoo | None,
    tag: str,
    prepare: Callable[[], object],
) -> Round:
    prepare()
    host.ask("reset")
    Tagged.ENDPOINT = f"/jsonrpc?calsync-bench={tag}"
    odoo_before = requests_of(syncs, database)
    logins_before = logins_of(syncs, database)
    started = time.perf_counter()
    outcomes = calsync.sync_many(syncs, **OPTIONS)
    wall = time.perf_counter() - started
    counts = host.ask("counts")
    made, failed = writes_of(outcomes)
    odoo_requests = requests_of(syncs, database) - odoo_before
    measured = Round(
        users=len(syncs),
        mode=mode,
        name=name,
        wall=wall,
        graph=counts["graph"],
        graph_inner=counts["graph_inner"],
        odoo=odoo_requests,
        logins=logins_of(syncs, database) - logins_before,
        peak_mailbox=counts["peak_mailbox"],
        peak_all=counts["peak_all"],
        writes=made,
        failures=failed,
    )
    if real is not None:
        measured.server = real.server_time(tag)
    return measured


def run(
    sizes: Sequence[int], real: RealOdoo | None = None, modes: Sequence[str] = MODES
) -> list[Round]:
    rounds: list[Round] = []
    for size in sizes:
        for mode in modes:
            rounds += run_one(size, mode, real)
    return rounds


def run_one(size: int, mode: str, real: RealOdoo | None) -> list[Round]:
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as folder, world(size, real) as (host, users, tag):
        syncs, database = synchronizers(host, users, real, Path(folder) / "state.sqlite3", mode)

        def seed_odoo() -> object:
            if real is not None:
                real.seed(users, PUSHED, 100)
                return None
            return host.ask("odoo", count=PUSHED, first=100)

        steps: list[tuple[str, Callable[[], object]]] = [
            ("first sync", lambda: None),
            ("pull", lambda: host.ask("outlook", count=PULLED, first=0)),
            ("push", seed_odoo),
            ("no-op", lambda: None),
        ]
        for index, (name, prepare) in enumerate(steps):
            rounds.append(
                measure(name, mode, syncs, database, host, real, f"{tag}-{index}", prepare)
            )
        close(syncs, database)
        # a new process: new adapters and transports over the same state (the cursors)
        syncs, database = synchronizers(host, users, real, Path(folder) / "state.sqlite3", mode)
        rounds.append(
            measure("restart", mode, syncs, database, host, real, f"{tag}-r", lambda: None)
        )
        close(syncs, database)
    return rounds


def close(syncs: Sequence[calsync.Synchronizer], database: OdooDatabase | None) -> None:
    for sync in syncs:
        sync.close()
    if database is not None:
        database.close()


def markdown(rounds: Sequence[Round]) -> str:
    real = any(r.server is not None for r in rounds)
    head = (
        "| users | Odoo listing | round | wall time | Odoo's module (50 users) "
        "| Graph requests (in $batch) | Odoo requests | Odoo logins "
        "| peak in flight: per mailbox / overall | writes |"
    )
    rule = "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
    if real:
        head += " Odoo server: busy (share of the wall time) / summed request time (requests) |"
        rule += "---:|"
    lines = [head, rule]
    for r in rounds:
        module = MODULE_50.get(r.name) if r.users == 50 else None
        versus = f"{module:.1f} s ({module / r.wall:.1f}x)" if module else ""
        line = (
            f"| {r.users} | {r.mode} | {r.name} | {r.wall:.2f} s | {versus} "
            f"| {r.graph} ({r.graph_inner}) | {r.odoo} | {r.logins} "
            f"| {r.peak_mailbox} / {r.peak_all} | {r.writes}"
            + (f", {r.failures} failed" if r.failures else "")
            + " |"
        )
        if r.server is not None:
            line += (
                f" {r.server.busy:.2f} s ({r.server.busy / r.wall:.0%}) / "
                f"{r.server.total:.2f} s ({r.server.requests}) |"
            )
        lines.append(line)
    return "\n".join(lines)


def real_odoo(log: Path | None) -> RealOdoo:
    names = ("URL", "DB", "ADMIN_LOGIN", "ADMIN_PASSWORD")
    missing = [f"CALSYNC_ODOO_{n}" for n in names if not os.environ.get(f"CALSYNC_ODOO_{n}")]
    if log is None:
        missing.append("the server's log (--odoo-log or CALSYNC_ODOO_LOG)")
    if missing:
        raise SystemExit(f"--real needs {', '.join(missing)}")
    assert log is not None
    url, db, login, password = (os.environ[f"CALSYNC_ODOO_{n}"] for n in names)
    return RealOdoo(url, db, login, password, log)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="20,50", help="comma-separated numbers of users")
    parser.add_argument("--real", action="store_true", help="a real Odoo (CALSYNC_ODOO_*)")
    parser.add_argument("--modes", default=",".join(MODES), help="alone, shared or both")
    parser.add_argument("--odoo-log", type=Path, default=ODOO_LOG)
    parser.add_argument("--concurrency", type=int, help="pairs at once (sync_many's default)")
    parser.add_argument(
        "--app-concurrency", type=int, help="Graph requests in flight (sync_many's default)"
    )
    parser.add_argument(
        "--odoo-in-flight", type=int, help="Odoo requests in flight (SERVER_LIMITER's 8)"
    )
    args = parser.parse_args()
    global LIMITER  # noqa: PLW0603 (a run-wide setting of this script)
    if args.odoo_in_flight is not None:
        LIMITER = calsync.ConcurrencyLimiter(per_key=args.odoo_in_flight)
    for name in ("concurrency", "app_concurrency"):
        if getattr(args, name) is not None:
            OPTIONS[name] = getattr(args, name)
    real = real_odoo(args.odoo_log) if args.real else None
    rounds = run([int(n) for n in args.users.split(",")], real, args.modes.split(","))
    print(markdown(rounds))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
