"""Fault injection, credentials timing, cooldown and counters."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import odoorpc
import pytest
from odoorpc.error import RPCError

from calsync.testing import OdooCall, OdooEmulator
from calsync.testing._server import Request, Response


def object_call(
    odoo_emulator: OdooEmulator, model: str, method: str, args: list[Any], password: str = "admin"
) -> dict[str, Any]:
    """One ``object.execute_kw`` over /jsonrpc, on a fresh connection."""
    params = {
        "service": "object",
        "method": "execute_kw",
        "args": [odoo_emulator.db, 2, password, model, method, args, {}],
    }
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 7}
    payload: dict[str, Any] = httpx.post(
        f"{odoo_emulator.url}/jsonrpc", json=body, timeout=10
    ).json()
    return payload


def login(odoo_emulator: OdooEmulator, password: str) -> Any:
    params = {"service": "common", "method": "login", "args": [odoo_emulator.db, "admin", password]}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    return httpx.post(f"{odoo_emulator.url}/jsonrpc", json=body, timeout=10).json()["result"]


SEARCH = ("res.partner", "search", [[["id", "=", 3]]])


def test_down_refuses_connections_and_up_comes_back_on_the_same_port(
    odoo_emulator: OdooEmulator,
) -> None:
    port = odoo_emulator.port
    with httpx.Client(base_url=odoo_emulator.url) as keep_alive:
        assert (
            keep_alive.post(
                "/jsonrpc", json={"params": {"service": "common", "method": "version"}}
            ).status_code
            == 200
        )
        odoo_emulator.down()
        with pytest.raises(httpx.TransportError):
            keep_alive.post("/jsonrpc", json={"params": {"service": "common", "method": "version"}})
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"http://127.0.0.1:{port}/jsonrpc", json={})
        odoo_emulator.up()
        assert odoo_emulator.port == port
        assert object_call(odoo_emulator, *SEARCH)["result"] == [3]


def test_fail_answers_matching_calls_with_an_odoo_error(
    odoo_rpc: Any, odoo_emulator: OdooEmulator
) -> None:
    odoo_emulator.fail("AccessError", "Nope", model="calendar.event", method="create")
    values = {"name": "x", "start": "2030-01-01 09:00:00", "stop": "2030-01-01 10:00:00"}
    with pytest.raises(RPCError) as caught:
        odoo_rpc.env["calendar.event"].create(values)
    assert caught.value.info["data"]["name"] == "odoo.exceptions.AccessError"
    assert caught.value.info["data"]["message"] == "Nope"
    assert odoo_rpc.env["calendar.event"].create(values) == 1  # times=1: the next call runs


def test_fail_on_json2_uses_the_error_status(odoo_v19: OdooEmulator) -> None:
    from conftest_odoo import ODOO_API_KEY

    odoo_v19.fail("ValidationError", "bad", protocol="json2")
    response = httpx.post(
        f"{odoo_v19.url}/json/2/res.partner/search",
        json={"domain": []},
        headers={"Authorization": f"bearer {ODOO_API_KEY}"},
    )
    assert response.status_code == 422
    assert response.json()["name"] == "odoo.exceptions.ValidationError"


def test_nth_counts_matching_requests_from_one(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.fail("UserError", "third", model="res.partner", nth=3)
    answers = [object_call(odoo_emulator, *SEARCH) for _ in range(4)]
    assert [("error" in answer) for answer in answers] == [False, False, True, False]
    assert answers[2]["id"] == 7
    assert answers[2]["error"]["data"]["message"] == "third"


def test_fault_at_every_request_index(odoo_emulator: OdooEmulator) -> None:
    """The pattern of a fault matrix: count a scenario's requests, then fail each in turn."""

    def scenario(emulator: OdooEmulator) -> list[bool]:
        return ["error" in object_call(emulator, *SEARCH) for _ in range(3)]

    for index in range(1, 4):
        with OdooEmulator() as fresh:
            fresh.fail("MissingError", "gone", nth=index)
            assert scenario(fresh) == [step == index for step in range(1, 4)]


def test_slow_delays_matching_requests(odoo_emulator: OdooEmulator) -> None:
    # a delay far above what a plain call costs on a loaded machine, so the second call's
    # speed tells only that the fault was spent
    odoo_emulator.slow(1.5, method="search", times=1)
    began = time.perf_counter()
    object_call(odoo_emulator, *SEARCH)
    first = time.perf_counter() - began
    began = time.perf_counter()
    object_call(odoo_emulator, *SEARCH)
    assert first >= 1.5 > time.perf_counter() - began


