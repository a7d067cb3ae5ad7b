"""calendarView/delta in GraphEmulator: page shape, paging, incremental rounds, tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from graph_bodies import event, weekly

from calsync.testing import GraphEmulator

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
STUB_KEYS = {"@odata.type", "@odata.etag", "id", "type", "seriesMasterId", "start", "end"}


def _round(
    http: httpx.Client, link: str | None = None, *, size: int = 2, prefer: str = ""
) -> tuple[list[list[dict[str, Any]]], str]:
    """Follow one delta round to its end: (pages, deltaLink)."""
    headers = {"Prefer": f"odata.maxpagesize={size}" + (f", {prefer}" if prefer else "")}
    if link is None:
        answer = http.get("/me/calendarView/delta()", params=WINDOW, headers=headers)
    else:
        answer = http.get(link, headers=headers)
    pages = []
    while True:
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page["value"])
        if "@odata.deltaLink" in page:
            assert "@odata.nextLink" not in page
            return pages, page["@odata.deltaLink"]
        answer = http.get(page["@odata.nextLink"], headers=headers)


def _day(day: int, subject: str | None = None) -> dict[str, Any]:
    return event(
        subject or f"Day {day}", f"2026-03-{day:02}T10:00:00", f"2026-03-{day:02}T11:00:00"
    )


def test_initial_and_incremental_rounds(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    ids = [graph_http.post("/me/events", json=_day(day)).json()["id"] for day in range(2, 9)]
    graph_http.post(
        "/me/events",
        json=_day(2, "Outside")
        | {
            "start": {"dateTime": "2026-05-02T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-05-02T11:00:00", "timeZone": "UTC"},
        },
    )
    first = graph_http.get(
        "/me/calendarView/delta()", params=WINDOW, headers={"Prefer": "odata.maxpagesize=2"}
    ).json()
    next_link = first["@odata.nextLink"]
    assert next_link.startswith(f"{graph_emulator.url}/v1.0/me/calendarView/delta?")
    assert "$skiptoken" in parse_qs(urlsplit(next_link).query)
    # Following the same nextLink again gives the same page.
    again = [graph_http.get(next_link).json()["value"] for _ in range(2)]
    assert again[0] == again[1]

    pages, delta_link = _round(graph_http)
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    items = [item for page in pages for item in page]
    assert [item["id"] for item in items] == ids
    assert all(item["type"] == "singleInstance" and "subject" in item for item in items)
    assert all(item["IsDraft"] is False and "AllowNewTimeProposals" in item for item in items)
    assert "$deltatoken" in parse_qs(urlsplit(delta_link).query)

    graph_http.patch(f"/me/events/{ids[0]}", json={"subject": "Changed"})
    graph_http.delete(f"/me/events/{ids[1]}")
    graph_http.patch(
        f"/me/events/{ids[2]}",
        json={
            "start": {"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-01T11:00:00", "timeZone": "UTC"},
        },
    )
    added = graph_http.post("/me/events", json=_day(20, "Added")).json()["id"]
    pages, next_delta = _round(graph_http, delta_link)
    changes = [item for page in pages for item in page]
    assert [(c["id"], c.get("subject"), "@removed" in c) for c in changes] == [
        (ids[0], "Changed", False),
        (added, "Added", False),
        (ids[1], None, True),
        (ids[2], None, True),
    ]
    assert changes[2] == {"id": ids[1], "@removed": {"reason": "deleted"}}

    pages, _ = _round(graph_http, next_delta)
    assert pages == [[]]
    # The old token still replays its own round's changes.
    replay, _ = _round(graph_http, delta_link)
    assert len([item for page in replay for item in page]) == 4


def test_series_shape_and_occurrence_deletion(graph_http: httpx.Client) -> None:
    master = graph_http.post(
        "/me/events",
        json=event(
            "Series",
            "2026-03-02T10:00:00",
            "2026-03-02T11:00:00",
            recurrence=weekly("2026-03-02", numberOfOccurrences=4),
        ),
    ).json()
    single = graph_http.post("/me/events", json=_day(1)).json()
    instances = graph_http.get(f"/me/events/{master['id']}/instances", params=WINDOW).json()
    occ = [i["id"] for i in instances["value"]]
    graph_http.patch(f"/me/events/{occ[1]}", json={"subject": "Special"})
    graph_http.delete(f"/me/events/{occ[2]}")

    pages, delta_link = _round(graph_http, size=2)
    assert [len(page) for page in pages] == [1, 4]  # a series is never split across pages
    assert pages[0][0]["id"] == single["id"]
    unit = pages[1]
    assert unit[0]["id"] == master["id"]
    assert unit[0]["type"] == "seriesMaster"
    assert unit[0]["recurrence"]["pattern"]["type"] == "weekly"
    assert [item["id"] for item in unit[1:]] == [occ[0], occ[1], occ[3]]
    exception = unit[2]
    assert exception["type"] == "exception"
    assert exception["subject"] == "Special"
    assert exception["seriesMasterId"] == master["id"]
    assert exception["originalStart"] == "2026-03-09T10:00:00.0000000Z"
    for stub in (unit[1], unit[3]):
        assert set(stub) == STUB_KEYS
        assert stub["type"] == "occurrence"
        assert stub["@odata.type"] == "#microsoft.graph.event"
    assert not any("@removed" in item for page in pages for item in page)

    graph_http.delete(f"/me/events/{occ[3]}")
    pages, delta_link = _round(graph_http, delta_link, size=10)
    again = [item for page in pages for item in page]
    assert [item["id"] for item in again] == [master["id"], occ[0], occ[1]]
    assert not any("@removed" in item for item in again)

    graph_http.delete(f"/me/events/{master['id']}")
    pages, _ = _round(graph_http, delta_link, size=10)
    removed = [item for page in pages for item in page]
    assert removed == [
        {"id": event_id, "@removed": {"reason": "deleted"}}
        for event_id in (master["id"], occ[0], occ[1])
    ]


def test_prefer_time_zone_and_calendar_path(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_http.post("/me/events", json=_day(3))
    calendar = graph_emulator.mailbox("alice@example.com").calendar_id
    answer = graph_http.get(
        f"/me/calendars/{calendar}/calendarView/delta",
        params=WINDOW,
        headers={"Prefer": 'outlook.timezone="Europe/Brussels", odata.maxpagesize=5'},
    )
    page = answer.json()
    assert page["value"][0]["start"] == {
        "dateTime": "2026-03-03T11:00:00.0000000",
        "timeZone": "Europe/Brussels",
    }
    assert "odata.maxpagesize=5" in answer.headers["Preference-Applied"]
    assert f"/calendars/{calendar}/calendarView/delta" in page["@odata.deltaLink"]


def test_expired_and_unknown_tokens_are_410(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    graph_http.post("/me/events", json=_day(3))
    graph_http.post("/me/events", json=_day(4))
    first = graph_http.get(
        "/me/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=1"}
    ).json()
    _, delta_link = _round(graph_http)
    graph_emulator.expire_delta_tokens("alice@example.com")
    for link in (delta_link, first["@odata.nextLink"]):
        gone = graph_http.get(link)
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "syncStateNotFound"
        assert "startDateTime=" in gone.headers["Location"]
    unknown = graph_http.get("/me/calendarView/delta", params={"$deltatoken": "nope"})
    assert unknown.status_code == 410
    assert "Location" not in unknown.headers
    pages, _ = _round(graph_http)
    assert len([item for page in pages for item in page]) == 2


@pytest.mark.parametrize("option", ["$select", "$filter", "$orderby", "$expand"])
def test_unsupported_query_options_are_400(graph_http: httpx.Client, option: str) -> None:
    answer = graph_http.get("/me/calendarView/delta", params={**WINDOW, option: "subject"})
    assert answer.status_code == 400


def test_window_is_required(graph_http: httpx.Client) -> None:
    answer = graph_http.get(
        "/me/calendarView/delta", params={"startDateTime": "", "endDateTime": ""}
    )
    assert answer.status_code == 400


def test_stray_keys_can_be_switched_off() -> None:
    with GraphEmulator(stray_keys=False) as graph:
        alice = graph.add_mailbox("alice@example.com")
        graph.create_event(alice, _day(3))
        headers = {"Authorization": f"Bearer {alice.token}"}
        page = httpx.get(f"{graph.base_url}/me/calendarView/delta", params=WINDOW, headers=headers)
    item = page.json()["value"][0]
    assert "IsDraft" not in item
    assert item["isDraft"] is False
