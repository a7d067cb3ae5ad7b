"""``OdooCalendar``: one Odoo user's calendar behind calsync's adapter Protocol.

See the package docstring for the public behaviour; this module holds the
connection and the reading: snapshots of rows, attendees and recurrences
assembled into :class:`~calsync.adapters.RemoteEvent` s, the pulls and
``fetch``. Writes are in :mod:`._apply`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import attrs

from calsync import _arguments as checks
from calsync._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidEventError,
    MalformedAnswerError,
    ProviderError,
)
from calsync._limits import ConcurrencyLimiter
from calsync._model._event import Event
from calsync._model._projection import Projection, canonical
from calsync._model._recurrence import OccurrenceKey, Weekday
from calsync._model._values import Person
from calsync._model._window import Window
from calsync._protocol import (
    Listing,
    Notification,
    RemoteEvent,
    Write,
    WriteResult,
)
from calsync._tasks import settle
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._answers import (
    UNREADABLE,
    Unread,
    checked,
    grouped_arrays,
    is_id,
    split_rows,
)
from calsync.adapters.odoo._apply import Apply, Job
from calsync.adapters.odoo._cursor import (
    EPOCH,
    SETTLE,
    Cursor,
    Seen,
    last_seen_of,
    low_bound,
    row_hash,
    shift,
)
from calsync.adapters.odoo._mapping import (
    ATTENDEE_FIELDS,
    EVENT_FIELDS,
    ODOO_PROJECTION,
    AttendeeRow,
    Lookups,
)
from calsync.adapters.odoo._partners import Alarms, Partners, Tags, Users
from calsync.adapters.odoo._privacy import as_seen_by, needs_default_privacy
from calsync.adapters.odoo._recurrence import (
    RECURRENCE_FIELDS,
    rule_from_odoo,
    week_start,
)
from calsync.adapters.odoo._series import assemble, local_date
from calsync.adapters.odoo._shared import Changes, OdooDatabase
from calsync.adapters.odoo._snapshot import (
    ALL_CONTEXT,
    READ_CONTEXT,
    SECOND,
    Snapshot,
    Unit,
    key_of,
    series_digests,
    window_bounds,
    write_date_of,
)
from calsync.adapters.odoo._transport import (
    AutoTransport,
    OdooTransport,
    ServerClock,
    TransportChoice,
    major_version,
    transport_for,
)

__all__ = ["OdooCalendar"]

T = TypeVar("T")

logger = logging.getLogger("calsync.odoo")

#: Rows of two or three small fields (ids, states, dates) come this many a call: a quiet
#: incremental sync stays at three calls even with tens of thousands of events.
SMALL_ROWS_PAGE = 50_000

UTC = timezone.utc
#: What :func:`~._privacy.hidden_from` reads of a row.
_RULE_FIELDS = frozenset({"privacy", "user_id", "partner_ids"})
OnDelete = Literal["archive", "unlink"]


#: Rows (or answers) of the overlap a calendar must know as they are before a shared
#: listing leaves them out for it. Each calendar that does gets a clause of its own,
#: and a clause costs Odoo about as much as reading some hundreds of rows: on a real
#: 18.0, with a clause for each of 50 users, a quiet listing's two change queries took
#: 2.7 s instead of 0.15 s.
SHARED_EXCLUSION = 500

#: What PostgreSQL says (through Odoo's /jsonrpc) about a database name it does not have.
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')


def _in_window(event: Event, window: Window) -> bool:
    if event.recurrence is not None:
        return window.contains(event)
    start, end = event.span()
    if end > start:
        return end > window.start and start < window.end
    return window.start <= start < window.end


@runtime_checkable
class _KeepsUid(Protocol):
    """A transport that can start from a uid an earlier run learned (``/jsonrpc``'s)."""

    def assume_uid(self, uid: int) -> None: ...

    def forget_uid(self, uid: int) -> None: ...


class OdooCalendar:
    """The calendar of one Odoo user, synced through ``/jsonrpc`` or JSON-2.

    :param url: the server, e.g. ``https://odoo.example.com``.
    :param db: the database.
    :param login: the login calsync signs in with.
    :param password: that login's password (``/jsonrpc`` only).
    :param api_key: an API key of that login (JSON-2, or as password on ``/jsonrpc``).
    :param transport: ``"auto"`` (JSON-2 when the server is 19 or later and an
        API key is given, else ``/jsonrpc``), ``"jsonrpc"``, ``"json2"``, or a
        ready :class:`OdooTransport`, which may serve many adapters (its login
        is made once for all; the adapter then neither needs the credentials
        nor closes it: its maker does).
    :param name: the side's label in plans and reports.
    :param user_login: whose calendar (default: ``login``). Reading someone
        else's calendar as another user hides their private events (Odoo masks them).
    :param timeout: seconds per call (bulk writes need minutes).
    :param page_size: rows per ``search_read`` page.
    :param on_delete: ``"archive"`` (default: recoverable, keeps the attendees and
        the calsync key, so a later create with the same key revives the record)
        or ``"unlink"`` (Odoo's own module deletes for good).
    :param overlap: how far back each incremental poll looks behind its cursor.
    :param database: an :class:`OdooDatabase` shared by the calendars synced in
        this database: incremental pulls then take their listing and attendee
        poll from its one query per round instead of making their own.
    :param limiter: a :class:`~calsync.ConcurrencyLimiter` bounding the requests
        in flight to the server, keyed ``("odoo", scheme://host:port)``
        (default: :data:`~calsync.adapters.odoo.SERVER_LIMITER`, 8 per server
        for the whole process; Odoo's threaded server fails requests beyond
        its connection pool). A ready ``transport`` keeps its own.
    """

    def __init__(
        self,
        url: str,
        db: str,
        login: str,
        *,
        password: str | None = None,
        api_key: str | None = None,
        transport: TransportChoice | OdooTransport = "auto",
        name: str = "odoo",
        user_login: str | None = None,
        timeout: float = 600.0,
        page_size: int = 1000,
        on_delete: OnDelete = "archive",
        overlap: timedelta = timedelta(seconds=300),
        database: OdooDatabase | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        self._name = checks.text("name", name)
        self._transport = transport_for(
            transport,
            url,
            db,
            login,
            password=password,
            api_key=api_key,
            timeout=timeout,
            side=self._name,
            limiter=limiter,
        )
        if on_delete not in ("archive", "unlink"):
            raise ConfigurationError(f"on_delete must be archive or unlink, not {on_delete!r}")
        if database is not None and not isinstance(database, OdooDatabase):
            raise TypeError(f"database must be an OdooDatabase, not {database!r}")
        self._url = checks.text("url", url).rstrip("/")
        self._db = checks.text("db", db)
        self._login = checks.text("login", login)
        self._choice = transport
        self._user_login = checks.optional_text("user_login", user_login) or login
        self._page_size = checks.count("page_size", page_size)
        self._on_delete = on_delete
        self._overlap = checks.instance("overlap", overlap, timedelta)
        self._database = database
        self._owns_transport = isinstance(transport, str)
        self._uid = 0
        # the transport login's uid (the calendar user's is _uid), kept in the cursor
        self._login_uid: int | None = None
        self._partner = 0
        self._owner_email: str | None = None
        # the user's language and its week start (res.lang), read when a series needs it
        self._lang: str | None = None
        self._week_start: Weekday | None = None
        self._connected = False
        self._partners = Partners(self._call)
        self._users = Users(self._call)
        self._alarms = Alarms(self._call)
        self._tags = Tags(self._call)
        # recurrence id -> (series id, anchor): how a series is reported (see _series)
        self._series: dict[int, tuple[int, OccurrenceKey | None]] = {}
        # rows and attendees calsync itself wrote, as read back (echo suppression)
        self._echo_rows: dict[int, Seen] = {}
        self._echo_open: dict[str, float] = {}
        self._echo_attendees: dict[int, str] = {}
        self._echo_digests: dict[int, str] = {}
        self._window: Window | None = None
        # organiser uid -> calendar_default_privacy, for rows read for another user (per pull)
        self._default_privacy: dict[int, object] = {}

    # -- identity ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The side's label."""
        return self._name

    @property
    def account(self) -> str:
        """The login of the calendar's user."""
        return self._user_login

    @property
    def owner_email(self) -> str | None:
        """The user's partner e-mail (known once connected)."""
        return self._owner_email

    @property
    def holds_others_meetings(self) -> bool:
        """Yes: Odoo is one calendar shared by its users; a meeting keeps its organiser there."""
        return True

    @property
    def _yearly_type(self) -> bool:
        """Whether the server keeps a yearly series as its yearly type (not before 18.0)."""
        return not 0 < self._major() < 18

    @property
    def projection(self) -> Projection:
        """What Odoo stores of an event: :data:`ODOO_PROJECTION`, or before 18.0, which has
        no "default" privacy, ``ODOO_17_PROJECTION`` (known once connected)."""
        if 0 < self._major() < 18:
            return mapping.ODOO_17_PROJECTION
        return ODOO_PROJECTION

    @property
    def calls(self) -> Counter[str]:
        """RPC round trips by ``model.method`` (login and version probe included).

        A transport shared by many adapters counts the calls of all of them.
        """
        return Counter(self._transport.calls)

    @property
    def requests(self) -> int:
        """RPC round trips made so far."""
        return sum(self.calls.values())

    @property
    def partner(self) -> int:
        """The calendar user's partner (0 before connecting)."""
        return self._partner

    @property
    def reads_as_user(self) -> bool:
        """Whether calsync signs in as the calendar's user (else as another login for them)."""
        return self._login == self._user_login

    @property
    def uid(self) -> int:
        """The calendar user's id (0 before connecting)."""
        return self._uid

    @property
    def transport(self) -> OdooTransport | None:
        """The transport in use (None before connecting, when the adapter chooses it)."""
        if isinstance(self._transport, AutoTransport):
            return self._transport.inner
        return self._transport

    @property
    def server_version(self) -> str | None:
        """The server version, once the transport knows it."""
        version = getattr(self._transport, "version", None)
        return version if isinstance(version, str) else None

    def notifications(self, write: Write) -> tuple[Notification, ...]:
        """None: every write carries ``no_mail_to_attendees``, so Odoo mails nobody."""
        return ()

    def __repr__(self) -> str:
        return (
            f"OdooCalendar(name={self._name!r}, url={self._url!r}, db={self._db!r}, "
            f"account={self._user_login!r})"
        )

    # -- connection ----------------------------------------------------------------------------

    async def connect(self, *, login_uid: int | None = None) -> None:
        """Pick the transport, log in, and read the calendar user (once).

        ``login_uid``: the login's uid as an earlier run found it (the cursor keeps
        it). The transport then sends it without logging in, which saves Odoo one
        password hash; if Odoo refuses it, calsync logs in and reads again.
        """
        if self._connected:
            return
        keeper: _KeepsUid | None = None
        if login_uid is not None and isinstance(self._transport, _KeepsUid):
            keeper = self._transport
            keeper.assume_uid(login_uid)
        fields = ["partner_id", "email", "name", "lang", "tz", "login"]
        try:
            uid, rows = await self._login_user(fields)
        except AuthenticationError:  # refused, or another user's uid that takes this secret
            if keeper is None or login_uid is None:
                raise
            logger.info("Odoo refused the kept uid of %s; logging in", self._login)
            keeper.forget_uid(login_uid)
            uid, rows = await self._login_user(fields)
        self._login_uid = uid
        if self._user_login != self._login:
            rows = await self._call(
                "res.users",
                "search_read",
                [("login", "=", self._user_login)],
                fields=fields,
                limit=1,
            )
            if not rows:
                raise ConfigurationError(f"Odoo has no active user {self._user_login!r}")
        user = rows[0]
        self._uid = int(user["id"])
        self._partner = mapping.many2one(user.get("partner_id")) or 0
        self._owner_email = mapping.normalize_address(user.get("email"))
        self._lang = user.get("lang") or None
        owner = (
            Person(self._owner_email, str(user.get("name") or "")) if self._owner_email else None
        )
        self._users.remember(self._uid, owner)
        self._partners.remember(self._owner_email, self._partner)
        self._connected = True

    async def _login_user(self, fields: list[str]) -> tuple[int, list[dict[str, Any]]]:
        """The login's uid and its ``res.users`` row, checked to be the login's."""
        try:
            uid = await self._transport.connect()
        except ProviderError as error:
            fixed = self._misconfigured(error)
            if fixed is None:
                raise
            raise fixed from error
        rows = await self._call("res.users", "read", [uid], fields)
        self._check_identity(rows)
        return uid, rows

    def _misconfigured(self, error: ProviderError) -> ConfigurationError | None:
        """A first answer that means a wrong URL or database (no use retrying), said so."""
        if isinstance(error, AuthenticationError):
            return None
        text = str(error.message)
        databases = "the server's /web/database/selector lists its databases"
        if _MISSING_DATABASE.search(text):
            fix = f"Odoo has no database {self._db!r}: check its name ({databases})"
        elif error.status == 404 and self._choice != "jsonrpc":
            fix = (
                f"Odoo serves no database {self._db!r} at {self._url} (JSON-2 answered 404): "
                f"check the URL and the database name ({databases})"
            )
        elif error.status is not None and 300 <= error.status < 400:
            fix = f"{self._url} has no JSON-2 API (Odoo has it from 19.0): use transport='jsonrpc'"
        else:
            return None
        return ConfigurationError(fix, side=self._name)

    def _check_identity(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The credentials must be ``login``'s: JSON-2 takes the user from the API key alone."""
        found = str(rows[0].get("login") or "") if rows else ""
        if found.casefold() != self._login.casefold():
            raise AuthenticationError(
                f"the credentials given for Odoo login {self._login!r} are those of "
                f"{found or 'another user'!r}: give the API key (or password) of {self._login!r}",
                code="wrong_user",
                side=self._name,
            )

    async def _call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One call; an answer without the shape the method gives is a MalformedAnswerError."""
        result = await self._transport.call(model, method, *args, **kwargs)
        return checked(result, model, method, side=self._name)

    async def aclose(self) -> None:
        """Release the connections of the transport the adapter made (the login is kept:
        the adapter goes on after this, without logging in again)."""
        if self._owns_transport:
            await self._transport.aclose()

    # -- reading -------------------------------------------------------------------------------

    def _user_domain(self) -> list[Any]:
        return mapping.user_domain(self._uid, self._partner)

    async def _search_read(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        *,
        order: str,
        context: Mapping[str, Any] = READ_CONTEXT,
        page: int | None = None,
        unread: Unread | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching row, ``page`` rows a call (the adapter's page size by default).

        ``calendar.event`` rows calsync cannot read go to ``unread`` (or fail the
        call as a MalformedAnswerError when there is none to take them).
        """
        size = page or self._page_size
        rows: list[dict[str, Any]] = []
        seen: set[int] = set()
        offset = 0
        while True:
            batch = await self._call(
                model,
                "search_read",
                domain,
                fields=list(fields),
                offset=offset,
                limit=size,
                order=order,
                context=dict(context),
            )
            readable = await self._as_user_sees(self._readable(model, batch, fields, unread))
            for row in readable:
                if int(row["id"]) not in seen:
                    seen.add(int(row["id"]))
                    rows.append(row)
            if len(batch) < size:
                return rows
            offset += size

    def _readable(
        self,
        model: str,
        rows: list[dict[str, Any]],
        fields: Sequence[str],
        unread: Unread | None,
    ) -> list[dict[str, Any]]:
        """The rows calsync can read; the other ``calendar.event`` rows go to ``unread``."""
        if model != "calendar.event":
            return rows
        good, bad = split_rows(rows, fields)
        if bad and unread is None:
            label, (problem, _row) = next(iter(bad.items()))
            raise MalformedAnswerError(f"Odoo answered {label}: {problem}", side=self._name)
        if unread is not None:
            for label, (problem, row) in bad.items():
                unread.add(label, problem, [row], garbled=True)
        return [dict(row) for row in good]

    async def _as_user_sees(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Event rows as the calendar's user would read them (see :mod:`._privacy`).

        Only for another login than the user's, and rows read with the fields the rule
        needs: a search restricted to the user's events needs none (none is hidden from
        its own user).
        """
        if self._login == self._user_login or not rows or not rows[0].keys() >= _RULE_FIELDS:
            return rows
        asked = {
            organizer
            for row in rows
            if (organizer := needs_default_privacy(row, self._uid, self._partner)) is not None
        }
        private = await self._private_calendars(asked)
        return [as_seen_by(row, self._uid, self._partner, private) for row in rows]

    async def _private_calendars(self, organizers: Iterable[int]) -> set[int]:
        """Which of these users' calendars are private by default (18.0+; known per pull)."""
        wanted = sorted(set(organizers) - set(self._default_privacy))
        if wanted and major_version(self.server_version or "18.0") >= 18:
            rows = await self._call("res.users", "read", wanted, ["calendar_default_privacy"])
            for row in rows:
                self._default_privacy[int(row["id"])] = row.get("calendar_default_privacy")
        return {uid for uid in organizers if self._default_privacy.get(uid) == "private"}

    async def _read_rows(
        self, snapshot: Snapshot, ids: Iterable[int], unread: Unread | None = None
    ) -> None:
        """Read these rows in full (``page_size`` a call), those not in ``snapshot`` yet."""
        wanted = sorted(set(ids) - set(snapshot.rows))
        for first in range(0, len(wanted), self._page_size):
            page = wanted[first : first + self._page_size]
            rows = await self._read("calendar.event", page, EVENT_FIELDS, ALL_CONTEXT)
            readable = self._readable("calendar.event", rows, EVENT_FIELDS, unread)
            snapshot.add_rows(await self._as_user_sees(readable))

    async def _complete(
        self, snapshot: Snapshot, recurrences: Iterable[int], unread: Unread | None = None
    ) -> None:
        """Read what building events needs: whole series, attendees, users, alarms, tags."""
        needed = sorted(set(recurrences) - snapshot.complete)
        if needed:
            records = await self._call(
                "calendar.recurrence",
                "read",
                needed,
                list(RECURRENCE_FIELDS),
                context=READ_CONTEXT,
            )
            for record in records:
                snapshot.recurrences[int(record["id"])] = record
            if any(_week_start_matters(record) for record in records):
                await self.week_start()
            rows = await self._search_read(
                "calendar.event",
                [("recurrence_id", "in", needed)],
                EVENT_FIELDS,
                order="start asc, id asc",
                context=ALL_CONTEXT,
                unread=unread,
            )
            snapshot.add_rows(rows)
            snapshot.complete.update(needed)
        await self._read_attendees(snapshot)
        rows = list(snapshot.rows.values())
        await self._users.ensure(
            uid for row in rows if (uid := mapping.many2one(row.get("user_id"))) is not None
        )
        await self._users.ensure_partners(self._organiser_candidates(snapshot))
        alarm_ids = {a for row in rows for a in row.get("alarm_ids") or ()}
        if alarm_ids:
            await self._alarms.ensure(alarm_ids)
        tag_ids = {t for row in rows for t in row.get("categ_ids") or ()}
        if tag_ids:
            await self._tags.ensure(tag_ids)

    async def week_start(self) -> Weekday:
        """The Odoo user's week start (their language's ``res.lang.week_start``), read once.

        Odoo groups the weeks of a weekly series with an interval by it.
        """
        if self._week_start is None:
            rows = await self._call(
                "res.lang",
                "search_read",
                [("code", "=", self._lang or "en_US")],
                fields=["week_start"],
                limit=1,
                context=ALL_CONTEXT,
            )
            self._week_start = week_start(rows[0].get("week_start") if rows else None)
        return self._week_start

    async def _read_attendees(self, snapshot: Snapshot, *, again: bool = False) -> None:
        ids = {a for row in snapshot.rows.values() for a in row.get("attendee_ids") or ()}
        wanted = sorted(ids if again else ids - set(snapshot.attendees))
        if not wanted:
            return
        rows = await self._read("calendar.attendee", wanted, ATTENDEE_FIELDS, READ_CONTEXT)
        for row in checked(rows, "calendar.attendee", "read", side=self._name):
            attendee = AttendeeRow.from_wire(row)
            snapshot.attendees[attendee.id] = attendee
            self._partners.remember(attendee.email, attendee.partner_id)

    def _lookups(self, snapshot: Snapshot) -> Lookups:
        return Lookups(
            attendees=snapshot.attendees,
            users=self._users.people,
            reminders=self._alarms.reminders,
            tags=self._tags.names,
            owner_partner=self._partner,
            user_partners=self._users.partners,
        )

    def _organiser_candidates(self, snapshot: Snapshot) -> set[int]:
        """Partners to check for an Odoo user: where a row without organiser has several."""
        lookups = self._lookups(snapshot)
        found: set[int] = set()
        for row in snapshot.rows.values():
            candidates = mapping.outside_candidates(row, lookups)
            if len(candidates) > 1:
                found.update(a.partner_id for a in candidates)
        return found

    def _version(
        self,
        event: Event,
        rows: Sequence[Mapping[str, Any]],
        snapshot: Snapshot,
        *parts: object,
    ) -> str:
        attendees = sorted(
            (a.id, a.state, a.write_date)
            for row in rows
            for aid in row.get("attendee_ids") or ()
            if (a := snapshot.attendees.get(aid)) is not None
        )
        payload = [
            canonical(event),
            event.organizer.email if event.organizer else None,
            sorted((int(row["id"]), write_date_of(row), bool(row.get("active"))) for row in rows),
            attendees,
            *parts,
        ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()

    def _read_only(self, row: Mapping[str, Any], event: Event, key: str | None) -> bool:
        """Another Odoo user organises it, or it has no organiser calsync can tell.

        A meeting organised outside Odoo (no ``user_id``, its organiser among the
        attendees) is not read-only: it follows what its organiser changes, as the
        user's mailbox receives it; the organiser check keeps it out of Outlook.
        One calsync made (it carries a key) whose organiser cannot be told yet (a
        run stopped between its create and its answers) is not read-only either:
        the next write puts its organiser's answer back.
        """
        organizer = mapping.many2one(row.get("user_id"))
        if organizer is None:
            return event.organizer is None and key is None
        return organizer != self._uid

    def _single(self, row: Mapping[str, Any], snapshot: Snapshot, key: str | None) -> RemoteEvent:
        event = mapping.row_event(row, self._lookups(snapshot))
        archived = not row.get("active")
        read_only = self._read_only(row, event, key)
        return RemoteEvent(
            id=str(row["id"]),
            event=event,
            version=self._version(event, [row], snapshot, archived, read_only),
            key=key,
            read_only=read_only,
            archived=archived,
        )

    def _series_id(self, rid: int, members: Sequence[Mapping[str, Any]]) -> int:
        known = self._series.get(rid)
        if known is not None:
            return known[0]
        return min(int(row["id"]) for row in members)

    def _series_event(
        self,
        rid: int,
        snapshot: Snapshot,
        *,
        sid: int | None = None,
        key: str | None = None,
        hint: OccurrenceKey | None = None,
    ) -> RemoteEvent | None:
        record = snapshot.recurrences.get(rid)
        members = snapshot.members(rid)
        if record is None or not members:
            return None
        lookups = self._lookups(snapshot)
        rows = [mapping.series_row(row, lookups) for row in members if not mapping.masked(row)]
        if not rows:
            return None
        tz = str(record.get("event_tz") or "UTC")
        first = min(rows, key=lambda row: _instant(row.start))
        rule = rule_from_odoo(
            record,
            first=local_date(first.start, tz),
            weeks_start=self._week_start or Weekday.SU,
            yearly_type=self._yearly_type,
        )
        remembered = self._series.get(rid)
        if hint is None and remembered is not None:
            hint = remembered[1]
        try:
            assembly = assemble(rule, tz, rows, hint=hint)
        except InvalidEventError as error:
            logger.warning("series %s could not be read: %s", rid, error)
            return None
        if assembly is None:
            return None
        if assembly.ignored:
            logger.info(
                "series %s: rows %s fit no occurrence of its rule", rid, list(assembly.ignored)
            )
        sid = sid if sid is not None else self._series_id(rid, members)
        self._series[rid] = (sid, assembly.anchor)
        event = ODOO_PROJECTION(assembly.event)
        template = next(
            (row for row in members if row.get("active") and row.get("follow_recurrence")),
            members[0],
        )
        archived = not any(row.get("active") for row in members)
        read_only = self._read_only(template, mapping.row_event(template, lookups), key)
        return RemoteEvent(
            id=str(sid),
            event=event,
            version=self._version(
                event, members, snapshot, archived, read_only, record.get("write_date")
            ),
            key=key,
            read_only=read_only,
            archived=archived,
        )

    def _units(self, snapshot: Snapshot, rows: Iterable[Mapping[str, Any]]) -> list[Unit]:
        units: dict[tuple[int, int | None], Unit] = {}
        for row in rows:
            rid = mapping.many2one(row.get("recurrence_id"))
            if rid is None:
                units[(int(row["id"]), None)] = Unit(int(row["id"]))
            else:
                units.setdefault((0, rid), Unit(0, rid))
        return list(units.values())

    def _try_build(
        self, snapshot: Snapshot, unit: Unit, unread: Unread, key: str | None = None
    ) -> RemoteEvent | None:
        """The unit's event; None, and ``unread`` told why, when its rows cannot make one."""
        rows = snapshot.members(unit.rid) if unit.rid is not None else []
        if unit.rid is None and unit.sid in snapshot.rows:
            rows = [snapshot.rows[unit.sid]]
        label = unread.series_label(unit.rid) if unit.rid is not None else None
        if label is not None:  # a member row could not be read: the series would lack it
            unread.add(label, unread.reasons[label], rows)
            return None
        try:
            return self._build(snapshot, unit, key)
        except UNREADABLE as error:
            sid = unit.sid or (self._series_id(unit.rid, rows) if unit.rid and rows else 0)
            unread.add(str(sid), f"{type(error).__name__}: {error}", rows)
            return None

    def _build(self, snapshot: Snapshot, unit: Unit, key: str | None = None) -> RemoteEvent | None:
        if unit.rid is not None:
            return self._series_event(unit.rid, snapshot, sid=unit.sid or None, key=key)
        row = snapshot.rows.get(unit.sid)
        if row is None or mapping.masked(row):
            return None
        return self._single(row, snapshot, key)

    # -- pull ----------------------------------------------------------------------------------

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        """Every event of the window (``cursor`` None or unknown), else the changes since it.

        A cursor made for another window lists the changes and what the new window
        adds, not the whole window again.
        """
        state = Cursor.parse(cursor)
        await self.connect(login_uid=state.login_uid if state is not None else None)
        self._default_privacy.clear()
        if state is not None:
            self._series.update(
                {rid: value for rid, value in state.series.items() if rid not in self._series}
            )
            return await self._incremental(state, window)
        return await self._full(window)

    @property
    def keeps_cursor_across_windows(self) -> bool:
        """Yes: a cursor of an earlier window still serves (see :meth:`pull`)."""
        return True

    def _window_domain(self, window: Window) -> list[Any]:
        low, high = window_bounds(window)
        return [("start", "<", high), ("stop", ">", low)]

    def _outside_domain(self, window: Window) -> list[Any]:
        """Rows :meth:`_window_domain` leaves out."""
        low, high = window_bounds(window)
        return ["|", ("start", ">=", high), ("stop", "<=", low)]

    async def _mark(self) -> str:
        rows = await self._call(
            "calendar.event",
            "search_read",
            self._user_domain(),
            fields=["write_date"],
            limit=1,
            order="write_date desc, id desc",
            context=ALL_CONTEXT,
        )
        stamps = [write_date_of(row) for row in rows if write_date_of(row)]
        return max(stamps) if stamps else EPOCH

    async def _full(self, window: Window) -> Listing:
        moment, wall = time.monotonic(), time.time()
        since = await self._mark()
        unread = Unread()
        rows = await self._search_read(
            "calendar.event",
            self._user_domain() + self._window_domain(window),
            EVENT_FIELDS,
            order="start asc, id asc",
            context=ALL_CONTEXT,
            unread=unread,
        )
        snapshot = Snapshot()
        snapshot.add_rows(rows)
        units = self._units(snapshot, [*rows, *unread.rows_with_series()])
        await self._complete(snapshot, [u.rid for u in units if u.rid is not None], unread)
        items = []
        for unit in units:
            item = self._try_build(snapshot, unit, unread)
            if item is not None and _in_window(item.event, window):
                items.append(item)
        answers = {a.id: f"{a.write_date}|{a.state}" for a in snapshot.attendees.values()}
        digests = series_digests(
            (int(row["id"]), mapping.many2one(row.get("recurrence_id")))
            for row in rows
            if row.get("active")
        )
        self._window = window
        held = unread.hold(since)
        read = {int(r["id"]): r for r in snapshot.rows.values() if not unread.holds(r)}
        pairs = [(row_id, write_date_of(row)) for row_id, row in read.items()]
        newest = max((stamp for _row_id, stamp in pairs), default="")
        opened = {newest: time.time()} if newest else {}
        at = self._read_time(moment, wall) if held == since else EPOCH
        cursor = self._next_cursor(
            window, held or since, _Read(read, pairs, opened=opened, at=at), answers, digests
        )
        return Listing(
            items=items,
            full=True,
            complete=not unread.garbled,
            cursor=cursor.dump() if held is not None else None,
            unreadable=unread.report(self._name),
        )

    async def _present(self, window: Window) -> dict[int, int | None]:
        """The user's live rows in the window, with their recurrence: one grouping call.

        Grouped by ``recurrence_id``, ids aggregated in SQL: no row is read, which
        makes it the cheapest listing Odoo has (10,000 rows: 0.1 s against 0.5 s
        for a ``search_read`` of one field, real 18.0). Unlinked rows show only as
        missing here (odoo.md §5.8). Odoo leaves out of a grouping the private
        events of others (those the user attends too) when it involves a field it
        masks in them; ``id`` and ``recurrence_id`` are not such fields, but 19.0's
        ``read_group`` always asks for a ``__count``, which Odoo takes for one: on
        19.0 and later the call is ``formatted_read_group``, which does not.
        """
        groups = await grouped_arrays(
            self._call,
            self._major(),
            "calendar.event",
            self._user_domain() + self._window_domain(window),
            "recurrence_id",
            ["id"],
            side=self._name,
        )
        return {row: rid for rid, (ids,) in groups for row in ids}

    def _major(self) -> int:
        """The server's major version, as learnt at connect (0: unknown)."""
        return major_version(self.server_version or "")

    async def _listed(
        self, low: str, seen: Mapping[int, Seen], opened: Iterable[str], unread: Unread
    ) -> list[tuple[int, str]]:
        """``(id, write_date)`` of the rows written after ``low`` that calsync has not read
        as they are, and of every row of a second still open, in Odoo's order.

        Odoo compares: of the rows ``seen`` (after a bulk write, all of the
        overlap), only those now stamped in another second come back (see
        :func:`_not_seen_as_they_are`). Odoo sorts by the exact stamp, which it
        sends only to the second: a row written again in a second calsync read in
        sorts after the rows it read (see :func:`~._cursor.last_seen_of`), so
        the rows of an open second all come back. Rows whose ``write_date`` Odoo
        masks are left out (they are never read as content).

        Not a ``read_group`` of two arrays, though one costs a fifth of the time
        (10,000 rows, real 18.0: 0.1 s against 0.5 s): ``write_date`` is no public
        field, so ``Meeting.read_group`` then ANDs ``_get_default_privacy_domain``,
        which also leaves out the default-privacy events of organisers without a
        ``res.users.settings`` row, events ``search_read`` lists unmasked.
        """
        rows = await self._search_read(
            "calendar.event",
            [
                *self._user_domain(),
                ("write_date", ">", low),
                *_not_seen_as_they_are(low, seen, opened),
            ],
            ("write_date",),
            order="write_date asc, id asc",
            context=ALL_CONTEXT,
            page=SMALL_ROWS_PAGE,
            unread=unread,
        )
        return [(int(row["id"]), stamp) for row in rows if (stamp := write_date_of(row))]

    async def _attendee_answers(
        self, low: str, known: Mapping[int, str]
    ) -> dict[int, tuple[int | None, str]]:
        """The user's attendee rows written after ``low`` whose answer calsync has not read
        (``known``: ``write_date|state`` by attendee id): event and ``write_date|state``.

        One ``read_group`` (arrays aggregated in SQL) rather than rows; Odoo itself
        leaves out the rows known as they are (see :func:`_not_answered_as_they_are`):
        after a bulk write every attendee row of it is in the overlap.
        """
        [group] = await self._call(
            "calendar.attendee",
            "read_group",
            [
                ("write_date", ">", low),
                *_not_answered_as_they_are(low, known),
                "|",
                ("event_id.user_id", "=", self._uid),
                ("event_id.partner_ids", "in", [self._partner]),
            ],
            ["id:array_agg", "event_id:array_agg", "state:array_agg", "write_date:array_agg"],
            [],
            lazy=False,
            context=READ_CONTEXT,
        )
        columns = [group.get(name) for name in ("id", "event_id", "state", "write_date")]
        if not all(isinstance(c, list) and len(c) == len(columns[0]) for c in columns):
            raise MalformedAnswerError(
                "Odoo answered calendar.attendee.read_group without its arrays", side=self._name
            )
        return {
            int(aid): (event_id if is_id(event_id) else None, f"{stamp or ''}|{state}")
            for aid, event_id, state, stamp in zip(*columns, strict=True)
        }

    async def read_own(
        self, model: str, ids: Sequence[int], fields: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """``model.read`` with this calendar's own login (for :class:`OdooDatabase`)."""
        rows = await self._call(
            model, "read", sorted(set(ids)), list(fields), context=dict(context)
        )
        return list(rows)

    async def _read(
        self, model: str, ids: Sequence[int], fields: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """``model.read``: with the shared database's reads when there is one (one call for
        the calendars that read at the same time), else with this calendar's login."""
        if self._database is not None:
            rows = await self._shared(
                self._database.read(self, model, ids, fields, context), "read", "reads alone"
            )
            if rows is not None:
                return rows
        return await self.read_own(model, ids, fields, context)

    async def _shared(self, call: Awaitable[T], what: str, instead: str) -> T | None:
        """What the shared database answers, or None when it fails: the calendar then does
        the work alone (a warning says so)."""
        try:
            return await call
        except ProviderError as error:
            logger.warning(
                "a shared Odoo %s failed (%s): %s %s",
                what,
                type(error).__name__,
                self._user_login,
                instead,
                extra={"calsync_side": self._name, "calsync_error": str(error)},
            )
            return None

    async def _own_changes(
        self,
        low: str,
        window: Window,
        known: _Known,
        unread: Unread,
    ) -> tuple[dict[int, int | None], list[tuple[int, str]], dict[int, tuple[int | None, str]]]:
        """What a shared listing gives, asked by this calendar alone, three calls at once:
        the rows in the window, those written after ``low`` (but for those ``seen`` as
        they are), the attendees' answers (but for those known as they are)."""
        calls = (
            asyncio.ensure_future(self._present(window)),
            asyncio.ensure_future(self._listed(low, known.seen, known.opened, unread)),
            asyncio.ensure_future(self._attendee_answers(low, known.answers)),
        )
        try:
            return await calls[0], await calls[1], await calls[2]
        finally:
            await settle(calls)

    def _read_time(self, moment: float, wall: float) -> str:
        """A time a pull that began at ``moment`` (``time.monotonic()``; ``wall`` on
        calsync's clock) read after, as Odoo stamps rows; EPOCH when Odoo's clock is unknown.

        The earlier of Odoo's clock (the ``Date`` of its answers, see
        :class:`~._transport.ServerClock`) and calsync's: with either clock ahead,
        the overlap still reaches back from the true time, by the other one.
        """
        clocks: list[object] = [self.transport, self._database and self._database.transport]
        odoo = [
            reached
            for clock in clocks
            if isinstance(clock, ServerClock) and (reached := clock.server_time(moment))
        ]
        if not odoo:
            return EPOCH
        ours = datetime.fromtimestamp(wall, UTC)
        return mapping.format_datetime(min(max(odoo), ours))

    async def _shared_changes(self, low: str, window: Window, known: _Known) -> Changes | None:
        """This calendar's share of the database's listing, if it has one that answers.

        The listing leaves out, as this calendar's own queries would, the rows and
        answers of the overlap it knows as they are. A shared listing that fails (its
        account refused, Odoo down for it, an answer it cannot route) costs this pull
        nothing but the wait: it lists alone.
        """
        if self._database is None:
            return None
        rows = sum(map(len, _seen_in_overlap(low, known.seen).values()))
        answers = sum(
            len(ids)
            for states in _answered_in_overlap(low, known.answers).values()
            for ids in states.values()
        )
        changes = self._database.changes(
            self,
            low,
            window,
            unseen=_not_seen_as_they_are(low, known.seen, known.opened)
            if rows >= SHARED_EXCLUSION
            else (),
            unanswered=_not_answered_as_they_are(low, known.answers)
            if answers >= SHARED_EXCLUSION
            else (),
        )
        return await self._shared(changes, "listing", "lists its own changes")

    async def _read_moved(
        self,
        fresh: Snapshot,
        pairs: Sequence[tuple[int, str]],
        seen: Mapping[int, Seen],
        opened: Iterable[str],
        unread: Unread,
    ) -> None:
        """Read in full the listed rows that may differ from what calsync saw of them.

        Those whose ``write_date`` moved, and the last seen of each second still
        open (see :func:`~._cursor.last_seen_of`). When that one was written
        again, others of its second may have been too (each sorts after every row
        calsync saw then, the last one last): all rows of that second are read again.
        """
        wanted = {row_id for row_id, stamp in pairs if _moved(seen.get(row_id), stamp)}
        last = {
            second: row_id
            for second in opened
            if (row_id := last_seen_of(pairs, seen, second)) is not None
        }
        asked = wanted | set(last.values())
        await self._read_rows(fresh, asked, unread)
        rewritten = {
            second
            for second, row_id in last.items()
            if _content_of(seen.get(row_id)) != _hash_of(fresh.rows.get(row_id))
        }
        if rewritten:  # (a row asked for and unreadable stays so: it is not asked again)
            again = {row_id for row_id, stamp in pairs if stamp in rewritten} - asked
            await self._read_rows(fresh, again, unread)

    async def _incremental(self, state: Cursor, window: Window) -> Listing:
        moment, wall = time.monotonic(), time.time()
        low = state.low(self._overlap)
        unread = Unread()
        seen = {**state.seen, **self._echo_rows}
        opened = _earliest(state.open, self._echo_open)
        answered_before = {**state.attendees, **self._echo_attendees}
        known = _Known(seen, opened, answered_before)
        shared = await self._shared_changes(low, window, known)
        present_ids, pairs, attendees = (
            (dict(shared.present), list(shared.pairs), dict(shared.answers))
            if shared is not None
            else await self._own_changes(low, window, known, unread)
        )
        entering: list[dict[str, Any]] = []
        if not state.made_for(window):  # a new window: what it adds is read in full
            entering = await self._search_read(
                "calendar.event",
                [
                    *self._user_domain(),
                    *self._window_domain(window),
                    *self._outside_domain(state.old_window()),
                ],
                EVENT_FIELDS,
                order="start asc, id asc",
                context=ALL_CONTEXT,
                unread=unread,
            )
        fresh = Snapshot()
        fresh.add_rows(entering)
        await self._read_moved(fresh, pairs, seen, opened, unread)
        read_at = time.time()
        self._window = window
        digests = series_digests(present_ids.items())
        known_digests = {**state.rows, **self._echo_digests}
        entered = {int(row["id"]) for row in entering}
        changed = [
            row
            for row_id, row in fresh.rows.items()
            if not mapping.masked(row)
            and (row_id in entered or _content_of(seen.get(row_id)) != row_hash(row))
        ]
        listed = {aid: value for aid, (_event, value) in attendees.items()}
        answers = {**answered_before, **listed}  # those not listed again: as calsync read them
        answered = {
            event_id
            for aid, (event_id, value) in attendees.items()
            if answered_before.get(aid) != value and event_id in present_ids
        }
        singles = {int(row["id"]) for row in changed if not row.get("recurrence_id")}
        series = {rid for row in changed if (rid := mapping.many2one(row.get("recurrence_id")))}
        series |= {rid for row in unread.rows_with_series() if (rid := mapping.many2one(
            row.get("recurrence_id")))}  # fmt: skip
        for event_id in answered:
            assert event_id is not None
            rid = present_ids[event_id]
            if rid is None:
                singles.add(event_id)
            else:
                series.add(rid)
        # an occurrence deleted with unlink leaves no trace but a smaller id set (§5.8)
        series |= {
            rid
            for rid, digest in digests.items()
            if known_digests.get(rid) != digest or rid not in self._series
        }
        snapshot = Snapshot()
        snapshot.add_rows(changed)
        await self._read_rows(snapshot, singles, unread)
        await self._complete(snapshot, series, unread)
        units = [
            *(Unit(sid) for sid in sorted(singles) if sid in snapshot.rows),
            *(Unit(0, rid) for rid in sorted(series)),
        ]
        items = [
            item for unit in units if (item := self._try_build(snapshot, unit, unread)) is not None
        ]
        present = {str(event_id) for event_id, rid in present_ids.items() if rid is None} | {
            str(self._series[rid][0]) for rid in digests if rid in self._series
        }
        read = {**fresh.rows, **snapshot.rows}
        newest = max(
            [
                *(stamp for _row_id, stamp in pairs),
                *(write_date_of(row) for row in read.values()),
                *(known.write_date for known in seen.values()),  # the rows not listed again
            ],
            default="",
        )
        stamps = [state.since, newest, *(value.split("|", 1)[0] for value in listed.values())]
        since = max(stamp for stamp in stamps if stamp)
        held = unread.hold(since)
        kept = {row_id: row for row_id, row in read.items() if not unread.holds(row)}
        still, closed = _settle(opened, state.closed, newest, read_at)
        at = self._read_time(moment, wall) if held == since else EPOCH
        cursor = self._next_cursor(
            window, held or since, _Read(kept, pairs, seen, still, closed, at), answers, digests
        )
        return Listing(
            items=items,
            present=frozenset(present),
            complete=not unread.garbled,
            cursor=cursor.dump(),
            unreadable=unread.report(self._name),
        )

    def _next_cursor(
        self,
        window: Window,
        since: str,
        read: _Read,
        answers: Mapping[int, str],
        digests: Mapping[int, str],
    ) -> Cursor:
        """The cursor after a pull; the echo of calsync's own writes is folded in and reset."""
        low = low_bound(since, read.at, self._overlap)
        seen = {
            row_id: Seen(write_date_of(row), row_hash(row))
            for row_id, row in read.rows.items()
            if write_date_of(row) >= low
        }
        moved = {row_id for row_id, stamp in read.pairs if _moved(read.before.get(row_id), stamp)}
        for row_id, known in read.before.items():  # not read again: as read before
            if row_id not in seen and row_id not in moved and known.write_date >= low:
                seen[row_id] = known
        kept = {aid: value for aid, value in answers.items() if value.split("|", 1)[0] >= low}
        for aid, value in self._echo_attendees.items():
            if value.split("|", 1)[0] >= low:
                kept.setdefault(aid, value)
        self._echo_rows.clear()
        self._echo_open.clear()
        self._echo_attendees.clear()
        self._echo_digests.clear()
        return Cursor(
            window=Cursor.window_key(window),
            since=since,
            read=read.at,
            seen=seen,
            attendees=kept,
            series={rid: value for rid, value in self._series.items() if rid in digests},
            rows=dict(digests),
            open=dict(read.opened),
            closed=read.closed,
            login_uid=self._login_uid,
        )

    # -- fetch ---------------------------------------------------------------------------------

    async def fetch(self, ids: Sequence[str]) -> Mapping[str, RemoteEvent | None]:
        """The current state of these events: archived ones archived, unlinked ones None."""
        await self.connect()
        self._default_privacy.clear()
        numeric = {i: int(i) for i in ids if i.isdigit()}
        snapshot = Snapshot()
        unread = Unread()
        await self._read_rows(snapshot, numeric.values(), unread)
        units: dict[str, Unit] = {}
        for text, number in numeric.items():
            found = self.unit_of(number, snapshot)
            if found is not None:
                units[text] = found
        await self._complete(snapshot, {u.rid for u in units.values() if u.rid is not None}, unread)
        keys = await self._keys([u.sid for u in units.values() if u.sid in snapshot.rows])
        result: dict[str, RemoteEvent | None] = {}
        for text in ids:
            unit = units.get(text)
            if text in unread.labels() or (unit is None and unread.anonymous()):
                continue  # read, but not understood: unknown, not gone
            unit = self.settle_unit(unit, snapshot) if unit is not None else None
            if unit is None:
                result[text] = None
                continue
            template = self._template_row(snapshot, unit)
            if template is None:
                result[text] = None
                continue
            if mapping.masked(template):
                # Another user's private event, hidden from this login: unknown, not gone.
                logger.warning(
                    "Odoo hides private event %s from %s; sign in as %s to sync it",
                    text,
                    self._login,
                    self._user_login,
                    extra={"calsync_side": self._name, "calsync_event": text},
                )
                continue
            if not mapping.user_filter(template, self._uid, self._partner):
                result[text] = None
                continue
            before = len(unread.reasons)
            item = self._try_build(snapshot, unit, unread, keys.get(unit.sid))
            if item is not None or len(unread.reasons) == before:
                result[text] = item
        unread.report(self._name)
        return result

    def unit_of(self, event_id: int, snapshot: Snapshot) -> Unit | None:
        """What an event id stands for, once its row (if any) is in ``snapshot``.

        A series is known by the id it is reported under, which may be a row
        that Odoo has since deleted or detached: the remembered recurrence wins.
        """
        remembered = next((rid for rid, (sid, _) in self._series.items() if sid == event_id), None)
        row = snapshot.rows.get(event_id)
        rid = mapping.many2one(row.get("recurrence_id")) if row else None
        if remembered is not None and (rid is None or rid == remembered):
            return Unit(event_id, remembered)
        return Unit(event_id, rid) if row is not None else None

    @staticmethod
    def settle_unit(unit: Unit, snapshot: Snapshot) -> Unit | None:
        """After reading: a remembered recurrence that is gone leaves its row, if any, alone."""
        if unit.rid is None or unit.rid in snapshot.recurrences:
            return unit
        row = snapshot.rows.get(unit.sid)
        return Unit(unit.sid) if row is not None and not row.get("recurrence_id") else None

    @staticmethod
    def _template_row(snapshot: Snapshot, unit: Unit) -> dict[str, Any] | None:
        if unit.rid is None:
            return snapshot.rows.get(unit.sid)
        members = snapshot.members(unit.rid)
        active = [row for row in members if row.get("active")]
        chosen = active or members
        return chosen[0] if chosen else None

    async def _keys(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self._call("calendar.event", "get_metadata", sorted(set(ids)))
        keys: dict[int, str] = {}
        for row in rows:
            names = [item.get("xmlid") for item in row.get("xmlids") or ()] or [row.get("xmlid")]
            for name in names:
                key = key_of(name)
                if key is not None:
                    keys[int(row["id"])] = key
                    break
        return keys

    # -- apply ---------------------------------------------------------------------------------

    async def apply(self, writes: Sequence[Write]) -> Sequence[WriteResult]:
        """Perform the writes: creates in one ``load``, updates as minimal writes, deletes."""
        jobs = [Job(index, write) for index, write in enumerate(writes)]
        if not jobs:
            return []
        try:
            await self.connect()
            await Apply(self, jobs).run()
        except ProviderError as error:
            for job in jobs:
                if not job.done and job.error is None:
                    job.error = error
        return [self._result(job) for job in jobs]

    def _result(self, job: Job) -> WriteResult:
        if job.error is not None:
            error = copy.copy(job.error)  # a batch-wide error is shared: one copy per write
            if error.event is None:
                error.event = getattr(job.write, "key", None)
            if error.side is None:
                error.side = self._name
            return WriteResult(job.write, error=error)
        return WriteResult(job.write, stored=job.stored)


@attrs.frozen
class _Read:
    """What one pull read: rows in full by id, the ``(id, write_date)`` listing in order,
    what the cursor knew of those rows before, and the seconds it may have read in."""

    rows: Mapping[int, Mapping[str, Any]]
    pairs: Sequence[tuple[int, str]]
    before: Mapping[int, Seen] = attrs.Factory(dict)
    opened: Mapping[str, float] = attrs.Factory(dict)
    closed: str = EPOCH
    #: a time the pull read after (see :meth:`~._cursor.Cursor.low`)
    at: str = EPOCH


@attrs.frozen
class _Known:
    """What a pull knows of the overlap before it lists: the rows read as they are, the
    seconds still open when it read in them, and the answers by attendee id."""

    seen: Mapping[int, Seen]
    opened: Mapping[str, float]
    answers: Mapping[int, str]


def _earliest(*maps: Mapping[str, float]) -> dict[str, float]:
    """Seconds and when calsync first read in each, merged (the earliest time wins)."""
    merged: dict[str, float] = {}
    for one in maps:
        for second, at in one.items():
            merged[second] = min(at, merged.get(second, at))
    return merged


def _settle(
    opened: Mapping[str, float], closed: str, newest: str, read_at: float
) -> tuple[dict[str, float], str]:
    """The seconds still open after a poll that re-read the last row of each, and the
    newest one known over.

    A second is over for a poll that saw a later ``write_date`` (it read after it),
    or ran :data:`~._cursor.SETTLE` seconds after calsync first read in it. The
    newest second this poll saw opens, unless it is known over already.
    """
    still: dict[str, float] = {}
    for second, at in opened.items():
        if second < newest or read_at - at >= SETTLE:
            closed = max(closed, second)
        else:
            still[second] = at
    if newest > closed:
        still[newest] = min(read_at, still.get(newest, read_at))
    return still, closed


def _seen_in_overlap(low: str, seen: Mapping[int, Seen]) -> dict[str, list[int]]:
    """The rows calsync read written after ``low``: their ids by second."""
    by_second: dict[str, list[int]] = defaultdict(list)
    for row_id, known in seen.items():
        if known.write_date > low:
            by_second[known.write_date].append(row_id)
    return by_second


def _answered_in_overlap(low: str, known: Mapping[int, str]) -> dict[str, dict[str, list[int]]]:
    """The answers calsync read written after ``low`` (``write_date|state`` by attendee
    id): their ids by second and state."""
    by_second: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for aid, value in known.items():
        stamp, _, state = value.partition("|")
        if stamp > low and state in mapping.RESPONSES:
            by_second[stamp][state].append(aid)
    return by_second


def _not_seen_as_they_are(low: str, seen: Mapping[int, Seen], opened: Iterable[str]) -> list[Any]:
    """Domain terms (one OR) for the rows of the overlap calsync must see again: every row
    of a second still ``opened``, and those it has not read in the second they hold now.

    A row written again holds a new second: one calsync read no row in (the first
    term), or one whose rows it knows, among which it is not (the others). Ids are
    compared as runs of consecutive ids (a bulk write is a few), never as a
    ``not in`` of every id: PostgreSQL compares each row with each id of those.
    Empty when calsync knows no row of the overlap: every row is then new.
    """
    by_second = _seen_in_overlap(low, seen)
    if not by_second:
        return []
    terms = [_all_of([_not_in_second(second) for second in sorted(by_second)])]
    for second, ids in sorted(by_second.items()):
        terms.append(_all_of([_in_second(second), _not_among(ids)]))
    for second in sorted({second for second in opened if second > low}):
        terms.append(_in_second(second))
    return ["|"] * (len(terms) - 1) + [part for term in terms for part in term]


def _not_answered_as_they_are(low: str, known: Mapping[int, str]) -> list[Any]:
    """Domain terms (one OR) for the attendee rows of the overlap whose answer calsync has
    not read: in a second it read no answer in, or in a second it did but not among the
    ids it read with that state.

    Unlike an event, an attendee row matters only by its state: written again in its
    second with the same state it is rightly left out; with another, it no longer
    matches the ids read with the first. Empty when calsync knows no answer of the
    overlap: every row is then new.
    """
    by_second = _answered_in_overlap(low, known)
    if not by_second:
        return []
    terms = [_all_of([_not_in_second(second) for second in sorted(by_second)])]
    for second, states in sorted(by_second.items()):
        terms.append(_all_of([_in_second(second), [("state", "not in", sorted(states))]]))
        for state, ids in sorted(states.items()):
            terms.append(_all_of([_in_second(second), [("state", "=", state)], _not_among(ids)]))
    return ["|"] * (len(terms) - 1) + [part for term in terms for part in term]


def _in_second(second: str) -> list[Any]:
    return ["&", ("write_date", ">=", second), ("write_date", "<", shift(second, SECOND))]


def _not_in_second(second: str) -> list[Any]:
    return ["|", ("write_date", "<", second), ("write_date", ">=", shift(second, SECOND))]


def _not_among(ids: Iterable[int]) -> list[Any]:
    """Rows whose id is none of ``ids``: outside each run of consecutive ids."""
    singles: list[int] = []
    terms: list[list[Any]] = []
    for first, last in _runs(ids):
        if first == last:
            singles.append(first)
        else:
            terms.append(["|", ("id", "<", first), ("id", ">", last)])
    if singles:
        terms.append([("id", "not in", singles)])
    return _all_of(terms)


def _runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """``ids`` as runs of consecutive integers, ``(first, last)``, in order."""
    runs: list[tuple[int, int]] = []
    for row_id in sorted(set(ids)):
        if runs and runs[-1][1] == row_id - 1:
            runs[-1] = (runs[-1][0], row_id)
        else:
            runs.append((row_id, row_id))
    return runs


def _all_of(terms: Sequence[list[Any]]) -> list[Any]:
    """``terms`` ANDed, in Odoo's prefix notation."""
    return ["&"] * (len(terms) - 1) + [part for term in terms for part in term]


def _moved(known: Seen | None, stamp: str) -> bool:
    """Whether a listed row's ``write_date`` is not the one calsync last read it with."""
    return known is None or known.write_date != stamp


def _hash_of(row: Mapping[str, Any] | None) -> str | None:
    return row_hash(row) if row is not None else None


def _content_of(known: Seen | None) -> str | None:
    return known.hash if known is not None else None


def _week_start_matters(record: Mapping[str, Any]) -> bool:
    """Whether a recurrence's rows depend on the user's week start (weekly, every n weeks)."""
    return record.get("rrule_type") == "weekly" and int(record.get("interval") or 1) > 1


def _instant(value: date | datetime) -> datetime:
    """A start as an instant (dates at UTC midnight)."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
