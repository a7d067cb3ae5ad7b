"""Every error calsync raises, in one hierarchy.

Catch :class:`CalsyncError` to catch them all. Each error says which pair, which
side and which event it concerns when it knows (``pair``, ``side``,
``event``), and never carries a token, secret or password::

    CalsyncError
    ├── InvalidEventError            bad input to the model (names field and value)
    │   └── UnsupportedRecurrenceError   an RRULE outside the shared subset
    ├── ConfigurationError           bad arguments to calsync itself
    ├── SyncError                    a run stopped before or while writing
    │   ├── PairLockedError          another worker holds the pair
    │   ├── SideUnavailableError     a side could not be listed: nothing was written
    │   ├── ConflictError            the ``Raise`` conflict rule met a conflict
    │   └── GuardError               a safety guard stopped the run before any write
    │       ├── MassDeletionError
    │       └── NotificationLimitError
    ├── ProviderError                a provider refused or failed a request
    │   ├── TransientError           worth retrying later (timeouts, 5xx, throttling)
    │   │   └── ThrottledError       with the provider's ``retry_after``
    │   ├── PreconditionFailedError  the event changed since it was read (412)
    │   ├── NotFoundError            the event is gone
    │   ├── AccessDeniedError        the account may not do this
    │   ├── RejectedError            the provider refused the content (quarantined)
    │   └── AuthenticationError      the credentials do not work
    │       ├── ReauthorizationRequiredError  one user must sign in again
    │       ├── ClientSecretExpiredError      the app's secret must be renewed
    │       └── RedirectUriMismatchError      the app registration is wrong
    └── StoreError                   the mapping or token store failed
        └── SchemaVersionError       the store was written by a newer calsync

:class:`InvalidEventError` and :class:`ConfigurationError` are also
:class:`ValueError`, so code that validates input the usual way catches them.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "CalsyncError",
    "ClientSecretExpiredError",
    "ConfigurationError",
    "ConflictError",
    "GuardError",
    "InvalidEventError",
    "MassDeletionError",
    "NotFoundError",
    "NotificationLimitError",
    "PairLockedError",
    "PreconditionFailedError",
    "ProviderError",
    "ReauthorizationRequiredError",
    "RedirectUriMismatchError",
    "RejectedError",
    "SchemaVersionError",
    "SideUnavailableError",
    "StoreError",
    "SyncError",
    "ThrottledError",
    "TransientError",
    "UnsupportedRecurrenceError",
]


class CalsyncError(Exception):
    """Base of every calsync error.

    ``pair``, ``side`` and ``event`` name what the error concerns, when known;
    they are appended to the message so that a log line is self-explanatory.
    """

    def __init__(
        self,
        message: str,
        *,
        pair: str | None = None,
        side: str | None = None,
        event: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.pair = pair
        self.side = side
        self.event = event

    def __str__(self) -> str:
        context = [
            f"{name}={value!r}"
            for name, value in (("pair", self.pair), ("side", self.side), ("event", self.event))
            if value is not None
        ]
        return f"{self.message} ({', '.join(context)})" if context else self.message


class InvalidEventError(CalsyncError, ValueError):
    """Event content that the model refuses; ``field`` and ``value`` say what was wrong."""

    def __init__(self, field: str, value: object, reason: str, **context: str | None) -> None:
        super().__init__(f"invalid {field} {value!r}: {reason}", **context)
        self.field = field
        self.value = value
        self.reason = reason


class UnsupportedRecurrenceError(InvalidEventError):
    """A recurrence rule part that Outlook and Odoo cannot both express."""


class ConfigurationError(CalsyncError, ValueError):
    """calsync was called with arguments that cannot work together."""


class SyncError(CalsyncError):
    """A sync run stopped; see the subclass for why."""


class PairLockedError(SyncError):
    """Another worker is syncing this pair right now; try again later."""


class SideUnavailableError(SyncError):
    """A side could not be listed, so nothing was planned or written."""


class ConflictError(SyncError):
    """The ``Raise`` rule met the same field changed on both sides."""

    def __init__(self, message: str, *, field: str, **context: str | None) -> None:
        super().__init__(message, **context)
        self.field = field


class GuardError(SyncError):
    """A safety guard stopped the run before any remote write."""


class MassDeletionError(GuardError):
    """The plan would delete more events on a side than the threshold allows."""

    def __init__(self, message: str, *, count: int, limit: int, **context: str | None) -> None:
        super().__init__(message, **context)
        self.count = count
        self.limit = limit


class NotificationLimitError(GuardError):
    """The plan would make Outlook e-mail more attendees than allowed."""

    def __init__(self, message: str, *, count: int, limit: int, **context: str | None) -> None:
        super().__init__(message, **context)
        self.count = count
        self.limit = limit


class ProviderError(CalsyncError):
    """A provider (Outlook, Odoo, ...) refused or failed a request.

    ``code`` is the provider's own error code or exception name (for example
    ``ErrorInvalidRequest`` or ``odoo.exceptions.ValidationError``) and
    ``status`` the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        **context: str | None,
    ) -> None:
        super().__init__(message, **context)
        self.code = code
        self.status = status


class TransientError(ProviderError):
    """A failure worth retrying later: timeout, dropped connection, 5xx, throttling."""


class ThrottledError(TransientError):
    """The provider asked to slow down; ``retry_after`` is in seconds when it said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        status: int | None = None,
        **context: str | None,
    ) -> None:
        super().__init__(message, code=code, status=status, **context)
        self.retry_after = retry_after


class PreconditionFailedError(ProviderError):
    """The event changed on the provider since calsync read it (HTTP 412)."""


class NotFoundError(ProviderError):
    """The event no longer exists on the provider."""


class AccessDeniedError(ProviderError):
    """The account is not allowed to do this (for example: another user's private event)."""


class RejectedError(ProviderError):
    """The provider refused the content of one event; it is quarantined, not lost."""


class AuthenticationError(ProviderError):
    """The credentials were refused."""


class ReauthorizationRequiredError(AuthenticationError):
    """This user's grant is gone (revoked, expired or consent missing): they must sign in again."""


class ClientSecretExpiredError(AuthenticationError):
    """The app's client secret expired (AADSTS7000222).

    Create a new secret in Microsoft Entra ID (choose the longest expiry) and
    configure it; users' tokens stay valid.
    """


class RedirectUriMismatchError(AuthenticationError):
    """The redirect URI is not registered for the app (AADSTS50011).

    Register the app's base URL followed by ``/microsoft_account/authentication``,
    on the same domain as Odoo's ``web.base.url``.
    """


class StoreError(CalsyncError):
    """The mapping or token store failed."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this calsync understands: upgrade calsync."""
