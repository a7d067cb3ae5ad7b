"""Change notifications: ``/subscriptions`` and the delivery of notifications.

Routes (bearer token required):

- ``POST /v1.0/subscriptions``: ``changeType`` (a comma list of
  ``created``, ``updated``, ``deleted``), ``notificationUrl``, ``resource``
  (``me/events`` or ``users/{id or address}/events``; anything else answers
  400, as Graph has no subscription on ``calendarView``),
  ``expirationDateTime`` (in the future and at most ``max_lifetime`` ahead,
  else 400), ``clientState`` (at most 128 characters), optional
  ``lifecycleNotificationUrl``. Before answering 201, the emulator POSTs
  ``?validationToken=...`` to the notification URL (and to the lifecycle
  URL when given); an answer other than 200 with the token as its body
  fails the creation with 400 ``ValidationError``, as Graph does. URLs must
  be ``https``, except on loopback (``http://127.0.0.1``, ``localhost``),
  where the test receivers live. Graph's 10-second deadline is not enforced.
- ``GET /v1.0/subscriptions`` and ``GET/PATCH/DELETE /v1.0/subscriptions/{id}``:
  PATCH takes only ``expirationDateTime`` (the renewal); unknown ids answer
  404 ``ResourceNotFound``. A subscription is seen only by tokens of its
  creator or of its mailbox.

Delivery: every stored change of a subscribed mailbox (the store's
observers: HTTP writes, the test helpers and attendee deliveries alike)
whose kind the subscription asked for, while it has not expired, becomes a
notification in Graph's shape (``subscriptionId``, ``clientState``,
``changeType``, ``resource`` ``Users/{id}/Events/{id}``, ``resourceData``,
``subscriptionExpirationDateTime``, ``tenantId``). Notifications are queued
and POSTed from one background thread, so writes never wait for a
receiver; those waiting for one URL go out together in one ``{"value":
[...]}`` body. Each POST is logged (:attr:`SubscriptionService.deliveries`);
a failed one is not retried. :meth:`SubscriptionService.flush` waits until
the queue is empty. Lifecycle notifications (``reauthorizationRequired``,
``subscriptionRemoved``, which also removes the subscription, ``missed``)
are sent on demand to the lifecycle URL by
:meth:`SubscriptionService.lifecycle`.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import attrs

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._identity import TENANT_ID
from calsync.testing._graph._pipeline import ME_NEEDS_USER
from calsync.testing._server import Response

if TYPE_CHECKING:
    from collections.abc import Mapping

    from calsync.testing._graph._pipeline import Pipeline
    from calsync.testing._graph._router import Call, Router
    from calsync.testing._graph._state import MailboxState

__all__ = ["Delivery", "Subscription", "SubscriptionService"]

logger = logging.getLogger("calsync.testing.graph")

CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
#: The emulator's application id (Graph shows the creating app's).
APPLICATION_ID = "24d3b144-21ae-4080-943f-7067b395b913"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _format(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _parse(value: object) -> datetime:
    if not isinstance(value, str) or not value:
        raise GraphError(400, "InvalidRequest", "expirationDateTime is required.")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Graph writes 7 fraction digits; Python reads at most 6
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(400, "InvalidRequest", f"Invalid expirationDateTime '{value}'.") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


@attrs.define(eq=False)
class Subscription:
    """One subscription as the emulator keeps it."""

    id: str
    mailbox_id: str
    creator_id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime

    def json(self, base_url: str) -> dict[str, Any]:
        """Graph's rendering of the subscription."""
        return {
            "@odata.context": f"{base_url}/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": APPLICATION_ID,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": _format(self.expires),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


@attrs.frozen
class Delivery:
    """One POST to a receiver: the URL, the notifications sent, the status (0: no answer)."""

    url: str
    notifications: tuple[Mapping[str, Any], ...]
    status: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Graph counts 2xx answers as delivered."""
        return 200 <= self.status < 300


def _post(
    url: str, body: bytes, content_type: str, timeout: float
) -> tuple[int, bytes, str | None]:
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked on creation)
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return int(answer.status), answer.read(), None
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(), None
    except (OSError, ValueError) as error:
        return 0, b"", f"{type(error).__name__}: {error}"


class SubscriptionService:
    """The emulator's subscriptions and its notification delivery (``graph.subscriptions``).

    ``max_lifetime`` is the longest lifetime Graph accepts for events (4,230
    minutes in older pages, 10,080 in newer ones); ``timeout`` the seconds a
    receiver has to answer a validation or a notification.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        max_lifetime: timedelta = timedelta(minutes=4230),
        timeout: float = 10.0,
    ) -> None:
        self._pipeline = pipeline
        self.max_lifetime = max_lifetime
        self.timeout = timeout
        self._lock = threading.RLock()
        self._subscriptions: dict[str, Subscription] = {}
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._deliveries: list[Delivery] = []

    # -- wiring ------------------------------------------------------------------------

    def register(self, router: Router) -> None:
        """Add the ``/subscriptions`` routes; validation POSTs run outside the state lock."""
        router.add("POST", "/v1.0/subscriptions", self._create, exclusive=False)
        router.add("GET", "/v1.0/subscriptions", self._list, exclusive=False)
        router.add("GET", "/v1.0/subscriptions/{sid}", self._get, exclusive=False)
        router.add("PATCH", "/v1.0/subscriptions/{sid}", self._patch, exclusive=False)
        router.add("DELETE", "/v1.0/subscriptions/{sid}", self._delete, exclusive=False)

    def observe(self, mailbox: MailboxState, item_id: str, change: str) -> None:
        """The store's observer: queue a notification for each matching subscription."""
        now = self._now()
        with self._lock:
            targets = [
                s
                for s in self._subscriptions.values()
                if s.mailbox_id == mailbox.id and change in s.change_types and s.expires > now
            ]
        item = mailbox.items.get(item_id)
        for subscription in targets:
            resource = f"Users/{mailbox.id}/Events/{item_id}"
            data: dict[str, Any] = {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "id": item_id,
            }
            if item is not None and change != "deleted":
                data["@odata.etag"] = f'W/"{item.change_key}"'
            self._enqueue(
                subscription.notification_url,
                {
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": _format(subscription.expires),
                    "changeType": change,
                    "resource": resource,
                    "resourceData": data,
                    "clientState": subscription.client_state,
                    "tenantId": TENANT_ID,
                },
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the delivery thread (what is queued is sent first)."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None

    # -- test helpers ------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._pipeline.store.clock()

    def all(self) -> list[Subscription]:
        """Every live subscription, in creation order."""
        with self._lock:
            return list(self._subscriptions.values())

    def get(self, subscription_id: str) -> Subscription:
        """One subscription (KeyError when there is none)."""
        with self._lock:
            return self._subscriptions[subscription_id]

    @property
    def deliveries(self) -> list[Delivery]:
        """Every notification POST made so far, in order."""
        with self._lock:
            return list(self._deliveries)

    def notifications(self, subscription_id: str | None = None) -> list[Mapping[str, Any]]:
        """Every notification delivered (answered 2xx), of one subscription when given."""
        return [
            item
            for delivery in self.deliveries
            if delivery.ok
            for item in delivery.notifications
            if subscription_id is None or item.get("subscriptionId") == subscription_id
        ]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notification was POSTed; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def clear_deliveries(self) -> None:
        """Forget the delivery log."""
        with self._lock:
            self._deliveries.clear()

    def expire(self, subscription_id: str) -> None:
        """Make a subscription expire now: no more notifications for it."""
        with self._lock:
            self._subscriptions[subscription_id].expires = self._now()

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Send a lifecycle notification (queued like the others) to the lifecycle URL.

        ``subscriptionRemoved`` also removes the subscription, as Graph does.
        A subscription without ``lifecycleNotificationUrl`` gets none from
        Graph: ValueError here.
        """
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {sorted(LIFECYCLE_EVENTS)}")
        with self._lock:
            subscription = self._subscriptions[subscription_id]
            if subscription.lifecycle_url is None:
                raise ValueError(
                    f"subscription {subscription_id} has no lifecycleNotificationUrl: "
                    "Graph sends it no lifecycle notifications"
                )
            if event == "subscriptionRemoved":
                del self._subscriptions[subscription_id]
        self._enqueue(
            subscription.lifecycle_url,
            {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": _format(subscription.expires),
                "tenantId": TENANT_ID,
                "clientState": subscription.client_state,
                "lifecycleEvent": event,
            },
        )

    # -- delivery ----------------------------------------------------------------------

    def _enqueue(self, url: str, notification: dict[str, Any]) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._deliver_forever, name="graph-notifications", daemon=True
                )
                self._thread.start()
        self._queue.put((url, notification))

    def _deliver_forever(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:  # whatever else is waiting goes out in the same round
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            by_url: dict[str, list[dict[str, Any]]] = {}
            for url, notification in batch:
                by_url.setdefault(url, []).append(notification)
            for url, notifications in by_url.items():
                self._send(url, notifications)
            if stop:
                return

    def _send(self, url: str, notifications: list[dict[str, Any]]) -> None:
        body = json.dumps({"value": notifications}).encode()
        try:
            status, _, error = _post(url, body, "application/json", self.timeout)
        except Exception as unexpected:  # the thread must go on
            status, error = 0, repr(unexpected)
        if error:
            logger.info("notification POST to %s failed: %s", url, error)
        with self._idle:
            self._deliveries.append(Delivery(url, tuple(notifications), status, error))
            self._pending -= len(notifications)
            self._idle.notify_all()

    # -- routes ------------------------------------------------------------------------

    def _resource(self, call: Call, value: object) -> tuple[str, MailboxState]:
        if not isinstance(value, str) or not value.strip():
            raise GraphError(400, "InvalidRequest", "resource is required.")
        parts = [p for p in value.strip().strip("/").split("/") if p]
        caller = self._pipeline.caller(call.request.headers)
        if len(parts) == 2 and parts[0].lower() == "me" and parts[1].lower() == "events":
            if caller is None:  # an application token
                raise GraphError(400, "BadRequest", ME_NEEDS_USER)
            return value, caller
        if len(parts) == 3 and parts[0].lower() == "users" and parts[2].lower() == "events":
            found = self._pipeline.store.mailbox(parts[1])
            if found is None:
                raise GraphError(
                    404, "ErrorInvalidUser", f"The requested user '{parts[1]}' is invalid."
                )
            return value, found
        raise GraphError(
            400,
            "InvalidRequest",
            f"Resource '{value}' is not supported for subscriptions: "
            "use me/events or users/{id}/events.",
        )

    def _url(self, value: object, name: str) -> str:
        if not isinstance(value, str) or not value:
            raise GraphError(400, "InvalidRequest", f"{name} is required.")
        parts = urlsplit(value)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
        )
        if not secure or not parts.netloc:
            raise GraphError(
                400, "InvalidRequest", f"The {name} must be an absolute HTTPS URL ('{value}')."
            )
        return value

    def _validate(self, url: str) -> None:
        token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        joined = f"{url}{'&' if urlsplit(url).query else '?'}validationToken={quote(token)}"
        status, body, error = _post(joined, b"", "text/plain; charset=utf-8", self.timeout)
        if status != 200 or body.decode("utf-8", "replace") != token:
            detail = error or f"status {status}"
            raise GraphError(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond "
                f"with 200 OK to validation request ({detail}).",
            )

    def _create(self, call: Call) -> Response:
        body = call.body()
        kinds = [k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()]
        if not kinds or any(k not in CHANGE_TYPES for k in kinds):
            raise GraphError(
                400, "InvalidRequest", "changeType must be a list of created, updated, deleted."
            )
        resource, mailbox = self._resource(call, body.get("resource"))
        url = self._url(body.get("notificationUrl"), "notificationUrl")
        lifecycle = body.get("lifecycleNotificationUrl")
        lifecycle_url = (
            None if lifecycle is None else self._url(lifecycle, "lifecycleNotificationUrl")
        )
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > 128):
            raise GraphError(
                400, "InvalidRequest", "clientState must be a string of at most 128 characters."
            )
        expires = self._check_expiry(body.get("expirationDateTime"))
        self._validate(url)
        if lifecycle_url is not None and lifecycle_url != url:
            self._validate(lifecycle_url)
        creator = self._pipeline.principal(call.request.headers)
        assert creator is not None  # the route requires auth
        subscription = Subscription(
            id=str(uuid.uuid4()),
            mailbox_id=mailbox.id,
            creator_id=creator,
            resource=resource,
            change_types=tuple(k for k in ("created", "updated", "deleted") if k in kinds),
            notification_url=url,
            lifecycle_url=lifecycle_url,
            client_state=state,
            expires=expires,
        )
        with self._lock:
            self._subscriptions[subscription.id] = subscription
        return Response.json(201, subscription.json(self._pipeline.base_url))

    def _check_expiry(self, value: object) -> datetime:
        expires = _parse(value)
        now = self._now()
        if expires <= now:
            raise GraphError(
                400, "InvalidRequest", "Subscription expiration must be in the future."
            )
        if expires > now + self.max_lifetime:
            minutes = int(self.max_lifetime.total_seconds() // 60)
            raise GraphError(
                400,
                "InvalidRequest",
                f"Subscription expiration can only be {minutes} minutes in the future.",
            )
        return expires

    def _visible(self, call: Call) -> Subscription:
        caller = self._pipeline.principal(call.request.headers)
        with self._lock:
            found = self._subscriptions.get(call.params["sid"])
        if (
            found is None
            or caller is None
            or caller not in (found.creator_id, found.mailbox_id)
            or found.expires <= self._now()
        ):
            raise GraphError(
                404,
                "ResourceNotFound",
                f"The object was not found: subscription '{call.params['sid']}'.",
            )
        return found

    def _list(self, call: Call) -> Response:
        caller = self._pipeline.principal(call.request.headers)
        now = self._now()
        with self._lock:
            mine = [
                s.json(self._pipeline.base_url)
                for s in self._subscriptions.values()
                if caller is not None and caller in (s.creator_id, s.mailbox_id) and s.expires > now
            ]
        return Response.json(200, {"value": mine})

    def _get(self, call: Call) -> Response:
        return Response.json(200, self._visible(call).json(self._pipeline.base_url))

    def _patch(self, call: Call) -> Response:
        subscription = self._visible(call)
        body = call.body()
        other = set(body) - {"expirationDateTime"}
        if other:
            raise GraphError(
                400, "InvalidRequest", f"Only expirationDateTime can be updated ({sorted(other)})."
            )
        expires = self._check_expiry(body.get("expirationDateTime"))
        with self._lock:
            subscription.expires = expires
        return Response.json(200, subscription.json(self._pipeline.base_url))

    def _delete(self, call: Call) -> Response:
        subscription = self._visible(call)
        with self._lock:
            self._subscriptions.pop(subscription.id, None)
        return Response(204)
