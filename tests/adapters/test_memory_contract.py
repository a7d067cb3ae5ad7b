"""MemoryCalendar passes the adapter contract, as the reference implementation."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs
import pytest

from calsync.adapters.memory import MemoryCalendar
from calsync.model import Availability, Event, Privacy, Projection, Window
from calsync.testing.contract import AdapterContract

T = TypeVar("T")

LOSSY = Projection(
    name="lossy",
    reminders=1,
    availability={Availability.TENTATIVE: Availability.BUSY},
    privacy={Privacy.DEFAULT: Privacy.PUBLIC},
)


WINDOW = Window(
    datetime(2026, 6, 1, tzinfo=timezone.utc), datetime(2028, 6, 1, tzinfo=timezone.utc)
)


@attrs.define
class MemoryHarness:
    adapter: MemoryCalendar
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    window: Window = WINDOW
    capabilities: frozenset[str] = frozenset({"optimistic_concurrency", "keys_in_fetch"})

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def user_create(self, event: Event) -> str:
        return self.adapter.add(event)

    def user_update(self, event_id: str, event: Event) -> None:
        self.adapter.replace(event_id, event)

    def user_delete(self, event_id: str) -> None:
        self.adapter.delete(event_id)

    def rejected_event(self) -> Event:
        raise NotImplementedError


class TestMemoryCalendar(AdapterContract):
    @pytest.fixture(params=["full", "lossy"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[MemoryHarness]:
        projection = LOSSY if request.param == "lossy" else None
        harness = MemoryHarness(MemoryCalendar("memory", projection=projection))
        yield harness
        harness.loop.close()
