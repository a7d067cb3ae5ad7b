"""Arguments bind to Odoo's own signatures, per version, and fail as the real servers fail.

Every expectation below is what a real Odoo server answered (17.0, 18.0 and 19.0
on this machine, checked 2026-12-05; odoo.md §5.19): ``execute_kw`` over
``/jsonrpc``, ``/web/dataset/call_kw`` with a session, and JSON-2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from calsync.testing import OdooEmulator

PARTNER = {"name": "Carol", "email": "carol@example.com"}
EVENT = {"name": "Review", "start": "2027-03-01 09:00:00", "stop": "2027-03-01 10:00:00"}
KEY = "0123456789abcdef0123456789abcdef01234567"


class Rpc:
    """``execute_kw`` as admin over raw ``/jsonrpc``: the result, or (error name, message)."""

    def __init__(self, odoo: OdooEmulator) -> None:
        self.odoo = odoo
        self.http = httpx.Client(base_url=odoo.url, timeout=10)

    def __call__(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        params = {
            "service": "object",
            "method": "execute_kw",
            "args": [self.odoo.db, 2, "admin", model, method, args, kwargs],
        }
        body = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
        answer = self.http.post("/jsonrpc", json=body).json()
        if "error" in answer:
            return (answer["error"]["data"]["name"], answer["error"]["data"]["message"])
        return answer.get("result")


@pytest.fixture(params=["17.0", "18.0", "19.0"])
def rpc(request: pytest.FixtureRequest) -> Iterator[Rpc]:
    with OdooEmulator(request.param, admin_api_key=KEY) as odoo:
        caller = Rpc(odoo)
        yield caller
        caller.http.close()


def type_error(message: str) -> tuple[str, str]:
    return ("builtins.TypeError", message)


# (17.0, 18.0, 19.0) answers of the real servers
WRITE_NAMES = {"17.0": "Meeting", "18.0": "Meeting", "19.0": "CalendarEvent"}
WRITE_PARAM = {"17.0": "values", "18.0": "values", "19.0": "vals"}
CREATE_NAME = {"17.0": "ResPartner.create", "18.0": "create", "19.0": "ResPartner.create"}
ARGS_INDEX = {"17.0": "tuple", "18.0": "tuple", "19.0": "list"}


def test_create_reads_its_values_from_the_first_positional(rpc: Rpc) -> None:
    version = rpc.odoo.version
    index_error = ("builtins.IndexError", f"{ARGS_INDEX[version]} index out of range")
    before = rpc("res.partner", "search_count", [[]], {})
    assert rpc("res.partner", "create", [], {"vals_list": PARTNER}) == index_error
    assert rpc("res.partner", "search_count", [[]], {}) == before, "rolled back"
    missing = f"{CREATE_NAME[version]}() missing 1 required positional argument: 'vals_list'"
    assert rpc("res.partner", "create", [], {}) == type_error(missing)
    twice = f"{CREATE_NAME[version]}() got multiple values for argument 'vals_list'"
    assert rpc("res.partner", "create", [PARTNER], {"vals_list": PARTNER}) == type_error(twice)
    assert isinstance(rpc("res.partner", "create", [PARTNER], {}), int)
    assert len(rpc("res.partner", "create", [[PARTNER, PARTNER]], {})) == 2


def test_write_binds_to_the_models_own_override(rpc: Rpc) -> None:
    version = rpc.odoo.version
    name, param = f"{WRITE_NAMES[version]}.write", WRITE_PARAM[version]
    other = "vals" if param == "values" else "values"
    (event,) = rpc("calendar.event", "create", [[EVENT]], {})
    unexpected = f"{name}() got an unexpected keyword argument '{other}'"
    assert rpc("calendar.event", "write", [[event]], {other: {"location": "x"}}) == type_error(
        unexpected
    )
    assert rpc("calendar.event", "write", [[event]], {param: {"location": "A"}}) is True
    assert rpc("calendar.event", "write", [[event], {"location": "B"}], {}) is True
    assert rpc("calendar.event", "write", [event, {"location": "C"}], {}) is True  # one id
    missing = f"{name}() missing 1 required positional argument: '{param}'"
    assert rpc("calendar.event", "write", [[event]], {}) == type_error(missing)
    many = f"{name}() takes 2 positional arguments but 3 were given"
    assert rpc("calendar.event", "write", [[event], {}, 1], {}) == type_error(many)
    twice = f"{name}() got multiple values for argument '{param}'"
    assert rpc("calendar.event", "write", [[event], {}], {param: {}}) == type_error(twice)
    no_ids = ("builtins.IndexError", f"{ARGS_INDEX[version]} index out of range")
    assert rpc("calendar.event", "write", [], {param: {}}) == no_ids
    # BaseModel.write(self, vals) on models that do not override it
    assert rpc("calendar.attendee", "write", [[]], {"vals": {}}) is True
    (row,) = rpc("calendar.event", "read", [[event], ["location"]], {})
    assert row["location"] == "C"


def test_extra_keywords_fail_where_odoo_passes_them_on(rpc: Rpc) -> None:
    unknown = rpc("calendar.event", "read", [[]], {"fields": ["name"], "foo": 1})
    assert unknown == type_error("BaseModel.read() got an unexpected keyword argument 'foo'")
    # search_read hands **read_kwargs on to _read_format
    answer = rpc("calendar.event", "search_read", [[]], {"fields": ["name"], "foo": 1})
    assert answer == type_error("BaseModel._read_format() got an unexpected keyword argument 'foo'")
    twice = rpc("calendar.event", "search_read", [[], ["name"]], {"fields": ["x"]})
    assert twice == type_error("BaseModel.search_read() got multiple values for argument 'fields'")
    missing = rpc("calendar.event", "search", [], {})
    assert missing == type_error(
        "BaseModel.search() missing 1 required positional argument: 'domain'"
    )
    options = {"domain": [], "fields": ["name"], "limit": 1, "order": "id asc", "offset": 0}
    assert rpc("calendar.event", "search_read", [], options) == []


def private(name: str) -> tuple[str, str]:
    return (
        "odoo.exceptions.AccessError",
        f"Private methods (such as {name}) cannot be called remotely.",
    )


def missing(text: str) -> tuple[str, str]:
    return ("builtins.AttributeError", text)


@pytest.mark.parametrize(
    ("version", "method", "answer"),
    [
        ("17.0", "_nope", private("_nope")),
        ("18.0", "_nope", missing("The method 'calendar.event._nope' does not exist")),
        ("18.0", "_read_format", private("'calendar.event._read_format'")),
        ("19.0", "_nope", private("'calendar.event._nope'")),
        ("19.0", "exists", private("'calendar.event.exists'")),
        ("18.0", "exists", []),
        (
            "17.0",
            "find_or_create",
            missing("The method 'find_or_create' does not exist on the model 'calendar.event'"),
        ),
        (
            "18.0",
            "find_or_create",
            missing("The method 'calendar.event.find_or_create' does not exist"),
        ),
    ],
)
def test_private_and_missing_methods_per_version(version: str, method: str, answer: Any) -> None:
    with OdooEmulator(version) as odoo:
        rpc = Rpc(odoo)
        assert rpc("calendar.event", method, [[]], {}) == answer
        rpc.http.close()


UNEXPECTED = "got an unexpected keyword argument 'zz'"
ONE_NOT_TWO = "takes 1 positional argument but 2 were given"


@pytest.mark.parametrize(
    ("version", "extra", "many"),
    [
        ("17.0", f"Users.context_get() {UNEXPECTED}", f"Users.context_get() {ONE_NOT_TWO}"),
        ("18.0", UNEXPECTED, "too many positional arguments"),  # ormcache binds with inspect
        ("19.0", f"<lambda>() {UNEXPECTED}", f"<lambda>() {ONE_NOT_TWO}"),
    ],
)
def test_context_get_is_wrapped_differently_in_each_version(
    version: str, extra: str, many: str
) -> None:
    with OdooEmulator(version) as odoo:
        rpc = Rpc(odoo)
        assert rpc("res.users", "context_get", [], {"zz": 1}) == type_error(extra)
        assert rpc("res.users", "context_get", [1], {}) == type_error(many)
        assert rpc("res.users", "context_get", [], {})["uid"] == 2
        rpc.http.close()


def test_web_call_kw_indexes_a_list(odoo_emulator: OdooEmulator) -> None:
    with httpx.Client(base_url=odoo_emulator.url, timeout=10) as web:
        login = {"db": odoo_emulator.db, "login": "admin", "password": "admin"}
        web.post("/web/session/authenticate", json={"params": login})
        params = {"model": "calendar.event", "method": "write", "args": [], "kwargs": {}}
        answer = web.post("/web/dataset/call_kw", json={"params": params}).json()
    assert answer["error"]["data"]["name"] == "builtins.IndexError"
    assert answer["error"]["data"]["message"] == "list index out of range"


NO_VALS = "missing a required argument: 'vals'"


@pytest.mark.parametrize(
    ("model", "method", "body", "status", "answer"),
    [
        ("calendar.event", "write", {"ids": [], "values": {}}, 422, NO_VALS),
        ("calendar.event", "write", {"ids": [], "vals": {}}, 200, True),
        (
            "calendar.event",
            "create",
            {"ids": [1], "vals_list": []},
            422,
            "cannot call calendar.event.create with ids",
        ),
        ("calendar.event", "read", {"ids": [], "zz": 1}, 422, UNEXPECTED),
        (
            "calendar.event",
            "search_read",
            {"domain": [], "foo": 1},
            500,
            "BaseModel._read_format() got an unexpected keyword argument 'foo'",
        ),
        ("calendar.event", "search", {}, 422, "missing a required argument: 'domain'"),
        (
            "calendar.event",
            "action_mass_deletion",
            {"ids": []},
            422,
            "missing a required argument: 'recurrence_update_setting'",
        ),
        ("calendar.event", "exists", {"ids": []}, 403, private("'calendar.event.exists'")[1]),
        ("calendar.event", "nope", {}, 404, "The method 'calendar.event.nope' does not exist"),
        ("res.users", "context_get", {"zz": 1}, 422, UNEXPECTED),
    ],
)
def test_json2_binds_names_with_inspect(
    odoo_json2: httpx.Client, model: str, method: str, body: Any, status: int, answer: Any
) -> None:
    response = odoo_json2.post(f"/json/2/{model}/{method}", json=body)
    assert response.status_code == status
    payload = response.json()
    assert (payload["message"] if status != 200 else payload) == answer
