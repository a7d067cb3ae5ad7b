"""An in-process store: nothing survives the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from calsync._engine._links import Link, Links
from calsync._errors import PairLockedError
from calsync.stores._base import Held, Intent, PairState

__all__ = ["MemoryStore"]


class _Pair:
    def __init__(self) -> None:
        self.links = Links()
        self.cursors: dict[str, str | None] = {}
        self.journal: dict[tuple[str, str], Intent] = {}
        self.held: tuple[Held, ...] = ()
        self.lock = threading.Lock()


class MemoryStore:
    """A :class:`~calsync.stores.MappingStore` in memory, for tests and one-off runs."""

    def __init__(self) -> None:
        self._pairs: dict[str, _Pair] = {}
        self._guard = threading.Lock()

    def _pair(self, pair: str) -> _Pair:
        with self._guard:
            return self._pairs.setdefault(pair, _Pair())

    @contextmanager
    def lock(self, pair: str, *, timeout: float = 0.0) -> Iterator[None]:
        """Hold the pair for one run within this process."""
        state = self._pair(pair)
        deadline = time.monotonic() + timeout
        while not state.lock.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise PairLockedError("another run holds this pair", pair=pair)
            time.sleep(0.01)
        try:
            yield
        finally:
            state.lock.release()

    def load(self, pair: str) -> PairState:
        """A snapshot of the pair's state."""
        state = self._pair(pair)
        return PairState(
            links=Links(state.links),
            cursors=dict(state.cursors),
            pending=tuple(state.journal.values()),
            held=state.held,
        )

    def record_intents(self, pair: str, intents: Sequence[Intent]) -> None:
        """Journal intents by (key, side)."""
        journal = self._pair(pair).journal
        for intent in intents:
            journal[(intent.key, intent.side)] = intent

    def commit(
        self,
        pair: str,
        *,
        links: Mapping[str, Link | None],
        cursors: Mapping[str, str | None],
        done: Iterable[str],
        held: Sequence[Held],
    ) -> None:
        """Apply a run's results at once."""
        state = self._pair(pair)
        for key, link in links.items():
            if link is None:
                state.links.remove(key)
            else:
                state.links.put(link)
        state.cursors.update(cursors)
        finished = set(done)
        state.journal = {k: v for k, v in state.journal.items() if k[0] not in finished}
        state.held = tuple(held)

    def clear(
        self,
        pair: str,
        *,
        links: bool = False,
        cursors: bool = False,
        journal: bool = False,
        held: bool = False,
    ) -> None:
        """Forget the chosen parts of a pair's state."""
        state = self._pair(pair)
        if links:
            state.links = Links()
        if cursors:
            state.cursors = {}
        if journal:
            state.journal = {}
        if held:
            state.held = ()

    def pairs(self) -> list[str]:
        """Every pair seen so far."""
        return sorted(self._pairs)

    def close(self) -> None:
        """Nothing to release."""
