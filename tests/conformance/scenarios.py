"""The conformance scenarios: what users do in Odoo and in Outlook, and what calsync makes of it.

Each scenario is a function of a :class:`~tests.conformance.scene.Scene`. It
writes both sides as their users would (Odoo's web client calls over RPC,
Outlook through the Graph emulator), lets calsync sync, and checks the result
with :meth:`Scene.settle` (both sides read back and compared, a second run
planning nothing) plus checks of its own. The same code runs on a real Odoo
and on :class:`~calsync.testing.OdooEmulator`; a check's label never holds an
id or a year, so two runs compare line by line.

Paris and Brussels are UTC+1 until the last Sunday of March, UTC+2 after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from tests.conformance.rpc import OdooRPCError
from tests.conformance.scene import Scene

__all__ = ["SCENARIOS", "Scenario"]


@attrs.frozen
class Scenario:
    """A named scenario and the roles it runs as (``admin``: the administrator's own
    calendar; ``user``: an ordinary user's)."""

    name: str
    play: Callable[[Scene], None]
    roles: tuple[str, ...] = ("admin", "user")


def _attendees(*emails: str) -> list[dict[str, Any]]:
    return [
        {"type": "required", "emailAddress": {"address": e, "name": e.split("@")[0].title()}}
        for e in emails
    ]


def _weekly(
    scene: Scene,
    title: str,
    first: date,
    hour: int,
    count: int,
    zone: str,
    *,
    minutes: int = 30,
    **values: Any,
) -> dict[str, Any]:
    """Odoo values of a weekly series on ``first``'s weekday, ``hour`` UTC on the first day."""
    start = datetime(first.year, first.month, first.day, hour)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[first.weekday()]
    return {
        "name": title,
        "start": f"{start:%Y-%m-%d %H:%M:%S}",
        "stop": f"{start + timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}",
        "recurrency": True,
        "rrule_type": "weekly",
        "interval": 1,
        "end_type": "count",
        "count": count,
        weekday: True,
        "event_tz": zone,
        **values,
    }


def _outlook_weekly(
    scene: Scene, title: str, first: date, hour: int, count: int, zone: str, **fields: Any
) -> dict[str, Any]:
    """A Graph body of a weekly series, ``hour`` local time in ``zone``."""
    day = first.isoformat()
    return {
        "subject": title,
        "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": zone},
        "end": {"dateTime": f"{day}T{hour:02d}:30:00", "timeZone": zone},
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [first.strftime("%A").lower()],
                "firstDayOfWeek": "sunday",
            },
            "range": {
                "type": "numbered",
                "startDate": day,
                "numberOfOccurrences": count,
                "recurrenceTimeZone": zone,
            },
        },
        **fields,
    }


def _count(scene: Scene, title: str) -> tuple[int, int]:
    """How many occurrences called ``title`` each side holds (Odoo, Outlook)."""
    return scene.odoo_titles().count(title), scene.outlook_titles().count(title)


# -- first sync ---------------------------------------------------------------------------------


