"""$batch in GraphEmulator: limits, routing, dependencies, inner throttling and logging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graph_bodies import event

from calsync.testing import GraphEmulator

JSON = {"Content-Type": "application/json"}


def _create(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(number),
        "method": "POST",
        "url": "/me/events",
        "headers": JSON,
        "body": event(f"Batch {number}"),
        **extra,
    }


def _by_id(answer: httpx.Response) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return {r["id"]: r for r in answer.json()["responses"]}


def test_twenty_requests_run_and_are_logged(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    answer = graph_http.post("/$batch", json={"requests": [_create(n) for n in range(20)]})
    responses = _by_id(answer)
    assert sorted(responses, key=int) == [str(n) for n in range(20)]
    assert {r["status"] for r in responses.values()} == {201}
    assert responses["7"]["body"]["subject"] == "Batch 7"
    assert len(graph_http.get("/me/events", params={"$top": "50"}).json()["value"]) == 20

    envelope = graph_emulator.requests[0]
    assert envelope.path == "/v1.0/$batch"
    inner = graph_emulator.inner_requests
    assert len(inner) == 20
    assert [r.batch_id for r in inner] == [str(n) for n in range(20)]
    assert {r.batch_index for r in inner} == {envelope.index}
    assert [r.index for r in inner] == list(range(1, 21))
    assert inner[0].path == "/v1.0/me/events"
    assert graph_emulator.request_count("alice@example.com") == 2
    assert graph_emulator.request_count("alice@example.com", include_inner=True) == 22
    assert graph_emulator.max_concurrency("alice@example.com") == 4


def test_batch_level_errors(graph_http: httpx.Client) -> None:
    too_many = graph_http.post("/$batch", json={"requests": [_create(n) for n in range(21)]})
    assert too_many.status_code == 400
    absolute = _create(1, url="https://graph.microsoft.com/v1.0/me/events")
    assert graph_http.post("/$batch", json={"requests": [absolute]}).status_code == 400
    untyped = _create(1, headers={})
    assert graph_http.post("/$batch", json={"requests": [untyped]}).status_code == 400
    duplicate = [_create(1), _create(1)]
    assert graph_http.post("/$batch", json={"requests": duplicate}).status_code == 400
    dangling = [_create(1, dependsOn=["9"])]
    assert graph_http.post("/$batch", json={"requests": dangling}).status_code == 400
    assert graph_http.get("/me/events").json()["value"] == []


def test_depends_on_failure_is_424(graph_http: httpx.Client) -> None:
    requests = [
        {"id": "1", "method": "GET", "url": "/me/events/missing"},
        {"id": "2", "method": "GET", "url": "me/calendar", "dependsOn": ["1"]},
        _create(3),
        {"id": "4", "method": "GET", "url": "/me/calendar", "dependsOn": ["3"]},
    ]
    responses = _by_id(graph_http.post("/$batch", json={"requests": requests}))
    assert responses["1"]["status"] == 404
    assert responses["1"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert responses["2"]["status"] == 424
    assert responses["3"]["status"] == 201
    assert responses["4"]["status"] == 200


def test_inner_throttle_while_others_succeed(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_emulator.throttle(retry_after=7, inner=True, match=lambda r: r.batch_id == "2")
    responses = _by_id(
        graph_http.post("/$batch", json={"requests": [_create(n) for n in range(1, 5)]})
    )
    assert responses["2"]["status"] == 429
    assert responses["2"]["headers"]["Retry-After"] == "7"
    assert responses["2"]["body"]["error"]["code"] == "ApplicationThrottled"
    assert [responses[i]["status"] for i in ("1", "3", "4")] == [201, 201, 201]
    subjects = {e["subject"] for e in graph_http.get("/me/events").json()["value"]}
    assert subjects == {"Batch 1", "Batch 3", "Batch 4"}


def test_inner_requests_count_against_the_concurrency_limit() -> None:
    with GraphEmulator(concurrency_limit=3, concurrency_retry_after=2) as graph:
        alice = graph.add_mailbox("alice@example.com")
        headers = {"Authorization": f"Bearer {alice.token}"}
        answer = httpx.post(
            f"{graph.base_url}/$batch",
            json={"requests": [_create(n) for n in range(1, 6)]},
            headers=headers,
        )
    responses = _by_id(answer)
    statuses = [responses[str(n)]["status"] for n in range(1, 6)]
    assert statuses == [201, 201, 201, 429, 201]
    assert responses["4"]["headers"]["Retry-After"] == "2"


def test_batch_uses_the_same_handlers_and_auth(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    created = graph_http.post("/me/events", json=event("Target")).json()
    requests = [
        {
            "id": "a",
            "method": "PATCH",
            "url": f"/me/events/{created['id']}",
            "headers": {**JSON, "If-Match": 'W/"stale"'},
            "body": {"subject": "X"},
        },
        {"id": "b", "method": "DELETE", "url": f"/me/events/{created['id']}", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": "/users/alice@example.com/calendars"},
    ]
    responses = _by_id(graph_http.post("/$batch", json={"requests": requests}))
    assert responses["a"]["status"] == 412
    assert responses["b"]["status"] == 424
    assert responses["c"]["status"] == 200
    assert "body" in responses["c"]
    anonymous = httpx.post(f"{graph_emulator.base_url}/$batch", json={"requests": requests})
    assert anonymous.status_code == 401


def test_shuffled_responses_are_deterministic() -> None:
    orders = []
    for _ in range(2):
        with GraphEmulator(shuffle_batch=True, seed=3) as graph:
            alice = graph.add_mailbox("alice@example.com")
            answer = httpx.post(
                f"{graph.base_url}/$batch",
                json={"requests": [_create(n) for n in range(10)]},
                headers={"Authorization": f"Bearer {alice.token}"},
            )
            orders.append([r["id"] for r in answer.json()["responses"]])
    assert orders[0] == orders[1]
    assert orders[0] != [str(n) for n in range(10)]


def test_dropped_inner_request_drops_the_batch(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_emulator.drop(inner=True, match=lambda r: r.batch_id == "2")
    with pytest.raises(httpx.RemoteProtocolError):
        graph_http.post("/$batch", json={"requests": [_create(n) for n in range(1, 4)]})
    subjects = [e["subject"] for e in graph_http.get("/me/events").json()["value"]]
    assert subjects == ["Batch 1"]
    statuses = [graph_emulator.status_of(r) for r in graph_emulator.all_requests[:4]]
    assert statuses == [0, 201, 0, None]
