"""python-o365 (PyPI ``O365``), used as its users use it, against GraphEmulator.

The emulator is our users' test tool, and not every user reaches Graph through
msgraph-sdk. python-o365 writes its own JSON: booleans as strings
(``"isOnlineMeeting": "false"``), ranges on ``start/dateTime`` for
``/events``, Windows zone names in ``Prefer``. Its documented extension points
wire it to the emulator: a protocol whose ``_protocol_url`` is the emulator
(``MSGraphProtocol`` subclassed, as its docs say to for another endpoint) and
a token backend (``BaseTokenBackend`` subclassed, as its docs say to for
storing tokens elsewhere) holding the mailbox's bearer token the way msal's
cache holds one after a sign-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from O365 import Account, MSGraphProtocol
from O365.utils import BaseTokenBackend

from calsync.testing import GraphEmulator, GraphMailbox

BRUSSELS = ZoneInfo("Europe/Brussels")
TOKEN_ENDPOINT = "https://login.microsoftonline.com/common/oauth2/v2.0/token"


class MailboxToken(BaseTokenBackend):  # type: ignore[misc]
    """A token backend that holds one emulator mailbox's bearer token (nothing persisted)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def load_token(self) -> bool:
        # What msal stores on a token response: the cache entry python-o365 reads back.
        self.add(
            {
                "client_id": "calsync-tests",
                "scope": ["Calendars.ReadWrite"],
                "token_endpoint": TOKEN_ENDPOINT,
                "response": {"access_token": self._token, "token_type": "Bearer",
                             "expires_in": 3600},
            }
        )  # fmt: skip
        return True

    def save_token(self, force: bool = False) -> bool:
        return True


def account(graph: GraphEmulator, mailbox: GraphMailbox) -> Any:
    """A python-o365 Account on the emulator, as its user would build one."""

    class EmulatedGraph(MSGraphProtocol):  # type: ignore[misc]
        _protocol_url = f"{graph.url}/"

    return Account(
        ("calsync-tests", "not-a-secret"),
        protocol=EmulatedGraph(timezone="Europe/Brussels"),
        token_backend=MailboxToken(mailbox.token),
    )


@pytest.fixture
def calendar(graph_emulator: GraphEmulator, graph_alice: GraphMailbox) -> Any:
    made = account(graph_emulator, graph_alice)
    assert made.is_authenticated
    return made.schedule().get_default_calendar()


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2027, 3, day, hour, tzinfo=BRUSSELS)


def test_python_o365_creates_reads_updates_and_deletes_events(
    calendar: Any, graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    event = calendar.new_event("Planning")
    event.start, event.end = at(1, 9), at(1, 10)
    event.location = "Room 1"
    event.attendees.add("bob@example.com")
    event.remind_before_minutes = 30
    assert event.save()  # a POST with "isOnlineMeeting": "false"
    stored = graph_emulator.get_event(graph_alice, event.object_id)
    assert stored["subject"] == "Planning"
    assert stored["isOnlineMeeting"] is False
    assert stored["reminderMinutesBeforeStart"] == 30
    assert stored["start"] == {"dateTime": "2027-03-01T08:00:00.0000000", "timeZone": "UTC"}

    later = calendar.new_event("Retro")
    later.start, later.end = at(20, 14), at(20, 15)
    assert later.save()

    query = calendar.new_query()
    march_first = query.greater_equal("start", at(1, 0)) & query.less_equal("end", at(2, 0))
    found = list(calendar.get_events(query=march_first, include_recurring=False))
    assert [e.subject for e in found] == ["Planning"]  # the Retro is out of the range
    view = calendar.get_events(start_recurring=at(1, 0), end_recurring=at(31, 0))
    assert sorted(e.subject for e in view) == ["Planning", "Retro"]

    read = calendar.get_event(event.object_id)
    assert read.subject == "Planning"
    assert read.start == at(1, 9)
    assert [a.address for a in read.attendees] == ["bob@example.com"]

    read.subject = "Planning (moved)"
    read.start, read.end = at(2, 9), at(2, 10)
    assert read.save()  # a PATCH of the changed properties
    moved = graph_emulator.get_event(graph_alice, event.object_id)
    assert moved["subject"] == "Planning (moved)"
    assert moved["start"]["dateTime"] == "2027-03-02T08:00:00.0000000"

    assert read.delete()
    assert [e["subject"] for e in graph_emulator.events(graph_alice)] == ["Retro"]
    assert graph_emulator.errors == []
