"""The provider-agnostic event model: frozen attrs value types with validators.

Everything here is pure: no I/O, no provider ids. Bad input raises
:class:`~calsync.InvalidEventError` naming the field and the value.
"""

from calsync._model._event import Event, Occurrence, When
from calsync._model._html import canonical_html
from calsync._model._projection import CONTENT_FIELDS, Projection, canonical, fingerprint
from calsync._model._recurrence import (
    Frequency,
    ModifiedOccurrence,
    OccurrenceKey,
    Recurrence,
    RecurrenceRule,
    Weekday,
    WeekdayRule,
)
from calsync._model._values import Attendee, AttendeeKind, Availability, Person, Privacy, Response
from calsync._model._window import Window

__all__ = [
    "CONTENT_FIELDS",
    "Attendee",
    "AttendeeKind",
    "Availability",
    "Event",
    "Frequency",
    "ModifiedOccurrence",
    "Occurrence",
    "OccurrenceKey",
    "Person",
    "Privacy",
    "Projection",
    "Recurrence",
    "RecurrenceRule",
    "Response",
    "Weekday",
    "WeekdayRule",
    "When",
    "Window",
    "canonical",
    "canonical_html",
    "fingerprint",
]
