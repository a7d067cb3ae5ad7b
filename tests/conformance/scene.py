"""One conformance scenario's world: Odoo (real or emulated), a GraphEmulator mailbox, calsync.

A :class:`Scene` gives a scenario:

* **people** in Odoo (:class:`Person`: an administrator, the ordinary user, and
  users it creates) with their hands: :class:`~tests.conformance.rpc.OdooRPC`
  calls as they make them in Odoo's web client;
* the calendar user's **mailbox** on a :class:`~calsync.testing.GraphEmulator`
  (Outlook's side, read and written through the emulator's own methods);
* **calsync** between them (:meth:`Scene.synchronizer`), signed in as the
  calendar user or as someone else syncing that user's calendar;
* a **year of its own**: on a shared database the scenario keeps to the last
  year up to 2037 (pytz, which Odoo uses, knows daylight saving until then) in
  which its users have no event, and removes what it made when it ends, so
  that it neither reads nor changes anyone else's events;
* :meth:`Scene.settle`: sync, read both sides back (Odoo over RPC as the
  calendar user, Outlook from the emulator's state, neither through calsync),
  compare them, then sync again: the second run must plan no write.

Times are written as the user sees them: :meth:`Scene.utc` gives Odoo's UTC
strings, :meth:`Scene.local` Outlook's local ``dateTime`` bodies.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import httpx

import calsync
from calsync._retry import RetryPolicy
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox
from tests.conformance.checks import Checks
from tests.conformance.rpc import OdooRPC, OdooRPCError
from tests.conformance.target import FRESH_USER, Credentials, OdooTarget

__all__ = ["QUIET", "Person", "Scene", "Seen", "Unsuitable", "scene"]

UTC = timezone.utc
#: Odoo mails nobody (the web client would try to: invitations the servers here cannot send)
QUIET = {"no_mail_to_attendees": True}
FIRST_YEAR = 2030
#: pytz, which Odoo uses, knows daylight saving only up to 2037
LAST_YEAR = 2037
EVENT_FIELDS = [
    "name",
    "start",
    "stop",
    "allday",
    "start_date",
    "stop_date",
    "location",
    "description",
    "privacy",
    "show_as",
    "partner_ids",
    "attendee_ids",
    "user_id",
    "recurrence_id",
    "follow_recurrence",
    "active",
]


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


@attrs.define
class Person:
    """An Odoo user of the scene: who they are, and their hands (RPC as them)."""

    login: str
    uid: int
    partner: int
    email: str
    name: str
    hands: OdooRPC = attrs.field(repr=False)
    api_key: str | None = attrs.field(default=None, repr=False)

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``execute_kw`` as this user."""
        return self.hands.call(model, method, *args, **kwargs)

    def create(self, values: dict[str, Any], **context: Any) -> int:
        """A calendar.event as the web client saves it (no mail)."""
        return int(self.call("calendar.event", "create", values, context={**QUIET, **context}))

    def write(self, ids: Sequence[int], values: dict[str, Any], **context: Any) -> None:
        """``calendar.event.write`` as the web client sends it (ids, then the values)."""
        self.call("calendar.event", "write", list(ids), values, context={**QUIET, **context})

    def method(self, name: str, event_id: int, *args: Any) -> Any:
        """A web client button on one event (``action_archive``, ``action_mass_deletion``...)."""
        return self.call("calendar.event", name, [event_id], *args, context=QUIET)

    def partner_of(self, email: str, name: str = "") -> int:
        """The partner with that address (oldest first), created when Odoo has none."""
        found = self.call(
            "res.partner", "search", [("email_normalized", "=", email.lower())], order="id"
        )
        if found:
            return int(found[0])
        return int(self.call("res.partner", "create", {"name": name or email, "email": email}))

    def invite(self, *emails: str) -> list[Any]:
        """``partner_ids`` of a meeting with these guests, the organiser included (as the form)."""
        return [(6, 0, [self.partner, *(self.partner_of(email) for email in emails)])]

    def series(self, event_id: int) -> list[dict[str, Any]]:
        """The rows of an event's series (archived ones too), by start."""
        (row,) = self.call("calendar.event", "read", [event_id], ["recurrence_id"])
        recurrence = row["recurrence_id"]
        if not recurrence:
            return []
        return list(
            self.call(
                "calendar.event",
                "search_read",
                [("recurrence_id", "=", recurrence[0])],
                ["name", "start", "stop", "active", "follow_recurrence"],
                order="start asc, id asc",
                context={"active_test": False},
            )
        )


