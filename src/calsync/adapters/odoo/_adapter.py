"""``OdooCalendar``: one Odoo user's calendar behind calsync's adapter Protocol.

See the package docstring for the public behaviour; this module holds the
reading (snapshots of rows, attendees and recurrences, assembled into
:class:`~calsync.adapters.RemoteEvent` s), the pulls, ``fetch`` and ``apply``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import attrs

from calsync._errors import (
    AccessDeniedError,
    ConfigurationError,
    InvalidEventError,
    NotFoundError,
    ProviderError,
    RejectedError,
)
from calsync._model._event import Event
from calsync._model._projection import Projection, canonical
from calsync._model._recurrence import OccurrenceKey
from calsync._model._values import Person, Response
from calsync._model._window import Window
from calsync._protocol import (
    Create,
    Delete,
    Listing,
    Notification,
    RemoteEvent,
    Update,
    Write,
    WriteResult,
)
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._cursor import EPOCH, Cursor, ids_digest, row_hash, shift
from calsync.adapters.odoo._mapping import (
    ATTENDEE_FIELDS,
    EVENT_FIELDS,
    ODOO_PROJECTION,
    AttendeeRow,
    Lookups,
)
from calsync.adapters.odoo._partners import Alarms, Partners, Tags, Users
from calsync.adapters.odoo._recurrence import (
    RECURRENCE_FIELDS,
    rule_from_odoo,
    rule_key,
    rule_to_odoo,
    week_start,
)
from calsync.adapters.odoo._series import Row, assemble, local_date, plan_rows
from calsync.adapters.odoo._transport import (
    Json2Transport,
    OdooRPCTransport,
    OdooTransport,
    major_version,
    probe_version,
)

__all__ = ["OdooCalendar"]

logger = logging.getLogger("calsync.adapters.odoo")

UTC = timezone.utc
TransportChoice = Literal["auto", "jsonrpc", "json2"]
OnDelete = Literal["archive", "unlink"]
#: Every write: no invitation/update mails from Odoo (calsync's side effects are
#: previewed by the engine, and Outlook mails the attendees), datetimes in UTC.
WRITE_CONTEXT: dict[str, Any] = {"no_mail_to_attendees": True, "tz": "UTC"}
READ_CONTEXT: dict[str, Any] = {"tz": "UTC"}
ALL_CONTEXT: dict[str, Any] = {"tz": "UTC", "active_test": False}
_KEY_MODULE = "calsync"
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


def _xmlid(key: str) -> str:
    """The external id of a calsync key (``calsync.link_<key>``; other characters hex-coded)."""
    if key and all(ch.isalnum() or ch in "-_" for ch in key) and key.isascii():
        return f"{_KEY_MODULE}.link_{key}"
    return f"{_KEY_MODULE}.linkx_{key.encode().hex()}"


def _key_of(xmlid: object) -> str | None:
    if not isinstance(xmlid, str) or not xmlid.startswith(f"{_KEY_MODULE}.link"):
        return None
    name = xmlid[len(_KEY_MODULE) + 1 :]
    if name.startswith("link_"):
        return name[len("link_") :]
    if name.startswith("linkx_"):
        try:
            return bytes.fromhex(name[len("linkx_") :]).decode()
        except ValueError:
            return None
    return None


def _wd(row: Mapping[str, Any]) -> str:
    value = row.get("write_date")
    return value if isinstance(value, str) else ""


def _check_credentials(transport: str, password: str | None, api_key: str | None) -> None:
    if transport not in ("auto", "jsonrpc", "json2"):
        raise ConfigurationError(f"transport must be auto, jsonrpc or json2, not {transport!r}")
    if password is None and api_key is None:
        raise ConfigurationError("give a password or an API key")
    if transport == "json2" and api_key is None:
        raise ConfigurationError("JSON-2 needs an API key")


def _digests(rows: Iterable[tuple[int, int | None]]) -> dict[int, str]:
    """Per recurrence, a digest of its row ids (rows without a recurrence are left out)."""
    members: dict[int, list[int]] = defaultdict(list)
    for row_id, rid in rows:
        if rid is not None:
            members[rid].append(row_id)
    return {rid: ids_digest(ids) for rid, ids in members.items()}


def _in_window(event: Event, window: Window) -> bool:
    if event.recurrence is not None:
        return window.contains(event)
    start, end = event.span()
    if end > start:
        return end > window.start and start < window.end
    return window.start <= start < window.end


@attrs.define
class _Snapshot:
    """Rows, attendees and recurrences read from Odoo, by id."""

    rows: dict[int, dict[str, Any]] = attrs.Factory(dict)
    attendees: dict[int, AttendeeRow] = attrs.Factory(dict)
    recurrences: dict[int, dict[str, Any]] = attrs.Factory(dict)
    #: recurrences whose every row (archived ones too) is in ``rows``
    complete: set[int] = attrs.Factory(set)

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.rows[int(row["id"])] = dict(row)

    def members(self, rid: int) -> list[dict[str, Any]]:
        return [
            row for row in self.rows.values() if mapping.many2one(row.get("recurrence_id")) == rid
        ]


@attrs.define
class _Unit:
    """What one RemoteEvent is made of: a single row, or a recurrence.

    ``sid`` is the id the event is reported under (for a series: 0 until known,
    then the id remembered for the recurrence, see ``OdooCalendar._series_id``).
    """

    sid: int
    rid: int | None = None


@attrs.define
class _Job:
    """One write in progress."""

    index: int
    write: Write
    event: Event | None = None
    unit: _Unit | None = None
    #: row id -> the occurrence that row must hold (for attendee answers)
    targets: dict[int, Event] = attrs.Factory(dict)
    only_owner: bool = False
    #: addresses whose answers calsync changes on existing attendee rows (None: all)
    answers: set[str] | None = None
    error: ProviderError | None = None
    stored: RemoteEvent | None = None
    done: bool = False


class OdooCalendar:
    """The calendar of one Odoo user, synced through ``/jsonrpc`` (odoorpc) or JSON-2.

    :param url: the server, e.g. ``https://odoo.example.com``.
    :param db: the database.
    :param login: the login calsync signs in with.
    :param password: that login's password (``/jsonrpc`` only).
    :param api_key: an API key of that login (JSON-2, or as password on ``/jsonrpc``).
    :param transport: ``"auto"`` (JSON-2 when the server is 19 or later and an
        API key is given, else ``/jsonrpc``), ``"jsonrpc"``, ``"json2"``, or a
        ready :class:`OdooTransport`.
    :param name: the side's label in plans and reports.
    :param user_login: whose calendar (default: ``login``). Reading someone
        else's calendar as another user hides their private events (Odoo masks them).
    :param timeout: seconds per call (bulk writes need minutes; odoorpc's 120 s default is short).
    :param page_size: rows per ``search_read`` page.
    :param on_delete: ``"archive"`` (default: recoverable, keeps the attendees and
        the calsync key, so a later create with the same key revives the record)
        or ``"unlink"`` (Odoo's own module deletes for good).
    :param overlap: how far back each incremental poll looks behind its cursor.
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
    ) -> None:
        if isinstance(transport, str):
            _check_credentials(transport, password, api_key)
        if on_delete not in ("archive", "unlink"):
            raise ConfigurationError(f"on_delete must be archive or unlink, not {on_delete!r}")
        if page_size < 1:
            raise ConfigurationError("page_size must be at least 1")
        self._url = url.rstrip("/")
        self._db = db
        self._login = login
        self.__password = password
        self.__api_key = api_key
        self._choice = transport
        self._name = name
        self._user_login = user_login or login
        self._timeout = timeout
        self._page_size = page_size
        self._on_delete = on_delete
        self._overlap = overlap
        self._transport: OdooTransport | None = (
            transport if not isinstance(transport, str) else None
        )
        self._extra: Counter[str] = Counter()
        self.server_version: str | None = None
        self._uid = 0
        self._partner = 0
        self._owner_email: str | None = None
        self._week_start = week_start(None)
        self._connected = False
        self._partners = Partners(self._call)
        self._users = Users(self._call)
        self._alarms = Alarms(self._call)
        self._tags = Tags(self._call)
        # recurrence id -> (series id, anchor): how a series is reported (see _series)
        self._series: dict[int, tuple[int, OccurrenceKey | None]] = {}
        # rows and attendees calsync itself wrote, as read back (echo suppression)
        self._echo_rows: dict[int, tuple[str, str]] = {}
        self._echo_attendees: dict[int, str] = {}
        self._echo_digests: dict[int, str] = {}
        self._window: Window | None = None

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
    def projection(self) -> Projection:
        """What Odoo stores of an event (see :data:`ODOO_PROJECTION`)."""
        return ODOO_PROJECTION

    @property
    def calls(self) -> Counter[str]:
        """RPC round trips by ``model.method`` (login and version probe included)."""
        total: Counter[str] = Counter(self._extra)
        if self._transport is not None:
            total.update(self._transport.calls)
        return total

    @property
    def requests(self) -> int:
        """RPC round trips made so far."""
        return sum(self.calls.values())

    @property
    def uid(self) -> int:
        """The calendar user's id (0 before connecting)."""
        return self._uid

    @property
    def transport(self) -> OdooTransport | None:
        """The transport in use (None before connecting)."""
        return self._transport

    def notifications(self, write: Write) -> tuple[Notification, ...]:
        """None: every write carries ``no_mail_to_attendees``, so Odoo mails nobody."""
        return ()

    def __repr__(self) -> str:
        return (
            f"OdooCalendar(name={self._name!r}, url={self._url!r}, db={self._db!r}, "
            f"account={self._user_login!r})"
        )

    # -- connection ----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Pick the transport, log in, and read the calendar user (once)."""
        if self._connected:
            return
        transport = self._transport or await self._make_transport()
        self._transport = transport
        uid = await transport.connect()
        fields = ["partner_id", "email", "name", "lang", "tz"]
        if self._user_login != self._login:
            rows = await self._call(
                "res.users",
                "search_read",
                domain=[("login", "=", self._user_login)],
                fields=fields,
                limit=1,
            )
            if not rows:
                raise ConfigurationError(f"Odoo has no active user {self._user_login!r}")
        else:
            rows = await self._call("res.users", "read", [uid], fields=fields)
        user = rows[0]
        self._uid = int(user["id"])
        self._partner = mapping.many2one(user.get("partner_id")) or 0
        self._owner_email = mapping.normalize_address(user.get("email"))
        self._week_start = week_start(user.get("lang") or None)
        owner = (
            Person(self._owner_email, str(user.get("name") or "")) if self._owner_email else None
        )
        self._users.remember(self._uid, owner)
        self._partners.remember(self._owner_email, self._partner)
        self._connected = True

    async def _make_transport(self) -> OdooTransport:
        choice = self._choice
        version: str | None = None
        if choice == "auto":
            self._extra["version_info"] += 1
            version = await probe_version(
                self._url, timeout=min(self._timeout, 60), side=self._name
            )
            self.server_version = version
            choice = "json2" if self.__api_key and major_version(version) >= 19 else "jsonrpc"
        if choice == "json2":
            assert self.__api_key is not None
            return Json2Transport(
                self._url, self._db, self.__api_key, timeout=self._timeout, side=self._name
            )
        secret = self.__password if self.__password is not None else self.__api_key
        assert secret is not None
        return OdooRPCTransport(
            self._url,
            self._db,
            self._login,
            secret,
            timeout=self._timeout,
            version=version,
            side=self._name,
        )

    async def _call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        assert self._transport is not None
        return await self._transport.call(model, method, *args, **kwargs)

    async def aclose(self) -> None:
        """Release the transport's connections."""
        if self._transport is not None:
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
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        seen: set[int] = set()
        offset = 0
        while True:
            batch = await self._call(
                model,
                "search_read",
                domain=domain,
                fields=list(fields),
                offset=offset,
                limit=self._page_size,
                order=order,
                context=dict(context),
            )
            for row in batch:
                if int(row["id"]) not in seen:
                    seen.add(int(row["id"]))
                    rows.append(row)
            if len(batch) < self._page_size:
                return rows
            offset += self._page_size

    async def _read_rows(self, snapshot: _Snapshot, ids: Iterable[int]) -> None:
        wanted = sorted(set(ids) - set(snapshot.rows))
        if wanted:
            rows = await self._call(
                "calendar.event", "read", wanted, fields=list(EVENT_FIELDS), context=ALL_CONTEXT
            )
            snapshot.add_rows(rows)

    async def _complete(self, snapshot: _Snapshot, recurrences: Iterable[int]) -> None:
        """Read what building events needs: whole series, attendees, users, alarms, tags."""
        needed = sorted(set(recurrences) - snapshot.complete)
        if needed:
            records = await self._call(
                "calendar.recurrence",
                "read",
                needed,
                fields=list(RECURRENCE_FIELDS),
                context=READ_CONTEXT,
            )
            for record in records:
                snapshot.recurrences[int(record["id"])] = record
            rows = await self._search_read(
                "calendar.event",
                [("recurrence_id", "in", needed)],
                EVENT_FIELDS,
                order="start asc, id asc",
                context=ALL_CONTEXT,
            )
            snapshot.add_rows(rows)
            snapshot.complete.update(needed)
        await self._read_attendees(snapshot)
        rows = list(snapshot.rows.values())
        await self._users.ensure(
            uid for row in rows if (uid := mapping.many2one(row.get("user_id"))) is not None
        )
        alarm_ids = {a for row in rows for a in row.get("alarm_ids") or ()}
        if alarm_ids:
            await self._alarms.ensure(alarm_ids)
        tag_ids = {t for row in rows for t in row.get("categ_ids") or ()}
        if tag_ids:
            await self._tags.ensure(tag_ids)

    async def _read_attendees(self, snapshot: _Snapshot, *, again: bool = False) -> None:
        ids = {a for row in snapshot.rows.values() for a in row.get("attendee_ids") or ()}
        wanted = sorted(ids if again else ids - set(snapshot.attendees))
        if not wanted:
            return
        rows = await self._call(
            "calendar.attendee", "read", wanted, fields=list(ATTENDEE_FIELDS), context=READ_CONTEXT
        )
        for row in rows:
            attendee = AttendeeRow.from_wire(row)
            snapshot.attendees[attendee.id] = attendee
            self._partners.remember(attendee.email, attendee.partner_id)

    def _lookups(self, snapshot: _Snapshot) -> Lookups:
        return Lookups(
            attendees=snapshot.attendees,
            users=self._users.people,
            reminders=self._alarms.reminders,
            tags=self._tags.names,
            owner_partner=self._partner,
        )

    def _version(
        self,
        event: Event,
        rows: Sequence[Mapping[str, Any]],
        snapshot: _Snapshot,
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
            sorted((int(row["id"]), _wd(row), bool(row.get("active"))) for row in rows),
            attendees,
            *parts,
        ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()

    def _read_only(self, row: Mapping[str, Any]) -> bool:
        organizer = mapping.many2one(row.get("user_id"))
        return organizer is not None and organizer != self._uid

    def _single(self, row: Mapping[str, Any], snapshot: _Snapshot, key: str | None) -> RemoteEvent:
        event = mapping.row_event(row, self._lookups(snapshot))
        archived = not row.get("active")
        read_only = self._read_only(row)
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
        snapshot: _Snapshot,
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
        rows = [
            Row(
                int(row["id"]),
                mapping.row_event(row, lookups),
                active=bool(row.get("active")),
                follows=bool(row.get("follow_recurrence")),
            )
            for row in members
            if not mapping.masked(row)
        ]
        if not rows:
            return None
        tz = str(record.get("event_tz") or "UTC")
        first = min(rows, key=lambda row: _instant(row.start))
        rule = rule_from_odoo(
            record, first=local_date(first.start, tz), weeks_start=self._week_start
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
        read_only = self._read_only(template)
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

    def _units(self, snapshot: _Snapshot, rows: Iterable[Mapping[str, Any]]) -> list[_Unit]:
        units: dict[tuple[int, int | None], _Unit] = {}
        for row in rows:
            rid = mapping.many2one(row.get("recurrence_id"))
            if rid is None:
                units[(int(row["id"]), None)] = _Unit(int(row["id"]))
            else:
                units.setdefault((0, rid), _Unit(0, rid))
        return list(units.values())

    def _build(
        self, snapshot: _Snapshot, unit: _Unit, key: str | None = None
    ) -> RemoteEvent | None:
        if unit.rid is not None:
            return self._series_event(unit.rid, snapshot, sid=unit.sid or None, key=key)
        row = snapshot.rows.get(unit.sid)
        if row is None or mapping.masked(row):
            return None
        return self._single(row, snapshot, key)

    # -- pull ----------------------------------------------------------------------------------

    async def pull(self, cursor: str | None, window: Window) -> Listing:
        """Every event of the window (``cursor`` None or unknown), else the changes since it."""
        await self.connect()
        state = Cursor.parse(cursor, window)
        if state is not None:
            self._series.update(
                {rid: value for rid, value in state.series.items() if rid not in self._series}
            )
            return await self._incremental(state, window)
        return await self._full(window)

    def _window_domain(self, window: Window) -> list[Any]:
        return [
            ("start", "<", mapping.format_datetime(window.end + _DAY)),
            ("stop", ">", mapping.format_datetime(window.start - _DAY)),
        ]

    async def _mark(self) -> str:
        rows = await self._call(
            "calendar.event",
            "search_read",
            domain=self._user_domain(),
            fields=["write_date"],
            limit=1,
            order="write_date desc, id desc",
            context=ALL_CONTEXT,
        )
        stamps = [_wd(row) for row in rows if _wd(row)]
        return max(stamps) if stamps else EPOCH

    async def _full(self, window: Window) -> Listing:
        since = await self._mark()
        rows = await self._search_read(
            "calendar.event",
            self._user_domain() + self._window_domain(window),
            EVENT_FIELDS,
            order="start asc, id asc",
            context=ALL_CONTEXT,
        )
        snapshot = _Snapshot()
        snapshot.add_rows(rows)
        units = self._units(snapshot, rows)
        await self._complete(snapshot, [u.rid for u in units if u.rid is not None])
        items = []
        for unit in units:
            item = self._build(snapshot, unit)
            if item is not None and _in_window(item.event, window):
                items.append(item)
        answers = {a.id: f"{a.write_date}|{a.state}" for a in snapshot.attendees.values()}
        digests = _digests(
            (int(row["id"]), mapping.many2one(row.get("recurrence_id")))
            for row in rows
            if row.get("active")
        )
        self._window = window
        cursor = self._next_cursor(window, since, snapshot.rows.values(), answers, digests)
        return Listing(items=items, full=True, cursor=cursor.dump())

    async def _incremental(self, state: Cursor, window: Window) -> Listing:
        low = shift(state.since, -self._overlap)
        rows = await self._search_read(
            "calendar.event",
            [*self._user_domain(), ("write_date", ">", low)],
            EVENT_FIELDS,
            order="write_date asc, id asc",
            context=ALL_CONTEXT,
        )
        attendees = await self._search_read(
            "calendar.attendee",
            [
                ("write_date", ">", low),
                "|",
                ("event_id.user_id", "=", self._uid),
                ("event_id.partner_ids", "in", [self._partner]),
            ],
            ("event_id", "state", "write_date"),
            order="write_date asc, id asc",
        )
        present_rows = await self._search_read(
            "calendar.event",
            self._user_domain() + self._window_domain(window),
            ("recurrence_id",),
            order="id asc",
        )
        self._window = window
        seen = {**state.seen, **{rid: digest for rid, (digest, _) in self._echo_rows.items()}}
        answered_before = {**state.attendees, **self._echo_attendees}
        present_ids = {
            int(row["id"]): mapping.many2one(row.get("recurrence_id")) for row in present_rows
        }
        digests = _digests(present_ids.items())
        known_digests = {**state.rows, **self._echo_digests}
        changed = [
            row
            for row in rows
            if not mapping.masked(row) and seen.get(int(row["id"])) != row_hash(row)
        ]
        answers = {int(row["id"]): f"{_wd(row)}|{row.get('state')}" for row in attendees}
        event_of = {int(row["id"]): mapping.many2one(row.get("event_id")) for row in attendees}
        answered = {
            event_id
            for aid, value in answers.items()
            if answered_before.get(aid) != value and (event_id := event_of[aid]) in present_ids
        }
        singles = {int(row["id"]) for row in changed if not row.get("recurrence_id")}
        series = {rid for row in changed if (rid := mapping.many2one(row.get("recurrence_id")))}
        for event_id in answered:
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
        snapshot = _Snapshot()
        snapshot.add_rows(changed)
        await self._read_rows(snapshot, singles)
        await self._complete(snapshot, series)
        units = [
            *(_Unit(sid) for sid in sorted(singles)),
            *(_Unit(0, rid) for rid in sorted(series)),
        ]
        items = [item for unit in units if (item := self._build(snapshot, unit)) is not None]
        present = {str(event_id) for event_id, rid in present_ids.items() if rid is None} | {
            str(self._series[rid][0]) for rid in digests if rid in self._series
        }
        stamps = [state.since, *(_wd(row) for row in rows), *(_wd(row) for row in attendees)]
        since = max(stamp for stamp in stamps if stamp)
        read = {int(row["id"]): row for row in rows}
        read.update(snapshot.rows)
        cursor = self._next_cursor(window, since, read.values(), answers, digests)
        return Listing(items=items, present=frozenset(present), cursor=cursor.dump())

    def _next_cursor(
        self,
        window: Window,
        since: str,
        rows: Iterable[Mapping[str, Any]],
        answers: Mapping[int, str],
        digests: Mapping[int, str],
    ) -> Cursor:
        """The cursor after a pull; the echo of calsync's own writes is folded in and reset."""
        low = shift(since, -self._overlap)
        seen = {int(row["id"]): row_hash(row) for row in rows if _wd(row) >= low}
        for rid, (digest, stamp) in self._echo_rows.items():
            if stamp >= low:
                seen.setdefault(rid, digest)
        kept = {aid: value for aid, value in answers.items() if value.split("|", 1)[0] >= low}
        for aid, value in self._echo_attendees.items():
            if value.split("|", 1)[0] >= low:
                kept.setdefault(aid, value)
        self._echo_rows.clear()
        self._echo_attendees.clear()
        self._echo_digests.clear()
        return Cursor(
            window=Cursor.window_key(window),
            since=since,
            seen=seen,
            attendees=kept,
            series={rid: value for rid, value in self._series.items() if rid in digests},
            rows=dict(digests),
        )

    # -- fetch ---------------------------------------------------------------------------------

    async def fetch(self, ids: Sequence[str]) -> Mapping[str, RemoteEvent | None]:
        """The current state of these events: archived ones archived, unlinked ones None."""
        await self.connect()
        numeric = {i: int(i) for i in ids if i.isdigit()}
        snapshot = _Snapshot()
        await self._read_rows(snapshot, numeric.values())
        by_sid = {sid: rid for rid, (sid, _anchor) in self._series.items()}
        units: dict[str, _Unit] = {}
        for text, number in numeric.items():
            remembered = by_sid.get(number)
            row = snapshot.rows.get(number)
            rid = mapping.many2one(row.get("recurrence_id")) if row else None
            if remembered is not None and (rid is None or rid == remembered):
                units[text] = _Unit(number, remembered)
            elif row is not None:
                units[text] = _Unit(number, rid)
        await self._complete(snapshot, {u.rid for u in units.values() if u.rid is not None})
        keys = await self._keys([u.sid for u in units.values() if u.sid in snapshot.rows])
        result: dict[str, RemoteEvent | None] = {}
        for text in ids:
            unit = units.get(text)
            if unit is None:
                result[text] = None
                continue
            if unit.rid is not None and unit.rid not in snapshot.recurrences:
                row = snapshot.rows.get(unit.sid)
                unit = _Unit(unit.sid) if row is not None and not row.get("recurrence_id") else unit
                if unit.rid is not None:
                    result[text] = None
                    continue
            template = self._template_row(snapshot, unit)
            if template is None:
                result[text] = None
                continue
            if mapping.masked(template):
                raise AccessDeniedError(
                    f"event {text} is private to another user: Odoo hides it from "
                    f"{self._login!r}; sign in as {self._user_login!r} to sync it",
                    code="odoo.private",
                    side=self._name,
                    event=text,
                )
            if not mapping.user_filter(template, self._uid, self._partner):
                result[text] = None
                continue
            result[text] = self._build(snapshot, unit, keys.get(unit.sid))
        return result

    @staticmethod
    def _template_row(snapshot: _Snapshot, unit: _Unit) -> dict[str, Any] | None:
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
                key = _key_of(name)
                if key is not None:
                    keys[int(row["id"])] = key
                    break
        return keys

    # -- apply ---------------------------------------------------------------------------------

    async def apply(self, writes: Sequence[Write]) -> Sequence[WriteResult]:
        """Perform the writes: creates in one ``load``, updates as minimal writes, deletes."""
        jobs = [_Job(index, write) for index, write in enumerate(writes)]
        if not jobs:
            return []
        try:
            await self.connect()
            await _Apply(self, jobs).run()
        except ProviderError as error:
            for job in jobs:
                if not job.done and job.error is None:
                    job.error = error
        return [self._result(job) for job in jobs]

    def _result(self, job: _Job) -> WriteResult:
        if job.error is not None:
            error = copy.copy(job.error)  # a batch-wide error is shared: one copy per write
            if error.event is None:
                error.event = getattr(job.write, "key", None)
            if error.side is None:
                error.side = self._name
            return WriteResult(job.write, error=error)
        return WriteResult(job.write, stored=job.stored)


def _instant(value: date | datetime) -> datetime:
    """A start as an instant (dates at UTC midnight)."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


# -- apply -------------------------------------------------------------------------------------


def _load_columns(series: bool) -> list[str]:
    columns = [
        "id",
        "name",
        "description",
        "location",
        "videocall_location",
        "privacy",
        "show_as",
        "allday",
        "start",
        "stop",
        "start_date",
        "stop_date",
        "active",
        "user_id/.id",
        "partner_ids/.id",
        "alarm_ids/.id",
        "categ_ids/.id",
    ]
    if series:
        columns += ["recurrency", "event_tz"]
    return columns


class _Apply:
    """One ``apply``: references, deletes, creates, updates, series rows, answers, read-back."""

    def __init__(self, adapter: OdooCalendar, jobs: list[_Job]) -> None:
        self.a = adapter
        self.jobs = jobs
        self.people: dict[str, int] = {}
        self.alarms: dict[int, int] = {}
        self.tags: dict[str, int] = {}
        self.snapshot = _Snapshot()
        #: series to reconcile: recurrence id -> job
        self.series: dict[int, _Job] = {}
        #: attendee rows that existed before this apply wrote anything
        self.existing_attendees: set[int] = set()

    async def run(self) -> None:
        creates = [job for job in self.jobs if isinstance(job.write, Create)]
        updates = [job for job in self.jobs if isinstance(job.write, Update)]
        deletes = [job for job in self.jobs if isinstance(job.write, Delete)]
        for job in creates + updates:
            assert isinstance(job.write, (Create, Update))
            job.event = ODOO_PROJECTION(job.write.event)
            if job.event.recurrence is not None and not self._check_rule(job):
                continue
        await self._references([job for job in creates + updates if job.error is None])
        if deletes:
            await self._deletes(deletes)
        await self._creates([job for job in creates if job.error is None])
        await self._updates([job for job in updates if job.error is None])
        await self._reconcile()
        await self._finish()

    def _check_rule(self, job: _Job) -> bool:
        event = job.event
        assert event is not None
        assert event.recurrence is not None
        try:
            rule_to_odoo(event.recurrence.rule, local_date(event.start, event.timezone))
        except InvalidEventError as error:
            job.error = RejectedError(
                f"Odoo cannot hold this series: {error}", code="unsupported-recurrence"
            )
            return False
        return True

    # -- references ------------------------------------------------------------------------

    async def _references(self, jobs: list[_Job]) -> None:
        people: dict[str, str] = {}
        minutes: set[int] = set()
        names: set[str] = set()
        for job in jobs:
            if isinstance(job.write, Update) and job.write.current.read_only:
                continue
            assert job.event is not None
            for event in _all_events(job.event):
                for attendee in event.attendees:
                    if people.get(attendee.email) in (None, ""):
                        people[attendee.email] = attendee.name
                minutes.update(event.reminders)
                names.update(event.categories)
        if people:
            self.people = await self.a._partners.resolve(people)
        if minutes:
            self.alarms = await self.a._alarms.ids_for(minutes)
        if names:
            self.tags = await self.a._tags.ids_for(names)

    # -- values ----------------------------------------------------------------------------

    def _values(
        self, event: Event, groups: Iterable[str], row: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Odoo values of these groups; relational ones as commands relative to ``row``."""
        wanted = list(groups)
        values = mapping.scalar_values(event, wanted)
        if "when" in wanted:
            values.update(mapping.time_values(event))
        if "attendees" in wanted:
            commands = self._partner_commands(event, row)
            if commands:
                values["partner_ids"] = commands
        if "reminders" in wanted:
            values["alarm_ids"] = self._alarm_commands(event, row)
        if "categories" in wanted:
            values["categ_ids"] = [(6, 0, self._tag_ids(event))]
        return values

    def _partner_ids(self, event: Event) -> list[int]:
        return sorted({self.people[a.email] for a in event.attendees if a.email in self.people})

    def _partner_commands(self, event: Event, row: Mapping[str, Any] | None) -> list[Any]:
        if row is None:
            return [(6, 0, self._partner_ids(event))]
        wanted = {a.email for a in event.attendees}
        current: dict[str, int] = {}
        for aid in row.get("attendee_ids") or ():
            attendee = self.snapshot.attendees.get(aid)
            if attendee is not None and attendee.email is not None:
                current.setdefault(attendee.email, attendee.partner_id)
        partners = set(row.get("partner_ids") or ())
        commands: list[Any] = [
            (3, partner) for email, partner in sorted(current.items()) if email not in wanted
        ]
        commands += [
            (4, self.people[email])
            for email in sorted(wanted - set(current))
            if email in self.people and self.people[email] not in partners
        ]
        return commands

    def _alarm_commands(self, event: Event, row: Mapping[str, Any] | None) -> list[Any]:
        wanted = {self.alarms[m] for m in event.reminders if m in self.alarms}
        if row is None:
            return [(6, 0, sorted(wanted))]
        current = set(row.get("alarm_ids") or ())
        notifications = {a for a in current if a in self.a._alarms.reminders}
        return [(3, a) for a in sorted(notifications - wanted)] + [
            (4, a) for a in sorted(wanted - current)
        ]

    def _tag_ids(self, event: Event) -> list[int]:
        return sorted({self.tags[name] for name in event.categories if name in self.tags})

    # -- deletes ---------------------------------------------------------------------------

    async def _deletes(self, jobs: list[_Job]) -> None:
        by_sid = {sid: rid for rid, (sid, _anchor) in self.a._series.items()}
        numbers = [int(job.write.current.id) for job in jobs if job.write.current.id.isdigit()]  # type: ignore[union-attr]
        snapshot = _Snapshot()
        await self.a._read_rows(snapshot, numbers)
        recurrences: set[int] = set()
        for number in numbers:
            row = snapshot.rows.get(number)
            rid = mapping.many2one(row.get("recurrence_id")) if row else by_sid.get(number)
            if rid is not None:
                recurrences.add(rid)
        if recurrences:
            rows = await self.a._search_read(
                "calendar.event",
                [("recurrence_id", "in", sorted(recurrences))],
                ("active", "recurrence_id"),
                order="id asc",
                context=ALL_CONTEXT,
            )
            snapshot.add_rows(rows)
        doomed: set[int] = set()
        series_bases: list[int] = []
        for number in numbers:
            row = snapshot.rows.get(number)
            rid = mapping.many2one(row.get("recurrence_id")) if row else by_sid.get(number)
            members = [int(r["id"]) for r in snapshot.members(rid)] if rid else []
            if self.a._on_delete == "archive":
                doomed.update(m for m in members if snapshot.rows[m].get("active"))
                if row is not None and row.get("active"):
                    doomed.add(number)
            elif rid is not None and members:
                series_bases.append(members[0])
            elif row is not None:
                doomed.add(number)
        if self.a._on_delete == "archive" and doomed:
            await self.a._call(
                "calendar.event",
                "write",
                sorted(doomed),
                vals={"active": False},
                context=WRITE_CONTEXT,
            )
        elif doomed:
            await self.a._call("calendar.event", "unlink", sorted(doomed), context=WRITE_CONTEXT)
        for base in series_bases:
            await self.a._call(
                "calendar.event",
                "action_mass_deletion",
                [base],
                recurrence_update_setting="all_events",
                context=WRITE_CONTEXT,
            )
        for job in jobs:
            job.done = True

    # -- creates ---------------------------------------------------------------------------

    def _load_row(self, job: _Job, columns: list[str]) -> list[str]:
        assert isinstance(job.write, Create)
        event = job.event
        assert event is not None
        values: dict[str, Any] = {
            "id": _xmlid(job.write.key),
            **mapping.scalar_values(event),
            **mapping.time_values(event, for_load=True),
            "active": True,
            "user_id/.id": self.a._uid,
            "partner_ids/.id": self._partner_ids(event),
            "alarm_ids/.id": sorted({self.alarms[m] for m in event.reminders if m in self.alarms}),
            "categ_ids/.id": self._tag_ids(event),
        }
        if event.recurrence is not None:
            rule = rule_to_odoo(event.recurrence.rule, local_date(event.start, event.timezone))
            values.update(rule, recurrency=True, event_tz=event.timezone or False)
        return [mapping.load_cell(values.get(column)) for column in columns]

    async def _creates(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[str, ...], list[_Job]] = defaultdict(list)
        for job in jobs:
            assert job.event is not None
            names = _load_columns(job.event.recurrence is not None)
            if job.event.recurrence is not None:
                rule = rule_to_odoo(
                    job.event.recurrence.rule, local_date(job.event.start, job.event.timezone)
                )
                names += sorted(rule)
            groups[tuple(names)].append(job)
        for columns, members in groups.items():
            rows = [(job, self._load_row(job, list(columns))) for job in members]
            await self._load(list(columns), rows)
        created_series = [
            job
            for job in jobs
            if job.error is None and job.event is not None and job.event.recurrence
        ]
        for job in jobs:
            if job.error is None and job.unit is not None and job.unit.rid is None:
                assert job.event is not None
                job.targets = {job.unit.sid: job.event}
        if created_series:
            await self._locate_series(created_series)

    async def _load(self, columns: list[str], rows: list[tuple[_Job, list[str]]]) -> None:
        """One ``load`` per batch; a rejected batch is split in halves to find the bad rows."""
        result = await self.a._call(
            "calendar.event",
            "load",
            fields=columns,
            data=[cells for _job, cells in rows],
            context=WRITE_CONTEXT,
        )
        ids = result.get("ids") if isinstance(result, dict) else None
        if ids:
            for (job, _cells), event_id in zip(rows, ids, strict=True):
                job.unit = _Unit(int(event_id))
            return
        messages = [m for m in (result or {}).get("messages") or () if m.get("type") == "error"]
        if len(rows) == 1:
            text = "; ".join(dict.fromkeys(str(m.get("message")) for m in messages))
            job = rows[0][0]
            job.error = RejectedError(text or "Odoo refused the event", code=_load_code(text))
            return
        middle = len(rows) // 2
        await self._load(columns, rows[:middle])
        await self._load(columns, rows[middle:])

    async def _locate_series(self, jobs: list[_Job]) -> None:
        """Find the recurrence of each created base row.

        Odoo may have archived and detached the base (its expansion runs from the
        UTC month: odoo.md §5.5b); the recurrence is then the one made in the same
        transaction, by the same organiser, under the same name.
        """
        bases = {job.unit.sid: job for job in jobs if job.unit is not None}
        await self.a._read_rows(self.snapshot, bases)
        found = {
            sid: rid
            for sid in bases
            if (rid := mapping.many2one(self.snapshot.rows.get(sid, {}).get("recurrence_id")))
        }
        for sid in sorted(set(bases) - set(found)):
            rid = await self._detached_series(sid, set(found.values()))
            if rid is not None:
                found[sid] = rid
        for sid, job in bases.items():
            rid = found.get(sid)
            if rid is None:
                job.error = RejectedError("Odoo made no series of this event", code="no-series")
                continue
            job.unit = _Unit(sid, rid)
            self._track_series(rid, sid, job)

    async def _detached_series(self, sid: int, taken: set[int]) -> int | None:
        [row] = await self.a._call(
            "calendar.event",
            "read",
            [sid],
            fields=["name", "start", "create_date"],
            context=ALL_CONTEXT,
        )
        stamp = str(row.get("create_date") or "")
        if not stamp:
            return None
        siblings = await self.a._call(
            "calendar.event",
            "search_read",
            domain=[
                ("recurrence_id", "!=", False),
                ("create_date", ">=", stamp),
                ("create_date", "<", shift(stamp, _SECOND)),
                ("user_id", "=", self.a._uid),
                ("name", "=", row.get("name")),
            ],
            fields=["recurrence_id", "start"],
            order="start asc, id asc",
            context=ALL_CONTEXT,
        )
        starts: dict[int, str] = {}
        for sibling in siblings:
            rid = mapping.many2one(sibling.get("recurrence_id"))
            if rid is not None and rid not in taken:
                starts.setdefault(rid, str(sibling.get("start")))
        if not starts:
            return None
        base = mapping.parse_datetime(row.get("start"))
        return min(starts, key=lambda rid: abs(mapping.parse_datetime(starts[rid]) - base))

    def _track_series(self, rid: int, sid: int, job: _Job) -> None:
        assert job.event is not None
        self.a._series[rid] = (sid, job.event.start)
        self.series[rid] = job

    # -- updates ---------------------------------------------------------------------------

    async def _updates(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        by_sid = {sid: rid for rid, (sid, _anchor) in self.a._series.items()}
        numbers = {
            job.index: int(job.write.current.id)  # type: ignore[union-attr]
            for job in jobs
            if job.write.current.id.isdigit()  # type: ignore[union-attr]
        }
        await self.a._read_rows(self.snapshot, numbers.values())
        recurrences: set[int] = set()
        for job in jobs:
            number = numbers.get(job.index)
            row = self.snapshot.rows.get(number) if number is not None else None
            remembered = by_sid.get(number) if number is not None else None
            rid = mapping.many2one(row.get("recurrence_id")) if row else None
            if remembered is not None and (rid is None or rid == remembered):
                rid = remembered
            if number is None or (row is None and rid is None):
                job.error = NotFoundError("no such event", code="odoo.exceptions.MissingError")
                continue
            job.unit = _Unit(number, rid)
            if rid is not None:
                recurrences.add(rid)
        await self.a._complete(self.snapshot, recurrences)
        self.existing_attendees = set(self.snapshot.attendees)
        for job in jobs:
            if job.error is None and job.unit is not None:
                assert isinstance(job.write, Update)
                assert job.event is not None
                job.answers = _changed_answers(job.write.current.event, job.event)
                if job.unit.rid is not None and job.unit.rid not in self.snapshot.recurrences:
                    job.error = NotFoundError("no such event", code="odoo.exceptions.MissingError")
                    continue
                await self._update(job)

    async def _update(self, job: _Job) -> None:
        write = job.write
        assert isinstance(write, Update)
        unit = job.unit
        assert unit is not None
        wanted = job.event
        assert wanted is not None
        if write.current.read_only:
            job.only_owner = True
            rows = (
                self.snapshot.members(unit.rid)
                if unit.rid is not None
                else [self.snapshot.rows[unit.sid]]
            )
            job.targets = {int(row["id"]): wanted for row in rows if row.get("active")}
            return
        row = self.snapshot.rows.get(unit.sid)
        if unit.rid is None:
            assert row is not None
            if wanted.recurrence is not None:
                await self._make_series(job, row)
                return
            groups = mapping.changed_groups(write.current.event, wanted)
            values = self._values(wanted, groups, row)
            if not row.get("active"):
                values["active"] = True
            if values:
                await self._write([unit.sid], values)
            job.targets = {unit.sid: wanted}
            return
        if wanted.recurrence is None:
            await self._break_series(job)
            return
        await self._update_series(job)

    async def _write(self, ids: Sequence[int], values: Mapping[str, Any]) -> None:
        await self.a._call(
            "calendar.event",
            "write",
            sorted(ids),
            vals={**values, "recurrence_update": "self_only"},
            context=WRITE_CONTEXT,
        )

    async def _make_series(self, job: _Job, row: Mapping[str, Any]) -> None:
        wanted = job.event
        assert wanted is not None
        assert wanted.recurrence is not None
        assert job.unit is not None
        rule = rule_to_odoo(wanted.recurrence.rule, local_date(wanted.start, wanted.timezone))
        first = attrs.evolve(wanted, recurrence=None)
        values = {
            **self._values(first, mapping.GROUPS, row),
            **mapping.time_values(first, for_load=True),
            **rule,
            "recurrency": True,
            "event_tz": wanted.timezone or False,
            "active": True,
        }
        await self.a._call(
            "calendar.event", "write", [job.unit.sid], vals=values, context=WRITE_CONTEXT
        )
        await self._relocate(job, job.unit.sid)

    async def _relocate(self, job: _Job, row_id: int) -> None:
        """After Odoo (re)built a series around ``row_id``, find the new recurrence.

        The series keeps the id it is reported under (``job.unit.sid``).
        """
        assert job.unit is not None
        fresh = await self.a._call(
            "calendar.event", "read", [row_id], fields=["recurrence_id"], context=ALL_CONTEXT
        )
        rid = mapping.many2one(fresh[0].get("recurrence_id")) if fresh else None
        if rid is None:
            job.error = RejectedError("Odoo made no series of this event", code="no-series")
            return
        job.unit = _Unit(job.unit.sid, rid)
        self._track_series(rid, job.unit.sid, job)

    async def _break_series(self, job: _Job) -> None:
        assert job.unit is not None
        assert job.unit.rid is not None
        sid = job.unit.sid
        wanted = job.event
        assert wanted is not None
        row = self.snapshot.rows.get(sid)
        if row is None or mapping.many2one(row.get("recurrence_id")) != job.unit.rid:
            members = self.snapshot.members(job.unit.rid)
            sid = int(members[0]["id"])
        if not self.snapshot.rows[sid].get("active"):
            await self._write([sid], {"active": True})
        await self.a._call(
            "calendar.event",
            "write",
            [sid],
            vals={"recurrency": False, "recurrence_update": "all_events"},
            context=WRITE_CONTEXT,
        )
        self.a._series.pop(job.unit.rid, None)
        fresh = _Snapshot()
        await self.a._read_rows(fresh, [sid])
        await self.a._complete(fresh, ())
        self.snapshot.rows[sid] = fresh.rows[sid]
        self.snapshot.attendees.update(fresh.attendees)
        current = mapping.row_event(fresh.rows[sid], self.a._lookups(self.snapshot))
        values = self._values(wanted, mapping.changed_groups(current, wanted), fresh.rows[sid])
        if values:
            await self._write([sid], values)
        job.unit = _Unit(sid)
        job.targets = {sid: wanted}

    async def _update_series(self, job: _Job) -> None:
        assert job.unit is not None
        rid = job.unit.rid
        assert rid is not None
        wanted = job.event
        assert wanted is not None
        assert wanted.recurrence is not None
        record = self.snapshot.recurrences[rid]
        current = self.a._series_event(rid, self.snapshot, sid=job.unit.sid)
        rule = rule_to_odoo(wanted.recurrence.rule, local_date(wanted.start, wanted.timezone))
        same_rule = rule_key(record) == rule_key(rule)
        same_zone = wanted.all_day or (record.get("event_tz") or "UTC") == wanted.timezone
        same_time = (
            current is not None
            and current.event.start == wanted.start
            and current.event.duration == wanted.duration
        )
        if same_rule and same_zone and same_time:
            self._track_series(rid, job.unit.sid, job)
            return
        await self._rebuild(job, rule)

    async def _rebuild(self, job: _Job, rule: Mapping[str, Any]) -> None:
        """A new rule or time: Odoo rebuilds the series around the series' own row.

        That row is made the recurrence's base first (it may have been archived
        as a cancelled occurrence), so that it keeps the series' identity.
        """
        assert job.unit is not None
        rid = job.unit.rid
        assert rid is not None
        wanted = job.event
        assert wanted is not None
        sid = job.unit.sid
        row = self.snapshot.rows.get(sid)
        record = self.snapshot.recurrences[rid]
        base = mapping.many2one(record.get("base_event_id"))
        if row is not None and mapping.many2one(row.get("recurrence_id")) == rid:
            target = sid
            if not row.get("active"):
                await self._write([sid], {"active": True})
            if base != sid:
                await self.a._call(
                    "calendar.recurrence",
                    "write",
                    [rid],
                    vals={"base_event_id": sid},
                    context=WRITE_CONTEXT,
                )
        else:
            active = [int(r["id"]) for r in self.snapshot.members(rid) if r.get("active")]
            if not active:
                job.error = RejectedError("the series has no occurrence left to edit")
                return
            target = base if base in active else active[0]
        first = attrs.evolve(wanted, recurrence=None)
        values = {
            **mapping.time_values(first, for_load=True),
            **rule,
            "event_tz": wanted.timezone or False,
            "recurrence_update": "all_events",
        }
        await self.a._call("calendar.event", "write", [target], vals=values, context=WRITE_CONTEXT)
        self.a._series.pop(rid, None)
        await self._relocate(job, target)

    # -- series rows -----------------------------------------------------------------------

    async def _reconcile(self) -> None:
        """Make every written series' rows hold its wanted occurrences."""
        live = {rid: job for rid, job in self.series.items() if job.error is None}
        if not live:
            return
        snapshot = _Snapshot()
        extra = [job.unit.sid for job in live.values() if job.unit is not None]
        await self.a._read_rows(snapshot, extra)
        await self.a._complete(snapshot, live)
        self.snapshot.attendees.update(snapshot.attendees)
        lookups = self.a._lookups(snapshot)
        groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
        cancel: list[int] = []
        for rid, job in live.items():
            for row_id, values in self._series_writes(rid, job, snapshot, lookups, cancel):
                text = json.dumps(values, sort_keys=True, default=str)
                groups.setdefault(text, (values, []))[1].append(row_id)
        for values, ids in groups.values():
            await self._write(ids, values)
        if cancel:
            await self._write(cancel, {"active": False})

    def _series_writes(
        self, rid: int, job: _Job, snapshot: _Snapshot, lookups: Lookups, cancel: list[int]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The row writes that make one series hold its wanted occurrences."""
        assert job.event is not None
        assert job.unit is not None
        members = snapshot.members(rid)
        linked = {int(row["id"]) for row in members}
        candidates = list(members)
        own = snapshot.rows.get(job.unit.sid)
        if own is not None and job.unit.sid not in linked:
            candidates.append(own)  # Odoo detached the base (§5.5b): take it back
        rows = [
            Row(
                int(row["id"]),
                mapping.row_event(row, lookups),
                active=bool(row.get("active")),
                follows=bool(row.get("follow_recurrence")),
            )
            for row in candidates
        ]
        plan = plan_rows(job.event, rows)
        if plan.missing:
            logger.info("series %s: Odoo made no row for %d occurrence(s)", rid, len(plan.missing))
        cancel.extend(row.id for row in plan.cancel)
        for row, target in plan.pairs:
            wire = snapshot.rows[row.id]
            self.snapshot.rows[row.id] = wire
            values = self._values(target, mapping.changed_groups(row.event, target), wire)
            if not row.active:
                values["active"] = True
            if row.id not in linked:
                values["recurrence_id"] = rid
            job.targets[row.id] = target
            if values:
                yield row.id, values

    # -- answers and read-back -------------------------------------------------------------

    async def _finish(self) -> None:
        done = [job for job in self.jobs if job.error is None and job.unit is not None]
        if not done:
            return
        snapshot = _Snapshot()
        await self.a._read_rows(snapshot, [job.unit.sid for job in done if job.unit])
        await self.a._complete(
            snapshot, {job.unit.rid for job in done if job.unit and job.unit.rid}
        )
        if await self._answers(snapshot, done):
            await self.a._read_attendees(snapshot, again=True)
        for job in done:
            assert job.unit is not None
            key = job.write.key
            stored = self.a._build(snapshot, job.unit, key)
            if stored is None:
                job.error = NotFoundError(
                    "the event is gone after the write", code="odoo.exceptions.MissingError"
                )
                continue
            job.stored = stored
            job.done = True
        for row in snapshot.rows.values():
            if _wd(row):
                self.a._echo_rows[int(row["id"])] = (row_hash(row), _wd(row))
        window = self.a._window
        if window is not None:
            low = mapping.format_datetime(window.start - _DAY)
            high = mapping.format_datetime(window.end + _DAY)
            touched = {job.unit.rid for job in done if job.unit and job.unit.rid}
            self.a._echo_digests.update(
                _digests(
                    (int(row["id"]), rid)
                    for row in snapshot.rows.values()
                    if (rid := mapping.many2one(row.get("recurrence_id"))) in touched
                    and row.get("active")
                    and mapping.user_filter(row, self.a._uid, self.a._partner)
                    and str(row.get("start")) < high
                    and str(row.get("stop")) > low
                )
            )
        for attendee in snapshot.attendees.values():
            self.a._echo_attendees[attendee.id] = f"{attendee.write_date}|{attendee.state}"

    async def _answers(self, snapshot: _Snapshot, jobs: list[_Job]) -> bool:
        """Set attendees' answers (``calendar.attendee.state``) to what the events say."""
        by_state: dict[str, list[int]] = defaultdict(list)
        for job in jobs:
            for row_id, target in job.targets.items():
                row = snapshot.rows.get(row_id)
                if row is None or not row.get("active"):
                    continue
                answers = {a.email: a.response for a in target.attendees}
                for aid in row.get("attendee_ids") or ():
                    attendee = snapshot.attendees.get(aid)
                    if attendee is None or attendee.email not in answers:
                        continue
                    if job.only_owner and attendee.partner_id != self.a._partner:
                        continue
                    if (
                        job.answers is not None
                        and aid in self.existing_attendees
                        and attendee.email not in job.answers
                    ):
                        continue  # an answer calsync does not change: keep Odoo's
                    state = mapping.response_state(answers[attendee.email])
                    if attendee.state != state:
                        by_state[state].append(aid)
        for state, ids in sorted(by_state.items()):
            await self.a._call(
                "calendar.attendee",
                "write",
                sorted(set(ids)),
                vals={"state": state},
                context=WRITE_CONTEXT,
            )
        return bool(by_state)


def _all_events(event: Event) -> list[Event]:
    events = [event]
    if event.recurrence is not None:
        events += [item.event for item in event.recurrence.exceptions]
    return events


def _answer_map(event: Event) -> dict[tuple[str, str], Response]:
    answers = {("", a.email): a.response for a in event.attendees}
    if event.recurrence is not None:
        for item in event.recurrence.exceptions:
            key = item.original_start.isoformat()
            answers.update({(key, a.email): a.response for a in item.event.attendees})
    return answers


def _changed_answers(current: Event, wanted: Event) -> set[str]:
    """Addresses whose answer differs between what calsync read and what it writes."""
    before = _answer_map(current)
    return {
        email
        for key, email in _answer_map(wanted)
        if before.get((key, email)) != _answer_map(wanted)[(key, email)]
    }


def _load_code(text: str) -> str:
    for name in ("ValidationError", "UserError", "AccessError", "ValueError", "MissingError"):
        if name in text:
            return f"odoo.exceptions.{name}" if name != "ValueError" else "builtins.ValueError"
    return "odoo.load"
