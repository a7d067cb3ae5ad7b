"""Suite-wide settings: Hypothesis profiles, the PostgreSQL and Redis server fixtures.

``HYPOTHESIS_PROFILE=ci`` (what ``nox -s tests`` and ``.ci/run`` use) runs
the state machines with at least 300 examples; the default profile is quicker
for local runs. ``postgres_url`` gives a test its own schema on a real
PostgreSQL server (``tests/pgserver.py`` says where the server comes from);
``redis_url`` a flushed database of a Redis server started for the session
(``tests/redisserver.py``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests import pgserver, redisserver
from tests.conformance.summary import write_summary as write_conformance_summary
from tests.e2e.summary import write_summary

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    "stateful_step_count": 25,
}
settings.register_profile("default", max_examples=50, **_COMMON)
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("thorough", max_examples=3000, **{**_COMMON, "stateful_step_count": 40})
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The SQLAlchemy URL of a PostgreSQL server for this test session (see ``tests/pgserver``).

    ``CALSYNC_TEST_POSTGRES_URL`` when set, else a throwaway cluster started
    here (one per xdist worker); skipped, with the reason, without binaries.
    """
    given = os.environ.get(pgserver.ENV_URL)
    if given:
        yield given
        return
    bindir = pgserver.find_bindir()
    if bindir is None:
        pytest.skip(pgserver.missing_reason())
    server = pgserver.PostgresServer(bindir).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh schema, dropped after the test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"calsync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


# -- Redis -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a real redis-server on loopback for this session (one per xdist worker)."""
    binary = redisserver.find_binary()
    if binary is None:
        pytest.skip(redisserver.missing_reason())
    server = redisserver.RedisServer(binary).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis server, emptied for this test."""
    from redis import Redis

    with Redis.from_url(redis_server) as connection:
        connection.flushall()
    return redis_server


def pytest_terminal_summary(terminalreporter: object) -> None:
    """The crash and fault matrices' counts and the conformance figures, when they ran."""
    write_summary(terminalreporter)
    write_conformance_summary(terminalreporter)