def test_drop_closes_the_connection_without_an_answer(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.drop(model="res.partner")
    with pytest.raises(httpx.TransportError):
        object_call(odoo_emulator, *SEARCH)
    assert object_call(odoo_emulator, *SEARCH)["result"] == [3]


def test_drop_after_runs_the_call_and_loses_the_answer(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.drop(model="res.partner", method="create", after=True)
    with pytest.raises(httpx.TransportError):
        object_call(odoo_emulator, "res.partner", "create", [{"name": "Made, answer lost"}])
    found = object_call(
        odoo_emulator, "res.partner", "search", [[["name", "=", "Made, answer lost"]]]
    )
    assert len(found["result"]) == 1


def test_wait_idle_waits_for_a_request_the_client_gave_up_on(
    odoo_emulator: OdooEmulator,
) -> None:
    # long enough to look before it lands, even on a loaded machine
    odoo_emulator.slow(2.0, model="res.partner", method="create", times=1)
    args = [odoo_emulator.db, 2, "admin", "res.partner", "create", [{"name": "Late"}], {}]
    params = {"service": "object", "method": "execute_kw", "args": args}
    body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{odoo_emulator.url}/jsonrpc", json=body, timeout=0.1)
    late = ("res.partner", "search", [[["name", "=", "Late"]]])
    assert object_call(odoo_emulator, *late)["result"] == [], "not made yet: still delayed"
    assert odoo_emulator.wait_idle(5)
    assert len(object_call(odoo_emulator, *late)["result"]) == 1, "made once the delay ran out"


def test_respond_sends_a_fixed_http_answer(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.respond(Response(502, b"Bad Gateway"), protocol="jsonrpc")
    response = httpx.post(f"{odoo_emulator.url}/jsonrpc", json={})
    assert (response.status_code, response.content) == (502, b"Bad Gateway")


def test_clear_faults(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.fail("UserError", "x", times=None)
    odoo_emulator.clear_faults()
    assert object_call(odoo_emulator, *SEARCH)["result"] == [3]


def test_password_checks_are_slow_once_per_process_then_cached() -> None:
    """Counted, not timed: a loaded machine may make any call slow, never a check fast."""
    with OdooEmulator(login_delay=0.2) as odoo:
        began = time.perf_counter()
        object_call(odoo, *SEARCH)
        first = time.perf_counter() - began
        assert odoo.password_checks == 1
        object_call(odoo, *SEARCH)
        assert odoo.password_checks == 1  # verified credentials are cached
        odoo.restart()
        object_call(odoo, *SEARCH)
        assert odoo.password_checks == 2  # a restart forgets them
        assert login(odoo, "admin") == 2
        assert login(odoo, "admin") == 2
        assert odoo.password_checks == 4  # every login checks the password
    assert first >= 0.2


def test_wrong_password_on_execute_kw_is_access_denied(odoo_emulator: OdooEmulator) -> None:
    answer = object_call(odoo_emulator, *SEARCH, password="wrong")
    assert answer["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert answer["error"]["data"]["message"] == "Access Denied"


def test_failed_logins_trigger_the_cooldown() -> None:
    now = [datetime(2026, 11, 23, 10)]
    with OdooEmulator(
        login_cooldown_after=2, login_cooldown_duration=60, clock=lambda: now[0]
    ) as odoo:
        assert login(odoo, "wrong") is False
        assert login(odoo, "wrong") is False
        assert login(odoo, "admin") is False  # refused during the cooldown, right password or not
        now[0] += timedelta(seconds=61)
        assert login(odoo, "admin") == 2


def test_calls_are_logged_with_protocol_model_method_and_uid(
    odoo_rpc: Any, odoo_emulator: OdooEmulator
) -> None:
    assert odoo_emulator.calls[:3] == [
        OdooCall("web", None, "version_info", None),
        OdooCall("jsonrpc", None, "login", None),
        OdooCall("jsonrpc", "res.users", "context_get", 2),
    ]
    odoo_emulator.reset_counts()
    odoo_rpc.execute_kw("res.partner", "search", [[]])
    odoo_emulator.execute(
        "admin", "res.partner", "search", []
    )  # direct access: not a request, not a call
    assert odoo_emulator.calls == [OdooCall("jsonrpc", "res.partner", "search", 2)]
    assert odoo_emulator.call_count(model="res.partner") == 1
    assert odoo_emulator.call_count(protocol="web") == 0
    assert [request.path for request in odoo_emulator.requests] == ["/jsonrpc"]


def test_faulted_requests_are_in_the_request_log_but_not_executed(
    odoo_emulator: OdooEmulator,
) -> None:
    odoo_emulator.fail("UserError", "x")
    object_call(odoo_emulator, *SEARCH)
    assert len(odoo_emulator.requests) == 1
    assert odoo_emulator.calls == []


def test_odoorpc_sees_a_restart_as_a_hiccup_only(
    odoo_rpc: Any, odoo_emulator: OdooEmulator
) -> None:
    odoo_emulator.restart()  # odoorpc sends the password on every call: no session to lose
    assert odoo_rpc.env["res.partner"].search([("id", "=", 3)]) == [3]


def test_unsupported_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported Odoo version"):
        OdooEmulator("16.0")


def test_wrong_login_with_odoorpc_is_counted(odoo_emulator: OdooEmulator) -> None:
    client = odoorpc.ODOO("127.0.0.1", port=odoo_emulator.port)
    with pytest.raises(RPCError):
        client.login(odoo_emulator.db, "admin", "nope")
    assert odoo_emulator.call_count(method="login") == 1


def test_a_fault_can_match_on_the_raw_request(odoo_emulator: OdooEmulator) -> None:
    def asks_for_partner_3(request: Request) -> bool:
        return request.json()["params"]["args"][5] == [[["id", "=", 3]]]

    odoo_emulator.fail("UserError", "body", match=asks_for_partner_3)
    assert "error" in object_call(odoo_emulator, *SEARCH)
    assert object_call(odoo_emulator, "res.partner", "search", [[["id", "=", 1]]])["result"] == [1]
