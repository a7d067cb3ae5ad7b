"""Token stores: each account's Microsoft tokens (msal's serialised cache), maybe encrypted.

A :class:`TokenStore` maps an *account* (the caller's key for one user: an
Odoo user id, an e-mail address) to one string, msal's serialised token
cache for that user, which holds the refresh token. ``calsync.auth`` reads
and writes it; nothing else needs to.

Keys starting with :data:`RESERVED_PREFIX` (``"calsync:"``) are calsync's
own bookkeeping, not accounts: ``calsync.auth`` keeps pending sign-ins
there (so a web app's callback may reach another worker than the one that
built the sign-in link). :meth:`TokenStore.accounts` leaves them out.

Encryption at rest: give a store ``key=`` (a Fernet key from
:func:`generate_token_key`, or a list of keys: the first encrypts, every one
decrypts, which is how a key is rotated). Stored values are then
``fernet:<token>`` (AES-128-CBC with HMAC-SHA256, authenticated); a value
written without a key is still read (and encrypted at its next write). A
key that does not open a value raises :class:`~calsync.TokenDecryptionError`
and deletes nothing. The stores' ``repr`` shows counts, never data.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from calsync._closing import ClosesOnExit
from calsync._errors import ConfigurationError, TokenDecryptionError
from calsync.stores._relational import Executor, migrate
from calsync.stores._schema import SQL
from calsync.stores._sqlite import SQLiteExecutor

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = [
    "RESERVED_PREFIX",
    "MemoryTokenStore",
    "RelationalTokenStore",
    "SQLiteTokenStore",
    "TokenCipher",
    "TokenKey",
    "TokenStore",
    "generate_token_key",
]

#: Keys with this prefix are calsync's bookkeeping (pending sign-ins), not accounts.
RESERVED_PREFIX = "calsync:"

#: One Fernet key, or several (the first encrypts, all decrypt).
TokenKey = str | bytes | Sequence[str | bytes]

_MAX_ACCOUNT = 255


@runtime_checkable
class TokenStore(Protocol):
    """Where calsync keeps each account's tokens: one opaque string per account.

    The string is msal's serialised token cache; treat it as a secret. An
    implementation must never put it in a log, a ``repr`` or an exception.
    """

    def get(self, account: str) -> str | None:
        """The account's data, None when it has none."""

    def set(self, account: str, data: str) -> None:
        """Replace the account's data (durable when this returns)."""

    def delete(self, account: str) -> None:
        """Forget the account's data (no error when there is none)."""

    def accounts(self) -> list[str]:
        """Every account with data, sorted (reserved keys left out)."""


