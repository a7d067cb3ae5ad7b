"""Concurrency that leaves nothing behind: when a call fails or is cancelled, so is its work.

``asyncio.gather`` lets the other awaitables run on after the first failure,
and a task that calsync starts on its own (a ``$batch`` round) runs on after
the coroutine that started it is cancelled. Either way, requests would still
leave after the run that made them has stopped: a cancelled or failed run
would keep writing behind the caller's back, and a crash test that cancels a
run would not be a crash. :func:`gather` waits for everything it started
before it returns or raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

__all__ = ["gather", "settle"]

T = TypeVar("T")


async def settle(tasks: Iterable[asyncio.Future[Any] | None]) -> None:
    """Cancel these tasks unless done, and wait until they are.

    Their errors count as retrieved: the caller raises the first one it met,
    and a sibling's (often the same cause) would otherwise be logged by
    asyncio as "Task exception was never retrieved" when collected.
    """
    given = [task for task in tasks if task is not None]
    pending = [task for task in given if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in given:
        if not task.cancelled():
            task.exception()


async def gather(*awaitables: Awaitable[T]) -> list[T]:
    """The results in order, like ``asyncio.gather``; on the first error the rest are cancelled.

    Whether it returns, raises or is cancelled, no awaitable it was given is
    still running when it is done.
    """
    tasks = [asyncio.ensure_future(item) for item in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await settle(tasks)
