"""Record the conformance scenarios on a real Odoo, for the emulator's replay test.

    export CALSYNC_ODOO_MASTER_PASSWORD=... CALSYNC_ODOO_PG_DSN="host=127.0.0.1 port=5432 user=odoo"
    python -m tests.conformance.record http://127.0.0.1:8069
    python -m tests.conformance.record http://127.0.0.1:8069 --only "first sync" --role user

For each scenario and role, on the server at the given URL:

1. **A fresh database.** Once per recording session, the database manager
   makes a throwaway template (``db.create_database``, no demo data, admin /
   admin) and the administrator installs ``calendar`` over RPC; each scenario
   then runs on a copy of it (``db.duplicate_database``), so that every
   recording starts from the same state as a new :class:`OdooEmulator`. All
   these databases are named ``calsync_rec_*`` and dropped at the end; no
   other database is touched.
2. **A recording proxy.** The scenario talks to Odoo through a loopback HTTP
   proxy of ours (calsync's adapter and the scenario's own RPC alike), which
   forwards one request at a time and keeps every request and answer,
   refusals included. For each it notes:

   * ``at``: the time it was forwarded. Odoo stamps ``write_date`` with the
     transaction's start and shows it to the second, so a request that may
     write waits until the current second is less than half gone: its
     writes then carry the second ``at`` names, and the replay sets the
     emulator's clock to ``at``.
   * ``new_events``: the ``calendar.event`` rows the request created, in
     creation (id) order. Odoo creates a series' missing occurrences in the
     iteration order of a Python ``set``, which depends on the server
     process's hash seed; the replay hands this order to the emulator's
     ``series_order`` hook. The proxy reads it, as the administrator and
     outside the recording, after each call that may create events.
   * ``heap``: after a call that may write, the physical order (``ctid``) of
     the ``calendar_event`` and ``calendar_attendee`` rows, when it changed.
     Odoo orders attendees by ``create_date`` alone and events by ``start``,
     so rows that tie come back as PostgreSQL's sort leaves them, and that
     depends on where the rows lie in the table: on when Odoo flushed its
     writes, on HOT updates, on pruning. The proxy reads it from PostgreSQL
     itself (``CALSYNC_ODOO_PG_DSN``, without ``dbname``), read-only; the
     replay gives it to the emulator (``OdooEmulator.set_physical_order``).

3. **A file per scenario and role**, ``tests/data/odoo-recordings/<name>.json.gz``
   (gzipped JSON: the answers repeat a lot): the server's version line, the
   scenario's figure (checks passed / total) and the exchanges. The master
   password never goes through the proxy.

``tests/emulators/test_odoo_replay.py`` replays every file against the emulator.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx

from calsync.testing._server import LoopbackServer, Request, Response
from tests.conformance.play import play
from tests.conformance.rpc import OdooRPC
from tests.conformance.scenarios import SCENARIOS, Scenario
from tests.conformance.target import fresh

__all__ = ["RECORDINGS", "RecordingProxy", "main", "recording_name"]

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "odoo-recordings"
PREFIX = "calsync_rec_"
#: methods that never write (no wait for the start of a second, no look for new events)
READS = frozenset(
    {
        "check_access_rights",
        "check_object_reference",
        "context_get",
        "default_get",
        "fields_get",
        "get_external_id",
        "get_metadata",
        "has_group",
        "name_search",
        "read",
        "read_group",
        "search",
        "search_count",
        "search_read",
        "version",
        "web_read",
        "web_search_read",
    }
)
#: models whose writes may create calendar.event rows
EVENT_MODELS = frozenset({"calendar.event", "calendar.recurrence"})
#: how much of a second may be gone when a request that may write is forwarded
SAFE_FRACTION = 0.5
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def describe(path: str, body: Any) -> tuple[str, str]:
    """The model and method a request calls (``""`` when it calls none)."""
    if path.startswith("/json/2/"):
        parts = path.split("/")
        return (parts[3], parts[4]) if len(parts) > 4 else ("", "")
    params = body.get("params") if isinstance(body, dict) else None
    if not isinstance(params, dict):
        return "", ""
    if params.get("service") == "object":
        args = params.get("args") or []
        return (str(args[3]), str(args[4])) if len(args) > 4 else ("", "")
    if "model" in params and "method" in params:
        return str(params["model"]), str(params["method"])
    return "", str(params.get("method") or "")


@attrs.define
class RecordingProxy:
    """A loopback proxy to ``upstream`` that records every exchange (see the module docstring).

    ``probe`` is the administrator on the recorded database (for ``new_events``).
    """

    upstream: str
    probe: OdooRPC | None = None
    #: libpq connection string of the recorded database (for ``heap``)
    dsn: str | None = attrs.field(default=None, repr=False)
    exchanges: list[dict[str, Any]] = attrs.Factory(list)
    last_event: int = 0
    last_heap: dict[str, list[int]] = attrs.Factory(dict)
    _lock: threading.Lock = attrs.Factory(threading.Lock)
    _client: httpx.Client = attrs.Factory(lambda: httpx.Client(timeout=600))
    _server: LoopbackServer | None = None

    @property
    def url(self) -> str:
        """Where calsync and the scenario reach Odoo."""
        assert self._server is not None
        return self._server.url

    def start(self) -> RecordingProxy:
        self._server = LoopbackServer(self.forward)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._client.close()

    def forward(self, request: Request) -> Response:
        """Send one request upstream (one at a time) and keep the exchange."""
        try:
            body: Any = request.json()
        except ValueError:
            body = request.body.decode("utf-8", "replace")
        model, method = describe(request.path, body)
        writes = bool(method) and method not in READS
        # web routes answer a session cookie whose expiry is the server's clock
        timed = writes or request.path != "/jsonrpc"
        with self._lock:
            if timed:
                _wait_for_an_early_moment()
            at = _utcnow()
            started = time.monotonic()
            answer = self._client.request(
                request.method,
                f"{self.upstream}{request.target}",
                content=request.body,
                headers=_forwarded(request.headers),
            )
            elapsed = (time.monotonic() - started) * 1000
            self._client.cookies.clear()  # each client keeps its own cookies, the proxy none
            exchange: dict[str, Any] = {
                "at": at.strftime(STAMP),
                "elapsed_ms": round(elapsed, 1),
                "method": request.method,
                "path": request.target,
                "headers": _kept(request.headers),
                "request": body,
                "http_status": answer.status_code,
                "response": _decoded(answer),
            }
            if "set-cookie" in answer.headers:
                exchange["set_cookie"] = answer.headers["set-cookie"]
            if writes and model in EVENT_MODELS and self.probe is not None:
                created = self._new_events()
                if created:
                    exchange["new_events"] = created
            if writes and self.dsn is not None:
                heap = self._heap()
                if heap:
                    exchange["heap"] = heap
            self.exchanges.append(exchange)
            headers = tuple(
                (name, value)
                for name, value in answer.headers.items()
                if name.lower() in ("content-type", "set-cookie")
            )
            return Response(answer.status_code, answer.content, headers)

    def _heap(self) -> dict[str, list[int]]:
        """The tables' physical row order where it changed since the last look."""
        import psycopg

        assert self.dsn is not None
        changed = {}
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            for model in ("calendar.event", "calendar.attendee"):
                table = model.replace(".", "_")
                rows = connection.execute(f"SELECT id FROM {table} ORDER BY ctid").fetchall()
                order = [int(row[0]) for row in rows]
                if order != self.last_heap.get(model, []):
                    changed[model] = self.last_heap[model] = order
        return changed

    def _new_events(self) -> list[list[Any]]:
        """The calendar.event rows made since the last look: [id, start, stop], by id."""
        assert self.probe is not None
        rows = self.probe.call(
            "calendar.event",
            "search_read",
            [("id", ">", self.last_event)],
            ["start", "stop"],
            order="id asc",
            context={"active_test": False},
        )
        if rows:
            self.last_event = int(rows[-1]["id"])
        return [[row["id"], row["start"], row["stop"]] for row in rows]


