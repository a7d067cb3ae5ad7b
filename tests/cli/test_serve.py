"""``calsync serve`` as a process: a 2-second schedule, two pairs, notifications, SIGTERM.

Runs in the service itself and on RQ workers (a real redis-server). Both
check: every pair syncs on the schedule, a change notification syncs its
pair at once, ``/healthz`` and ``/metrics`` answer, the sign-in page sends
a browser to Microsoft, and a SIGTERM during a run lets the run finish
before the process exits 0, with nothing lost or duplicated.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.support import CALSYNC, World, answer, free_port, graph_time, reader, soon, wait_for


def served(world: World, runner: str = "inprocess", **service: object) -> int:
    port = free_port()
    options = {
        "listen": f"127.0.0.1:{port}",
        "interval": 2,
        "jitter": 0.1,
        "public_url": f"http://127.0.0.1:{port}",
        "runner": runner,
        "stop_timeout": 60,
        **service,
    }
    world.write_config(["ann", "bob"], service=options)
    for login in ("ann", "bob"):
        assert world.login(login).returncode == 0
    return port


@contextmanager
def service(world: World) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    process = subprocess.Popen(
        [CALSYNC, "-v", "-c", str(world.config), "serve"],
        env=world.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=world.tmp,
    )
    lines, thread = reader(process.stdout)
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        thread.join(5)
        if process.stdout is not None:
            process.stdout.close()


def event(world: World, login: str, title: str, day: int) -> None:
    world.graph.seed_event(
        world.users[login],
        {"subject": title, "start": graph_time(soon(day, 9)), "end": graph_time(soon(day, 10))},
    )


def up(process: subprocess.Popen[str], lines: list[str], port: int) -> None:
    def healthy() -> bool:
        assert process.poll() is None, "".join(lines)
        found = answer(f"http://127.0.0.1:{port}/healthz")
        return found is not None and found.status_code == 200

    wait_for(healthy, 30)


def run_lines(lines: list[str], pair: str) -> int:
    return sum(1 for line in lines if f"pair {pair}: run started" in line)


def check_service(
    world: World, process: subprocess.Popen[str], lines: list[str], port: int
) -> None:
    """Schedule, notification, health, metrics, sign-in page, then SIGTERM mid-run."""
    up(process, lines, port)
    wait_for(lambda: "A1" in world.odoo_titles("ann") and "B1" in world.odoo_titles("bob"), 30)
    wait_for(lambda: run_lines(lines, "ann") >= 2 and run_lines(lines, "bob") >= 2, 30)

    health = answer(f"http://127.0.0.1:{port}/healthz").json()
    assert health["status"] == "ok"
    assert health["pairs"] == 2

    # a change in Bob's mailbox: Graph notifies, the service syncs Bob at once
    world.graph.subscriptions.flush()
    wait_for(lambda: len(world.graph.subscriptions.all()) == 2, 20)
    noticed = time.monotonic()
    event(world, "bob", "B2", 5)
    wait_for(lambda: any("pair bob: change notification" in line for line in lines), 10)
    wait_for(lambda: "B2" in world.odoo_titles("bob"), 10)
    assert time.monotonic() - noticed < 10

    metrics = answer(f"http://127.0.0.1:{port}/metrics").text
    assert 'calsync_runs_total{outcome="ok",pair="ann"}' in metrics
    assert 'calsync_runs_total{outcome="ok",pair="bob"}' in metrics
    assert "calsync_provider_requests_total" in metrics
    assert 'calsync_held_events{pair="bob"} 0.0' in metrics
    assert "calsync_notifications_received_total" in metrics

    # SIGTERM during a run: make Ann's next run slow, wait until it started, stop
    world.graph.slow(0.4, mailbox="ann@example.com")
    for n in range(4):
        event(world, "ann", f"late {n}", 6 + n)
    started = run_lines(lines, "ann")
    wait_for(lambda: run_lines(lines, "ann") > started, 20, every=0.02)
    process.send_signal(signal.SIGTERM)
    assert process.wait(90) == 0, "".join(lines)
    text = "".join(lines)
    assert "calsync serve stopped" in text


def nothing_lost(world: World) -> None:
    """A later sync finds nothing to do: every event is on both sides, once."""
    world.graph.clear_faults()
    after = world.run("sync", "--all")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "ann: in sync, nothing to do" in after.stdout, after.stdout
    assert "bob: in sync, nothing to do" in after.stdout
    late = [f"late {n}" for n in range(4)]
    assert world.odoo_titles("ann") == sorted(["A1", *late])
    assert world.graph_titles("ann") == sorted(["A1", *late])
    assert world.odoo_titles("bob") == ["B1", "B2"]


def test_serve_keeps_two_pairs_in_sync_and_stops_cleanly(world: World) -> None:
    world.add_user("ann")
    world.add_user("bob")
    port = served(world)
    event(world, "ann", "A1", 1)
    event(world, "bob", "B1", 2)
    checks = world.odoo.password_checks
    with service(world) as (process, lines):
        check_service(world, process, lines, port)
        text = "".join(lines)
        stopping = text.split("calsync serve stopping")[0]
        assert "pair ann: run started" in stopping
        assert "1 run under way finished first" in text or "2 runs under way" in text
        page = answer(f"http://127.0.0.1:{port}/")
        assert page is None  # stopped: nothing listens any more
    # three runs and more of each pair, one Odoo login per user: two password hashes
    # (the login's, and its first call's), in the first run only
    assert run_lines(lines, "ann") >= 3
    assert world.odoo.password_checks - checks == 4
    nothing_lost(world)


def test_sign_in_pages_send_the_browser_to_microsoft(world: World) -> None:
    world.add_user("ann")
    world.add_user("bob")
    port = served(world)
    world.run("logout", "bob")
    with service(world) as (process, lines):
        up(process, lines, port)
        home = answer(f"http://127.0.0.1:{port}/").text
        assert "ann (ann@example.com): connected" in home
        assert "/connect/bob" in home
        import httpx

        hop = httpx.get(f"http://127.0.0.1:{port}/connect/bob", timeout=10)
        assert hop.status_code == 302
        assert hop.headers["location"].startswith(f"{world.graph.url}/")
        assert "login_hint=bob%40example.com" in hop.headers["location"]
        assert answer(f"http://127.0.0.1:{port}/connect/nobody").status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


def explained(check: Callable[[], object], logs: list[Path]) -> None:
    """Run ``check``; if it fails, say what the RQ workers logged."""
    try:
        check()
    except AssertionError as error:
        said = "\n".join(log.read_text(errors="replace") for log in logs)
        raise AssertionError(f"{error}\nthe workers said:\n{said}") from error


def drained(redis_url: str, name: str) -> bool:
    """No job of the queue is waiting, scheduled, taken by a worker or running (RQ moves
    a job it takes off the queue to an intermediate list until it starts)."""
    from redis import Redis
    from rq import Queue

    with Redis.from_url(redis_url) as connection:
        queue = Queue(name, connection=connection)
        registries = (queue.scheduled_job_registry, queue.started_job_registry)
        return (
            queue.count == 0
            and not queue.intermediate_queue.get_job_ids()
            and all(registry.count == 0 for registry in registries)
        )


@pytest.mark.slow
def test_serve_hands_runs_to_rq_workers(world: World, redis_url: str) -> None:
    world.add_user("ann")
    world.add_user("bob")
    port = served(world, runner="rq", redis_url=redis_url, queue="calsync-test")
    event(world, "ann", "A1", 1)
    event(world, "bob", "B1", 2)
    checks = world.odoo.password_checks
    logs = [world.tmp / f"worker-{n}.log" for n in range(2)]  # what each job did, if it fails
    outputs = [log.open("w") for log in logs]
    workers = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler",
             "--worker-class", "calsync.service.rq.Worker", "--url", redis_url, "calsync-test"],
            env=world.environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=world.tmp,
        )
        for output in outputs
    ]  # fmt: skip
    late = [f"late {n}" for n in range(4)]

    def synced_late() -> bool:
        return set(late) <= set(world.odoo_titles("ann"))

    try:
        with service(world) as (process, lines):
            check_service(world, process, lines, port)
        # the workers run what the service handed them (a job that found its pair locked
        # comes back 5 s later), then stop (RQ's warm shutdown). The late events show it
        explained(lambda: wait_for(synced_late, 60), logs)
        wait_for(lambda: drained(redis_url, "calsync-test"), 60)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(90) in (0, -signal.SIGTERM)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        for output in outputs:
            output.close()
    # calsync's worker (a SimpleWorker) keeps each worker's deployment: at most one login
    # per user and worker, two password hashes each (the login's, and its first call's)
    assert run_lines(lines, "ann") >= 3
    assert world.odoo.password_checks - checks <= 8
    explained(lambda: nothing_lost(world), logs)
