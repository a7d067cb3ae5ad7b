"""The RQ runner of the service: each run becomes an RQ job (see :mod:`calsync.service.rq`)."""

from __future__ import annotations

import asyncio
import logging

from calsync._app._config import Config
from calsync._extras import needs_extra

__all__ = ["QueueRunner"]

logger = logging.getLogger("calsync.service")


class QueueRunner:
    """Hands each run to RQ workers; a run counts as done once its job is queued.

    The schedule keeps going while workers run the jobs: a pair whose job is
    still waiting or running gets no second one (:func:`~calsync.service.rq.enqueue_sync`).
    """

    def __init__(self, config: Config) -> None:
        with needs_extra("calsync serve with runner = 'rq'", "rq"):
            from redis import Redis
            from rq import Queue
        self._path = str(config.path)
        self._redis = Redis.from_url(config.service.redis_url)
        self._queue = Queue(config.service.queue, connection=self._redis)

    async def run(self, pair: str, *, full: bool) -> None:
        from calsync.service.rq import enqueue_sync

        job = await asyncio.to_thread(enqueue_sync, self._queue, self._path, pair, full=full)
        if job is None:
            logger.info("pair %s: a job is already waiting or running", pair)
        else:
            logger.info("pair %s: queued job %s", pair, job)

    async def aclose(self) -> None:
        self._redis.close()