def first_sync(scene: Scene) -> None:
    """Both calendars already hold events: singles, identical pairs, series with a moved and a
    deleted occurrence, all-day events, meetings with guests. One sync joins them."""
    user = scene.user
    ann, ben, carl = scene.email("ann"), scene.email("ben"), scene.email("carl")
    # Odoo, as the user entered it
    user.create(
        {
            "name": "Odoo single",
            "start": scene.utc(3, 2, 9),
            "stop": scene.utc(3, 2, 10),
            "location": "Room 1",
            "description": "<p>Agenda: <b>budget</b></p>",
            "partner_ids": user.invite(ann),
        }
    )
    user.create(
        {
            "name": "Odoo all-day",
            "allday": True,
            "start_date": scene.day(3, 3),
            "stop_date": scene.day(3, 4),
        }
    )
    first = scene.weekday(4, 1, 0)  # Mondays in April, 09:00 Paris (07:00 UTC)
    base = user.create(
        _weekly(scene, "Odoo weekly", first, 7, 5, "Europe/Paris", partner_ids=user.invite(ben))
    )
    rows = user.series(base)
    moved = datetime.fromisoformat(rows[1]["start"]) + timedelta(hours=2)
    user.write(
        [rows[1]["id"]],
        {
            "name": "Odoo weekly (moved)",
            "start": f"{moved:%Y-%m-%d %H:%M:%S}",
            "stop": f"{moved + timedelta(minutes=30):%Y-%m-%d %H:%M:%S}",
            "recurrence_update": "self_only",
        },
    )
    user.call("calendar.event", "unlink", [rows[3]["id"]], context={})  # "Delete this event"
    # the same meeting and the same holiday, entered by hand in both calendars
    user.create(
        {
            "name": "Kick-off",
            "start": scene.utc(3, 10, 8),
            "stop": scene.utc(3, 10, 9),
            "location": "Room 2",
            "partner_ids": user.invite(ann),
        }
    )
    user.create(
        {
            "name": "Holiday",
            "allday": True,
            "start_date": scene.day(3, 20),
            "stop_date": scene.day(3, 20),
        }
    )
    scene.outlook_create(
        {
            "subject": "Kick-off",
            "start": scene.local(3, 10, 9),
            "end": scene.local(3, 10, 10),
            "location": {"displayName": "Room 2"},
            "attendees": _attendees(ann),
        }
    )
    scene.outlook_create(
        {
            "subject": "Holiday",
            "isAllDay": True,
            "start": scene.local(3, 20, 0),
            "end": scene.local(3, 21, 0),
        }
    )
    # Outlook, as the user entered it
    scene.outlook_create(
        {
            "subject": "Outlook single",
            "start": scene.local(3, 4, 10),
            "end": scene.local(3, 4, 11),
            "attendees": _attendees(carl),
            "body": {"contentType": "html", "content": "<p>Bring the <i>slides</i></p>"},
        }
    )
    scene.outlook_create(
        {
            "subject": "Outlook all-day",
            "isAllDay": True,
            "start": scene.local(3, 5, 0),
            "end": scene.local(3, 7, 0),
            "showAs": "free",
        }
    )
    tuesday = scene.weekday(4, 1, 1)
    scene.outlook_create(_outlook_weekly(scene, "Outlook weekly", tuesday, 10, 5, "Europe/Paris"))
    second = scene.occurrence("Outlook weekly", tuesday + timedelta(days=7))
    scene.outlook_update(
        second["id"],
        {
            "subject": "Outlook weekly (moved)",
            "start": {
                "dateTime": f"{tuesday + timedelta(days=7)}T14:00:00",
                "timeZone": "Europe/Paris",
            },
            "end": {
                "dateTime": f"{tuesday + timedelta(days=7)}T14:30:00",
                "timeZone": "Europe/Paris",
            },
        },
    )
    scene.outlook_delete(scene.occurrence("Outlook weekly", tuesday + timedelta(days=21))["id"])

    scene.settle("first sync")
    checks = scene.checks
    checks.equal(
        "the meeting entered on both sides is one event on each", _count(scene, "Kick-off"), (1, 1)
    )
    checks.equal(
        "the holiday entered on both sides is one event on each", _count(scene, "Holiday"), (1, 1)
    )
    checks.equal(
        "Odoo's series reaches Outlook with its moved occurrence",
        _count(scene, "Odoo weekly"),
        (3, 3),
    )
    checks.equal(
        "Outlook's series reaches Odoo with its moved occurrence",
        _count(scene, "Outlook weekly"),
        (3, 3),
    )
    checks.equal(
        "the moved occurrences stay moved",
        (_count(scene, "Odoo weekly (moved)"), _count(scene, "Outlook weekly (moved)")),
        ((1, 1), (1, 1)),
    )
    masters = [e for e in scene.outlook_items() if e.get("type") == "seriesMaster"]
    checks.equal(
        "each series is one series in Outlook",
        sorted(e["subject"] for e in masters),
        ["Odoo weekly", "Outlook weekly"],
    )
    odoo_series = {r["recurrence_id"][0] for r in scene.odoo_rows() if r["recurrence_id"]}
    checks.equal("each series is one recurrence in Odoo", len(odoo_series), 2)


# -- edits, conflicts, deletions, archive, answers ------------------------------------------------


def edits(scene: Scene) -> None:
    """Each side edits its own event: times, titles, places, descriptions, guests."""
    user = scene.user
    ann, ben, carl = scene.email("ann"), scene.email("ben"), scene.email("carl")
    planning = user.create(
        {
            "name": "Planning",
            "start": scene.utc(3, 9, 9),
            "stop": scene.utc(3, 9, 10),
            "partner_ids": user.invite(ann),
        }
    )
    review = scene.outlook_create(
        {
            "subject": "Review",
            "start": scene.local(3, 11, 10),
            "end": scene.local(3, 11, 11),
            "attendees": _attendees(ben, carl),
        }
    )
    scene.settle("before the edits")

    user.write(
        [planning],
        {
            "name": "Planning (edited in Odoo)",
            "start": scene.utc(3, 9, 13),
            "stop": scene.utc(3, 9, 14, 30),
            "location": "Lab",
            "description": "<p>New <b>agenda</b></p>",
        },
    )
    scene.outlook_update(
        review,
        {
            "subject": "Review (edited in Outlook)",
            "start": scene.local(3, 12, 15),
            "end": scene.local(3, 12, 16),
            "location": {"displayName": "Hall"},
            "body": {"contentType": "html", "content": "<p>Read the <i>draft</i></p>"},
        },
    )
    scene.settle("edits on each side")
    scene.checks.equal(
        "Odoo's edit reaches Outlook",
        [
            (s.title, s.start, s.location, s.text)
            for s in scene.seen_outlook()
            if "Planning" in s.title
        ],
        [("Planning (edited in Odoo)", f"{scene.year}-03-09 13:00", "Lab", "New agenda")],
    )
    odoo = [s for s, _ in scene.seen_odoo(scene.odoo_rows()) if "Review" in s.title]
    scene.checks.equal(
        "Outlook's edit reaches Odoo",
        [(s.title, s.start, s.location, s.text) for s in odoo],
        [("Review (edited in Outlook)", f"{scene.year}-03-12 14:00", "Hall", "Read the draft")],
    )

    user.write([planning], {"partner_ids": user.invite(ann, carl)})
    scene.outlook_update(review, {"attendees": _attendees(ben)})
    scene.settle("guests added in Odoo, removed in Outlook")
    guests = {s.title: s.guests for s in scene.seen_outlook()}
    scene.checks.equal(
        "the guests each side set are the guests on both",
        guests,
        {"Planning (edited in Odoo)": (ann, carl), "Review (edited in Outlook)": (ben,)},
    )


