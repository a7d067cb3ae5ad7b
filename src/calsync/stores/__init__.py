"""Stores: where calsync keeps each pair's state and each account's tokens.

Mapping stores (:class:`MappingStore`: links, cursors, journal, held events,
pair locks):

* :class:`MemoryStore`: in memory, for tests and one-off runs.
* :class:`SQLiteStore`: one SQLite file, the embedded default.
* :class:`SQLStore`: SQLAlchemy, for PostgreSQL when many workers share
  state (advisory pair locks across processes and machines).

Token stores (:class:`TokenStore`: msal's serialised token cache per
account, for :mod:`calsync.auth`), each with optional encryption at rest
(``key=``, see :func:`generate_token_key`):

* :class:`MemoryTokenStore`, :class:`SQLiteTokenStore` (may share the
  SQLite file of a :class:`SQLiteStore`), :class:`SQLTokenStore`
  (SQLAlchemy).

Subscription stores (:class:`SubscriptionStore`: which Graph change-notification
subscription belongs to which pair, for :mod:`calsync.subscriptions`):

* :class:`MemorySubscriptionStore`, :class:`SQLiteSubscriptionStore`,
  :class:`SQLSubscriptionStore` (SQLAlchemy); the SQL ones may share the
  database of a mapping store.

Every mapping store also keeps each pair's status (:class:`StatusStore`:
the last run's outcome, counts and error, the held events, when a scheduler
runs the pair next): ``store.status(pair)``. Every store closes in a
``with`` block.

Any object that follows the Protocols works. :class:`SQLStore`,
:class:`SQLTokenStore` and :class:`SQLSubscriptionStore` import SQLAlchemy
when first used (install ``calsync[sql]``; without it, using them raises an
ImportError that names the extra); encryption needs ``calsync[crypto]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calsync._extras import needs_extra
from calsync.stores._base import Held, Intent, LinkIndex, MappingStore, PairState
from calsync.stores._memory import MemoryStore
from calsync.stores._sqlite import SQLiteStore
from calsync.stores._status import PairStatus, RunRecord, StatusStore
from calsync.stores._subscriptions import (
    MemorySubscriptionStore,
    SQLiteSubscriptionStore,
    Subscription,
    SubscriptionStore,
)
from calsync.stores._tokens import (
    MemoryTokenStore,
    SQLiteTokenStore,
    TokenKey,
    TokenStore,
    generate_token_key,
)

if TYPE_CHECKING:
    from calsync.stores._sql import SQLStore, SQLSubscriptionStore, SQLTokenStore

__all__ = [
    "Held",
    "Intent",
    "LinkIndex",
    "MappingStore",
    "MemoryStore",
    "MemorySubscriptionStore",
    "MemoryTokenStore",
    "PairState",
    "PairStatus",
    "RunRecord",
    "SQLStore",
    "SQLSubscriptionStore",
    "SQLTokenStore",
    "SQLiteStore",
    "SQLiteSubscriptionStore",
    "SQLiteTokenStore",
    "StatusStore",
    "Subscription",
    "SubscriptionStore",
    "TokenKey",
    "TokenStore",
    "generate_token_key",
]

_LAZY = frozenset({"SQLStore", "SQLSubscriptionStore", "SQLTokenStore"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        with needs_extra(name, "sql"):
            from calsync.stores import _sql

        return getattr(_sql, name)
    raise AttributeError(f"module 'calsync.stores' has no attribute {name!r}")
