"""What Outlook e-mails because of calsync: predicted by the plan, equal to Outlook's mail log.

Odoo's own Outlook guide warns that once a calendar is synced, Outlook e-mails
attendees when an event is created, deleted, archived or unarchived in Odoo,
and when an attendee is added or removed. Each case (and the time and place
changes that send updates) is run here: ``preview()`` lists the e-mails, and
after ``run()`` the Graph emulator's mail log holds exactly those messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calsync import NotificationLimitError
from calsync.adapters import MailKind, Notification
from calsync.testing import MailMessage
from tests.e2e.world import QUIET, World, world

GUESTS = ("ann@client.example", "ben@client.example")


def as_notification(message: MailMessage) -> Notification:
    return Notification(
        MailKind(message.kind), message.recipient, message.subject, message.original_start
    )


def key(notification: Notification) -> tuple[str, str, str, object]:
    return (
        notification.kind.value,
        notification.recipient,
        notification.title,
        notification.original_start,
    )


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[World]:
    """Alice, with a meeting with two guests created in Odoo and synced once."""
    with world(tmp_path, "alice") as made:
        alice = made.users["alice"]
        alice.odoo.create(
            "Kick-off", "2027-03-10 09:00:00", "2027-03-10 10:00:00", *GUESTS, location="Room 1"
        )
        made.sync("alice")
        made.graph.clear_mail_log()
        yield made


def expect(made: World, change: Callable[[World], None], kinds: list[tuple[str, str]]) -> None:
    """Make the change in Odoo, preview, run: the plan's e-mails are the mail log's."""
    change(made)
    predicted = sorted(made.preview("alice").notifications, key=key)
    report = made.sync("alice")
    assert report.ok, str(report)
    sent = sorted((as_notification(m) for m in made.mail("alice")), key=key)
    assert predicted == sent
    assert sorted(report.notifications, key=key) == sent
    assert [(n.kind.value, n.recipient) for n in sent] == kinds


def test_creating_a_meeting_in_odoo_invites_its_attendees(tmp_path: Path) -> None:
    with world(tmp_path, "alice") as made:
        made.sync("alice")  # the first sync is done: a later one may e-mail
        expect(
            made,
            lambda w: w.users["alice"].odoo.create(
                "Demo", "2027-03-11 14:00:00", "2027-03-11 15:00:00", *GUESTS
            ),
            [("invitation", "ann@client.example"), ("invitation", "ben@client.example")],
        )


def test_deleting_a_meeting_in_odoo_cancels_it(synced: World) -> None:
    alice = synced.users["alice"].odoo
    expect(
        synced,
        lambda w: alice.call("calendar.event", "unlink", alice.mine("Kick-off")),
        [("cancellation", "ann@client.example"), ("cancellation", "ben@client.example")],
    )


def test_archiving_a_meeting_in_odoo_cancels_it(synced: World) -> None:
    expect(
        synced,
        lambda w: w.users["alice"].odoo.write("Kick-off", {"active": False}),
        [("cancellation", "ann@client.example"), ("cancellation", "ben@client.example")],
    )


def test_unarchiving_a_meeting_in_odoo_invites_again(synced: World) -> None:
    synced.users["alice"].odoo.write("Kick-off", {"active": False})
    synced.sync("alice")
    synced.graph.clear_mail_log()
    expect(
        synced,
        lambda w: w.users["alice"].odoo.write("Kick-off", {"active": True}),
        [("invitation", "ann@client.example"), ("invitation", "ben@client.example")],
    )


def test_adding_an_attendee_invites_only_them(synced: World) -> None:
    alice = synced.users["alice"].odoo
    carl = alice.partner("carl@client.example")
    expect(
        synced,
        lambda w: alice.call(
            "calendar.event",
            "write",
            alice.mine("Kick-off"),
            {"partner_ids": [(4, carl)]},
            context=QUIET,
        ),
        [("invitation", "carl@client.example")],
    )


def test_removing_an_attendee_cancels_for_them_only(synced: World) -> None:
    alice = synced.users["alice"].odoo
    ben = alice.partner("ben@client.example")
    expect(
        synced,
        lambda w: alice.call(
            "calendar.event",
            "write",
            alice.mine("Kick-off"),
            {"partner_ids": [(3, ben)]},
            context=QUIET,
        ),
        [("cancellation", "ben@client.example")],
    )


@pytest.mark.parametrize(
    "values",
    [{"start": "2027-03-10 10:00:00", "stop": "2027-03-10 11:00:00"}, {"location": "Room 7"}],
    ids=["time", "place"],
)
def test_time_and_place_changes_send_updates(synced: World, values: dict[str, str]) -> None:
    expect(
        synced,
        lambda w: w.users["alice"].odoo.write("Kick-off", values),
        [("update", "ann@client.example"), ("update", "ben@client.example")],
    )


def test_a_title_change_sends_nothing(synced: World) -> None:
    expect(synced, lambda w: w.users["alice"].odoo.write("Kick-off", {"name": "Kick-off!"}), [])


def test_the_first_sync_e_mails_no_one_unless_allowed(tmp_path: Path) -> None:
    with world(tmp_path, "alice") as made:
        alice = made.users["alice"]
        alice.odoo.create("Kick-off", "2027-03-10 09:00:00", "2027-03-10 10:00:00", *GUESTS)
        made.restart("alice", first_sync_max_notifications=0, max_notifications=20)
        with pytest.raises(NotificationLimitError) as caught:
            made.sync("alice")
        message = str(caught.value)
        assert "2 times, more than the 0 allowed on a first sync" in message
        assert "run(allow_notifications=2)" in message
        assert made.mail("alice") == []
        assert made.titles("alice")[1] == [], "nothing was written"
        made.run(alice.sync.run_async(allow_notifications=2))
        assert len(made.mail("alice")) == 2


def test_a_run_over_the_limit_writes_nothing(synced: World) -> None:
    synced.restart("alice", max_notifications=1)
    synced.users["alice"].odoo.write("Kick-off", {"location": "Room 9"})
    with pytest.raises(NotificationLimitError, match="2 times, more than the 1 allowed"):
        synced.sync("alice")
    assert synced.mail("alice") == []
    (event,) = synced.users["alice"].outlook.find("Kick-off")
    assert event["location"]["displayName"] == "Room 1"
