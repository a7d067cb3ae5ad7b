"""examples/worker_rq.py for real: redis-server, RQ worker processes, the emulators, a SQL store."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from calsync import Synchronizer
from calsync.stores import SQLStore
from calsync.testing import GraphEmulator, OdooEmulator
from tests.scale_support import SEEDED, PairSpec, add_pairs, graph_titles, odoo_titles, seed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """PostgreSQL (advisory pair locks) when a server can be had, else SQLite (lease rows)."""
    try:
        return str(request.getfixturevalue("postgres_url"))
    except pytest.skip.Exception:
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"


@pytest.fixture
def worker_rq() -> Any:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import worker_rq

        yield worker_rq
    finally:
        sys.path.remove(str(EXAMPLES))


@attrs.define
class QueueWorld:
    odoo: OdooEmulator
    graph: GraphEmulator
    specs: list[PairSpec]
    env: dict[str, str]
    tmp: Path

    def work(self, workers: int = 1, *, scheduler: bool = False) -> None:
        """Run burst workers (separate processes) until the queue is empty."""
        command = [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--burst",
            "--url",
            self.env["REDIS_URL"],
        ]
        if scheduler:
            command.append("--with-scheduler")
        command.append("calsync")
        processes = []
        for n in range(workers):
            log = (self.tmp / f"worker-{time.monotonic_ns()}-{n}.log").open("wb")
            processes.append(
                (subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT), log)
            )
        for process, log in processes:
            try:
                assert process.wait(timeout=180) == 0, self.logs()
            finally:
                log.close()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("worker-*.log")
        )

    def synchronizer(self, spec: PairSpec, store: SQLStore) -> Synchronizer:
        return Synchronizer(
            spec.odoo(self.odoo),
            spec.outlook(self.graph),
            store,
            pair=spec.pair,
            max_notifications=50,
        )


@pytest.fixture
def world(redis_url: str, state_url: str, tmp_path: Path, worker_rq: Any) -> Iterator[QueueWorld]:
    with OdooEmulator("18.0", login_delay=0.0) as odoo, GraphEmulator() as graph:
        specs = add_pairs(odoo, graph, 4)
        for spec in specs:
            seed(odoo, graph, spec)
        pairs = tmp_path / "pairs.json"
        pairs.write_text(json.dumps({s.pair: s.config(odoo, graph) for s in specs}))
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "CALSYNC_STATE_URL": state_url,
            "CALSYNC_PAIRS": str(pairs),
            "CALSYNC_LOCKED_RETRY": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(EXAMPLES), str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
            ),
        }
        old = {k: os.environ.get(k) for k in ("REDIS_URL", "CALSYNC_STATE_URL", "CALSYNC_PAIRS")}
        os.environ.update({k: env[k] for k in old})
        try:
            yield QueueWorld(odoo, graph, specs, env, tmp_path)
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        assert graph.errors == []


def results(worker_rq: Any, jobs: list[Any]) -> list[dict[str, Any]]:
    found = []
    for job in jobs:
        job.refresh()
        assert job.get_status().value == "finished", (job.id, job.get_status(), job.exc_info)
        found.append(job.return_value())
    return found


def test_each_pair_is_a_task_and_every_pair_converges(world: QueueWorld, worker_rq: Any) -> None:
    queue = worker_rq.queue()
    jobs = [worker_rq.enqueue_sync(spec.pair, into=queue) for spec in world.specs]
    assert all(job is not None for job in jobs)
    # A second request while the first waits is the same sync: nothing more is queued.
    assert worker_rq.enqueue_sync(world.specs[0].pair, into=queue) is None
    # Unless a worker took that job and stopped before starting it (RQ's dequeue, done here
    # by hand): the job is lost to the queue, and the pair gets a new one.
    type(queue).lmove(queue.connection, queue.key, None)
    jobs[0] = worker_rq.enqueue_sync(world.specs[0].pair, into=queue)
    assert jobs[0] is not None
    assert worker_rq.enqueue_sync(world.specs[0].pair, into=queue) is None
    # Duplicates forced past that, to race two workers on one pair.
    jobs += [queue.enqueue(worker_rq.sync_pair, spec.pair) for spec in world.specs]
    world.work(workers=2)
    done = results(worker_rq, jobs)
    by_pair: dict[str, list[dict[str, Any]]] = {}
    for result in done:
        by_pair.setdefault(result["pair"], []).append(result)
    for spec in world.specs:
        runs = [r for r in by_pair[spec.pair] if r["status"] == "synced"]
        assert runs, by_pair[spec.pair]
        assert all(r["ok"] for r in runs)
        for r in by_pair[spec.pair]:
            assert r["status"] in ("synced", "locked"), r
        # Two runs of one pair never held it at the same time.
        spans = sorted((r["held_from"], r["held_until"]) for r in runs)
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert first_end <= second_start, spans
    world.work(scheduler=True)  # rescheduled ones, if a duplicate found its pair locked
    store = SQLStore(world.env["CALSYNC_STATE_URL"])
    try:
        for spec in world.specs:
            expected = sorted(f"{title} {spec.tag}" for title in SEEDED)
            assert odoo_titles(world.odoo, spec) == expected
            assert graph_titles(world.graph, spec) == expected
            with world.synchronizer(spec, store) as sync:
                report = sync.run()
            assert report.ok
            assert not report.outcomes, [str(o.operation) for o in report.outcomes]
    finally:
        store.close()


def test_a_cap_on_every_run_is_no_consent_to_a_first_sync(
    world: QueueWorld, worker_rq: Any
) -> None:
    """A pair configured with ``max_notifications`` only: its first sync invites no one."""
    spec = world.specs[0]
    path = Path(world.env["CALSYNC_PAIRS"])
    config = json.loads(path.read_text())
    config[spec.pair]["options"] = {"max_notifications": 20}
    path.write_text(json.dumps(config))
    world.graph.clear_mail_log()
    result = worker_rq.sync_pair(spec.pair)  # the task, in this process
    assert result["status"] == "guarded", result
    assert "NotificationLimitError" in result["error"]
    assert "allowed on a first sync" in result["error"]
    assert world.graph.mail_log() == []
    assert graph_titles(world.graph, spec) == sorted(
        f"{title} {spec.tag}" for title in ("Outlook series", "Outlook single")
    ), "nothing was written"


def test_a_task_that_finds_its_pair_locked_reschedules_itself(
    world: QueueWorld, worker_rq: Any
) -> None:
    spec = world.specs[0]
    queue = worker_rq.queue()
    store = SQLStore(world.env["CALSYNC_STATE_URL"])
    try:
        with store.lock(spec.pair):  # another worker is syncing this pair
            job = worker_rq.enqueue_sync(spec.pair, into=queue)
            world.work()
        (result,) = results(worker_rq, [job])
        assert result["status"] == "locked"
        assert result["rescheduled"] is True
        assert len(queue.scheduled_job_registry) == 1
        assert worker_rq.enqueue_sync(spec.pair, into=queue) is None  # the retry is pending
        time.sleep(1.2)  # CALSYNC_LOCKED_RETRY
        world.work(scheduler=True)
        assert len(queue.scheduled_job_registry) == 0
        finished = queue.finished_job_registry.get_job_ids()
        retried = [j for j in finished if j != job.id]
        (again,) = results(worker_rq, [queue.fetch_job(retried[0])])
        assert again["status"] == "synced"
        assert again["writes"] == 4
    finally:
        store.close()
