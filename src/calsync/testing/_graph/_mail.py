"""Which meeting messages Outlook sends because of a request: the mail log's rules.

Graph has no switch that stops meeting mail, so every write to a meeting the
mailbox organises e-mails attendees. The emulator logs, per sending mailbox,
one :class:`MailMessage` per message and recipient, by these rules:

1. Only the organiser's copy mails attendees. An event without attendees
   mails no one. The organiser is never a recipient, even when listed as an
   attendee. Recipients are attendee addresses, lower-cased, in attendee
   order, each once (resources included: a room gets its invitation).
2. Create of an event with attendees: one ``invitation`` per attendee.
3. PATCH adding attendees: an ``invitation`` to each added one; removing
   attendees: a ``cancellation`` to each removed one.
4. PATCH changing start, end, isAllDay, location(s) or recurrence: an
   ``update`` to every attendee that stays (not to the newly added ones,
   who get their invitation). A PATCH of anything else (subject, body,
   categories, ...) mails no one.
5. DELETE or ``cancel`` of a meeting: a ``cancellation`` to every attendee.
6. Rules 3 and 4 for an occurrence or exception (PATCH of its id) mail about
   that instance only: ``event_id`` is the instance id, ``original_start``
   its original start, ``series_master_id`` the master. DELETE or ``cancel``
   of an occurrence sends an instance ``cancellation`` to its attendees.
7. A PATCH of a series master that mails (rules 3 and 4) mails once for the
   master and, to the same recipients with the same kind, once per
   exception the series had before the PATCH (Outlook re-sends each modified
   instance), each as an instance-level message.
8. RSVP (``accept``, ``tentativelyAccept``, ``decline``) by an attendee with
   ``sendResponse`` true (the default) sends one ``response`` to the
   organiser, with ``response`` set to ``accepted``, ``tentativelyAccepted``
   or ``declined``; with ``sendResponse: false`` nothing.
9. Writes to an attendee's copy (other than RSVP), and the test helpers
   ``respond`` (an answer arriving at the organiser) and ``seed_event``, mail
   no one.

A message's ``subject`` is the event's subject after the change (for a
deletion: before it); ``ical_uid`` is the iCalUId of the series, single event
or instance the message is about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from datetime import datetime

    from calsync.testing._graph._items import View

__all__ = ["MailMessage", "on_create", "on_delete", "on_patch", "on_rsvp", "recipients"]


@attrs.frozen
class MailMessage:
    """One meeting message Outlook would send, as the emulator logs it.

    ``kind`` is ``invitation``, ``update``, ``cancellation`` or ``response``;
    ``mailbox`` is the sending mailbox's address and ``recipient`` the
    receiver's, both lower-cased. Instance-level messages carry the
    instance's ``original_start`` (aware UTC) and ``series_master_id``.
    ``response`` is set on ``response`` messages only.
    """

    kind: str
    mailbox: str
    recipient: str
    subject: str
    event_id: str
    ical_uid: str
    original_start: datetime | None = None
    series_master_id: str | None = None
    response: str | None = None


def recipients(view: View, organizer: str) -> list[str]:
    """The attendees an organiser's message about ``view`` goes to (rule 1)."""
    own = organizer.lower()
    found = dict.fromkeys(a.key for a in view.content.attendees if a.key != own)
    return list(found)


def _messages(kind: str, mailbox: str, view: View, to: list[str]) -> list[MailMessage]:
    instance = view.kind in ("occurrence", "exception")
    return [
        MailMessage(
            kind=kind,
            mailbox=mailbox.lower(),
            recipient=recipient,
            subject=view.content.subject,
            event_id=view.id,
            ical_uid=view.ical_uid,
            original_start=view.original_start if instance else None,
            series_master_id=view.master_id if instance else None,
        )
        for recipient in to
    ]


def on_create(mailbox: str, view: View) -> list[MailMessage]:
    """Rule 2: invitations for a new meeting."""
    if not view.is_organizer:
        return []
    return _messages("invitation", mailbox, view, recipients(view, mailbox))


def on_delete(mailbox: str, view: View) -> list[MailMessage]:
    """Rules 5 and 6: cancellations for a deleted or cancelled meeting or instance."""
    if not view.is_organizer:
        return []
    return _messages("cancellation", mailbox, view, recipients(view, mailbox))


def _changed_slot(before: View, after: View) -> bool:
    """Whether a change of time, place or recurrence happened (rule 4)."""
    old, new = before.content, after.content
    return (
        old.start_utc != new.start_utc
        or old.end_utc != new.end_utc
        or old.is_all_day != new.is_all_day
        or old.location.get("displayName") != new.location.get("displayName")
        or [p.get("displayName") for p in old.locations]
        != [p.get("displayName") for p in new.locations]
        or old.recurrence != new.recurrence
    )


def _patch_plan(mailbox: str, before: View, after: View) -> list[tuple[str, list[str]]]:
    """Rules 3 and 4 as ``(kind, recipients)`` pairs."""
    old = recipients(before, mailbox)
    new = recipients(after, mailbox)
    plan = [
        ("invitation", [r for r in new if r not in old]),
        ("cancellation", [r for r in old if r not in new]),
    ]
    if _changed_slot(before, after):
        plan.append(("update", [r for r in new if r in old]))
    return [(kind, to) for kind, to in plan if to]


def on_patch(
    mailbox: str, before: View, after: View, exceptions: tuple[View, ...] = ()
) -> list[MailMessage]:
    """Rules 3, 4, 6 and 7 for a PATCH turning ``before`` into ``after``.

    ``exceptions`` are the series' exceptions before the PATCH (for rule 7),
    as they read after it when they survived it.
    """
    if not before.is_organizer:
        return []
    plan = _patch_plan(mailbox, before, after)
    messages: list[MailMessage] = []
    for kind, to in plan:
        messages += _messages(kind, mailbox, after, to)
    for exception in exceptions if plan else ():
        for kind, to in plan:
            messages += _messages(kind, mailbox, exception, to)
    return messages


def on_rsvp(mailbox: str, view: View, response: str) -> list[MailMessage]:
    """Rule 8: the attendee's answer to the organiser."""
    organizer = view.content.organizer_address.lower()
    if not organizer or organizer == mailbox.lower():
        return []
    message = _messages("response", mailbox, view, [organizer])[0]
    return [attrs.evolve(message, response=response)]