def conflict(scene: Scene) -> None:
    """Both sides edit one event between two runs: fields merge, the same field has one winner."""
    user = scene.user
    budget = user.create(
        {"name": "Budget", "start": scene.utc(3, 16, 9), "stop": scene.utc(3, 16, 10)}
    )
    scene.settle("before the conflict")
    user.write([budget], {"name": "Budget (Odoo)", "location": "Odoo room"})
    scene.outlook_update(
        scene.outlook_find("Budget")["id"],
        {
            "subject": "Budget (Outlook)",
            "body": {"contentType": "html", "content": "<p>Outlook notes</p>"},
        },
    )
    report = scene.settle("edited on both sides")
    scene.checks.equal("one conflict is reported", report.conflicts if report else None, 1)
    both = {
        "odoo": [(s.title, s.location, s.text) for s, _ in scene.seen_odoo(scene.odoo_rows())],
        "outlook": [(s.title, s.location, s.text) for s in scene.seen_outlook()],
    }
    merged = [("Budget (Odoo)", "Odoo room", "Outlook notes")]
    scene.checks.equal(
        "the title edited on both sides goes to Odoo's edit (within the clock tolerance), the "
        "other fields merge",
        both,
        {"odoo": merged, "outlook": merged},
    )


def deletions(scene: Scene) -> None:
    """Each side deletes an event; an event deleted on one side and edited on the other stays."""
    user = scene.user
    odoo_doomed = user.create(
        {"name": "Odoo doomed", "start": scene.utc(4, 5, 9), "stop": scene.utc(4, 5, 10)}
    )
    user.create({"name": "Keeper", "start": scene.utc(4, 6, 9), "stop": scene.utc(4, 6, 10)})
    contested = user.create(
        {"name": "Contested", "start": scene.utc(4, 7, 9), "stop": scene.utc(4, 7, 10)}
    )
    outlook_doomed = scene.outlook_create(
        {"subject": "Outlook doomed", "start": scene.local(4, 8, 10), "end": scene.local(4, 8, 11)}
    )
    scene.settle("before the deletions")
    user.call("calendar.event", "unlink", [odoo_doomed], context={})
    scene.outlook_delete(outlook_doomed)
    user.call("calendar.event", "unlink", [contested], context={})
    scene.outlook_update(
        scene.outlook_find("Contested")["id"], {"location": {"displayName": "Edited meanwhile"}}
    )
    scene.settle("deleted on each side")
    scene.checks.equal(
        "what either side deleted is gone from both; the edit beats the deletion",
        (scene.odoo_titles(), scene.outlook_titles()),
        (["Contested", "Keeper"], ["Contested", "Keeper"]),
    )
    scene.checks.equal(
        "Outlook's deletion archives the Odoo event (recoverable)",
        scene.odoo_titles(archived=True),
        ["Outlook doomed"],
    )


def archive_unarchive(scene: Scene) -> None:
    """The web client archives an event and a series occurrence, then restores them."""
    user = scene.user
    ann = scene.email("ann")
    single = user.create(
        {
            "name": "Offsite",
            "start": scene.utc(5, 4, 8),
            "stop": scene.utc(5, 4, 16),
            "partner_ids": user.invite(ann),
        }
    )
    base = user.create(_weekly(scene, "Weekly sync", scene.weekday(5, 1, 2), 8, 4, "Europe/Paris"))
    third = user.series(base)[2]["id"]
    scene.settle("before archiving")
    user.method("action_archive", single)
    user.method("action_mass_archive", third, "self_only")
    scene.settle("archived in Odoo")
    scene.checks.equal(
        "an archived event leaves Outlook, an archived occurrence is cancelled there",
        (scene.outlook_titles().count("Offsite"), scene.outlook_titles().count("Weekly sync")),
        (0, 3),
    )
    # (Outlook cannot bring a cancelled occurrence back: the occurrence stays archived)
    user.call("calendar.event", "action_unarchive", [single], context={})
    scene.settle("unarchived in Odoo")
    scene.checks.equal(
        "unarchived, the event is back in Outlook",
        (scene.outlook_titles().count("Offsite"), scene.outlook_titles().count("Weekly sync")),
        (1, 3),
    )


