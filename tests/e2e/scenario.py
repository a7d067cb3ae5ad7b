"""Fifty events entered by one user before the first sync: the crash and fault matrices' world.

Twenty-five in Odoo, twenty-five in Outlook, a realistic mix: singles, all-day
events, reminders, meetings with guests (whose invitations Outlook sends when
calsync copies them there), a weekly series on each side with one moved
occurrence and one cancelled occurrence (a meeting on the Odoo side, so that
its copy in Outlook mails an invitation, an instance update and an instance
cancellation), and a few events the user entered in both calendars by hand.

:func:`seed` is deterministic: two worlds seeded alike plan alike, so the
n-th request of a run in one is the n-th request of the same run in another.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import attrs

from calsync.adapters.odoo import ODOO_PROJECTION
from calsync.adapters.outlook import OUTLOOK_PROJECTION
from calsync.model import Event
from tests.e2e.world import QUIET, WINDOW, World

LOGIN = "alice"
GUESTS = ("ann@client.example", "ben@client.example", "carl@client.example")
#: Guests Odoo does not know yet: calsync creates their partners.
NEW_GUESTS = ("dana@partner.example", "eve@partner.example")
#: Events per side, as the user sees them (a series counts once).
PER_SIDE = 25

MailKey = tuple[str, str, str, "datetime | None"]


def _utc(day: int, hour: int, minute: int = 0, month: int = 3) -> str:
    return f"2027-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00"


def seed_odoo(made: World) -> int:
    """Twenty-five events in Alice's Odoo calendar; returns how many."""
    alice = made.users[LOGIN].odoo
    count = 0
    alarms = {m: _alarm(made, m) for m in (15, 60)}
    for n in range(10):  # singles, some with reminders
        values: dict[str, Any] = {}
        if n % 3 == 0:
            values["alarm_ids"] = [(6, 0, [alarms[15]])]
        if n % 4 == 1:
            values["location"] = f"Room {n}"
        day = 1 + n
        alice.create(f"Odoo single {n}", _utc(day, 8 + n % 5), _utc(day, 9 + n % 5), **values)
        count += 1
    for n in range(3):  # all-day
        day = 15 + 2 * n
        alice.call(
            "calendar.event",
            "create",
            {
                "name": f"Odoo all-day {n}",
                "allday": True,
                "start_date": f"2027-04-{day:02d}",
                "stop_date": f"2027-04-{day + n:02d}",
            },
            context=QUIET,
        )
        count += 1
    for n in range(5):  # meetings: Outlook invites the guests when calsync copies them
        day = 20 + n
        guests = GUESTS[: 1 + n % 3]
        alice.create(
            f"Odoo meeting {n}",
            _utc(day, 13),
            _utc(day, 14),
            *guests,
            location=f"Hall {n}",
            alarm_ids=[(6, 0, [alarms[60]])],
        )
        count += 1
    # A weekly meeting series, Mondays 9:00 Paris, five times; the second moved, the fourth off.
    owner = alice.call("res.users", "read", [alice.uid], ["partner_id"])[0]["partner_id"][0]
    base = int(
        alice.call(
            "calendar.event",
            "create",
            {
                "name": "Odoo weekly",
                "start": "2027-05-03 07:00:00",
                "stop": "2027-05-03 07:30:00",
                "recurrency": True,
                "rrule_type": "weekly",
                "interval": 1,
                "end_type": "count",
                "count": 5,
                "mon": True,
                "event_tz": "Europe/Paris",
                "partner_ids": [(6, 0, [owner, alice.partner(GUESTS[0])])],
            },
            context=QUIET,
        )
    )
    (record,) = alice.call("calendar.event", "read", [base], ["recurrence_id"])
    rows = alice.call(
        "calendar.event",
        "search_read",
        [("recurrence_id", "=", record["recurrence_id"][0])],
        ["start"],
        order="start asc",
    )
    alice.call(
        "calendar.event",
        "write",
        [rows[1]["id"]],
        {
            "name": "Odoo weekly (moved)",
            "start": "2027-05-10 09:00:00",
            "stop": "2027-05-10 09:30:00",
            "recurrence_update": "self_only",
        },
        context=QUIET,
    )
    alice.call("calendar.event", "write", [rows[3]["id"]], {"active": False}, context=QUIET)
    count += 1
    for n in range(3):  # private and busy-free variety
        day = 6 + n
        alice.create(
            f"Odoo focus {n}",
            _utc(day, 15, month=6),
            _utc(day, 17, month=6),
            privacy="private" if n == 0 else "public",
            show_as="free" if n == 1 else "busy",
            description=f"<p>Notes {n}</p>",
        )
        count += 1
    count += _seed_shared_odoo(made)
    return count


