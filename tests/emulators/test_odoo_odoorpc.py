"""The real odoorpc 0.10.1 client against the emulator (it must speak HTTP to it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import odoorpc
import pytest
from odoorpc.error import RPCError

from calsync.testing import OdooEmulator


def test_login_reads_the_user_context(odoo_rpc: Any) -> None:
    assert odoo_rpc.version == "18.0"
    assert odoo_rpc.env.uid == 2
    assert odoo_rpc.env.context == {"lang": "en_US", "tz": False, "uid": 2}
    assert odoo_rpc.env.user.name == "Administrator"


def test_model_proxies_create_search_read_write_unlink(
    odoo_rpc: Any, odoo_emulator: OdooEmulator
) -> None:
    events = odoo_rpc.env["calendar.event"]
    created = events.create(
        {"name": "Planning", "start": "2027-01-04 09:00:00", "stop": "2027-01-04 10:00:00"}
    )
    rows = events.search_read([("name", "=", "Planning")], ["name", "start", "partner_ids"])
    assert rows == [
        {"id": created, "name": "Planning", "start": "2027-01-04 09:00:00", "partner_ids": [3]}
    ]
    events.write([created], {"location": "Room 2"})
    record = events.browse(created)
    assert record.location == "Room 2"
    assert record.start == datetime(2027, 1, 4, 9, 0)  # odoorpc's own conversion, naive UTC [34]
    events.unlink([created])
    assert events.search([("id", "=", created)]) == []
    assert odoo_emulator.call_count("calendar.event", "unlink", protocol="jsonrpc", uid=2) == 1


def test_multi_create_returns_a_list(odoo_rpc: Any) -> None:
    values = [
        {
            "name": f"mc {index}",
            "start": f"2027-01-0{index + 1} 10:00:00",
            "stop": f"2027-01-0{index + 1} 11:00:00",
        }
        for index in range(3)
    ]
    ids = odoo_rpc.execute_kw(
        "calendar.event", "create", [values], {"context": {"no_mail_to_attendees": True}}
    )
    assert ids == [1, 2, 3]


def test_errors_raise_rpc_error_with_the_recorded_shape(odoo_rpc: Any) -> None:
    with pytest.raises(RPCError) as caught:
        odoo_rpc.execute_kw("calendar.event", "write", [[999999], {"name": "x"}])
    info = caught.value.info
    assert info["code"] == 200
    assert info["data"]["name"] == "odoo.exceptions.MissingError"
    assert caught.value.args[0] == (
        "Record does not exist or has been deleted.\n(Record: calendar.event(999999,), User: 2)"
    )


def test_wrong_password_is_refused(odoo_emulator: OdooEmulator) -> None:
    client = odoorpc.ODOO("127.0.0.1", port=odoo_emulator.port)
    with pytest.raises(RPCError, match="Wrong login ID or password"):
        client.login(odoo_emulator.db, "admin", "wrong")


@pytest.mark.parametrize("version", ["17.0", "19.0"])
def test_odoorpc_detects_other_versions(version: str) -> None:
    with OdooEmulator(version) as odoo:
        client = odoorpc.ODOO("127.0.0.1", port=odoo.port)
        assert client.version == version
        client.login(odoo.db, "admin", "admin")
        assert client.env["res.partner"].search([("id", "=", 3)]) == [3]


def test_an_added_user_logs_in(odoo_emulator: OdooEmulator) -> None:
    uid = odoo_emulator.add_user("bob", "bob", name="Bob", email="bob@example.com")
    assert uid == 6
    client = odoorpc.ODOO("127.0.0.1", port=odoo_emulator.port)
    client.login(odoo_emulator.db, "bob", "bob")
    assert client.env.uid == 6
    assert client.env.user.partner_id.id == 7
