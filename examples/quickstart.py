"""Quickstart: Odoo and Outlook calendars in two-way sync, on this machine.

An Odoo server and Microsoft Graph (both emulated, on 127.0.0.1) hold a
realistic calendar for two users: single events, an all-day event, a weekly
series with a moved and a cancelled occurrence, meetings with attendees, and
one event each user had already entered on both sides. calsync previews the
first sync of each pair (with the e-mails Outlook would send), runs both pairs
at once, edits both sides and syncs again, keeping its state in SQLite. At
the end it prints what Outlook e-mailed, message by message.

Run it with ``nox -s quickstart`` or ``python examples/quickstart.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import calsync
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator

WINDOW = calsync.Window(
    datetime(2027, 1, 1, tzinfo=timezone.utc), datetime(2028, 1, 1, tzinfo=timezone.utc)
)
USERS = (("alice", "Alice Martin"), ("bob", "Bob Durand"))
QUIET = {"no_mail_to_attendees": True}  # seeding: Odoo itself mails no one


class ProgressBar:
    """One line per pair on stderr, redrawn as the runs advance."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}

    def __call__(self, step: calsync.Progress) -> None:
        if not sys.stderr.isatty():  # a log file gets the reports, not the bar's redraws
            return
        width = 20
        filled = width * step.done // step.total if step.total else width
        self.lines[step.pair] = f"{step.pair:<6} {step.stage:<7} [{'#' * filled:<{width}}]"
        sys.stderr.write("\r" + "  ".join(self.lines.values()) + " ")
        sys.stderr.flush()

    def clear(self) -> None:
        self.lines.clear()
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


# -- seeding: what each user already has in each calendar ------------------------------------


def seed_odoo(odoo: OdooEmulator, login: str, colleague: str) -> None:
    """The user's Odoo calendar, entered as they would in Odoo's web client."""

    def create(values: dict[str, Any]) -> int:
        return int(odoo.execute(login, "calendar.event", "create", values, context=QUIET))

    partner = int(
        odoo.execute(
            login,
            "res.partner",
            "create",
            {"name": "Carol Client", "email": "carol@client.example"},
        )
    )
    create(
        {
            "name": "Budget review",
            "start": "2027-03-03 09:00:00",
            "stop": "2027-03-03 10:00:00",
            "location": "Room 2",
            "description": "<p>Q2 figures</p>",
        }
    )
    create(
        {
            "name": "Client visit",
            "start": "2027-03-04 13:00:00",
            "stop": "2027-03-04 14:30:00",
            "partner_ids": [(6, 0, [partner])],
            "location": "Client office",
        }
    )
    create(
        {
            "name": "Company offsite",
            "allday": True,
            "start_date": "2027-03-12",
            "stop_date": "2027-03-12",
        }
    )
    standup = create(
        {
            "name": f"{login.title()}'s team standup",
            "start": "2027-03-01 08:00:00",
            "stop": "2027-03-01 08:15:00",
            "recurrency": True,
            "rrule_type": "weekly",
            "interval": 1,
            "end_type": "count",
            "count": 6,
            "mon": True,
            "event_tz": "Europe/Brussels",
        }
    )
    (series,) = odoo.execute(login, "calendar.event", "read", [standup], ["recurrence_id"])
    rows = odoo.execute(
        login,
        "calendar.event",
        "search_read",
        [("recurrence_id", "=", series["recurrence_id"][0])],
        fields=["id", "start"],
        order="start asc",
    )
    moved, cancelled = rows[2]["id"], rows[4]["id"]
    odoo.execute(
        login,
        "calendar.event",
        "write",
        [moved],
        {
            "start": "2027-03-15 09:00:00",
            "stop": "2027-03-15 09:15:00",
            "recurrence_update": "self_only",
        },
        context=QUIET,
    )
    odoo.execute(login, "calendar.event", "write", [cancelled], {"active": False}, context=QUIET)
    create({"name": "Dentist", "start": "2027-03-05 16:00:00", "stop": "2027-03-05 17:00:00"})
    del colleague


def seed_outlook(graph: GraphEmulator, mailbox: GraphMailbox, colleague: str) -> None:
    """The user's Outlook calendar, entered as they would in Outlook."""

    def at(day: int, hour: int, minute: int = 0) -> dict[str, str]:
        return {
            "dateTime": f"2027-03-{day:02d}T{hour:02d}:{minute:02d}:00",
            "timeZone": "Romance Standard Time",
        }

    graph.seed_event(
        mailbox,
        {
            "subject": "Lunch with Dan",
            "start": at(2, 12),
            "end": at(2, 13),
            "location": {"displayName": "Chez Léon"},
        },
    )
    # A meeting with a colleague: Outlook invites them, and their own sync will find it.
    graph.create_event(
        mailbox,
        {
            "subject": f"Architecture review ({mailbox.name})",
            "start": at(9, 14),
            "end": at(9, 15),
            "attendees": [
                {"type": "required", "emailAddress": {"address": colleague, "name": "Colleague"}}
            ],
            "reminderMinutesBeforeStart": 30,
            "isReminderOn": True,
        },
    )
    graph.seed_event(mailbox, {"subject": "Dentist", "start": at(5, 17), "end": at(5, 18)})


