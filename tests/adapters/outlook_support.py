"""Test support for the Outlook adapter: an adapter on a GraphEmulator, with its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from calsync._retry import RetryPolicy
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.adapters.outlook._mapping import create_body
from calsync.model import Event, RecurrenceRule, Window
from calsync.testing import GraphEmulator, GraphMailbox

T = TypeVar("T")

WINDOW = Window(
    datetime(2026, 6, 1, tzinfo=timezone.utc), datetime(2028, 6, 1, tzinfo=timezone.utc)
)


class Sleeps:
    """A sleep that records its delays and does not wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def fast_retry(sleeps: Sleeps | None = None, **changes: Any) -> RetryPolicy:
    """A retry policy that never really waits (the delays are recorded)."""
    return RetryPolicy(sleep=sleeps or Sleeps(), random=lambda: 0.5, **changes)


def make_adapter(graph: GraphEmulator, mailbox: GraphMailbox, **options: Any) -> OutlookCalendar:
    """An adapter for ``mailbox`` on the emulator, retries that do not wait."""
    options.setdefault("retry", fast_retry())
    options.setdefault("account", mailbox.email)
    return OutlookCalendar(StaticToken(mailbox.token), base_url=graph.base_url, **options)


def user_body(event: Event) -> dict[str, Any]:
    """What Outlook's user would write for ``event`` (Graph JSON)."""
    return create_body(event)


@attrs.define
class OutlookHarness:
    """The contract harness: the adapter, the emulator, and the user's hands."""

    graph: GraphEmulator
    mailbox: GraphMailbox
    adapter: OutlookCalendar
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    window: Window = WINDOW
    capabilities: frozenset[str] = frozenset(
        {"optimistic_concurrency", "keys_in_fetch", "rejects_content"}
    )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def user_create(self, event: Event) -> str:
        return str(self.graph.create_event(self.mailbox, user_body(event))["id"])

    def user_update(self, event_id: str, event: Event) -> None:
        self.graph.update_event(self.mailbox, event_id, user_body(event))

    def user_delete(self, event_id: str) -> None:
        self.graph.delete_event(self.mailbox, event_id)

    def rejected_event(self) -> Event:
        """Graph refuses more than 999 occurrences in a numbered range (400)."""
        start = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)
        rule = RecurrenceRule("DAILY", count=1000)
        from calsync.model import Recurrence

        return Event("Too long", start, start.replace(hour=10), recurrence=Recurrence(rule))

    def close(self) -> None:
        self.run(self.adapter.aclose())
        self.loop.close()
