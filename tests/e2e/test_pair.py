"""The real pair on both emulators: first syncs, several users, held events, the reset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from calsync import ExistingEvents, NextSync, NotificationLimitError
from tests.e2e.world import World, world

GUESTS = ("ann@client.example",)


def seed_both_sides(made: World, login: str) -> None:
    """What a user entered in both calendars by hand before calsync, plus one event each."""
    user = made.users[login]
    # Outlook stores Paris time; the same instants in Odoo's UTC strings.
    user.outlook.create("Kick-off", 10, 9, *GUESTS, location={"displayName": "Room 1"})
    user.odoo.create(
        "Kick-off", "2027-03-10 08:00:00", "2027-03-10 09:00:00", *GUESTS, location="Room 1"
    )
    user.outlook.create("Dentist", 11, 16)
    user.odoo.create("Dentist", "2027-03-11 15:00:00", "2027-03-11 16:00:00")
    user.outlook.create("Outlook only", 12, 10)
    user.odoo.create("Odoo only", "2027-03-13 10:00:00", "2027-03-13 11:00:00")


def test_a_first_sync_links_what_both_sides_already_hold(tmp_path: Path) -> None:
    """A user who skipped the guide's copy-delete-sync procedure gets no duplicate and no e-mail."""
    with world(tmp_path, "alice", first_sync_max_notifications=0) as made:
        seed_both_sides(made, "alice")
        made.graph.clear_mail_log()
        plan = made.preview("alice")
        assert plan.notifications == ()
        matched = [op for op in plan.operations if "already on both sides" in op.reason]
        assert sorted(op.title for op in matched) == ["Dentist", "Kick-off"]
        # Outlook gave its copies its default reminder: Odoo gets it too, Outlook is not touched.
        assert {op.side for op in matched if op.write is not None} <= {"odoo"}
        report = made.sync("alice")  # the strict first-sync limit (no e-mail) holds
        assert report.ok, str(report)
        assert made.mail("alice") == [], "no invitation storm"
        odoo, outlook = made.titles("alice")
        assert odoo == outlook == ["Dentist", "Kick-off", "Odoo only", "Outlook only"]
        assert not made.sync("alice").outcomes


def test_several_users_share_one_odoo_without_duplicates(tmp_path: Path) -> None:
    """Alice invites Bob in Outlook; both sync against one Odoo database at once."""
    with world(tmp_path, "alice", "bob") as made:
        alice, bob = made.users["alice"], made.users["bob"]
        alice.outlook.create("Design review", 15, 14, bob.email)  # Bob gets the invitation
        bob.odoo.create("Bob's call", "2027-03-16 09:00:00", "2027-03-16 09:30:00")
        made.graph.clear_mail_log()

        async def both() -> None:
            import asyncio

            reports = await asyncio.gather(alice.sync.run_async(), bob.sync.run_async())
            assert all(r.ok for r in reports), [str(r) for r in reports]

        made.run(both())
        made.run(both())
        review = alice.odoo.call("calendar.event", "search", [("name", "=", "Design review")])
        assert len(review) == 1, "one Odoo event for the meeting, whoever synced first"
        (row,) = alice.odoo.call("calendar.event", "read", review, ["user_id"])
        assert row["user_id"][0] == alice.odoo.uid, "the organiser stays the organiser"
        assert Counter(made.titles("bob")[1])["Design review"] == 1, "no copy in Bob's mailbox"
        assert "Bob's call" not in made.titles("alice")[1]
        assert made.mail("alice") == made.mail("bob") == []
        for login in ("alice", "bob"):
            assert not made.sync(login).outcomes


