"""What the Outlook adapter accepts as Graph's answer to a read or a write.

Graph documents the shape of every success: an event is an object with an
``id``; a listing (``/events``, ``instances``, a ``$filter`` look-up) has a
``value`` list of such objects; a delta page has that list and ends with
``@odata.nextLink`` (more pages) or ``@odata.deltaLink`` (the round is
over). A 2xx answer of another shape (``null``, ``{}``, a ``value`` that is
no list, a page without either link, an HTML page already caught by
:func:`~._batch.decoded`) is a :class:`~calsync.MalformedAnswerError`:
reading it as an empty page would move the delta cursor past events never
seen, and reading a write's answer as nothing would lose the event written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from calsync._errors import MalformedAnswerError
from calsync.adapters.outlook._batch import Result, error_of

__all__ = ["DeltaPage", "entries_of", "item_of", "page_of"]


def _malformed(result: Result, what: str, side: str, event: str | None) -> MalformedAnswerError:
    if result.failure is not None and isinstance(result.failure, MalformedAnswerError):
        return result.failure
    return MalformedAnswerError(
        f"Graph answered {result.status} without {what}",
        status=result.status,
        side=side,
        event=event,
    )


def _is_item(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("id"), str) and bool(value["id"])


def _checked(result: Result, side: str, event: str | None) -> None:
    if not result.ok:
        raise error_of(result, side=side, event=event)


def item_of(result: Result, *, side: str, event: str | None = None) -> Mapping[str, Any]:
    """The object (with an ``id``) a successful answer carries; else the error it is."""
    _checked(result, side, event)
    if not _is_item(result.body):
        raise _malformed(result, "an object with an id", side, event)
    body: Mapping[str, Any] = result.body
    return body


def entries_of(result: Result, *, side: str, event: str | None = None) -> list[Mapping[str, Any]]:
    """The ``value`` list of a successful listing, every entry an object with an ``id``."""
    _checked(result, side, event)
    body = result.body
    value = body.get("value") if isinstance(body, Mapping) else None
    if not isinstance(value, list) or not all(_is_item(entry) for entry in value):
        raise _malformed(result, "a value list of objects with ids", side, event)
    return value


@attrs.frozen
class DeltaPage:
    """One page of a delta round: its entries and the link that follows it."""

    entries: list[Mapping[str, Any]]
    next_link: str | None
    delta_link: str | None


def page_of(result: Result, *, side: str) -> DeltaPage:
    """A delta page: its entries and exactly where the round goes on (or ends)."""
    entries = entries_of(result, side=side)
    body: Mapping[str, Any] = result.body
    following, delta = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
    if isinstance(following, str) and following:
        return DeltaPage(entries, following, None)
    if isinstance(delta, str) and delta:
        return DeltaPage(entries, None, delta)
    raise _malformed(result, "an @odata.nextLink or @odata.deltaLink", side, None)
