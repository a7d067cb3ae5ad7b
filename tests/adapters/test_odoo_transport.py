"""The Odoo transports' calling convention: Odoo's positionals, JSON-2's names per version.

``call(model, method, *positional, **options)`` sends the positionals as
``execute_kw`` args on ``/jsonrpc`` (as odoorpc and the web client do) and under
the server version's parameter names on JSON-2; a call no Odoo method would
bind is refused before it is sent (odoo.md §5.19).
"""

from __future__ import annotations

import asyncio
import importlib.abc
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calsync import ConcurrencyLimiter, ConfigurationError, ProviderError, TransientError
from calsync.adapters.odoo import SERVER_LIMITER, Json2Transport, JsonRpcTransport, ServerClock
from calsync.adapters.odoo._signatures import jsonrpc_arguments, named
from calsync.testing import OdooEmulator
from calsync.testing._odoo._emulator import POOL_FULL
from tests.adapters.odoo_support import API_KEY, PASSWORD, emulator


def test_json2_names_the_positionals_as_the_servers_version_does() -> None:
    values = {"name": "x"}
    assert named("calendar.event", "write", ([7], values), {}, 19) == {"ids": [7], "vals": values}
    # 17.0 and 18.0 name calendar.event.write's parameter ``values`` (Meeting.write)
    assert named("calendar.event", "write", ([7], values), {}, 18)["values"] == values
    assert named("res.partner", "write", ([7], values), {}, 18)["vals"] == values
    assert named("res.partner", "create", ([values],), {}, 19) == {"vals_list": [values]}
    body = named("calendar.event", "search_read", ([("id", "=", 1)],), {"limit": 1}, 19)
    assert body == {"domain": [("id", "=", 1)], "limit": 1}
    body = named("calendar.event", "action_mass_deletion", ([3], "all_events"), {}, 19)
    assert body == {"ids": [3], "recurrence_update_setting": "all_events"}


def test_jsonrpc_keeps_the_positionals_positional() -> None:
    args, kwargs = jsonrpc_arguments(
        "calendar.event", "write", ([7], {"name": "x"}), {"context": {"tz": "UTC"}}, 18
    )
    assert args == [[7], {"name": "x"}]
    assert kwargs == {"context": {"tz": "UTC"}}
    # a method calsync has no signature for still goes out, positionally
    assert jsonrpc_arguments("res.partner", "name_create", ("Ann",), {}, 18) == (["Ann"], {})


@pytest.mark.parametrize(
    ("method", "args", "options", "words"),
    [
        ("create", (), {"vals_list": [{}]}, "by position"),  # IndexError on real 18.0
        ("write", ([7],), {"vals": {}}, "by position"),  # TypeError on calendar.event
        ("write", ([7],), {}, "missing"),
        ("write", ([7], {}, {}), {}, "after the ids"),
        ("write", (), {}, "ids come first"),
        ("load", (["name"],), {"data": []}, "by position"),
        ("search_read", ([],), {"domain": []}, "by position"),
        ("no_such_method", (), {}, "does not know"),
    ],
)
def test_calls_no_odoo_method_would_bind_are_refused_before_sending(
    method: str, args: tuple[Any, ...], options: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words):
        named("calendar.event", method, args, options, 19)
    if method != "no_such_method":
        with pytest.raises(ConfigurationError, match=words):
            jsonrpc_arguments("calendar.event", method, args, options, 18)


@pytest.fixture(params=["18.0", "19.0"], ids=["jsonrpc", "json2"])
def server(request: pytest.FixtureRequest) -> Iterator[OdooEmulator]:
    odoo = emulator(request.param)
    yield odoo
    odoo.stop()


def test_both_transports_write_and_create_with_positionals(server: OdooEmulator) -> None:
    async def scenario() -> None:
        transport: JsonRpcTransport | Json2Transport
        if server.version == "18.0":
            transport = JsonRpcTransport(server.url, server.db, "bob", PASSWORD)
        else:
            transport = Json2Transport(server.url, server.db, API_KEY)
        await transport.connect()
        quiet = {"no_mail_to_attendees": True}
        new = await transport.call(
            "calendar.event",
            "create",
            [{"name": "A", "start": "2027-01-04 09:00:00", "stop": "2027-01-04 10:00:00"}],
            context=quiet,
        )
        assert len(new) == 1
        await transport.call("calendar.event", "write", new, {"location": "Room 1"}, context=quiet)
        rows = await transport.call("calendar.event", "read", new, ["location"])
        assert rows[0]["location"] == "Room 1"
        with pytest.raises(ConfigurationError):
            await transport.call("calendar.event", "write", new, vals={"location": "x"})
        await transport.aclose()

    asyncio.run(scenario())


