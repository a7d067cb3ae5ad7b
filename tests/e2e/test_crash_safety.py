"""A run stopped at any remote write, then run again, ends exactly as a clean run does.

The real pair (OdooCalendar and OutlookCalendar on both emulators) syncs
Alice's calendars (:mod:`tests.e2e.scenario`): a first two-way sync of fifty
events, and the next sync after her edits on both sides. For every write of
each of those runs, on either provider, a fresh world prepared identically runs
the same sync and is stopped at that write: before the request reaches the
provider, or after the provider acted on it and before calsync could know
(:mod:`tests.e2e.matrix` says how: the emulator's fault predicate cancels the
run's task and drops the connection), or after it and then Alice renames or
deletes a few events (sources of the run's creates) before the next run. Then
a new Synchronizer over the same SQLite store runs until it reports ok. Both
calendars must then hold what the clean run left (with Alice's changes: what
the clean run and one more run after them leave): no duplicate, nothing lost,
nothing different; Outlook must have sent exactly the clean run's e-mails (a
crash may delay one, never send it twice), and a further run must have
nothing to do.

The in-process stop is checked against the real thing at a few writes: the
sync runs in a process of its own that is killed with SIGKILL there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from calsync import PairLockedError
from tests.e2e.matrix import CRASHES, PHASES, Clean, arm, seeded, sweep, targets
from tests.e2e.scenario import LOGIN, Final

pytestmark = pytest.mark.slow

Cleans = Callable[[str], Clean]


def test_the_first_run_writes_everything_the_matrix_stops_at(clean_runs: Cleans) -> None:
    """The first sync covers each kind of remote write calsync makes when it starts."""
    clean = clean_runs("first")
    graph = Counter((w.method, w.what.rsplit("/", 1)[-1]) for w in clean.writes("graph"))
    odoo = Counter((w.what, w.method) for w in clean.writes("odoo"))
    assert graph[("POST", "events")] >= 20, "the Odoo events created in Outlook"
    assert {"PATCH", "DELETE"} <= {method for method, _ in graph}, "a series' exception"
    assert all(w.inner for w in clean.writes("graph")), "Outlook writes go in $batch"
    assert odoo[("calendar.event", "load")] >= 1
    assert odoo[("calendar.event", "write")] >= 1
    assert odoo[("res.partner", "create")] == 1, "new guests' partners"
    assert odoo[("calendar.alarm", "create")] == 1, "reminders Odoo had no alarm for"
    assert odoo[("calendar.attendee", "write")] >= 1, "the owner's answer to an invitation"
    kinds = Counter(kind for kind, _, _, _ in clean.final.mail.elements())
    assert kinds == {"invitation": 10, "update": 1, "cancellation": 1}, kinds


def test_the_next_run_updates_and_deletes_on_both_sides(clean_runs: Cleans) -> None:
    """The second sync writes updates, deletes and creates both ways, with their e-mails."""
    clean = clean_runs("next")
    graph = Counter(w.method for w in clean.writes("graph"))
    odoo = Counter(w.method for w in clean.writes("odoo"))
    assert graph["PATCH"] >= 4
    assert graph["DELETE"] >= 2
    assert graph["POST"] >= 1
    assert odoo["load"] >= 2, "creates, and updates each taking its own values"
    assert odoo["write"] >= 1, "deletes (archived), and updates taking the same values"
    kinds = Counter(kind for kind, _, _, _ in clean.final.mail.elements())
    assert kinds == {"invitation": 3, "update": 3, "cancellation": 2}, kinds


STOPS = [(p, w, m) for p in PHASES for w in ("graph", "odoo") for m in CRASHES]


@pytest.mark.parametrize(
    ("phase", "provider", "moment"), STOPS, ids=["-".join(stop) for stop in STOPS]
)
def test_a_run_stopped_at_any_write_ends_as_a_clean_run(
    clean_runs: Cleans,
    tmp_path: Path,
    phase: str,
    provider: str,
    moment: str,
    record_matrix: Callable[[dict[str, Any]], None],
) -> None:
    clean = clean_runs(phase)
    tally = sweep(tmp_path, clean, moment, targets(clean, provider, moment))
    record_matrix(tally.row())
    assert tally.scenarios == len(clean.writes(provider)) > 0
    assert tally.stopped == tally.injected == tally.scenarios
    assert not tally.failed, "\n".join(tally.failed)


# -- the same, with a real process killed ----------------------------------------------------------

#: Seconds the killed process's pair lock lasts (the store's lease; 900 s by default).
LEASE = 3.0
KILLED = [("graph", 0, "after"), ("graph", -1, "before"), ("odoo", 0, "after")]


@pytest.mark.parametrize(
    ("provider", "nth", "moment"), KILLED, ids=[f"{p}-{n}-{m}" for p, n, m in KILLED]
)
def test_a_process_killed_at_a_write_is_a_stopped_run(
    clean_runs: Cleans, tmp_path: Path, provider: str, nth: int, moment: str
) -> None:
    """The in-process stop checked against the real thing: the first sync runs in a process of
    its own, SIGKILLed when the write arrives. Its pair lock (a lease row in the SQLite file)
    outlives it: the next run is refused until the lease runs out, then ends as the clean run.
    """
    clean = clean_runs("first")
    target = clean.writes(provider)[nth]
    with seeded(tmp_path, f"killed-{provider}-{moment}") as made:
        process: list[subprocess.Popen[str]] = []

        def kill(_: object) -> None:
            os.kill(process[0].pid, signal.SIGKILL)

        armed = arm(made, target, moment, None)
        armed.hit.then = kill
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
        wiring = json.dumps(attrs.asdict(made.wiring(LOGIN)))
        command = [sys.executable, "-m", "tests.e2e.process", wiring, str(LEASE)]
        with subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as running:
            process.append(running)
            out, err = running.communicate(timeout=60)
        assert running.returncode == -signal.SIGKILL, f"not killed: {out} {err}"
        assert armed.hits == 1
        assert armed.hit.seen == target
        assert made.graph.wait_idle()
        assert made.odoo.wait_idle()
        made.graph.clear_faults()
        made.odoo.clear_faults()
        made.restart(LOGIN)
        with pytest.raises(PairLockedError, match="a run whose process died"):
            made.sync(LOGIN)
        deadline = time.monotonic() + LEASE + 10
        runs = 0
        while True:
            try:
                report = made.sync(LOGIN)
            except PairLockedError:
                assert time.monotonic() < deadline, "the dead process's lease never ran out"
                time.sleep(0.2)
                continue
            runs += 1
            if report.ok or runs == 3:
                break
        assert report.ok, str(report)
        assert not made.sync(LOGIN).outcomes
        final = Final.of(made)
        assert final == clean.final, clean.final.differences(final) or final.mail
