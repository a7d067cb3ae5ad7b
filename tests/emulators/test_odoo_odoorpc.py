"""The real odoorpc 0.10.1 client against the emulator (it must speak HTTP to it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import odoorpc
import pytest
from odoorpc.error import RPCError

from calsync.testing import OdooEmulator, OdooError


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


# -- what integrators' code calls besides CRUD (checked on real 18.0, 2026-12-05) --------------


def test_an_empty_many2one_reads_its_defaults(odoo_rpc: Any, odoo_emulator: OdooEmulator) -> None:
    """odoorpc fills an empty relational value with ``default_get`` of every field."""
    events = odoo_rpc.env["calendar.event"]
    record = events.browse(
        events.create({"name": "R", "start": "2027-01-04 09:00:00", "stop": "2027-01-04 10:00:00"})
    )
    assert not record.recurrence_id
    assert not record.categ_ids
    assert odoo_emulator.call_count("calendar.recurrence", "default_get") == 1
    assert odoo_emulator.call_count("calendar.event.type", "default_get") == 1


def test_default_get_answers_what_real_odoo_answered(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.add_user("bob", "bob", email="bob@example.com")
    fields = list(odoo_emulator.execute("admin", "calendar.event", "fields_get"))
    defaults = odoo_emulator.execute("bob", "calendar.event", "default_get", fields)
    assert set(defaults) == {
        "user_id",
        "show_as",
        "active",
        "start",
        "stop",
        "allday",
        "partner_ids",
        "follow_recurrence",
        "recurrence_update",
    }
    assert (defaults["user_id"], defaults["partner_ids"]) == (6, [[6, 0, [7]]])
    named = odoo_emulator.execute(
        "bob", "calendar.event", "default_get", ["name", "privacy"], context={"default_name": "X"}
    )
    assert named == {"name": "X"}
    recurrence = odoo_emulator.execute("bob", "calendar.recurrence", "default_get", ["rrule_type"])
    assert recurrence == {"rrule_type": "weekly"}


def test_copy_makes_one_event_with_fresh_attendees(odoo_emulator: OdooEmulator) -> None:
    quiet = {"no_mail_to_attendees": True}
    values = {"name": "Copy me", "location": "R1", "alarm_ids": [[6, 0, [1]]]}
    values |= {"start": "2027-07-01 09:00:00", "stop": "2027-07-01 10:00:00"}
    original = odoo_emulator.execute("admin", "calendar.event", "create", values, context=quiet)
    copied = odoo_emulator.execute("admin", "calendar.event", "copy", [original], context=quiet)
    assert isinstance(copied, list)
    fields = ["name", "location", "start", "partner_ids", "attendee_ids", "alarm_ids"]
    old, new = odoo_emulator.execute("admin", "calendar.event", "read", [original, *copied], fields)
    assert {k: v for k, v in new.items() if k not in ("id", "attendee_ids")} == {
        k: v for k, v in old.items() if k not in ("id", "attendee_ids")
    }
    assert set(new["attendee_ids"]).isdisjoint(old["attendee_ids"])
    renamed = odoo_emulator.execute(
        "admin", "calendar.event", "copy", [original], {"name": "Renamed"}, context=quiet
    )
    assert odoo_emulator.execute("admin", "calendar.event", "read", renamed, ["name"])[0][
        "name"
    ] == ("Renamed")
    with pytest.raises(OdooError, match=r"Expected singleton: calendar\.event"):
        odoo_emulator.execute("admin", "calendar.event", "copy", [original, *copied])
    partner = odoo_emulator.execute("admin", "res.partner", "create", {"name": "Pat"})
    (twin,) = odoo_emulator.execute("admin", "res.partner", "copy", [partner])
    assert odoo_emulator.execute("admin", "res.partner", "read", [twin], ["name"])[0]["name"] == (
        "Pat (copy)"
    )


def test_read_group_counts_and_sums_per_group(odoo_emulator: OdooEmulator) -> None:
    for day in ("01", "02"):
        odoo_emulator.execute(
            "admin",
            "calendar.event",
            "create",
            {"name": "G", "start": f"2027-07-{day} 09:00:00", "stop": f"2027-07-{day} 10:00:00"},
            context={"no_mail_to_attendees": True},
        )
    domain = [["name", "=", "G"]]
    by_user = odoo_emulator.execute(
        "admin", "calendar.event", "read_group", domain, ["duration"], ["user_id"]
    )
    assert by_user == [
        {
            "user_id": [2, "Administrator"],
            "user_id_count": 2,
            "duration": 2.0,
            "__domain": ["&", ["name", "=", "G"], ["user_id", "=", 2]],
        }
    ]
    flat = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "read_group",
        domain,
        ["duration:sum"],
        ["user_id", "allday"],
        lazy=False,
    )
    assert flat[0]["__count"] == 2
    assert flat[0]["__domain"] == ["&", "&", *domain, ["user_id", "=", 2], ["allday", "=", False]]
    (month,) = odoo_emulator.execute(
        "admin", "calendar.event", "read_group", domain, [], ["start:month"]
    )
    assert (month["start:month"], month["start_count"]) == ("July 2027", 2)
    assert month["__range"] == {
        "start:month": {"from": "2027-07-01 00:00:00", "to": "2027-08-01 00:00:00"}
    }


@pytest.mark.parametrize("version", ["18.0", "19.0"])
def test_grouping_by_attendees_puts_an_event_in_each_of_its_partners_groups(
    version: str,
) -> None:
    """As real 17.0-19.0 answer: ``partner_ids`` groups as ``[id, name]``, an event in the
    group of each partner; a grouping by it (a field Odoo masks) leaves out an event
    private to someone else, which a grouping by ``user_id`` keeps."""
    with OdooEmulator(version) as odoo:
        bob_uid = odoo.add_user("bob", "bob-pw", name="Bob", email="bob@example.com")
        quiet = {"no_mail_to_attendees": True}
        (admin,) = odoo.execute("admin", "res.users", "read", [2], ["partner_id"])
        (bob,) = odoo.execute("admin", "res.partner", "search", [["email", "=", "bob@example.com"]])
        both = [[6, 0, [admin["partner_id"][0], bob]]]
        times = {"start": "2027-07-01 09:00:00", "stop": "2027-07-01 10:00:00"}
        shared = odoo.execute(
            "admin", "calendar.event", "create", {"name": "G", **times, "partner_ids": both},
            context=quiet,
        )  # fmt: skip
        private = odoo.execute(
            "bob", "calendar.event", "create",
            {"name": "P", "privacy": "private", **times, "partner_ids": both}, context=quiet,
        )  # fmt: skip
        domain = [["name", "in", ["G", "P"]]]

        def grouped(key: str) -> dict[Any, list[int]]:
            if version >= "19":
                groups = odoo.execute(
                    "admin", "calendar.event", "formatted_read_group", domain, [key],
                    ["id:array_agg"],
                )  # fmt: skip
                return {tuple(g[key]): g["id:array_agg"] for g in groups}
            groups = odoo.execute(
                "admin", "calendar.event", "read_group", domain, ["id:array_agg"], [key],
                lazy=False,
            )  # fmt: skip
            return {tuple(g[key]): g["id"] for g in groups}

        assert grouped("partner_ids") == {
            (admin["partner_id"][0], "Administrator"): [shared],
            (bob, "Bob"): [shared],
        }
        assert grouped("user_id") == {(2, "Administrator"): [shared], (bob_uid, "Bob"): [private]}


def test_check_access_rights_as_18_answers(odoo_emulator: OdooEmulator) -> None:
    odoo_emulator.add_user("bob", "bob", email="bob@example.com")
    rights = {
        model: odoo_emulator.execute("bob", model, "check_access_rights", "write", False)
        for model in ("calendar.event", "calendar.event.type", "ir.model.data", "res.company")
    }
    assert rights == {
        "calendar.event": True,
        "calendar.event.type": False,
        "ir.model.data": False,
        "res.company": False,
    }
    assert odoo_emulator.execute("bob", "calendar.event", "check_access_rights", "read") is None
    with pytest.raises(OdooError, match="You are not allowed to create"):
        odoo_emulator.execute("bob", "calendar.event.type", "check_access_rights", "create")
    with pytest.raises(OdooError, match="Invalid access mode"):
        odoo_emulator.execute("bob", "calendar.event", "check_access_rights", "frobnicate")


def test_the_company_of_a_fresh_database(odoo_rpc: Any) -> None:
    (company,) = odoo_rpc.env["res.company"].search_read([], ["name", "partner_id", "parent_id"])
    assert company == {
        "id": 1,
        "name": "My Company",
        "partner_id": [1, "My Company"],
        "parent_id": False,
    }
    assert odoo_rpc.env.user.company_id.name == "My Company"