def _alarm(made: World, minutes: int) -> int:
    alice = made.users[LOGIN].odoo
    found = alice.call(
        "calendar.alarm",
        "search",
        [("alarm_type", "=", "notification"), ("duration_minutes", "=", minutes)],
    )
    if found:
        return int(found[0])
    return int(
        made.odoo.execute(
            2,
            "calendar.alarm",
            "create",
            {
                "name": f"{minutes} min",
                "alarm_type": "notification",
                "duration": minutes,
                "interval": "minutes",
            },
        )
    )


#: (title, Paris day in March, Paris hour): entered by hand in both calendars.
SHARED = [("Kick-off", 25, 9), ("Dentist", 26, 16), ("Board", 27, 11)]


def _seed_shared_odoo(made: World) -> int:
    alice = made.users[LOGIN].odoo
    for title, day, hour in SHARED:
        guests = GUESTS[:1] if title == "Kick-off" else ()
        # Paris is UTC+1 in March (before the 28th)
        alice.create(title, _utc(day, hour - 1), _utc(day, hour), *guests)
    return len(SHARED)


def seed_outlook(made: World) -> int:
    """Twenty-five events in Alice's mailbox (Outlook mails its own invitations; cleared)."""
    user = made.users[LOGIN]
    graph, box = made.graph, user.mailbox
    hands = user.outlook
    count = 0
    for n in range(10):
        fields: dict[str, Any] = {}
        if n % 3 == 1:
            fields["isReminderOn"] = False
        if n % 3 == 2:  # reminders Odoo has no alarm for: calsync creates them
            fields["reminderMinutesBeforeStart"] = 45 if n < 5 else 120
        if n % 4 == 2:
            fields["location"] = {"displayName": f"Desk {n}"}
        if n % 5 == 3:
            fields["categories"] = ["Red category"]
        hands.create(f"Outlook single {n}", 1 + n, 10 + n % 4, **fields)
        count += 1
    for n in range(3):
        day = 10 + 3 * n
        hands.graph.create_event(
            box,
            {
                "subject": f"Outlook all-day {n}",
                "isAllDay": True,
                "start": {"dateTime": f"2027-04-{day:02d}T00:00:00", "timeZone": "Europe/Paris"},
                "end": {
                    "dateTime": f"2027-04-{day + 1 + n:02d}T00:00:00",
                    "timeZone": "Europe/Paris",
                },
                "showAs": "free",
            },
        )
        count += 1
    for n in range(4):
        guests = (GUESTS[n % 3], *NEW_GUESTS[: n % 3])
        hands.create(f"Outlook meeting {n}", 15 + n, 15, *guests)
        count += 1
    # an invitation from someone Odoo does not know: Odoo gets it under its organiser's partner
    graph.seed_event(
        box,
        {
            "subject": "Partner review",
            "start": {"dateTime": "2027-03-19T15:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2027-03-19T16:00:00", "timeZone": "Europe/Paris"},
            "attendees": [
                {"type": "required", "emailAddress": {"address": a, "name": a.split("@")[0]}}
                for a in (user.email, NEW_GUESTS[1])
            ],
        },
        organizer=("Olga", "olga@partner.example"),
    )
    count += 1
    master = graph.create_event(
        box,
        {
            "subject": "Outlook daily",
            "start": {"dateTime": "2027-06-14T08:30:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2027-06-14T08:45:00", "timeZone": "Europe/Paris"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1, "firstDayOfWeek": "monday"},
                "range": {
                    "type": "numbered",
                    "startDate": "2027-06-14",
                    "numberOfOccurrences": 5,
                    "recurrenceTimeZone": "Europe/Paris",
                },
            },
        },
    )
    occurrences = graph.instances(
        box, master["id"], datetime.fromisoformat("2027-06-01T00:00:00+00:00"),
        datetime.fromisoformat("2027-07-01T00:00:00+00:00"),
    )  # fmt: skip
    occurrences.sort(key=lambda o: o["start"]["dateTime"])
    graph.update_event(
        box,
        occurrences[2]["id"],
        {
            "subject": "Outlook daily (late)",
            "start": {"dateTime": "2027-06-16T10:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2027-06-16T10:15:00", "timeZone": "Europe/Paris"},
        },
    )
    graph.delete_event(box, occurrences[3]["id"])
    count += 1
    for n in range(3):
        hands.create(
            f"Outlook focus {n}",
            20 + n,
            9,
            sensitivity="private" if n == 0 else "normal",
            showAs="oof" if n == 2 else "busy",
            body={"contentType": "html", "content": f"<p>Outlook notes {n}</p>"},
        )
        count += 1
    for title, day, hour in SHARED:
        guests = GUESTS[:1] if title == "Kick-off" else ()
        hands.create(title, day, hour, *guests)
        count += 1
    return count


