"""``calsync serve``: one long-running process that keeps every configured pair in sync.

An application of the library (``pip install 'calsync[service]'``), not part
of it: ``import calsync`` never imports this package. It runs, in one
asyncio loop:

- the schedule (:mod:`._scheduler`): every pair every ``interval`` seconds,
  with jitter; a pair Graph says changed (a change notification) at once;
  runs in this process, or as RQ jobs (``runner = "rq"``, :mod:`.rq`);
- Graph change-notification subscriptions, one per pair, created at start
  and renewed every hour when due (``public_url`` must be Graph-reachable);
- the HTTP side (:mod:`._web`): notifications, the users' sign-in pages,
  ``/healthz``, ``/metrics``.

SIGTERM (or Ctrl-C) stops it gracefully: no new run starts, runs under way
finish (up to ``stop_timeout`` seconds), then the HTTP side closes and the
process exits 0. Credentials that expire within 30 days are logged at start
and every day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from calsync._app._config import Config
from calsync._app._deploy import Deployment
from calsync._errors import CalsyncError
from calsync.service._metrics import Metrics
from calsync.service._scheduler import InProcess, Runner, Scheduler
from calsync.service._web import NOTIFICATIONS_PATH, create_app

if TYPE_CHECKING:
    from calsync.subscriptions import SubscriptionManager

__all__ = ["run_service", "serve"]

logger = logging.getLogger("calsync.service")
#: How often subscriptions are checked (renewed when due) and expiries logged, in seconds.
UPKEEP_EVERY = 3600.0
EXPIRY_EVERY = 24 * 3600.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service stops it after draining runs."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_service(config: Config) -> int:
    """Run the service until SIGTERM or SIGINT; the process's exit code."""
    try:
        return asyncio.run(serve(config))
    except CalsyncError as error:
        logger.error("calsync serve could not start: %s", error)
        return 2


async def serve(config: Config) -> int:
    """The service in the running loop (see the module docstring)."""
    deployment = Deployment(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = _runner(config, deployment)
    metrics = Metrics(deployment)
    scheduler = Scheduler(
        deployment,
        runner,
        interval=config.service.interval,
        jitter=config.service.jitter,
        concurrency=config.service.concurrency,
        on_run=lambda _: metrics.refresh(),
    )
    scheduler.plan([p.name for p in deployment.pairs()])
    subscriptions = _subscriptions(deployment)
    upkeep = _Upkeep(deployment, subscriptions)
    app = create_app(deployment, scheduler, metrics, subscriptions, maintain=upkeep.maintain_soon)
    server = _Server(
        uvicorn.Config(
            app,
            host=config.service.listen_host,
            port=config.service.listen_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    http = asyncio.create_task(server.serve(), name="calsync-http")
    while not server.started and not http.done():  # noqa: ASYNC110 (uvicorn sets a flag)
        await asyncio.sleep(0.05)
    if http.done():  # the port is taken, or the like
        await http
        return 2
    logger.info(
        "calsync serve: %d pairs, every %ss, on http://%s:%d",
        len(scheduler.pairs),
        config.service.interval,
        config.service.listen_host,
        config.service.listen_port,
    )
    ticking = asyncio.create_task(scheduler.run_forever(), name="calsync-schedule")
    upkeeping = asyncio.create_task(upkeep.run_forever(), name="calsync-upkeep")
    await stop.wait()
    waited = await scheduler.stop(config.service.stop_timeout)
    logger.info(
        "calsync serve stopping: %d run%s under way finished first",
        waited,
        "" if waited == 1 else "s",
    )
    for task in (ticking, upkeeping):
        task.cancel()
    await asyncio.gather(ticking, upkeeping, return_exceptions=True)
    server.should_exit = True
    await http
    await runner.aclose()
    await deployment.aclose()
    deployment.close()
    logger.info("calsync serve stopped")
    return 0


def _runner(config: Config, deployment: Deployment) -> Runner:
    if config.service.runner == "rq":
        from calsync.service._queue import QueueRunner

        return QueueRunner(config)
    return InProcess(deployment)


def _subscriptions(deployment: Deployment) -> SubscriptionManager | None:
    public = deployment.config.service.public_url
    if public is None:
        return None
    from calsync.subscriptions import SubscriptionManager

    return SubscriptionManager(deployment.subscription_store, public + NOTIFICATIONS_PATH)


class _Upkeep:
    """Subscriptions kept alive and expiries logged, in the background."""

    def __init__(self, deployment: Deployment, manager: SubscriptionManager | None) -> None:
        self._deployment = deployment
        self._manager = manager
        self._queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()

    def maintain_soon(self, pair: str, recreate: bool) -> None:
        """Renew (or recreate) a pair's subscription soon (a lifecycle notification asked)."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (pair, recreate))

    async def run_forever(self) -> None:
        since_expiry = EXPIRY_EVERY
        while True:
            if since_expiry >= EXPIRY_EVERY:
                self._deployment.warn_expiries()
                since_expiry = 0.0
            for configured in self._deployment.pairs():
                await self._ensure(configured.name, recreate=False)
            waited = 0.0
            while waited < UPKEEP_EVERY:
                try:
                    pair, recreate = await asyncio.wait_for(self._queue.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    waited += 1.0
                    continue
                await self._ensure(pair, recreate=recreate)
            since_expiry += UPKEEP_EVERY

    async def _ensure(self, name: str, *, recreate: bool) -> None:
        manager = self._manager
        if manager is None:
            return
        outlook = None
        try:
            outlook = self._deployment.outlook(self._deployment.pair(name))
            if recreate:
                await manager.recreate(name, outlook)
            else:
                await manager.ensure(name, outlook)
        except CalsyncError as error:
            logger.warning("pair %s: subscription not kept: %s", name, error)
        finally:
            if outlook is not None:
                await outlook.aclose()
