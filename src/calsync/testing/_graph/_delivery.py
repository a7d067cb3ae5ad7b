"""Delivery of meeting messages to the attendee mailboxes the emulator hosts.

When an organiser's message reaches another mailbox of the same emulator,
that mailbox's calendar changes as Exchange would change it:

- an invitation or update (series or instance) creates or refreshes the
  attendee's copy: same iCalUId, ``isOrganizer`` false, the organiser's
  content, series, exceptions and cancellations, while the attendee's own
  fields (response, showAs, reminder, categories) are kept; a new copy starts
  ``notResponded`` and ``tentative``;
- a cancellation of the meeting (or of the attendee's invitation) marks the
  copy ``isCancelled``; the copy stays until the attendee deletes it;
- an occurrence the organiser cancels stays on the attendee's copy as an
  exception marked ``isCancelled``, its subject prefixed "Canceled: " (as
  real Outlook.com payloads show it), until the attendee deletes it; a new
  copy simply lacks the occurrences cancelled before it was made;
- a ``response`` from an attendee mailbox updates that attendee's status on
  the organiser's copy (series or single events; an answer about one
  instance is logged but not tracked).

Ids differ between mailboxes; only the iCalUId is shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from calsync.testing._graph._items import Item, Modified, new_id, occurrence_id

if TYPE_CHECKING:
    from calsync.testing._graph._mail import MailMessage
    from calsync.testing._graph._state import MailboxState, Store

__all__ = ["deliver"]

_PERSONAL = (
    "response",
    "response_time",
    "show_as",
    "is_reminder_on",
    "reminder_minutes",
    "categories",
)


def deliver(store: Store, sender: MailboxState, messages: list[MailMessage]) -> None:
    """Apply ``messages`` sent by ``sender`` to the hosted recipients' calendars."""
    grouped: dict[str, list[MailMessage]] = {}
    for message in messages:
        grouped.setdefault(message.recipient, []).append(message)
    for recipient, received in grouped.items():
        mailbox = store.mailbox(recipient)
        if mailbox is None or mailbox is sender:
            continue
        for message in (m for m in received if m.kind == "response"):
            _track_response(store, sender, mailbox, message)
        meeting = [m for m in received if m.kind != "response"]
        if meeting:
            _update_copy(store, sender, mailbox, meeting)


def _track_response(
    store: Store, sender: MailboxState, organizer: MailboxState, message: MailMessage
) -> None:
    if message.original_start is not None or message.response is None:
        return
    item = store.find_by_uid(organizer, message.ical_uid)
    if item is None or not item.is_organizer:
        return
    attendee = item.content.attendee(sender.email)
    if attendee is not None:
        store.set_attendee_response(organizer, item, attendee, message.response)


def _update_copy(
    store: Store, sender: MailboxState, mailbox: MailboxState, messages: list[MailMessage]
) -> None:
    first = messages[0]
    source = sender.items.get(first.series_master_id or first.event_id)
    uid = source.ical_uid if source is not None else first.ical_uid
    copy = store.find_by_uid(mailbox, uid)
    if copy is not None and copy.is_organizer:
        return
    withdrawn = any(m.kind == "cancellation" and m.original_start is None for m in messages)
    if source is None or withdrawn:
        if copy is not None:
            copy.content = attrs.evolve(copy.content, is_cancelled=True)
            copy.touch(store.clock())
            store.changed(mailbox, copy.id, "updated")
        return
    created = copy is None
    if copy is None:
        copy = _new_copy(store, mailbox, source)
    _refresh(store, copy, source, shown=not created)
    store.changed(mailbox, copy.id, "created" if created else "updated")


def _new_copy(store: Store, mailbox: MailboxState, source: Item) -> Item:
    now = store.clock()
    content = attrs.evolve(
        source.content,
        response="notResponded",
        response_time=None,
        show_as="tentative",
        categories=(),
    )
    copy = Item(
        id=new_id(store.ids),
        calendar_id=mailbox.default_calendar,
        ical_uid=source.ical_uid,
        created=now,
        modified=now,
        content=content,
        is_organizer=False,
    )
    mailbox.items[copy.id] = copy
    return copy


def _refresh(store: Store, copy: Item, source: Item, *, shown: bool) -> None:
    """Give the copy the organiser's content, exceptions and cancellations.

    ``shown``: the copy existed before, so the occurrences the organiser has
    cancelled since stay on it as cancelled exceptions.
    """
    now = store.clock()
    personal = {name: getattr(copy.content, name) for name in _PERSONAL}
    withdrawn = set(source.cancelled) - set(copy.cancelled) if shown else set()
    previous = {original: copy.exceptions.get(original) for original in withdrawn}
    copy.content = attrs.evolve(source.content, is_cancelled=False, **personal)
    copy.exceptions = {
        original: Modified(
            id=occurrence_id(copy.id, original),
            original_start=original,
            created=now,
            modified=now,
            overrides={k: v for k, v in exception.overrides.items() if k not in _PERSONAL},
        )
        for original, exception in source.exceptions.items()
    }
    for original, before in previous.items():
        overrides = dict(before.overrides) if before is not None else {}
        subject = overrides.get("subject", copy.content.subject)
        if not overrides.get("is_cancelled"):
            overrides.update(is_cancelled=True, subject=f"Canceled: {subject}")
        copy.exceptions[original] = Modified(
            id=occurrence_id(copy.id, original),
            original_start=original,
            created=before.created if before is not None else now,
            modified=now,
            overrides=overrides,
        )
    copy.cancelled = {
        original: occurrence_id(copy.id, original)
        for original in source.cancelled
        if original not in withdrawn
    }
    copy.touch(now)
