"""Series edits beyond the recordings, domains, orders, load, and the CPython set model."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync.testing import OdooEmulator, OdooError
from calsync.testing._odoo._pyset import PySet, added_in_set_order

QUIET = {"no_mail_to_attendees": True}


@pytest.fixture
def odoo_emulator() -> Any:
    with OdooEmulator(series_order="chronological") as emulator:
        yield emulator


def weekly(odoo_emulator: OdooEmulator, name: str = "S", count: int = 4) -> int:
    values = {
        "name": name,
        "start": "2027-02-01 09:00:00",
        "stop": "2027-02-01 10:00:00",
        "recurrency": True,
        "rrule_type": "weekly",
        "mon": True,
        "count": count,
        "event_tz": "UTC",
    }
    event_id: int = odoo_emulator.execute(
        "admin", "calendar.event", "create", values, context=QUIET
    )
    return event_id


def rows(odoo_emulator: OdooEmulator, name: str) -> list[tuple[int, str, int | bool, bool]]:
    found = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "search_read",
        [["name", "=", name]],
        ["start", "recurrence_id", "active"],
        order="start asc, id asc",
        context={"active_test": False},
    )
    return [
        (
            row["id"],
            row["start"][5:16],
            row["recurrence_id"] and row["recurrence_id"][0],
            row["active"],
        )
        for row in found
    ]


def write(odoo_emulator: OdooEmulator, event_id: int, **values: Any) -> None:
    odoo_emulator.execute("admin", "calendar.event", "write", [event_id], values, context=QUIET)


# -- series edits ------------------------------------------------------------------------------


def test_future_events_with_a_time_change_starts_a_new_series(odoo_emulator: OdooEmulator) -> None:
    base = weekly(odoo_emulator)
    write(
        odoo_emulator,
        base + 2,
        start="2027-02-15 11:00:00",
        stop="2027-02-15 12:00:00",
        recurrence_update="future_events",
    )
    assert rows(odoo_emulator, "S") == [
        (1, "02-01 09:00", 1, True),
        (2, "02-08 09:00", 1, True),
        (3, "02-15 11:00", 2, True),
        (4, "02-22 09:00", False, False),
        (5, "02-22 11:00", 2, True),
    ]
    names = odoo_emulator.execute(
        "admin", "calendar.recurrence", "search_read", [], ["name"], order="id"
    )
    assert [row["name"] for row in names] == [
        "Every 1 Weeks on Monday until 2027-02-13",
        "Every 1 Weeks on Monday for 2 events",
    ]


def test_self_only_time_change_makes_an_exception(odoo_emulator: OdooEmulator) -> None:
    base = weekly(odoo_emulator)
    write(odoo_emulator, base + 1, start="2027-02-09 09:00:00", stop="2027-02-09 10:00:00")
    row = odoo_emulator.execute(
        "admin", "calendar.event", "read", [base + 1], ["follow_recurrence", "recurrence_id"]
    )[0]
    assert row == {
        "id": base + 1,
        "follow_recurrence": False,
        "recurrence_id": [1, "Every 1 Weeks on Monday for 4 events"],
    }


def test_recurrence_fields_need_a_series_update_mode(odoo_emulator: OdooEmulator) -> None:
    base = weekly(odoo_emulator)
    with pytest.raises(OdooError, match='Unable to save the recurrence with "This Event"'):
        write(odoo_emulator, base + 1, interval=2)


def test_breaking_future_events_deletes_the_rest(odoo_emulator: OdooEmulator) -> None:
    base = weekly(odoo_emulator)
    write(odoo_emulator, base + 2, recurrency=False, recurrence_update="future_events")
    assert rows(odoo_emulator, "S") == [
        (1, "02-01 09:00", 1, True),
        (2, "02-08 09:00", 1, True),
        (3, "02-15 09:00", False, True),
    ]


def test_a_plain_event_made_recurring_gets_its_series(odoo_emulator: OdooEmulator) -> None:
    event_id = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "create",
        {"name": "V", "start": "2027-05-03 09:00:00", "stop": "2027-05-03 10:00:00"},
    )
    write(odoo_emulator, event_id, recurrency=True, rrule_type="daily", count=3)
    assert [row[1] for row in rows(odoo_emulator, "V")] == [
        "05-03 09:00",
        "05-04 09:00",
        "05-05 09:00",
    ]


def test_archiving_and_deleting_the_future_part(odoo_emulator: OdooEmulator) -> None:
    base = weekly(odoo_emulator)
    odoo_emulator.execute(
        "admin", "calendar.event", "action_mass_archive", [base + 2], "future_events"
    )
    assert [row[3] for row in rows(odoo_emulator, "S")] == [True, True, False, False]
    odoo_emulator.execute(
        "admin", "calendar.event", "action_mass_deletion", [base], "future_events"
    )
    assert [row[0] for row in rows(odoo_emulator, "S")] == [3, 4]


def test_unarchiving_brings_a_row_back(odoo_emulator: OdooEmulator) -> None:
    event_id = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "create",
        {"name": "A", "start": "2027-05-03 09:00:00", "stop": "2027-05-03 10:00:00"},
    )
    assert odoo_emulator.execute("admin", "calendar.event", "action_archive", [event_id]) is None
    assert odoo_emulator.execute("admin", "calendar.event", "search", [["name", "=", "A"]]) == []
    odoo_emulator.execute("admin", "calendar.event", "action_unarchive", [event_id])
    assert odoo_emulator.execute("admin", "calendar.event", "search", [["name", "=", "A"]]) == [
        event_id
    ]


# -- domains and orders ------------------------------------------------------------------------


@pytest.fixture
def people(odoo_emulator: OdooEmulator) -> list[int]:
    values = [
        {"name": "Ann", "email": "ann@example.com"},
        {"name": "bob", "email": None},
        {"name": "Cy_x", "email": "CY@example.com", "parent_id": 1},
    ]
    ids: list[int] = odoo_emulator.execute("admin", "res.partner", "create", values)
    return ids


def names(odoo_emulator: OdooEmulator, domain: list[Any], order: str = "id") -> list[str]:
    found = odoo_emulator.execute(
        "admin", "res.partner", "search_read", [["id", ">", 6], *domain], ["name"], order=order
    )
    return [row["name"] for row in found]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ([["name", "like", "b"]], ["bob"]),
        ([["name", "ilike", "B"]], ["bob"]),
        ([["name", "=like", "C%"]], ["Cy_x"]),
        ([["name", "=like", "Cy\\_x"]], ["Cy_x"]),
        ([["name", "=ilike", "ann"]], ["Ann"]),
        ([["email", "not ilike", "example"]], ["bob"]),
        ([["email", "!=", "ann@example.com"]], ["bob", "Cy_x"]),
        ([["email", "=", False]], ["bob"]),
        ([["email", "in", [False, "ann@example.com"]]], ["Ann", "bob"]),
        (["|", ["name", "=", "Ann"], ["name", "=", "bob"]], ["Ann", "bob"]),
        (["!", ["name", "=", "Ann"]], ["bob", "Cy_x"]),
        ([["parent_id.name", "=", "My Company"]], ["Cy_x"]),
        ([["parent_id", "child_of", 1]], ["Cy_x"]),
        ([["email_normalized", "=", "cy@example.com"]], ["Cy_x"]),
    ],
)
def test_domain_operators(
    odoo_emulator: OdooEmulator, people: list[int], domain: list[Any], expected: list[str]
) -> None:
    assert names(odoo_emulator, domain) == expected


def test_x2many_any_and_dotted_paths(odoo_emulator: OdooEmulator, people: list[int]) -> None:
    event_id = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "create",
        {
            "name": "E",
            "start": "2027-01-01 09:00:00",
            "stop": "2027-01-01 10:00:00",
            "partner_ids": [[6, 0, people[:1]]],
        },
        context=QUIET,
    )
    for domain in (
        [["partner_ids", "in", [people[0]]]],
        [["partner_ids.name", "=", "Ann"]],
        [["attendee_ids", "any", [["partner_id.email", "=", "ann@example.com"]]]],
    ):
        assert odoo_emulator.execute("admin", "calendar.event", "search", domain) == [event_id]
    assert (
        odoo_emulator.execute(
            "admin", "calendar.event", "search", [["partner_ids", "not in", [people[0]]]]
        )
        == []
    )


def test_domain_errors_name_the_field(odoo_emulator: OdooEmulator) -> None:
    with pytest.raises(
        OdooError, match=r"Invalid field calendar.event.nope in leaf \('nope', '=', 1\)"
    ):
        odoo_emulator.execute("admin", "calendar.event", "search", [["nope", "=", 1]])
    with pytest.raises(
        OdooError, match=r"Non-stored field calendar\.event\.rrule_type cannot be searched\."
    ):
        odoo_emulator.execute("admin", "calendar.event", "search", [["rrule_type", "=", "weekly"]])


def test_order_nulls_and_case(odoo_emulator: OdooEmulator, people: list[int]) -> None:
    assert names(odoo_emulator, [], "email asc") == ["Ann", "Cy_x", "bob"]  # NULLs last ascending
    assert names(odoo_emulator, [], "email desc") == ["bob", "Cy_x", "Ann"]  # and first descending
    assert names(odoo_emulator, [], "name asc") == ["Ann", "bob", "Cy_x"]  # collation ignores case


def test_read_of_unknown_field_and_create_of_unknown_field(odoo_emulator: OdooEmulator) -> None:
    with pytest.raises(OdooError, match=r"Invalid field 'nope' on model 'res\.partner'"):
        odoo_emulator.execute("admin", "res.partner", "read", [3], ["nope"])
    with pytest.raises(OdooError, match=r"Invalid field 'nope' on model 'res\.partner'"):
        odoo_emulator.execute("admin", "res.partner", "create", {"name": "x", "nope": 1})


def test_load_rejects_a_bad_column_value_as_a_message(odoo_emulator: OdooEmulator) -> None:
    result = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "load",
        ["id", "name", "start", "stop"],
        [["calsync.k1", "x", "2027-01-01T10:00:00", "2027-01-01 11:00:00"]],
    )
    assert result["ids"] is False
    assert (
        result["messages"][0]["message"]
        == "'2027-01-01T10:00:00' does not seem to be a valid datetime for field 'Start'"
    )


def test_load_takes_datetimes_in_the_context_time_zone(odoo_emulator: OdooEmulator) -> None:
    result = odoo_emulator.execute(
        "admin",
        "calendar.event",
        "load",
        ["id", "name", "start", "stop"],
        [["calsync.k2", "x", "2027-01-01 10:00:00", "2027-01-01 11:00:00"]],
        context={"tz": "Europe/Brussels", **QUIET},
    )
    [row] = odoo_emulator.execute("admin", "calendar.event", "read", result["ids"], ["start"])
    assert row["start"] == "2027-01-01 09:00:00"


# -- CPython set order -------------------------------------------------------------------------


@given(
    st.lists(st.integers(min_value=1, max_value=5000), max_size=60),
    st.lists(st.integers(min_value=1, max_value=5000), max_size=20),
)
def test_set_order_matches_cpython(new: list[int], old: list[int]) -> None:
    assert list(PySet(new)) == list(set(new))
    assert added_in_set_order(new, old) == list(set(new) - set(old))
