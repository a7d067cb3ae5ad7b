"""People and the small records events point to: partners, users, alarms, tags.

* **Partners by e-mail** [odoo.md §5.13]. Attendees are ``res.partner`` records;
  addresses are matched on ``email_normalized`` (lower-cased bare address, so
  ``"Carol" <Carol@Example.com>`` matches), all distinct unknown addresses in
  **one** ``search_read`` (``id asc``: with duplicates the oldest partner wins,
  deterministically), and the ones still missing are created in **one**
  multi-``create``. The owner's own address always maps to the owner's partner.
* **Users** (organisers): ``res.users`` e-mail and name, read once per user.
* **Alarms** [§5.11]: a reminder of N minutes is the oldest ``calendar.alarm``
  with ``alarm_type='notification'`` and ``duration_minutes=N``; missing ones
  are created (any internal user may) with an explicit name
  ("Notification - 20 Minutes"), since Odoo does not compute it over RPC.
* **Tags** [§5.12]: categories are ``calendar.event.type`` names, matched
  exactly, else case-insensitively when that is unique. Only Administration /
  Settings users may create tags: for anyone else a category without a tag
  is left out (the read-back then shows what Odoo holds), and calsync stops
  trying after the first refusal.

Each table is read once and kept for the adapter's life; an unknown id seen
later triggers one refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from calsync._errors import AccessDeniedError
from calsync._model._values import Person
from calsync.adapters.odoo._mapping import minutes_alarm, normalize_address

__all__ = ["Alarms", "Partners", "Tags", "Users"]

logger = logging.getLogger("calsync.adapters.odoo")

Call = Callable[..., Awaitable[Any]]
QUIET = {"no_mail_to_attendees": True, "mail_create_nolog": True, "tz": "UTC"}


class Partners:
    """E-mail address → partner id, found or created in bulk."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._ids: dict[str, int] = {}

    def remember(self, email: str | None, partner_id: int) -> None:
        """Record a known address (the owner's, or one read on an attendee row)."""
        if email:
            self._ids.setdefault(email, partner_id)

    def known(self, email: str) -> int | None:
        """The partner id of an address already resolved."""
        return self._ids.get(email)

    async def resolve(self, people: Mapping[str, str]) -> dict[str, int]:
        """Partner ids for ``{email: display name}``: one look-up, then one multi-create."""
        missing = sorted(email for email in people if email not in self._ids)
        if missing:
            rows = await self._call(
                "res.partner",
                "search_read",
                [("email_normalized", "in", missing)],
                fields=["email_normalized"],
                order="id asc",
            )
            for row in rows:
                email = normalize_address(row.get("email_normalized"))
                if email is not None:
                    self._ids.setdefault(email, int(row["id"]))
        new = [email for email in missing if email not in self._ids]
        if new:
            created = await self._call(
                "res.partner",
                "create",
                [{"name": people[email] or email, "email": email} for email in new],
                context=QUIET,
            )
            ids = created if isinstance(created, list) else [created]
            for email, partner_id in zip(new, ids, strict=True):
                self._ids[email] = int(partner_id)
        return {email: self._ids[email] for email in people}