def _wait_for_an_early_moment() -> None:
    """Wait until less than :data:`SAFE_FRACTION` of the current second is gone."""
    fraction = time.time() % 1
    if fraction > SAFE_FRACTION:
        time.sleep(1 - fraction + 0.01)


def _forwarded(headers: dict[str, str] | Any) -> dict[str, str]:
    skip = {"host", "content-length", "connection", "accept-encoding"}
    return {name: value for name, value in headers.items() if name not in skip}


def _kept(headers: dict[str, str] | Any) -> dict[str, str]:
    keep = {"content-type", "authorization", "x-odoo-database", "cookie"}
    return {name: value for name, value in headers.items() if name in keep}


def _decoded(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


# -- databases -------------------------------------------------------------------------------------


@attrs.define
class Databases:
    """Throwaway databases on the server, made and dropped through its database manager."""

    url: str
    master: str = attrs.field(repr=False)
    dsn: str = attrs.field(repr=False)
    client: httpx.Client = attrs.Factory(lambda: httpx.Client(timeout=1200))
    made: list[str] = attrs.Factory(list)

    def _db(self, method: str, *args: Any) -> Any:
        rpc = OdooRPC(self.url, "", "", "", self.client)
        return rpc.service("db", method, self.master, *args)

    def template(self) -> str:
        """A new database with ``calendar`` installed and no demo data (admin / admin)."""
        name = f"{PREFIX}{os.getpid()}_{int(time.time())}"
        self._db("create_database", name, False, "en_US", "admin", "admin")
        self.made.append(name)
        admin = OdooRPC(self.url, name, "admin", "admin", self.client)
        (module,) = admin.call("ir.module.module", "search", [("name", "=", "calendar")])
        admin.call("ir.module.module", "button_immediate_install", [module])
        return name

    def copy(self, template: str, suffix: str) -> str:
        """A copy of the template for one recording."""
        name = f"{template}_{suffix}"
        self._db("duplicate_database", template, name)
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        """Drop a database this object made (never another)."""
        if name not in self.made or not name.startswith(PREFIX):
            raise ValueError(f"{name!r} is not a throwaway database of this recorder")
        self._db("drop", name)
        self.made.remove(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.made)):
            self.drop(name)