def generate_token_key() -> str:
    """A new random key for ``key=`` of the token stores (keep it outside the database)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def check_account(account: str) -> str:
    """``account`` when it is a usable key, else :class:`~calsync.ConfigurationError`."""
    if not isinstance(cast("object", account), str) or not 0 < len(account) <= _MAX_ACCOUNT:
        raise ConfigurationError(
            f"a token store account must be a non-empty string of at most {_MAX_ACCOUNT} characters"
        )
    return account


class TokenCipher:
    """Encrypts and decrypts stored values; with no key it passes them through.

    The ``repr`` says whether a key is set, never the key.
    """

    PREFIX = "fernet:"

    def __init__(self, key: TokenKey | None = None) -> None:
        self._fernet: MultiFernet | None = None
        if key is None:
            return
        keys = [key] if isinstance(key, (str, bytes)) else list(key)
        if not keys:
            raise ConfigurationError("key= needs at least one key")
        from cryptography.fernet import Fernet, MultiFernet

        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise ConfigurationError(
                "a token store key must be 32 url-safe base64-encoded bytes: make one with "
                "calsync.stores.generate_token_key()"
            ) from None

    @property
    def encrypted(self) -> bool:
        """Whether values are encrypted."""
        return self._fernet is not None

    def seal(self, data: str) -> str:
        """The value to store for ``data``."""
        if not isinstance(data, str):
            raise ConfigurationError("token store data must be a string")
        if self._fernet is None:
            return data
        return self.PREFIX + self._fernet.encrypt(data.encode("utf-8")).decode("ascii")

    def open(self, stored: str, account: str) -> str:
        """The data a stored value holds; :class:`~calsync.TokenDecryptionError` if it cannot."""
        if not stored.startswith(self.PREFIX):
            return stored
        if self._fernet is None:
            raise TokenDecryptionError(
                f"the tokens of account {account!r} are encrypted and this store has no key: "
                "pass key= with the key they were written with"
            )
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(stored[len(self.PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise TokenDecryptionError(
                f"cannot decrypt the tokens of account {account!r}: this key is not the one "
                "they were written with (or the data was altered); nothing was deleted"
            ) from None

    def __repr__(self) -> str:
        return f"TokenCipher(encrypted={self.encrypted})"


class MemoryTokenStore(ClosesOnExit):
    """A :class:`TokenStore` in memory: nothing survives the process (tests, one-off runs)."""

    def __init__(self, *, key: TokenKey | None = None) -> None:
        self._cipher = TokenCipher(key)
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, account: str) -> str | None:
        """The account's data."""
        with self._lock:
            stored = self._data.get(check_account(account))
        return None if stored is None else self._cipher.open(stored, account)

    def set(self, account: str, data: str) -> None:
        """Replace the account's data."""
        sealed = self._cipher.seal(data)
        with self._lock:
            self._data[check_account(account)] = sealed

    def delete(self, account: str) -> None:
        """Forget the account's data."""
        with self._lock:
            self._data.pop(check_account(account), None)

    def accounts(self) -> list[str]:
        """Every account with data."""
        with self._lock:
            return sorted(a for a in self._data if not a.startswith(RESERVED_PREFIX))

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return (
            f"MemoryTokenStore(accounts={len(self.accounts())}, encrypted={self._cipher.encrypted})"
        )


class RelationalTokenStore(ClosesOnExit):
    """The token store logic over an :class:`~calsync.stores._relational.Executor`.

    The table (``calsync_tokens``) comes with the shared schema's version 2,
    so a token store may share a database (and a SQLite file) with a
    mapping store.
    """

    def __init__(self, db: Executor, cipher: TokenCipher, *, migrated: bool = False) -> None:
        self._db = db
        self._cipher = cipher
        if not migrated:
            migrate(db)

    def get(self, account: str) -> str | None:
        """The account's data."""
        rows = self._db.rows(SQL.get_tokens, {"account": check_account(account)})
        return self._cipher.open(str(rows[0][0]), account) if rows else None

    def set(self, account: str, data: str) -> None:
        """Replace the account's data in one transaction."""
        params = {"account": check_account(account), "data": self._cipher.seal(data)}
        with self._db.transaction():
            self._db.run(SQL.set_tokens, {**params, "updated": time.time()})

    def delete(self, account: str) -> None:
        """Forget the account's data."""
        with self._db.transaction():
            self._db.run(SQL.delete_tokens, {"account": check_account(account)})

    def accounts(self) -> list[str]:
        """Every account with data."""
        rows = self._db.rows(SQL.accounts)
        return [str(row[0]) for row in rows if not str(row[0]).startswith(RESERVED_PREFIX)]

    def _describe(self) -> str:
        try:
            count: object = len(self.accounts())
        except Exception:  # a repr must not raise: a closed store shows "?"
            count = "?"
        return f"accounts={count}, encrypted={self._cipher.encrypted}"


class SQLiteTokenStore(RelationalTokenStore):
    """A :class:`TokenStore` in a SQLite file (stdlib sqlite3, WAL).

    It may be the same file as a :class:`~calsync.stores.SQLiteStore`: the
    tokens live in their own table of the shared schema.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "calsync-state.sqlite3",
        *,
        key: TokenKey | None = None,
    ) -> None:
        cipher = TokenCipher(key)  # a bad key fails before the file is opened
        self.path = os.fspath(path)
        self._executor = SQLiteExecutor(self.path)
        with self._executor.closed_on_failure():
            super().__init__(self._executor, cipher)

    def close(self) -> None:
        """Close the database connection."""
        self._executor.close()

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({self.path!r}, {self._describe()})"
