"""The tutorial's code: one user's Odoo calendar and Outlook mailbox, synced from your own code.

Ann has a few events in Odoo and a few in Outlook, one of them in both. The
script builds the two sides calsync syncs (``OdooCalendar`` and
``OutlookCalendar``) and a ``SQLiteStore`` for the pair's state, previews the
first sync with the e-mails Outlook would send because of it, runs it, and
runs it again (nothing left to do). Odoo and Outlook are calsync's emulators
on 127.0.0.1, so it runs anywhere without an account; the tutorial
(``docs/tutorial.md``) shows what to change for real servers.

Run it with ``python examples/first_sync.py`` (``--state FILE`` keeps the
state in FILE; run it twice on one file to see a sync that resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import calsync
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator

QUIET = {"no_mail_to_attendees": True}  # Ann's own data entry in Odoo mails no one
PASSWORD = "ann-password"  # noqa: S105 (Ann's password on the emulator)


def next_monday() -> datetime:
    """Next Monday, midnight UTC: inside the default sync window whenever this runs."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


# -- seed: what Ann already has in each calendar ------------------------------------------------


def seed(odoo: OdooEmulator, graph: GraphEmulator) -> GraphMailbox:
    """Ann on both servers: an Odoo login and a mailbox with the same address."""
    monday = next_monday()

    def odoo_time(day: int, hour: int) -> str:
        return f"{monday + timedelta(days=day, hours=hour):%Y-%m-%d %H:%M:%S}"

    def graph_time(day: int, hour: int) -> dict[str, str]:
        return {"dateTime": f"{monday + timedelta(days=day, hours=hour):%Y-%m-%dT%H:%M:%S}",
                "timeZone": "UTC"}  # fmt: skip

    odoo.add_user("ann", PASSWORD, name="Ann Lee", email="ann@example.com", tz="UTC")
    mailbox = graph.add_mailbox("ann@example.com", name="Ann Lee")

    carol = odoo.execute(
        "ann", "res.partner", "create", {"name": "Carol", "email": "carol@client.example"}
    )
    ann = odoo.execute("ann", "res.users", "search_read", [("login", "=", "ann")], ["partner_id"])
    odoo.execute(
        "ann",
        "calendar.event",
        "create",
        {
            "name": "Project kick-off",
            "start": odoo_time(1, 9),
            "stop": odoo_time(1, 10),
            "partner_ids": [(6, 0, [ann[0]["partner_id"][0], carol])],
        },
        context=QUIET,
    )
    # The same appointment, entered on both sides before calsync: it will be matched.
    odoo.execute(
        "ann",
        "calendar.event",
        "create",
        {"name": "Dentist", "start": odoo_time(2, 16), "stop": odoo_time(2, 17)},
        context=QUIET,
    )
    graph.seed_event(
        mailbox, {"subject": "Dentist", "start": graph_time(2, 16), "end": graph_time(2, 17)}
    )
    graph.seed_event(
        mailbox,
        {"subject": "Lunch with Dan", "start": graph_time(3, 12), "end": graph_time(3, 13)},
    )
    return mailbox


# -- sync: the part that is yours in production -------------------------------------------------


def sync_ann(
    odoo_url: str, odoo_db: str, odoo_password: str, graph_url: str, token: str, state: Path
) -> None:
    """Preview, run, run again: one pair, Odoo on the left and Outlook on the right."""
    # [sides]
    odoo = OdooCalendar(odoo_url, odoo_db, "ann", password=odoo_password)
    outlook = OutlookCalendar(StaticToken(token), base_url=graph_url, account="ann@example.com")
    # [/sides]
    # [sync]
    with (
        contextlib.closing(SQLiteStore(state)) as store,
        calsync.Synchronizer(odoo, outlook, store) as sync,
    ):
        plan = sync.preview()  # reads both sides, writes nothing
        print(f"Preview of {sync.pair}: {len(plan.writes)} writes")
        for operation in plan.operations:
            print(f"  {operation}")
            for mail in operation.notifications:
                print(f"      Outlook will e-mail {mail.recipient}: {mail.kind.value}")

        # A first sync e-mails no one unless told: the preview above is the consent.
        report = sync.run(allow_notifications=len(plan.notifications))
        print(report)

        print(sync.run())  # the next run only looks for changes
    # [/sync]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, help="SQLite state file (default: a temporary one)")
    args = parser.parse_args()
    state = args.state or Path(tempfile.mkdtemp()) / "calsync-state.sqlite3"
    with OdooEmulator() as odoo, GraphEmulator() as graph:
        mailbox = seed(odoo, graph)
        sync_ann(odoo.url, odoo.db, PASSWORD, graph.base_url, mailbox.token, state)
        print("\nWhat Outlook e-mailed:")
        for message in graph.mail_log():
            print(f"  {message.mailbox} -> {message.recipient}: {message.kind} {message.subject!r}")


if __name__ == "__main__":
    main()
