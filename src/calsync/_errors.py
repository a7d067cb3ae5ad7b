"""Every error calsync raises, in one hierarchy.

Catch :class:`CalsyncError` to catch them all. Each error says which pair, which
side and which event it concerns when it knows (``pair``, ``side``,
``event``), and never carries a token, secret or password::

    CalsyncError
    ├── InvalidEventError            bad input to the model (names field and value)
    │   └── UnsupportedRecurrenceError   a recurrence the model, or a side, cannot hold
    ├── ConfigurationError           bad arguments to calsync itself
    ├── MissingExtraError            a feature's optional dependencies are not installed
    ├── SyncError                    a run stopped before or while writing
    │   ├── PairLockedError          another worker holds the pair
    │   ├── SideUnavailableError     a side could not be listed: nothing was written
    │   ├── ConflictError            the ``Raise`` conflict rule met a conflict
    │   └── GuardError               a safety guard stopped the run before any write
    │       ├── MassDeletionError
    │       └── NotificationLimitError
    ├── ProviderError                a provider refused or failed a request
    │   ├── TransientError           worth retrying later (timeouts, 5xx, throttling)
    │   │   ├── ThrottledError       with the provider's ``retry_after``
    │   │   └── MalformedAnswerError an answer that is not what the provider documents
    │   ├── PreconditionFailedError  the event changed since it was read (412)
    │   ├── NotFoundError            the event is gone
    │   ├── AccessDeniedError        the account may not do this
    │   ├── RejectedError            the provider refused the content (quarantined)
    │   └── AuthenticationError      the credentials do not work
    │       ├── ReauthorizationRequiredError  one user must sign in again
    │       │   └── SignInStateError          a sign-in callback matches no pending sign-in
    │       └── AppRegistrationError          the app's registration is wrong (app-wide)
    │           ├── ClientSecretExpiredError  the app's secret must be renewed
    │           ├── InvalidClientSecretError  the secret's ID was configured, not its value
    │           └── RedirectUriMismatchError  the redirect URI is not registered
    └── StoreError                   the mapping or token store failed
        ├── SchemaVersionError       the store was written by a newer calsync
        └── TokenDecryptionError     the token store's key does not open its data

:class:`InvalidEventError` and :class:`ConfigurationError` are also
:class:`ValueError`, so code that validates input the usual way catches them.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AppRegistrationError",
    "AuthenticationError",
    "CalsyncError",
    "ClientSecretExpiredError",
    "ConfigurationError",
    "ConflictError",
    "GuardError",
    "InvalidClientSecretError",
    "InvalidEventError",
    "MalformedAnswerError",
    "MassDeletionError",
    "MissingExtraError",
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
    "SignInStateError",
    "StoreError",
    "SyncError",
    "ThrottledError",
    "TokenDecryptionError",
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

    def _context(self) -> list[tuple[str, object]]:
        return [("pair", self.pair), ("side", self.side), ("event", self.event)]

    def __str__(self) -> str:
        context = [f"{name}={value!r}" for name, value in self._context() if value is not None]
        return f"{self.message} ({', '.join(context)})" if context else self.message


class InvalidEventError(CalsyncError, ValueError):
    """Event content that the model refuses; ``field`` and ``value`` say what was wrong."""

    def __init__(self, field: str, value: object, reason: str, **context: str | None) -> None:
        super().__init__(f"invalid {field} {value!r}: {reason}", **context)
        self.field = field
        self.value = value
        self.reason = reason


class UnsupportedRecurrenceError(InvalidEventError):
    """A recurrence calsync's model, or a provider, cannot hold (the reason says why).

    An adapter raises it for a series its provider would expand to other
    occurrences (Outlook's day 31 is the month's last day; Odoo counts its
    intervals from the UTC month): the series is held with the reason.
    """


class ConfigurationError(CalsyncError, ValueError):
    """calsync was called with arguments that cannot work together."""


class MissingExtraError(CalsyncError, ImportError):
    """A feature needs an optional extra that is not installed: ``extra`` names it.

    Also an :class:`ImportError`: ``pip install 'calsync[<extra>]'`` fixes it.
    """

    def __init__(self, feature: str, extra: str, missing: str | None = None) -> None:
        lacking = f" ({missing} is missing)" if missing else ""
        super().__init__(
            f"{feature} needs calsync's {extra!r} extra{lacking}: pip install 'calsync[{extra}]'"
        )
        self.feature = feature
        self.extra = extra
        self.missing = missing


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


class MalformedAnswerError(TransientError):
    """The provider answered, but not with what it documents: nothing may be concluded from it.

    A success whose body is truncated JSON, an HTML page from a proxy, ``null``,
    a listing without its list or without its next/delta link, an event
    without an id, an Odoo envelope without its ``result``... calsync treats
    such an answer as a failure worth retrying: no cursor moves past it and
    nothing is written because of it. ``code`` is ``"MalformedAnswer"``.
    """

    def __init__(self, message: str, *, status: int | None = None, **context: str | None) -> None:
        super().__init__(message, code="MalformedAnswer", status=status, **context)


class PreconditionFailedError(ProviderError):
    """The event changed on the provider since calsync read it (HTTP 412)."""


class NotFoundError(ProviderError):
    """The event no longer exists on the provider."""


class AccessDeniedError(ProviderError):
    """The account is not allowed to do this (for example: another user's private event)."""


class RejectedError(ProviderError):
    """The provider refused the content of one event; it is quarantined, not lost."""


class AuthenticationError(ProviderError):
    """The credentials were refused.

    ``account`` is the calsync account (the key of the token store) when the
    error concerns one user; ``code`` is the identity platform's OAuth error
    (``invalid_grant``, ``invalid_client``, ...) and ``aadsts`` its AADSTS
    number when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        account: str | None = None,
        aadsts: int | None = None,
        code: str | None = None,
        status: int | None = None,
        **context: str | None,
    ) -> None:
        super().__init__(message, code=code, status=status, **context)
        self.account = account
        self.aadsts = aadsts

    def _context(self) -> list[tuple[str, object]]:
        return [("account", self.account), *super()._context()]


class ReauthorizationRequiredError(AuthenticationError):
    """This user's grant is gone (revoked, expired or consent missing): they must sign in again.

    Only this user is concerned: send them to ``MicrosoftAuth.authorization_url``;
    the other users keep syncing.
    """


class SignInStateError(ReauthorizationRequiredError):
    """A sign-in callback matches no pending sign-in: expired, already used, or not started here.

    Send the user to ``MicrosoftAuth.authorization_url`` again.
    """


class AppRegistrationError(AuthenticationError):
    """The app's registration in Microsoft Entra ID or its credentials are wrong.

    An app-wide problem for the administrator: every user's tokens are kept
    and work again once the registration is fixed.
    """


class ClientSecretExpiredError(AppRegistrationError):
    """The app's client secret expired (AADSTS7000222).

    Create a new secret in Microsoft Entra ID (choose the longest expiry) and
    configure it; users' tokens stay valid.
    """


class InvalidClientSecretError(AppRegistrationError):
    """The client secret is wrong (AADSTS7000215).

    Most often the secret's ID was pasted instead of its value: copy the
    secret's *Value* column in Entra ID (shown only when it is created).
    """


class RedirectUriMismatchError(AppRegistrationError):
    """The redirect URI is not registered for the app (AADSTS50011).

    Register the app's base URL followed by ``/microsoft_account/authentication``,
    on the same domain as Odoo's ``web.base.url``.
    """


class StoreError(CalsyncError):
    """The mapping or token store failed."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this calsync understands: upgrade calsync."""


class TokenDecryptionError(StoreError):
    """The token store cannot open its data with the key it was given.

    The data was encrypted with another key, is encrypted while no key was
    given, or was altered. Nothing is deleted: pass the key it was written with.
    """
