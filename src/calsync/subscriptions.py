"""Graph change notifications: a subscription per pair, and the webhook receiver.

A notification is a hint that a pair's mailbox changed, not the data: the
receiver answers at once and a worker runs the pair's usual delta sync.
The library runs no scheduler and no web server of its own (``calsync
serve``, an optional extra, does both); embedded, the integrator wires three
pieces to their own::

    from calsync.subscriptions import SubscriptionManager
    from calsync.stores import SQLSubscriptionStore

    manager = SubscriptionManager(
        SQLSubscriptionStore(engine),                      # shared by web app and workers
        "https://app.example.com/calsync/notifications",   # public HTTPS
    )

    # 1. a periodic job (cron, RQ, Celery beat) keeps each pair subscribed:
    await manager.ensure(pair_id, outlook)   # creates, or renews when it expires soon

    # 2. the web app's route hands Graph's request over and answers at once:
    result = manager.handle(request.method, request.query, request.headers, body)
    for pair in result.sync:
        queue.enqueue(sync_pair, pair, full=pair in result.full)
    for pair in result.renew | result.recreate:
        queue.enqueue(maintain_subscription, pair, recreate=pair in result.recreate)
    return Response(result.body, result.status, headers=result.headers)

**Creating.** :meth:`SubscriptionManager.ensure` POSTs ``/subscriptions``
for the adapter's :attr:`~calsync.adapters.outlook.OutlookCalendar.subscription_resource`
(``me/events`` or ``users/{id}/events``), ``changeType``
``created,updated,deleted``, an expiry ``lifetime`` ahead (default 70
hours: under the 4,230 minutes older Graph pages allow, and under 3 days)
and a fresh random ``clientState`` (64 characters) per subscription. Graph
first POSTs ``?validationToken=`` to the URL, which :meth:`~SubscriptionManager.handle`
answers, so the web app must be up. The store keeps the subscription id,
the pair, the expiry and a digest of the client state.

**Renewing.** ``ensure`` renews (PATCH ``expirationDateTime``) a
subscription with less than ``renew_before`` left (default 24 hours), so a
job that runs every few hours renews early; :meth:`~SubscriptionManager.due`
lists those to renew. A subscription Graph no longer knows is created anew.

**Receiving.** :meth:`~SubscriptionManager.handle` reads the request and
does no Graph call and no sync: the validation handshake (200,
``text/plain``, the token), else 202 for a notification body, with the
pairs to sync. Every notification's ``clientState`` is checked against the
stored digest: a mismatch or an unknown subscription is ignored and logged,
never synced. Lifecycle notifications (send them to the same URL: the
default ``lifecycle_url``): ``reauthorizationRequired`` asks for a renewal
(:meth:`~SubscriptionManager.renew`), ``subscriptionRemoved`` for a new
subscription (:meth:`~SubscriptionManager.recreate`) and a sync, and
``missed`` for a sync with a full listing (``Synchronizer.run(full=True)``).

One subscription per pair: a mailbox synced by two pairs (two calendars)
has two, and a change in either calendar wakes both pairs; the second
sync finds nothing to do.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

import attrs

from calsync import _arguments as checks
from calsync._errors import ConfigurationError, NotFoundError, ProviderError, StoreError
from calsync.adapters.outlook._subscriptions import GraphSubscription
from calsync.stores._subscriptions import Subscription, SubscriptionStore, state_digest

__all__ = [
    "SubscriptionManager",
    "SubscriptionTarget",
    "WebhookResult",
    "handle_webhook",
]

logger = logging.getLogger("calsync.subscriptions")
UTC = timezone.utc
_MAX_TOKEN = 1024
_LIFECYCLE = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
#: What each notification asks for: a change (None) or a lifecycle event.
_ACTIONS: dict[str | None, tuple[str, ...]] = {
    None: ("sync",),
    "reauthorizationRequired": ("renew",),
    "subscriptionRemoved": ("recreate", "sync"),
    "missed": ("full", "sync"),
}


@runtime_checkable
class SubscriptionTarget(Protocol):
    """A mailbox that can be subscribed to (:class:`~calsync.adapters.outlook.OutlookCalendar`)."""

    @property
    def subscription_resource(self) -> str:
        """``me/events`` or ``users/{id}/events``."""

    async def create_subscription(
        self,
        *,
        notification_url: str,
        client_state: str,
        expires: datetime,
        lifecycle_url: str | None = None,
        change_type: str = "created,updated,deleted",
    ) -> GraphSubscription:
        """``POST /subscriptions``."""

    async def renew_subscription(self, subscription_id: str, expires: datetime) -> datetime:
        """``PATCH /subscriptions/{id}``; NotFoundError when it is gone."""

    async def delete_subscription(self, subscription_id: str) -> None:
        """``DELETE /subscriptions/{id}``."""


def _frozen(values: Sequence[str] | frozenset[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class WebhookResult:
    """What to answer Graph, and what to do next (never done by the handler itself).

    ``status``, ``body`` and :attr:`headers` are the HTTP answer. ``sync``
    holds the pairs to sync (enqueue them), ``full`` those among them to
    run with a full listing (``missed``), ``renew`` the pairs whose
    subscription needs a new expiry (``reauthorizationRequired``),
    ``recreate`` those whose subscription Graph removed. ``ignored``
    counts notifications dropped (unknown subscription, wrong ``clientState``).
    """

    status: int
    body: bytes = b""
    content_type: str | None = None
    sync: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen)
    full: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen)
    renew: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen)
    recreate: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen)
    ignored: int = 0

    @property
    def headers(self) -> dict[str, str]:
        """The answer's headers."""
        if self.content_type is None:
            return {}
        return {"Content-Type": self.content_type, "X-Content-Type-Options": "nosniff"}

    @property
    def pairs(self) -> frozenset[str]:
        """Every pair this request concerns (to sync, renew or recreate)."""
        return self.sync | self.renew | self.recreate