def rsvp(scene: Scene) -> None:
    """Answers: the user answers an invitation in Outlook; a guest answers the user's meeting;
    the user answers a colleague's meeting in Odoo."""
    user = scene.user
    olga, ann = scene.email("olga"), scene.email("ann")
    scene.graph.seed_event(
        scene.mailbox(user),
        {
            "subject": "Partner review",
            "start": scene.local(6, 8, 15),
            "end": scene.local(6, 8, 16),
            "attendees": _attendees(user.email, ann),
        },
        organizer=("Olga", olga),
    )
    lunch = user.create(
        {
            "name": "Team lunch",
            "start": scene.utc(6, 9, 11),
            "stop": scene.utc(6, 9, 12),
            "partner_ids": user.invite(ann),
        }
    )
    colleague = scene.colleague
    theirs = colleague.create(
        {
            "name": "Colleague's meeting",
            "start": scene.utc(6, 10, 9),
            "stop": scene.utc(6, 10, 10),
            "partner_ids": colleague.invite(user.email),
        }
    )
    scene.settle("invitations")
    scene.checks.equal(
        "a meeting the user only attends in Odoo is not made theirs in Outlook",
        scene.outlook_titles().count("Colleague's meeting"),
        0,
    )
    scene.graph.rsvp(scene.mailbox(user), scene.outlook_find("Partner review")["id"], "accept")
    scene.graph.respond(
        scene.mailbox(user), scene.outlook_find("Team lunch")["id"], ann, "accepted"
    )
    user.method("change_attendee_status", theirs, "declined", False)
    scene.settle("answers")
    answers = {
        row["name"]: scene.attendance(row)
        for row in scene.odoo_rows()
        if row["name"] in ("Partner review", "Team lunch")
    }
    scene.checks.equal(
        "the user's answer in Outlook reaches Odoo",
        answers.get("Partner review", {}).get(user.email),
        "accepted",
    )
    scene.checks.equal(
        "a guest's answer in Outlook reaches Odoo",
        answers.get("Team lunch", {}).get(ann),
        "accepted",
    )
    del lunch


# -- series edits across daylight saving -----------------------------------------------------------


