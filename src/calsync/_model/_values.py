"""Small value types of the model: people, attendees and the enumerations."""

from __future__ import annotations

import attrs

from calsync._errors import InvalidEventError
from calsync._model._checks import Choice, to_enum

__all__ = ["Attendee", "AttendeeKind", "Availability", "Person", "Privacy", "Response"]


class AttendeeKind(Choice):
    """Whether an attendee is required, optional or a resource (a room, a projector)."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    RESOURCE = "resource"


class Response(Choice):
    """An attendee's answer to an invitation."""

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"


class Privacy(Choice):
    """Who may see the event's details.

    ``DEFAULT`` means "what the organiser's calendar says" (Odoo's unset
    privacy); Outlook, which has no such value, shows it as ``PUBLIC``.
    """

    DEFAULT = "default"
    PUBLIC = "public"
    PRIVATE = "private"
    CONFIDENTIAL = "confidential"


class Availability(Choice):
    """How the event shows in free/busy lookups."""

    FREE = "free"
    BUSY = "busy"
    TENTATIVE = "tentative"
    OUT_OF_OFFICE = "out_of_office"
    WORKING_ELSEWHERE = "working_elsewhere"


def normalize_email(value: str) -> str:
    """Lower-case, strip and check an e-mail address; mail systems compare them so."""
    if not isinstance(value, str):
        raise InvalidEventError("email", value, "must be a string")
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or any(char.isspace() for char in email):
        raise InvalidEventError("email", value, "is not an e-mail address")
    return email


def _to_kind(value: object) -> AttendeeKind:
    return to_enum(AttendeeKind, "attendee kind")(value)


def _to_response(value: object) -> Response:
    return to_enum(Response, "attendee response")(value)


@attrs.frozen
class Person:
    """Someone identified by e-mail address: an organiser, for example."""

    email: str = attrs.field(converter=normalize_email)
    name: str = attrs.field(default="", eq=False)


@attrs.frozen
class Attendee:
    """One invitee of a meeting, with the kind of invitation and their answer.

    Two attendees are the same person when their (case-insensitive) addresses
    match; the display ``name`` is informative and does not take part in
    comparisons, because every provider spells it its own way.
    """

    email: str = attrs.field(converter=normalize_email)
    name: str = attrs.field(default="", eq=False)
    kind: AttendeeKind = attrs.field(default=AttendeeKind.REQUIRED, converter=_to_kind)
    response: Response = attrs.field(default=Response.NEEDS_ACTION, converter=_to_response)
