"""The crash and fault matrices' machinery: one clean run, then the same run broken everywhere.

A clean run (see :mod:`tests.e2e.scenario`) is either the first two-way sync
of fifty events or the next one, after the users' edits (:data:`PHASES`). Its
requests are listed per provider, in the order they reached it. Worlds are
prepared identically and the Graph emulator hands out stable ids, so a world
runs the same plan and sends the same requests in the same order (Outlook's
``$batch`` envelopes go one at a time): the n-th request of a later run is the
n-th request of the clean one (:class:`Hit` checks it, record ids included).

A scenario prepares a fresh world, arms one fault at one request index, runs
the sync, then runs it again until a run reports ok; then it compares both
calendars and Outlook's mail log with the clean run's (:class:`Played`).

Stopping a run (the crash matrix) happens in-process: the fault's ``match``
predicate, which the emulator calls in its server thread when the chosen
request arrives, cancels the asyncio task running ``run_async()`` through
``loop.call_soon_threadsafe`` and the fault drops the connection, either
before the provider acts on the request or after it did (``after=True``).
The run dies at its next ``await``: nothing it would do later happens, no
commit. The next run is a new :class:`~calsync.Synchronizer` (new adapters,
new HTTP clients) over the same SQLite file, as a restarted process would be.
Odoo calls already running in a worker thread finish on their own, as a
request a dying process had sent would; :meth:`World.settle` waits for them.

For a write inside a ``$batch``, the Graph emulator cuts the whole batch: the
requests before it in the batch ran, and (``before``) neither it nor the rest
did, or (``after``) it did and the rest did not. A stop after the last write
of a batch is a stop after Graph ran the whole batch.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from calsync import SideUnavailableError, SyncReport
from calsync.testing._odoo._app import describe
from calsync.testing._server import Fault
from tests.e2e.scenario import LOGIN, Final, edit, seed, touch
from tests.e2e.world import World, world

#: Odoo methods that change the database.
ODOO_WRITES = frozenset({"create", "load", "write", "unlink", "action_mass_deletion", "copy"})
#: How many runs after the broken one may be needed (each one retries what is held).
MAX_RUNS = 5
_ID = re.compile(r"/(events|instances)/[^/]+")


@attrs.frozen
class Sent:
    """One request of a run, as a provider received it.

    ``what`` names the resource (the path with ids masked, or the Odoo model);
    ``subject`` pins the request down: the full path (Graph ids are stable in
    these worlds) or the record ids an Odoo call is about. Two runs that send
    equal ``Sent`` at an index sent the same request there.
    """

    provider: str
    index: int
    method: str
    what: str
    inner: bool = False
    subject: str = ""

    @property
    def write(self) -> bool:
        """Whether the request changes the provider's state."""
        if self.provider == "odoo":
            return self.method in ODOO_WRITES
        return self.method in ("POST", "PATCH", "DELETE") and not self.what.endswith("/$batch")

    @property
    def delta(self) -> bool:
        return self.provider == "graph" and "/calendarView/delta" in self.what

    def __str__(self) -> str:
        inner = " (in $batch)" if self.inner else ""
        ids = f" {self.subject}" if self.provider == "odoo" and self.subject else ""
        return f"{self.provider}#{self.index} {self.method} {self.what}{ids}{inner}"


def graph_request(request: Any) -> Sent:
    """A Graph request (top-level or inner) as :class:`Sent`."""
    path = _ID.sub(r"/\1/{id}", request.path).replace("%3D", "")
    return Sent("graph", request.index, request.method, path, request.inner, request.path)


def odoo_request(index: int, request: Any) -> Sent:
    """The ``index``-th HTTP request Odoo received as :class:`Sent` (with the ids it is about)."""
    call = describe(request)
    ids = ""
    try:
        args = request.json()["params"]["args"]
        if len(args) > 5 and args[5] and isinstance(args[5][0], list):
            ids = ",".join(str(i) for i in args[5][0])
    except (ValueError, KeyError, TypeError, IndexError):
        pass
    return Sent("odoo", index, call.method, str(call.model or request.path), subject=ids)


def graph_sent(made: World) -> list[Sent]:
    return [graph_request(request) for request in made.graph.all_requests]


def odoo_sent(made: World) -> list[Sent]:
    return [odoo_request(index, request) for index, request in enumerate(made.odoo.requests)]


def sent(made: World) -> list[Sent]:
    return graph_sent(made) + odoo_sent(made)


