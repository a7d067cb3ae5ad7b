"""Stores: where calsync keeps each pair's links, cursors, journal and held events.

* :class:`MemoryStore`: in memory, for tests and one-off runs.
* :class:`SQLiteStore`: one SQLite file, the embedded default.

Any object that follows :class:`MappingStore` works.
"""

from calsync.stores._base import Held, Intent, LinkIndex, MappingStore, PairState
from calsync.stores._memory import MemoryStore
from calsync.stores._sqlite import SQLiteStore

__all__ = [
    "Held",
    "Intent",
    "LinkIndex",
    "MappingStore",
    "MemoryStore",
    "PairState",
    "SQLiteStore",
]
