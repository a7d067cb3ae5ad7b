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

Missing records are created in one multi-``create``; when Odoo refuses it for
one record's sake (a validation error, a constraint), the batch is split in
halves until the refused records are found (Odoo keeps nothing of a refused
call), so that only the events needing them are held. A refusal of the model
itself ("You are not allowed to create 'Contact'": a user without Contact
Creation) concerns every record of the batch: it is not split.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from calsync._errors import AccessDeniedError, ProviderError
from calsync._model._values import Person
from calsync.adapters.odoo._errors import EVENT_ERRORS
from calsync.adapters.odoo._mapping import many2one, minutes_alarm, normalize_address

__all__ = ["Alarms", "Partners", "Refused", "Tags", "Users", "create_each"]

logger = logging.getLogger("calsync.odoo")

Call = Callable[..., Awaitable[Any]]
QUIET = {"no_mail_to_attendees": True, "mail_create_nolog": True, "tz": "UTC"}
#: what Odoo refused to create, by the value an event asked for (address, minutes, name)
Refused = dict[Any, ProviderError]


def _model_refused(error: ProviderError) -> bool:
    """An access right on the model (not on one record): every record would fail alike."""
    return isinstance(error, AccessDeniedError) and error.message.startswith(
        "You are not allowed to create"
    )


async def create_each(
    call: Call, model: str, rows: Sequence[Mapping[str, Any]]
) -> list[int | ProviderError]:
    """Create ``rows`` in one call; each row's new id, or the error that refused it.

    A refused batch is split in halves (one call each) until the refused rows are
    found: a happy batch costs one call, one bad row among n about 2 log2 n more.
    """
    try:
        created = await call(model, "create", list(rows), context=QUIET)
    except EVENT_ERRORS as error:
        if len(rows) == 1 or _model_refused(error):
            return [error] * len(rows)
        middle = len(rows) // 2
        return [
            *await create_each(call, model, rows[:middle]),
            *await create_each(call, model, rows[middle:]),
        ]
    ids = created if isinstance(created, list) else [created]
    return [int(new) for new in ids]


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

    async def resolve(self, people: Mapping[str, str]) -> tuple[dict[str, int], Refused]:
        """Partner ids for ``{email: display name}``: one look-up, then one multi-create.

        Addresses Odoo refused to create a partner for come back apart, with the error.
        """
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
        refused: Refused = {}
        if new:
            rows = [{"name": people[email] or email, "email": email} for email in new]
            for email, outcome in zip(
                new, await create_each(self._call, "res.partner", rows), strict=True
            ):
                if isinstance(outcome, ProviderError):
                    refused[email] = outcome
                else:
                    self._ids[email] = outcome
        return {email: self._ids[email] for email in people if email in self._ids}, refused


class Users:
    """User id → the organiser as a :class:`~calsync.model.Person`."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._people: dict[int, Person | None] = {}
        #: partner id -> whether an Odoo user has it
        self._partners: dict[int, bool] = {}

    def remember(self, uid: int, person: Person | None) -> None:
        """Record a user already read (the owner)."""
        self._people[uid] = person

    @property
    def people(self) -> Mapping[int, Person | None]:
        """Everything read so far."""
        return self._people

    @property
    def partners(self) -> frozenset[int]:
        """The partners found to be Odoo users' (by :meth:`ensure_partners`)."""
        return frozenset(partner for partner, user in self._partners.items() if user)

    async def ensure_partners(self, partner_ids: Iterable[int]) -> None:
        """Learn which of these partners are Odoo users', in one call for the unknown ones."""
        missing = sorted({p for p in partner_ids if p not in self._partners})
        if not missing:
            return
        rows = await self._call(
            "res.users",
            "search_read",
            [("partner_id", "in", missing)],
            fields=["partner_id"],
        )
        users = {many2one(row.get("partner_id")) for row in rows}
        self._partners.update({partner: partner in users for partner in missing})

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

    async def ids_for(self, minutes: Iterable[int]) -> tuple[dict[int, int], Refused]:
        """Alarm ids for these reminders, creating the missing ones in one call."""
        await self.ensure()
        wanted = sorted(set(minutes))
        new = [value for value in wanted if value not in self._by_minutes]
        refused: Refused = {}
        if new:
            rows = [minutes_alarm(value) for value in new]
            for value, outcome in zip(
                new, await create_each(self._call, "calendar.alarm", rows), strict=True
            ):
                if isinstance(outcome, ProviderError):
                    refused[value] = outcome
                    continue
                self._by_minutes[value] = outcome
                self._minutes[outcome] = value
                self._seen.add(outcome)
        return {value: self._by_minutes[value] for value in wanted if value in self._by_minutes}, (
            refused
        )


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

    async def ids_for(self, names: Iterable[str]) -> tuple[dict[str, int], Refused]:
        """Tag ids for these names; missing tags are created when the user may (else left out).

        A tag Odoo refuses for another reason than the user's rights comes back apart.
        """
        await self.ensure()
        wanted = sorted(set(names))
        found = {name: tag for name in wanted if (tag := self._find(name)) is not None}
        new = [name for name in wanted if name not in found]
        refused: Refused = {}
        if not new or self._denied:
            return found, refused
        rows = [{"name": name} for name in new]
        for name, outcome in zip(
            new, await create_each(self._call, "calendar.event.type", rows), strict=True
        ):
            if isinstance(outcome, ProviderError) and _model_refused(outcome):
                self._denied = True
            elif isinstance(outcome, ProviderError):
                refused[name] = outcome
            else:
                self._names[outcome] = name
                found[name] = outcome
        if self._denied:
            logger.warning(
                "this Odoo user may not create tags: categories without a tag are left out"
            )
        return found, refused
