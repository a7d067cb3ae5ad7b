"""The mailboxes and their events, and every write Outlook allows on them.

:class:`Store` is the emulator's whole state, guarded by one re-entrant lock
(writes may touch several mailboxes: invitations are delivered to attendee
mailboxes the emulator hosts). The HTTP handlers and the test helpers of
``GraphEmulator`` both call it, so "the user in Outlook" and "calsync through
Graph" go through the same rules:

- create: 201 with the full event; ``transactionId`` is remembered per
  mailbox and a repeat answers 400 ``ErrorDuplicateTransactionId`` (or, with
  ``duplicate_transaction="return_existing"``, the first event);
- PATCH and DELETE honour ``If-Match`` (a stale etag answers 412);
- PATCH of an occurrence makes it an exception (same id, ``originalStart``
  kept); moving it onto or past a neighbour's day answers 400
  ``ErrorOccurrenceCrossingBoundary``; DELETE of an occurrence cancels it;
- PATCH of a master's start, end, isAllDay or recurrence drops its
  exceptions and cancellations, as Outlook regenerates the series;
- ``cancel`` is for the organiser (an attendee's copy answers 400); RSVP is
  for attendees (the organiser's copy answers 400).

Every change calls the callables in ``Store.observers`` with ``(mailbox,
item id, change)``, ``change`` being ``created``, ``updated`` or ``deleted``
and the id that of the single event or series master (a change to an
instance is an update of its series): the hook change notifications need.

Meeting mail follows :mod:`calsync.testing._graph._mail`.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._graph import _delivery, _mail
from calsync.testing._graph._content import Attendee, Content, apply_write
from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._items import (
    Item,
    Modified,
    View,
    decode_occurrence_id,
    exception_view,
    expansion_zone,
    has_slot,
    instance_view,
    instances,
    item_view,
    neighbours,
    new_change_key,
    new_ical_uid,
    new_id,
    occurrence_id,
    occurrence_view,
)
from calsync.testing._graph._zones import to_wall

if TYPE_CHECKING:
    from datetime import datetime

    from calsync.testing._graph._mail import MailMessage

__all__ = ["MailboxState", "Store", "Target"]

#: Content fields an exception may override (everything but the recurrence).
_INSTANCE_FIELDS = tuple(
    field.name for field in attrs.fields(Content) if field.name != "recurrence"
)
_RESPONSES = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}
_SHOW_AS = {"accepted": "busy", "tentativelyAccepted": "tentative", "declined": "free"}


def _not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


@attrs.define(eq=False)
class MailboxState:
    """One mailbox: its calendars, its items and the transaction ids it has seen."""

    id: str
    email: str
    name: str
    default_calendar: str
    calendars: dict[str, str] = attrs.field(factory=dict)
    items: dict[str, Item] = attrs.field(factory=dict)
    transactions: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Target:
    """What an event id names: an item, or the instance of a series at ``original_start``."""

    item: Item
    original_start: datetime | None = None


class Store:
    """All mailboxes of one emulator, and the operations on their events."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        duplicate_transaction: str = "error",
        deliver: bool = True,
        keep_declined: bool = True,
        ids: random.Random | None = None,
    ) -> None:
        if duplicate_transaction not in ("error", "return_existing"):
            raise ValueError("duplicate_transaction must be 'error' or 'return_existing'")
        self.lock = threading.RLock()
        #: Where item ids and iCalUIds come from (None: ``secrets``; a seeded one: stable ids).
        self.ids = ids
        self.clock = clock
        self.duplicate_transaction = duplicate_transaction
        self.deliver = deliver
        self.keep_declined = keep_declined
        self.mailboxes: dict[str, MailboxState] = {}
        self.mail: list[MailMessage] = []
        self.observers: list[Callable[[MailboxState, str, str], None]] = []

    def changed(self, mailbox: MailboxState, item_id: str, change: str) -> None:
        """Tell the observers that an item was ``created``, ``updated`` or ``deleted``."""
        for observer in list(self.observers):
            observer(mailbox, item_id, change)

    # -- mailboxes -------------------------------------------------------------

    def add_mailbox(self, email: str, name: str) -> MailboxState:
        """Create a mailbox with one default calendar."""
        with self.lock:
            if self.mailbox(email) is not None:
                raise ValueError(f"mailbox {email!r} exists already")
            calendar = new_id()
            state = MailboxState(
                id=str(uuid.uuid4()),
                email=email,
                name=name,
                default_calendar=calendar,
                calendars={calendar: "Calendar"},
            )
            self.mailboxes[state.id] = state
            return state

    def mailbox(self, key: str) -> MailboxState | None:
        """The mailbox with this id or address (case-insensitive)."""
        found = self.mailboxes.get(key)
        if found is not None:
            return found
        wanted = key.lower()
        return next((m for m in self.mailboxes.values() if m.email.lower() == wanted), None)

    # -- reading ---------------------------------------------------------------

    def resolve(self, mailbox: MailboxState, event_id: str) -> Target:
        """The item or live instance ``event_id`` names in ``mailbox``; 404 if none."""
        item = mailbox.items.get(event_id)
        if item is not None:
            return Target(item)
        decoded = decode_occurrence_id(event_id)
        if decoded is None:
            raise _not_found()
        master_id, original = decoded
        master = mailbox.items.get(master_id)
        if master is None or master.content.recurrence is None:
            raise _not_found()
        if original in master.cancelled or not has_slot(master, original):
            raise _not_found()
        return Target(master, original)

    @staticmethod
    def view(target: Target, *, with_exceptions: bool = False) -> View:
        """The view of what ``target`` names."""
        if target.original_start is None:
            return item_view(target.item, with_exceptions=with_exceptions)
        return instance_view(target.item, target.original_start)

    @staticmethod
    def calendar_items(mailbox: MailboxState, calendar_id: str | None) -> list[Item]:
        """Singles and masters of a calendar (the default one when None), oldest first."""
        wanted = calendar_id or mailbox.default_calendar
        return [item for item in mailbox.items.values() if item.calendar_id == wanted]

    def window(
        self, mailbox: MailboxState, calendar_id: str | None, start: datetime, end: datetime
    ) -> list[View]:
        """What a calendarView shows: singles and series instances meeting ``[start, end)``."""
        found: list[View] = []
        for item in self.calendar_items(mailbox, calendar_id):
            if item.content.recurrence is not None:
                found += instances(item, start, end)
                continue
            view = item_view(item)
            if view.overlaps(start, end):
                found.append(view)
        return sorted(found, key=lambda view: (view.start_utc, view.id))

    def units(
        self, mailbox: MailboxState, calendar_id: str | None, start: datetime, end: datetime
    ) -> dict[str, tuple[View, ...]]:
        """Delta's units in a window: a single alone, a series as master plus its instances."""
        found: dict[str, tuple[View, ...]] = {}
        for item in self.calendar_items(mailbox, calendar_id):
            if item.content.recurrence is None:
                view = item_view(item)
                if view.overlaps(start, end):
                    found[item.id] = (view,)
                continue
            members = instances(item, start, end)
            if members:
                found[item.id] = (item_view(item), *members)
        return found

    def find_by_uid(self, mailbox: MailboxState, ical_uid: str) -> Item | None:
        """The single or master with this iCalUId in ``mailbox``."""
        return next((i for i in mailbox.items.values() if i.ical_uid == ical_uid), None)

    # -- writing ---------------------------------------------------------------

    def create(
        self,
        mailbox: MailboxState,
        body: Mapping[str, Any],
        *,
        calendar_id: str | None = None,
        notify: bool = True,
        organizer: tuple[str, str] | None = None,
    ) -> View:
        """POST an event; ``organizer`` (name, address) of someone else stores an invitation."""
        with self.lock:
            transaction = body.get("transactionId")
            if transaction is not None:
                existing = self._repeat(mailbox, str(transaction))
                if existing is not None:
                    return existing
            calendar = calendar_id or mailbox.default_calendar
            if calendar not in mailbox.calendars:
                raise _not_found()
            own = organizer is None or organizer[1].lower() == mailbox.email.lower()
            content = self._initial_content(mailbox, body, organizer, own=own)
            now = self.clock()
            item = Item(
                id=new_id(self.ids),
                calendar_id=calendar,
                ical_uid=new_ical_uid(self.ids),
                created=now,
                modified=now,
                content=content,
                is_organizer=own,
                transaction_id=None if transaction is None else str(transaction),
            )
            item.extended.update(self._extended(body))
            mailbox.items[item.id] = item
            if transaction is not None:
                mailbox.transactions[str(transaction)] = item.id
            view = item_view(item)
            self.changed(mailbox, item.id, "created")
            self.send(mailbox, _mail.on_create(mailbox.email, view), notify=notify)
            return view

    def _repeat(self, mailbox: MailboxState, transaction: str) -> View | None:
        """A repeated ``transactionId``: 400, or the first event in ``return_existing`` mode."""
        first = mailbox.transactions.get(transaction)
        if first is None:
            return None
        if self.duplicate_transaction == "return_existing" and first in mailbox.items:
            return item_view(mailbox.items[first])
        raise GraphError(
            400,
            "ErrorDuplicateTransactionId",
            f"The transaction id '{transaction}' has already been used to create a "
            "different event.",
        )

    @staticmethod
    def _initial_content(
        mailbox: MailboxState,
        body: Mapping[str, Any],
        organizer: tuple[str, str] | None,
        *,
        own: bool,
    ) -> Content:
        content = apply_write(None, body)
        if own:
            return attrs.evolve(
                content, organizer_name=mailbox.name, organizer_address=mailbox.email
            )
        assert organizer is not None
        return attrs.evolve(
            content,
            organizer_name=organizer[0],
            organizer_address=organizer[1],
            response="notResponded",
            show_as="tentative",
        )

    @staticmethod
    def _extended(body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
        """Written ``singleValueExtendedProperties`` by lower-cased id (ids ignore case)."""
        written = body.get("singleValueExtendedProperties")
        if written is None:
            return {}
        if not isinstance(written, list):
            raise GraphError(
                400, "RequestBodyRead", "singleValueExtendedProperties must be a list."
            )
        found: dict[str, tuple[str, str]] = {}
        for prop in written:
            if not isinstance(prop, Mapping) or not isinstance(prop.get("id"), str):
                raise GraphError(400, "ErrorInvalidRequest", "An extended property needs an id.")
            value = prop.get("value")
            found[prop["id"].lower()] = (prop["id"], "" if value is None else str(value))
        return found

    def patch(
        self,
        mailbox: MailboxState,
        event_id: str,
        body: Mapping[str, Any],
        *,
        if_match: str | None = None,
        notify: bool = True,
    ) -> View:
        """PATCH an event, a master, an occurrence or an exception."""
        with self.lock:
            target = self.resolve(mailbox, event_id)
            before = self.view(target)
            _check_etag(before, if_match)
            if target.original_start is None:
                after = self._patch_item(mailbox, target.item, body, before, notify=notify)
            else:
                after = self._patch_instance(mailbox, target, body, before, notify=notify)
            self.changed(mailbox, target.item.id, "updated")
            return after

    def _patch_item(
        self,
        mailbox: MailboxState,
        item: Item,
        body: Mapping[str, Any],
        before: View,
        *,
        notify: bool,
    ) -> View:
        transaction = body.get("transactionId")
        if transaction is not None and transaction != item.transaction_id:
            raise GraphError(400, "ErrorInvalidRequest", "transactionId cannot be changed.")
        content = apply_write(item.content, body, organizer=item.is_organizer)
        extended = self._extended(body)
        modified_before = item_view(item, with_exceptions=True).exceptions
        reshaped = _reshaped(item.content, content)
        item.content = content
        item.extended.update(extended)
        if reshaped or content.recurrence is None:
            item.exceptions.clear()
            item.cancelled.clear()
        item.touch(self.clock())
        after = item_view(item)
        # Rule 7 mails each exception the series had, as it reads now if it survived.
        modified = item_view(item, with_exceptions=True).exceptions or modified_before
        self.send(mailbox, _mail.on_patch(mailbox.email, before, after, modified), notify=notify)
        return after

    def _patch_instance(
        self,
        mailbox: MailboxState,
        target: Target,
        body: Mapping[str, Any],
        before: View,
        *,
        notify: bool,
    ) -> View:
        item, original = target.item, target.original_start
        assert original is not None
        content = apply_write(
            before.content, body, organizer=item.is_organizer, allow_recurrence=False
        )
        if content.start_utc != before.start_utc:
            _check_boundary(item, original, content)
        after = self._store_instance(item, original, content)
        self.send(mailbox, _mail.on_patch(mailbox.email, before, after), notify=notify)
        return after

    def _store_instance(self, item: Item, original: datetime, content: Content) -> View:
        """Make the instance at ``original`` an exception showing ``content``."""
        base = occurrence_view(item, original).content
        now = self.clock()
        modified = item.exceptions.get(original) or Modified(
            id=occurrence_id(item.id, original), original_start=original, created=now, modified=now
        )
        modified.overrides = {
            name: getattr(content, name)
            for name in _INSTANCE_FIELDS
            if getattr(content, name) != getattr(base, name)
        }
        modified.change_key = new_change_key()
        modified.modified = now
        item.exceptions[original] = modified
        item.touch(now)
        return exception_view(item, modified)

    def delete(
        self,
        mailbox: MailboxState,
        event_id: str,
        *,
        if_match: str | None = None,
        notify: bool = True,
    ) -> None:
        """DELETE an event (a master takes its series along) or one instance."""
        with self.lock:
            target = self.resolve(mailbox, event_id)
            before = self.view(target)
            _check_etag(before, if_match)
            self._remove(mailbox, target)
            self.send(mailbox, _mail.on_delete(mailbox.email, before), notify=notify)

    def _remove(self, mailbox: MailboxState, target: Target) -> None:
        item, original = target.item, target.original_start
        if original is None:
            del mailbox.items[item.id]
            self.changed(mailbox, item.id, "deleted")
            return
        item.exceptions.pop(original, None)
        item.cancelled[original] = occurrence_id(item.id, original)
        item.touch(self.clock())
        self.changed(mailbox, item.id, "updated")

    def cancel(self, mailbox: MailboxState, event_id: str, *, notify: bool = True) -> None:
        """``POST .../cancel``: the organiser cancels a meeting or one instance."""
        with self.lock:
            target = self.resolve(mailbox, event_id)
            if not target.item.is_organizer:
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "Your request can't be completed. You need to be an organizer to cancel "
                    "a meeting.",
                )
            before = self.view(target)
            self._remove(mailbox, target)
            self.send(mailbox, _mail.on_delete(mailbox.email, before), notify=notify)

    def rsvp(
        self,
        mailbox: MailboxState,
        event_id: str,
        action: str,
        *,
        send_response: bool = True,
        notify: bool = True,
    ) -> None:
        """``accept``, ``tentativelyAccept`` or ``decline`` by an attendee."""
        with self.lock:
            target = self.resolve(mailbox, event_id)
            if target.item.is_organizer:
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "Your request can't be completed. You can't respond to a meeting you organize.",
                )
            response = _RESPONSES[action]
            before = self.view(target)
            content = attrs.evolve(
                before.content,
                response=response,
                response_time=self.clock(),
                show_as=_SHOW_AS[response],
            )
            after = self._replace_content(target, content)
            self.changed(mailbox, target.item.id, "updated")
            if response == "declined" and not self.keep_declined:
                self._remove(mailbox, target)
            if send_response:
                self.send(mailbox, _mail.on_rsvp(mailbox.email, after, response), notify=notify)

    def respond(self, mailbox: MailboxState, event_id: str, address: str, response: str) -> View:
        """An attendee's answer reaching the organiser's copy (no mail is sent)."""
        if response not in ("accepted", "declined", "tentativelyAccepted", "none"):
            raise ValueError(f"unknown response {response!r}")
        with self.lock:
            target = self.resolve(mailbox, event_id)
            before = self.view(target)
            if before.content.attendee(address) is None:
                raise ValueError(f"{address} is no attendee of {event_id}")
            now = self.clock()
            attendees = tuple(
                attrs.evolve(a, response=response, time=now) if a.key == address.lower() else a
                for a in before.content.attendees
            )
            after = self._replace_content(target, attrs.evolve(before.content, attendees=attendees))
            self.changed(mailbox, target.item.id, "updated")
            return after

    def _replace_content(self, target: Target, content: Content) -> View:
        """Store new content for an item or instance, bypassing write validation."""
        if target.original_start is not None:
            return self._store_instance(target.item, target.original_start, content)
        target.item.content = content
        target.item.touch(self.clock())
        return item_view(target.item)

    def set_attendee_response(
        self, mailbox: MailboxState, item: Item, attendee: Attendee, response: str
    ) -> None:
        """Record ``attendee``'s answer on the organiser's ``item`` (delivery of a response)."""
        now = self.clock()
        attendees = tuple(
            attrs.evolve(a, response=response, time=now) if a.key == attendee.key else a
            for a in item.content.attendees
        )
        item.content = attrs.evolve(item.content, attendees=attendees)
        item.touch(now)
        self.changed(mailbox, item.id, "updated")

    # -- mail --------------------------------------------------------------------

    def send(self, mailbox: MailboxState, messages: list[MailMessage], *, notify: bool) -> None:
        """Log ``messages`` and deliver them to mailboxes this emulator hosts."""
        if not notify or not messages:
            return
        self.mail += messages
        if self.deliver:
            _delivery.deliver(self, mailbox, messages)


def _check_etag(view: View, if_match: str | None) -> None:
    """412 when ``If-Match`` names another version than the current one."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != view.change_key:
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The change key passed in the request does not match the current change key "
            "for the item.",
        )


def _reshaped(old: Content, new: Content) -> bool:
    """Whether a master's change makes Outlook regenerate the series (dropping exceptions)."""
    return (
        old.start != new.start
        or old.end != new.end
        or old.start_zone != new.start_zone
        or old.end_zone != new.end_zone
        or old.is_all_day != new.is_all_day
        or old.recurrence != new.recurrence
    )


def _check_boundary(item: Item, original: datetime, content: Content) -> None:
    """400 ``ErrorOccurrenceCrossingBoundary``: an instance moved onto or past a neighbour's day."""
    zone_name = expansion_zone(item.content)
    day = to_wall(content.start_utc, zone_name).date()
    previous, following = neighbours(item, original)
    crossing = (previous is not None and day <= to_wall(previous.start_utc, zone_name).date()) or (
        following is not None and day >= to_wall(following.start_utc, zone_name).date()
    )
    if crossing:
        raise GraphError(
            400,
            "ErrorOccurrenceCrossingBoundary",
            "An occurrence cannot be moved onto or past the day of an adjacent occurrence.",
        )
