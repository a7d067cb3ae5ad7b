"""One change query per round for every calendar of a database: :class:`OdooDatabase`.

An incremental pull of one calendar asks Odoo three things: its live rows in
the window (ids and series), ``(id, write_date)`` of its rows written behind
its cursor, and its attendee rows changed since: three calls per user and
round, whatever changed. Where one account may read every synced user's
calendar (a service login; on 18.0 and later an administrator, which also
reads each user's default privacy), :class:`OdooDatabase` asks once for all
the calendars that share it, and gives each calendar exactly what its own
queries would have answered (:class:`Changes`):

* **One listing for all.** The live rows of the window, grouped in SQL (no
  row read: ids and series aggregated; read in full when the window is
  small) by organiser and by invited partner (on ``calendar.attendee``),
  which says which calendars each belongs to; and the rows written after the
  cursor of a user whose domain they are in, but for those the user's
  calendar knows as they are (one clause per distinct cursor: a calendar
  quiet for months does not drag the others' old rows in; after a bulk
  write, the overlap is not read again), read with ``user_id`` and
  ``partner_ids`` to route each to its calendars, each keeping its own in
  Odoo's ``write_date`` order. So a listing costs what changed, not the size
  of the calendars (a quiet poll of a 10,000-event calendar read every row of
  it before: 1 s on real 18.0).
* **One attendee poll for all**, but for the answers each calendar knows,
  routed by the events' organisers and attendees (those of events outside
  the listing read in one more call).
* **Masking as Odoo applies it for each user.** Odoo masks a private event
  for the *reader* (``write_date`` and ``partner_ids`` read empty), and leaves
  it out of a grouping on a field it masks: the window is grouped on fields it
  does not mask (``user_id``, ``recurrence_id``, and ``calendar.attendee``'s
  ``partner_id``; an attendee row made alone through the API, its partner not in
  the event's ``partner_ids``, then counts as an invitation when a member
  organises or attends the event). Masked rows are routed by their attendee
  rows (``calendar.attendee`` is not masked),
  and a search (run on the real values) tells which were written after the
  cursors. A calendar that signs in as its user reads their ``write_date``
  itself (its user attends: unmasked); one read by the shared account on its
  user's behalf keeps them masked, as its own query would. Changed rows are
  then read in one call for the calendars that read at the same moment and
  handed to each as its user would read them (:mod:`._privacy`); rows masked
  to the shared account are read by the calendar itself.

Freshness: a pull is served only by a listing that starts after the pull
did, so it sees every change made before it began, as its own query would.
Pulls that start together share one listing; those that come while a listing
is on its way wait for the next one, which starts as soon as that one is
done and serves them all. So the calendars of one ``sync_many`` round share
a few listings (one when they start together), whatever their number.

A listing that fails, or holds a row calsync cannot route, serves no one:
each calendar then lists alone (``OdooCalendar._shared_changes``).

Costs, whatever the number of users and the size of their calendars: five
calls per listing, most of them at once (up to eight when others' private
events written lately are in the window or answers concern events outside
it), plus the reads of the changed rows. Small windows (``read_window_up_to``
rows in all) are read in full rather than grouped.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from calsync import _arguments as checks
from calsync._blocking import in_running_loop, run_blocking
from calsync._errors import MalformedAnswerError
from calsync._limits import ConcurrencyLimiter
from calsync._model._window import Window
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._answers import checked, grouped_arrays, is_id
from calsync.adapters.odoo._privacy import as_seen_by, needs_default_privacy
from calsync.adapters.odoo._snapshot import (
    ALL_CONTEXT,
    LISTED_FIELDS,
    window_bounds,
    write_date_of,
)
from calsync.adapters.odoo._transport import (
    OdooTransport,
    TransportChoice,
    major_version,
    transport_for,
)

__all__ = ["Changes", "Member", "OdooDatabase"]

logger = logging.getLogger("calsync.odoo")

#: What the shared listing adds to route a row to its calendars.
ROUTING_FIELDS = ("user_id", "partner_ids")
ANSWER_FIELDS = ("event_id", "state", "write_date")
#: Rows and attendee rows a call.
PAGE = 50_000
#: ``OdooDatabase(read_window_up_to=...)``'s default.
READ_WINDOW_UP_TO = 2_000


class Member(Protocol):
    """What the shared listing needs of a calendar (an :class:`OdooCalendar`)."""

    @property
    def uid(self) -> int:
        """The calendar's user."""

    @property
    def partner(self) -> int:
        """The user's partner."""

    @property
    def reads_as_user(self) -> bool:
        """Whether the calendar reads with its user's own credentials."""

    async def read_own(
        self, model: str, ids: Sequence[int], fields: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """``model.read`` as the calendar reads (its own credentials)."""


@attrs.frozen
class Changes:
    """One calendar's share of a listing: what its own queries would have answered."""

    #: its live rows in the window: row id -> recurrence id (None: a single event)
    present: Mapping[int, int | None]
    #: ``(id, write_date)`` of its rows written after its cursor's overlap, in Odoo's order
    pairs: Sequence[tuple[int, str]]
    #: its attendee rows written after the overlap: id -> (event id, ``write_date|state``)
    answers: Mapping[int, tuple[int | None, str]]


#: ``("user", uid)``: organised by that user; ``("partner", id)``: that partner invited.
_Audience = tuple[str, int]


@attrs.frozen
class _Listing:
    """One shared listing: the rows of every member's domain, and the attendee changes."""

    #: the calendars' users it lists for, and after which ``write_date`` for each
    lows: Mapping[int, str]
    bounds: tuple[str, str]
    rows: tuple[dict[str, Any], ...]
    answers: tuple[dict[str, Any], ...]
    #: the events of answers that are not among ``rows``: their organiser and attendees
    routes: tuple[dict[str, Any], ...]
    #: rows masked to the shared account: their attendees' partners, and those written after low
    masked_partners: Mapping[int, frozenset[int]]
    masked_recent: frozenset[int]
    #: user id -> the domain terms of what its calendar must see again (rows, answers)
    exclusions: Mapping[int, tuple[Sequence[Any], Sequence[Any]]] = attrs.field(factory=dict)
    #: the live rows of the window, grouped in SQL: audience -> row id -> recurrence id
    present_for: Mapping[_Audience, Mapping[int, int | None]] = attrs.field(factory=dict)
    #: the rows of a small window, read in full among ``rows`` instead of grouped
    read_in_full: frozenset[int] = frozenset()
    #: who each row and answer goes to: audience (an ``_Audience``) -> their positions
    #: in ``rows`` and ``answers``, so each member takes its own without scanning the others'
    rows_for: Mapping[_Audience, tuple[int, ...]] = attrs.field(factory=dict)
    answers_for: Mapping[_Audience, tuple[int, ...]] = attrs.field(factory=dict)

    def indexed(self) -> _Listing:
        """This listing with ``rows_for`` and ``answers_for`` filled in."""
        audiences: dict[int, list[_Audience]] = defaultdict(list)
        for audience, ids in self.present_for.items():
            for row_id in ids:
                audiences[row_id].append(audience)
        for row in (*self.routes, *self.rows):  # a row read in full says it best
            audiences[_id(row)] = self._audiences(row)
        return attrs.evolve(
            self,
            rows_for=_positions(audiences[_id(row)] for row in self.rows),
            answers_for=_positions(audiences.get(_event_of(row), ()) for row in self.answers),
        )

    def present_of(self, member: Member) -> dict[int, int | None]:
        """The member's live rows in the window: row id -> recurrence id."""
        found = {
            **self.present_for.get(("user", member.uid), {}),
            **self.present_for.get(("partner", member.partner), {}),
        }
        start, end = self.bounds
        for row in self.rows_of(member):
            if _id(row) in self.read_in_full and _live(row, start, end):
                found[_id(row)] = mapping.many2one(row.get("recurrence_id"))
        return found

    def _audiences(self, row: Mapping[str, Any]) -> list[_Audience]:
        """The row's organiser and invited partners; a row masked to the shared account
        is routed by its attendees' partners."""
        partners: Collection[int] = (
            self.masked_partners.get(_id(row), frozenset())
            if mapping.masked(row)
            else row.get("partner_ids") or ()
        )
        found: list[_Audience] = [("partner", partner) for partner in partners]
        organiser = _organiser(row)
        return found if organiser is None else [("user", organiser), *found]

    def rows_of(self, member: Member) -> list[dict[str, Any]]:
        """The member's rows (organised, or its partner invited), in Odoo's order."""
        return [self.rows[i] for i in _merged(self.rows_for, member)]

    def answers_of(self, member: Member) -> list[dict[str, Any]]:
        """The attendee rows of the member's events, in Odoo's order."""
        return [self.answers[i] for i in _merged(self.answers_for, member)]


def _positions(audiences: Iterable[Iterable[_Audience]]) -> dict[_Audience, tuple[int, ...]]:
    """For each audience, the positions of the items that go to it (in order)."""
    found: dict[_Audience, list[int]] = defaultdict(list)
    for position, each in enumerate(audiences):
        for audience in dict.fromkeys(each):
            found[audience].append(position)
    return {audience: tuple(places) for audience, places in found.items()}


def _merged(index: Mapping[_Audience, tuple[int, ...]], member: Member) -> list[int]:
    """The positions of what goes to the member as organiser or as invited partner."""
    own = index.get(("user", member.uid), ())
    invited = index.get(("partner", member.partner), ())
    return sorted({*own, *invited})


@attrs.define
class _InFlight:
    """One event loop's listings and reads on their way (a thread with its own loop, such
    as a blocking caller's, shares the listings made but not the waiting)."""

    reads: _Reads
    #: the pulls waiting for the next listing, by window
    next: dict[tuple[str, str], _Gathering] = attrs.Factory(dict)
    #: the windows with a listing on its way
    busy: set[tuple[str, str]] = attrs.Factory(set)
    tasks: set[asyncio.Task[None]] = attrs.Factory(set)


@attrs.frozen
class _Ask:
    """One calendar's pull: after which ``write_date``, and what it must see again."""

    member: Member
    low: str
    unseen: tuple[Any, ...]
    unanswered: tuple[Any, ...]


@attrs.define
class _Gathering:
    """The pulls that wait for the next listing of a window (it starts after they did)."""

    bounds: tuple[str, str]
    #: user id -> the calendar's pull
    members: dict[int, _Ask]
    future: asyncio.Future[_Listing]


def _present_for(
    organised: Mapping[int, Mapping[int, int | None]],
    attending: Mapping[int, Mapping[int, int | None]],
    partners: Mapping[int, int],
) -> dict[_Audience, Mapping[int, int | None]]:
    """The groupings' rows of the members' audiences (users organising, partners invited)."""
    found: dict[_Audience, Mapping[int, int | None]] = {}
    for uid, partner in partners.items():
        if uid in organised:
            found[("user", uid)] = organised[uid]
        if partner in attending:
            found[("partner", partner)] = attending[partner]
    return found


def _live(row: Mapping[str, Any], start: str, end: str) -> bool:
    """Whether a row read in full is live in the window ``start``-``end``."""
    return bool(row.get("active")) and str(row.get("start")) < end and str(row.get("stop")) > start


def _organiser(row: Mapping[str, Any]) -> int | None:
    try:
        return mapping.many2one(row.get("user_id"))
    except (TypeError, ValueError, IndexError):
        return None


def written_domain(plan: _Listing, partners: Mapping[int, int], path: str, which: int) -> list[Any]:
    """The rows (or, with ``path`` ``"event_id."``, the answers) written after the low of
    a user whose calendar they are in, but for those the user knows as they are
    (``which``: 0 rows, 1 answers).

    One clause per distinct low and exclusion, the users of a clause sharing both:
    on real 18.0 a quiet listing of 50 users took 2.7 s with a clause each.
    """
    groups: dict[tuple[str, str], tuple[str, Sequence[Any], list[int]]] = {}
    for uid, low in sorted(plan.lows.items()):
        terms = plan.exclusions.get(uid, ((), ()))[which]
        groups.setdefault((low, repr(terms)), (low, terms, []))[2].append(uid)
    clauses = []
    for low, terms, uids in (groups[key] for key in sorted(groups)):
        clause = [
            "&",
            ("write_date", ">", low),
            "|",
            (f"{path}user_id", "in", uids),
            (f"{path}partner_ids", "in", sorted({partners[uid] for uid in uids})),
        ]
        clauses.append(["&", *clause, *terms] if terms else clause)
    return ["|"] * (len(clauses) - 1) + [leaf for clause in clauses for leaf in clause]


class OdooDatabase:
    """The change query of one Odoo database, shared by the calendars synced in it.

    :param url: the server.
    :param db: the database.
    :param login: an account that may read every synced user's calendar (on
        18.0 and later, an administrator: it also reads the users' default
        calendar privacy).
    :param password: its password (``/jsonrpc``), or
    :param api_key: its API key.
    :param transport: ``"auto"``, ``"jsonrpc"``, ``"json2"`` or a ready
        :class:`~calsync.adapters.odoo.OdooTransport` (for instance the one the
        calendars of a service login share: one login for all).
    :param timeout: seconds an answer may take.
    :param limiter: bounds the requests in flight to the server (as
        :class:`OdooCalendar`'s; default
        :data:`~calsync.adapters.odoo.SERVER_LIMITER`).
    :param read_window_up_to: windows holding at most this many rows (all the
        calendars' together) are read in full, larger ones grouped in SQL
        (reading 2,000 rows costs about 0.2 s on real 18.0; at 50 users with
        small windows, a round costs the same either way). 0 always groups.

    Each calendar keeps its own credentials for everything but the listing: it
    reads (what it may not get from the shared read) and writes as itself.
    :attr:`listings` and :attr:`rows_listed` count what the listings cost.

    Give each :class:`OdooCalendar` of the database ``database=`` this object::

        db = OdooDatabase(URL, "prod", "calsync", api_key=KEY)
        calendars = [
            OdooCalendar(URL, "prod", "calsync", transport=db.transport, user_login=user,
                         database=db)
            for user in users
        ]

    Keep it for as long as the calendars (its login is made once). Close it with
    :meth:`close` or :meth:`aclose` (its transport, if it made it).
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
        timeout: float = 600.0,
        limiter: ConcurrencyLimiter | None = None,
        read_window_up_to: int = READ_WINDOW_UP_TO,
    ) -> None:
        self._read_window_up_to = checks.count("read_window_up_to", read_window_up_to, least=0)
        self.transport = transport_for(
            transport,
            url,
            db,
            login,
            password=password,
            api_key=api_key,
            timeout=timeout,
            side="odoo",
            limiter=limiter,
        )
        self._url = checks.text("url", url).rstrip("/")
        self._db = checks.text("db", db)
        self._login = checks.text("login", login)
        self._owns = isinstance(transport, str)
        # what is on its way, per event loop (futures belong to the loop that made them)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _InFlight] = (
            weakref.WeakKeyDictionary()
        )
        self._default_privacy: dict[int, object] = {}
        #: Shared listings made so far (each is two to four calls).
        self.listings = 0
        #: ``calendar.event`` rows those listings held, all together.
        self.rows_listed = 0

    def __repr__(self) -> str:
        return f"OdooDatabase(url={self._url!r}, db={self._db!r}, login={self._login!r})"

    # -- what calendars ask -----------------------------------------------------------------

    async def changes(
        self,
        member: Member,
        low: str,
        window: Window,
        *,
        unseen: Sequence[Any] = (),
        unanswered: Sequence[Any] = (),
    ) -> Changes:
        """What the member's own three queries of an incremental pull would answer: its
        live rows in the window, ``(id, write_date)`` of its rows written after ``low``
        in Odoo's order, and its attendee rows written after ``low``.

        ``unseen`` and ``unanswered`` are domain terms (one expression each, or
        empty) for the rows and answers written after ``low`` that the member must
        see again: those it knows as they are are then left out, as its own queries
        leave them out (after a bulk write, the whole overlap). What another member
        must see may still come: more than the member's own queries, never less.
        """
        ask = _Ask(member, low, tuple(unseen), tuple(unanswered))
        listing = await self._listing(ask, window_bounds(window))
        mine = listing.rows_of(member)
        recent = [_id(row) for row in mine if _id(row) in listing.masked_recent]
        stamps: dict[int, str] = {}
        if recent and member.reads_as_user:  # its user reads them unmasked: as its query would
            read = await member.read_own("calendar.event", recent, ("write_date",), ALL_CONTEXT)
            stamps = {_id(row): write_date_of(row) for row in read}
        present = listing.present_of(member)
        pairs = [
            (_id(row), stamp)
            for row in mine
            if (stamp := stamps.get(_id(row)) or write_date_of(row)) > low
        ]
        answers = {
            _id(row): (_event_of(row), f"{write_date_of(row)}|{row.get('state')}")
            for row in listing.answers_of(member)
            if write_date_of(row) > low
        }
        return Changes(present, pairs, answers)

    async def read(
        self,
        member: Member,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        context: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """``model.read(ids, fields)`` for the member, in one call with the other members'
        reads of the same model and fields made at the same time.

        ``calendar.event`` rows come as the member's user would read them: masked for
        them as Odoo would (:mod:`._privacy`), and those masked to the shared account
        (a private event of someone else it does not attend) read by the member itself.
        """
        key = (model, tuple(fields), tuple(sorted(context.items())))
        rows = await self._in_flight().reads.get(key, model, fields, context, ids)
        if model != "calendar.event":
            return rows
        hidden = [_id(row) for row in rows if mapping.masked(row)]
        private = await self._private_calendars(
            organizer
            for row in rows
            if (organizer := needs_default_privacy(row, member.uid, member.partner)) is not None
        )
        seen = [
            as_seen_by(row, member.uid, member.partner, private)
            for row in rows
            if not mapping.masked(row)
        ]
        if hidden:
            seen += await member.read_own(model, hidden, fields, context)
        return seen

    async def _private_calendars(self, organizers: Iterable[int]) -> set[int]:
        """Which of these users' calendars are private by default (read as the shared
        account: an administrator reads the real value; read again for each listing)."""
        wanted = set(organizers)
        unknown = sorted(wanted - set(self._default_privacy))
        if unknown and major_version(getattr(self.transport, "version", None) or "18.0") >= 18:
            key = ("res.users", ("calendar_default_privacy",), ())
            for row in await self._in_flight().reads.get(
                key, "res.users", ("calendar_default_privacy",), {}, unknown
            ):
                self._default_privacy[_id(row)] = row.get("calendar_default_privacy")
        return {uid for uid in wanted if self._default_privacy.get(uid) == "private"}

    def _in_flight(self) -> _InFlight:
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            found = self._loops[loop] = _InFlight(_Reads(self._call))
        return found

    # -- making listings --------------------------------------------------------------------

    async def _listing(self, ask: _Ask, window_bounds: tuple[str, str]) -> _Listing:
        """The next listing to start (with the member's users after its low): the one the
        pulls of this turn of the event loop join, or the one that starts after the listing
        on its way."""
        flight = self._in_flight()
        gathering = flight.next.get(window_bounds)
        if gathering is None:
            future = asyncio.get_running_loop().create_future()
            gathering = flight.next[window_bounds] = _Gathering(window_bounds, {}, future)
            if window_bounds not in flight.busy:
                asyncio.get_running_loop().call_soon(self._start, flight, window_bounds)
        gathering.members[ask.member.uid] = ask
        return await asyncio.shield(gathering.future)

    def _start(self, flight: _InFlight, window_bounds: tuple[str, str]) -> None:
        gathering = flight.next.pop(window_bounds, None)
        if gathering is None:
            return
        flight.busy.add(window_bounds)
        task = asyncio.ensure_future(self._make(gathering))
        flight.tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            flight.tasks.discard(task)
            flight.busy.discard(window_bounds)
            if window_bounds in flight.next:
                self._start(flight, window_bounds)

        task.add_done_callback(done)

    async def _make(self, gathering: _Gathering) -> None:
        members = gathering.members
        plan = _Listing(
            {uid: ask.low for uid, ask in members.items()},
            gathering.bounds,
            (),
            (),
            (),
            {},
            frozenset(),
            exclusions={uid: (ask.unseen, ask.unanswered) for uid, ask in members.items()},
        )
        self._default_privacy.clear()
        try:
            made = await self._query(
                plan, {uid: ask.member.partner for uid, ask in members.items()}
            )
        except BaseException as error:
            gathering.future.set_exception(error)
            gathering.future.exception()  # retrieved: the pulls re-raise it, nobody else must
            if not isinstance(error, Exception):
                raise
            return
        gathering.future.set_result(made)

    async def _query(self, plan: _Listing, partners: Mapping[int, int]) -> _Listing:
        """The shared calls: the listing, the attendee poll, and for rows masked to the
        shared account, their attendees and which of them were written after the lows."""
        self.listings += 1

        (present_for, read_in_full), written_rows, answers = await asyncio.gather(
            self._window(plan.bounds, partners),
            self._pages(
                "calendar.event",
                written_domain(plan, partners, "", 0),
                (*LISTED_FIELDS, *ROUTING_FIELDS),
                context=ALL_CONTEXT,
            ),
            self._pages(
                "calendar.attendee", written_domain(plan, partners, "event_id.", 1), ANSWER_FIELDS
            ),
        )
        listed = {_id(row) for row in written_rows}
        unread = sorted(read_in_full - listed)
        rows = written_rows + (
            await self._call(
                "calendar.event",
                "read",
                unread,
                [*LISTED_FIELDS, *ROUTING_FIELDS],
                context=dict(ALL_CONTEXT),
            )
            if unread
            else []
        )
        self.rows_listed += len(rows)
        _routable(rows, "calendar.event")
        _routable(answers, "calendar.attendee", "event_id")
        listed |= read_in_full
        known = listed | {row_id for ids in present_for.values() for row_id in ids}
        unknown = sorted(
            {_event_of(row) for row in answers} - known
        )  # answers to events neither in the window nor written lately: who they belong to
        routes = (
            await self._call(
                "calendar.event", "read", unknown, list(ROUTING_FIELDS), context=ALL_CONTEXT
            )
            if unknown
            else []
        )
        _routable(routes, "calendar.event")
        masked = sorted(_id(row) for row in (*rows, *routes) if mapping.masked(row))
        partners_of: dict[int, set[int]] = defaultdict(set)
        recent: Iterable[int] = ()
        if masked:
            attendees, recent = await asyncio.gather(
                self._pages(
                    "calendar.attendee", [("event_id", "in", masked)], ("event_id", "partner_id")
                ),
                self._call(
                    "calendar.event",
                    "search",
                    [
                        ("id", "in", sorted(set(masked) & listed)),
                        ("write_date", ">", min(plan.lows.values())),
                    ],
                    context=dict(ALL_CONTEXT),
                ),
            )
            for row in attendees:
                event = mapping.many2one(row.get("event_id"))
                partner = mapping.many2one(row.get("partner_id"))
                if event is not None and partner is not None:
                    partners_of[event].add(partner)
        logger.debug(
            "shared Odoo listing: %d rows (%d masked), %d attendee changes, %d calendars",
            len(rows),
            len(masked),
            len(answers),
            len(partners),
            extra={"calsync_side": "odoo"},
        )
        return attrs.evolve(
            plan,
            rows=tuple(rows),
            answers=tuple(answers),
            routes=tuple(routes),
            masked_partners={event: frozenset(found) for event, found in partners_of.items()},
            masked_recent=frozenset(int(i) for i in recent if is_id(i)),
            present_for=present_for,
            read_in_full=frozenset(read_in_full),
        ).indexed()

    async def _window(
        self, bounds: tuple[str, str], partners: Mapping[int, int]
    ) -> tuple[dict[_Audience, Mapping[int, int | None]], set[int]]:
        """The members' live rows of the window, by audience; or, for a small window, its
        rows to read in full.

        Grouped in SQL, no row read: the rows the members organise (``user_id``, with
        their series) and the events their partners attend, on ``calendar.attendee``,
        which Odoo does not mask. ``calendar.event`` grouped by ``partner_ids`` (a field
        it masks) would leave others' private events out, and on 18.0 it ANDs its
        privacy domain, which holds the settings id of every user: 1.7 MB and 0.5 s at
        4,357 users (attendees: 0.1 MB, 0.05 s), and seconds while PostgreSQL's
        statistics predate a bulk write. The series of the invited rows come from a
        third grouping, by ``recurrence_id`` (a field Odoo does not mask).
        """
        await self.transport.connect()  # the server's version decides how to group
        start, end = bounds
        window: list[Any] = [("start", "<", end), ("stop", ">", start)]
        members = sorted(partners)
        invited = sorted(set(partners.values()))
        attendance = [
            ("event_id.start", "<", end),
            ("event_id.stop", ">", start),
            ("event_id.active", "=", True),
            ("partner_id", "in", invited),
        ]
        organised, attended = await asyncio.gather(
            self._grouped("calendar.event", [*window, ("user_id", "in", members)], "user_id"),
            self._grouped("calendar.attendee", attendance, "partner_id", "event_id"),
        )
        every_row = {
            row_id for rows in (*organised.values(), *attended.values()) for row_id in rows
        }
        if len(every_row) <= self._read_window_up_to:
            return {}, every_row
        series: dict[int, int | None] = {}
        for rows in organised.values():
            series.update(rows)
        if every_row - series.keys():
            involved = ["|", ("user_id", "in", members), ("partner_ids", "in", invited)]
            by_series = await self._grouped("calendar.event", [*window, *involved], "recurrence_id")
            for rows in by_series.values():
                series.update(rows)
        # a partner's invitations are its attendee rows, which Odoo keeps with partner_ids.
        # An attendee row made alone (calendar.attendee.create leaves partner_ids as they
        # are) is dropped here if no member organises the event or is in its partner_ids,
        # as the calendar's own query would; otherwise it counts, where that query would
        # not list the event for this partner
        attending = {
            partner: {row: series[row] for row in rows if row in series}
            for partner, rows in attended.items()
        }
        return _present_for(organised, attending, partners), set()

    async def _grouped(
        self, model: str, domain: list[Any], key: str, collected: str = "id"
    ) -> dict[int, dict[int, int | None]]:
        """The rows of ``domain`` grouped in SQL by ``key``: group id (0 for none) -> the
        ``collected`` ids -> their recurrence id (``calendar.event`` rows; ``None`` on
        ``calendar.attendee``). No row is read, as in ``OdooCalendar._present``."""
        series = model == "calendar.event"
        groups = await grouped_arrays(
            self._call,
            major_version(getattr(self.transport, "version", None) or ""),
            model,
            domain,
            key,
            [collected, *(["recurrence_id"] if series else [])],
            side="odoo",
        )
        found: dict[int, dict[int, int | None]] = {}
        for owner, arrays in groups:
            rids = arrays[1] if series else [None] * len(arrays[0])
            found[owner or 0] = dict(zip(arrays[0], rids, strict=True))
        return found

    async def _pages(
        self,
        model: str,
        domain: list[Any],
        fields: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            batch = await self._call(
                model,
                "search_read",
                domain,
                fields=list(fields),
                offset=offset,
                limit=PAGE,
                order="write_date asc, id asc",
                context=dict(context or {}),
            )
            rows.extend(batch)
            if len(batch) < PAGE:
                return rows
            offset += PAGE

    async def _call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        result = await self.transport.call(model, method, *args, **options)
        return checked(result, model, method, side="odoo")

    def close(self) -> None:
        """Close the transport's connections if this object made it (blocking; in a
        running event loop, await :meth:`aclose`: this does nothing there)."""
        if not in_running_loop():
            run_blocking(self.aclose(), "aclose()")

    async def aclose(self) -> None:
        """Close the transport's connections if this object made it (its login is kept)."""
        if self._owns:
            await self.transport.aclose()


