"""Every TokenStore behaves the same; encryption at rest keeps the data out of the database."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from calsync import ConfigurationError, TokenDecryptionError
from calsync.stores import (
    MemoryTokenStore,
    SQLiteStore,
    SQLiteTokenStore,
    SQLTokenStore,
    TokenKey,
    TokenStore,
    generate_token_key,
)

SECRET = '{"RefreshToken": {"x": {"secret": "0.AAAA-refresh-token-value"}}}'
KINDS = ["memory", "sqlite", "sql-sqlite", "sql-postgres"]


class Opened:
    """Opens stores of one kind on one database, and reads its raw rows."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "tokens.sqlite3"
        self.url = ""
        if kind == "sql-sqlite":
            self.url = f"sqlite:///{tmp_path / 'sql.sqlite3'}"
        elif kind == "sql-postgres":
            self.url = str(request.getfixturevalue("postgres_url"))
        self._memory: MemoryTokenStore | None = None
        self.opened: list[TokenStore] = []

    def open(self, key: TokenKey | None = None) -> TokenStore:
        store: TokenStore
        if self.kind == "memory":
            store = MemoryTokenStore(key=key)
        elif self.kind == "sqlite":
            store = SQLiteTokenStore(self.path, key=key)
        else:
            store = SQLTokenStore(self.url, key=key)
        self.opened.append(store)
        return store

    def raw(self) -> list[str]:
        """Every stored value as the database holds it."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as connection:
                return [row[0] for row in connection.execute("SELECT data FROM calsync_tokens")]
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT data FROM calsync_tokens"))
                return [str(row[0]) for row in rows]
        finally:
            engine.dispose()

    def close(self) -> None:
        for store in self.opened:
            store.close()  # type: ignore[attr-defined]


@pytest.fixture(params=KINDS)
def tokens(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    opened = Opened(request.param, request, tmp_path)
    yield opened
    opened.close()


@pytest.fixture(params=KINDS[1:])
def persistent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    opened = Opened(request.param, request, tmp_path)
    yield opened
    opened.close()


def test_set_get_delete_and_accounts(tokens: Opened) -> None:
    store = tokens.open()
    assert isinstance(store, TokenStore)
    assert store.get("ann") is None
    store.set("ann", SECRET)
    store.set("bob", "{}")
    store.set("ann", SECRET + " ")  # replaces
    assert store.get("ann") == SECRET + " "
    assert store.accounts() == ["ann", "bob"]
    store.delete("bob")
    store.delete("nobody")
    assert store.accounts() == ["ann"]


def test_reserved_keys_are_not_accounts(tokens: Opened) -> None:
    store = tokens.open()
    store.set("calsync:flow:ann", "{}")
    store.set("ann", "{}")
    assert store.accounts() == ["ann"]
    assert store.get("calsync:flow:ann") == "{}"


def test_bad_accounts_are_refused(tokens: Opened) -> None:
    store = tokens.open()
    for account in ("", "x" * 256):
        with pytest.raises(ConfigurationError, match="account"):
            store.set(account, "{}")


def test_the_repr_shows_counts_never_data(tokens: Opened) -> None:
    store = tokens.open(key=generate_token_key())
    store.set("ann", SECRET)
    shown = repr(store)
    assert "accounts=1" in shown
    assert "encrypted=True" in shown
    assert "refresh-token" not in shown


def test_encrypted_rows_hold_no_token(persistent: Opened) -> None:
    key = generate_token_key()
    store = persistent.open(key=key)
    store.set("ann", SECRET)
    raw = persistent.raw()
    assert len(raw) == 1
    assert raw[0].startswith("fernet:")
    assert "refresh-token" not in raw[0]
    assert "RefreshToken" not in raw[0]
    assert persistent.open(key=key).get("ann") == SECRET  # another process, same key


def test_without_a_key_rows_are_plain(persistent: Opened) -> None:
    persistent.open().set("ann", SECRET)
    assert persistent.raw() == [SECRET]


def test_a_wrong_key_is_a_clear_error_and_deletes_nothing(persistent: Opened) -> None:
    persistent.open(key=generate_token_key()).set("ann", SECRET)
    with pytest.raises(TokenDecryptionError, match="not the one they were written with") as error:
        persistent.open(key=generate_token_key()).get("ann")
    assert "refresh-token" not in str(error.value)
    assert error.value.__cause__ is None
    with pytest.raises(TokenDecryptionError, match="pass key="):
        persistent.open().get("ann")
    assert len(persistent.raw()) == 1


def test_plain_rows_are_read_with_a_key_and_encrypted_at_their_next_write(
    persistent: Opened,
) -> None:
    persistent.open().set("ann", SECRET)
    key = generate_token_key()
    store = persistent.open(key=key)
    assert store.get("ann") == SECRET
    store.set("ann", SECRET)
    assert persistent.raw()[0].startswith("fernet:")


def test_a_key_list_rotates(persistent: Opened) -> None:
    old, new = generate_token_key(), generate_token_key()
    persistent.open(key=old).set("ann", SECRET)
    rotated = persistent.open(key=[new, old])
    assert rotated.get("ann") == SECRET
    rotated.set("ann", SECRET)
    assert persistent.open(key=new).get("ann") == SECRET


def test_malformed_keys_are_configuration_errors(tmp_path: Path) -> None:
    for key in ("short", b"", []):
        with pytest.raises(ConfigurationError, match="key"):
            MemoryTokenStore(key=key)
        with pytest.raises(ConfigurationError, match="key"):  # and no connection is left open
            SQLiteTokenStore(tmp_path / "t.sqlite3", key=key)
        with pytest.raises(ConfigurationError, match="key"):
            SQLTokenStore(f"sqlite:///{tmp_path / 's.sqlite3'}", key=key)


def test_concurrent_writers_of_one_account_never_collide(persistent: Opened) -> None:
    stores = [persistent.open() for _ in range(4)]
    errors: list[BaseException] = []

    def write(store: TokenStore, n: int) -> None:
        try:
            for i in range(15):
                store.set("ann", f"{n}-{i}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert stores[0].get("ann") in {f"{n}-14" for n in range(4)}


def test_the_sqlite_token_store_shares_the_mapping_stores_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    mapping = SQLiteStore(path)
    store = SQLiteTokenStore(path)
    store.set("ann", "{}")
    mapping.commit("p", links={}, cursors={"odoo": "c"}, done=(), held=())
    assert (store.accounts(), mapping.pairs()) == (["ann"], ["p"])
    mapping.close()
    store.close()