def _first(query: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    value = query.get(name)
    if value is None or isinstance(value, str):
        return value
    return value[0] if value else None


def _answer(status: int, text: str = "") -> WebhookResult:
    return WebhookResult(status, text.encode("utf-8"), "text/plain; charset=utf-8")


def _known(store: SubscriptionStore, item: object) -> Subscription | None:
    """The subscription a notification belongs to, if it is known and its state matches."""
    subscription_id = item.get("subscriptionId") if isinstance(item, dict) else None
    if not isinstance(subscription_id, str) or not subscription_id:
        logger.warning("notification without a subscriptionId ignored")
        return None
    known = store.get(subscription_id)
    if known is None:
        logger.warning("notification for unknown subscription %s ignored", subscription_id)
        return None
    assert isinstance(item, dict)
    if not known.accepts(item.get("clientState")):
        logger.warning(
            "notification for subscription %s ignored: its clientState does not match",
            subscription_id,
            extra={"calsync_pair": known.pair},
        )
        return None
    return known


def _read_items(body: bytes | str) -> list[object] | None:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    items = payload.get("value") if isinstance(payload, dict) else None
    return items if isinstance(items, list) else None


def handle_webhook(
    store: SubscriptionStore,
    method: str,
    query: Mapping[str, str | Sequence[str]],
    headers: Mapping[str, str],
    body: bytes | str,
) -> WebhookResult:
    """Answer one request to the notification (or lifecycle) URL; see the module docstring.

    ``query`` maps names to a value or a list of values (``parse_qs``),
    ``headers`` are the request's (unused today, taken for the future: a
    signed payload), ``body`` the raw body. One store read per
    notification; nothing else is done here. A failing store answers 503,
    so Graph delivers again later.
    """
    del headers
    if method.upper() != "POST":
        return _answer(405, "POST only")
    token = _first(query, "validationToken")
    if token is not None:
        if len(token) > _MAX_TOKEN:
            return _answer(400, "validation token too long")
        return _answer(200, token)
    items = _read_items(body)
    if items is None:
        return _answer(400, "the body is not a JSON object with a 'value' list")
    wanted: dict[str, set[str]] = {"sync": set(), "full": set(), "renew": set(), "recreate": set()}
    ignored = 0
    for item in items:
        try:
            known = _known(store, item)
        except StoreError:
            logger.exception("the subscription store failed: Graph will deliver again")
            return _answer(503, "try again later")
        event = item.get("lifecycleEvent") if isinstance(item, dict) else None
        if known is None or (event is not None and event not in _LIFECYCLE):
            if known is not None:
                logger.warning("unknown lifecycle event %r ignored", event)
            ignored += 1
            continue
        if event is not None:
            logger.info(
                "lifecycle event %s for subscription %s",
                event,
                known.id,
                extra={"calsync_pair": known.pair},
            )
        for kind in _ACTIONS[event]:
            wanted[kind].add(known.pair)
    return WebhookResult(
        202,
        sync=frozenset(wanted["sync"]),
        full=frozenset(wanted["full"]),
        renew=frozenset(wanted["renew"]),
        recreate=frozenset(wanted["recreate"]),
        ignored=ignored,
    )


def _now() -> datetime:
    return datetime.now(UTC)


class SubscriptionManager:
    """Keeps one Graph subscription per pair, and reads Graph's webhook requests.

    ``store`` maps subscriptions to pairs (shared by the web app and the
    workers); ``notification_url`` is the public HTTPS URL of the receiver;
    ``lifecycle_url`` where lifecycle notifications go (default: the same
    URL; None: none are asked for). ``lifetime`` is how long a subscription
    is asked to live (at most what Graph allows for events: 4,230 minutes in
    older pages, 10,080 in newer ones), ``renew_before`` how long before its
    expiry :meth:`ensure` renews it.
    """

    def __init__(
        self,
        store: SubscriptionStore,
        notification_url: str,
        *,
        lifecycle_url: str | None = "",
        lifetime: timedelta = timedelta(hours=70),
        renew_before: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        if not isinstance(store, SubscriptionStore):
            raise TypeError(f"store must be a SubscriptionStore, not {type(store).__name__}")
        checks.http_url("notification_url", notification_url, "https://app.example.com/graph")
        if lifecycle_url:
            checks.http_url("lifecycle_url", lifecycle_url, "https://app.example.com/graph")
        checks.instance("lifetime", lifetime, timedelta)
        checks.instance("renew_before", renew_before, timedelta)
        if lifetime <= timedelta(0) or renew_before < timedelta(0) or renew_before >= lifetime:
            raise ConfigurationError("renew_before must be shorter than a positive lifetime")
        self.store = store
        self.notification_url = notification_url
        self.lifecycle_url = notification_url if lifecycle_url == "" else lifecycle_url
        self.lifetime = lifetime
        self.renew_before = renew_before
        self._clock = clock

    def __repr__(self) -> str:
        return f"SubscriptionManager({self.notification_url!r}, lifetime={self.lifetime})"

    # -- receiving ---------------------------------------------------------------------

    def handle(
        self,
        method: str,
        query: Mapping[str, str | Sequence[str]],
        headers: Mapping[str, str],
        body: bytes | str,
    ) -> WebhookResult:
        """Answer one webhook request (see :func:`handle_webhook`)."""
        return handle_webhook(self.store, method, query, headers, body)

    # -- keeping subscriptions -----------------------------------------------------------

    def due(self) -> list[Subscription]:
        """Subscriptions that expire within ``renew_before`` (expired ones included)."""
        return self.store.expiring(self._clock() + self.renew_before)

    async def ensure(self, pair: str, outlook: SubscriptionTarget) -> Subscription:
        """The pair's live subscription: kept, renewed when due, or created.

        Expired records are forgotten; a record for another resource (the
        pair now syncs another mailbox) is deleted on Graph and replaced; a
        second subscription of one pair (two workers raced) is deleted.
        """
        now = self._clock()
        live: list[Subscription] = []
        for known in self.store.for_pair(pair):
            if known.expires <= now:
                self.store.delete(known.id)
            elif known.resource != outlook.subscription_resource:
                await self._drop(known, outlook)
            else:
                live.append(known)
        if not live:
            return await self._create(pair, outlook)
        keep = max(live, key=lambda s: (s.expires, s.id))
        for extra in live:
            if extra is not keep:
                await self._drop(extra, outlook)
        if keep.expires - now > self.renew_before:
            return keep
        return await self._renew(keep, outlook)

    async def renew(self, pair: str, outlook: SubscriptionTarget) -> Subscription:
        """Renew the pair's subscription now (``reauthorizationRequired``); create if none."""
        live = [s for s in self.store.for_pair(pair) if s.expires > self._clock()]
        if not live:
            return await self.ensure(pair, outlook)
        return await self._renew(max(live, key=lambda s: (s.expires, s.id)), outlook)

    async def recreate(self, pair: str, outlook: SubscriptionTarget) -> Subscription:
        """Replace the pair's subscriptions by a new one (``subscriptionRemoved``)."""
        for known in self.store.for_pair(pair):
            await self._drop(known, outlook)
        return await self._create(pair, outlook)

    async def remove(self, pair: str, outlook: SubscriptionTarget) -> None:
        """Delete the pair's subscriptions on Graph and in the store (the pair is leaving)."""
        for known in self.store.for_pair(pair):
            await self._drop(known, outlook)

    async def _create(self, pair: str, outlook: SubscriptionTarget) -> Subscription:
        client_state = secrets.token_urlsafe(48)  # 64 characters, Graph allows 128
        created = await outlook.create_subscription(
            notification_url=self.notification_url,
            client_state=client_state,
            expires=self._clock() + self.lifetime,
            lifecycle_url=self.lifecycle_url,
        )
        subscription = Subscription(
            created.id, pair, created.resource, created.expires, state_digest(client_state)
        )
        self.store.save(subscription)
        logger.info(
            "subscribed to %s until %s (subscription %s)",
            created.resource,
            created.expires.isoformat(),
            created.id,
            extra={"calsync_pair": pair},
        )
        return subscription

    async def _renew(self, known: Subscription, outlook: SubscriptionTarget) -> Subscription:
        try:
            expires = await outlook.renew_subscription(known.id, self._clock() + self.lifetime)
        except NotFoundError:
            logger.info("subscription %s is gone: subscribing again", known.id)
            self.store.delete(known.id)
            return await self._create(known.pair, outlook)
        renewed = attrs.evolve(known, expires=expires)
        self.store.save(renewed)
        return renewed

    async def _drop(self, known: Subscription, outlook: SubscriptionTarget) -> None:
        try:
            await outlook.delete_subscription(known.id)
        except ProviderError as error:  # it expires on its own; its notifications are ignored
            logger.warning("could not delete subscription %s: %s", known.id, error)
        self.store.delete(known.id)
