"""The meeting mail Outlook sends because of a write, predicted without I/O.

Graph has no switch that stops meeting mail (``graph.md``, "Who gets
e-mailed"); calsync predicts it so that ``preview()`` can show it and the
guards can stop a run before it mails too many people. The rules, as the
Graph emulator's mail log follows them (``calsync.testing._graph._mail``):

1. only the organiser's copy mails; the organiser (the mailbox owner) never
   receives; an event without attendees mails no one; calsync writes to a
   meeting it only attends only the owner's answer, with ``sendResponse:
   false``: no mail;
2. create of a meeting: an invitation per attendee;
3. update: invitations to added attendees, cancellations to removed ones;
4. update of time, place or recurrence: an update to every attendee who stays;
5. delete: a cancellation to every attendee;
6. occurrence writes (exceptions made, changed, reverted; occurrences
   deleted) mail about that occurrence only, by rules 3-5;
7. a master update that mails (3, 4) mails again, same kind and recipients,
   once per exception the series had before it.

The adapter performs exactly the steps :mod:`._writes` works out, so the
prediction follows the same steps. This module must not import msgraph: the
engine calls it while planning.
"""

from __future__ import annotations

import attrs

from calsync._errors import InvalidEventError, ProviderError
from calsync._model._event import Event
from calsync._model._recurrence import OccurrenceKey, Recurrence
from calsync._protocol import Create, Delete, MailKind, Notification, Write
from calsync.adapters.outlook._mapping import master_patch_body
from calsync.adapters.outlook._writes import (
    after_master_patch,
    instance_changes,
    regenerates,
    slot_changed,
)

__all__ = ["predict", "recipients"]

Plan = list[tuple[MailKind, list[str]]]


def recipients(event: Event, owner: str | None) -> list[str]:
    """Who Outlook mails about ``event``: its attendees, the organiser and owner left out."""
    skip = {owner.lower()} if owner else set()
    if event.organizer is not None:
        skip.add(event.organizer.email)
    return list(dict.fromkeys(a.email for a in event.attendees if a.email not in skip))


def _messages(
    kind: MailKind, to: list[str], title: str, original_start: OccurrenceKey | None = None
) -> list[Notification]:
    return [Notification(kind, recipient, title, original_start) for recipient in to]


def _patch_plan(before: Event, after: Event, owner: str | None) -> Plan:
    """Rules 3 and 4 as ``(kind, recipients)`` pairs."""
    old, new = recipients(before, owner), recipients(after, owner)
    plan: Plan = [
        (MailKind.INVITATION, [r for r in new if r not in old]),
        (MailKind.CANCELLATION, [r for r in old if r not in new]),
    ]
    if slot_changed(before, after):
        plan.append((MailKind.UPDATE, [r for r in new if r in old]))
    return [(kind, to) for kind, to in plan if to]


def _instances(now: Event, wanted: Event, owner: str | None) -> list[Notification]:
    """Rule 6 for the occurrence writes that turn ``now`` into ``wanted``."""
    found: list[Notification] = []
    for change in instance_changes(now, wanted, owner):
        if change.action == "delete":
            found += _messages(
                MailKind.CANCELLATION,
                recipients(change.before, owner),
                change.before.title,
                change.key,
            )
            continue
        assert change.after is not None
        for kind, to in _patch_plan(change.before, change.after, owner):
            found += _messages(kind, to, change.after.title, change.key)
    return found


def _create(event: Event, owner: str | None) -> list[Notification]:
    found = _messages(MailKind.INVITATION, recipients(event, owner), event.title)
    if event.recurrence is not None:
        plain = attrs.evolve(event, recurrence=Recurrence(event.recurrence.rule))
        found += _instances(plain, event, owner)
    return found


def _update(current: Event, wanted: Event, owner: str | None) -> list[Notification]:
    found: list[Notification] = []
    if master_patch_body(current, wanted, owner):
        plan = _patch_plan(current, wanted, owner)
        for kind, to in plan:
            found += _messages(kind, to, wanted.title)
        if plan and current.recurrence is not None:
            survivors = after_master_patch(current, wanted, owner).recurrence
            kept = {} if survivors is None else survivors.exception_map
            if regenerates(current, wanted, owner):
                kept = {}
            for item in current.recurrence.exceptions:
                title = kept.get(item.original_start, item.event).title
                for kind, to in plan:
                    found += _messages(kind, to, title, item.original_start)
    now = after_master_patch(current, wanted, owner)
    return found + _instances(now, wanted, owner)


def predict(write: Write, owner: str | None) -> tuple[Notification, ...]:
    """The e-mails Outlook sends to attendees because calsync performs ``write``."""
    try:
        if isinstance(write, Create):
            return tuple(_create(write.event, owner))
        current = write.current
        if current.read_only:
            return ()
        if isinstance(write, Delete):
            event = current.event
            return tuple(_messages(MailKind.CANCELLATION, recipients(event, owner), event.title))
        return tuple(_update(current.event, write.event, owner))
    except (ProviderError, InvalidEventError):
        # The write will fail before it mails anyone (the adapter refuses it the same way).
        return ()