@attrs.frozen(order=True)
class Seen:
    """An occurrence as both sides can hold it, for comparing them (times in UTC).

    ``guests``: everyone taking part but the calendar's user (the organiser too:
    Odoo lists an organiser it has no user for among the attendees).
    """

    start: str
    end: str
    title: str
    location: str = ""
    text: str = ""
    guests: tuple[str, ...] = ()
    private: bool = False
    free: bool = False

    def __str__(self) -> str:
        extra = [
            f"{name}={value!r}"
            for name, value in attrs.asdict(self).items()
            if name not in ("start", "end", "title") and value
        ]
        return f"{self.title!r} {self.start}..{self.end}" + (
            f" ({', '.join(extra)})" if extra else ""
        )


def text_of(markup: str | None) -> str:
    """The words of an HTML description (Odoo sanitises, Outlook wraps: compare the text)."""
    if not markup:
        return ""
    without = re.sub(r"<(style|script|head)[^>]*>.*?</\1>", " ", markup, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", without)).split())


def _minute(text: str) -> str:
    return text.replace("T", " ")[:16]


@attrs.define
class Scene:
    """A scenario's people, mailbox, synchronizers and checks; see the module docstring."""

    target: OdooTarget
    role: str
    checks: Checks
    folder: Path
    http: httpx.Client
    admin: Person
    user: Person
    graph: GraphEmulator
    tag: str
    year: int = FIRST_YEAR
    #: the users the scene created (removed at the end)
    created: list[Person] = attrs.Factory(list)
    #: everyone whose events the scene may leave behind
    involved: list[Person] = attrs.Factory(list)
    mailboxes: dict[str, GraphMailbox] = attrs.Factory(dict)
    syncs: list[calsync.Synchronizer] = attrs.Factory(list)
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    _sync: calsync.Synchronizer | None = None
    _calendar: Person | None = None
    _colleague: Person | None = None
    _known: set[str] = attrs.Factory(set)

    # -- people ------------------------------------------------------------------------------------

    @property
    def colleague(self) -> Person:
        """Another internal user: the administrator for the ordinary user, and back."""
        if self.user is not self.admin:
            return self.admin
        if self._colleague is None:
            given = self.target.user
            self._colleague = self.person(given) if given else _fresh_user(self)
        return self._colleague

    def email(self, name: str, *, known: bool = True) -> str:
        """A guest's address, unique to this run on a shared database.

        ``known``: Odoo has a contact for it (made by the administrator), as for
        most guests; an ordinary user without "Contact Creation" could not
        invite anyone else.
        """
        address = f"{name}{'-' + self.tag if self.tag else ''}@client.example"
        if known and address not in self._known:
            self.admin.partner_of(address, name.title())
            self._known.add(address)
        return address

    def default_privacy(self, uid: int) -> str:
        """A user's ``calendar_default_privacy`` (read as that user would not: the admin)."""
        (row,) = self.admin.call("res.users", "read", [uid], ["calendar_default_privacy"])
        return str(row["calendar_default_privacy"] or "public")

    @staticmethod
    def can_create_contacts(person: Person) -> bool:
        """Whether ``person`` may create contacts ("Contact Creation", as Odoo's ACLs say)."""
        return bool(
            person.call("res.partner", "check_access_rights", "create", raise_exception=False)
        )

    def new_user(
        self,
        name: str,
        *,
        default_privacy: str | None = None,
        contact_creation: bool = True,
    ) -> Person:
        """An ordinary internal user, created by the administrator (removed at the end)."""
        login = f"{name}-{self.tag}" if self.tag else name
        password = f"{login}-pw-{secrets.token_hex(4)}" if self.tag else f"{login}-pw"
        values = {"calendar_default_privacy": default_privacy} if default_privacy else {}
        uid = self.admin.hands.create_user(name.title(), login, password, **values)
        if not contact_creation:
            _, group = self.admin.call(
                "ir.model.data", "check_object_reference", "base", "group_partner_manager"
            )
            field = "group_ids" if self.target.version >= "19" else "groups_id"
            self.admin.call("res.users", "write", [uid], {field: [(3, group)]})
        person = self.person(Credentials(login, password))
        self.created.append(person)
        return person

    def person(self, credentials: Credentials) -> Person:
        """A user of the database, known by their credentials."""
        hands = OdooRPC(
            self.target.url, self.target.db, credentials.login, credentials.password, self.http
        )
        (me,) = hands.call("res.users", "read", [hands.uid], ["partner_id", "email", "name"])
        person = Person(
            credentials.login,
            hands.uid,
            int(me["partner_id"][0]),
            str(me["email"] or "").lower(),
            str(me["name"]),
            hands,
            credentials.api_key,
        )
        if self.target.emulator is not None and self.target.version >= "19":
            person.api_key = person.api_key or self.target.emulator.add_api_key(person.uid)
        self.involved.append(person)
        return person

    # -- time --------------------------------------------------------------------------------------

    @property
    def window(self) -> calsync.Window:
        """The scene's year."""
        return calsync.Window(
            datetime(self.year, 1, 1, tzinfo=UTC), datetime(self.year + 1, 1, 1, tzinfo=UTC)
        )

    def utc(self, month: int, day: int, hour: int, minute: int = 0) -> str:
        """Odoo's datetime string (UTC) in the scene's year."""
        return f"{self.year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00"

    def day(self, month: int, day: int) -> str:
        """Odoo's date string in the scene's year."""
        return f"{self.year}-{month:02d}-{day:02d}"

    def local(
        self, month: int, day: int, hour: int, minute: int = 0, zone: str = "Europe/Paris"
    ) -> dict[str, str]:
        """A Graph ``dateTimeTimeZone`` body in the scene's year."""
        return {
            "dateTime": f"{self.year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00",
            "timeZone": zone,
        }

    def weekday(self, month: int, day: int, weekday: int) -> date:
        """The first ``weekday`` (0 Monday) on or after that day of the scene's year."""
        start = date(self.year, month, day)
        return start + timedelta(days=(weekday - start.weekday()) % 7)

    @staticmethod
    def odoo_time(day: date, hour: int, zone: str, minute: int = 0) -> str:
        """Odoo's UTC string of a wall-clock time in ``zone``."""
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
        return f"{local.astimezone(UTC):%Y-%m-%d %H:%M:%S}"

    @staticmethod
    def wall_clock(utc: str, zone: str) -> str:
        """``HH:MM`` in ``zone`` of a UTC time (Odoo's string or Graph's ``dateTime``)."""
        moment = datetime.fromisoformat(utc.replace(" ", "T")[:19]).replace(tzinfo=UTC)
        return f"{moment.astimezone(ZoneInfo(zone)):%H:%M}"

    def wall_clocks(self, title: str, zone: str) -> tuple[list[str], list[str]]:
        """Local start times of ``title``'s occurrences on each side (Odoo, Outlook), by date."""
        odoo = [self.wall_clock(r["start"], zone) for r in self.odoo_rows() if r["name"] == title]
        outlook = sorted(
            (e["start"]["dateTime"], self.wall_clock(e["start"]["dateTime"], zone))
            for e in self.outlook()
            if e.get("subject") == title
        )
        return odoo, [clock for _, clock in outlook]

    def dst_change(self, zone: str) -> date:
        """The spring daylight-saving day of ``zone`` in the scene's year."""
        tz = ZoneInfo(zone)
        day = date(self.year, 3, 1)
        while True:
            before = datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()
            after = datetime(day.year, day.month, day.day, 23, tzinfo=tz).utcoffset()
            if before != after:
                return day
            day += timedelta(days=1)

    def _pick_year(self) -> None:
        """The last year up to 2037 in which nobody involved has an event (live servers).

        The latest first: other tests on a shared database keep to the next
        few years, though their yearly series may reach further.
        """
        for year in range(LAST_YEAR, FIRST_YEAR - 1, -1):
            self.year = year
            if not self.leftovers():
                return
        raise RuntimeError(f"every year {FIRST_YEAR}-{LAST_YEAR} holds events of {self.user.login}")

    def leftovers(self) -> list[int]:
        """The events (archived included) of the people involved in the scene's year."""
        partners = [p.partner for p in self.involved]
        uids = [p.uid for p in self.involved]
        return list(
            self.admin.call(
                "calendar.event",
                "search",
                [
                    ("start", "<", self.utc(12, 31, 23, 59)),
                    ("stop", ">", self.utc(1, 1, 0)),
                    "|",
                    ("user_id", "in", uids),
                    ("partner_ids", "in", partners),
                ],
                context={"active_test": False},
            )
        )

    # -- Outlook -----------------------------------------------------------------------------------

    def mailbox(self, person: Person) -> GraphMailbox:
        """The person's mailbox (made on first use, under their Odoo address)."""
        if person.login not in self.mailboxes:
            self.mailboxes[person.login] = self.graph.add_mailbox(person.email, person.name)
        return self.mailboxes[person.login]

    def outlook(self, person: Person | None = None) -> list[dict[str, Any]]:
        """Every occurrence the mailbox's calendar view shows in the scene's year."""
        box = self.mailbox(person or self.calendar)
        return self.graph.calendar_view(box, self.window.start, self.window.end)

    def outlook_items(self, person: Person | None = None) -> list[dict[str, Any]]:
        """Singles, series masters and exceptions stored in the mailbox."""
        return self.graph.events(self.mailbox(person or self.calendar))

    def outlook_find(self, subject: str, person: Person | None = None) -> dict[str, Any]:
        """The one single or series master with that subject (a failed check if not one)."""
        found = [
            e
            for e in self.outlook_items(person)
            if e.get("subject") == subject and e.get("type") in ("singleInstance", "seriesMaster")
        ]
        if len(found) != 1:
            raise LookupError(f"{len(found)} Outlook events are called {subject!r}")
        return found[0]

    def outlook_create(self, body: dict[str, Any], person: Person | None = None) -> str:
        """A new event in the mailbox, as Outlook makes it; returns its id."""
        return str(self.graph.create_event(self.mailbox(person or self.calendar), body)["id"])

    def outlook_update(self, event_id: str, patch: dict[str, Any]) -> None:
        """PATCH an event as Outlook would."""
        self.graph.update_event(self.mailbox(self.calendar), event_id, patch)

    def outlook_delete(self, event_id: str) -> None:
        """Delete an event or an occurrence as Outlook would."""
        self.graph.delete_event(self.mailbox(self.calendar), event_id)

    def occurrence(self, subject: str, day: date) -> dict[str, Any]:
        """One occurrence (by its local day in UTC) of an Outlook series."""
        master = self.outlook_find(subject)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=14)
        for item in self.graph.instances(
            self.mailbox(self.calendar), master["id"], start, start + timedelta(hours=38)
        ):
            if item["start"]["dateTime"][:10] == day.isoformat():
                return item
        raise LookupError(f"{subject!r} has no occurrence on {day}")

    # -- calsync -----------------------------------------------------------------------------------

    @property
    def calendar(self) -> Person:
        """Whose calendar is synced (the scene's user unless :meth:`synchronizer` chose another)."""
        return self._calendar or self.user

    def synchronizer(
        self,
        signer: Person | None = None,
        calendar: Person | None = None,
        **options: Any,
    ) -> calsync.Synchronizer:
        """calsync for ``calendar``'s calendar (default: the user's), signed in as ``signer``.

        It becomes the scene's synchronizer (:meth:`run`, :meth:`settle`).
        """
        signer = signer or calendar or self.user
        calendar = calendar or signer
        credentials: dict[str, Any] = (
            {"api_key": signer.api_key}
            if signer.api_key
            else {"password": signer.hands.password, "transport": "jsonrpc"}
        )
        odoo = OdooCalendar(
            self.target.url,
            self.target.db,
            signer.login,
            user_login=calendar.login,
            timeout=120,
            **credentials,
        )
        outlook = OutlookCalendar(
            StaticToken(self.mailbox(calendar).token),
            base_url=self.graph.base_url,
            account=calendar.email,
            retry=RetryPolicy(sleep=_no_wait, random=lambda: 0.5),
        )
        options.setdefault("max_notifications", None)
        options.setdefault("first_sync_max_notifications", None)
        made = calsync.Synchronizer(
            odoo,
            outlook,
            SQLiteStore(self.folder / f"state-{len(self.syncs)}.sqlite3"),
            pair=f"{signer.login}:{calendar.login}",
            window=self.window,
            **options,
        )
        self.syncs.append(made)
        self._sync, self._calendar = made, calendar
        return made

    @property
    def sync(self) -> calsync.Synchronizer:
        """The scene's synchronizer (the user's own calendar unless chosen otherwise)."""
        return self._sync or self.synchronizer()

    def run(self, label: str) -> calsync.SyncReport | None:
        """One sync; an exception is a failed check (None comes back)."""
        try:
            return self.loop.run_until_complete(self.sync.run_async())
        except calsync.CalsyncError as error:
            self.checks.check(f"{label}: the sync runs", False, f"\n    {error!r}")
            return None

    def reset(self, label: str, existing: str, next_sync: str) -> calsync.SyncReport | None:
        """Odoo's "Reset Account" through calsync; an exception is a failed check."""
        try:
            return self.loop.run_until_complete(self.sync.reset_async(existing, next_sync))
        except calsync.CalsyncError as error:
            self.checks.check(f"{label}: the reset runs", False, f"\n    {error!r}")
            return None

    def settle(
        self,
        label: str,
        *,
        held: Sequence[str] = (),
        hidden: Callable[[dict[str, Any]], bool] | None = None,
        ignore: Collection[str] = (),
    ) -> calsync.SyncReport | None:
        """Sync, read both sides back and compare them, then check a second run writes nothing.

        ``held``: the titles of the Outlook events the runs must hold (Odoo
        refuses them), left out of "every Outlook event is in Odoo";
        ``hidden``: Odoo rows calsync cannot read (masked for its login), left
        out of "every Odoo event is in Outlook"; ``ignore``: titles neither side
        is expected to sync (events a reset left out).
        """
        report = self.run(label)
        expected = sorted(held)
        if report is not None:
            self.checks.check(
                f"{label}: the run succeeds" + (f" and holds {len(held)}" if held else ""),
                _only_held(report, expected),
                f"\n    {report}",
            )
        self.compare(label, hidden=hidden, held=held, ignore=ignore)
        again = self.run(f"{label} (second run)")
        if again is not None:
            writes = [str(o.operation) for o in again.outcomes if o.operation.write is not None]
            retried = [str(o.operation) for o in again.failures]
            writes = [w for w in writes if w not in retried]  # a held event is retried
            self.checks.check(
                f"{label}: a second run plans nothing",
                not writes and _only_held(again, expected),
                f"\n    writes {writes}\n    {again}",
            )
        return report

    # -- reading both sides back -------------------------------------------------------------------

    def odoo_rows(
        self, person: Person | None = None, *, archived: bool = False
    ) -> list[dict[str, Any]]:
        """The calendar's events in the scene's year, read over RPC as ``person`` (its user)."""
        person = person or self.calendar
        domain: list[Any] = [
            ("start", "<", self.utc(12, 31, 23, 59)),
            ("stop", ">", self.utc(1, 1, 0)),
            "|",
            ("user_id", "=", person.uid),
            ("partner_ids", "in", [person.partner]),
        ]
        if archived:
            domain.append(("active", "=", False))
        return list(
            person.call(
                "calendar.event",
                "search_read",
                domain,
                EVENT_FIELDS,
                order="start asc, id asc",
                context={"active_test": not archived},
            )
        )

    def emails(self, partner_ids: Sequence[int]) -> dict[int, str]:
        """Partner ids to addresses (lower case)."""
        if not partner_ids:
            return {}
        rows = self.admin.call("res.partner", "read", sorted(set(partner_ids)), ["email"])
        return {int(r["id"]): str(r["email"] or "").strip().lower() for r in rows}

    def attendance(self, row: dict[str, Any]) -> dict[str, str]:
        """An Odoo event's answers: address -> ``accepted``, ``declined``..."""
        rows = self.calendar.call(
            "calendar.attendee", "read", row["attendee_ids"], ["partner_id", "state"]
        )
        emails = self.emails([r["partner_id"][0] for r in rows])
        return {emails[r["partner_id"][0]]: r["state"] for r in rows}

    def seen_odoo(self, rows: list[dict[str, Any]]) -> list[tuple[Seen, bool]]:
        """Odoo rows as :class:`Seen`, each with whether the calendar's user organises it."""
        emails = self.emails([p for row in rows for p in row["partner_ids"]])
        users = {row["user_id"][0] for row in rows if row["user_id"]}
        organisers = (
            {
                int(u["id"]): str(u["email"] or "").lower()
                for u in self.admin.call("res.users", "read", sorted(users), ["email"])
            }
            if users
            else {}
        )
        seen = []
        for row in rows:
            organiser = organisers.get(row["user_id"][0]) if row["user_id"] else None
            guests = {emails[p] for p in row["partner_ids"]} | {organiser or ""}
            guests -= {self.calendar.email}
            if row["allday"]:
                stop = date.fromisoformat(row["stop_date"]) + timedelta(days=1)
                start, end = row["start_date"], stop.isoformat()
            else:
                start, end = _minute(row["start"]), _minute(row["stop"])
            item = Seen(
                start,
                end,
                row["name"],
                row["location"] or "",
                text_of(row["description"]),
                tuple(sorted(guests - {""})),
                row["privacy"] == "private",
                row["show_as"] == "free",
            )
            seen.append((item, bool(row["user_id"]) and row["user_id"][0] == self.calendar.uid))
        return seen

    def seen_outlook(self, events: list[dict[str, Any]] | None = None) -> list[Seen]:
        """Outlook occurrences as :class:`Seen`."""
        seen = []
        for event in self.outlook() if events is None else events:
            organiser = (event.get("organizer") or {}).get("emailAddress", {}).get("address", "")
            guests = {
                a["emailAddress"]["address"].lower() for a in event.get("attendees") or []
            } | {organiser.lower()}
            guests -= {self.calendar.email, ""}
            if event.get("isAllDay"):
                start, end = event["start"]["dateTime"][:10], event["end"]["dateTime"][:10]
            else:
                start, end = _minute(event["start"]["dateTime"]), _minute(event["end"]["dateTime"])
            seen.append(
                Seen(
                    start,
                    end,
                    event.get("subject") or "",
                    (event.get("location") or {}).get("displayName") or "",
                    text_of((event.get("body") or {}).get("content")),
                    tuple(sorted(guests)),
                    event.get("sensitivity") == "private",
                    event.get("showAs") == "free",
                )
            )
        return seen

    def compare(
        self,
        label: str,
        *,
        hidden: Callable[[dict[str, Any]], bool] | None = None,
        held: Sequence[str] = (),
        ignore: Collection[str] = (),
    ) -> None:
        """Both sides hold the same events, neither holds one twice.

        Every Outlook occurrence is in Odoo; every Odoo event the calendar's
        user organises is in Outlook (the meetings they only attend in Odoo are
        not: calsync never makes them the user's own meetings in Outlook).
        """
        rows = [r for r in self.odoo_rows() if r["name"] not in ignore]
        seen = zip(self.seen_odoo(rows), rows, strict=True)
        odoo = [(item, mine and not (hidden and hidden(row))) for (item, mine), row in seen]
        outlook = Counter(
            s for s in self.seen_outlook() if s.title not in held and s.title not in ignore
        )
        in_odoo = Counter(item for item, _ in odoo)
        organised = Counter(item for item, mine in odoo if mine)
        missing_in_odoo = sorted((outlook - in_odoo).elements())
        missing_in_outlook = sorted((organised - outlook).elements())
        self.checks.check(
            f"{label}: every Outlook event is in Odoo",
            not missing_in_odoo,
            _listing("only in Outlook", missing_in_odoo, "Odoo holds", sorted(in_odoo.elements())),
        )
        self.checks.check(
            f"{label}: every Odoo event the user organises is in Outlook",
            not missing_in_outlook,
            _listing(
                "only in Odoo", missing_in_outlook, "Outlook holds", sorted(outlook.elements())
            ),
        )
        twice = [s for s, n in (in_odoo + outlook).items() if n > 2 or in_odoo[s] > 1]
        self.checks.check(
            f"{label}: no event is held twice", not twice, _listing("twice", twice, "", [])
        )

    # -- assertions in the scenarios' words --------------------------------------------------------

    def odoo_titles(self, *, archived: bool = False) -> list[str]:
        """Titles of the calendar's Odoo events (one per occurrence), sorted."""
        return sorted(r["name"] for r in self.odoo_rows(archived=archived))

    def outlook_titles(self) -> list[str]:
        """Titles of the mailbox's occurrences, sorted."""
        return sorted(e.get("subject") or "" for e in self.outlook())

    # -- ending ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close calsync, remove the scene's events and users, stop the mailbox server."""
        try:
            for made in self.syncs:
                self.loop.run_until_complete(made.aclose())
            self.loop.close()
            if self.user is not None:  # cast: the cleanup knows whom to look at
                self.cleanup()
        finally:
            self.graph.stop()

    def cleanup(self) -> None:
        """Unlink the events of the scene's year its people hold, then the users it created.

        Only on a shared database: a fresh one is thrown away whole.
        """
        if self.target.fresh:
            return
        left = set(self.leftovers())
        for person in [*self.involved, self.admin]:  # each organiser, then the admin for the rest
            mine = [("id", "in", sorted(left))]
            if person is not self.admin:
                mine.append(("user_id", "=", person.uid))
            ids = person.call("calendar.event", "search", mine, context={"active_test": False})
            for event_id in ids:
                try:
                    person.call("calendar.event", "unlink", [event_id], context=QUIET)
                    left.discard(event_id)
                except OdooRPCError:
                    continue  # another organiser's private event: theirs to remove
        for person in self.created:
            try:
                self.admin.call("res.users", "unlink", [person.uid])
            except OdooRPCError:
                self.admin.call("res.users", "write", [person.uid], {"active": False})


