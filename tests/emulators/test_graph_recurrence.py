"""Series in GraphEmulator: Outlook's expansion, validation, exceptions and cancellations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from graph_bodies import event, recurrence, weekly

if TYPE_CHECKING:
    import httpx

WINDOW = {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2032-01-01T00:00:00Z"}


def _view(http: httpx.Client, prefer: str | None = None, **window: str) -> list[dict[str, Any]]:
    headers = {"Prefer": prefer} if prefer else {}
    params = {**WINDOW, **window}
    found: list[dict[str, Any]] = []
    answer = http.get("/me/calendarView", params=params, headers=headers).json()
    found += answer["value"]
    while "@odata.nextLink" in answer:
        answer = http.get(answer["@odata.nextLink"], headers=headers).json()
        found += answer["value"]
    return found


def _starts(events: list[dict[str, Any]]) -> list[str]:
    return [e["start"]["dateTime"][:16] for e in events]


def _series(http: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = http.post("/me/events", json=event("Series", **body))
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.mark.parametrize("zone", ["Europe/Brussels", "W. Europe Standard Time"])
def test_weekly_series_keeps_wall_clock_across_dst(graph_http: httpx.Client, zone: str) -> None:
    _series(
        graph_http,
        start="2026-03-16T10:00:00",
        end="2026-03-16T11:00:00",
        zone=zone,
        recurrence=weekly("2026-03-16", numberOfOccurrences=4),
    )
    assert _starts(_view(graph_http)) == [
        "2026-03-16T09:00",
        "2026-03-23T09:00",
        "2026-03-30T08:00",
        "2026-04-06T08:00",
    ]
    local = _view(graph_http, prefer=f'outlook.timezone="{zone}"')
    assert _starts(local) == [
        "2026-03-16T10:00",
        "2026-03-23T10:00",
        "2026-03-30T10:00",
        "2026-04-06T10:00",
    ]
    assert {e["start"]["timeZone"] for e in local} == {zone}
    assert {e["type"] for e in local} == {"occurrence"}


def test_recurrence_time_zone_drives_expansion(graph_http: httpx.Client) -> None:
    span = weekly("2026-10-19", numberOfOccurrences=2)
    span["range"]["recurrenceTimeZone"] = "Pacific Standard Time"
    _series(graph_http, start="2026-10-19T17:00:00", end="2026-10-19T18:00:00", recurrence=span)
    # 17:00 UTC is 10:00 in Los Angeles; the series stays at 10:00 there after
    # Europe's DST end (Oct 25) and moves in UTC only after the US one (Nov 1).
    assert _starts(_view(graph_http)) == ["2026-10-19T17:00", "2026-10-26T17:00"]


PATTERNS = [
    pytest.param(
        {"type": "daily", "interval": 3},
        "2026-01-30",
        ["2026-01-30", "2026-02-02", "2026-02-05", "2026-02-08", "2026-02-11", "2026-02-14"],
        id="daily-interval",
    ),
    pytest.param(
        {
            "type": "weekly",
            "interval": 2,
            "daysOfWeek": ["monday", "wednesday"],
            "firstDayOfWeek": "sunday",
        },
        "2026-01-06",
        ["2026-01-07", "2026-01-19", "2026-01-21", "2026-02-02", "2026-02-04", "2026-02-16"],
        id="weekly-interval-counts-from-first-occurrence",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
        "2026-01-31",
        ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30"],
        id="month-end-falls-on-last-day",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 15},
        "2026-01-20",
        ["2026-02-15", "2026-04-15", "2026-06-15", "2026-08-15", "2026-10-15", "2026-12-15"],
        id="interval-from-first-occurrence",
    ),
    pytest.param(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
        "2026-01-01",
        ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29", "2026-06-26"],
        id="last-friday",
    ),
    pytest.param(
        {
            "type": "relativeMonthly",
            "interval": 1,
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "index": "first",
        },
        "2026-01-01",
        ["2026-01-01", "2026-02-02", "2026-03-02", "2026-04-01", "2026-05-01", "2026-06-01"],
        id="first-weekday",
    ),
    pytest.param(
        {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["thursday"], "index": "first"},
        "2026-08-29",  # Graph's page uses 2017-08-29: the first occurrence is in September
        ["2026-09-03", "2026-11-05", "2027-01-07", "2027-03-04", "2027-05-06", "2027-07-01"],
        id="graph-docs-first-thursday-every-2-months-from-august-29",
    ),
    pytest.param(
        {
            "type": "relativeMonthly",
            "interval": 3,
            "daysOfWeek": ["thursday", "friday"],
            "index": "second",
        },
        "2026-01-01",
        ["2026-01-02", "2026-04-03", "2026-07-03", "2026-10-02", "2027-01-07", "2027-04-02"],
        id="second-thursday-or-friday-every-3-months",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 30},
        "2028-01-30",
        ["2028-01-30", "2028-02-29", "2028-03-30", "2028-04-30", "2028-05-30", "2028-06-30"],
        id="day-30-on-february-29-in-a-leap-year",
    ),
    pytest.param(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "2026-01-01",
        ["2026-01-06", "2026-02-03", "2026-03-03", "2026-04-07", "2026-05-05", "2026-06-02"],
        id="index-defaults-to-first",
    ),
    pytest.param(
        {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2},
        "2024-02-29",
        ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"],
        id="feb-29-on-feb-28",
    ),
    pytest.param(
        {
            "type": "relativeYearly",
            "interval": 1,
            "daysOfWeek": ["thursday"],
            "index": "fourth",
            "month": 11,
        },
        "2026-01-01",
        ["2026-11-26", "2027-11-25", "2028-11-23", "2029-11-22", "2030-11-28", "2031-11-27"],
        id="fourth-thursday-of-november",
    ),
]


@pytest.mark.parametrize(("pattern", "start", "expected"), PATTERNS)
def test_pattern_types(
    graph_http: httpx.Client, pattern: dict[str, Any], start: str, expected: list[str]
) -> None:
    _series(
        graph_http,
        start=f"{start}T10:00:00",
        end=f"{start}T11:00:00",
        recurrence=recurrence(pattern, start),
    )
    assert [s[:10] for s in _starts(_view(graph_http))] == expected


def test_end_date_and_no_end_ranges(graph_http: httpx.Client) -> None:
    daily = {"type": "daily", "interval": 1}
    _series(
        graph_http,
        start="2026-05-01T10:00:00",
        end="2026-05-01T11:00:00",
        recurrence={
            "pattern": daily,
            "range": {"type": "endDate", "startDate": "2026-05-01", "endDate": "2026-05-03"},
        },
    )
    _series(
        graph_http,
        start="2026-05-01T12:00:00",
        end="2026-05-01T13:00:00",
        recurrence={"pattern": daily, "range": {"type": "noEnd", "startDate": "2026-05-01"}},
    )
    found = _view(
        graph_http, startDateTime="2026-05-02T00:00:00Z", endDateTime="2026-05-05T00:00:00Z"
    )
    assert _starts(found) == [
        "2026-05-02T10:00",
        "2026-05-02T12:00",
        "2026-05-03T10:00",
        "2026-05-03T12:00",
        "2026-05-04T12:00",
    ]
    far = _view(
        graph_http, startDateTime="2031-05-01T00:00:00Z", endDateTime="2031-05-02T00:00:00Z"
    )
    assert _starts(far) == ["2031-05-01T12:00"]


BAD = [
    pytest.param(
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "dayOfMonth": 0},
        "2026-03-02",
        id="dayOfMonth-on-weekly",
    ),
    pytest.param(
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
        "2026-03-02",
        id="index-on-weekly",
    ),
    pytest.param({"type": "weekly", "interval": 1}, "2026-03-02", id="weekly-without-days"),
    pytest.param({"type": "daily", "interval": 1, "month": 3}, "2026-03-02", id="month-on-daily"),
    pytest.param({"type": "daily", "interval": 0}, "2026-03-02", id="interval-zero"),
    pytest.param({"type": "hourly", "interval": 1}, "2026-03-02", id="unknown-type"),
    pytest.param({"type": "daily", "interval": 1}, "2026-03-03", id="startDate-not-start"),
]


@pytest.mark.parametrize(("pattern", "start_date"), BAD)
def test_invalid_recurrences_are_400(
    graph_http: httpx.Client, pattern: dict[str, Any], start_date: str
) -> None:
    answer = graph_http.post(
        "/me/events",
        json=event(
            start="2026-03-02T10:00:00",
            end="2026-03-02T11:00:00",
            recurrence=recurrence(pattern, start_date),
        ),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorInvalidRequest"


def test_recurrence_reads_back_filled(graph_http: httpx.Client) -> None:
    master = _series(
        graph_http,
        start="2026-03-02T10:00:00",
        end="2026-03-02T11:00:00",
        zone="Europe/Brussels",
        recurrence=weekly("2026-03-02"),
    )
    assert master["type"] == "seriesMaster"
    assert master["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "numbered",
            "startDate": "2026-03-02",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "Romance Standard Time",
            "numberOfOccurrences": 5,
        },
    }
    # Writing the filled form back breaks the "send only what is needed" rule.
    rewrite = graph_http.patch(
        f"/me/events/{master['id']}", json={"recurrence": master["recurrence"]}
    )
    assert rewrite.status_code == 400


def _occurrences(http: httpx.Client, master_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/me/events/{master_id}/instances", params=WINDOW)
    assert answer.status_code == 200
    return answer.json()["value"]


def test_occurrences_exceptions_and_cancellations(graph_http: httpx.Client) -> None:
    master = _series(
        graph_http,
        start="2026-03-02T10:00:00",
        end="2026-03-02T11:00:00",
        recurrence=weekly("2026-03-02", numberOfOccurrences=4),
    )
    first, second, third, fourth = _occurrences(graph_http, master["id"])
    assert len({o["iCalUId"] for o in (master, first, second, third, fourth)}) == 5
    assert first["originalStart"] == "2026-03-02T10:00:00.0000000Z"
    assert first["recurrence"] is None
    assert first["seriesMasterId"] == master["id"]

    moved = graph_http.patch(
        f"/me/events/{second['id']}",
        json={
            "subject": "Moved",
            "start": {"dateTime": "2026-03-10T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-10T15:00:00", "timeZone": "UTC"},
        },
    )
    assert moved.status_code == 200
    exception = moved.json()
    assert exception["type"] == "exception"
    assert exception["id"] == second["id"]
    assert exception["originalStart"] == second["originalStart"]
    assert exception["subject"] == "Moved"

    crossing = graph_http.patch(
        f"/me/events/{third['id']}",
        json={
            "start": {"dateTime": "2026-03-23T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-23T11:00:00", "timeZone": "UTC"},
        },
    )
    assert crossing.status_code == 400
    assert crossing.json()["error"]["code"] == "ErrorOccurrenceCrossingBoundary"
    onto = graph_http.patch(
        f"/me/events/{third['id']}",
        json={
            "start": {"dateTime": "2026-03-10T18:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-10T19:00:00", "timeZone": "UTC"},
        },
    )
    assert onto.status_code == 400

    assert graph_http.delete(f"/me/events/{third['id']}").status_code == 204
    assert graph_http.get(f"/me/events/{third['id']}").status_code == 404
    assert [o["id"] for o in _occurrences(graph_http, master["id"])] == [
        first["id"],
        second["id"],
        fourth["id"],
    ]
    # A series-wide subject change reaches exceptions that kept the subject.
    graph_http.patch(f"/me/events/{master['id']}", json={"subject": "Renamed"})
    graph_http.patch(f"/me/events/{fourth['id']}", json={"location": {"displayName": "Annex"}})
    subjects = [o["subject"] for o in _occurrences(graph_http, master["id"])]
    assert subjects == ["Renamed", "Moved", "Renamed"]

    selected = graph_http.get(
        f"/me/events/{master['id']}",
        params={"$select": "subject,cancelledOccurrences", "$expand": "exceptionOccurrences"},
    ).json()
    # Graph lists cancelled occurrences as OID.{master id}.{date in the series' zone}.
    third_day = third["originalStart"][:10]
    assert selected["cancelledOccurrences"] == [f"OID.{master['id']}.{third_day}"]
    assert [e["id"] for e in selected["exceptionOccurrences"]] == [second["id"], fourth["id"]]
    plain = graph_http.get(f"/me/events/{master['id']}").json()
    assert "cancelledOccurrences" not in plain
    assert "exceptionOccurrences" not in plain

    # Moving the series regenerates it: exceptions and cancellations are gone.
    graph_http.patch(
        f"/me/events/{master['id']}",
        json={
            "start": {"dateTime": "2026-03-02T12:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T13:00:00", "timeZone": "UTC"},
        },
    )
    regenerated = _occurrences(graph_http, master["id"])
    assert [o["type"] for o in regenerated] == ["occurrence"] * 4
    assert [o["start"]["dateTime"][11:16] for o in regenerated] == ["12:00"] * 4
    assert graph_http.get(f"/me/events/{second['id']}").status_code == 404


def test_master_date_move_needs_a_matching_start_date(graph_http: httpx.Client) -> None:
    master = _series(
        graph_http,
        start="2026-03-02T10:00:00",
        end="2026-03-02T11:00:00",
        recurrence=weekly("2026-03-02"),
    )
    url = f"/me/events/{master['id']}"
    moved_start = {
        "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
    }
    assert graph_http.patch(url, json=moved_start).status_code == 400
    both = {**moved_start, "recurrence": weekly("2026-03-03", ("tuesday",))}
    assert graph_http.patch(url, json=both).status_code == 200
    cleared = graph_http.patch(url, json={"recurrence": None}).json()
    assert cleared["type"] == "singleInstance"
    assert cleared["recurrence"] is None


def test_instances_needs_a_window(graph_http: httpx.Client) -> None:
    master = _series(
        graph_http,
        start="2026-03-02T10:00:00",
        end="2026-03-02T11:00:00",
        recurrence=weekly("2026-03-02"),
    )
    assert graph_http.get(f"/me/events/{master['id']}/instances").status_code == 400
    assert graph_http.get("/me/events", params={}).json()["value"][0]["type"] == "seriesMaster"
    view_types = {e["type"] for e in _view(graph_http)}
    assert view_types == {"occurrence"}