class ImportAttempts(importlib.abc.MetaPathFinder):
    """Records the modules Python looks for (and lets the other finders find them)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        self.names.append(fullname)


def test_a_call_looks_for_no_module(server: OdooEmulator) -> None:
    """Nothing is imported per request: a module that is not installed would be looked
    for along sys.path on every call (httpcore looks for sniffio whenever it sends)."""

    async def scenario() -> list[str]:
        transport: JsonRpcTransport | Json2Transport
        if server.version == "18.0":
            transport = JsonRpcTransport(server.url, server.db, "bob", PASSWORD)
        else:
            transport = Json2Transport(server.url, server.db, API_KEY)
        await transport.call("res.users", "read", [2], ["name"])  # imports done once
        attempts = ImportAttempts()
        sys.meta_path.insert(0, attempts)
        try:
            for _ in range(5):
                await transport.call("res.users", "read", [2], ["name"])
        finally:
            sys.meta_path.remove(attempts)
            await transport.aclose()
        return attempts.names

    assert asyncio.run(scenario()) == []


@pytest.mark.parametrize("version", ["18.0", "19.0"], ids=["jsonrpc", "json2"])
def test_both_transports_tell_the_servers_time_from_its_answers(version: str) -> None:
    # a server clock far from this machine's: the transport goes by the server's Date
    server_now = datetime(2031, 5, 6, 7, 8, 9)
    odoo = emulator(version, clock=lambda: server_now)

    async def scenario() -> None:
        transport: JsonRpcTransport | Json2Transport
        if version == "18.0":
            transport = JsonRpcTransport(odoo.url, odoo.db, "bob", PASSWORD)
        else:
            transport = Json2Transport(odoo.url, odoo.db, API_KEY)
        assert isinstance(transport, ServerClock)
        assert transport.server_time(time.monotonic()) is None  # nothing answered yet
        await transport.connect()
        later = time.monotonic() + 60
        reached = transport.server_time(later)
        assert reached is not None
        expected = server_now.replace(tzinfo=timezone.utc) + timedelta(seconds=60)
        # the Date (the clock stands still), carried forward by the time since it came
        assert expected <= reached <= expected + timedelta(seconds=5)
        await transport.aclose()

    try:
        asyncio.run(scenario())
    finally:
        odoo.stop()


def _transport(
    odoo: OdooEmulator, limiter: ConcurrencyLimiter | None = None
) -> JsonRpcTransport | Json2Transport:
    if odoo.version == "18.0":
        return JsonRpcTransport(odoo.url, odoo.db, "bob", PASSWORD, limiter=limiter)
    return Json2Transport(odoo.url, odoo.db, API_KEY, limiter=limiter)


async def _calls(
    transport: JsonRpcTransport | Json2Transport, count: int, *, write: bool = False
) -> list[object]:
    """``count`` calls at once: reads (``context_get``), or writes (``res.partner.create``:
    not tried again when refused)."""
    await transport.connect()
    calls = (
        transport.call("res.partner", "create", [{"name": f"P{n}"}])
        if write
        else transport.call("res.users", "context_get")
        for n in range(count)
    )
    try:
        return list(await asyncio.gather(*calls, return_exceptions=True))
    finally:
        await transport.aclose()


@pytest.mark.parametrize("version", ["18.0", "19.0"], ids=["jsonrpc", "json2"])
def test_a_full_connection_pool_fails_calls_beyond_it_and_a_limiter_keeps_below(
    version: str,
) -> None:
    """Odoo's threaded server answers HTTP 500 to requests beyond its connection pool
    (recorded on real 18.0); a limiter at the pool's size keeps every call whole."""
    odoo = emulator(version, db_maxconn=3)
    odoo.slow(0.05)
    try:
        wide = _transport(odoo, ConcurrencyLimiter(per_key=12))
        unbounded = asyncio.run(_calls(wide, 12, write=True))
        refused = [error for error in unbounded if isinstance(error, TransientError)]
        assert refused, "12 calls at once on a pool of 3: some answered 500"
        assert all(error.status == 500 for error in refused)
        assert odoo.peak_in_flight == 3
        narrow = _transport(odoo, ConcurrencyLimiter(per_key=3))
        bounded = asyncio.run(_calls(narrow, 12, write=True))
        assert all(isinstance(answer, list) for answer in bounded)
    finally:
        odoo.stop()


