"""The event loop of calsync's blocking API: one per thread, kept open between calls.

msgraph-sdk's and httpx's clients belong to the event loop that made them: a
loop made for one call and closed after it (``asyncio.run``) takes the
adapters' clients and connections with it, and the next call builds them
again. So the blocking calls of a thread (:meth:`Synchronizer.run`,
:func:`sync_many`, the resets) share one loop that stays open: adapters kept
between calls keep their clients, connections and sessions. The loop is
closed when its thread ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from calsync._errors import ConfigurationError

__all__ = ["in_running_loop", "run_blocking", "thread_loop"]

T = TypeVar("T")


class _Kept:
    """A thread's loop; closed when the thread's locals go (the thread ended)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()


_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's loop for blocking calls (made on first use)."""
    kept: _Kept | None = getattr(_local, "kept", None)
    if kept is None or kept.loop.is_closed():
        kept = _local.kept = _Kept()
    return kept.loop


def in_running_loop() -> bool:
    """Whether an event loop runs in this thread (blocking calls cannot run here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_blocking(coroutine: Coroutine[Any, Any, T], instead: str) -> T:
    """Run ``coroutine`` to its end on this thread's loop.

    Inside a running event loop this is a :class:`~calsync.ConfigurationError`
    that names the awaitable to use ``instead`` (the coroutine is closed unrun).
    """
    if in_running_loop():
        coroutine.close()
        raise ConfigurationError(f"an event loop is running here: await {instead} instead")
    return thread_loop().run_until_complete(coroutine)