# -- recording -------------------------------------------------------------------------------------


def recording_name(scenario: Scenario, role: str) -> str:
    """``first-sync-user``: the file name of a recording, without ``.json``."""
    return f"{scenario.name.replace(' ', '-').replace('_', '-')}-{role}"


def record(
    databases: Databases, template: str, scenario: Scenario, role: str, folder: Path
) -> Path:
    """Run one scenario as ``role`` through the proxy on a copy of the template; save it."""
    name = recording_name(scenario, role)
    db = databases.copy(template, f"{len(databases.made)}")
    proxy = RecordingProxy(
        databases.url,
        OdooRPC(databases.url, db, "admin", "admin", databases.client),
        f"{databases.dsn} dbname={db}",
    ).start()
    try:
        target = fresh(proxy.url, db)
        with tempfile.TemporaryDirectory() as work:
            checks = play(target, scenario, role, Path(work))
    finally:
        proxy.stop()
        databases.drop(db)
    recording = {
        "scenario": scenario.name,
        "role": role,
        "server": target.server_version,
        "db": db,
        "database": "a copy of a new database: db.create_database (no demo data, admin/admin), "
        "then ir.module.module.button_immediate_install of calendar",
        "checks": f"{checks.passed} / {checks.total}",
        "failed_checks": [label for label, ok, _ in checks.results if not ok],
        "exchanges": proxy.exchanges,
    }
    path = folder / f"{name}.json.gz"
    text = json.dumps(recording, indent=1, ensure_ascii=False) + "\n"
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(
        f"{name}: {checks.passed} / {checks.total} checks, {len(proxy.exchanges)} exchanges",
        flush=True,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the Odoo server, e.g. http://127.0.0.1:8069")
    parser.add_argument("--only", action="append", help="a scenario's name (repeatable)")
    parser.add_argument("--role", choices=("admin", "user"), help="only this role")
    parser.add_argument("--out", type=Path, default=RECORDINGS)
    options = parser.parse_args(argv)
    master = os.environ.get("CALSYNC_ODOO_MASTER_PASSWORD")
    dsn = os.environ.get("CALSYNC_ODOO_PG_DSN")
    if not master or not dsn:
        parser.error(
            "set CALSYNC_ODOO_MASTER_PASSWORD (the server's admin_passwd) and "
            "CALSYNC_ODOO_PG_DSN (its PostgreSQL, e.g. 'host=127.0.0.1 port=5432 user=odoo')"
        )
    logging.getLogger("calsync").setLevel(logging.ERROR)  # held events are the recording's data
    options.out.mkdir(parents=True, exist_ok=True)
    databases = Databases(options.url.rstrip("/"), master, dsn)
    chosen = [s for s in SCENARIOS if not options.only or s.name in options.only]
    try:
        template = databases.template()
        for scenario in chosen:
            for role in scenario.roles:
                if options.role in (None, role):
                    record(databases, template, scenario, role, options.out)
    finally:
        databases.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
