"""The emulator's change notifications: /subscriptions, the validation handshake, delivery."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from calsync.testing import GraphEmulator, GraphMailbox
from calsync.testing._server import LoopbackServer, Request, Response

UTC = timezone.utc


class Receiver:
    """A webhook receiver on loopback: echoes validation tokens, logs notifications."""

    def __init__(self, *, echo: bool = True, status: int = 202, delay: float = 0.0) -> None:
        self.echo, self.status, self.delay = echo, status, delay
        self.validations: list[str] = []
        self.bodies: list[dict[str, object]] = []
        self.lock = threading.Lock()
        self.server = LoopbackServer(self.app)

    def app(self, request: Request) -> Response:
        token = request.param("validationToken")
        if token is not None:
            with self.lock:
                self.validations.append(token)
            body = token.encode() if self.echo else b"nope"
            return Response(200, body, (("Content-Type", "text/plain"),))
        time.sleep(self.delay)
        with self.lock:
            self.bodies.append(json.loads(request.body))
        return Response(self.status)

    @property
    def url(self) -> str:
        return f"{self.server.url}/notify"

    def notifications(self) -> list[dict[str, object]]:
        with self.lock:
            return [item for body in self.bodies for item in body["value"]]  # type: ignore[attr-defined]


@pytest.fixture
def graph_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with receiver.server:
        yield receiver


def later(hours: float = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def subscribe(http: httpx.Client, url: str, **changes: object) -> httpx.Response:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": "me/events",
        "expirationDateTime": later(),
        "clientState": "secret-state",
        **changes,
    }
    return http.post("/subscriptions", json=body)


def event_body(title: str) -> dict[str, object]:
    return {
        "subject": title,
        "start": {"dateTime": "2027-05-03T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-05-03T10:00:00", "timeZone": "UTC"},
    }


def test_create_validates_the_url_and_answers_the_subscription(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, graph_receiver: Receiver
) -> None:
    answer = subscribe(graph_http, graph_receiver.url)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    assert data["resource"] == "me/events"
    assert data["changeType"] == "created,updated,deleted"
    assert data["clientState"] == "secret-state"
    assert data["expirationDateTime"].endswith("Z")
    assert len(graph_receiver.validations) == 1
    assert graph_http.get(f"/subscriptions/{data['id']}").json()["id"] == data["id"]
    assert [s["id"] for s in graph_http.get("/subscriptions").json()["value"]] == [data["id"]]


def test_a_receiver_that_does_not_echo_the_token_fails_the_creation(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    receiver = Receiver(echo=False)
    with receiver.server:
        answer = subscribe(graph_http, receiver.url)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ValidationError"
    assert graph_emulator.subscriptions.all() == []
    nobody = subscribe(graph_http, "http://127.0.0.1:9/notify")  # nothing listens there
    assert nobody.status_code == 400


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"resource": "me/calendarView"}, "not supported"),
        ({"changeType": "created,moved"}, "changeType"),
        ({"clientState": "x" * 129}, "128"),
        ({"expirationDateTime": later(71)}, "4230 minutes"),
        ({"expirationDateTime": later(-1)}, "future"),
        ({"notificationUrl": "http://example.com/hook"}, "HTTPS"),
    ],
)
def test_bad_subscriptions_are_refused(
    graph_http: httpx.Client, graph_receiver: Receiver, changes: dict[str, object], message: str
) -> None:
    answer = subscribe(graph_http, graph_receiver.url, **changes)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    assert graph_receiver.validations == []


def test_renew_and_delete(graph_http: httpx.Client, graph_receiver: Receiver) -> None:
    sid = subscribe(graph_http, graph_receiver.url).json()["id"]
    renewed = graph_http.patch(f"/subscriptions/{sid}", json={"expirationDateTime": later(60)})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"][:13] == later(60)[:13]
    other = graph_http.patch(f"/subscriptions/{sid}", json={"resource": "users/x/events"})
    assert other.status_code == 400
    assert graph_http.delete(f"/subscriptions/{sid}").status_code == 204
    assert graph_http.get(f"/subscriptions/{sid}").status_code == 404
    gone = graph_http.patch(f"/subscriptions/{sid}", json={"expirationDateTime": later()})
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ResourceNotFound"


def test_changes_are_delivered_in_graphs_shape(
    graph_emulator: GraphEmulator,
    graph_alice: GraphMailbox,
    graph_bob: GraphMailbox,
    graph_http: httpx.Client,
    graph_receiver: Receiver,
) -> None:
    sid = subscribe(graph_http, graph_receiver.url).json()["id"]
    created = graph_emulator.create_event(graph_alice, event_body("Planning"))
    graph_emulator.update_event(graph_alice, created["id"], {"subject": "Planning v2"})
    graph_emulator.create_event(graph_bob, event_body("Bob's own"))  # not subscribed
    graph_emulator.delete_event(graph_alice, created["id"])
    assert graph_emulator.subscriptions.flush()
    got = graph_receiver.notifications()
    assert [n["changeType"] for n in got] == ["created", "updated", "deleted"]
    first = got[0]
    assert first["subscriptionId"] == sid
    assert first["clientState"] == "secret-state"
    assert first["resource"] == f"Users/{graph_alice.id}/Events/{created['id']}"
    assert first["resourceData"]["id"] == created["id"]  # type: ignore[index]
    assert first["resourceData"]["@odata.etag"].startswith('W/"')  # type: ignore[index]
    assert "tenantId" in first
    assert "subscriptionExpirationDateTime" in first
    assert all(d.ok for d in graph_emulator.subscriptions.deliveries)


def test_only_the_change_types_asked_for_and_only_while_alive(
    graph_emulator: GraphEmulator,
    graph_alice: GraphMailbox,
    graph_http: httpx.Client,
    graph_receiver: Receiver,
) -> None:
    sid = subscribe(graph_http, graph_receiver.url, changeType="deleted").json()["id"]
    created = graph_emulator.create_event(graph_alice, event_body("One"))
    graph_emulator.delete_event(graph_alice, created["id"])
    assert graph_emulator.subscriptions.flush()
    assert [n["changeType"] for n in graph_receiver.notifications()] == ["deleted"]
    graph_emulator.subscriptions.expire(sid)
    graph_emulator.create_event(graph_alice, event_body("Two"))
    assert graph_emulator.subscriptions.flush()
    assert len(graph_receiver.notifications()) == 1
    assert graph_http.get(f"/subscriptions/{sid}").status_code == 404


def test_http_writes_notify_too_and_a_slow_receiver_does_not_slow_them(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox, graph_http: httpx.Client
) -> None:
    receiver = Receiver(delay=0.5)
    with receiver.server:
        subscribe(graph_http, receiver.url)
        started = time.monotonic()
        for n in range(3):
            assert graph_http.post("/me/events", json=event_body(f"E{n}")).status_code == 201
        assert time.monotonic() - started < 0.5
        assert graph_emulator.subscriptions.flush(timeout=10)
    assert len(receiver.notifications()) == 3
    assert len(receiver.bodies) <= 2  # what waited went out together


def test_lifecycle_notifications_on_demand(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, graph_receiver: Receiver
) -> None:
    plain = subscribe(graph_http, graph_receiver.url).json()["id"]
    with pytest.raises(ValueError, match="lifecycleNotificationUrl"):
        graph_emulator.subscriptions.lifecycle(plain, "missed")
    lifecycle_url = f"{graph_receiver.server.url}/lifecycle"
    sid = subscribe(graph_http, graph_receiver.url, lifecycleNotificationUrl=lifecycle_url).json()[
        "id"
    ]
    assert len(graph_receiver.validations) == 3  # both URLs of the second are validated
    for event in ("reauthorizationRequired", "missed", "subscriptionRemoved"):
        graph_emulator.subscriptions.lifecycle(sid, event)
    assert graph_emulator.subscriptions.flush()
    got = graph_receiver.notifications()
    assert [n["lifecycleEvent"] for n in got] == [
        "reauthorizationRequired",
        "missed",
        "subscriptionRemoved",
    ]
    assert {d.url for d in graph_emulator.subscriptions.deliveries} == {lifecycle_url}
    assert graph_http.get(f"/subscriptions/{sid}").status_code == 404


def test_a_subscription_on_another_users_events(
    graph_emulator: GraphEmulator,
    graph_bob: GraphMailbox,
    graph_http: httpx.Client,
    graph_receiver: Receiver,
) -> None:
    answer = subscribe(graph_http, graph_receiver.url, resource=f"users/{graph_bob.email}/events")
    assert answer.status_code == 201
    graph_emulator.create_event(graph_bob, event_body("Bob's"))
    assert graph_emulator.subscriptions.flush()
    (only,) = graph_receiver.notifications()
    assert only["resource"] == f"Users/{graph_bob.id}/Events/{only['resourceData']['id']}"  # type: ignore[index]
    unknown = subscribe(graph_http, graph_receiver.url, resource="users/nobody@x.com/events")
    assert unknown.status_code == 404
