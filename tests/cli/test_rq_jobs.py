"""``calsync.service.rq`` against a real Redis: at most one job per pair waits, a job no
worker will run never holds the pair back, and calsync's worker stops promptly."""

from __future__ import annotations

import time
from pathlib import Path

from calsync.service.rq import SUBSCRIPTION_POLL, Worker, enqueue_sync


def test_a_job_a_worker_took_and_never_started_does_not_hold_back_its_pair(
    redis_url: str, tmp_path: Path
) -> None:
    """A worker takes a job off the queue (RQ moves it to an intermediate list, its status
    still "queued"), then stops before starting it: the pair's next run is queued, where
    before it waited until RQ's maintenance failed the lost job, up to 20 minutes later."""
    from redis import Redis
    from rq import Queue

    config = str(tmp_path / "calsync.toml")
    with Redis.from_url(redis_url) as connection:
        queue = Queue("calsync-jobs", connection=connection)
        first = enqueue_sync(queue, config, "ann")
        assert first is not None
        assert enqueue_sync(queue, config, "ann") is None  # it waits: no second one
        assert enqueue_sync(queue, config, "bob") is not None  # another pair's own
        # what a worker's dequeue does, as RQ does it; the worker then stops
        Queue.lmove(connection, queue.key, None)
        assert first in queue.intermediate_queue.get_job_ids()
        second = enqueue_sync(queue, config, "ann")
        assert second not in (None, first)
        assert enqueue_sync(queue, config, "ann") is None  # the new one waits in the queue


def test_the_worker_stops_within_a_second_of_its_unsubscription(redis_url: str) -> None:
    """RQ's warm shutdown unsubscribes, then stops the subscription thread and waits for
    it; when the thread went back to waiting in between, RQ's own worker waits out its
    60-second poll (redis-py 8.2 joins the thread). That interleaving, made on purpose."""
    from redis import Redis

    with Redis.from_url(redis_url) as connection:
        worker = Worker(["calsync-jobs"], connection=connection)
        worker.subscribe()
        deadline = time.monotonic() + 10
        while not worker.pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.pubsub.unsubscribe()  # the thread reads the answer, then waits again
        while worker.pubsub.subscribed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not worker.pubsub.subscribed
        time.sleep(0.2)
        started = time.monotonic()
        worker.unsubscribe()
        assert time.monotonic() - started < SUBSCRIPTION_POLL + 2
        assert not worker.pubsub_thread.is_alive()
