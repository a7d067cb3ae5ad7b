"""Shared helpers for the Odoo adapter tests: an emulator with a calendar user, and their hands.

``Hands`` plays the user in Odoo's web client: it writes with ``odoo.execute`` as
that user (the same code path as RPC, not counted), building Odoo values on its
own, without the adapter's mapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs

from calsync.adapters.odoo import OdooCalendar, OdooDatabase
from calsync.model import Availability, Event, Privacy, Window
from calsync.testing import OdooEmulator

T = TypeVar("T")
UTC = timezone.utc
QUIET = {"no_mail_to_attendees": True}
BRUSSELS = "Europe/Brussels"
WINDOW = Window(datetime(2026, 6, 1, tzinfo=UTC), datetime(2028, 6, 1, tzinfo=UTC))
PASSWORD = "bob-secret-password"
API_KEY = "f00dbabe" * 5
ADMIN_KEY = "0123456789abcdef" * 2 + "01234567"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def weekly(count: int = 6, title: str = "Standup", **fields: Any) -> dict[str, Any]:
    """Odoo values of a weekly Monday 09:00 (Brussels) series starting 2027-03-15."""
    return {
        "name": title,
        "start": "2027-03-15 08:00:00",
        "stop": "2027-03-15 08:15:00",
        "recurrency": True,
        "rrule_type": "weekly",
        "interval": 1,
        "end_type": "count",
        "count": count,
        "mon": True,
        "event_tz": BRUSSELS,
        **fields,
    }


@attrs.define
class Hands:
    """The calendar user's hands in Odoo (``odoo.execute`` as them)."""

    odoo: OdooEmulator
    user: str = "bob"

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.odoo.execute(self.user, model, method, *args, **kwargs)

    def partner(self, email: str, name: str = "") -> int:
        found = self.call("res.partner", "search", [("email_normalized", "=", email)], order="id")
        if found:
            return int(found[0])
        return int(self.call("res.partner", "create", {"name": name or email, "email": email}))

    def alarm(self, minutes: int) -> int:
        found = self.call(
            "calendar.alarm",
            "search",
            [("duration_minutes", "=", minutes), ("alarm_type", "=", "notification")],
            order="id",
        )
        if found:
            return int(found[0])
        return int(
            self.call(
                "calendar.alarm",
                "create",
                {
                    "name": f"Notification - {minutes} Minutes",
                    "alarm_type": "notification",
                    "duration": minutes,
                    "interval": "minutes",
                },
            )
        )

    def values(self, event: Event) -> dict[str, Any]:
        """What the web client would save for ``event`` (free/busy only, no zone)."""
        values: dict[str, Any] = {
            "name": event.title,
            "description": event.description or False,
            "location": event.location or False,
            "privacy": False if event.privacy is Privacy.DEFAULT else event.privacy.value,
            "show_as": "free" if event.availability is Availability.FREE else "busy",
            "partner_ids": [(6, 0, [self.partner(a.email, a.name) for a in event.attendees])],
            "alarm_ids": [(6, 0, [self.alarm(m) for m in event.reminders])],
        }
        if event.all_day:
            assert isinstance(event.start, date)
            assert isinstance(event.end, date)
            values.update(
                allday=True,
                start_date=event.start.isoformat(),
                stop_date=(event.end - timedelta(days=1)).isoformat(),
            )
        else:
            assert isinstance(event.start, datetime)
            assert isinstance(event.end, datetime)
            values.update(allday=False, start=stamp(event.start), stop=stamp(event.end))
        return values

    def create(self, event: Event, **extra: Any) -> int:
        return int(
            self.call("calendar.event", "create", {**self.values(event), **extra}, context=QUIET)
        )

    def write(self, event_id: int, values: dict[str, Any], **context: Any) -> None:
        self.call("calendar.event", "write", [event_id], values, context={**QUIET, **context})

    def read(self, ids: list[int], *fields: str, archived: bool = True) -> list[dict[str, Any]]:
        return list(
            self.call(
                "calendar.event",
                "read",
                ids,
                list(fields),
                context={"active_test": not archived},
            )
        )

    def rows(self, recurrence: int, *fields: str) -> list[dict[str, Any]]:
        return list(
            self.call(
                "calendar.event",
                "search_read",
                [("recurrence_id", "=", recurrence)],
                ["start", "active", "follow_recurrence", *fields],
                order="start asc",
                context={"active_test": False},
            )
        )

    def recurrence_of(self, event_id: int) -> int:
        row = self.read([event_id], "recurrence_id")[0]
        return int(row["recurrence_id"][0])


@attrs.define
class OdooHarness:
    """The contract's harness: an adapter on bob's calendar, and bob's hands."""

    odoo: OdooEmulator
    adapter: OdooCalendar
    hands: Hands
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    window: Window = WINDOW
    capabilities: frozenset[str] = frozenset({"keys_in_fetch", "rejects_content"})

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def user_create(self, event: Event) -> str:
        return str(self.hands.create(event))

    def user_update(self, event_id: str, event: Event) -> None:
        self.hands.write(int(event_id), self.hands.values(event))

    def user_delete(self, event_id: str) -> None:
        self.hands.call("calendar.event", "unlink", [int(event_id)], context=QUIET)

    def rejected_event(self) -> Event:
        """A series in a zone Odoo's ``event_tz`` selection does not list: ``load`` refuses it."""
        from calsync.model import Recurrence, RecurrenceRule

        start = datetime(2027, 3, 1, 9, tzinfo=UTC)
        return Event(
            "Factory series",
            start,
            start + timedelta(hours=1),
            timezone="Factory",
            recurrence=Recurrence(RecurrenceRule("DAILY", count=2)),
        )


def emulator(version: str = "18.0", **options: Any) -> OdooEmulator:
    """An emulator with bob (uid 6, partner 7), an internal user with a password and an API key."""
    odoo = OdooEmulator(version, login_delay=0.0, admin_api_key=ADMIN_KEY, **options)
    odoo.start()
    odoo.add_user("bob", PASSWORD, name="Bob", email="bob@example.com", api_key=API_KEY)
    return odoo


def adapter(odoo: OdooEmulator, transport: str = "auto", **options: Any) -> OdooCalendar:
    """Bob's calendar: JSON-2 on 19.0, ``/jsonrpc`` otherwise (``auto``)."""
    credentials: dict[str, Any] = (
        {"api_key": API_KEY} if odoo.version >= "19" else {"password": PASSWORD}
    )
    return OdooCalendar(odoo.url, odoo.db, "bob", transport=transport, **credentials, **options)  # type: ignore[arg-type]


def shared_database(odoo: OdooEmulator, **options: Any) -> OdooDatabase:
    """The database's change query, made by its administrator (JSON-2 on 19.0)."""
    secret = {"api_key": ADMIN_KEY} if odoo.version >= "19" else {"password": "admin"}
    return OdooDatabase(odoo.url, odoo.db, "admin", **secret, **options)


@contextmanager
def harness(
    version: str = "18.0", *, shared: bool = False, **options: Any
) -> Iterator[OdooHarness]:
    """Bob's calendar; ``shared``: its incremental pulls list through an administrator's
    :class:`OdooDatabase` (bob still reads and writes with his own credentials)."""
    odoo = emulator(version)
    hands = Hands(odoo)
    database = shared_database(odoo) if shared else None
    calendar = adapter(odoo, database=database, **options)
    made = OdooHarness(odoo, calendar, hands)
    try:
        yield made
    finally:
        made.run(calendar.aclose())
        if database is not None:
            made.run(database.aclose())
        made.loop.close()
        odoo.stop()