def series_edits(zone: str) -> Callable[[Scene], None]:
    """The three kinds of series edit, made as Odoo's web client makes them, and Outlook's, on
    weekly series that cross ``zone``'s spring daylight-saving change."""

    def play(scene: Scene) -> None:
        user = scene.user
        change = scene.dst_change(zone)
        monday = change - timedelta(days=13)  # two Mondays before the change, four after
        first = scene.odoo_time(monday, 9, zone)
        start = datetime.fromisoformat(first)
        base = user.create(
            _weekly(
                scene,
                "Odoo weekly",
                monday,
                start.hour,
                6,
                zone,
                partner_ids=user.invite(scene.email("ann")),
            )
        )
        tuesday = monday + timedelta(days=1)
        scene.outlook_create(_outlook_weekly(scene, "Outlook weekly", tuesday, 10, 6, zone))
        scene.settle("series across the change")
        scene.checks.equal(
            "each series keeps its wall-clock time across the change, on both sides",
            (scene.wall_clocks("Odoo weekly", zone), scene.wall_clocks("Outlook weekly", zone)),
            ((["09:00"] * 6, ["09:00"] * 6), (["10:00"] * 6, ["10:00"] * 6)),
        )

        rows = user.series(base)
        user.write(  # "This event": one occurrence moved an hour later and renamed
            [rows[1]["id"]],
            {
                "name": "Odoo weekly (moved)",
                "start": scene.odoo_time(monday + timedelta(days=7), 10, zone),
                "stop": scene.odoo_time(monday + timedelta(days=7), 10, zone, 30),
                "recurrence_update": "self_only",
            },
        )
        scene.settle("one occurrence edited in Odoo")
        scene.checks.equal(
            "the moved occurrence is an exception on both sides",
            scene.wall_clocks("Odoo weekly (moved)", zone),
            (["10:00"], ["10:00"]),
        )

        rows = user.series(base)
        fourth = [r for r in rows if r["active"]][3]
        day = datetime.fromisoformat(fourth["start"]).date()
        user.write(  # "This and following events", after the change: renamed, half an hour later
            [fourth["id"]],
            {
                "name": "Odoo weekly v2",
                "start": scene.odoo_time(day, 9, zone, 30),
                "stop": scene.odoo_time(day, 10, zone),
                "recurrence_update": "future_events",
            },
        )
        scene.settle("following occurrences edited in Odoo")
        scene.checks.equal(
            "the series splits in two on both sides",
            (scene.wall_clocks("Odoo weekly", zone), scene.wall_clocks("Odoo weekly v2", zone)),
            ((["09:00"] * 2, ["09:00"] * 2), (["09:30"] * 3, ["09:30"] * 3)),
        )

        user.write(  # "All events" of the first part: a quarter of an hour earlier
            [base],
            {
                "start": scene.odoo_time(monday, 8, zone, 45),
                "stop": scene.odoo_time(monday, 9, zone, 15),
                "recurrence_update": "all_events",
            },
        )
        scene.settle("all occurrences edited in Odoo")
        scene.checks.equal(  # Odoo rebuilds a series whose time changes: the exception goes
            "the whole first part moves, on both sides",
            (
                scene.wall_clocks("Odoo weekly", zone),
                scene.wall_clocks("Odoo weekly (moved)", zone),
            ),
            ((["08:45"] * 3, ["08:45"] * 3), ([], [])),
        )

        scene.outlook_update(  # one occurrence, after the change
            scene.occurrence("Outlook weekly", tuesday + timedelta(days=21))["id"],
            {
                "subject": "Outlook weekly (moved)",
                "start": {"dateTime": f"{tuesday + timedelta(days=21)}T11:00:00", "timeZone": zone},
                "end": {"dateTime": f"{tuesday + timedelta(days=21)}T11:30:00", "timeZone": zone},
            },
        )
        scene.settle("one occurrence edited in Outlook")
        master = scene.outlook_find("Outlook weekly")
        scene.outlook_update(  # the whole series, half an hour earlier
            master["id"],
            {
                "start": {"dateTime": f"{tuesday}T09:30:00", "timeZone": zone},
                "end": {"dateTime": f"{tuesday}T10:00:00", "timeZone": zone},
            },
        )
        scene.settle("all occurrences edited in Outlook")
        scene.checks.equal(
            "Outlook's series moves in Odoo too, across the change",
            scene.wall_clocks("Outlook weekly", zone),
            (["09:30"] * 6, ["09:30"] * 6),
        )
        master = scene.outlook_find("Outlook weekly")
        split = tuesday + timedelta(days=28)
        pattern = _outlook_weekly(scene, "", tuesday, 0, 1, zone)["recurrence"]["pattern"]
        scene.outlook_update(  # "this and following": the series ends, a new one starts
            master["id"],
            {
                "recurrence": {
                    "pattern": pattern,
                    "range": {
                        "type": "endDate",
                        "startDate": tuesday.isoformat(),
                        "endDate": (split - timedelta(days=1)).isoformat(),
                        "recurrenceTimeZone": zone,
                    },
                }
            },
        )
        scene.outlook_create(_outlook_weekly(scene, "Outlook weekly v2", split, 12, 2, zone))
        scene.settle("following occurrences edited in Outlook")
        scene.checks.equal(
            "Outlook's split reaches Odoo",
            (
                scene.wall_clocks("Outlook weekly", zone),
                scene.wall_clocks("Outlook weekly v2", zone),
            ),
            ((["09:30"] * 4, ["09:30"] * 4), (["12:00"] * 2, ["12:00"] * 2)),
        )

    return play


# -- reset ---------------------------------------------------------------------------------------

RESETS = [
    (existing, next_sync)
    for existing in ("leave", "delete_from_microsoft", "delete_from_odoo", "delete_from_both")
    for next_sync in ("new", "all")
]


def reset(existing: str, next_sync: str) -> Callable[[Scene], None]:
    """Odoo's "Reset Account" choices through calsync, previewed, run, then synced again."""

    def play(scene: Scene) -> None:
        user = scene.user
        ann = scene.email("ann")
        user.create(
            {
                "name": "Kick-off",
                "start": scene.utc(3, 10, 9),
                "stop": scene.utc(3, 10, 10),
                "partner_ids": user.invite(ann),
            }
        )
        scene.outlook_create(
            {"subject": "Lunch", "start": scene.local(3, 11, 12), "end": scene.local(3, 11, 13)}
        )
        user.create(_weekly(scene, "Standup", scene.weekday(3, 1, 0), 8, 3, "Europe/Brussels"))
        scene.settle("before the reset")
        user.create(
            {"name": "Later in Odoo", "start": scene.utc(3, 20, 9), "stop": scene.utc(3, 20, 10)}
        )
        before = (scene.odoo_titles(), scene.outlook_titles())
        plan = scene.loop.run_until_complete(scene.sync.preview_reset_async(existing, next_sync))
        scene.checks.equal(
            "the preview writes nothing", (scene.odoo_titles(), scene.outlook_titles()), before
        )
        scene.graph.clear_mail_log()
        report = scene.reset("reset", existing, next_sync)
        scene.checks.check("the reset succeeds", report is not None and report.ok, str(report))
        scene.checks.equal(
            "Outlook mails the cancellations the preview announced",
            sorted(m.recipient for m in scene.graph.mail_log(scene.mailbox(user))),
            sorted(n.recipient for n in plan.notifications),
        )
        synced = ["Kick-off", "Lunch", "Standup", "Standup", "Standup"]
        odoo_gone = existing in ("delete_from_odoo", "delete_from_both")
        outlook_gone = existing in ("delete_from_microsoft", "delete_from_both")
        scene.checks.equal(
            "the reset deletes what it was told to",
            (scene.odoo_titles(), scene.outlook_titles()),
            (
                sorted(["Later in Odoo"] + ([] if odoo_gone else synced)),
                [] if outlook_gone else synced,
            ),
        )
        if next_sync == "all":
            scene.settle("the sync after the reset")
            odoo, outlook = scene.odoo_titles(), scene.outlook_titles()
            scene.checks.equal("every existing event syncs again, matched", odoo, outlook)
        else:
            left_out = set(scene.odoo_titles()) | set(scene.outlook_titles())
            scene.settle("the sync after the reset", ignore=left_out)
            scene.checks.check(
                "existing events stay out", "Later in Odoo" not in scene.outlook_titles()
            )
            user.create(
                {
                    "name": "After the reset",
                    "start": scene.utc(3, 25, 9),
                    "stop": scene.utc(3, 25, 10),
                }
            )
            scene.run("new event after the reset")
            scene.checks.check("a new event syncs", "After the reset" in scene.outlook_titles())

    return play


