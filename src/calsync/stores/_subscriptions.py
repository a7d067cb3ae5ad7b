"""Subscription stores: which Graph subscription belongs to which pair.

A change notification names its subscription and carries the
``clientState`` given when it was created; the receiver must find the pair
to sync and check the state. A :class:`SubscriptionStore` keeps, per
subscription id, the pair, the subscribed resource, the expiry and a
SHA-256 digest of the client state (never the state itself: a copy of the
database cannot forge notifications). :mod:`calsync.subscriptions` reads and
writes it; an integrator may implement the Protocol over their own tables.

The SQL stores keep them in ``calsync_subscriptions`` (schema version 3),
so they may share a database, or a SQLite file, with a mapping store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

import attrs

from calsync._closing import ClosesOnExit
from calsync.stores._relational import Executor, Row, migrate
from calsync.stores._schema import SQL
from calsync.stores._sqlite import SQLiteExecutor

__all__ = [
    "MemorySubscriptionStore",
    "RelationalSubscriptionStore",
    "SQLiteSubscriptionStore",
    "Subscription",
    "SubscriptionStore",
    "state_digest",
]

UTC = timezone.utc
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, UTC: sorts as text in SQL


def state_digest(client_state: str) -> str:
    """The SHA-256 hex digest kept in place of a subscription's ``clientState``."""
    return hashlib.sha256(client_state.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("subscription times must be aware datetimes")
    return value.astimezone(UTC)


@attrs.frozen
class Subscription:
    """One Graph subscription of a pair's mailbox.

    ``id`` is Graph's subscription id, ``pair`` the pair it triggers,
    ``resource`` what it watches (``me/events``, ``users/{id}/events``),
    ``expires`` when Graph drops it unless renewed, ``state_hash`` the
    digest of its ``clientState`` (see :meth:`accepts`).
    """

    id: str
    pair: str
    resource: str
    expires: datetime = attrs.field(converter=_utc)
    state_hash: str = attrs.field(repr=False)
    created: datetime = attrs.field(converter=_utc, factory=lambda: datetime.now(UTC))

    def accepts(self, client_state: object) -> bool:
        """Whether a notification's ``clientState`` is this subscription's (constant time)."""
        if not isinstance(client_state, str):
            return False
        return hmac.compare_digest(state_digest(client_state), self.state_hash)


@runtime_checkable
class SubscriptionStore(Protocol):
    """Where calsync keeps its Graph subscriptions, by subscription id."""

    def save(self, subscription: Subscription) -> None:
        """Insert or replace the subscription with this id (durable when this returns)."""

    def get(self, subscription_id: str) -> Subscription | None:
        """The subscription with this id, None when unknown."""

    def for_pair(self, pair: str) -> list[Subscription]:
        """The pair's subscriptions, soonest expiry first."""

    def expiring(self, before: datetime) -> list[Subscription]:
        """Every subscription that expires before ``before``, soonest first."""

    def delete(self, subscription_id: str) -> None:
        """Forget the subscription (no error when unknown)."""


class MemorySubscriptionStore(ClosesOnExit):
    """A :class:`SubscriptionStore` in memory (tests, one process)."""

    def __init__(self) -> None:
        self._items: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    def save(self, subscription: Subscription) -> None:
        """Insert or replace."""
        with self._lock:
            self._items[subscription.id] = subscription

    def get(self, subscription_id: str) -> Subscription | None:
        """By id."""
        with self._lock:
            return self._items.get(subscription_id)

    def for_pair(self, pair: str) -> list[Subscription]:
        """The pair's, soonest expiry first."""
        with self._lock:
            found = [s for s in self._items.values() if s.pair == pair]
        return sorted(found, key=lambda s: (s.expires, s.id))

    def expiring(self, before: datetime) -> list[Subscription]:
        """Expiring before ``before``, soonest first."""
        limit = _utc(before)
        with self._lock:
            found = [s for s in self._items.values() if s.expires < limit]
        return sorted(found, key=lambda s: (s.expires, s.id))

    def delete(self, subscription_id: str) -> None:
        """Forget it."""
        with self._lock:
            self._items.pop(subscription_id, None)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemorySubscriptionStore(subscriptions={len(self._items)})"


def _row(row: Row) -> Subscription:
    sid, pair, resource, expires, state_hash, created = row
    return Subscription(
        str(sid),
        str(pair),
        str(resource),
        datetime.strptime(str(expires), _FORMAT).replace(tzinfo=UTC),
        str(state_hash),
        datetime.strptime(str(created), _FORMAT).replace(tzinfo=UTC),
    )


class RelationalSubscriptionStore(ClosesOnExit):
    """The subscription store logic over an :class:`~calsync.stores._relational.Executor`."""

    def __init__(self, db: Executor, *, migrated: bool = False) -> None:
        self._db = db
        if not migrated:
            migrate(db)

    def save(self, subscription: Subscription) -> None:
        """Insert or replace in one transaction."""
        params = {
            "id": subscription.id,
            "pair": subscription.pair,
            "resource": subscription.resource,
            "expires": subscription.expires.strftime(_FORMAT),
            "state_hash": subscription.state_hash,
            "created": subscription.created.strftime(_FORMAT),
        }
        with self._db.transaction():
            self._db.run(SQL.set_subscription, params)

    def get(self, subscription_id: str) -> Subscription | None:
        """By id."""
        rows = self._db.rows(SQL.subscription, {"id": subscription_id})
        return _row(rows[0]) if rows else None

    def for_pair(self, pair: str) -> list[Subscription]:
        """The pair's, soonest expiry first."""
        return [_row(row) for row in self._db.rows(SQL.subscriptions_of, {"pair": pair})]

    def expiring(self, before: datetime) -> list[Subscription]:
        """Expiring before ``before``, soonest first."""
        limit = _utc(before).strftime(_FORMAT)
        return [_row(row) for row in self._db.rows(SQL.subscriptions_before, {"before": limit})]

    def delete(self, subscription_id: str) -> None:
        """Forget it."""
        with self._db.transaction():
            self._db.run(SQL.delete_subscription, {"id": subscription_id})


class SQLiteSubscriptionStore(RelationalSubscriptionStore):
    """A :class:`SubscriptionStore` in a SQLite file; it may be a :class:`SQLiteStore`'s file."""

    def __init__(self, path: str | os.PathLike[str] = "calsync-state.sqlite3") -> None:
        self.path = os.fspath(path)
        self._executor = SQLiteExecutor(self.path)
        with self._executor.closed_on_failure():
            super().__init__(self._executor)

    def close(self) -> None:
        """Close the database connection."""
        self._executor.close()

    def __repr__(self) -> str:
        return f"SQLiteSubscriptionStore({self.path!r})"