class Unsuitable(Exception):  # noqa: N818 (a reason to skip, not an error)
    """The target cannot play this scene (the reason says why)."""


def _only_held(report: calsync.SyncReport, held: list[str]) -> bool:
    """Whether the run failed nothing but the events it was expected to hold."""
    return sorted(h.title for h in report.held) == held and {
        o.operation.title for o in report.failures
    } <= set(held)


def _listing(title: str, items: Sequence[Seen], other: str, others: Sequence[Seen]) -> str:
    lines = [f"\n    {title}: " + ", ".join(map(str, items))]
    if other:
        lines.append(f"\n    {other}: " + ", ".join(map(str, others)))
    return "".join(lines)


@contextmanager
def scene(target: OdooTarget, role: str, folder: Path, checks: Checks) -> Iterator[Scene]:
    """A scene on ``target`` whose user is the administrator (``role="admin"``) or an ordinary
    user (``"user"``: the target's, or one the scene creates on a fresh database)."""
    http = httpx.Client(timeout=300)
    graph = GraphEmulator().start()
    tag = "" if target.fresh else secrets.token_hex(3)
    made = Scene(target, role, checks, folder, http, None, None, graph, tag)  # type: ignore[arg-type]
    try:
        _cast(made, role)
        if target.live:
            made._pick_year()
        yield made
    finally:
        try:
            made.close()
        finally:
            http.close()


def _cast(made: Scene, role: str) -> None:
    """The scene's administrator and user (who must have an e-mail address)."""
    made.admin = made.person(made.target.admin)
    if role == "admin":
        made.user = made.admin
    elif made.target.user is not None:
        made.user = made.person(made.target.user)
    else:
        made.user = _fresh_user(made)
    if not made.user.email:
        raise Unsuitable(
            f"Odoo user {made.user.login!r} has no e-mail address: calsync pairs a calendar "
            "with the mailbox of its user's address"
        )


def _fresh_user(made: Scene) -> Person:
    """The ordinary user of a fresh database (``bob``), created by the administrator."""
    login, password = FRESH_USER
    made.admin.hands.create_user("Bob", login, password)
    return made.person(Credentials(login, password))
