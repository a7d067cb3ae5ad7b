"""The exit codes of ``calsync``: what a scheduler (cron, systemd, a CI job) should do next.

======  ===============  ======================================================
code    name             meaning
======  ===============  ======================================================
0       OK               done; every pair in sync, nothing held
1       ERROR            an unexpected error (a bug: please report it)
2       USAGE            the command line or the configuration file is wrong
3       PARTIAL          ran, but some events are held (retried next run) or
                         some pairs failed for a reason a later run may fix
4       ACTION           a person must act: a user signs in again, the
                         administrator fixes the app registration, a secret
                         or an Odoo key, or missing rights
5       GUARD            a safety guard stopped a run before any write (mass
                         deletion, attendee e-mails): look at ``preview``
75      RETRY            temporary (a server unreachable or throttling, a pair
                         locked by another run): run again later (sysexits'
                         EX_TEMPFAIL)
======  ===============  ======================================================

With several pairs the most urgent code wins, in this order: 2, 4, 5, 1, 75, 3, 0.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from calsync._errors import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    GuardError,
    MissingExtraError,
    PairLockedError,
    SchemaVersionError,
    SideUnavailableError,
    StoreError,
    TokenDecryptionError,
    TransientError,
)

__all__ = ["Exit", "exit_of", "worst"]


class Exit(enum.IntEnum):
    """The exit codes (see the module docstring)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3
    ACTION = 4
    GUARD = 5
    RETRY = 75


_URGENCY = (Exit.USAGE, Exit.ACTION, Exit.GUARD, Exit.ERROR, Exit.RETRY, Exit.PARTIAL, Exit.OK)


def exit_of(error: BaseException | None) -> Exit:
    """The exit code an error calls for (None: OK)."""
    if error is None:
        return Exit.OK
    cause = error.__cause__
    if isinstance(error, SideUnavailableError) and isinstance(
        cause, AuthenticationError | AccessDeniedError
    ):
        error = cause
    if isinstance(error, ConfigurationError | MissingExtraError | SchemaVersionError):
        return Exit.USAGE
    if isinstance(error, AuthenticationError | AccessDeniedError | TokenDecryptionError):
        return Exit.ACTION
    if isinstance(error, GuardError):
        return Exit.GUARD
    if isinstance(error, TransientError | SideUnavailableError | PairLockedError | StoreError):
        return Exit.RETRY
    return Exit.ERROR


def worst(codes: Iterable[Exit]) -> Exit:
    """The most urgent of several codes."""
    found = set(codes)
    return next((code for code in _URGENCY if code in found), Exit.OK)
