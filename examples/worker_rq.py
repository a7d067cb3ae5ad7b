"""calsync on RQ: each pair's sync is one task on a queue, any number of workers.

This is the do-it-yourself version, for an application with its own pairs
table. ``calsync serve`` with ``runner = "rq"`` is the supported mode (the
schedule, change notifications and the workers' tasks in
:mod:`calsync.service.rq`), reading the pairs from its configuration file.

Past one machine, calsync runs as tasks of a queue the integrator already
has; the library itself schedules nothing. This example uses RQ (Redis Queue):
a task is a plain function named by its import path, a worker is one
command (``rq worker calsync``; ``--burst`` drains the queue and exits),
and the only service is Redis. Celery or Dramatiq fit the same mould: the
tasks below are plain functions of a pair id.

State lives in the SQL store shared by every worker (PostgreSQL in
production: ``SQLStore`` and its advisory pair locks), so any worker may run
any pair, and two workers never sync one pair at once.

**A pair found locked** (another worker is syncing it: ``PairLockedError``)
is rescheduled, not dropped and not waited for: the run holding the lock
may have listed the pair before the change that queued this task, so the
task enqueues itself again ``CALSYNC_LOCKED_RETRY`` seconds later (RQ's
scheduler: run workers with ``--with-scheduler``) and returns
``{"status": "locked", "retry_in": ...}``. At most one task per pair waits
in the queue (:func:`enqueue_sync` keeps the id of the pair's latest job in
Redis and queues a new one only when that job is no longer waiting), so a
burst of change notifications is one sync, and a job that failed or was lost
never holds back the next sync of its pair.

Tasks are enqueued by their import path (``worker_rq.sync_pair``), so
``python examples/worker_rq.py enqueue --all`` works: RQ refuses functions of
the ``__main__`` module, which workers could not import.

**A pair's first sync waits for consent.** It e-mails no one by default
(``first_sync_max_notifications`` is 0), and a worker has nobody to ask: a
pair whose first sync would make Outlook send invitations stops before
writing, and its task returns ``{"status": "guarded", ...}`` until someone
previews it (``examples/real_credentials.py`` asks, then runs it once with
its consent) or sets ``first_sync_max_notifications`` in the pair's options.
``max_notifications`` in the options caps every later run; it is no consent
to a first sync. A guarded task is not an error to retry: the next scheduled
sync finds the pair guarded again until then.

Configuration (environment):

- ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``), ``CALSYNC_QUEUE``
  (default ``calsync``);
- ``CALSYNC_STATE_URL``: the SQLAlchemy URL of the shared store;
- ``CALSYNC_PAIRS``: a JSON file of the pairs (in production, your own
  table): ``{"pair-id": {"odoo": {"url", "db", "login", "api_key" or
  "password"}, "outlook": {"account", "user", "calendar_id", "base_url",
  "token"}, "options": {Synchronizer options}}}``. Without ``token``, the
  Outlook credential comes from ``calsync.auth.MicrosoftAuth`` (the
  ``CALSYNC_MS_*`` variables below) and the token store in the same database;
- ``CALSYNC_NOTIFICATION_URL``: the public URL of ``examples/webhook_app.py``
  (change notifications; optional);
- ``CALSYNC_MS_CLIENT_ID``, ``CALSYNC_MS_CLIENT_SECRET``,
  ``CALSYNC_MS_REDIRECT_URI``, ``CALSYNC_MS_TENANT`` (default ``common``; a
  single-tenant app must name its tenant, for sign-in and refresh alike),
  ``CALSYNC_TOKEN_KEY``: Microsoft sign-in.

Run::

    rq worker --with-scheduler --url $REDIS_URL calsync      # on every worker machine
    python examples/worker_rq.py enqueue --all                # from cron: a sync of every pair
    python examples/worker_rq.py subscribe --all              # from cron: keep subscriptions alive

Tasks: :func:`sync_pair`, :func:`maintain_subscription`,
:func:`renew_due_subscriptions`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from datetime import timedelta
from functools import cache
from typing import Any

from redis import Redis
from rq import Queue, get_current_job
from rq.job import Job

import calsync
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLStore, SQLSubscriptionStore

logger = logging.getLogger("calsync.examples.rq")

#: Synchronizer options a pair's configuration may set.
OPTIONS = frozenset(
    {"max_notifications", "first_sync_max_notifications", "max_deletions", "lock_timeout"}
)
JOB_TIMEOUT = 1800
#: Workers import the tasks from this module (put examples/ on their PYTHONPATH).
MODULE = "worker_rq"
#: A job in one of these states will still run: no second one is queued for its pair.
WAITING = frozenset({"queued", "scheduled", "deferred"})


# -- configuration ---------------------------------------------------------------------------


def redis() -> Redis:
    """The Redis connection of this process."""
    return Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def queue(connection: Redis | None = None) -> Queue:
    """The calsync queue."""
    return Queue(os.environ.get("CALSYNC_QUEUE", "calsync"), connection=connection or redis())


def state_url() -> str:
    """The shared store's SQLAlchemy URL."""
    return os.environ["CALSYNC_STATE_URL"]


