"""Graph subscriptions on a mailbox's events: create, renew, delete (the wire side).

:mod:`calsync.subscriptions` decides when; this module only speaks Graph:
``POST /subscriptions`` (``changeType``, ``notificationUrl``,
``lifecycleNotificationUrl``, ``resource``, ``expirationDateTime``,
``clientState``), ``PATCH /subscriptions/{id}`` with a new
``expirationDateTime``, ``DELETE /subscriptions/{id}`` (404 is success).
Requests go through the adapter's transport: its retries, its limits.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import attrs

from calsync._errors import MalformedAnswerError
from calsync.adapters.outlook._answers import item_of
from calsync.adapters.outlook._batch import Result, error_of
from calsync.adapters.outlook._client import GraphTransport

__all__ = ["GraphSubscription", "create", "delete", "parse_time", "renew"]

UTC = timezone.utc


def format_time(moment: datetime) -> str:
    """An aware datetime as Graph writes it (UTC, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> datetime:
    """Graph's ``2026-01-02T03:04:05.1234567Z`` as an aware datetime (ValueError if not)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a Graph date-time: {value!r}")
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Graph writes 7 fraction digits; Python 3.10 reads 6
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@attrs.frozen
class GraphSubscription:
    """What Graph answered about a subscription: its id, resource and expiry."""

    id: str
    resource: str
    expires: datetime


def _read(result: Result, resource: str, side: str) -> GraphSubscription:
    data = item_of(result, side=side)
    try:
        expires = parse_time(data.get("expirationDateTime"))
    except ValueError as error:
        raise MalformedAnswerError(f"Graph answered without a usable expiry: {error}",
                                   side=side) from None  # fmt: skip
    return GraphSubscription(str(data["id"]), str(data.get("resource") or resource), expires)


async def create(
    transport: GraphTransport,
    *,
    resource: str,
    notification_url: str,
    client_state: str,
    expires: datetime,
    lifecycle_url: str | None,
    change_type: str,
    side: str,
) -> GraphSubscription:
    """``POST /subscriptions``; Graph validates the URL(s) before it answers."""
    body: dict[str, Any] = {
        "changeType": change_type,
        "notificationUrl": notification_url,
        "resource": resource,
        "expirationDateTime": format_time(expires),
        "clientState": client_state,
    }
    if lifecycle_url is not None:
        body["lifecycleNotificationUrl"] = lifecycle_url
    info = transport.request("POST", f"{transport.base_url}/subscriptions", body)
    result = await transport.send(info, "subscribe")
    return _read(result, resource, side)


async def renew(
    transport: GraphTransport, subscription_id: str, expires: datetime, *, side: str
) -> datetime:
    """``PATCH /subscriptions/{id}`` with a new expiry; the expiry Graph accepted.

    :class:`~calsync.NotFoundError` when Graph no longer has it (create a new one).
    """
    url = f"{transport.base_url}/subscriptions/{quote(subscription_id, safe='')}"
    info = transport.request("PATCH", url, {"expirationDateTime": format_time(expires)})
    result = await transport.send(info, "renew")
    return _read(result, "", side).expires


async def delete(transport: GraphTransport, subscription_id: str, *, side: str) -> None:
    """``DELETE /subscriptions/{id}``; one Graph no longer has counts as deleted."""
    url = f"{transport.base_url}/subscriptions/{quote(subscription_id, safe='')}"
    result = await transport.send(transport.request("DELETE", url), "unsubscribe")
    if not result.ok and result.status != 404:
        raise error_of(result, side=side)
