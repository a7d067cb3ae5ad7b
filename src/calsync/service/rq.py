"""RQ workers for ``calsync serve`` with ``runner = "rq"`` (``pip install 'calsync[rq]'``).

The service plans the runs; RQ workers, on as many machines as needed, run
them::

    rq worker --with-scheduler --worker-class calsync.service.rq.Worker \
        --url redis://redis.example.com:6379/0 calsync

:class:`Worker` is RQ's ``SimpleWorker``, which runs the jobs in the worker's
own process and so keeps the
deployment of each configuration file between jobs: its Odoo transports
(one login per login for the worker's life) and each pair's adapters with
their clients. RQ's default worker forks a new process for every job and
forgets all of it: every job then logs in to Odoo again, which costs the
Odoo server a password hash (0.3 CPU-second; seconds when it is loaded).
It also stops within a second of its last job, where RQ's own worker may
take a minute (see :class:`Worker`).

Each job is :func:`sync_pair` with the configuration file's path and the
pair's name: a worker reads the same configuration (keep the file, its
secrets and the PostgreSQL store reachable from every worker machine), runs
the pair once and records the run in the store, where ``calsync status`` and
the service's ``/metrics`` read it. The store's pair locks keep two workers
off one pair.

At most one job per pair waits in the queue: :func:`enqueue_sync` keeps the
id of the pair's latest job in Redis (``calsync:job:<pair>``) and queues a new
one only when that job is no longer waiting or scheduled. A job that
failed, was lost with its worker (taken off the queue, never started) or
expired never blocks later syncs of its pair (a marker of a fixed lifetime
used to drop them silently for an hour).
Jobs are named by their import path (``calsync.service.rq.sync_pair``), so
enqueueing never depends on the module that calls it (``__main__`` included).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any

from calsync._app._config import load
from calsync._app._deploy import Deployment
from calsync._errors import CalsyncError, PairLockedError
from calsync._extras import needs_extra

with needs_extra("calsync.service.rq", "rq"):
    from rq.worker import SimpleWorker

__all__ = ["JOB_TIMEOUT", "SUBSCRIPTION_POLL", "TASK", "Worker", "enqueue_sync", "sync_pair"]

logger = logging.getLogger("calsync.service.rq")

#: The task's import path, as RQ workers find it.
TASK = "calsync.service.rq.sync_pair"
#: Seconds a run may take before RQ stops it.
JOB_TIMEOUT = 1800
#: Seconds before a job that found its pair locked runs again.
LOCKED_RETRY = 5.0
#: A job in one of these states still will run: no second one is queued. A *started* job
#: may have listed the pair before the change that asks for a new run, so it does not count.
_WAITING = frozenset({"queued", "scheduled", "deferred"})
_DEPLOYMENTS: dict[tuple[str, float], Deployment] = {}
_LOCK = threading.Lock()
#: Seconds the worker's Redis subscription thread waits for a message before it looks
#: again whether it must stop (RQ's own: 60).
SUBSCRIPTION_POLL = 1.0


class Worker(SimpleWorker):
    """RQ's ``SimpleWorker`` (jobs in the worker's process, deployments kept between
    them) that stops within a second of its last job.

    An RQ worker listens for commands (``rq`` shutdown, stop-job) on a Redis
    subscription, in a thread that waits up to 60 s for a message. On a warm
    shutdown, RQ (2.6 to 3.0) unsubscribes, then stops that thread, and redis-py
    8.2's ``stop()`` waits for it: if the thread went back to waiting after the
    unsubscription, the worker's exit waits out the 60 s (2 of 8 runs of
    calsync's RQ test with ``SimpleWorker``). This worker's thread looks again
    every :data:`SUBSCRIPTION_POLL` seconds; commands arrive as fast as before.
    """

    def subscribe(self) -> None:
        """Subscribe to the worker's command channel, as RQ does, with the shorter poll."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        pubsub = self.connection.pubsub()
        pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub = pubsub
        self.pubsub_thread = pubsub.run_in_thread(  # type: ignore[assignment]  # RQ: None
            sleep_time=SUBSCRIPTION_POLL,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


def _marker(pair: str) -> str:
    return f"calsync:job:{pair}"


def enqueue_sync(queue: Any, config_path: str, pair: str, *, full: bool = False) -> str | None:
    """Queue a run of ``pair`` unless one is already waiting; the new job's id.

    ``full`` (a ``missed`` notification) queues even then: it asks for more.
    A job already running does not count: it may have read the pair before
    the change that asks for this run.
    """
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    connection = queue.connection
    known = connection.get(_marker(pair))
    if known is not None and not full:
        try:
            status = Job.fetch(known.decode(), connection=connection).get_status(refresh=True)
        except NoSuchJobError:
            status = None
        waiting = status is not None and str(getattr(status, "value", status)) in _WAITING
        if waiting and not _taken(queue, known.decode()):
            return None
    return _queue(queue, config_path, pair, full)


def _taken(queue: Any, job_id: str) -> bool:
    """Whether a worker took the job off the queue and has not started it.

    RQ keeps such a job in the queue's intermediate list, its status still
    ``queued``, until the worker starts it. A worker stopped in between leaves it
    there until another worker's maintenance fails it, up to two maintenance
    intervals later (10 minutes each by default): it counts as started, not as
    waiting, so the pair's runs go on meanwhile.
    """
    intermediate = getattr(queue, "intermediate_queue", None)
    return intermediate is not None and job_id in intermediate.get_job_ids()


def _queue(queue: Any, config_path: str, pair: str, full: bool, later: float | None = None) -> str:
    """Queue the pair's run (``later`` seconds from now) and remember its job; the job's id."""
    arguments = (TASK, config_path, pair)
    options: dict[str, Any] = {
        "full": full,
        "job_timeout": JOB_TIMEOUT,
        "result_ttl": 3600,
        "failure_ttl": 24 * 3600,
        "description": f"calsync sync {pair}" + (" (was locked)" if later else ""),
    }
    if later is None:
        job = queue.enqueue(*arguments, **options)
    else:
        job = queue.enqueue_in(timedelta(seconds=later), *arguments, **options)
    queue.connection.set(_marker(pair), job.id, ex=JOB_TIMEOUT * 2)
    return str(job.id)


def _deployment(config_path: str) -> Deployment:
    """The worker's deployment of a configuration file, kept while the file is unchanged."""
    key = (os.path.abspath(config_path), os.stat(config_path).st_mtime)
    with _LOCK:
        found = _DEPLOYMENTS.get(key)
        if found is None:
            for old in [k for k in _DEPLOYMENTS if k[0] == key[0]]:
                _DEPLOYMENTS.pop(old).close()
            found = _DEPLOYMENTS[key] = Deployment(load(config_path))
        return found


def _again(config_path: str, pair: str, full: bool) -> bool:
    """Run the pair again a little later (RQ's scheduler: workers run ``--with-scheduler``)."""
    from rq import Queue, get_current_job

    job = get_current_job()
    if job is None:
        return False
    _queue(Queue(job.origin, connection=job.connection), config_path, pair, full, LOCKED_RETRY)
    return True


def sync_pair(config_path: str, pair: str, full: bool = False) -> dict[str, Any]:
    """The task: run ``pair`` once. Returns what happened (kept as the job's result).

    ``status``: ``synced`` (with ``ok`` and the summary), ``locked`` (another
    run has the pair: the job runs again ``LOCKED_RETRY`` seconds later) or ``failed``
    (the error; the run is recorded in the store).
    """
    deployment = _deployment(config_path)
    result: dict[str, Any] = {"pair": pair, "full": full}
    sync = deployment.synchronizer(deployment.pair(pair))
    try:
        report = sync.run(full=full)
    except PairLockedError:
        result.update(
            status="locked", retry_in=LOCKED_RETRY, rescheduled=_again(config_path, pair, full)
        )
        return result
    except CalsyncError as error:
        logger.warning("pair %s not synced: %s", pair, error, extra={"calsync_pair": pair})
        result.update(status="failed", error=f"{type(error).__name__}: {error}")
        return result
    result.update(status="synced", ok=report.ok, summary=report.summary)
    return result
