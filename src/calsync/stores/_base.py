"""The MappingStore Protocol and the records a store keeps per pair."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from calsync._engine._links import Link, LinkIndex, SideRef
from calsync._model._codec import event_from_json, event_to_json

__all__ = [
    "Held",
    "Intent",
    "LinkIndex",
    "MappingStore",
    "PairState",
    "link_from_json",
    "link_to_json",
]


@attrs.frozen
class Intent:
    """A remote write about to happen, journaled before the request is sent.

    An intent still pending at the start of a run means the previous run
    stopped between a write and its commit; calsync then checks the side for
    events it may already have created (by ``key``) instead of creating twice,
    and deletes such a copy when its original was deleted in the meantime.
    """

    key: str
    side: str
    kind: str
    title: str
    event_id: str | None = None


@attrs.frozen
class Held:
    """An event held back (quarantined) by an error; retried on every run until it syncs.

    One row per id to read again (both sides of a failed update, for instance);
    ``key`` is the link they belong to, so a report can show each event once.
    """

    side: str
    id: str
    title: str
    error: str
    since: datetime
    attempts: int = 1
    key: str = ""


@attrs.frozen
class PairState:
    """What a store holds for one pair at the start of a run."""

    links: LinkIndex
    cursors: Mapping[str, str | None]
    pending: tuple[Intent, ...] = ()
    held: tuple[Held, ...] = ()


@runtime_checkable
class MappingStore(Protocol):
    """Where calsync keeps links, cursors, the write journal and held events, per pair.

    ``commit`` is one transaction: links and cursors move together, so a crash
    never leaves a cursor ahead of the links it depends on.
    """

    def lock(self, pair: str, *, timeout: float = 0.0) -> AbstractContextManager[None]:
        """Hold the pair for one run; :class:`~calsync.PairLockedError` when another run has it."""

    def load(self, pair: str) -> PairState:
        """The pair's links, cursors, pending intents and held events."""

    def record_intents(self, pair: str, intents: Sequence[Intent]) -> None:
        """Journal writes before they are sent (durable when this returns)."""

    def commit(
        self,
        pair: str,
        *,
        links: Mapping[str, Link | None],
        cursors: Mapping[str, str | None],
        done: Iterable[str],
        held: Sequence[Held],
    ) -> None:
        """Store links (None deletes), cursors, resolve intents by key, replace held events."""

    def clear(
        self,
        pair: str,
        *,
        links: bool = False,
        cursors: bool = False,
        journal: bool = False,
        held: bool = False,
    ) -> None:
        """Forget parts of a pair's state (the reset API uses it)."""

    def pairs(self) -> list[str]:
        """Every pair the store knows."""

    def close(self) -> None:
        """Release the store's resources."""


def _ref_to_json(ref: SideRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    data: dict[str, Any] = {"id": ref.id, "version": ref.version}
    if ref.seen is not None:
        data["seen"] = event_to_json(ref.seen)
    if ref.read_only:
        data["read_only"] = True
    return data


def _ref_from_json(data: dict[str, Any] | None) -> SideRef | None:
    if data is None:
        return None
    seen = data.get("seen")
    return SideRef(
        data["id"],
        data.get("version"),
        event_from_json(seen) if seen else None,
        read_only=data.get("read_only", False),
    )


def link_to_json(link: Link) -> dict[str, Any]:
    """A JSON-able dict holding the link."""
    return {
        "key": link.key,
        "base": event_to_json(link.base),
        "left": _ref_to_json(link.left),
        "right": _ref_to_json(link.right),
        "uid": link.uid,
        "note": link.note,
    }


def link_from_json(data: dict[str, Any]) -> Link:
    """The link :func:`link_to_json` wrote."""
    return Link(
        key=data["key"],
        base=event_from_json(data["base"]),
        left=_ref_from_json(data["left"]),
        right=_ref_from_json(data["right"]),
        uid=data.get("uid"),
        note=data.get("note", ""),
    )
