"""The mail log: every meeting message Outlook would send, rule by rule."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from graph_bodies import event, weekly

from calsync.testing import GraphEmulator, MailMessage

if TYPE_CHECKING:
    import httpx

    from calsync.testing import GraphMailbox

ALICE = "alice@example.com"
WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-05-01T00:00:00Z"}


def _sent(graph: GraphEmulator) -> list[tuple[str, str]]:
    return [(m.kind, m.recipient) for m in graph.mail_log(ALICE)]


def _meeting(http: httpx.Client, *attendees: str, **extra: Any) -> dict[str, Any]:
    answer = http.post("/me/events", json=event("Sync", attendees=attendees, **extra))
    assert answer.status_code == 201
    return answer.json()


def test_create_invites_each_attendee(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    created = _meeting(graph_http, "Carol@Example.com", "dan@example.com", ALICE)
    assert graph_emulator.mail_log() == [
        MailMessage(
            kind="invitation",
            mailbox=ALICE,
            recipient=recipient,
            subject="Sync",
            event_id=created["id"],
            ical_uid=created["iCalUId"],
        )
        for recipient in ("carol@example.com", "dan@example.com")
    ]


def test_no_attendees_no_mail(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    created = _meeting(graph_http)
    graph_http.patch(f"/me/events/{created['id']}", json={"location": {"displayName": "Moved"}})
    graph_http.delete(f"/me/events/{created['id']}")
    assert graph_emulator.mail_log() == []


def test_patch_rules(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    created = _meeting(graph_http, "carol@example.com", "dan@example.com")
    url = f"/me/events/{created['id']}"
    graph_emulator.clear_mail_log()

    graph_http.patch(
        url, json={"subject": "Renamed", "body": {"contentType": "text", "content": "x"}}
    )
    assert _sent(graph_emulator) == []

    graph_http.patch(url, json={"location": {"displayName": "Room 9"}})
    assert _sent(graph_emulator) == [("update", "carol@example.com"), ("update", "dan@example.com")]
    assert {m.subject for m in graph_emulator.mail_log()} == {"Renamed"}
    graph_emulator.clear_mail_log()

    attendees = [
        *created["attendees"][1:],
        {"type": "optional", "emailAddress": {"address": "erin@example.com"}},
    ]
    graph_http.patch(
        url,
        json={
            "attendees": attendees,
            "start": {"dateTime": "2026-03-02T12:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T13:00:00", "timeZone": "UTC"},
        },
    )
    assert _sent(graph_emulator) == [
        ("invitation", "erin@example.com"),
        ("cancellation", "carol@example.com"),
        ("update", "dan@example.com"),
    ]
    graph_emulator.clear_mail_log()

    graph_http.delete(url)
    assert _sent(graph_emulator) == [
        ("cancellation", "dan@example.com"),
        ("cancellation", "erin@example.com"),
    ]


def test_cancel_mails_like_delete(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    created = _meeting(graph_http, "carol@example.com")
    graph_emulator.clear_mail_log()
    answer = graph_http.post(f"/me/events/{created['id']}/cancel", json={"comment": "Sorry"})
    assert answer.status_code == 202
    assert _sent(graph_emulator) == [("cancellation", "carol@example.com")]
    assert graph_http.get(f"/me/events/{created['id']}").status_code == 404


def test_instance_rules(graph_emulator: GraphEmulator, graph_http: httpx.Client) -> None:
    master = _meeting(graph_http, "carol@example.com", recurrence=weekly("2026-03-02"))
    occurrences = graph_http.get(f"/me/events/{master['id']}/instances", params=WINDOW).json()
    first, second = occurrences["value"][:2]
    graph_emulator.clear_mail_log()

    graph_http.patch(f"/me/events/{first['id']}", json={"subject": "Only the title"})
    assert graph_emulator.mail_log() == []

    graph_http.patch(f"/me/events/{first['id']}", json={"location": {"displayName": "Lab"}})
    graph_http.delete(f"/me/events/{second['id']}")
    assert graph_emulator.mail_log() == [
        MailMessage(
            kind="update",
            mailbox=ALICE,
            recipient="carol@example.com",
            subject="Only the title",
            event_id=first["id"],
            ical_uid=first["iCalUId"],
            original_start=datetime(2026, 3, 2, 10, tzinfo=timezone.utc),
            series_master_id=master["id"],
        ),
        MailMessage(
            kind="cancellation",
            mailbox=ALICE,
            recipient="carol@example.com",
            subject="Sync",
            event_id=second["id"],
            ical_uid=second["iCalUId"],
            original_start=datetime(2026, 3, 9, 10, tzinfo=timezone.utc),
            series_master_id=master["id"],
        ),
    ]


def test_series_patch_mails_master_and_each_modified_instance(
    graph_emulator: GraphEmulator, graph_http: httpx.Client
) -> None:
    master = _meeting(
        graph_http, "carol@example.com", "dan@example.com", recurrence=weekly("2026-03-02")
    )
    occurrences = graph_http.get(f"/me/events/{master['id']}/instances", params=WINDOW).json()
    modified = [o["id"] for o in occurrences["value"][1:3]]
    for occurrence_id in modified:
        graph_http.patch(f"/me/events/{occurrence_id}", json={"subject": "Changed"})
    graph_emulator.clear_mail_log()
    graph_http.patch(f"/me/events/{master['id']}", json={"location": {"displayName": "Hall"}})
    log = graph_emulator.mail_log()
    assert [(m.kind, m.recipient, m.event_id) for m in log] == [
        ("update", "carol@example.com", master["id"]),
        ("update", "dan@example.com", master["id"]),
        ("update", "carol@example.com", modified[0]),
        ("update", "dan@example.com", modified[0]),
        ("update", "carol@example.com", modified[1]),
        ("update", "dan@example.com", modified[1]),
    ]
    assert [m.original_start is None for m in log] == [True, True, False, False, False, False]


def test_attendee_side_and_rsvp(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, graph_bob: GraphMailbox
) -> None:
    created = _meeting(graph_http, graph_bob.email, "carol@example.com")
    copy = graph_emulator.events(graph_bob)[0]
    assert copy["iCalUId"] == created["iCalUId"]
    assert copy["isOrganizer"] is False
    assert copy["responseStatus"]["response"] == "notResponded"
    graph_emulator.clear_mail_log()

    bob = {"Authorization": f"Bearer {graph_bob.token}"}
    url = f"/me/events/{copy['id']}"
    assert graph_http.patch(url, json={"categories": ["Mine"]}, headers=bob).status_code == 200
    answer = graph_http.post(f"{url}/tentativelyAccept", json={"sendResponse": False}, headers=bob)
    assert answer.status_code == 202
    assert graph_emulator.mail_log() == []
    assert (
        graph_emulator.get_event(ALICE, created["id"])["attendees"][0]["status"]["response"]
        == "none"
    )

    graph_http.post(f"{url}/decline", json={"comment": "No"}, headers=bob)
    assert graph_emulator.mail_log() == [
        MailMessage(
            kind="response",
            mailbox="bob@example.com",
            recipient=ALICE,
            subject="Sync",
            event_id=copy["id"],
            ical_uid=created["iCalUId"],
            response="declined",
        )
    ]
    statuses = graph_emulator.get_event(ALICE, created["id"])["attendees"]
    assert [a["status"]["response"] for a in statuses] == ["declined", "none"]
    own = graph_emulator.get_event(graph_bob, copy["id"])
    assert own["responseStatus"]["response"] == "declined"
    assert own["categories"] == ["Mine"]
    assert graph_http.post(f"/me/events/{created['id']}/accept", json={}).status_code == 400


def test_delivery_follows_updates_and_cancellation(
    graph_emulator: GraphEmulator, graph_http: httpx.Client, graph_bob: GraphMailbox
) -> None:
    created = _meeting(graph_http, graph_bob.email)
    graph_http.patch(f"/me/events/{created['id']}", json={"location": {"displayName": "Hall"}})
    (copy,) = graph_emulator.events(graph_bob)
    assert copy["location"]["displayName"] == "Hall"
    graph_http.delete(f"/me/events/{created['id']}")
    (copy,) = graph_emulator.events(graph_bob)
    assert copy["isCancelled"] is True


def test_direct_helpers_mail_like_outlook(
    graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    quiet = graph_emulator.create_event(
        graph_alice, event(attendees=("carol@example.com",)), notify=False
    )
    assert graph_emulator.mail_log() == []
    loud = graph_emulator.create_event(graph_alice, event(attendees=("carol@example.com",)))
    graph_emulator.update_event(graph_alice, loud["id"], {"location": {"displayName": "X"}})
    graph_emulator.respond(graph_alice, loud["id"], "carol@example.com", "accepted")
    graph_emulator.delete_event(graph_alice, quiet["id"])
    assert [(m.kind, m.event_id) for m in graph_emulator.mail_log(graph_alice)] == [
        ("invitation", loud["id"]),
        ("update", loud["id"]),
        ("cancellation", quiet["id"]),
    ]
    assert (
        graph_emulator.get_event(graph_alice, loud["id"])["attendees"][0]["status"]["response"]
        == "accepted"
    )
    assert graph_emulator.request_count() == 0
    seeded = graph_emulator.seed_event(graph_alice, event("Invited"), organizer="zed@example.com")
    assert seeded["isOrganizer"] is False
    assert seeded["organizer"]["emailAddress"]["address"] == "zed@example.com"
    assert len(graph_emulator.mail_log()) == 3