class Users:
    """User id → the organiser as a :class:`~calsync.model.Person`."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._people: dict[int, Person | None] = {}

    def remember(self, uid: int, person: Person | None) -> None:
        """Record a user already read (the owner)."""
        self._people[uid] = person

    @property
    def people(self) -> Mapping[int, Person | None]:
        """Everything read so far."""
        return self._people

    async def uids_for(self, emails: Iterable[str]) -> dict[str, int]:
        """The users with these addresses (the oldest when several share one), in one call."""
        wanted = sorted(set(emails))
        if not wanted:
            return {}
        rows = await self._call(
            "res.users",
            "search_read",
            [("email", "in", wanted)],
            fields=["name", "email"],
            order="id asc",
        )
        found: dict[str, int] = {}
        for row in rows:
            email = normalize_address(row.get("email"))
            if email is not None:
                found.setdefault(email, int(row["id"]))
                self._people.setdefault(int(row["id"]), Person(email, str(row.get("name") or "")))
        return found

    async def ensure(self, uids: Iterable[int]) -> None:
        """Read the users not yet known, in one call."""
        missing = sorted({uid for uid in uids if uid not in self._people})
        if not missing:
            return
        rows = await self._call("res.users", "read", missing, ["name", "email"])
        found = {int(row["id"]): row for row in rows}
        for uid in missing:
            row = found.get(uid)
            email = normalize_address(row.get("email")) if row else None
            self._people[uid] = Person(email, str(row.get("name") or "")) if row and email else None


class Alarms:
    """Reminder minutes ⇄ notification alarms."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._minutes: dict[int, int] = {}
        self._by_minutes: dict[int, int] = {}
        self._seen: set[int] = set()
        self._loaded = False

    @property
    def reminders(self) -> Mapping[int, int]:
        """Notification alarm id → minutes."""
        return self._minutes

    async def ensure(self, ids: Iterable[int] = ()) -> None:
        """Read the alarm table once, and again when an unknown id turns up."""
        if self._loaded and all(alarm in self._seen for alarm in ids):
            return
        rows = await self._call(
            "calendar.alarm",
            "search_read",
            [],
            fields=["alarm_type", "duration_minutes"],
            order="id asc",
        )
        self._minutes.clear()
        self._by_minutes.clear()
        self._seen = {int(row["id"]) for row in rows}
        for row in rows:
            if row.get("alarm_type") == "notification":
                minutes = int(row.get("duration_minutes") or 0)
                self._minutes[int(row["id"])] = minutes
                self._by_minutes.setdefault(minutes, int(row["id"]))
        self._loaded = True

    async def ids_for(self, minutes: Iterable[int]) -> dict[int, int]:
        """Alarm ids for these reminders, creating the missing ones in one call."""
        await self.ensure()
        wanted = sorted(set(minutes))
        new = [value for value in wanted if value not in self._by_minutes]
        if new:
            created = await self._call(
                "calendar.alarm",
                "create",
                [minutes_alarm(value) for value in new],
                context=QUIET,
            )
            ids = created if isinstance(created, list) else [created]
            for value, alarm_id in zip(new, ids, strict=True):
                self._by_minutes[value] = int(alarm_id)
                self._minutes[int(alarm_id)] = value
                self._seen.add(int(alarm_id))
        return {value: self._by_minutes[value] for value in wanted}


class Tags:
    """Category names ⇄ ``calendar.event.type`` ids."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._names: dict[int, str] = {}
        self._loaded = False
        self._denied = False

    @property
    def names(self) -> Mapping[int, str]:
        """Tag id → name."""
        return self._names

    async def ensure(self, ids: Iterable[int] = ()) -> None:
        """Read the tag table once, and again when an unknown id turns up."""
        if self._loaded and all(tag in self._names for tag in ids):
            return
        rows = await self._call(
            "calendar.event.type", "search_read", [], fields=["name"], order="id asc"
        )
        self._names = {int(row["id"]): str(row.get("name") or "") for row in rows}
        self._loaded = True

    def _find(self, name: str) -> int | None:
        exact = [tag for tag, value in self._names.items() if value == name]
        if exact:
            return min(exact)
        folded = [tag for tag, value in self._names.items() if value.casefold() == name.casefold()]
        return folded[0] if len(folded) == 1 else None

    async def ids_for(self, names: Iterable[str]) -> dict[str, int]:
        """Tag ids for these names; missing tags are created when the user may (else left out)."""
        await self.ensure()
        wanted = sorted(set(names))
        found = {name: tag for name in wanted if (tag := self._find(name)) is not None}
        new = [name for name in wanted if name not in found]
        if new and not self._denied:
            try:
                created = await self._call(
                    "calendar.event.type",
                    "create",
                    [{"name": name} for name in new],
                    context=QUIET,
                )
            except AccessDeniedError:
                self._denied = True
                logger.warning(
                    "this Odoo user may not create tags: categories without a tag are left out"
                )
            else:
                ids = created if isinstance(created, list) else [created]
                for name, tag in zip(new, ids, strict=True):
                    self._names[int(tag)] = name
                    found[name] = int(tag)
        return found
