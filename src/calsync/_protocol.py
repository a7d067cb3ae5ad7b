"""The adapter Protocol and the values that cross it.

An adapter translates one provider's wire format to the model and back. The
synchronizer asks it for changes (:meth:`CalendarAdapter.pull`), for the
current state of a few events (:meth:`~CalendarAdapter.fetch`), and to apply
writes (:meth:`~CalendarAdapter.apply`). Everything here is pure data, shared
by the engine (which plans writes) and the adapters (which perform them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import attrs
from attrs.validators import instance_of, optional

from calsync._errors import ProviderError
from calsync._frozen import builder
from calsync._model._checks import Choice
from calsync._model._event import Event
from calsync._model._projection import Projection
from calsync._model._window import Window

__all__ = [
    "CalendarAdapter",
    "Create",
    "Delete",
    "Listing",
    "MailKind",
    "Notification",
    "RemoteEvent",
    "Update",
    "Write",
    "WriteResult",
]


@attrs.frozen
class RemoteEvent:
    """An event as one side holds it, with that side's bookkeeping.

    * ``id``: the provider's id (Outlook: the immutable id of the series master
      or single event; Odoo: the id of the first row).
    * ``version``: changes whenever the provider's copy changes (etag, write_date).
    * ``uid``: an id shared across calendars (Outlook's iCalUId), if any.
    * ``key``: the calsync link key the provider stored with the event, if it can.
    * ``read_only``: the account does not organise it; only its own response may change.
    * ``archived``: hidden but kept (Odoo ``active=False``); counts as deleted.
    """

    id: str = attrs.field(validator=instance_of(str))
    event: Event = attrs.field(validator=instance_of(Event))
    version: str | None = attrs.field(default=None, validator=optional(instance_of(str)))
    uid: str | None = attrs.field(default=None, validator=optional(instance_of(str)))
    key: str | None = attrs.field(default=None, validator=optional(instance_of(str)))
    read_only: bool = False
    archived: bool = False


def _to_items(values: Iterable[RemoteEvent]) -> tuple[RemoteEvent, ...]:
    items = tuple(values)
    for item in items:
        if not isinstance(item, RemoteEvent):
            raise TypeError(f"expected RemoteEvents, not {type(item).__name__}")
    return items


def _to_ids(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class Listing:
    """What a pull returned.

    ``items`` are the events that changed since the cursor (all events in the
    window when ``full``). ``removed`` are ids the side reported gone: deleted,
    or only out of view. ``present``, when the side can tell cheaply, is the
    complete set of ids in the window. ``complete`` is False when the listing
    was cut short: nothing may be concluded from what it lacks. ``cursor`` is
    where the next pull resumes (None: start over). ``unreadable`` maps the ids
    of events that exist but calsync cannot hold (an exotic recurrence, say) to
    the reason: they are left alone, never taken for deleted.
    """

    items: tuple[RemoteEvent, ...] = attrs.field(default=(), converter=_to_items)
    removed: frozenset[str] = attrs.field(default=frozenset(), converter=_to_ids)
    present: frozenset[str] | None = None
    full: bool = False
    complete: bool = True
    cursor: str | None = None
    unreadable: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Create:
    """Create ``event`` on the side; ``key`` makes a retried create idempotent.

    When an event created earlier with the same key still exists on the side
    (archived included), the adapter updates it, unarchiving it, instead of
    creating a second one: that is how a create retried after a crash, or an
    event re-created after an archive, avoids a duplicate.
    """

    key: str = attrs.field(validator=instance_of(str))
    event: Event = attrs.field(validator=instance_of(Event))


@attrs.frozen
class Update:
    """Make the side's event ``current.id`` hold ``event``.

    ``current`` is the side's copy as last read (its ``version`` guards the
    write against concurrent edits where the provider allows).
    """

    key: str = attrs.field(validator=instance_of(str))
    event: Event = attrs.field(validator=instance_of(Event))
    current: RemoteEvent = attrs.field(validator=instance_of(RemoteEvent))


@attrs.frozen
class Delete:
    """Delete the side's event ``current.id``."""

    key: str = attrs.field(validator=instance_of(str))
    current: RemoteEvent = attrs.field(validator=instance_of(RemoteEvent))


Write = Create | Update | Delete

#: ``Create(...)``, ``Update(...)`` and ``Delete(...)`` the engine's way: the same objects,
#: built faster (a plan writes up to hundreds of thousands).
new_create = builder(Create)
new_update = builder(Update)
new_delete = builder(Delete)


@attrs.frozen
class WriteResult:
    """The outcome of one write: what the side holds now, or the error."""

    write: Write
    stored: RemoteEvent | None = None
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        """True when the write succeeded."""
        return self.error is None


class MailKind(Choice):
    """The kinds of meeting mail a provider sends to attendees."""

    INVITATION = "invitation"
    UPDATE = "update"
    CANCELLATION = "cancellation"


@attrs.frozen(order=True)
class Notification:
    """One e-mail a provider will send because of a write."""

    kind: MailKind
    recipient: str
    title: str = attrs.field(order=False)
    original_start: datetime | date | None = attrs.field(default=None, order=False)


@runtime_checkable
class CalendarAdapter(Protocol):
    """One calendar on one provider, as calsync drives it.

    ``name`` is the side's label in plans and reports ("outlook", "odoo");
    ``account`` identifies the calendar's owner; ``owner_email`` is the
    owner's address on that side (used to find their own attendee row);
    ``projection`` says what the side can store.
    """

    @property
    def name(self) -> str:
        """The side's label."""

    @property
    def account(self) -> str:
        """Who owns the calendar (an e-mail address or login)."""

    @property
    def owner_email(self) -> str | None:
        """The owner's e-mail address on this side, if known."""

    @property
    def projection(self) -> Projection:
        """What this side can store of an event."""

    @property
    def holds_others_meetings(self) -> bool:
        """Whether a meeting someone else organises may be created in this calendar."""

    def notifications(self, write: Write) -> tuple[Notification, ...]:
        """The attendee e-mails the provider will send because of ``write``."""

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        """Events changed since ``cursor`` (all events in ``window`` when it is None)."""

    async def fetch(self, ids: Sequence[str]) -> Mapping[str, RemoteEvent | None]:
        """The current state of these events; None for those that no longer exist.

        An id left out of the answer is unknown (it exists but cannot be read):
        calsync neither updates nor deletes it.
        """

    async def apply(self, writes: Sequence[Write]) -> Sequence[WriteResult]:
        """Perform the writes; one result per write, in order. Never raises for one event."""

    async def aclose(self) -> None:
        """Release connections."""