def pairs() -> dict[str, dict[str, Any]]:
    """Every pair's configuration, by pair id."""
    with open(os.environ["CALSYNC_PAIRS"], encoding="utf-8") as file:
        loaded: dict[str, dict[str, Any]] = json.load(file)
    return loaded


def locked_retry() -> float:
    """Seconds before a task that found its pair locked runs again."""
    return float(os.environ.get("CALSYNC_LOCKED_RETRY", "30"))


@cache
def microsoft_auth() -> Any:
    """Microsoft sign-in for pairs configured without a fixed token."""
    from calsync.auth import MicrosoftAuth
    from calsync.stores import SQLTokenStore

    return MicrosoftAuth(
        os.environ["CALSYNC_MS_CLIENT_ID"],
        os.environ["CALSYNC_MS_CLIENT_SECRET"],
        os.environ["CALSYNC_MS_REDIRECT_URI"],
        SQLTokenStore(state_url(), key=os.environ.get("CALSYNC_TOKEN_KEY")),
        tenant=os.environ.get("CALSYNC_MS_TENANT", "common"),
    )


def outlook_of(config: dict[str, Any]) -> OutlookCalendar:
    """The Outlook side of a pair."""
    side = config["outlook"]
    token = side.get("token")
    credential = StaticToken(token) if token else microsoft_auth().credential(side["account"])
    return OutlookCalendar(
        credential,
        user=side.get("user"),
        calendar_id=side.get("calendar_id"),
        account=side.get("account"),
        base_url=side.get("base_url", "https://graph.microsoft.com/v1.0"),
    )


def synchronizer(pair_id: str, store: calsync.stores.MappingStore) -> calsync.Synchronizer:
    """The Synchronizer of one pair: Odoo on the left, Outlook on the right."""
    from calsync.adapters.odoo import OdooCalendar

    config = pairs()[pair_id]
    odoo = config["odoo"]
    left = OdooCalendar(
        odoo["url"],
        odoo["db"],
        odoo["login"],
        api_key=odoo.get("api_key"),
        password=odoo.get("password"),
    )
    options = {k: v for k, v in config.get("options", {}).items() if k in OPTIONS}
    return calsync.Synchronizer(left, outlook_of(config), store, pair=pair_id, **options)


# -- enqueueing --------------------------------------------------------------------------------


def _pending_key(pair_id: str) -> str:
    return f"calsync:pending:{pair_id}"


def _task(name: str) -> str:
    """A task by its import path (RQ cannot hand workers a function of ``__main__``)."""
    return f"{MODULE}.{name}"


