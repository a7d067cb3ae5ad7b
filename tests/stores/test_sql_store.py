"""SQLStore beyond the shared contract: PostgreSQL advisory locks across processes, schema
versions, engines given by the caller, secrets in reprs and errors."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from calsync import ConfigurationError, PairLockedError, SchemaVersionError, StoreError
from calsync.stores import SQLStore, SQLSubscriptionStore, SQLTokenStore
from calsync.stores._schema import MIGRATIONS, SCHEMA_VERSION
from calsync.stores._sql import pair_lock_key

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def _execute(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


# -- pair locks across processes (PostgreSQL advisory locks) -------------------------------------


def _hold_pair(url: str, pair: str, ready: Event, release: Event) -> None:
    store = SQLStore(url)
    with store.lock(pair):
        ready.set()
        release.wait(30)
    store.close()


@pytest.fixture
def holder(postgres_url: str) -> Iterator[tuple[multiprocessing.Process, Event]]:
    """Another process holding pair "A" of the same database until ``release`` is set."""
    SQLStore(postgres_url).close()  # the schema exists before the child starts
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    process = context.Process(target=_hold_pair, args=(postgres_url, "A", ready, release))
    process.start()
    try:
        assert ready.wait(30), "the holder process did not take its lock"
        yield process, release
    finally:
        release.set()
        process.join(10)
        if process.is_alive():
            process.kill()


def test_a_pair_held_by_another_process_is_refused_and_another_pair_is_not(
    postgres_url: str, holder: tuple[multiprocessing.Process, Event]
) -> None:
    process, release = holder
    store = SQLStore(postgres_url)
    try:
        started = time.monotonic()
        with pytest.raises(PairLockedError, match="another run") as refused, store.lock("A"):
            pass
        assert refused.value.pair == "A"
        with store.lock("B"):  # a different pair: no waiting at all
            elapsed = time.monotonic() - started
        assert elapsed < 1.0
        with pytest.raises(PairLockedError), store.lock("A", timeout=0.2):
            pass
        release.set()
        with store.lock("A", timeout=20):  # free once the other process lets go
            pass
    finally:
        store.close()
    process.join(10)
    assert process.exitcode == 0


def test_a_killed_holder_frees_its_pair(postgres_url: str) -> None:
    SQLStore(postgres_url).close()
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    process = context.Process(target=_hold_pair, args=(postgres_url, "A", ready, release))
    process.start()
    try:
        assert ready.wait(30)
        store = SQLStore(postgres_url)
        with pytest.raises(PairLockedError), store.lock("A"):
            pass
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        with store.lock("A", timeout=20):  # PostgreSQL ended the dead session's locks
            pass
        store.close()
    finally:
        process.join(10)


def test_threads_and_stores_of_one_process_exclude_each_other(postgres_url: str) -> None:
    first, second = SQLStore(postgres_url), SQLStore(postgres_url)
    try:
        with first.lock("A"):
            # the same store: PostgreSQL would let its own session in again; calsync does not
            with pytest.raises(PairLockedError), first.lock("A"):
                pass
            with pytest.raises(PairLockedError), second.lock("A"):
                pass
            outcome: list[str] = []

            def other_thread() -> None:
                try:
                    with first.lock("A"):
                        outcome.append("entered")
                except PairLockedError:
                    outcome.append("refused")
                with first.lock("B"):
                    outcome.append("B")

            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join(10)
            assert outcome == ["refused", "B"]
        with second.lock("A"):
            pass
    finally:
        first.close()
        second.close()


def test_closing_the_store_releases_its_locks(postgres_url: str) -> None:
    first, second = SQLStore(postgres_url), SQLStore(postgres_url)
    lock = first.lock("A")
    lock.__enter__()
    first.close()
    with second.lock("A", timeout=5):
        pass
    second.close()


def test_lock_keys_are_stable_64_bit_and_per_schema() -> None:
    key = pair_lock_key("public", "pair\x00A")
    assert key == pair_lock_key("public", "pair\x00A")
    assert -(2**63) <= key < 2**63
    assert key != pair_lock_key("other", "pair\x00A")
    assert key != pair_lock_key("public", "pair\x00B")


def test_stores_opening_a_new_database_at_once_migrate_it_once(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            SQLStore(postgres_url).close()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert _execute(postgres_url, "SELECT value FROM calsync_meta") == [(str(SCHEMA_VERSION),)]


# -- schema versions -------------------------------------------------------------------------------


def test_a_newer_schema_is_refused(sql_url: str) -> None:
    SQLStore(sql_url).close()
    _execute(sql_url, "UPDATE calsync_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="upgrade calsync"):
        SQLStore(sql_url)
    with pytest.raises(SchemaVersionError, match="upgrade calsync"):
        SQLTokenStore(sql_url)


def test_a_version_1_database_is_migrated_to_the_current_schema(sql_url: str) -> None:
    engine = create_engine(sql_url)
    with engine.begin() as connection:
        for statement in MIGRATIONS[0]:
            connection.execute(text(statement))
        connection.execute(
            text("INSERT INTO calsync_meta (name, value) VALUES ('schema_version', '1')")
        )
        connection.execute(
            text("INSERT INTO calsync_cursors (pair, side, cursor) VALUES ('p', 'odoo', 'c1')")
        )
    engine.dispose()
    store = SQLStore(sql_url)
    assert store.load("p").cursors == {"odoo": "c1"}
    store.close()
    assert _execute(sql_url, "SELECT value FROM calsync_meta") == [(str(SCHEMA_VERSION),)]
    tokens = SQLTokenStore(sql_url)
    tokens.set("ann", "{}")
    assert tokens.get("ann") == "{}"
    tokens.close()
    subscriptions = SQLSubscriptionStore(sql_url)
    assert subscriptions.for_pair("p") == []
    subscriptions.close()


# -- engines, URLs, secrets -----------------------------------------------------------------------


def test_a_callers_engine_is_used_and_left_as_it_was(sql_url: str) -> None:
    engine = create_engine(sql_url)
    store = SQLStore(engine)
    with store.lock("p"):
        store.record_intents("p", [])
    assert store.pairs() == []
    store.close()
    assert engine.hide_parameters is False
    with engine.connect() as connection:  # still usable: calsync did not dispose of it
        assert connection.execute(text("SELECT COUNT(*) FROM calsync_links")).scalar() == 0
    engine.dispose()


def test_the_password_stays_out_of_reprs_and_errors(postgres_url: str) -> None:
    url = make_url(postgres_url).set(password="s3cret-pw", port=1)  # nothing listens there
    with pytest.raises(StoreError) as failed:
        SQLStore(url.render_as_string(hide_password=False))
    assert "s3cret-pw" not in str(failed.value)
    assert "***" in str(failed.value)
    assert failed.value.__cause__ is None
    store = SQLStore(postgres_url)
    masked = make_url(postgres_url).render_as_string(hide_password=True)
    assert repr(store) == f"SQLStore({masked!r})"
    store.close()


def test_a_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SQLAlchemy URL"):
        SQLStore("not a url")


def test_import_calsync_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, calsync, calsync.stores, calsync.auth; "
        "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'cryptography', 'msal') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
