"""The real pair on both emulators: first syncs, several users, held events, the reset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from calsync import ExistingEvents, NextSync
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
        made.odoo.fail(
            "ValidationError",
            "The ending date and time cannot be earlier than the starting date and time.",
            model="calendar.event",
            method="write",
            times=1,
        )
        report = made.sync("alice")
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


@pytest.mark.parametrize(("existing", "next_sync"), COMBINATIONS)
def test_reset_on_the_real_pair(
    tmp_path: Path, existing: ExistingEvents, next_sync: NextSync
) -> None:
    """Odoo's reset choices on both emulators: previewed with their cancellations, then run."""
    with world(tmp_path, "alice") as made:
        alice = made.users["alice"]
        alice.odoo.create("Kick-off", "2027-03-10 09:00:00", "2027-03-10 10:00:00", *GUESTS)
        alice.outlook.create("Lunch", 11, 12)
        made.sync("alice")
        made.graph.clear_mail_log()
        alice.odoo.create("Later in Odoo", "2027-03-20 09:00:00", "2027-03-20 10:00:00")
        before = made.titles("alice")

        preview = made.run(alice.sync.preview_reset_async(existing, next_sync))
        assert made.titles("alice") == before, "a preview writes nothing"
        cancels_in_outlook = 1 in existing.positions
        assert [n.recipient for n in preview.notifications] == (
            ["ann@client.example"] if cancels_in_outlook else []
        )
        report = made.run(alice.sync.reset_async(existing, next_sync))
        assert report.ok, str(report)
        assert sorted((m.kind, m.recipient) for m in made.mail("alice")) == sorted(
            (n.kind.value, n.recipient) for n in preview.notifications
        )

        synced = {"Kick-off", "Lunch"}
        odoo, outlook = (set(titles) for titles in made.titles("alice"))
        assert odoo == ({"Later in Odoo"} | (set() if 0 in existing.positions else synced))
        assert outlook == (set() if 1 in existing.positions else synced)

        made.graph.clear_mail_log()
        after = made.sync("alice")
        assert after.ok, str(after)
        odoo, outlook = made.titles("alice")
        if next_sync is NextSync.ALL:
            assert odoo == outlook, "every existing event synced again"
            assert len(odoo) == len(set(odoo)), "and matched, not duplicated"
        else:
            assert "Later in Odoo" not in outlook, "existing events stay out"
            alice.odoo.create("After the reset", "2027-03-25 09:00:00", "2027-03-25 10:00:00")
            made.sync("alice")
            assert "After the reset" in made.titles("alice")[1]
        assert not made.sync("alice").outcomes
