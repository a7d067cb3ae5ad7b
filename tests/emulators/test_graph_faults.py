"""Faults, request numbering and concurrency accounting in GraphEmulator."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from graph_bodies import event
from graph_client import SdkClient
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from calsync.testing import GraphEmulator, GraphMailbox


def test_throttle_one_mailbox(
    graph_emulator: GraphEmulator,
    graph_http: httpx.Client,
    graph_bob: GraphMailbox,
) -> None:
    fault = graph_emulator.throttle("alice@example.com", retry_after=5, times=2)
    bob = {"Authorization": f"Bearer {graph_bob.token}"}
    assert graph_http.get("/me/events", headers=bob).status_code == 200
    first, second, third = (graph_http.get("/me/events") for _ in range(3))
    for answer in (first, second):
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["error"]["code"] == "ApplicationThrottled"
    assert third.status_code == 200
    assert fault.hits == 2
    with pytest.raises(TypeError):
        graph_emulator.fail(503, mailbx="alice@example.com")
    assert [graph_emulator.status_of(r) for r in graph_emulator.requests] == [200, 429, 429, 200]


@pytest.mark.parametrize(("status", "code"), [(503, "ServiceUnavailable"), (504, "GatewayTimeout")])
def test_fail_with_graph_error_body(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, status: int, code: str
) -> None:
    graph_emulator.fail(status, retry_after=3, method="POST")
    assert graph_http.get("/me/events").status_code == 200
    answer = graph_http.post("/me/events", json=event())
    assert answer.status_code == status
    assert answer.headers["Retry-After"] == "3"
    error = answer.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) == {"request-id", "date", "client-request-id"}
    assert graph_http.get("/me/events").json()["value"] == []


def test_fail_with_custom_code_and_path(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_emulator.fail(400, "ErrorInvalidIdMalformed", "bad id", path=r"/events/[^/]+$")
    assert graph_http.post("/me/events", json=event()).status_code == 201
    answer = graph_http.get("/me/events/anything")
    assert answer.status_code == 400
    assert answer.json()["error"] == answer.json()["error"] | {
        "code": "ErrorInvalidIdMalformed",
        "message": "bad id",
    }


def test_fault_at_the_nth_request_counts_inner_requests(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_http.get("/me/events")
    graph_emulator.reset_counts()
    # Index 0: the $batch envelope, 1 and 2: its inner requests, 3: the next request.
    graph_emulator.fail(500, at=2)
    graph_emulator.fail(503, at=3)
    batch = {
        "requests": [
            {"id": "x", "method": "GET", "url": "/me/calendar"},
            {"id": "y", "method": "GET", "url": "/me/calendars"},
        ]
    }
    responses = {
        r["id"]: r["status"] for r in graph_http.post("/$batch", json=batch).json()["responses"]
    }
    assert responses == {"x": 200, "y": 500}
    assert graph_http.get("/me/events").status_code == 503
    assert graph_http.get("/me/events").status_code == 200
    assert [(r.index, r.inner) for r in graph_emulator.all_requests] == [
        (0, False),
        (1, True),
        (2, True),
        (3, False),
        (4, False),
    ]


def test_slow_and_drop(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    graph_emulator.slow(0.3, method="GET")
    began = time.monotonic()
    assert graph_http.get("/me/events").status_code == 200
    assert time.monotonic() - began >= 0.3

    graph_emulator.drop(method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        graph_http.post("/me/events", json=event("Lost before"))
    assert graph_http.get("/me/events").json()["value"] == []

    graph_emulator.drop(after=True, method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        graph_http.post("/me/events", json=event("Made, answer lost"))
    made = graph_http.get("/me/events").json()["value"]
    assert [e["subject"] for e in made] == ["Made, answer lost"]
    posts = [r for r in graph_emulator.requests if r.method == "POST"]
    assert [graph_emulator.status_of(r) for r in posts] == [0, 0]


def test_wait_idle_waits_for_delayed_requests(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    graph_emulator.slow(2.0, method="POST")  # long enough to look before it lands, even loaded
    headers = {"Authorization": f"Bearer {graph_alice.token}"}
    with (
        httpx.Client(base_url=graph_emulator.base_url, headers=headers, timeout=0.1) as http,
        pytest.raises(httpx.TimeoutException),
    ):
        http.post("/me/events", json=event("Late"))
    assert graph_emulator.events(graph_alice) == []
    assert graph_emulator.wait_idle(5)
    assert [e["subject"] for e in graph_emulator.events(graph_alice)] == ["Late"]


def test_timeout_hiding_a_success(graph_emulator: GraphEmulator, graph_alice: GraphMailbox) -> None:
    graph_emulator.slow(1.0, after=True, method="POST")
    headers = {"Authorization": f"Bearer {graph_alice.token}"}
    with (
        httpx.Client(base_url=graph_emulator.base_url, headers=headers, timeout=0.2) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.post("/me/events", json=event("Slow", transactionId="k1"))
    time.sleep(0.9)
    with httpx.Client(base_url=graph_emulator.base_url, headers=headers) as http:
        retry = http.post("/me/events", json=event("Slow", transactionId="k1"))
        assert retry.status_code == 400
        assert retry.json()["error"]["code"] == "ErrorDuplicateTransactionId"
        assert len(http.get("/me/events").json()["value"]) == 1


def test_sdk_sees_throttling_as_odata_error(
    graph_emulator: GraphEmulator, graph_sdk: SdkClient
) -> None:
    graph_emulator.throttle(retry_after=4)
    with pytest.raises(ODataError) as caught:
        graph_sdk.run(graph_sdk.graph.me.events.get())
    assert caught.value.response_status_code == 429
    assert caught.value.response_headers is not None
    assert caught.value.response_headers["retry-after"] == "4"
    assert caught.value.error is not None
    assert caught.value.error.code == "ApplicationThrottled"


def test_sdk_retry_handler_resends_posts(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    graph_emulator.throttle(retry_after=1, method="POST")
    client = SdkClient(graph_emulator, graph_alice.token, retry=True)
    try:
        created = client.run(client.graph.me.events.post(_sdk_event()))
    finally:
        client.close()
    assert created is not None
    assert [graph_emulator.status_of(r) for r in graph_emulator.requests] == [429, 201]


def _sdk_event() -> Event:
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone

    return Event(
        subject="Retried",
        start=DateTimeTimeZone(date_time="2026-03-02T10:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-03-02T11:00:00", time_zone="UTC"),
    )


def _parallel(graph: GraphEmulator, tokens: list[str]) -> list[int]:
    """One request per token, all started together; their statuses, in order.

    One client made beforehand and one barrier for every request: they start
    together even on a busy machine (a client per thread spent the emulator's
    latency building SSL contexts).
    """
    barrier = threading.Barrier(len(tokens))
    with httpx.Client(timeout=10) as client:

        def one(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            barrier.wait()
            return client.get(f"{graph.base_url}/me/calendars", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
            return list(pool.map(one, tokens))


def test_concurrency_is_counted_per_mailbox() -> None:
    with GraphEmulator(latency=0.3) as graph:
        alice = graph.add_mailbox("alice@example.com")
        bob = graph.add_mailbox("bob@example.com")
        statuses = _parallel(graph, [alice.token] * 6 + [bob.token] * 2)
        assert statuses == [200] * 8
        assert graph.max_concurrency(alice) == 6
        assert graph.max_concurrency(bob) == 2
        assert graph.max_concurrency() == 8
        assert graph.request_count() == 8
        graph.reset_counts()
        assert graph.max_concurrency(alice) == 0
        assert graph.requests == []


def test_concurrency_limit_answers_429() -> None:
    with GraphEmulator(latency=0.3, concurrency_limit=4, concurrency_retry_after=2) as graph:
        alice = graph.add_mailbox("alice@example.com")
        statuses = _parallel(graph, [alice.token] * 6)
        assert sorted(statuses) == [200] * 4 + [429] * 2
        # The peak shows the limit was exceeded: 4 running plus the one refused.
        assert graph.max_concurrency(alice) == 5
        assert graph.request_count(alice) == 6
        refused = [r for r in graph.requests if graph.status_of(r) == 429]
        assert len(refused) == 2
