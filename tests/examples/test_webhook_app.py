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
from tests.adapters.outlook_support import WINDOW, user_body
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
            spec = by_pair[pair]
            return Synchronizer(
                spec.odoo(odoo),
                spec.outlook(graph),
                store,
                pair=pair,
                window=WINDOW,
                first_sync_max_notifications=10,
            )

        first = sync_many([build(spec.pair) for spec in specs])
        assert all(o.ok for o in first), [str(o) for o in first]
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
    runs = world.wait_for_runs(1)
    assert runs == [(target.pair, False)]
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
    assert runs == [(pair.pair, True)]  # a full listing for "missed"
