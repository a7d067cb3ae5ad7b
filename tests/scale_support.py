"""Many pairs on one Odoo emulator and one Graph emulator: users, mailboxes, seeded events.

Pair ``n`` is Odoo user ``user{n}`` (password login over ``/jsonrpc``) and
mailbox ``user{n}@example.com``. Every title carries the pair's tag
(``[p{n}]``), so an event that crossed pairs is seen at once. Seeds: on the
Odoo side a single event and a meeting with an outside guest (outside: no
attendee copy lands in another pair's mailbox); on the Outlook side a
weekly series and a single event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from calsync import Synchronizer
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar
from calsync.model import Event, Recurrence, RecurrenceRule
from calsync.stores import MappingStore
from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator
from tests.adapters.outlook_support import WINDOW, fast_retry, user_body

UTC = timezone.utc
QUIET = {"no_mail_to_attendees": True}


@attrs.frozen
class PairSpec:
    """One pair of the world."""

    pair: str
    tag: str
    login: str
    password: str
    uid: int
    mailbox: GraphMailbox

    def odoo(self, odoo: OdooEmulator, **options: Any) -> OdooCalendar:
        """The Odoo side (a new adapter)."""
        return OdooCalendar(
            odoo.url, odoo.db, self.login, password=self.password, transport="jsonrpc", **options
        )

    def outlook(self, graph: GraphEmulator, **options: Any) -> OutlookCalendar:
        """The Outlook side (a new adapter; retries that do not wait)."""
        from calsync.adapters.outlook import StaticToken

        options.setdefault("retry", fast_retry())
        return OutlookCalendar(
            StaticToken(self.mailbox.token),
            base_url=graph.base_url,
            account=self.mailbox.email,
            **options,
        )

    def synchronizer(
        self, odoo: OdooEmulator, graph: GraphEmulator, store: MappingStore
    ) -> Synchronizer:
        """The pair's synchronizer over the test window; its first run may mail 10 guests."""
        return Synchronizer(
            self.odoo(odoo),
            self.outlook(graph),
            store,
            pair=self.pair,
            window=WINDOW,
            first_sync_max_notifications=10,
        )

    def config(self, odoo: OdooEmulator, graph: GraphEmulator) -> dict[str, Any]:
        """The pair as ``examples/worker_rq.py`` reads it (``CALSYNC_PAIRS``)."""
        return {
            "odoo": {
                "url": odoo.url,
                "db": odoo.db,
                "login": self.login,
                "password": self.password,
            },
            "outlook": {
                "base_url": graph.base_url,
                "token": self.mailbox.token,
                "account": self.mailbox.email,
            },
            "options": {"first_sync_max_notifications": 50, "max_notifications": 50},
        }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def add_pairs(
    odoo: OdooEmulator, graph: GraphEmulator, count: int, start: int = 0
) -> list[PairSpec]:
    """``count`` users and mailboxes, pairs ``p{start}`` ... (nothing seeded)."""
    specs = []
    for n in range(start, start + count):
        login, password = f"user{n}", f"password-{n}"
        email = f"user{n}@example.com"
        uid = odoo.add_user(login, password, name=f"User {n}", email=email, tz="Europe/Brussels")
        mailbox = graph.add_mailbox(email, name=f"User {n}")
        specs.append(PairSpec(f"p{n}", f"[p{n}]", login, password, uid, mailbox))
    return specs


def seed(odoo: OdooEmulator, graph: GraphEmulator, spec: PairSpec, day: int = 3) -> None:
    """A single event and a meeting in Odoo; a weekly series and a single event in Outlook."""
    start = datetime(2027, 5, day, 9, tzinfo=UTC)
    guest = int(
        odoo.execute(
            spec.login,
            "res.partner",
            "create",
            {"name": "Guest", "email": f"guest-{spec.pair}@example.org"},
        )
    )
    own = odoo.execute(spec.login, "res.users", "read", [spec.uid], ["partner_id"])[0][
        "partner_id"
    ][0]
    for title, hours, partners in (
        (f"Odoo single {spec.tag}", 0, [own]),
        (f"Odoo meeting {spec.tag}", 2, [own, guest]),
    ):
        values = {
            "name": title,
            "start": _stamp(start + timedelta(hours=hours)),
            "stop": _stamp(start + timedelta(hours=hours + 1)),
            "allday": False,
            "partner_ids": [(6, 0, partners)],
        }
        odoo.execute(spec.login, "calendar.event", "create", values, context=QUIET)
    weekly = Event(
        f"Outlook series {spec.tag}",
        start + timedelta(days=1),
        start + timedelta(days=1, minutes=30),
        timezone="Europe/Brussels",
        recurrence=Recurrence(RecurrenceRule("WEEKLY", count=4, by_day=["TU"])),
    )
    graph.create_event(spec.mailbox, user_body(weekly), notify=False)
    single = Event(
        f"Outlook single {spec.tag}",
        start + timedelta(days=2, hours=3),
        start + timedelta(days=2, hours=4),
        timezone="Europe/Brussels",
    )
    graph.create_event(spec.mailbox, user_body(single), notify=False)


SEEDED = ("Odoo single", "Odoo meeting", "Outlook series", "Outlook single")


def odoo_titles(odoo: OdooEmulator, spec: PairSpec) -> list[str]:
    """Titles of the events the Odoo user organises (one per series: its rows share a name)."""
    rows = odoo.execute(
        spec.login,
        "calendar.event",
        "search_read",
        [("user_id", "=", spec.uid)],
        ["name", "recurrence_id"],
    )
    seen: set[Any] = set()
    titles = []
    for row in rows:
        series = row["recurrence_id"][0] if row["recurrence_id"] else None
        if series is not None and series in seen:
            continue
        seen.add(series)
        titles.append(str(row["name"]))
    return sorted(titles)


def graph_titles(graph: GraphEmulator, spec: PairSpec) -> list[str]:
    """Titles of the mailbox's singles and series masters."""
    return sorted(
        str(e["subject"]) for e in graph.events(spec.mailbox) if e.get("type") != "exception"
    )
