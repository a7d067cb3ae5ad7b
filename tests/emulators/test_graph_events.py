"""GraphEmulator over plain HTTP: auth, addressing, event fields, writes and listings."""

from __future__ import annotations

import httpx
import pytest
from graph_bodies import event, weekly

from calsync.testing import GraphEmulator, GraphMailbox


def test_missing_or_bad_token_is_401(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    with httpx.Client(base_url=graph_emulator.base_url) as anonymous:
        missing = anonymous.get("/me/events")
        bad = anonymous.get("/me/events", headers={"Authorization": "Bearer nope"})
    for answer in (missing, bad):
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert set(error["innerError"]) == {"request-id", "date", "client-request-id"}
    assert "WWW-Authenticate" in bad.headers


def test_revoked_token_and_granted_token(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    fresh = graph_emulator.grant_token(graph_alice)
    with httpx.Client(base_url=graph_emulator.base_url) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).json()["mail"] == (
            "alice@example.com"
        )
        graph_emulator.revoke_token(fresh)
        assert client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_users_path_by_id_or_address_and_double_slash(
    graph_emulator: GraphEmulator,
    graph_http: httpx.Client,
    graph_alice: GraphMailbox,
    graph_bob: GraphMailbox,
) -> None:
    created = graph_http.post(f"/users/{graph_bob.email}/events", json=event("For Bob"))
    assert created.status_code == 201
    assert created.json()["organizer"]["emailAddress"]["address"] == "bob@example.com"
    assert graph_emulator.requests[-1].mailbox == "bob@example.com"
    by_id = graph_http.get(f"/users/{graph_bob.id}/events").json()["value"]
    assert [e["subject"] for e in by_id] == ["For Bob"]
    assert graph_http.get("/me/events").json()["value"] == []
    doubled = httpx.get(
        f"{graph_emulator.url}/v1.0//me/calendar",
        headers={"Authorization": f"Bearer {graph_alice.token}"},
    )
    assert doubled.status_code == 200
    assert doubled.json()["id"] == graph_alice.calendar_id
    unknown = graph_http.get("/users/nobody@example.com/events")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "ErrorInvalidUser"


def test_calendars(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    calendars = graph_http.get("/me/calendars").json()["value"]
    assert len(calendars) == 1
    assert calendars[0]["isDefaultCalendar"] is True
    second = graph_emulator.add_calendar("alice@example.com", "Team")
    created = graph_http.post(f"/me/calendars/{second}/events", json=event("Team thing"))
    assert created.status_code == 201
    assert graph_http.get(f"/me/calendars/{second}/events").json()["value"][0]["subject"] == (
        "Team thing"
    )
    assert graph_http.get("/me/events").json()["value"] == []
    assert graph_http.get("/me/calendars/nope/events").status_code == 404


def test_event_fields_and_forms(graph_http: httpx.Client) -> None:
    body = event(
        "Review",
        "2026-07-01T09:30:00",
        "2026-07-01T10:00:00",
        "W. Europe Standard Time",
        attendees=("carol@example.com", "alice@example.com"),
        body={"contentType": "text", "content": "Line 1\nLine <2>"},
        location={"displayName": "Room 7"},
        showAs="tentative",
        importance="high",
        isReminderOn=False,
        categories=["Red"],
        isOnlineMeeting=True,
        unknownKey="tolerated",
    )
    body["@odata.type"] = "#microsoft.graph.event"
    created = graph_http.post("/me/events", json=body).json()
    assert created["start"] == {"dateTime": "2026-07-01T07:30:00.0000000", "timeZone": "UTC"}
    assert created["originalStartTimeZone"] == "W. Europe Standard Time"
    assert created["body"]["contentType"] == "html"
    assert created["body"]["content"].startswith("<html>\r\n<head>")
    assert "Line 1<br>" in created["body"]["content"]
    assert "Line &lt;2&gt;" in created["body"]["content"]
    assert created["bodyPreview"].startswith("Line 1 Line <2>")
    assert created["location"]["displayName"] == "Room 7"
    assert [p["displayName"] for p in created["locations"]] == ["Room 7"]
    assert created["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    assert created["onlineMeetingProvider"] == "teamsForBusiness"
    assert created["showAs"] == "tentative"
    assert created["importance"] == "high"
    assert created["isReminderOn"] is False
    assert created["responseStatus"]["response"] == "organizer"
    assert [a["emailAddress"]["address"] for a in created["attendees"]] == [
        "carol@example.com",
        "alice@example.com",
    ]
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"'
    assert created["createdDateTime"].endswith("Z")
    assert len(created["createdDateTime"].split(".")[1]) == 8  # seven digits and Z

    # A body read back and written back unchanged stays the same document.
    again = graph_http.patch(f"/me/events/{created['id']}", json={"body": created["body"]}).json()
    assert again["body"] == created["body"]


def test_all_day_validation_and_floating_dates(graph_http: httpx.Client) -> None:
    ok = graph_http.post(
        "/me/events",
        json=event(
            "Holiday",
            "2026-07-01T00:00:00",
            "2026-07-03T00:00:00",
            "Europe/Brussels",
            isAllDay=True,
        ),
    )
    assert ok.status_code == 201
    fetched = graph_http.get(
        f"/me/events/{ok.json()['id']}", headers={"Prefer": 'outlook.timezone="Asia/Tokyo"'}
    ).json()
    assert fetched["start"] == {"dateTime": "2026-07-01T00:00:00.0000000", "timeZone": "Asia/Tokyo"}
    assert fetched["end"]["dateTime"] == "2026-07-03T00:00:00.0000000"
    not_midnight = graph_http.post(
        "/me/events", json=event("Bad", "2026-07-01T08:00:00", "2026-07-02T00:00:00", isAllDay=True)
    )
    assert not_midnight.status_code == 400
    zones = event("Bad", "2026-07-01T00:00:00", "2026-07-02T00:00:00", isAllDay=True)
    zones["end"]["timeZone"] = "Asia/Tokyo"
    assert graph_http.post("/me/events", json=zones).status_code == 400


def test_write_validation(graph_http: httpx.Client) -> None:
    backwards = graph_http.post(
        "/me/events", json=event(start="2026-01-02T10:00:00", end="2026-01-02T09:00:00")
    )
    assert backwards.status_code == 400
    zone = graph_http.post("/me/events", json=event(zone="Mars/Olympus"))
    assert zone.status_code == 400
    assert zone.json()["error"]["code"] == "TimeZoneNotSupportedException"
    no_end = {"subject": "x", "start": {"dateTime": "2026-01-02T10:00:00", "timeZone": "UTC"}}
    assert graph_http.post("/me/events", json=no_end).status_code == 400
    assert graph_http.post("/me/events", content=b"{not json").status_code == 400
    created = graph_http.post("/me/events", json=event(transactionId="t1")).json()
    changed = graph_http.patch(f"/me/events/{created['id']}", json={"transactionId": "t2"})
    assert changed.status_code == 400


def test_organiser_patch_ignores_attendee_statuses(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    created = graph_http.post("/me/events", json=event(attendees=("carol@example.com",))).json()
    graph_emulator.respond("alice@example.com", created["id"], "carol@example.com", "declined")
    attendees = [
        {**a, "status": {"response": "accepted", "time": "2026-01-01T00:00:00Z"}}
        for a in created["attendees"]
    ]
    attendees.append({"type": "optional", "emailAddress": {"address": "dan@example.com"}})
    patched = graph_http.patch(f"/me/events/{created['id']}", json={"attendees": attendees}).json()
    assert [
        (a["emailAddress"]["address"], a["type"], a["status"]["response"])
        for a in patched["attendees"]
    ] == [
        ("carol@example.com", "required", "declined"),
        ("dan@example.com", "optional", "none"),
    ]


def test_if_match_on_patch_and_delete(graph_http: httpx.Client) -> None:
    created = graph_http.post("/me/events", json=event()).json()
    url = f"/me/events/{created['id']}"
    current = graph_http.patch(
        url, json={"subject": "B"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert current.status_code == 200
    stale = graph_http.delete(url, headers={"If-Match": created["@odata.etag"]})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert (
        graph_http.delete(url, headers={"If-Match": current.json()["@odata.etag"]}).status_code
        == 204
    )
    assert graph_http.get(url).status_code == 404


@pytest.mark.parametrize("mode", ["error", "return_existing"])
def test_duplicate_transaction_modes(mode: str) -> None:
    with GraphEmulator(duplicate_transaction=mode) as graph:
        alice = graph.add_mailbox("alice@example.com")
        headers = {"Authorization": f"Bearer {alice.token}"}
        with httpx.Client(base_url=graph.base_url, headers=headers) as http:
            first = http.post("/me/events", json=event(transactionId="same"))
            second = http.post("/me/events", json=event("Other", transactionId="same"))
            plain = [http.post("/me/events", json=event()) for _ in range(2)]
            listed = http.get("/me/events").json()["value"]
    assert first.status_code == 201
    assert [p.status_code for p in plain] == [201, 201]
    if mode == "error":
        assert second.status_code == 400
        assert second.json()["error"]["code"] == "ErrorDuplicateTransactionId"
        assert len(listed) == 3
    else:
        assert second.status_code == 201
        assert second.json()["id"] == first.json()["id"]
        assert len(listed) == 3


def test_events_listing_paging_select_filter(graph_http: httpx.Client) -> None:
    for number in range(12):
        graph_http.post("/me/events", json=event(f"E{number:02}"))
    graph_http.post("/me/events", json=event("Series", recurrence=weekly("2026-03-02")))
    page = graph_http.get("/me/events").json()
    assert len(page["value"]) == 10
    rest = httpx.get(page["@odata.nextLink"], headers=graph_http.headers).json()
    assert len(rest["value"]) == 3
    assert "@odata.nextLink" not in rest
    kinds = {e["type"] for e in page["value"] + rest["value"]}
    assert kinds == {"singleInstance", "seriesMaster"}

    top = graph_http.get(
        "/me/events", params={"$top": "5", "$select": "subject", "$count": "true"}
    ).json()
    assert len(top["value"]) == 5
    assert top["@odata.count"] == 13
    assert set(top["value"][0]) == {"@odata.etag", "id", "subject"}
    assert "$skip=5" in top["@odata.nextLink"]

    found = graph_http.get("/me/events", params={"$filter": "subject eq 'E03'"}).json()["value"]
    assert [e["subject"] for e in found] == ["E03"]
    refused = graph_http.get("/me/events", params={"$filter": "transactionId eq 'x'"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadRequest"
    assert refused.json()["error"]["message"].startswith("Invalid filter clause")
    ordered = graph_http.get("/me/events", params={"$orderby": "subject desc", "$top": "2"}).json()[
        "value"
    ]
    assert [e["subject"] for e in ordered] == ["Series", "E11"]


def test_calendar_view_requires_both_parameters(graph_http: httpx.Client) -> None:
    for params in (
        {},
        {"startDateTime": "2026-01-01T00:00:00Z"},
        {"startDateTime": "", "endDateTime": "2026-02-01T00:00:00Z"},
    ):
        answer = graph_http.get("/me/calendarView", params=params)
        assert answer.status_code == 400
    graph_http.post(
        "/me/events", json=event(start="2026-01-10T10:00:00", end="2026-01-10T11:00:00")
    )
    graph_http.post(
        "/me/events", json=event(start="2026-03-10T10:00:00", end="2026-03-10T11:00:00")
    )
    window = {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-02-01T00:00:00Z"}
    found = graph_http.get("/me/calendarView", params=window).json()["value"]
    assert [e["start"]["dateTime"] for e in found] == ["2026-01-10T10:00:00.0000000"]


def test_unknown_route_and_method(graph_http: httpx.Client) -> None:
    assert graph_http.get("/me/nothing").status_code == 400
    assert graph_http.put("/me/events").status_code == 405


def test_text_bodies_on_request_and_change_observers(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, graph_bob: GraphMailbox
) -> None:
    seen: list[tuple[str, str, str]] = []
    graph_emulator.observe(lambda box, item_id, change: seen.append((box, item_id, change)))
    created = graph_http.post(
        "/me/events",
        json=event(
            body={"contentType": "html", "content": "<p>Hello &amp; bye</p>"},
            attendees=(graph_bob.email,),
        ),
    ).json()
    text = graph_http.get(
        f"/me/events/{created['id']}", headers={"Prefer": 'outlook.body-content-type="text"'}
    ).json()
    assert text["body"] == {"contentType": "text", "content": "Hello & bye"}
    graph_http.patch(f"/me/events/{created['id']}", json={"subject": "New"})
    graph_http.delete(f"/me/events/{created['id']}")
    copy_id = graph_emulator.events(graph_bob)[0]["id"]
    assert seen == [
        ("alice@example.com", created["id"], "created"),
        ("bob@example.com", copy_id, "created"),
        ("alice@example.com", created["id"], "updated"),
        ("alice@example.com", created["id"], "deleted"),
        ("bob@example.com", copy_id, "updated"),
    ]


def test_stable_ids_are_the_same_in_every_emulator_given_the_same_calls() -> None:
    def ids(**options: object) -> list[tuple[str, str]]:
        with GraphEmulator(**options) as graph:  # type: ignore[arg-type]
            box = graph.add_mailbox("alice@example.com")
            made = [graph.create_event(box, event(f"E{n}")) for n in range(3)]
            return [(e["id"], e["iCalUId"]) for e in made]

    assert ids(stable_ids=True) == ids(stable_ids=True)
    assert ids(stable_ids=True, seed=1) != ids(stable_ids=True)
    assert ids() != ids(), "random by default"


def test_string_typed_primitives_are_read_as_graph_reads_them(graph_http: httpx.Client) -> None:
    """OData's reader converts a JSON string to the model's primitive type (see _content)."""
    made = graph_http.post(
        "/me/events",
        json=event("Strings", isOnlineMeeting="false", isReminderOn=" TRUE ",
                   reminderMinutesBeforeStart="45"),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["isOnlineMeeting"], body["isReminderOn"]) == (False, True)
    assert body["reminderMinutesBeforeStart"] == 45
    patched = graph_http.patch(f"/me/events/{body['id']}", json={"isAllDay": "false"})
    assert patched.status_code == 200, patched.text
    for wrong in ({"isOnlineMeeting": "yes"}, {"isOnlineMeeting": 1}, {"isAllDay": "0"}):
        refused = graph_http.patch(f"/me/events/{body['id']}", json=wrong)
        assert refused.status_code == 400, wrong
        assert refused.json()["error"]["code"] == "RequestBodyRead"


@pytest.mark.parametrize(
    ("expression", "subjects"),
    [
        ("start/dateTime ge '2026-03-03T00:00'", ["Wed", "Thu"]),
        ("start/dateTime ge '2026-03-03T00:00' and end/dateTime lt '2026-03-04T09:30'", ["Wed"]),
        ("start/dateTime lt 2026-03-03T09:00:00+01:00", ["Tue"]),
        ("end/dateTime lt '2026-03-04T10:00:00Z'", ["Tue", "Wed"]),
        ("start/dateTime ne '2026-03-03T09:00:00' and subject eq 'Thu'", ["Thu"]),
    ],
)
def test_events_filtered_by_start_and_end(
    graph_http: httpx.Client, expression: str, subjects: list[str]
) -> None:
    """Graph's $filter page: ``~/me/events?$filter=start/dateTime ge '2017-07-01T08:00'``."""
    for day, name in ((2, "Tue"), (3, "Wed"), (4, "Thu")):
        times = {
            "start": {"dateTime": f"2026-03-0{day}T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-03-0{day}T10:00:00", "timeZone": "UTC"},
        }
        graph_http.post("/me/events", json={**event(name), **times})
    found = graph_http.get(
        "/me/events", params={"$filter": expression, "$orderby": "start/dateTime"}
    )
    assert found.status_code == 200, found.text
    assert [e["subject"] for e in found.json()["value"]] == subjects


@pytest.mark.parametrize(
    "expression",
    ["start/dateTime ge 'soon'", "start/dateTime between '2026-03-03'", "responseStatus eq 'x'"],
)
def test_a_filter_graph_cannot_read_is_a_bad_request(
    graph_http: httpx.Client, expression: str
) -> None:
    refused = graph_http.get("/me/events", params={"$filter": expression})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Invalid filter clause")