# -- others' calendars, rights, volume -------------------------------------------------------------


def private_calendar(scene: Scene) -> None:
    """calsync, signed in as the scene's user, syncs Carol's calendar: her private events, her
    colleague's private meeting, then her whole calendar made private by default."""
    carol = scene.new_user("carol")
    dave = scene.new_user("dave")
    ann = scene.email("ann")
    carol.create(
        {
            "name": "Carol planning",
            "start": scene.utc(9, 6, 9),
            "stop": scene.utc(9, 6, 10),
            "location": "Carol's office",
            "description": "<p>Quarterly numbers</p>",
            "partner_ids": carol.invite(ann),
        }
    )
    carol.create(
        {
            "name": "Carol public",
            "start": scene.utc(9, 7, 9),
            "stop": scene.utc(9, 7, 10),
            "privacy": "public",
        }
    )
    carol.create(
        {
            "name": "Carol secret",
            "start": scene.utc(9, 8, 9),
            "stop": scene.utc(9, 8, 10),
            "privacy": "private",
            "location": "Clinic",
        }
    )
    dave.create(
        {
            "name": "Dave board",
            "start": scene.utc(9, 9, 9),
            "stop": scene.utc(9, 9, 10),
            "privacy": "private",
            "partner_ids": dave.invite(carol.email),
        }
    )
    signer = scene.user
    scene.synchronizer(signer, carol)

    def masked(row: dict[str, Any]) -> bool:
        private = row["privacy"] == "private" or (
            not row["privacy"] and scene.default_privacy(row["user_id"][0]) == "private"
        )
        return (
            private and signer.uid != row["user_id"][0] and signer.partner not in row["partner_ids"]
        )

    scene.settle("Carol's calendar", hidden=masked)
    copied = [(s.location, s.text) for s in scene.seen_outlook() if s.title == "Carol planning"]
    titles = scene.outlook_titles()
    scene.checks.equal(
        "private events calsync cannot read stay out of Outlook, never as 'Busy'",
        [t for t in titles if t in ("Busy", "Carol secret", "Dave board")],
        [],
    )
    scene.checks.equal(
        "what calsync can read reaches Outlook", titles, ["Carol planning", "Carol public"]
    )
    if scene.target.version < "18":  # calendar_default_privacy came with Odoo 18
        return
    carol.call("res.users", "write", [carol.uid], {"calendar_default_privacy": "private"})
    carol.create(
        {
            "name": "Carol new",
            "start": scene.utc(9, 10, 9),
            "stop": scene.utc(9, 10, 10),
            "location": "Somewhere",
        }
    )
    scene.settle("Carol's calendar made private by default", hidden=masked)
    planning = [s for s in scene.seen_outlook() if s.title == "Carol planning"]
    scene.checks.equal(
        "an Outlook copy that became unreadable in Odoo is neither emptied nor deleted",
        [(s.location, s.text) for s in planning],
        copied,
    )
    scene.checks.check(
        "the copy held Carol's place and notes", copied[:1] and "Quarterly numbers" in copied[0][1]
    )
    scene.checks.equal(
        "no 'Busy' copy is made of the new default-private event",
        [t for t in scene.outlook_titles() if t in ("Busy", "Carol new")],
        [],
    )


