"""Links: what calsync remembers about each synced event between runs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import attrs
from attrs.validators import instance_of, optional

from calsync._frozen import builder
from calsync._model._event import Event

__all__ = ["Link", "LinkIndex", "Links", "SideRef", "derive_key"]


@attrs.frozen
class SideRef:
    """One side of a link: the provider id and version seen at the last sync.

    ``seen`` is the content as that side reported it, when it differs from the
    link's base (a lossy side); None means "the same as the base". Comparing a
    side with its own earlier report is what makes change detection exact.
    ``read_only``: the account does not organise the event on that side.
    """

    id: str = attrs.field(validator=instance_of(str))
    version: str | None = attrs.field(default=None, validator=optional(instance_of(str)))
    seen: Event | None = attrs.field(default=None, validator=optional(instance_of(Event)))
    read_only: bool = False

    def content(self, base: Event) -> Event:
        """What this side held at the last sync."""
        return self.seen if self.seen is not None else base


@attrs.frozen
class Link:
    """One synced event: its ids on both sides and the last synced content.

    ``key`` is calsync's stable id for the link (also the idempotency key of
    the writes made for it). ``base`` is the content both sides agreed on at
    the last sync, the base of three-way merges. A side is None when the event
    deliberately does not exist there (a meeting this account only attends, an
    event left out by a reset): changes on the other side are then ignored
    until that event is deleted.
    """

    key: str = attrs.field(validator=instance_of(str))
    base: Event = attrs.field(validator=instance_of(Event))
    left: SideRef | None = attrs.field(validator=optional(instance_of(SideRef)))
    right: SideRef | None = attrs.field(validator=optional(instance_of(SideRef)))
    uid: str | None = None
    note: str = ""

    def side(self, position: int) -> SideRef | None:
        """The left (0) or right (1) side."""
        return self.left if position == 0 else self.right

    def with_side(self, position: int, ref: SideRef | None) -> Link:
        """A copy with one side replaced."""
        if position == 0:
            return attrs.evolve(self, left=ref)
        return attrs.evolve(self, right=ref)


#: ``SideRef(...)`` and ``Link(...)`` the engine's way: the same objects, built faster.
new_ref = builder(SideRef)
new_link = builder(Link)

_SEPARATOR = "\x1f"


def derive_key(*parts: str) -> str:
    """A stable link key from its origin (side name, id, ...): same origin, same key.

    Deterministic keys make a create planned again after a crash carry the key
    of the first attempt, so the provider's idempotency catches the repeat.
    """
    return hashlib.blake2b(_SEPARATOR.join(parts).encode(), digest_size=16).hexdigest()


def key_deriver(*prefix: str) -> Callable[[str], str]:
    """``derive_key(*prefix, last)`` as a function of ``last``, for many keys of one origin.

    The prefix is hashed once and the hash state copied for each key: a third
    of the cost of hashing the whole origin again.
    """
    start = hashlib.blake2b((_SEPARATOR.join(prefix) + _SEPARATOR).encode(), digest_size=16)

    def derive(last: str) -> str:
        state = start.copy()
        state.update(last.encode())
        return state.hexdigest()

    return derive


class LinkIndex(Protocol):
    """Read access to a pair's links by key and by each side's id (what the engine needs)."""

    def get(self, key: str) -> Link | None:
        """The link with that key."""

    def by_id(self, position: int, event_id: str) -> Link | None:
        """The link holding that id on the left (0) or right (1) side."""

    def ids(self, position: int) -> Iterable[str]:
        """Every linked id on one side."""

    def __len__(self) -> int:
        """How many links there are."""

    def __iter__(self) -> Iterator[Link]:
        """Every link."""


class Links:
    """An index of links by key and by each side's id; lookups cost O(1)."""

    def __init__(self, links: Iterable[Link] = ()) -> None:
        self._by_key: dict[str, Link] = {}
        self._by_id: tuple[dict[str, str], dict[str, str]] = ({}, {})
        for link in links:
            self.put(link)

    def put(self, link: Link) -> None:
        """Add or replace a link."""
        if not isinstance(link, Link):
            raise TypeError(f"expected a Link, not {type(link).__name__}")
        self.remove(link.key)
        self._by_key[link.key] = link
        for position in (0, 1):
            ref = link.side(position)
            if ref is not None:
                self._by_id[position][ref.id] = link.key

    def remove(self, key: str) -> None:
        """Forget a link (no error when unknown)."""
        old = self._by_key.pop(key, None)
        if old is None:
            return
        for position in (0, 1):
            ref = old.side(position)
            if ref is not None and self._by_id[position].get(ref.id) == key:
                del self._by_id[position][ref.id]

    def get(self, key: str) -> Link | None:
        """The link with that key."""
        return self._by_key.get(key)

    def by_id(self, position: int, event_id: str) -> Link | None:
        """The link holding that id on the left (0) or right (1) side."""
        key = self._by_id[position].get(event_id)
        return self._by_key[key] if key is not None else None

    def ids(self, position: int) -> Iterable[str]:
        """Every linked id on one side."""
        return self._by_id[position].keys()

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Link]:
        return iter(list(self._by_key.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._by_key