def test_an_event_odoo_refuses_is_held_and_retried(tmp_path: Path) -> None:
    with world(tmp_path, "alice") as made:
        alice = made.users["alice"]
        alice.outlook.create("Good", 10, 9)
        alice.outlook.create("Refused", 11, 9)
        made.sync("alice")
        alice.outlook.graph.update_event(
            alice.mailbox, alice.outlook.find("Good")[0]["id"], {"subject": "Good (edited)"}
        )
        alice.outlook.graph.update_event(
            alice.mailbox, alice.outlook.find("Refused")[0]["id"], {"subject": "Refused (edited)"}
        )
        # Odoo refuses every write of that event (a load holding it, then its own write)
        made.odoo.fail(
            "ValidationError",
            "The ending date and time cannot be earlier than the starting date and time.",
            model="calendar.event",
            times=None,
            match=lambda request: b"Refused (edited)" in request.body,
        )
        report = made.sync("alice")
        made.odoo.clear_faults()
        (held,) = report.held
        assert "ValidationError" in str(report)
        odoo_titles = made.titles("alice")[0]
        assert held.title not in odoo_titles
        assert len({"Good (edited)", "Refused (edited)"} & set(odoo_titles)) == 1, (
            "the rest went on"
        )
        again = made.sync("alice")
        assert again.ok, str(again)
        assert sorted(made.titles("alice")[0]) == ["Good (edited)", "Refused (edited)"]


def test_an_event_outlook_refuses_is_held_until_it_syncs(tmp_path: Path) -> None:
    with world(tmp_path, "alice") as made:
        alice = made.users["alice"]
        alice.odoo.create("Refused", "2027-03-10 09:00:00", "2027-03-10 10:00:00")
        alice.odoo.create("Fine", "2027-03-11 09:00:00", "2027-03-11 10:00:00")
        made.graph.fail(
            400,
            "ErrorInvalidRequest",
            "Your request is invalid.",
            inner=True,
            method="POST",
            times=1,
        )
        first = made.sync("alice")
        assert [h.side for h in first.held] == ["odoo"]
        assert "ErrorInvalidRequest" in str(first) or "invalid" in str(first).lower()
        assert made.titles("alice")[1] == ["Fine"] or made.titles("alice")[1] == ["Refused"]
        second = made.sync("alice")
        assert second.ok, str(second)
        assert made.titles("alice")[1] == ["Fine", "Refused"]


COMBINATIONS = [(existing, next_sync) for existing in ExistingEvents for next_sync in NextSync]
ZED = "zed@other.example"
OWN = {"Kick-off", "Lunch"}  # synced, organised by Alice: Kick-off from Odoo, Lunch from Outlook
ATTENDED = "Zed's meeting"  # synced, organised by Zed (no Odoo user); Alice and Dave attend
LATER = "Later in Odoo"  # created after the first sync: never synced before the reset


