"""calsync.subscriptions: subscriptions per pair on the Graph emulator, and the webhook handler."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

from calsync import StoreError
from calsync.adapters.outlook import OutlookCalendar
from calsync.stores import (
    MemorySubscriptionStore,
    SQLiteStore,
    SQLiteSubscriptionStore,
    SQLSubscriptionStore,
    Subscription,
    SubscriptionStore,
)
from calsync.stores._subscriptions import state_digest
from calsync.subscriptions import SubscriptionManager, WebhookResult, handle_webhook
from calsync.testing import GraphEmulator, GraphMailbox
from calsync.testing._server import LoopbackServer, Request, Response
from tests.adapters.outlook_support import make_adapter

UTC = timezone.utc
T = TypeVar("T")


class Clock:
    """One clock for the emulator and the manager, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Receiver:
    """The integrator's web app in miniature: hands requests to the manager, keeps results."""

    def __init__(self) -> None:
        self.manager: SubscriptionManager | None = None
        self.results: list[WebhookResult] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.app)

    def app(self, request: Request) -> Response:
        assert self.manager is not None
        result = self.manager.handle(request.method, request.query, request.headers, request.body)
        if result.status == 202:
            with self.lock:
                self.results.append(result)
        return Response(result.status, result.body, tuple(result.headers.items()))

    def synced(self) -> list[str]:
        with self.lock:
            return sorted(pair for r in self.results for pair in r.sync)


@attrs.define
class World:
    graph: GraphEmulator
    clock: Clock
    receiver: Receiver
    manager: SubscriptionManager
    boxes: list[GraphMailbox]
    adapters: list[OutlookCalendar]
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)


@pytest.fixture
def world() -> Iterator[World]:
    clock = Clock()
    receiver = Receiver()
    with GraphEmulator(clock=clock) as graph, receiver.server:
        manager = SubscriptionManager(
            MemorySubscriptionStore(), f"{receiver.server.url}/notify", clock=clock
        )
        receiver.manager = manager
        boxes = [graph.add_mailbox(f"user{n}@example.com") for n in range(3)]
        adapters = [make_adapter(graph, box) for box in boxes]
        loop = asyncio.new_event_loop()
        try:
            yield World(graph, clock, receiver, manager, boxes, adapters, loop)
        finally:
            for adapter in adapters:
                loop.run_until_complete(adapter.aclose())
            loop.close()
        assert graph.errors == []


def event_body(title: str) -> dict[str, object]:
    return {
        "subject": title,
        "start": {"dateTime": "2027-05-03T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-05-03T10:00:00", "timeZone": "UTC"},
    }


def test_ensure_subscribes_once_and_keeps_only_a_digest_of_the_state(world: World) -> None:
    made = world.run(world.manager.ensure("pair-0", world.adapters[0]))
    assert made.pair == "pair-0"
    assert made.resource == "me/events"
    assert made.expires == world.clock.now + timedelta(hours=70)
    (remote,) = world.graph.subscriptions.all()
    assert remote.id == made.id
    assert remote.client_state is not None
    assert 32 <= len(remote.client_state) <= 128
    assert made.state_hash == state_digest(remote.client_state)
    assert remote.client_state not in repr(made)
    assert remote.lifecycle_url == remote.notification_url
    before = world.graph.request_count()
    assert world.run(world.manager.ensure("pair-0", world.adapters[0])) == made
    assert world.graph.request_count() == before  # nothing due: no request


def test_ensure_renews_early_and_recreates_what_graph_lost(world: World) -> None:
    made = world.run(world.manager.ensure("pair-0", world.adapters[0]))
    world.clock.advance(hours=47)  # 23 hours left: under renew_before (24)
    assert [s.id for s in world.manager.due()] == [made.id]
    renewed = world.run(world.manager.ensure("pair-0", world.adapters[0]))
    assert renewed.id == made.id
    assert renewed.expires == world.clock.now + timedelta(hours=70)
    assert world.graph.subscriptions.get(made.id).expires == renewed.expires
    assert world.manager.due() == []
    world.graph.subscriptions.expire(made.id)  # Graph dropped it
    again = world.run(world.manager.renew("pair-0", world.adapters[0]))
    assert again.id != made.id
    assert world.manager.store.for_pair("pair-0") == [again]


def test_a_notification_names_exactly_the_pair_of_its_mailbox(world: World) -> None:
    for n, adapter in enumerate(world.adapters):
        world.run(world.manager.ensure(f"pair-{n}", adapter))
    world.graph.create_event(world.boxes[1], event_body("Only user 1"))
    assert world.graph.subscriptions.flush()
    assert world.receiver.synced() == ["pair-1"]


def test_lifecycle_events_ask_for_renewal_recreation_and_a_full_sync(world: World) -> None:
    made = world.run(world.manager.ensure("pair-0", world.adapters[0]))
    world.graph.subscriptions.lifecycle(made.id, "reauthorizationRequired")
    world.graph.subscriptions.lifecycle(made.id, "missed")
    assert world.graph.subscriptions.flush()
    results = world.receiver.results  # one POST or two: Graph may bundle them
    assert set().union(*(r.renew for r in results)) == {"pair-0"}
    assert set().union(*(r.full for r in results)) == {"pair-0"}
    assert set().union(*(r.sync for r in results)) == {"pair-0"}
    assert not any(r.recreate for r in results)
    world.graph.subscriptions.lifecycle(made.id, "subscriptionRemoved")
    assert world.graph.subscriptions.flush()
    removed = world.receiver.results[-1]
    assert not removed.renew
    assert removed.recreate == {"pair-0"}
    assert removed.sync == {"pair-0"}
    fresh = world.run(world.manager.recreate("pair-0", world.adapters[0]))
    assert fresh.id != made.id
    assert [s.id for s in world.graph.subscriptions.all()] == [fresh.id]
    assert world.manager.store.for_pair("pair-0") == [fresh]