_ReadKey = tuple[str, tuple[str, ...], tuple[tuple[str, Any], ...]]


class _Reads:
    """Reads of one model and fields asked by many calendars, sent as one call.

    The reads asked in the same turn of the event loop go together; while one call
    of a key is on its way, the next reads of that key wait and go together after it.
    """

    def __init__(self, call: Callable[..., Awaitable[Any]]) -> None:
        self._call = call
        self._waiting: dict[_ReadKey, list[tuple[set[int], asyncio.Future[dict[int, Any]]]]] = {}
        self._busy: set[_ReadKey] = set()

    async def get(
        self,
        key: _ReadKey,
        model: str,
        fields: Sequence[str],
        context: Mapping[str, Any],
        ids: Sequence[int],
    ) -> list[dict[str, Any]]:
        future: asyncio.Future[dict[int, Any]] = asyncio.get_running_loop().create_future()
        first = key not in self._waiting
        self._waiting.setdefault(key, []).append((set(ids), future))
        if first and key not in self._busy:
            asyncio.get_running_loop().call_soon(self._start, key, model, fields, context)
        found = await future
        return [found[i] for i in ids if i in found]

    def _start(
        self, key: _ReadKey, model: str, fields: Sequence[str], context: Mapping[str, Any]
    ) -> None:
        waiting = self._waiting.pop(key, [])
        if not waiting:
            return
        self._busy.add(key)
        task = asyncio.ensure_future(self._send(key, model, fields, context, waiting))
        task.add_done_callback(lambda _: self._done(key, model, fields, context))

    async def _send(
        self,
        key: _ReadKey,
        model: str,
        fields: Sequence[str],
        context: Mapping[str, Any],
        waiting: list[tuple[set[int], asyncio.Future[dict[int, Any]]]],
    ) -> None:
        wanted = sorted(set().union(*(ids for ids, _ in waiting)))
        try:
            rows = await self._call(model, "read", wanted, list(fields), context=dict(context))
        except BaseException as error:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        found = {_id(row): row for row in rows if _id(row)}
        garbled = len(found) < len(rows)  # a row without an id belongs to no one: none is read
        for _, future in waiting:
            if future.done():
                continue
            if garbled:
                future.set_exception(
                    MalformedAnswerError(
                        f"Odoo answered {model}.read with a row without an id", side="odoo"
                    )
                )
            else:
                future.set_result(found)

    def _done(
        self, key: _ReadKey, model: str, fields: Sequence[str], context: Mapping[str, Any]
    ) -> None:
        self._busy.discard(key)
        if key in self._waiting:
            self._start(key, model, fields, context)


def _id(row: Mapping[str, Any]) -> int:
    """A row's id (0 for a row without one)."""
    value = row.get("id")
    return value if isinstance(value, int) and is_id(value) else 0


def _event_of(answer: Mapping[str, Any]) -> int:
    """The event of an attendee row (checked by :func:`_routable`)."""
    return mapping.many2one(answer.get("event_id")) or 0


def _routable(rows: Sequence[Mapping[str, Any]], model: str, *many2ones: str) -> None:
    """Check that every row can be routed to its calendars (an id, its organiser, its
    attendees or its event): else the listing serves no one (each calendar lists alone)."""
    for row in rows:
        try:
            valid = bool(_id(row)) and all(
                mapping.many2one(row.get(field)) is not None for field in many2ones
            )
            if model == "calendar.event":
                mapping.many2one(row.get("user_id"))
                valid = valid and isinstance(row.get("partner_ids"), list)
        except (TypeError, ValueError, IndexError):
            valid = False
        if not valid:
            raise MalformedAnswerError(
                f"Odoo answered the shared {model} listing with a row calsync cannot route",
                side="odoo",
            )
