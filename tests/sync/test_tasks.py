"""calsync._tasks: work started together ends together, and leaves no unread error."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from calsync._tasks import gather, settle


async def _fails(after: float, message: str) -> None:
    await asyncio.sleep(after)
    raise ValueError(message)


def _unretrieved(scenario: Any) -> list[str]:
    """What asyncio reports as never retrieved while ``scenario`` runs and its tasks go."""
    reported: list[str] = []
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
    try:
        with pytest.raises(ValueError, match="first"):
            loop.run_until_complete(scenario())
    finally:
        loop.close()
    gc.collect()
    return reported


def test_settle_retrieves_the_errors_of_siblings_that_failed_too() -> None:
    """Awaiting tasks one by one raises the first error; a sibling that failed as well
    (both refused by one overloaded server) is not reported again by asyncio."""

    async def scenario() -> None:
        tasks = [
            asyncio.ensure_future(_fails(0.01, "first")),
            asyncio.ensure_future(_fails(0.0, "second")),
        ]
        try:
            for task in tasks:
                await task
        finally:
            await settle(tasks)

    assert _unretrieved(scenario) == []


def test_settle_cancels_what_is_still_running() -> None:
    async def scenario() -> None:
        slow = asyncio.ensure_future(asyncio.sleep(10))
        try:
            await _fails(0.0, "first")
        finally:
            await settle([slow, None])
            assert slow.cancelled()

    assert _unretrieved(scenario) == []


def test_gather_raises_the_first_error_and_stops_the_rest() -> None:
    started: list[str] = []

    async def slow() -> None:
        started.append("slow")
        await asyncio.sleep(10)

    async def scenario() -> None:
        await gather(_fails(0.0, "first"), _fails(0.01, "second"), slow())

    assert _unretrieved(scenario) == []
    assert started == ["slow"]
