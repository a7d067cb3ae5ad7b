"""A Graph change-notification receiver on Starlette: it answers, a worker syncs.

Graph POSTs to the notification URL: first ``?validationToken=...`` when a
subscription is created (answered 200, ``text/plain``, with the token), then
notifications, answered 202 at once. The app never syncs inline: it hands
the request to :meth:`calsync.subscriptions.SubscriptionManager.handle`
(one store read per notification, ``clientState`` checked) and, after the
answer is sent, passes the pairs to a dispatcher:

- :class:`QueueDispatcher` (the default): RQ tasks of ``examples/worker_rq.py``
  (``sync_pair``, at most one waiting per pair; ``maintain_subscription``
  for ``reauthorizationRequired`` and ``subscriptionRemoved``);
- :class:`LocalDispatcher`: one process, syncs in a thread pool (small
  deployments; the same SQL store locks keep two syncs of a pair apart).

Run (the public HTTPS URL of this app is ``CALSYNC_NOTIFICATION_URL``)::

    export CALSYNC_STATE_URL=postgresql+psycopg://... REDIS_URL=redis://...
    export CALSYNC_NOTIFICATION_URL=https://app.example.com/calsync/notifications
    CALSYNC_PAIRS=pairs.json uvicorn webhook_app:app --app-dir examples
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import calsync
from calsync.subscriptions import SubscriptionManager, WebhookResult

logger = logging.getLogger("calsync.examples.webhook")

PATH = "/calsync/notifications"


class Dispatcher(Protocol):
    """Where the work a notification asks for goes."""

    def sync(self, pair: str, *, full: bool) -> None:
        """Run (or queue) a sync of the pair."""

    def maintain(self, pair: str, *, recreate: bool) -> None:
        """Renew (or recreate) the pair's subscription."""


class QueueDispatcher:
    """Queue RQ tasks (``examples/worker_rq.py``)."""

    def __init__(self) -> None:
        import worker_rq

        self._tasks = worker_rq
        self._queue = worker_rq.queue()

    def sync(self, pair: str, *, full: bool) -> None:
        self._tasks.enqueue_sync(pair, full=full, into=self._queue)

    def maintain(self, pair: str, *, recreate: bool) -> None:
        self._queue.enqueue(self._tasks.maintain_subscription, pair, recreate=recreate)

    def close(self) -> None:
        self._queue.connection.close()


class LocalDispatcher:
    """Sync in this process's thread pool; ``build(pair)`` makes the pair's Synchronizer.

    ``maintain(pair, recreate=...)`` calls ``upkeep`` (None: logged only).
    ``runs`` lists the pairs synced, in order; :meth:`wait` waits for the pool.
    """

    def __init__(
        self,
        build: Callable[[str], calsync.Synchronizer],
        *,
        upkeep: Callable[[str, bool], Any] | None = None,
        workers: int = 4,
    ) -> None:
        self._build = build
        self._upkeep = upkeep
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="calsync-sync")
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()
        self.runs: list[tuple[str, bool]] = []

    def _run(self, pair: str, full: bool) -> calsync.SyncReport | None:
        with self._build(pair) as sync:
            try:
                report = sync.run(full=full)
            except calsync.PairLockedError:
                logger.info("pair %s is being synced already", pair)
                return None
        with self._lock:
            self.runs.append((pair, full))
        logger.info("%s", report.summary, extra={"calsync_pair": pair})
        return report

    def sync(self, pair: str, *, full: bool) -> None:
        with self._lock:
            self._futures.append(self._pool.submit(self._run, pair, full))

    def maintain(self, pair: str, *, recreate: bool) -> None:
        if self._upkeep is None:
            logger.warning("subscription of %s needs upkeep (recreate=%s)", pair, recreate)
            return
        with self._lock:
            self._futures.append(self._pool.submit(self._upkeep, pair, recreate))

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for every submitted job; re-raises a job's exception."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _dispatch(result: WebhookResult, dispatcher: Dispatcher) -> None:
    for pair in sorted(result.sync):
        dispatcher.sync(pair, full=pair in result.full)
    for pair in sorted(result.renew | result.recreate):
        dispatcher.maintain(pair, recreate=pair in result.recreate)


def create_app(manager: SubscriptionManager, dispatcher: Dispatcher) -> Starlette:
    """The receiver: ``POST /calsync/notifications`` (notifications and lifecycle events)."""

    async def notifications(request: Request) -> Response:
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        body = await request.body()
        result = manager.handle(request.method, query, dict(request.headers), body)
        task = BackgroundTask(_dispatch, result, dispatcher) if result.pairs else None
        return Response(result.body, result.status, headers=result.headers, background=task)

    return Starlette(routes=[Route(PATH, notifications, methods=["POST"])])


def _from_environment() -> Starlette:
    from calsync.stores import SQLSubscriptionStore

    store = SQLSubscriptionStore(os.environ["CALSYNC_STATE_URL"])
    manager = SubscriptionManager(store, os.environ["CALSYNC_NOTIFICATION_URL"])
    return create_app(manager, QueueDispatcher())


def __getattr__(name: str) -> Any:
    """``webhook_app:app`` for uvicorn, built from the environment on first use."""
    if name == "app":
        return _from_environment()
    raise AttributeError(name)
