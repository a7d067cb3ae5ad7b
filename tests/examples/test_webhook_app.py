"""examples/webhook_app.py for real: uvicorn on loopback, the Graph emulator delivering to it."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from calsync import Synchronizer, sync_many
from calsync.model import Event
from calsync.stores import SQLiteStore, SQLiteSubscriptionStore
from calsync.subscriptions import SubscriptionManager
from calsync.testing import GraphEmulator, OdooEmulator
from tests.adapters.outlook_support import user_body
from tests.scale_support import PairSpec, add_pairs, odoo_titles, seed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.fixture
def webhook_app() -> Any:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import webhook_app

        yield webhook_app
    finally:
        sys.path.remove(str(EXAMPLES))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class World:
    odoo: OdooEmulator
    graph: GraphEmulator
    specs: list[PairSpec]
    manager: SubscriptionManager
    dispatcher: Any
    url: str

    def wait_for_runs(self, count: int, timeout: float = 30.0) -> list[tuple[str, bool]]:
        assert self.graph.subscriptions.flush(timeout)
        deadline = time.monotonic() + timeout
        while len(self.dispatcher.runs) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        self.dispatcher.wait(timeout)
        return list(self.dispatcher.runs)


@pytest.fixture
def world(webhook_app: Any, tmp_path: Path) -> Iterator[World]:
    import uvicorn

    state = tmp_path / "state.sqlite3"
    with OdooEmulator("18.0", login_delay=0.0) as odoo, GraphEmulator() as graph:
        specs = add_pairs(odoo, graph, 3)
        for spec in specs:
            seed(odoo, graph, spec)
        store = SQLiteStore(state)
        by_pair = {spec.pair: spec for spec in specs}

        def build(pair: str) -> Synchronizer:
            return by_pair[pair].synchronizer(odoo, graph, store)

        built = [build(spec.pair) for spec in specs]
        first = sync_many(built)
        assert all(o.ok for o in first), [(str(o), o.report and o.report.held) for o in first]
        for sync in built:
            sync.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}{webhook_app.PATH}"
        manager = SubscriptionManager(SQLiteSubscriptionStore(state), url)
        dispatcher = webhook_app.LocalDispatcher(build)
        app = webhook_app.create_app(manager, dispatcher)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        try:
            for spec in specs:  # Graph validates the URL against the running app
                outlook = spec.outlook(graph)

                async def subscribe(pair: str = spec.pair, side: Any = outlook) -> None:
                    await manager.ensure(pair, side)
                    await side.aclose()

                asyncio.run(subscribe())
            yield World(odoo, graph, specs, manager, dispatcher, url)
        finally:
            server.should_exit = True
            thread.join(10)
            dispatcher.close()
            store.close()
        assert graph.errors == []


def test_a_notification_syncs_exactly_the_affected_pair(world: World) -> None:
    assert len(world.graph.subscriptions.all()) == 3
    target = world.specs[1]
    start = datetime(2027, 6, 1, 9, tzinfo=timezone.utc)
    added = Event(f"Added in Outlook {target.tag}", start, start + timedelta(hours=1))
    world.graph.create_event(target.mailbox, user_body(added))
    world.wait_for_runs(1)
    time.sleep(0.3)  # what the sync's own writes may notify in turn
    runs = world.wait_for_runs(1)
    assert runs[0] == (target.pair, False)
    assert {pair for pair, _ in runs} == {target.pair}  # and never another pair
    assert f"Added in Outlook {target.tag}" in odoo_titles(world.odoo, target)
    for other in (world.specs[0], world.specs[2]):
        assert all(target.tag not in title for title in odoo_titles(world.odoo, other))
    deliveries = world.graph.subscriptions.deliveries
    assert deliveries
    assert all(d.status == 202 for d in deliveries)


def test_the_handshake_and_forged_or_lifecycle_requests(world: World) -> None:
    with httpx.Client(timeout=10) as client:
        token = "Validation: Testing client application reachability"
        answer = client.post(world.url, params={"validationToken": token})
        assert answer.status_code == 200
        assert answer.text == token
        assert answer.headers["content-type"].startswith("text/plain")
        victim = world.graph.subscriptions.all()[0]
        forged = {"subscriptionId": victim.id, "clientState": "guess", "changeType": "updated"}
        answer = client.post(world.url, json={"value": [forged]})
        assert answer.status_code == 202
    time.sleep(0.2)
    assert world.dispatcher.runs == []  # ignored, never synced
    world.graph.subscriptions.lifecycle(victim.id, "missed")
    runs = world.wait_for_runs(1)
    pair = world.manager.store.get(victim.id)
    assert pair is not None
    assert runs[0] == (pair.pair, True)  # a full listing for "missed"
    assert {name for name, _ in runs} == {pair.pair}


def test_the_queue_dispatcher_enqueues_exactly_the_pair(
    webhook_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import Queue

    from calsync.stores import MemorySubscriptionStore, Subscription
    from calsync.stores._subscriptions import state_digest

    monkeypatch.setenv("REDIS_URL", redis_url)
    store = MemorySubscriptionStore()
    expires = datetime.now(timezone.utc) + timedelta(days=2)
    for pair in ("p0", "p1"):
        store.save(Subscription(f"sub-{pair}", pair, "me/events", expires, state_digest(pair)))
    manager = SubscriptionManager(store, "https://app.example.com/calsync/notifications")
    dispatcher = webhook_app.QueueDispatcher()
    app = webhook_app.create_app(manager, dispatcher)
    note = {"subscriptionId": "sub-p1", "clientState": "p1", "changeType": "updated"}
    removed = {
        "subscriptionId": "sub-p0",
        "clientState": "p0",
        "lifecycleEvent": "subscriptionRemoved",
    }

    async def post() -> None:
        transport = httpx.ASGITransport(app=app)  # background tasks finish before it answers
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            answer = await client.post(webhook_app.PATH, json={"value": [note, note]})
            assert answer.status_code == 202
            answer = await client.post(webhook_app.PATH, json={"value": [removed]})
            assert answer.status_code == 202

    try:
        asyncio.run(post())
    finally:
        dispatcher.close()
    with Redis.from_url(redis_url) as connection:
        jobs = Queue("calsync", connection=connection).get_jobs()
        calls = sorted((job.func_name, job.args, tuple(sorted(job.kwargs.items()))) for job in jobs)
    assert calls == [
        ("worker_rq.maintain_subscription", ("p0",), (("recreate", True),)),
        ("worker_rq.sync_pair", ("p0",), (("full", False),)),
        ("worker_rq.sync_pair", ("p1",), (("full", False),)),
    ]