# -- the sync ------------------------------------------------------------------------------------


def synchronizer(
    odoo: OdooEmulator,
    graph: GraphEmulator,
    mailbox: GraphMailbox,
    login: str,
    store: SQLiteStore,
    progress: ProgressBar,
) -> calsync.Synchronizer:
    """The pair of one user: their Odoo calendar (left) and their Outlook mailbox (right)."""
    return calsync.Synchronizer(
        OdooCalendar(odoo.url, odoo.db, login, password=f"{login}-password"),
        OutlookCalendar(StaticToken(mailbox.token), base_url=graph.base_url, account=mailbox.email),
        store,
        pair=login,
        window=WINDOW,
        progress=progress,
    )


async def run(
    pairs: list[calsync.Synchronizer], bar: ProgressBar, allowed: dict[str, int] | None = None
) -> list[calsync.SyncReport]:
    """Run every pair at once; ``allowed``: the e-mails each pair's preview showed (consent)."""
    consent = allowed or {}
    reports = await asyncio.gather(
        *(pair.run_async(allow_notifications=consent.get(pair.pair)) for pair in pairs)
    )
    bar.clear()
    return list(reports)


async def main_async(state: Path) -> None:
    with OdooEmulator() as odoo, GraphEmulator() as graph:
        store = SQLiteStore(state)
        bar = ProgressBar()
        mailboxes = {}
        for login, name in USERS:
            email = f"{login}@example.com"
            odoo.add_user(login, f"{login}-password", name=name, email=email, tz="Europe/Brussels")
            mailboxes[login] = graph.add_mailbox(email, name=name)
        for (login, _), (other, _) in zip(USERS, reversed(USERS), strict=True):
            seed_odoo(odoo, login, f"{other}@example.com")
            seed_outlook(graph, mailboxes[login], f"{other}@example.com")
        graph.clear_mail_log()  # the users' own invitations, sent before calsync ran
        pairs = [
            synchronizer(odoo, graph, mailboxes[login], login, store, bar) for login, _ in USERS
        ]

        print("First sync: what calsync would do, before anything is written")
        allowed: dict[str, int] = {}
        for pair in pairs:
            plan = await pair.preview_async()
            bar.clear()
            mails = len(plan.notifications)
            print(f"  {pair.pair}: {len(plan.writes)} writes, {mails} e-mail{'s' * (mails != 1)}")
            for operation in plan.operations:
                mail = (
                    f"  -> e-mails {', '.join(n.recipient for n in operation.notifications)}"
                    if operation.notifications
                    else ""
                )
                print(f"    {operation}{mail}")
            # A first sync refuses to e-mail anyone unless told: the preview above is the consent.
            allowed[pair.pair] = len(plan.notifications)

        for report in await run(pairs, bar, allowed):
            print(report)

        alice_event = next(
            e for e in graph.events(mailboxes["alice"]) if e["subject"] == "Lunch with Dan"
        )
        graph.update_event(
            mailboxes["alice"], alice_event["id"], {"location": {"displayName": "Le Petit Bistro"}}
        )
        bob_uid = odoo.execute("bob", "res.users", "search", [("login", "=", "bob")])[0]
        budget = odoo.execute(
            "bob",
            "calendar.event",
            "search",
            [("name", "=", "Budget review"), ("user_id", "=", bob_uid)],
        )
        odoo.execute("bob", "calendar.event", "write", budget, {"name": "Budget review (final)"})
        print("\nAfter an edit in Alice's Outlook and one in Bob's Odoo:")
        for report in await run(pairs, bar):
            print(report)
        print("\nA third run has nothing to do:")
        for report in await run(pairs, bar):
            print(report)

        print("\nE-mails Outlook sent to attendees because of calsync:")
        for message in graph.mail_log():
            print(f"  {message.mailbox} -> {message.recipient}: {message.kind} '{message.subject}'")
        for pair in pairs:
            await pair.aclose()
        store.close()
    print(f"\nState kept in {state}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, help="SQLite state file (default: a temporary one)")
    args = parser.parse_args()
    asyncio.run(main_async(args.state or Path(tempfile.mkdtemp()) / "calsync-state.sqlite3"))


if __name__ == "__main__":
    main()
