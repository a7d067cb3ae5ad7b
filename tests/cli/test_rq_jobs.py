"""``calsync.service.rq.enqueue_sync`` against a real Redis: at most one job per pair waits,
and a job no worker will run never holds the pair back."""

from __future__ import annotations

from pathlib import Path

from calsync.service.rq import enqueue_sync


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
