"""XML-RPC (``/xmlrpc/2/common``, ``/object``, ``/db``) with Python's own ``xmlrpc.client``.

Every expectation is what the real Odoo 18.0 server answered (2026-12-05) to the same
calls: results, and faults with integer codes (4 AccessError, 3 AccessDenied, 2 other
UserErrors, 1 anything else, with the traceback).
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from calsync.testing import OdooEmulator

QUIET = {"no_mail_to_attendees": True}


@pytest.fixture
def odoo() -> Iterator[OdooEmulator]:
    with OdooEmulator(login_delay=0.0) as emulator:
        emulator.add_user("bob", "bob", email="bob@example.com")
        yield emulator


@pytest.fixture
def proxy(odoo: OdooEmulator) -> Iterator[Callable[[str], Any]]:
    """``xmlrpc.client.ServerProxy`` s on the emulator, closed after the test."""
    opened: list[xmlrpc.client.ServerProxy] = []

    def make(service: str) -> Any:
        opened.append(xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/{service}"))
        return opened[-1]

    yield make
    for server in opened:
        server("close")()


def fault_of(call: Any) -> tuple[int, str]:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call()
    return caught.value.faultCode, caught.value.faultString


def test_common_logs_in_and_object_runs_model_methods(
    odoo: OdooEmulator, proxy: Callable[[str], Any]
) -> None:
    common = proxy("2/common")
    assert common.version()["server_version"] == "18.0"
    uid = common.login(odoo.db, "bob", "bob")
    assert uid == common.authenticate(odoo.db, "bob", "bob", {}) == 6
    assert common.login(odoo.db, "bob", "wrong") is False
    models = proxy("2/object")
    event = models.execute_kw(
        odoo.db,
        uid,
        "bob",
        "calendar.event",
        "create",
        [{"name": "Over XML", "start": "2027-07-01 09:00:00", "stop": "2027-07-01 10:00:00"}],
        {"context": QUIET},
    )
    rows = models.execute_kw(odoo.db, uid, "bob", "calendar.event", "read", [[event], ["name"]])
    assert rows == [{"id": event, "name": "Over XML"}]
    assert models.execute(
        odoo.db, uid, "bob", "calendar.event", "search", [["id", "=", event]]
    ) == [event]
    assert odoo.call_count("calendar.event", "create", protocol="xmlrpc", uid=uid) == 1


def test_faults_carry_odoos_integer_codes(odoo: OdooEmulator, proxy: Callable[[str], Any]) -> None:
    odoo.execute("admin", "res.users", "write", [6], {"groups_id": [(3, 9)]})
    models = proxy("2/object")

    def call(*args: Any, **kwargs: Any) -> Any:
        return lambda: models.execute_kw(odoo.db, 6, "bob", *args, **kwargs)

    code, text = fault_of(call("res.partner", "create", [], {"vals_list": {"name": "x"}}))
    assert code == 4
    assert text.startswith("You are not allowed to create 'Contact' (res.partner) records.")
    code, text = fault_of(call("calendar.event", "write", [[1]], {"vals": {}}))
    assert code == 1
    assert text.startswith("Traceback (most recent call last):")
    assert text.endswith("TypeError: Meeting.write() got an unexpected keyword argument 'vals'\n")
    assert fault_of(call("calendar.event", "write", [[99999999], {"name": "x"}])) == (
        2,
        "Record does not exist or has been deleted.\n(Record: calendar.event(99999999,), User: 6)",
    )
    assert (
        models.execute_kw(odoo.db, 6, "bob", "calendar.event", "read", [[99999999], ["name"]]) == []
    )
    code, text = fault_of(call("calendar.event", "search", [[["no_such", "=", 1]]]))
    assert code == 1
    assert text.endswith(
        "ValueError: Invalid field calendar.event.no_such in leaf ('no_such', '=', 1)\n"
    )
    wrong = lambda: models.execute_kw(odoo.db, 6, "wrong", "res.partner", "search", [[]])  # noqa: E731
    assert fault_of(wrong) == (3, "Access Denied")


def test_a_method_returning_nothing_cannot_be_marshalled(
    odoo: OdooEmulator, proxy: Callable[[str], Any]
) -> None:
    """``allow_none=False``: real 18.0 answers such a call with a fault (its work is done)."""
    values = {"name": "S", "start": "2027-07-05 08:00:00", "stop": "2027-07-05 08:15:00"}
    values |= {"recurrency": True, "rrule_type": "weekly", "interval": 1, "end_type": "count"}
    values |= {"count": 2, "mon": True}
    base = odoo.execute("bob", "calendar.event", "create", values, context=QUIET)
    models = proxy("2/object")
    code, text = fault_of(
        lambda: models.execute_kw(
            odoo.db, 6, "bob", "calendar.event", "action_mass_deletion", [[base], "all_events"]
        )
    )
    assert code == 1
    assert "cannot marshal None unless allow_none is enabled" in text
    assert odoo.execute("bob", "calendar.event", "search", [["name", "=", "S"]]) == []


def test_db_service_and_transport_details(odoo: OdooEmulator, proxy: Callable[[str], Any]) -> None:
    db = proxy("2/db")
    assert db.list() == [odoo.db]
    assert db.server_version() == "18.0"
    with httpx.Client(base_url=odoo.url) as http:
        assert http.get("/xmlrpc/2/object").status_code == 405
        body = xmlrpc.client.dumps((), "anything")
        answer = http.post("/xmlrpc/2/nope", content=body)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert answer.text.startswith('<?xml version="1.0"?>\n<methodResponse>\n<fault>')
    assert "KeyError: 'nope'" in answer.text


def test_the_historical_endpoint_faults_with_strings(
    odoo: OdooEmulator, proxy: Callable[[str], Any]
) -> None:
    models = proxy("object")
    with pytest.raises(xmlrpc.client.Fault) as caught:
        models.execute_kw(odoo.db, 6, "bob", "calendar.event", "write", [[99999999], {"name": "x"}])
    assert caught.value.faultCode == (  # type: ignore[comparison-overlap]
        "warning -- MissingError\n\nRecord does not exist or has been deleted.\n"
        "(Record: calendar.event(99999999,), User: 6)"
    )
