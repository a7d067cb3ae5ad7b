"""Odoo's error envelopes as calsync errors.

Odoo reports errors as ``{"name": "<exception class>", "message": ...}``: in
the JSON-RPC envelope's ``error.data`` (always HTTP 200) or as the body of a
JSON-2 error (a 4xx/5xx status). :func:`from_odoo` maps the class name onto
calsync's hierarchy and keeps it as the error's ``code``:

==========================================  ==============================
Odoo exception                              calsync error
==========================================  ==============================
``odoo.exceptions.ValidationError``         :class:`RejectedError`
``odoo.exceptions.UserError``               :class:`RejectedError`
``builtins.ValueError`` / ``TypeError``     :class:`RejectedError`
``odoo.exceptions.MissingError``            :class:`NotFoundError`
``odoo.exceptions.AccessError``             :class:`AccessDeniedError`
``odoo.exceptions.AccessDenied``            :class:`AuthenticationError`
``werkzeug.exceptions.Unauthorized`` (401)  :class:`AuthenticationError`
``odoo.http.SessionExpiredException``       :class:`AuthenticationError` (after one re-login)
``psycopg2.*``, serialisation failures,     :class:`TransientError`
HTTP 5xx without an envelope, timeouts,
refused or dropped connections
anything else                               :class:`ProviderError`
==========================================  ==============================

Messages are Odoo's own; no request body, password or API key ever goes into one.
"""

from __future__ import annotations

from calsync._errors import (
    AccessDeniedError,
    AuthenticationError,
    NotFoundError,
    ProviderError,
    RejectedError,
    TransientError,
)

__all__ = ["EVENT_ERRORS", "SESSION_EXPIRED", "from_odoo", "transient"]

SESSION_EXPIRED = "odoo.http.SessionExpiredException"

#: Errors that concern the records of a call (their content, their rights, their
#: existence), not the connection: they fail the events those records serve and let
#: the others go on. Odoo rolls a refused call back whole, so its records may be sent
#: again in smaller calls to find the ones at fault.
EVENT_ERRORS = (RejectedError, NotFoundError, AccessDeniedError)

_BY_NAME: dict[str, type[ProviderError]] = {
    "odoo.exceptions.ValidationError": RejectedError,
    "odoo.exceptions.UserError": RejectedError,
    "odoo.exceptions.RedirectWarning": RejectedError,
    "builtins.ValueError": RejectedError,
    "builtins.TypeError": RejectedError,
    "builtins.KeyError": RejectedError,
    "werkzeug.exceptions.UnprocessableEntity": RejectedError,
    "werkzeug.exceptions.BadRequest": RejectedError,
    "odoo.exceptions.MissingError": NotFoundError,
    "odoo.exceptions.AccessError": AccessDeniedError,
    "odoo.exceptions.AccessDenied": AuthenticationError,
    "werkzeug.exceptions.Unauthorized": AuthenticationError,
    SESSION_EXPIRED: AuthenticationError,
}
_TRANSIENT_HINTS = (
    "could not serialize access",
    "concurrent update",
    "deadlock detected",
    "connection to server",
    "server closed the connection",
)


def from_odoo(
    name: str | None,
    message: str | None,
    *,
    status: int | None = None,
    side: str | None = None,
    event: str | None = None,
) -> ProviderError:
    """The calsync error for an Odoo exception ``name`` with ``message``."""
    text = (message or "").strip() or (name or "Odoo error")
    cls = _BY_NAME.get(name or "")
    if cls is None:
        lowered = text.lower()
        if (
            (name or "").startswith("psycopg2.")
            or any(hint in lowered for hint in _TRANSIENT_HINTS)
            or (status is not None and status >= 500 and name is None)
        ):
            cls = TransientError
        else:
            cls = ProviderError
    return cls(text, code=name, status=status, side=side, event=event)


def transient(
    message: str, *, code: str | None = None, status: int | None = None, side: str | None = None
) -> TransientError:
    """A :class:`TransientError` for a transport failure (timeout, refused, dropped)."""
    return TransientError(message, code=code, status=status, side=side)