def test_remove_and_a_pair_moved_to_another_mailbox(world: World) -> None:
    made = world.run(world.manager.ensure("pair-0", world.adapters[0]))
    other = make_adapter(world.graph, world.boxes[1], user=world.boxes[1].email)
    try:
        moved = world.run(world.manager.ensure("pair-0", other))
        assert moved.resource == f"users/{world.boxes[1].email}/events"
        assert [s.id for s in world.manager.store.for_pair("pair-0")] == [moved.id]
        # The old mailbox's token is not at hand: its subscription lives on at Graph
        # until it expires, but what it delivers is ignored (no longer in the store).
        world.graph.create_event(world.boxes[0], event_body("Old mailbox"))
        assert world.graph.subscriptions.flush()
        assert world.receiver.synced() == []
        assert world.receiver.results[-1].ignored == 1
        world.run(world.manager.remove("pair-0", other))
    finally:
        world.run(other.aclose())
    assert world.manager.store.for_pair("pair-0") == []
    assert [s.id for s in world.graph.subscriptions.all()] == [made.id]


# -- the handler alone -------------------------------------------------------------------------


@pytest.fixture
def known() -> tuple[MemorySubscriptionStore, Subscription]:
    store = MemorySubscriptionStore()
    subscription = Subscription(
        "sub-1", "pair-a", "me/events", datetime.now(UTC) + timedelta(days=2), state_digest("s3")
    )
    store.save(subscription)
    return store, subscription


def post(store: SubscriptionStore, *items: dict[str, object]) -> WebhookResult:
    return handle_webhook(store, "POST", {}, {}, json.dumps({"value": list(items)}).encode())


def test_the_validation_handshake(known: tuple[MemorySubscriptionStore, Subscription]) -> None:
    store, _ = known
    token = "Validation: Testing client application reachability 5"
    result = handle_webhook(store, "POST", {"validationToken": [token]}, {}, b"")
    assert result.status == 200
    assert result.body == token.encode()
    assert result.headers["Content-Type"].startswith("text/plain")
    assert not result.pairs
    assert handle_webhook(store, "POST", {"validationToken": "x" * 2000}, {}, b"").status == 400
    assert handle_webhook(store, "GET", {}, {}, b"").status == 405


def test_client_state_is_checked_on_every_notification(
    known: tuple[MemorySubscriptionStore, Subscription], caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = known
    good = {"subscriptionId": "sub-1", "clientState": "s3", "changeType": "updated"}
    result = post(store, good, {**good, "clientState": "forged"}, {**good, "clientState": None})
    assert result.status == 202
    assert result.sync == {"pair-a"}
    assert result.ignored == 2
    forged = post(store, {**good, "clientState": "forged"})
    assert forged.status == 202
    assert not forged.pairs
    assert "clientState does not match" in caplog.text
    assert "forged" not in caplog.text
    unknown = post(store, {**good, "subscriptionId": "sub-unknown"})
    assert unknown.ignored == 1
    assert not unknown.pairs


def test_bad_bodies_and_a_failing_store() -> None:
    store = MemorySubscriptionStore()
    assert handle_webhook(store, "POST", {}, {}, b"{not json").status == 400
    assert handle_webhook(store, "POST", {}, {}, b'{"value": 3}').status == 400

    class Broken(MemorySubscriptionStore):
        def get(self, subscription_id: str) -> Subscription | None:
            raise StoreError("database down")

    assert post(Broken(), {"subscriptionId": "x", "clientState": "y"}).status == 503


def test_the_manager_refuses_a_renewal_window_past_the_lifetime() -> None:
    from calsync import ConfigurationError

    with pytest.raises(ConfigurationError):
        SubscriptionManager(MemorySubscriptionStore(), "https://x", renew_before=timedelta(days=5))


# -- the stores ----------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "sql-sqlite", "sql-postgres"])
def subscription_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        store: Any = MemorySubscriptionStore()
    elif request.param == "sqlite":
        SQLiteStore(tmp_path / "state.sqlite3").close()  # shares the mapping store's file
        store = SQLiteSubscriptionStore(tmp_path / "state.sqlite3")
    elif request.param == "sql-sqlite":
        store = SQLSubscriptionStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    else:
        store = SQLSubscriptionStore(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


def test_subscription_stores_round_trip(subscription_store: SubscriptionStore) -> None:
    now = datetime(2027, 1, 1, 12, tzinfo=UTC)
    first = Subscription("a", "p1", "me/events", now + timedelta(hours=5), state_digest("x"), now)
    second = Subscription("b", "p1", "me/events", now + timedelta(hours=1), state_digest("y"), now)
    third = Subscription(
        "c", "p2", "users/u/events", now + timedelta(hours=3), state_digest("z"), now
    )
    for item in (first, second, third):
        subscription_store.save(item)
    assert isinstance(subscription_store, SubscriptionStore)
    assert subscription_store.get("a") == first
    assert subscription_store.get("zzz") is None
    assert subscription_store.for_pair("p1") == [second, first]
    assert subscription_store.expiring(now + timedelta(hours=4)) == [second, third]
    renewed = attrs.evolve(first, expires=now + timedelta(hours=9))
    subscription_store.save(renewed)
    assert subscription_store.get("a") == renewed
    subscription_store.delete("b")
    subscription_store.delete("b")
    assert subscription_store.for_pair("p1") == [renewed]
    assert renewed.accepts("x")
    assert not renewed.accepts("y")
    assert not renewed.accepts(None)