#: Options of the matrices' worlds: small delta pages (a round of several pages, whose
#: skip tokens can expire), a timeout short enough that a slow answer is one, yet long
#: enough that no other request meets it on a loaded CI machine (several workers per
#: core, each running both emulators and the client under one GIL): a spurious
#: timeout would shift the request the fault is aimed at.
TIMEOUT = 2.0
SLOW = 2.5
OUTLOOK: dict[str, Any] = {"page_size": 10}
#: Stable ids: every world hands out the same Outlook ids, so runs replay request by request.
GRAPH: dict[str, Any] = {"stable_ids": True}


#: The two runs the matrices break: a first sync of what both sides held, and the
#: next one, after the users' edits (:func:`tests.e2e.scenario.edit`).
PHASES = ("first", "next")


@contextmanager
def seeded(tmp_path: Path, name: str, phase: str = "first") -> Iterator[World]:
    """A fresh world ready for the run of ``phase``, request counters at zero.

    For the ``next`` phase the first sync has run (cleanly) and the users have
    made their edits since.
    """
    where = tmp_path / name
    where.mkdir(parents=True)
    with world(where, LOGIN, timeout=TIMEOUT, outlook_options=OUTLOOK, graph_options=GRAPH) as made:
        seed(made)
        if phase == "next":
            first = made.sync(LOGIN)
            assert first.ok, str(first)
            edit(made)
        made.graph.reset_counts()
        made.odoo.reset_counts()
        yield made


@attrs.frozen
class Clean:
    """The uninterrupted run of a phase: its requests, and what it leaves.

    ``touched`` is what the run leaves when Alice renames a few events after it
    (:func:`tests.e2e.scenario.touch`) and the next run syncs them: the
    reference of a run stopped, then edited, then run again.
    """

    phase: str
    final: Final
    touched: Final
    requests: tuple[Sent, ...]
    summary: str

    def writes(self, provider: str) -> list[Sent]:
        return [r for r in self.requests if r.provider == provider and r.write]

    def of(self, provider: str) -> list[Sent]:
        return [r for r in self.requests if r.provider == provider]


def clean_run(tmp_path: Path, phase: str = "first") -> Clean:
    with seeded(tmp_path, f"clean-{phase}", phase) as made:
        report = made.sync(LOGIN)
        assert report.ok, str(report)
        requests = tuple(sent(made))
        again = made.sync(LOGIN)
        assert not again.outcomes, str(again)
        final = Final.of(made)
        touch(made, phase)
        assert made.sync(LOGIN).ok
        again = made.sync(LOGIN)
        assert not again.outcomes, str(again)
        return Clean(phase, final, Final.of(made), requests, report.summary)


# -- arming one fault ----------------------------------------------------------------------------


class Hit:
    """A ``match`` predicate that picks one request and acts when it arrives.

    For Odoo it counts requests itself (the n-th request since the counters were
    reset); for Graph the emulator's ``at=`` filter picks the request. ``then``
    runs in the server thread when the request is picked.
    """

    def __init__(self, target: Sent, then: Callable[[Any], None] | None = None) -> None:
        self.target = target
        self.then = then
        self.seen: Sent | None = None
        self._count = -1
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> bool:
        if self.target.provider == "odoo":
            with self._lock:
                self._count += 1
                if self._count != self.target.index:
                    return False
            self.seen = odoo_request(self.target.index, request)
        else:
            self.seen = graph_request(request)
        if self.then is not None:
            self.then(request)
        return True


