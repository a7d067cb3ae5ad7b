"""calsync: two-way sync between Odoo calendars and Microsoft Outlook calendars.

The main names are here: :class:`Synchronizer` runs a pair, :class:`SyncReport`
says what it did, :func:`sync_many` runs many pairs at once within Graph's
limits (:class:`ConcurrencyLimiter`), the conflict rules decide what wins, and every error calsync
raises derives from :class:`CalsyncError`. The event model lives in
:mod:`calsync.model`, the pure planner in :mod:`calsync.engine`, adapters in
:mod:`calsync.adapters`, stores in :mod:`calsync.stores`, Microsoft sign-in in
:mod:`calsync.auth`, emulators and the contract suite in :mod:`calsync.testing`.
"""

from __future__ import annotations

from typing import Any

from calsync._engine._plan import DeletionGuard, Operation, OperationKind, Plan
from calsync._engine._reset import ExistingEvents, NextSync
from calsync._engine._rules import (
    KEEP_BOTH,
    Conflict,
    DeletionRule,
    KeepBoth,
    LatestWins,
    Prefer,
    Raise,
)
from calsync._errors import (
    AccessDeniedError,
    AppRegistrationError,
    AuthenticationError,
    CalsyncError,
    ClientSecretExpiredError,
    ConfigurationError,
    ConflictError,
    GuardError,
    InvalidClientSecretError,
    InvalidEventError,
    MalformedAnswerError,
    MassDeletionError,
    MissingExtraError,
    NotFoundError,
    NotificationLimitError,
    PairLockedError,
    PreconditionFailedError,
    ProviderError,
    ReauthorizationRequiredError,
    RedirectUriMismatchError,
    RejectedError,
    SchemaVersionError,
    SideUnavailableError,
    SignInStateError,
    StoreError,
    SyncError,
    ThrottledError,
    TokenDecryptionError,
    TransientError,
    UnsupportedRecurrenceError,
)
from calsync._limits import ConcurrencyLimiter
from calsync._model._event import Event
from calsync._model._window import Window
from calsync._sync._many import PairOutcome, sync_many, sync_many_async
from calsync._sync._report import Outcome, Progress, SyncReport
from calsync._sync._reset import reset
from calsync._sync._synchronizer import Synchronizer

__all__ = [
    "KEEP_BOTH",
    "AccessDeniedError",
    "AppRegistrationError",
    "AuthenticationError",
    "CalsyncError",
    "ClientSecretExpiredError",
    "ConcurrencyLimiter",
    "ConfigurationError",
    "Conflict",
    "ConflictError",
    "DeletionGuard",
    "DeletionRule",
    "Event",
    "ExistingEvents",
    "GuardError",
    "InvalidClientSecretError",
    "InvalidEventError",
    "KeepBoth",
    "LatestWins",
    "MalformedAnswerError",
    "MassDeletionError",
    "MissingExtraError",
    "NextSync",
    "NotFoundError",
    "NotificationLimitError",
    "Operation",
    "OperationKind",
    "Outcome",
    "PairLockedError",
    "PairOutcome",
    "Plan",
    "PreconditionFailedError",
    "Prefer",
    "Progress",
    "ProviderError",
    "Raise",
    "ReauthorizationRequiredError",
    "RedirectUriMismatchError",
    "RejectedError",
    "SchemaVersionError",
    "SideUnavailableError",
    "SignInStateError",
    "StoreError",
    "SyncError",
    "SyncReport",
    "Synchronizer",
    "ThrottledError",
    "TokenDecryptionError",
    "TransientError",
    "UnsupportedRecurrenceError",
    "Window",
    "reset",
    "sync_many",
    "sync_many_async",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("calsync")
    raise AttributeError(f"module 'calsync' has no attribute {name!r}")
