"""Event bodies for the GraphEmulator tests."""

from __future__ import annotations

from typing import Any


def when(stamp: str, zone: str = "UTC") -> dict[str, str]:
    """A ``dateTimeTimeZone``."""
    return {"dateTime": stamp, "timeZone": zone}


def event(
    subject: str = "Meeting",
    start: str = "2026-03-02T10:00:00",
    end: str = "2026-03-02T11:00:00",
    zone: str = "UTC",
    *,
    attendees: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """A POST body for a single event (extra keys are added as they are)."""
    body: dict[str, Any] = {
        "subject": subject,
        "start": when(start, zone),
        "end": when(end, zone),
    }
    if attendees:
        body["attendees"] = [
            {"type": "required", "emailAddress": {"address": a, "name": a.split("@")[0]}}
            for a in attendees
        ]
    body.update(extra)
    return body


def weekly(start_date: str, days: tuple[str, ...] = ("monday",), **range_: Any) -> dict[str, Any]:
    """A weekly ``patternedRecurrence`` (numbered 5 unless the range says otherwise)."""
    span = {"type": "numbered", "numberOfOccurrences": 5, "startDate": start_date, **range_}
    return {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "daysOfWeek": list(days),
            "firstDayOfWeek": "sunday",
        },
        "range": span,
    }


def recurrence(pattern: dict[str, Any], start_date: str, **range_: Any) -> dict[str, Any]:
    """A ``patternedRecurrence`` with a numbered range (6 unless told otherwise)."""
    span = {"type": "numbered", "numberOfOccurrences": 6, "startDate": start_date, **range_}
    return {"pattern": pattern, "range": span}