class Stopper:
    """Cancels the task running the sync, from the server thread, when its request arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[SyncReport] | None = None

    def __call__(self, _: Any) -> None:
        task = self.task
        assert task is not None, "the run's task is set before the run starts"
        self.loop.call_soon_threadsafe(task.cancel)


@attrs.define
class Armed:
    """A fault waiting for its request: the predicate, the queued faults, the clean-up."""

    hit: Hit
    faults: list[Fault]
    cleanup: Callable[[], None] = lambda: None

    @property
    def hits(self) -> int:
        return sum(f.hits for f in self.faults)


#: Stops: before the provider acts on the write, after it did, or after it did and then
#: Alice renames or deletes sources of some of the run's creates before the next run.
CRASHES = ("before", "after", "edited")
GRAPH_FAULTS = ("429", "503", "timeout", "drop", "410", "412")
ODOO_FAULTS = ("down", "restart", "session", "error", "timeout", "drop")


def applies(kind: str, target: Sent) -> bool:
    """Whether a fault kind makes sense for that request."""
    if kind in CRASHES:
        return target.write
    if kind == "410":
        return target.delta
    if kind == "412":
        return target.method == "PATCH"
    return True


def arm(made: World, target: Sent, kind: str, stopper: Stopper | None = None) -> Armed:
    """Queue the fault ``kind`` for the request ``target`` of the coming run."""
    if target.provider == "graph":
        return _arm_graph(made, target, kind, stopper)
    return _arm_odoo(made, target, kind, stopper)


#: Graph faults by kind: the emulator's fault for the request picked by ``where``.
_GRAPH: dict[str, Callable[[Any, dict[str, Any]], Fault]] = {
    "before": lambda graph, where: graph.drop(**where),
    "after": lambda graph, where: graph.drop(after=True, **where),
    "edited": lambda graph, where: graph.drop(after=True, **where),
    "429": lambda graph, where: graph.throttle(retry_after=1, **where),
    "503": lambda graph, where: graph.fail(503, **where),
    "timeout": lambda graph, where: graph.slow(SLOW, **where),
    "drop": lambda graph, where: graph.drop(after=True, **where),
    "410": lambda graph, where: graph.fail(
        410, "syncStateNotFound", "The sync state generation is not found or has expired.", **where
    ),
    "412": lambda graph, where: graph.fail(
        412, "ErrorIrresolvableConflict", "The change key is stale.", **where
    ),
}


def _arm_graph(made: World, target: Sent, kind: str, stopper: Stopper | None) -> Armed:
    hit = Hit(target, stopper)
    return Armed(hit, [_GRAPH[kind](made.graph, {"at": target.index, "match": hit})])


def _arm_odoo(made: World, target: Sent, kind: str, stopper: Stopper | None) -> Armed:
    odoo = made.odoo
    if kind in CRASHES:
        hit = Hit(target, stopper)
        return Armed(hit, [odoo.drop(match=hit, after=kind != "before")])
    if kind in ("down", "restart"):
        threads: list[threading.Thread] = []

        def outage(_: Any) -> None:
            action = odoo.down if kind == "down" else odoo.restart
            thread = threading.Thread(target=action, daemon=True)
            threads.append(thread)
            thread.start()

        def cleanup() -> None:
            for thread in threads:
                thread.join(10)
            odoo.up()

        hit = Hit(target, outage)
        return Armed(hit, [odoo.drop(match=hit)], cleanup)
    hit = Hit(target)
    if kind == "session":
        expired = "odoo.http.SessionExpiredException"
        return Armed(hit, [odoo.fail(expired, "Session expired", match=hit)])
    if kind == "error":
        message = "could not serialize access due to concurrent update"
        return Armed(hit, [odoo.fail("psycopg2.errors.SerializationFailure", message, match=hit)])
    if kind == "timeout":
        return Armed(hit, [odoo.slow(SLOW, match=hit, times=1)])
    if kind == "drop":
        return Armed(hit, [odoo.drop(match=hit, after=True)])
    raise ValueError(kind)


# -- playing one scenario ------------------------------------------------------------------------


@attrs.define
class Played:
    """What one broken run and its successors left, against the clean run."""

    target: Sent
    kind: str
    runs: int = 0
    injected: bool = False
    stopped: bool = False
    duplicates: int = 0
    losses: int = 0
    changed: int = 0
    extra_mail: int = 0
    missing_mail: int = 0
    problems: list[str] = attrs.Factory(list)

    @property
    def clean(self) -> bool:
        return not (
            self.problems
            or self.duplicates
            or self.losses
            or self.changed
            or self.extra_mail
            or self.missing_mail
        )

    def __str__(self) -> str:
        parts = [f"{self.kind} at {self.target}: {self.runs} runs"]
        for name in ("duplicates", "losses", "changed", "extra_mail", "missing_mail"):
            if getattr(self, name):
                parts.append(f"{name}={getattr(self, name)}")
        return "; ".join(parts + self.problems)


def _once(made: World, stopper: Stopper | None, played: Played) -> SyncReport | None:
    """One run, in its own task; None when it was stopped or did not finish."""
    task = made.loop.create_task(made.users[LOGIN].sync.run_async())
    if stopper is not None:
        stopper.task = task
    played.runs += 1
    try:
        return made.loop.run_until_complete(task)
    except (asyncio.CancelledError, SideUnavailableError):
        return None
    except Exception as error:  # a finding, reported with the rest
        played.problems.append(f"run {played.runs} raised {error!r}")
        return None


def play(tmp_path: Path, clean: Clean, target: Sent, kind: str) -> Played:
    """Break the clean run at ``target`` with ``kind``, run until ok, compare with the clean run.

    After a stop, each next run is a new Synchronizer (a restarted process);
    after a fault, the same one runs again (the process lived on).
    """
    played = Played(target, kind)
    crash = kind in CRASHES
    name = f"{clean.phase}-{target.provider}-{target.index}-{kind}"
    with seeded(tmp_path, name, clean.phase) as made:
        stopper = Stopper(made.loop) if crash else None
        armed = arm(made, target, kind, stopper)
        report = _once(made, stopper, played)
        made.settle()
        armed.cleanup()
        made.graph.clear_faults()
        made.odoo.clear_faults()
        _check_fault(played, armed, stopped=report is None)
        if kind == "edited":
            touch(made, clean.phase)
        while report is None or not report.ok:
            if played.runs > MAX_RUNS:
                played.problems.append(f"still not ok after {played.runs} runs: {report}")
                break
            if crash:
                made.restart(LOGIN)  # a new process: new adapters, the same store
            report = _once(made, None, played)
        after = made.sync(LOGIN)
        if after.outcomes:
            played.problems.append(f"the next run still writes: {after}")
        final = Final.of(made)
        reference = clean.touched if kind == "edited" else clean.final
        _compare(played, reference, final)
        if played.changed:
            played.problems += reference.differences(final)
    return played


def _check_fault(played: Played, armed: Armed, *, stopped: bool) -> None:
    """The fault hit its request, which is the request the clean run sent there."""
    played.injected = armed.hits == 1
    if not played.injected:
        played.problems.append(f"the fault hit {armed.hits} requests")
    if armed.hit.seen is not None and armed.hit.seen != played.target:
        played.problems.append(f"the run sent {armed.hit.seen} where the clean run sent it")
    if played.kind in CRASHES:
        played.stopped = stopped
        if not stopped:
            played.problems.append("the run was not stopped")


def _compare(played: Played, clean: Final, got: Final) -> None:
    for side in (0, 1):
        want, have = Counter(clean.titles[side]), Counter(got.titles[side])
        played.duplicates += sum((have - want).values())
        played.losses += sum((want - have).values())
    for want_fp, have_fp in ((clean.odoo, got.odoo), (clean.outlook, got.outlook)):
        played.changed += sum((have_fp - want_fp).values())
    played.changed = max(played.changed - played.duplicates, 0)
    played.extra_mail = sum((got.mail - clean.mail).values())
    played.missing_mail = sum((clean.mail - got.mail).values())
    if played.extra_mail or played.missing_mail:
        played.problems.append(
            f"mail: extra {sorted((got.mail - clean.mail).elements(), key=str)}, "
            f"missing {sorted((clean.mail - got.mail).elements(), key=str)}"
        )


@attrs.define
class Tally:
    """Counts over the scenarios of one kind (for the summary table)."""

    kind: str
    scenarios: int = 0
    injected: int = 0
    stopped: int = 0
    runs: int = 0
    duplicates: int = 0
    losses: int = 0
    changed: int = 0
    extra_mail: int = 0
    missing_mail: int = 0
    failed: list[str] = attrs.Factory(list)

    def add(self, played: Played) -> None:
        self.scenarios += 1
        self.injected += played.injected
        self.stopped += played.stopped
        self.runs += played.runs
        self.duplicates += played.duplicates
        self.losses += played.losses
        self.changed += played.changed
        self.extra_mail += played.extra_mail
        self.missing_mail += played.missing_mail
        if not played.clean:
            self.failed.append(str(played))

    def row(self) -> dict[str, Any]:
        return attrs.asdict(self, filter=lambda a, _: a.name != "failed") | {
            "failed": len(self.failed)
        }


def targets(clean: Clean, provider: str, kind: str, *, writes_only: bool = False) -> list[Sent]:
    """The requests (or only the writes) of the clean run that ``kind`` applies to."""
    return [
        target
        for target in clean.of(provider)
        if applies(kind, target) and (target.write or not writes_only)
    ]


def sweep(tmp_path: Path, clean: Clean, kind: str, chosen: list[Sent]) -> Tally:
    """Break the clean run at each chosen request with ``kind``; the counts."""
    provider = chosen[0].provider if chosen else "?"
    tally = Tally(f"{clean.phase} run: {provider} {kind}")
    for target in chosen:
        tally.add(play(tmp_path, clean, target, kind))
    return tally