def odoo_rows(made: World) -> dict[str, list[dict[str, Any]]]:
    """Odoo's live events by name, read as admin straight from the emulator."""
    rows = made.odoo.execute(
        "admin", "calendar.event", "search_read", [], ["name", "user_id", "attendee_ids"]
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        attendees = made.odoo.execute(
            "admin", "calendar.attendee", "read", row["attendee_ids"], ["email", "state"]
        )
        row["answers"] = {a["email"]: a["state"] for a in attendees}
        found.setdefault(row["name"], []).append(row)
    return found


def outlook_items(made: World) -> dict[str, list[dict[str, Any]]]:
    """Alice's mailbox by subject, read straight from the Graph emulator."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item in made.graph.events(made.users["alice"].mailbox):
        found.setdefault(item["subject"], []).append(item)
    return found


def check_sides(made: World, odoo: set[str], outlook: set[str]) -> None:
    """One copy of each expected event per side, each with its organiser."""
    alice = made.users["alice"]
    rows, items = odoo_rows(made), outlook_items(made)
    assert {name: len(found) for name, found in rows.items()} == dict.fromkeys(odoo, 1)
    assert {name: len(found) for name, found in items.items()} == dict.fromkeys(outlook, 1)
    for name, (row,) in rows.items():
        if name == ATTENDED:
            assert row["user_id"] is False, "no Odoo user organises Zed's meeting"
            assert row["answers"][ZED] == "accepted", "Zed is kept, as its organiser"
            assert set(row["answers"]) == {ZED, alice.email, "dave@other.example"}
        else:
            assert row["user_id"][0] == alice.odoo.uid
    for subject, (item,) in items.items():
        organizer = item["organizer"]["emailAddress"]["address"]
        assert organizer == (ZED if subject == ATTENDED else alice.email), subject
        assert item["isOrganizer"] is (subject != ATTENDED)


@pytest.mark.parametrize(("existing", "next_sync"), COMBINATIONS)
def test_reset_on_the_real_pair(
    tmp_path: Path, existing: ExistingEvents, next_sync: NextSync
) -> None:
    """Odoo's reset choices on both emulators, checked on the emulators themselves.

    Among the synced events is a meeting Alice only attends, organised by Zed,
    who has no Odoo user: never deleted, never duplicated, never re-sent as
    Alice's own (which would invite Zed to his own meeting). Outlook e-mails
    exactly the reset's previewed cancellations, then, after a reset with "all
    existing events", exactly the invitations of the events it re-creates,
    once the run has the caller's consent: it is a first sync again.
    """
    with world(tmp_path, "alice", first_sync_max_notifications=0) as made:
        alice = made.users["alice"]
        alice.odoo.create("Kick-off", "2027-03-10 09:00:00", "2027-03-10 10:00:00", *GUESTS)
        alice.outlook.create("Lunch", 11, 12)
        made.graph.seed_event(
            alice.mailbox,
            {
                "subject": ATTENDED,
                "start": {"dateTime": "2027-03-12T09:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2027-03-12T10:00:00", "timeZone": "UTC"},
                "attendees": [
                    {"type": "required", "emailAddress": {"address": a, "name": a}}
                    for a in (alice.email, "dave@other.example")
                ],
            },
            organizer=("Zed", ZED),
        )
        made.graph.clear_mail_log()
        first = made.run(alice.sync.run_async(allow_notifications=1))
        assert first.ok, str(first)
        assert [(m.kind, m.recipient) for m in made.mail("alice")] == [
            ("invitation", "ann@client.example")
        ]
        made.graph.clear_mail_log()
        alice.odoo.create(LATER, "2027-03-20 09:00:00", "2027-03-20 10:00:00")
        check_sides(made, OWN | {ATTENDED, LATER}, OWN | {ATTENDED})

        preview = made.run(alice.sync.preview_reset_async(existing, next_sync))
        check_sides(made, OWN | {ATTENDED, LATER}, OWN | {ATTENDED})  # a preview writes nothing
        cancels = [("cancellation", "ann@client.example")] if 1 in existing.positions else []
        assert [(n.kind.value, n.recipient) for n in preview.notifications] == cancels
        report = made.run(alice.sync.reset_async(existing, next_sync))
        assert report.ok, str(report)
        assert [(m.kind, m.recipient) for m in made.mail("alice")] == cancels
        odoo = {ATTENDED, LATER} | (set() if 0 in existing.positions else OWN)
        outlook = {ATTENDED} | (set() if 1 in existing.positions else OWN)
        check_sides(made, odoo, outlook)  # meetings only attended are never deleted

        made.graph.clear_mail_log()
        if next_sync is NextSync.ALL:
            plan = made.preview("alice")
            invites = [("invitation", "ann@client.example")] if "Kick-off" in odoo - outlook else []
            assert [(n.kind.value, n.recipient) for n in plan.notifications] == invites
            if invites:
                with pytest.raises(NotificationLimitError, match="allowed on a first sync"):
                    made.sync("alice")
                assert made.mail("alice") == []
                check_sides(made, odoo, outlook)  # stopped before any write
            after = made.run(alice.sync.run_async(allow_notifications=len(invites)))
            assert after.ok, str(after)
            assert [(m.kind, m.recipient) for m in made.mail("alice")] == invites
            check_sides(made, odoo | outlook, odoo | outlook)
        else:
            after = made.sync("alice")
            assert after.ok, str(after)
            assert not [o for o in after.outcomes if o.operation.write], "existing events stay out"
            check_sides(made, odoo, outlook)
            alice.odoo.create("After the reset", "2027-03-25 09:00:00", "2027-03-25 10:00:00")
            made.sync("alice")
            check_sides(made, odoo | {"After the reset"}, outlook | {"After the reset"})
            assert made.mail("alice") == []
        assert not made.sync("alice").outcomes
        assert all(ZED not in (m.recipient, m.mailbox) for m in made.graph.mail_log())
        assert made.odoo.mail_log() == []