def _waiting(connection: Redis, pair_id: str) -> bool:
    """Whether the pair's latest job is still to run (a failed or lost one is not: a job a
    worker took off the queue stays "queued" in RQ's intermediate list until it starts,
    and there, if that worker stopped, until another worker's maintenance fails it)."""
    from rq.exceptions import NoSuchJobError

    known = connection.get(_pending_key(pair_id))
    if known is None:
        return False
    try:
        job = Job.fetch(known.decode(), connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status()
    taken = Queue(job.origin, connection=connection).intermediate_queue.get_job_ids()
    return str(getattr(status, "value", status)) in WAITING and job.id not in taken


def _queue(target: Queue, pair_id: str, full: bool, later: float | None = None) -> Job:
    """Queue the pair's sync task (``later`` seconds from now) and remember its job."""
    options: dict[str, Any] = {"full": full, "job_timeout": JOB_TIMEOUT}
    if later is None:
        job = target.enqueue(_task("sync_pair"), pair_id, description=f"sync {pair_id}", **options)
    else:
        job = target.enqueue_in(
            timedelta(seconds=later),
            _task("sync_pair"),
            pair_id,
            description=f"sync {pair_id} (was locked)",
            **options,
        )
    target.connection.set(_pending_key(pair_id), job.id, ex=JOB_TIMEOUT * 2)
    return job


def enqueue_sync(pair_id: str, *, full: bool = False, into: Queue | None = None) -> Job | None:
    """Queue a sync of the pair unless one is already waiting (None then).

    ``full`` (a ``missed`` notification) always queues: it asks for more.
    """
    target = into or queue()
    if not full and _waiting(target.connection, pair_id):
        return None
    return _queue(target, pair_id, full)


def _reschedule(pair_id: str, full: bool) -> bool:
    """Run the pair again later, unless a task for it is already waiting."""
    job = get_current_job()
    if job is None:
        return False
    target = Queue(job.origin, connection=job.connection)
    if not full and _waiting(target.connection, pair_id):
        return False
    _queue(target, pair_id, full, later=locked_retry())
    return True


# -- tasks -------------------------------------------------------------------------------------


def sync_pair(pair_id: str, full: bool = False) -> dict[str, Any]:
    """Sync one pair once: the task. Returns what happened (kept as the job's result).

    ``status`` is ``synced``, ``locked`` (rescheduled, see the module
    docstring), ``guarded`` (a safety guard stopped the run before any write:
    a first sync without consent to its e-mails, a mass deletion; the error
    says what to allow) or ``failed`` (the error; the next scheduled sync
    retries).
    ``held_from``/``held_until`` bound the time the run held the pair
    (first and last progress step inside the lock; Unix time).
    """
    steps: list[float] = []
    store = SQLStore(state_url())
    sync = synchronizer(pair_id, store)
    sync.progress = lambda step: steps.append(time.time())
    result: dict[str, Any] = {"pair": pair_id, "full": full}
    try:
        report = sync.run(full=full)
    except calsync.PairLockedError:
        result.update(
            status="locked", retry_in=locked_retry(), rescheduled=_reschedule(pair_id, full)
        )
        logger.info("pair %s is being synced elsewhere: rescheduled", pair_id)
        return result
    except calsync.GuardError as error:
        logger.warning("pair %s held by a guard, nothing written: %s", pair_id, error)
        result.update(status="guarded", error=f"{type(error).__name__}: {error}")
        return result
    except calsync.CalsyncError as error:
        logger.warning("pair %s not synced: %s", pair_id, error)
        result.update(status="failed", error=f"{type(error).__name__}: {error}")
        return result
    finally:
        sync.close()
        store.close()
    result.update(
        status="synced",
        ok=report.ok,
        writes=sum(1 for o in report.outcomes if o.ok and o.operation.write is not None),
        requests=dict(report.requests),
        summary=report.summary,
        held_from=steps[0] if steps else None,
        held_until=steps[-1] if steps else None,
    )
    return result


def subscriptions() -> calsync.subscriptions.SubscriptionManager:
    """The subscription manager (CALSYNC_NOTIFICATION_URL must be set)."""
    from calsync.subscriptions import SubscriptionManager

    store = SQLSubscriptionStore(state_url())
    return SubscriptionManager(store, os.environ["CALSYNC_NOTIFICATION_URL"])


def maintain_subscription(pair_id: str, recreate: bool = False) -> str:
    """Keep the pair's change-notification subscription alive; returns its id.

    ``recreate`` after Graph removed it (``subscriptionRemoved``); otherwise
    renews when due or creates when missing (``reauthorizationRequired`` too).
    """
    manager = subscriptions()
    outlook = outlook_of(pairs()[pair_id])

    async def run() -> str:
        try:
            if recreate:
                return (await manager.recreate(pair_id, outlook)).id
            return (await manager.renew(pair_id, outlook)).id
        finally:
            await outlook.aclose()

    return asyncio.run(run())


def renew_due_subscriptions() -> list[str]:
    """Queue a renewal for every subscription that expires soon (run it every few hours)."""
    due = sorted({s.pair for s in subscriptions().due()})
    target = queue()
    for pair_id in due:
        target.enqueue(_task("maintain_subscription"), pair_id)
    return due


# -- command line ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="Queue calsync tasks on RQ.")
    commands = parser.add_subparsers(dest="command", required=True)
    enqueue = commands.add_parser("enqueue", help="queue a sync of pairs")
    enqueue.add_argument("pairs", nargs="*")
    enqueue.add_argument("--all", action="store_true")
    enqueue.add_argument("--full", action="store_true")
    subscribe = commands.add_parser("subscribe", help="queue subscription upkeep")
    subscribe.add_argument("pairs", nargs="*")
    subscribe.add_argument("--all", action="store_true")
    args = parser.parse_args()
    chosen = sorted(pairs()) if args.all else args.pairs
    target = queue()
    for pair_id in chosen:
        if args.command == "enqueue":
            job = enqueue_sync(pair_id, full=args.full, into=target)
            print(f"{pair_id}: {'queued ' + job.id if job else 'already waiting'}")
        else:
            job = target.enqueue(_task("maintain_subscription"), pair_id)
            print(f"{pair_id}: queued {job.id}")


if __name__ == "__main__":
    main()