def seed(made: World) -> None:
    """Both calendars of Alice, as she filled them before her first sync; no mail logged."""
    assert seed_odoo(made) == PER_SIDE
    assert seed_outlook(made) == PER_SIDE
    made.graph.clear_mail_log()
    made.odoo.clear_mail_log()


def mail_keys(made: World) -> Counter[MailKey]:
    """The Graph mail log as a multiset of (kind, recipient, subject, original start)."""
    return Counter((m.kind, m.recipient, m.subject, m.original_start) for m in made.mail(LOGIN))


@attrs.frozen
class Final:
    """What a finished sync leaves: both sides' holdings and the mail Outlook sent.

    ``odoo`` and ``outlook`` are multisets of fingerprints (as :meth:`World.state`);
    ``events`` maps each side's fingerprints to the events, to explain a difference.
    """

    odoo: Counter[str]
    outlook: Counter[str]
    mail: Counter[MailKey]
    titles: tuple[tuple[str, ...], tuple[str, ...]]
    events: tuple[dict[str, Event], dict[str, Event]] = attrs.field(eq=False, repr=False)

    @classmethod
    def of(cls, made: World) -> Final:
        user = made.users[LOGIN]
        listings = [made.run(side.pull(None, WINDOW)) for side in user.sync.sides]
        projections = (ODOO_PROJECTION, OUTLOOK_PROJECTION)
        events: tuple[dict[str, Event], dict[str, Event]] = ({}, {})
        counts: list[Counter[str]] = [Counter(), Counter()]
        titles: list[tuple[str, ...]] = []
        for side, (listing, projection) in enumerate(zip(listings, projections, strict=True)):
            live = [item.event for item in listing.items if not item.archived]
            for event in live:
                print_ = event.fingerprint(projection)
                counts[side][print_] += 1
                events[side][print_] = event
            titles.append(tuple(sorted(event.title for event in live)))
        return cls(counts[0], counts[1], mail_keys(made), (titles[0], titles[1]), events)

    def differences(self, other: Final) -> list[str]:
        """Each event of ``other`` whose content differs from this one's, field by field."""
        found = []
        for side, name in enumerate(("odoo", "outlook")):
            mine, theirs = (self.odoo, other.odoo) if side == 0 else (self.outlook, other.outlook)
            extra = theirs - mine
            for print_ in extra.elements():
                event = other.events[side][print_]
                same_title = [e for p, e in self.events[side].items() if e.title == event.title]
                if not same_title:
                    found.append(f"{name}: {event.title!r} is not in the clean run")
                    continue
                fields = [
                    f"{f.name}: {getattr(same_title[0], f.name)!r} -> {getattr(event, f.name)!r}"
                    for f in attrs.fields(Event)
                    if getattr(same_title[0], f.name) != getattr(event, f.name)
                ]
                found.append(f"{name}: {event.title!r} differs ({'; '.join(fields)})")
        return found


