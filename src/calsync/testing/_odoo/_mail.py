"""The e-mails Odoo itself would send, kept in a log instead of being sent.

With the default context, creating an event and changing its attendees sends
invitation mails synchronously; ``context={'no_mail_to_attendees': True}``
suppresses them [§5.8]. Odoo never mails the user who made the change, and
only mails attendees that have an e-mail address. A date change of a future
event mails the attendees that were already invited. Creating a user without
``no_reset_password`` sends the signup invitation [§5.14].

Mails are logged when the call's transaction commits: a call that fails sends
nothing.
"""

from __future__ import annotations

import attrs

__all__ = ["DATE_UPDATED", "INVITATION", "SIGNUP", "OdooMail"]

INVITATION = "invitation"
DATE_UPDATED = "date_updated"
SIGNUP = "signup"


@attrs.frozen
class OdooMail:
    """One e-mail the emulated Odoo sent.

    ``kind`` is ``"invitation"`` (new attendee, template "Calendar: Meeting
    Invitation"), ``"date_updated"`` (the event moved, "Calendar: Date Updated")
    or ``"signup"`` (a new user's invitation to set a password). ``recipient``
    is the partner's e-mail as stored, ``event_id`` the calendar event (``None``
    for a signup mail), ``subject`` the rendered subject line.
    """

    kind: str
    recipient: str
    event_id: int | None
    subject: str
    partner_id: int | None = None