def test_every_transport_of_the_process_shares_the_default_ceiling_per_server() -> None:
    """Two users' transports (JSON-RPC and JSON-2) to one server, 10 calls each at once:
    at most SERVER_LIMITER.per_key (8) reach it together."""
    assert SERVER_LIMITER.per_key == 8
    odoo = emulator("19.0", db_maxconn=8)
    odoo.slow(0.05)

    async def both() -> list[object]:
        jsonrpc = JsonRpcTransport(odoo.url, odoo.db, "bob", PASSWORD, version="19.0")
        json2 = Json2Transport(odoo.url, odoo.db, API_KEY)
        assert jsonrpc.limiter is json2.limiter is SERVER_LIMITER
        first, second = await asyncio.gather(_calls(jsonrpc, 10), _calls(json2, 10))
        return first + second

    try:
        answers = asyncio.run(both())
        assert all(isinstance(answer, dict) for answer in answers)
        assert odoo.peak_in_flight == 8
    finally:
        odoo.stop()


@pytest.mark.parametrize("version", ["18.0", "19.0"], ids=["jsonrpc", "json2"])
def test_a_read_that_finds_the_pool_full_is_tried_again_and_a_write_is_not(
    version: str,
) -> None:
    """Odoo's page for a full connection pool (HTTP 500, no JSON: the call never ran)
    costs a read one more try; a write fails at once (the sync journals it)."""
    odoo = emulator(version)

    async def scenario() -> None:
        transport = _transport(odoo)
        await transport.connect()
        odoo.respond(POOL_FULL, model="res.users", method="context_get")
        before = len(odoo.requests)
        assert isinstance(await transport.call("res.users", "context_get"), dict)
        assert len(odoo.requests) - before == 2
        odoo.respond(POOL_FULL, model="res.partner", method="create")
        before = len(odoo.requests)
        with pytest.raises(TransientError) as refused:
            await transport.call("res.partner", "create", [{"name": "Ann"}])
        assert refused.value.status == 500
        assert len(odoo.requests) - before == 1
        assert odoo.call_count(model="res.partner", method="create") == 0
        await transport.aclose()

    try:
        asyncio.run(scenario())
    finally:
        odoo.stop()


@pytest.mark.parametrize("version", ["18.0", "19.0"], ids=["jsonrpc", "json2"])
def test_a_read_tries_three_times_and_an_error_of_odoo_itself_once(version: str) -> None:
    """JSON-2 answers Odoo's own errors with a 5xx too, but in JSON: not retried."""
    odoo = emulator(version)

    async def scenario() -> None:
        transport = _transport(odoo)
        await transport.connect()
        odoo.respond(POOL_FULL, model="res.users", method="context_get", times=None)
        before = len(odoo.requests)
        with pytest.raises(TransientError):
            await transport.call("res.users", "context_get")
        assert len(odoo.requests) - before == 3  # READ_RETRY's attempts
        odoo.clear_faults()
        odoo.fail("psycopg2.OperationalError", model="res.users", method="context_get")
        before = len(odoo.requests)
        with pytest.raises(ProviderError):
            await transport.call("res.users", "context_get")
        assert len(odoo.requests) - before == 1  # Odoo's own answer: the call ran
        await transport.aclose()

    try:
        asyncio.run(scenario())
    finally:
        odoo.stop()


@pytest.mark.parametrize(
    ("db", "api_key", "named"),
    [("calsync", "k\x80ey", "the API key"), ("café", "key", "db"), ("calsync", "k\ney", "API key")],
)
def test_json2_refuses_what_an_http_header_cannot_carry(db: str, api_key: str, named: str) -> None:
    """JSON-2 sends the database and the key as HTTP headers: anything but printable ASCII
    is a ConfigurationError naming the argument (never the key), not httpx's
    UnicodeEncodeError (found by the public-errors fuzz test: a key of "\\x80")."""
    with pytest.raises(ConfigurationError, match=named) as caught:
        Json2Transport("http://127.0.0.1:8069", db, api_key)
    assert api_key not in str(caught.value)