def edit(made: World) -> None:
    """What Alice changes on both sides after her first sync; Outlook's own mail is cleared.

    In Odoo: a meeting moved, one deleted, a guest added to another, a rename,
    an archive, a new meeting and a new event, an occurrence of the series moved. In Outlook: a
    rename, a deletion, a meeting moved, an occurrence cancelled, a new event,
    an invitation accepted. On both: the kick-off renamed in Outlook while its
    room changes in Odoo (merged), and an event deleted in Odoo while edited in
    Outlook (the edit wins: it comes back to Odoo).
    """
    user = made.users[LOGIN]
    odoo, outlook, graph, box = user.odoo, user.outlook, made.graph, user.mailbox
    odoo.write("Odoo meeting 0", {"start": _utc(20, 14), "stop": _utc(20, 15)})
    odoo.call("calendar.event", "unlink", odoo.mine("Odoo meeting 1"), context=QUIET)
    dana = odoo.partner(NEW_GUESTS[0])
    odoo.write("Odoo meeting 2", {"partner_ids": [(4, dana)]})
    odoo.write("Odoo single 0", {"name": "Odoo single 0 (renamed)"})
    odoo.write("Odoo single 1", {"active": False})
    odoo.create("Odoo new meeting", _utc(29, 9, month=4), _utc(29, 10, month=4), *GUESTS[:2])
    odoo.create("Odoo new single", _utc(30, 9, month=4), _utc(30, 10, month=4))
    (row,) = odoo.call(
        "calendar.event",
        "search_read",
        [("name", "=", "Odoo weekly"), ("start", "=", "2027-05-17 07:00:00")],
        ["id"],
    )
    odoo.call(
        "calendar.event",
        "write",
        [row["id"]],
        {"start": "2027-05-17 08:00:00", "stop": "2027-05-17 08:30:00"},
        context=QUIET,
    )
    odoo.write("Kick-off", {"location": "Room A"})
    odoo.call("calendar.event", "unlink", odoo.mine("Odoo single 2"), context=QUIET)

    def one(subject: str) -> str:
        (found,) = outlook.find(subject)
        return str(found["id"])

    graph.update_event(box, one("Odoo single 2"), {"subject": "Odoo single 2 (kept)"})
    graph.update_event(box, one("Outlook single 0"), {"subject": "Outlook single 0 (renamed)"})
    graph.delete_event(box, one("Outlook single 2"))
    graph.update_event(
        box,
        one("Outlook meeting 0"),
        {
            "start": {"dateTime": "2027-03-15T16:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2027-03-15T17:00:00", "timeZone": "Europe/Paris"},
        },
    )
    daily = one("Outlook daily")
    june = (
        datetime.fromisoformat("2027-06-01T00:00+00:00"),
        datetime.fromisoformat("2027-07-01T00:00+00:00"),
    )
    occurrences = sorted(graph.instances(box, daily, *june), key=lambda o: o["start"]["dateTime"])
    graph.delete_event(box, occurrences[1]["id"])
    outlook.create("Outlook new", 30, 10)
    graph.rsvp(box, one("Partner review"), "accept", send_response=False)
    graph.update_event(box, one("Kick-off"), {"subject": "Kick-off!"})
    graph.clear_mail_log()
    made.odoo.clear_mail_log()


#: What Alice changes between a stopped run and the next one, per phase: she renames
#: or deletes sources of the run's creates. None of them is a meeting: an invitation
#: sent after a rename carries the new title, and a meeting deleted before its copy was
#: made never mails at all; either would differ from the clean run's mail, rightly.
TOUCHED = {
    "first": [
        ("odoo", "Odoo single 3", "rename"),
        ("outlook", "Outlook single 3", "rename"),
        ("outlook", "Outlook daily", "rename"),
        ("odoo", "Odoo single 4", "delete"),
        ("outlook", "Outlook single 4", "delete"),
    ],
    "next": [
        ("outlook", "Odoo single 2 (kept)", "rename"),
        ("outlook", "Outlook new", "rename"),
        ("odoo", "Odoo new single", "rename"),
    ],
}


def touch(made: World, phase: str) -> None:
    """Alice renames or deletes a few events (``TOUCHED``), in Odoo or in Outlook."""
    user = made.users[LOGIN]
    for side, title, action in TOUCHED[phase]:
        if side == "odoo":
            if action == "delete":
                user.odoo.call("calendar.event", "unlink", user.odoo.mine(title), context=QUIET)
            else:
                user.odoo.write(title, {"name": f"{title} (touched)"})
            continue
        (found,) = [e for e in user.outlook.find(title) if e.get("type") != "exception"]
        if action == "delete":
            made.graph.delete_event(user.mailbox, found["id"])
        else:
            made.graph.update_event(user.mailbox, found["id"], {"subject": f"{title} (touched)"})
