"""The cyclic garbage collector paused while the engine builds a plan.

A plan of 100,000 events per side makes about 600,000 objects (links, refs,
operations, writes) that all live until the plan is applied. With the
collector running, each 700 allocations trigger a young collection, and the
survivors pile up until Python's collector walks everything the process holds
(the listings, the links, the plan so far): four full collections during one
such plan, about as much CPU as the plan itself. The plan makes no reference
cycles worth collecting, so the collector is paused for its duration, as
``timeit`` does and as Mercurial does around its large structures. The young
collection it leaves is paid once, when the program allocates next.

The pause is process-wide: it begins when the first of any concurrent plans
starts and ends when the last one ends, and the collector is turned back on
only if it was on when the pause began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


class _Pause:
    """How many plans hold the pause, and whether the collector was on before it."""

    lock = threading.Lock()
    holders = 0
    resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off, restored after it."""
    with _Pause.lock:
        if _Pause.holders == 0:
            _Pause.resume = gc.isenabled()
            gc.disable()
        _Pause.holders += 1
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.holders -= 1
            if _Pause.holders == 0 and _Pause.resume:
                gc.enable()