def no_contact_creation(scene: Scene) -> None:
    """A user without "Contact Creation" syncs three Outlook events, one with an address Odoo
    does not know: that one alone is held, until the contact exists."""
    frank = scene.new_user("frank", contact_creation=False)
    scene.checks.equal("the user cannot create contacts", scene.can_create_contacts(frank), False)
    scene.synchronizer(frank)
    stranger = scene.email("zed", known=False)
    for subject, day, guests in (
        ("Known guest", 2, [scene.email("ann")]),
        ("Unknown guest", 3, [stranger]),
        ("No guest", 4, []),
    ):
        scene.outlook_create(
            {
                "subject": subject,
                "start": scene.local(10, day, 10),
                "end": scene.local(10, day, 11),
                "attendees": _attendees(*guests),
            }
        )
    scene.settle("three events, one guest unknown", held=["Unknown guest"])
    scene.checks.equal("the other two reach Odoo", scene.odoo_titles(), ["Known guest", "No guest"])
    scene.admin.partner_of(stranger, "Zed")
    scene.settle("once the contact exists")
    scene.checks.equal(
        "the held event follows",
        scene.odoo_titles(),
        ["Known guest", "No guest", "Unknown guest"],
    )


def push_100(scene: Scene) -> None:
    """A hundred Outlook events reach Odoo in one run; ten invite someone Odoo does not know."""
    ann = scene.email("ann")
    newcomers = [scene.email(f"new{n}", known=False) for n in range(10)]
    for n in range(100):
        day = date(scene.year, 1, 4) + timedelta(days=n)
        guests = [newcomers[n // 10]] if n % 10 == 0 else ([ann] if n % 3 == 0 else [])
        scene.outlook_create(
            {
                "subject": f"Outlook {n:03d}",
                "start": {"dateTime": f"{day}T09:00:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": f"{day}T09:30:00", "timeZone": "Europe/Paris"},
                "attendees": _attendees(*guests),
            }
        )
    creates = scene.can_create_contacts(scene.user)
    held = [] if creates else [f"Outlook {n:03d}" for n in range(0, 100, 10)]
    report = scene.settle("a hundred Outlook events", held=held)
    scene.checks.equal(
        "every event reaches Odoo (those with a new guest only if the user may create contacts)",
        len(scene.odoo_titles()),
        100 - len(held),
    )
    if report is not None:
        calls = sum(n for name, n in report.requests.items() if name.startswith("odoo"))
        scene.checks.check(
            "Odoo is written in batches (fewer than 60 calls)", calls < 60, f"{report.requests}"
        )


def series_deletions(scene: Scene) -> None:
    """Series deleted as Odoo's web client deletes them: "this event" (unlink), "this and
    following" and "all" (``action_mass_deletion``), and the calendar's archive of all."""
    user = scene.user
    base = user.create(_weekly(scene, "Series A", scene.weekday(11, 1, 0), 9, 6, "Europe/Brussels"))
    second = user.create(
        _weekly(scene, "Series B", scene.weekday(11, 1, 1), 9, 4, "Europe/Brussels")
    )
    third = user.create(
        _weekly(scene, "Series C", scene.weekday(11, 1, 2), 9, 4, "Europe/Brussels")
    )
    scene.settle("three series")
    rows = user.series(base)
    user.call("calendar.event", "unlink", [rows[1]["id"]], context={})
    scene.settle("one occurrence deleted")
    scene.checks.equal("the occurrence is cancelled in Outlook", _count(scene, "Series A"), (5, 5))
    user.method("action_mass_deletion", rows[3]["id"], "future_events")
    scene.settle("this and following occurrences deleted")
    scene.checks.equal("the series ends in Outlook", _count(scene, "Series A"), (2, 2))
    user.method("action_mass_deletion", user.series(second)[1]["id"], "all_events")
    scene.settle("all occurrences deleted")
    scene.checks.equal("the series is gone from Outlook", _count(scene, "Series B"), (0, 0))
    user.method("action_mass_archive", third, "all_events")
    scene.settle("all occurrences archived")
    scene.checks.equal(
        "the archived series is gone from Outlook", _count(scene, "Series C"), (0, 0)
    )


# -- refusals ---------------------------------------------------------------------------------


def refusals(scene: Scene) -> None:
    """What Odoo refuses, and how it says so: keywords its methods do not take, access rights,
    deleted records, bad values. The emulator must answer each exactly as the server does."""
    user, admin = scene.user, scene.admin

    def refused(label: str, call: Callable[[], Any], name: str, *fragments: str) -> None:
        try:
            answer = call()
        except OdooRPCError as fault:
            scene.checks.equal(
                label,
                (fault.name, [f for f in fragments if f not in fault.message]),
                (name, []),
            )
        else:
            scene.checks.check(label, False, f"\n    accepted, answered {answer!r}")

    refused(  # 17/18: "tuple index out of range"; 19 makes the record, then "list index ..."
        "create with a vals_list= keyword: Odoo reads the values from the first argument",
        lambda: admin.call("res.partner", "create", vals_list={"name": "Nobody"}),
        "builtins.IndexError",
        "index out of range",
    )
    event = user.create(
        {"name": "Refusals", "start": scene.utc(12, 1, 9), "stop": scene.utc(12, 1, 10)}
    )
    wrong = "vals" if scene.target.version < "19" else "values"  # Meeting.write(values) until 19
    refused(
        "calendar.event.write with a keyword its parameter is not named",
        lambda: user.call("calendar.event", "write", [event], **{wrong: {"name": "x"}}),
        "builtins.TypeError",
        f"got an unexpected keyword argument '{wrong}'",
    )
    refused(
        "a datetime written with a T",
        lambda: user.write([event], {"start": f"{scene.year}-12-01T08:00:00"}),
        "builtins.ValueError",
        "does not match format '%Y-%m-%d %H:%M:%S'",
    )
    refused(
        "a field no model has, in a domain",
        lambda: user.call("calendar.event", "search", [("no_such_field", "=", 1)]),
        "builtins.ValueError",
        "Invalid field calendar.event.no_such_field",
    )
    refused(
        "recurrence fields written for one occurrence only",
        lambda: user.write([event], {"interval": 2, "recurrence_update": "self_only"}),
        "odoo.exceptions.UserError",
        'Unable to save the recurrence with "This Event"',
    )
    user.call("calendar.event", "unlink", [event], context={})
    scene.checks.equal(
        "a deleted record reads as nothing",
        user.call("calendar.event", "read", [event], ["name"]),
        [],
    )
    refused(
        "a deleted record cannot be written",
        lambda: user.write([event], {"name": "Gone"}),
        "odoo.exceptions.MissingError",
        "Record does not exist or has been deleted.",
        f"(Record: calendar.event({event},), User: {user.uid})",
    )
    colleague = scene.colleague
    secret = colleague.create(
        {
            "name": "Colleague's secret",
            "start": scene.utc(12, 2, 9),
            "stop": scene.utc(12, 2, 10),
            "privacy": "private",
        }
    )
    (masked,) = user.call("calendar.event", "read", [secret], ["name", "privacy", "write_date"])
    scene.checks.equal(
        "another user's private event reads as Busy",
        (masked["name"], masked["privacy"], masked["write_date"]),
        ("Busy", "private", False),
    )
    refused(
        "another user's private event cannot be written",
        lambda: user.write([secret], {"location": "Here"}),
        "odoo.exceptions.AccessError",
        "doesn't have 'write' access to:",
    )
    refused(
        "another user's private event cannot be deleted",
        lambda: user.call("calendar.event", "unlink", [secret], context={}),
        "odoo.exceptions.AccessError",
        "doesn't have 'unlink' access to:",
    )
    if scene.target.version >= "18":  # calendar_default_privacy came with Odoo 18
        _refused_default_privacy(scene, refused)
    frank = scene.new_user("frank", contact_creation=False)
    refused(
        'a user without "Contact Creation" cannot create a contact',
        lambda: frank.call(
            "res.partner", "create", {"name": "Zed", "email": scene.email("zed", known=False)}
        ),
        "odoo.exceptions.AccessError",
        "You are not allowed to create 'Contact' (res.partner) records.",
    )
    refused(
        "only Administration / Settings may create event tags",
        lambda: frank.call("calendar.event.type", "create", {"name": f"Tag {scene.tag}"}),
        "odoo.exceptions.AccessError",
        "You are not allowed to create 'Event Meeting Type' (calendar.event.type) records.",
    )


def _refused_default_privacy(scene: Scene, refused: Callable[..., None]) -> None:
    """An administrator may not change another user's default privacy (Odoo 18+)."""
    user, admin = scene.user, scene.admin
    (current,) = admin.call("res.users", "read", [user.uid], ["calendar_default_privacy"])
    refused(  # the value it already has: nothing changes even where it is accepted
        "another user's default privacy cannot be changed, even by an administrator",
        lambda: admin.call(
            "res.users",
            "write",
            [user.uid],
            {"calendar_default_privacy": current["calendar_default_privacy"]},
        ),
        "odoo.exceptions.AccessError",
        "You are not allowed to change the calendar default privacy of another user",
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("first sync", first_sync),
    Scenario("edits", edits),
    Scenario("conflict", conflict),
    Scenario("deletions", deletions),
    Scenario("archive and unarchive", archive_unarchive),
    Scenario("rsvp", rsvp),
    Scenario("series edits New York", series_edits("America/New_York")),
    Scenario("series edits Brussels", series_edits("Europe/Brussels")),
    *(Scenario(f"reset {e} {n}", reset(e, n)) for e, n in RESETS),
    Scenario("private calendar", private_calendar),
    Scenario("no contact creation", no_contact_creation, ("user",)),
    Scenario("100 Outlook events", push_100),
    Scenario("series deletions", series_deletions),
    Scenario("refusals", refusals, ("user",)),
)


def by_name(name: str) -> Scenario:
    """The scenario called ``name``."""
    (found,) = [s for s in SCENARIOS if s.name == name]
    return found
