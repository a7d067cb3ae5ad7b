"""JSON-2 (Odoo 19.0+) over raw httpx: named arguments, bearer keys, HTTP error statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from calsync.testing import OdooEmulator

EVENT = {"name": "Review", "start": "2027-03-01 09:00:00", "stop": "2027-03-01 10:00:00"}
QUIET = {"no_mail_to_attendees": True}


def call(client: httpx.Client, model: str, method: str, **body: Any) -> httpx.Response:
    """POST one JSON-2 call."""
    return client.post(f"/json/2/{model}/{method}", json=body)


def test_crud_with_named_arguments(odoo_json2: httpx.Client) -> None:
    created = call(odoo_json2, "calendar.event", "create", vals_list=[EVENT], context=QUIET)
    assert created.status_code == 200
    assert created.json() == [1]  # create returns the records' ids, a list even for one
    assert (
        call(odoo_json2, "calendar.event", "write", ids=[1], vals={"location": "Lab"}).json()
        is True
    )
    rows = call(
        odoo_json2, "calendar.event", "read", ids=[1], fields=["name", "location", "partner_ids"]
    )
    assert rows.json() == [{"id": 1, "name": "Review", "location": "Lab", "partner_ids": [3]}]
    found = call(
        odoo_json2,
        "calendar.event",
        "search_read",
        domain=[["name", "=", "Review"]],
        fields=["start"],
        order="start asc",
        limit=5,
    )
    assert found.json() == [{"id": 1, "start": "2027-03-01 09:00:00"}]
    assert call(odoo_json2, "calendar.event", "search_count", domain=[]).json() == 1
    assert call(odoo_json2, "calendar.event", "unlink", ids=[1]).json() is True
    assert call(odoo_json2, "calendar.event", "search", domain=[]).json() == []


def test_context_travels_apart_from_the_arguments(odoo_json2: httpx.Client) -> None:
    call(odoo_json2, "calendar.event", "create", vals_list=[EVENT], context=QUIET)
    shown = call(
        odoo_json2,
        "calendar.event",
        "read",
        ids=[1],
        fields=["display_time"],
        context={"tz": "Europe/Brussels"},
    )
    assert (
        shown.json()[0]["display_time"] == "03/01/2027 at (10:00:00 To 11:00:00) (Europe/Brussels)"
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, 'User not authenticated, use the "Authorization" header'),
        ({"Authorization": "bearer not-a-key"}, "Invalid apikey"),
    ],
)
def test_missing_or_wrong_key_is_401(
    odoo_v19: OdooEmulator, headers: dict[str, str], message: str
) -> None:
    response = httpx.post(
        f"{odoo_v19.url}/json/2/res.partner/search", json={"domain": []}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "bearer"
    body = response.json()
    assert body["name"] == "werkzeug.exceptions.Unauthorized"
    assert body["message"] == message
    assert body["arguments"] == [message, 401]
    assert set(body) == {"name", "debug", "message", "arguments", "context"}


@pytest.mark.parametrize(
    ("model", "method", "body", "status", "name"),
    [
        ("no.such.model", "search", {"domain": []}, 404, "werkzeug.exceptions.NotFound"),
        ("res.partner", "no_such_method", {}, 404, "werkzeug.exceptions.NotFound"),
        ("res.partner", "_private", {}, 403, "odoo.exceptions.AccessError"),
        (
            "res.partner",
            "search",
            {"ids": [1], "domain": []},
            422,
            "werkzeug.exceptions.UnprocessableEntity",
        ),
        ("res.partner", "search", {"bogus": 1}, 422, "werkzeug.exceptions.UnprocessableEntity"),
        (
            "calendar.event",
            "write",
            {"ids": [99], "vals": {"name": "x"}},
            404,
            "odoo.exceptions.MissingError",
        ),
        ("calendar.event", "search", {"domain": [["nope", "=", 1]]}, 500, "builtins.ValueError"),
        (
            "calendar.event",
            "search",
            {"domain": [], "order": "start; drop"},
            422,
            "odoo.exceptions.UserError",
        ),
    ],
)
def test_errors_are_http_statuses_with_a_json_body(
    odoo_json2: httpx.Client, model: str, method: str, body: dict[str, Any], status: int, name: str
) -> None:
    response = call(odoo_json2, model, method, **body)
    assert response.status_code == status
    assert response.json()["name"] == name


def test_validation_error_is_422(odoo_json2: httpx.Client) -> None:
    bad = {**EVENT, "stop": "2027-03-01 08:00:00"}
    response = call(odoo_json2, "calendar.event", "create", vals_list=[bad])
    assert response.status_code == 422
    assert response.json()["name"] == "odoo.exceptions.ValidationError"


def test_access_error_is_403_for_an_ordinary_user(odoo_v19: OdooEmulator) -> None:
    odoo_v19.add_user("bob", "bob", api_key="bob-key")
    with httpx.Client(base_url=odoo_v19.url, headers={"Authorization": "Bearer bob-key"}) as bob:
        response = call(bob, "ir.model.data", "search_read", domain=[])
    assert response.status_code == 403
    assert response.json()["message"].startswith("You are not allowed to access 'Model Data'")


def test_database_header_must_name_the_database(odoo_json2: httpx.Client) -> None:
    """Odoo 19.0 picks the database before it looks at the key: an HTML 404 (checked live)."""
    for key in ("Bearer " + "0" * 40, odoo_json2.headers["Authorization"]):
        response = odoo_json2.post(
            "/json/2/res.partner/search",
            json={"domain": []},
            headers={"X-Odoo-Database": "other", "Authorization": key},
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "No database is selected" in response.text


def test_only_post_on_model_and_method(odoo_json2: httpx.Client) -> None:
    assert odoo_json2.get("/json/2/res.partner/search").status_code == 404
    assert odoo_json2.post("/json/2/res.partner", json={}).status_code == 404


def test_json2_does_not_exist_before_19(odoo_emulator: OdooEmulator) -> None:
    response = httpx.post(f"{odoo_emulator.url}/json/2/res.partner/search", json={"domain": []})
    assert response.status_code == 404


def test_jsonrpc_still_answers_on_19(odoo_v19: OdooEmulator) -> None:
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {"service": "common", "method": "version", "args": []},
    }
    assert (
        httpx.post(f"{odoo_v19.url}/jsonrpc", json=body).json()["result"]["server_version"]
        == "19.0"
    )


def test_an_api_key_is_also_a_password_for_jsonrpc(odoo_v19: OdooEmulator) -> None:
    from conftest_odoo import ODOO_API_KEY

    params = {
        "service": "object",
        "method": "execute_kw",
        "args": [odoo_v19.db, 2, ODOO_API_KEY, "res.users", "context_get", [], {}],
    }
    body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
    assert httpx.post(f"{odoo_v19.url}/jsonrpc", json=body).json()["result"]["uid"] == 2


# -- /doc-bearer/<model>.json (19.0; checked on the real 19.0 server, 2026-12-05) --------------


def test_doc_bearer_documents_fields_and_signatures(odoo_json2: httpx.Client) -> None:
    answer = odoo_json2.get("/doc-bearer/calendar.event.json")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache, private"
    document = answer.json()
    assert (document["model"], document["name"], document["doc"]) == (
        "calendar.event",
        "Calendar Event",
        None,
    )
    assert document["fields"]["name"]["string"] == "Meeting Subject"
    assert document["fields"]["name"]["module"] == "calendar"
    methods = document["methods"]
    assert methods["write"] == {
        "signature": "(vals)",
        "parameters": {"vals": {}},
        "model": "core",
        "module": "core",
    }
    assert methods["read"]["signature"] == "(fields=None, load='_classic_read')"
    assert methods["read"]["parameters"]["load"] == {"default": "_classic_read"}
    assert methods["create"]["api"] == ["model"]
    assert methods["action_mass_deletion"]["model"] == "calendar.event"
    assert "exists" not in methods  # private in 19.0
    assert "read_group" not in methods  # deprecated: callable, not documented
    assert odoo_json2.get("/doc-bearer/no.model.json").status_code == 404


def test_doc_bearer_is_for_settings_administrators_only(odoo_v19: OdooEmulator) -> None:
    key = "1111222233334444555566667777888899990000"
    odoo_v19.add_user("bob", "bob", email="bob@example.com", api_key=key)
    with httpx.Client(base_url=odoo_v19.url, headers={"Authorization": f"bearer {key}"}) as bob:
        answer = bob.get("/doc-bearer/calendar.event.json")
    assert answer.status_code == 403
    assert answer.json()["name"] == "odoo.exceptions.AccessError"
    assert answer.json()["message"] == (
        "This page is only accessible to Technical Documentation users."
    )


def test_doc_bearer_does_not_exist_before_19(odoo_emulator: OdooEmulator) -> None:
    with httpx.Client(base_url=odoo_emulator.url) as http:
        assert http.get("/doc-bearer/calendar.event.json").status_code == 404
