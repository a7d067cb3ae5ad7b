"""An in-process store: nothing survives the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

from calsync._closing import ClosesOnExit
from calsync._engine._links import Link, Links
from calsync._errors import PairLockedError
from calsync.stores._base import Held, Intent, PairState
from calsync.stores._status import PairStatus, RunRecord, counted

__all__ = ["MemoryStore"]


class _Pair:
    def __init__(self) -> None:
        self.links = Links()
        self.cursors: dict[str, str | None] = {}
        self.journal: dict[tuple[str, str], Intent] = {}
        self.held: tuple[Held, ...] = ()
        self.lock = threading.Lock()
        self.run: RunRecord | None = None
        self.next_due: datetime | None = None


class MemoryStore(ClosesOnExit):
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
        """Every pair with links, cursors or pending intents."""
        return sorted(
            name
            for name, state in self._pairs.items()
            if len(state.links) or state.cursors or state.journal
        )

    def record_run(self, pair: str, run: RunRecord) -> RunRecord:
        """Keep the pair's latest run, counted against the one before."""
        state = self._pair(pair)
        with self._guard:
            state.run = counted(run, state.run)
            return state.run

    def set_next_due(self, pair: str, when: datetime | None) -> None:
        """Keep when the pair is due next."""
        self._pair(pair).next_due = when

    def status(self, pair: str) -> PairStatus:
        """The pair's last run, held events and next due time."""
        with self._guard:
            state = self._pairs.get(pair)
        if state is None:
            return PairStatus(pair)
        return PairStatus(pair, state.run, len(state.held), state.next_due)

    def statuses(self) -> list[PairStatus]:
        """Every pair's status."""
        with self._guard:
            names = sorted(self._pairs)
        return [self.status(name) for name in names]

    def close(self) -> None:
        """Nothing to release."""
