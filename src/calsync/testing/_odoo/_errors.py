"""The exceptions the emulated server raises, named and worded like Odoo's.

Every error that reaches a client is an :class:`OdooError`. Its ``name`` is the
fully qualified class name Odoo puts in ``error.data.name`` (for example
``odoo.exceptions.UserError`` or ``builtins.ValueError``), its ``message`` the
text of ``error.data.message``. The protocol layer turns one into the JSON-RPC
envelope (always HTTP 200) or into a JSON-2 error (a 4xx/5xx status).

The message builders below hold the exact wording recorded on Odoo 18.0
(see ``odoo.md`` and the transcripts); keep them in one place so that a wording
change is one edit.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AccessError",
    "MissingError",
    "OdooError",
    "OdooTypeError",
    "OdooValueError",
    "SessionExpired",
    "Unauthorized",
    "UserError",
    "ValidationError",
    "error_class",
]


class OdooError(Exception):
    """An error as the Odoo server reports it: a class name, a message, a status."""

    #: ``error.data.name``: the fully qualified exception class.
    name: str = "odoo.exceptions.UserError"
    #: JSON-2 answers errors with an HTTP status (JSON-RPC always uses 200).
    http_status: int = 422
    #: ``error.code`` of the JSON-RPC envelope (200 except for an expired session).
    rpc_code: int = 200
    #: ``error.message`` of the JSON-RPC envelope.
    rpc_message: str = "Odoo Server Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def arguments(self) -> list[object]:
        """``error.data.arguments``: the exception's args."""
        return [self.message]


class UserError(OdooError):
    """``odoo.exceptions.UserError``: the request makes no sense for the data."""


class ValidationError(UserError):
    """``odoo.exceptions.ValidationError``: a constraint failed."""

    name = "odoo.exceptions.ValidationError"


class AccessError(UserError):
    """``odoo.exceptions.AccessError``: the user may not do this to these records."""

    name = "odoo.exceptions.AccessError"
    http_status = 403


class AccessDenied(UserError):  # noqa: N818 (Odoo's class name)
    """``odoo.exceptions.AccessDenied``: wrong credentials."""

    name = "odoo.exceptions.AccessDenied"
    http_status = 403

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class MissingError(UserError):
    """``odoo.exceptions.MissingError``: a record does not exist (any more)."""

    name = "odoo.exceptions.MissingError"
    http_status = 404


class OdooValueError(OdooError):
    """``builtins.ValueError``: a malformed value, field name, domain or order."""

    name = "builtins.ValueError"
    http_status = 500


class OdooTypeError(OdooError):
    """``builtins.TypeError``: the arguments do not fit the method's signature."""

    name = "builtins.TypeError"
    http_status = 500


class SessionExpired(OdooError):  # noqa: N818 (Odoo's class name)
    """``odoo.http.SessionExpiredException``: call_kw without a valid session."""

    name = "odoo.http.SessionExpiredException"
    http_status = 403
    rpc_code = 100
    rpc_message = "Odoo Session Expired"

    def __init__(self, message: str = "Session expired") -> None:
        super().__init__(message)


class Unauthorized(OdooError):  # noqa: N818 (Odoo's class name)
    """``werkzeug.exceptions.Unauthorized``: JSON-2 without a valid API key."""

    name = "werkzeug.exceptions.Unauthorized"
    http_status = 401

    @property
    def arguments(self) -> list[object]:
        """Werkzeug errors carry the description and the status code."""
        return [self.message, self.http_status]


class NotFound(OdooError):  # noqa: N818 (Odoo's class name)
    """``werkzeug.exceptions.NotFound``: JSON-2 on an unknown model or method."""

    name = "werkzeug.exceptions.NotFound"
    http_status = 404

    @property
    def arguments(self) -> list[object]:
        """Werkzeug errors carry the description and the status code."""
        return [self.message, self.http_status]


class UnprocessableEntity(NotFound):
    """``werkzeug.exceptions.UnprocessableEntity``: JSON-2 arguments that do not bind."""

    name = "werkzeug.exceptions.UnprocessableEntity"
    http_status = 422


class BadRequest(NotFound):
    """``werkzeug.exceptions.BadRequest``: a JSON-2 body that is not a JSON object."""

    name = "werkzeug.exceptions.BadRequest"
    http_status = 400


class OdooAttributeError(OdooError):
    """``builtins.AttributeError``: a method that does not exist on the model."""

    name = "builtins.AttributeError"
    http_status = 500


class GenericError(OdooError):
    """Any other exception class, named freely (used by injected faults)."""

    def __init__(self, name: str, message: str, http_status: int = 500) -> None:
        super().__init__(message)
        self.name = name
        self.http_status = http_status


_SHORT_NAMES: dict[str, type[OdooError]] = {
    "UserError": UserError,
    "ValidationError": ValidationError,
    "AccessError": AccessError,
    "AccessDenied": AccessDenied,
    "MissingError": MissingError,
    "ValueError": OdooValueError,
    "TypeError": OdooTypeError,
    "SessionExpiredException": SessionExpired,
    "SessionExpired": SessionExpired,
}


def error_class(name: str) -> type[OdooError] | None:
    """The error class for a short (``AccessError``) or full (``odoo.exceptions.X``) name."""
    short = name.rsplit(".", 1)[-1]
    return _SHORT_NAMES.get(short)


def make_error(name: str, message: str) -> OdooError:
    """An error of the named class (a known Odoo class, or any other name as-is)."""
    cls = error_class(name)
    if cls is None:
        return GenericError(name, message)
    return cls(message)


# -- recorded wordings ------------------------------------------------------------------------

_COOKIES = (
    "If you really, really need access, perhaps you can win over your friendly "
    "administrator with a batch of freshly baked cookies."
)


def record_rule_error(
    user: str, uid: int, operation: str, description: str, model: str
) -> AccessError:
    """The AccessError of a record rule ("Uh-oh! ... top-secret records") [39]."""
    return AccessError(
        "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\n"
        f"Sorry, {user} (id={uid}) doesn't have '{operation}' access to:\n"
        f"- {description} ({model})\n\n{_COOKIES}"
    )


_ACL_VERBS = {"read": "access", "write": "modify", "create": "create", "unlink": "delete"}


def model_access_error(operation: str, description: str, model: str, group: str) -> AccessError:
    """The AccessError of a missing model access right ("You are not allowed to ...") [39]."""
    verb = _ACL_VERBS[operation]
    return AccessError(
        f"You are not allowed to {verb} '{description}' ({model}) records.\n\n"
        "This operation is allowed for the following groups:\n"
        f"\t- {group}\n\n"
        "Contact your administrator to request access if necessary."
    )


def missing_error(model: str, ids: list[int], uid: int) -> MissingError:
    """MissingError of a write/unlink on deleted ids [29]."""
    inner = ", ".join(str(i) for i in ids) + ("," if len(ids) == 1 else "")
    return MissingError(
        f"Record does not exist or has been deleted.\n(Record: {model}({inner}), User: {uid})"
    )


def not_null_error(
    model_description: str, model: str, field_string: str, field: str
) -> ValidationError:
    """The ValidationError of a NOT NULL violation (a required field left empty) [36, 40]."""
    return ValidationError(
        "The operation cannot be completed:\n"
        "- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. "
        "If possible, archive it instead.\n\n"
        f"Model: {model_description} ({model})\nField: {field_string} ({field})\n"
    )


def constraint_error(text: str) -> ValidationError:
    """The ValidationError of an SQL constraint with its message [35, 37]."""
    return ValidationError(f"The operation cannot be completed: {text}")
