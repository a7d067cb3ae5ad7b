"""``OdooCalendar.apply``: one batch of writes, in phases.

1. references: partners of every new address (one look-up, one multi-create),
   alarms, tags;
2. deletes: archive (one ``write``) or unlink (one ``unlink`` of every row, then
   one of the series' ``calendar.recurrence`` records);
3. creates: one ``load`` per column set and :data:`LOAD_ROWS` rows, keyed by
   external id (a rejected batch is split in halves to isolate the bad rows);
4. updates: only the fields calsync changes (single events), a rebuild with
   ``recurrence_update='all_events'`` for a new rule or time (series);
5. series rows: every written series' rows are made to hold its wanted
   occurrences (``self_only`` writes, archived cancellations);
6. answers: ``calendar.attendee.state`` grouped by state;
7. read-back: what Odoo now holds becomes each write's result.

Row writes of steps 4 and 5 go out together (:meth:`Apply._write_rows`): rows
that take the same values in one multi-record ``write``, the others in
``load`` calls keyed by database id (``.id``), each row its own values. Odoo
applies a ``load`` row with the model's ``write``, row by row, in one
transaction (odoo.md §5.18); a series' structure (rule, zone, ``all_events``)
is never changed through it: the first row's rebuild would archive the
rows after it in the same call.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from calsync._errors import (
    AccessDeniedError,
    InvalidEventError,
    MalformedAnswerError,
    NotFoundError,
    ProviderError,
    RejectedError,
)
from calsync._model._event import Event
from calsync._model._recurrence import Frequency, Weekday
from calsync._model._values import Response
from calsync._protocol import Create, Delete, RemoteEvent, Update, Write
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._answers import UNREADABLE
from calsync.adapters.odoo._cursor import Seen, row_hash, shift
from calsync.adapters.odoo._errors import EVENT_ERRORS
from calsync.adapters.odoo._mapping import ODOO_PROJECTION, Lookups
from calsync.adapters.odoo._partners import Refused
from calsync.adapters.odoo._recurrence import check_rule, rule_key, rule_to_odoo
from calsync.adapters.odoo._series import local_date, plan_rows
from calsync.adapters.odoo._snapshot import (
    ALL_CONTEXT,
    SECOND,
    WRITE_CONTEXT,
    Snapshot,
    Unit,
    external_id,
    series_digests,
    window_bounds,
    write_date_of,
)

if TYPE_CHECKING:
    from calsync.adapters.odoo._adapter import OdooCalendar

__all__ = ["Apply", "Job", "changed_answers"]

logger = logging.getLogger("calsync.odoo")


@attrs.define
class Job:
    """One write in progress."""

    index: int
    write: Write
    event: Event | None = None
    unit: Unit | None = None
    #: row id -> the occurrence that row must hold (for attendee answers)
    targets: dict[int, Event] = attrs.Factory(dict)
    only_owner: bool = False
    #: addresses whose answers calsync changes on existing attendee rows (None: all)
    answers: set[str] | None = None
    error: ProviderError | None = None
    stored: RemoteEvent | None = None
    done: bool = False


#: Rows per ``load`` call: one transaction each, well inside a worker's time limit.
LOAD_ROWS = 500
#: Rows taking the same values that share a ``write`` of their own rather than ride in a
#: ``load``: Odoo writes a ``load`` row about four times slower than a row of a multi-record
#: ``write`` (real 18.0: 1,000 rows in 38 s against 10 s), so a group this large pays for
#: its round trip.
SAME_VALUES_WRITE = 20
#: Relational fields whose write commands a ``load`` cell replaces by the resulting ids.
_SETS = ("partner_ids", "alarm_ids", "categ_ids")


@attrs.frozen
class RowWrite:
    """Values to write to one ``calendar.event`` row, as read before (``wire``), for a job."""

    job: Job
    row: int
    values: Mapping[str, Any]
    wire: Mapping[str, Any]

    def cells(self) -> dict[str, str] | None:
        """The row as ``load`` columns (None when only a ``write`` can say it)."""
        if self.values.get("active") or not self.wire.get("active"):
            return None  # revived rows: ``load`` finds only active ones by ``.id``
        cells: dict[str, str] = {}
        for field, value in self.values.items():
            if field in _SETS:
                ids = _applied(self.wire.get(field) or [], value)
                if ids is None:
                    return None
                cells[f"{field}/.id"] = mapping.load_cell(ids)
            elif field == "recurrence_id":
                cells["recurrence_id/.id"] = mapping.load_cell(value)
            else:
                cells[field] = mapping.load_cell(value)
        return cells


def _applied(current: Sequence[int], commands: Sequence[Any]) -> list[int] | None:
    """The ids an x2many holds after ``commands`` (None for commands other than 3, 4, 5, 6)."""
    ids = list(current)
    for command in commands:
        code = command[0]
        if code == 6:
            ids = list(command[2])
        elif code == 4 and command[1] not in ids:
            ids.append(command[1])
        elif code == 3:
            ids = [i for i in ids if i != command[1]]
        elif code == 5:
            ids = []
        elif code != 4:
            return None
    return sorted(ids)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_columns(series: bool) -> list[str]:
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


class Apply:
    """One ``apply``: references, deletes, creates, updates, series rows, answers, read-back."""

    def __init__(self, adapter: OdooCalendar, jobs: list[Job]) -> None:
        self.a = adapter
        self.jobs = jobs
        self.people: dict[str, int] = {}
        #: organisers' addresses -> their Odoo users, for meetings others organise
        self.organisers: dict[str, int] = {}
        self.alarms: dict[int, int] = {}
        self.tags: dict[str, int] = {}
        self.snapshot = Snapshot()
        #: series to reconcile: recurrence id -> job
        self.series: dict[int, Job] = {}
        #: attendee rows that existed before this apply wrote anything
        self.existing_attendees: set[int] = set()
        #: single events' row writes, sent together after every update is planned
        self.row_writes: list[RowWrite] = []

    async def run(self) -> None:
        creates = [job for job in self.jobs if isinstance(job.write, Create)]
        updates = [job for job in self.jobs if isinstance(job.write, Update)]
        deletes = [job for job in self.jobs if isinstance(job.write, Delete)]
        for job in creates + updates:
            assert isinstance(job.write, (Create, Update))
            job.event = ODOO_PROJECTION(job.write.event)
        series = [job for job in creates + updates if job.event and job.event.recurrence]
        if series:
            weeks_start = await self.a.week_start() if any(map(_weekly_interval, series)) else None
            for job in series:
                self._check_rule(job, weeks_start or Weekday.SU)
        await self._references([job for job in creates + updates if job.error is None])
        if deletes:
            await self._deletes(deletes)
        await self._creates([job for job in creates if job.error is None])
        await self._updates([job for job in updates if job.error is None])
        await self._reconcile()
        await self._finish()

    def _check_rule(self, job: Job, weeks_start: Weekday) -> None:
        """Hold a series Odoo cannot hold, or would expand to other occurrences (§5.5b)."""
        event = job.event
        assert event is not None
        assert event.recurrence is not None
        try:
            check_rule(
                event.recurrence.rule,
                event.start,
                event.timezone,
                event.duration,
                weeks_start,
                yearly_type=self.a._yearly_type,
            )
        except InvalidEventError as error:
            job.error = RejectedError(
                f"Odoo cannot hold this series: {error}", code="unsupported-recurrence"
            )

    def _odoo_rule(self, event: Event) -> dict[str, Any]:
        """Odoo's recurrence fields for a series event, in the server version's form."""
        assert event.recurrence is not None
        first = local_date(event.start, event.timezone)
        return rule_to_odoo(event.recurrence.rule, first, yearly_type=self.a._yearly_type)

    # -- references ------------------------------------------------------------------------

    async def _references(self, jobs: list[Job]) -> None:
        """Partners, organisers' users, alarms and tags of every job, found or made in bulk.

        An event that needs a record Odoo refused to make (a contact, for a user
        without "Contact Creation"; an alarm) is held with that refusal; the others go on.
        """
        needs = {
            job.index: _needs(job, self.a.owner_email)
            for job in jobs
            if not (isinstance(job.write, Update) and job.write.current.read_only)
        }
        people: dict[str, str] = {}
        for need in needs.values():
            for email, name in need.people.items():
                if people.get(email) in (None, ""):
                    people[email] = name
        minutes = {m for need in needs.values() for m in need.minutes}
        names = {n for need in needs.values() for n in need.names}
        organisers = {o for need in needs.values() for o in need.organisers}
        refused: dict[str, Refused] = {}
        if people:
            self.people, refused["a contact for"] = await self.a._partners.resolve(people)
        if organisers:
            self.organisers = await self.a._users.uids_for(organisers)
        if minutes:
            self.alarms, refused["an alarm of minutes"] = await self.a._alarms.ids_for(minutes)
        if names:
            self.tags, refused["the tag"] = await self.a._tags.ids_for(names)
        for job in jobs:
            if job.index in needs and job.error is None:
                job.error = needs[job.index].refusal(refused)

    # -- values ----------------------------------------------------------------------------

    def _values(
        self, event: Event, groups: Iterable[str], row: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Odoo values of these groups; relational ones as commands relative to ``row``."""
        wanted = list(groups)
        values = mapping.scalar_values(event, wanted, self.a.projection)
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
        """The event's attendees and its organiser: Odoo lists the organiser among them."""
        partners = {self.people[a.email] for a in event.attendees if a.email in self.people}
        organizer = event.organizer
        if organizer is not None and organizer.email in self.people:
            partners.add(self.people[organizer.email])
        else:
            partners.add(self.a._partner)
        return sorted(partners)

    def _organiser_uid(self, event: Event) -> int | bool:
        """Who organises the event in Odoo (``user_id``): the organiser's user, or nobody.

        A meeting this account only attends, created in Odoo from the invitation
        in its Outlook, stays the organiser's meeting: its other attendees' own
        syncs then find it rather than make another. An organiser without an
        Odoo user is no Odoo user's: ``user_id`` stays empty, as Odoo's own
        Outlook module leaves it, and the organiser is kept among the partners
        (see :func:`~calsync.adapters.odoo._mapping.organizer_of`).
        """
        organizer = event.organizer
        if organizer is None or organizer.email == self.a.owner_email:
            return self.a._uid
        return self.organisers.get(organizer.email, False)

    def _partner_commands(self, event: Event, row: Mapping[str, Any] | None) -> list[Any]:
        """Commands that make the row's partners the event's, as :meth:`_partner_ids` makes them.

        An organiser who is not the row's organiser (someone without an Odoo
        user, whose meeting the owner's user holds) stays among the partners,
        as a create put them there: an update must not drop them.
        """
        if row is None:
            return [(6, 0, self._partner_ids(event))]
        wanted = {a.email for a in event.attendees}
        organiser = mapping.organizer_partner(row)
        organizer = event.organizer
        if (
            organizer is not None
            and organizer.email in self.people
            and self.people[organizer.email] != organiser
        ):
            wanted.add(organizer.email)
        current: dict[str, set[int]] = defaultdict(set)
        for aid in row.get("attendee_ids") or ():
            attendee = self.snapshot.attendees.get(aid)
            if attendee is not None and attendee.email is not None:
                if attendee.partner_id == organiser:
                    continue  # the organiser is not a model attendee: never removed
                current[attendee.email].add(attendee.partner_id)
        partners = set(row.get("partner_ids") or ())
        # partners without a usable address are not the model's: they are left alone
        commands: list[Any] = [
            (3, partner)
            for email, ids in sorted(current.items())
            if email not in wanted
            for partner in sorted(ids)
        ]
        commands += [
            (4, self.people[email])
            for email in sorted(wanted - set(current))
            if email in self.people and self.people[email] not in partners
        ]
        return commands

    def _alarm_commands(self, event: Event, row: Mapping[str, Any] | None) -> list[Any]:
        if row is None:
            return [(6, 0, sorted({self.alarms[m] for m in event.reminders if m in self.alarms}))]
        # e-mail and SMS alarms are not reminders: kept; a reminder already there is kept
        minutes = self.a._alarms.reminders
        current = [a for a in row.get("alarm_ids") or () if a in minutes]
        held = {minutes[a] for a in current}
        commands: list[Any] = [(3, a) for a in current if minutes[a] not in event.reminders]
        commands += [
            (4, self.alarms[m]) for m in event.reminders if m not in held and m in self.alarms
        ]
        return commands

    def _tag_ids(self, event: Event) -> list[int]:
        return sorted({self.tags[name] for name in event.categories if name in self.tags})

    # -- deletes ---------------------------------------------------------------------------

    async def _deletes(self, jobs: list[Job]) -> None:
        """Archive (or unlink) each job's rows; rows Odoo hides from the login are never touched.

        A series is archived row by row, or unlinked row by row and then its
        ``calendar.recurrence`` when every row of it is visible (what Odoo's
        ``action_mass_deletion('all_events')`` does, for one series a call, less its
        archived rows, which it leaves orphaned); rows of it that Odoo masks
        (occurrences the user left, in a private calendar) stay. Every job's rows go
        in one call.
        """
        numbers = {job.index: n for job in jobs if (n := _current_id(job)) is not None}
        snapshot = Snapshot()
        await self.a._read_rows(snapshot, numbers.values())
        units = {
            index: unit
            for index, number in numbers.items()
            if (unit := self.a.unit_of(number, snapshot)) is not None
        }
        recurrences = {unit.rid for unit in units.values() if unit.rid is not None}
        if recurrences:
            rows = await self.a._search_read(
                "calendar.event",
                [("recurrence_id", "in", sorted(recurrences))],
                ("active", "recurrence_id", "write_date"),
                order="id asc",
                context=ALL_CONTEXT,
            )
            snapshot.add_rows(rows)
        archive: list[tuple[Job, list[int]]] = []
        unlink: list[tuple[Job, list[int]]] = []
        series: list[tuple[Job, list[int]]] = []  # (job, [recurrence id])
        for job in jobs:
            unit = units.get(job.index)
            if unit is None:
                continue  # gone already
            row = snapshot.rows.get(unit.sid)
            members = snapshot.members(unit.rid) if unit.rid is not None else []
            own = [*members, *([row] if row is not None else [])]
            visible = [r for r in own if not mapping.masked(r)]
            if own and not visible:
                job.error = self._hidden()
                continue
            ids = sorted({int(r["id"]) for r in visible})
            if self.a._on_delete == "archive":
                archive.append((job, [i for i in ids if snapshot.rows[i].get("active")]))
            else:
                unlink.append((job, ids))
                if unit.rid is not None and members and len(visible) == len(own):
                    series.append((job, [unit.rid]))
        await self._isolated(archive, self._archive)
        await self._isolated(unlink, self._unlink, gone_is_done=True)
        # a series whose every row is gone: its calendar.recurrence too (§5.8, odoo.md)
        await self._isolated(series, self._unlink_recurrences, gone_is_done=True)
        for job in jobs:
            job.done = job.error is None

    async def _archive(self, ids: list[int]) -> None:
        await self.a._call("calendar.event", "write", ids, {"active": False}, context=WRITE_CONTEXT)

    async def _unlink(self, ids: list[int]) -> None:
        await self.a._call("calendar.event", "unlink", ids, context=WRITE_CONTEXT)

    async def _unlink_recurrences(self, ids: list[int]) -> None:
        await self.a._call("calendar.recurrence", "unlink", ids, context=WRITE_CONTEXT)

    async def _isolated(
        self,
        parts: Sequence[tuple[Job, Sequence[int]]],
        send: Callable[[list[int]], Awaitable[object]],
        *,
        gone_is_done: bool = False,
    ) -> None:
        """One call for every part's record ids; the events at fault alone are held.

        When Odoo refuses the call for a record's sake (access rights, validation, a
        missing record), it keeps nothing of it, so the parts are sent again in halves
        until the jobs at fault are found; each gets the error. A happy batch costs one
        call. ``gone_is_done``: a record already deleted is what a delete wanted.
        """
        live = [(job, list(ids)) for job, ids in parts if job.error is None and ids]
        if not live:
            return
        try:
            await send(sorted({i for _job, ids in live for i in ids}))
        except EVENT_ERRORS as error:
            gone = gone_is_done and isinstance(error, NotFoundError)
            if len(live) > 1:
                middle = len(live) // 2
                await self._isolated(live[:middle], send, gone_is_done=gone_is_done)
                await self._isolated(live[middle:], send, gone_is_done=gone_is_done)
            elif gone and len(live[0][1]) > 1:
                job, ids = live[0]
                await self._isolated([(job, [i]) for i in ids], send, gone_is_done=True)
            elif not gone:
                live[0][0].error = error

    @staticmethod
    def _visible(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows Odoo shows the login (masked ones are neither content nor written)."""
        return [row for row in rows if not mapping.masked(row)]

    def _hidden(self) -> AccessDeniedError:
        """The error of a write to an event Odoo masks for the login (nothing is sent)."""
        return AccessDeniedError(
            f"Odoo hides this event from {self.a._login!r} (private, or in a calendar private "
            "by default, and neither organised nor attended by that login): calsync does not "
            "write to it; sign in as its calendar's user to sync it",
            code="odoo.exceptions.AccessError",
        )

    # -- creates ---------------------------------------------------------------------------

    def _load_row(self, job: Job, columns: list[str]) -> list[str]:
        assert isinstance(job.write, Create)
        event = job.event
        assert event is not None
        values: dict[str, Any] = {
            "id": external_id(job.write.key),
            **mapping.scalar_values(event, projection=self.a.projection),
            **mapping.time_values(event, for_load=True),
            "active": True,
            "user_id/.id": self._organiser_uid(event),
            "partner_ids/.id": self._partner_ids(event),
            "alarm_ids/.id": sorted({self.alarms[m] for m in event.reminders if m in self.alarms}),
            "categ_ids/.id": self._tag_ids(event),
        }
        if event.recurrence is not None:
            rule = self._odoo_rule(event)
            values.update(rule, recurrency=True, event_tz=event.timezone or False)
        return [mapping.load_cell(values.get(column)) for column in columns]

    async def _creates(self, jobs: list[Job]) -> None:
        groups: dict[tuple[str, ...], list[Job]] = defaultdict(list)
        for job in jobs:
            assert job.event is not None
            names = load_columns(job.event.recurrence is not None)
            if job.event.recurrence is not None:
                rule = self._odoo_rule(job.event)
                names += sorted(rule)
            groups[tuple(names)].append(job)
        for columns, members in groups.items():
            for chunk in _chunks(members, LOAD_ROWS):
                rows = [(job, self._load_row(job, list(columns))) for job in chunk]
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

    async def _load(self, columns: list[str], rows: list[tuple[Job, list[str]]]) -> None:
        """One ``load`` per batch; a rejected batch is split in halves to find the bad rows."""
        result = await self.a._call(
            "calendar.event",
            "load",
            columns,
            [cells for _job, cells in rows],
            context=WRITE_CONTEXT,
        )
        ids = result.get("ids") if isinstance(result, dict) else None
        if ids:
            for (job, _cells), event_id in zip(rows, ids, strict=True):
                job.unit = Unit(int(event_id))
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

    async def _locate_series(self, jobs: list[Job]) -> None:
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
            job.unit = Unit(sid, rid)
            self._track_series(rid, sid, job)

    async def _detached_series(self, sid: int, taken: set[int]) -> int | None:
        [row] = await self.a._call(
            "calendar.event",
            "read",
            [sid],
            ["name", "start", "create_date"],
            context=ALL_CONTEXT,
        )
        stamp = str(row.get("create_date") or "")
        if not stamp:
            return None
        siblings = await self.a._call(
            "calendar.event",
            "search_read",
            [
                ("recurrence_id", "!=", False),
                ("create_date", ">=", stamp),
                ("create_date", "<", shift(stamp, SECOND)),
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

    def _track_series(self, rid: int, sid: int, job: Job) -> None:
        assert job.event is not None
        self.a._series[rid] = (sid, job.event.start)
        self.series[rid] = job

    # -- updates ---------------------------------------------------------------------------

    async def _updates(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        numbers = {job.index: n for job in jobs if (n := _current_id(job)) is not None}
        await self.a._read_rows(self.snapshot, numbers.values())
        for job in jobs:
            number = numbers.get(job.index)
            job.unit = self.a.unit_of(number, self.snapshot) if number is not None else None
            if job.unit is None:
                job.error = NotFoundError("no such event", code="odoo.exceptions.MissingError")
        await self.a._complete(
            self.snapshot, {job.unit.rid for job in jobs if job.unit and job.unit.rid is not None}
        )
        self.existing_attendees = set(self.snapshot.attendees)
        for job in jobs:
            if job.error is None and job.unit is not None:
                assert isinstance(job.write, Update)
                assert job.event is not None
                job.answers = changed_answers(job.write.current.event, job.event)
                job.unit = self.a.settle_unit(job.unit, self.snapshot)
                if job.unit is None:
                    job.error = NotFoundError("no such event", code="odoo.exceptions.MissingError")
                    continue
                try:
                    await self._update(job)
                except EVENT_ERRORS as error:  # this event's problem: the others go on
                    job.error = error
                except UNREADABLE as error:  # what Odoo holds of it cannot be read now
                    job.error = _unreadable(error)
        await self._write_rows(self.row_writes)

    async def _update(self, job: Job) -> None:
        write = job.write
        assert isinstance(write, Update)
        unit = job.unit
        assert unit is not None
        wanted = job.event
        assert wanted is not None
        rows = self._visible(
            self.snapshot.members(unit.rid)
            if unit.rid is not None
            else [self.snapshot.rows[unit.sid]]
        )
        if not rows:
            job.error = self._hidden()
            return
        if write.current.read_only:
            job.only_owner = True
            job.targets = {int(row["id"]): wanted for row in rows if row.get("active")}
            return
        row = self.snapshot.rows.get(unit.sid)
        if unit.rid is None:
            assert row is not None
            if wanted.recurrence is not None:
                await self._make_series(job, row)
                return
            groups = mapping.changed_groups(write.current.event, wanted, self.a.projection)
            values = self._values(wanted, groups, row)
            if not row.get("active"):
                values["active"] = True
            if values:
                self.row_writes.append(RowWrite(job, unit.sid, values, row))
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
            {**values, "recurrence_update": "self_only"},
            context=WRITE_CONTEXT,
        )

    async def _write_rows(self, parts: Sequence[RowWrite], *, series: bool = False) -> None:
        """Write many rows, each its own values, in few calls (``series``: occurrences).

        At least :data:`SAME_VALUES_WRITE` rows that take the same values share one
        multi-record ``write``, the cheapest for Odoo; the others go in ``load``
        calls by database id, one per set of columns and :data:`LOAD_ROWS` rows
        (``recurrence_update`` is ``self_only`` for occurrences, as in
        :meth:`_write`); a row only a ``write`` can say is written alone.
        """
        same: dict[str, list[RowWrite]] = defaultdict(list)
        for part in parts:
            same[json.dumps(part.values, sort_keys=True, default=str)].append(part)
        loads: dict[tuple[str, ...], list[tuple[RowWrite, dict[str, str]]]] = defaultdict(list)
        for members in same.values():
            if len(members) >= SAME_VALUES_WRITE:
                await self._write_same(members)
                continue
            for part in members:
                cells = part.cells()
                if cells is None:
                    await self._write_same([part])
                else:
                    loads[tuple(sorted(cells))].append((part, cells))
        for columns, rows in loads.items():
            for chunk in _chunks(rows, LOAD_ROWS):
                await self._load_rows(list(columns), chunk, series=series)

    async def _write_same(self, parts: Sequence[RowWrite]) -> None:
        """One ``write`` of rows that take the same values (split when refused)."""
        write = functools.partial(self._write, values=parts[0].values)
        await self._isolated([(part.job, [part.row]) for part in parts], write)

    async def _load_rows(
        self,
        columns: list[str],
        rows: Sequence[tuple[RowWrite, dict[str, str]]],
        *,
        series: bool,
    ) -> None:
        """One ``load`` of these rows; a refused one is split down to a row written alone.

        ``load`` keeps nothing of a call with one bad row, and says which row only
        unreliably (odoo.md §5.18); the row left alone is sent as a ``write``, so its
        event gets Odoo's typed error (and is written, if only ``load`` minded).
        """
        live = [(part, cells) for part, cells in rows if part.job.error is None]
        if not live:
            return
        extra = ["recurrence_update"] if series else []
        data = [
            [str(part.row), *(cells[c] for c in columns), *(["self_only"] if series else [])]
            for part, cells in live
        ]
        try:
            result = await self.a._call(
                "calendar.event", "load", [".id", *columns, *extra], data, context=WRITE_CONTEXT
            )
        except EVENT_ERRORS:  # refused as a whole: split as a refusal in the answer is
            result = {}
        if result.get("ids"):
            return
        if len(live) == 1:
            await self._write_same([live[0][0]])
            return
        middle = len(live) // 2
        await self._load_rows(columns, live[:middle], series=series)
        await self._load_rows(columns, live[middle:], series=series)

    async def _make_series(self, job: Job, row: Mapping[str, Any]) -> None:
        wanted = job.event
        assert wanted is not None
        assert wanted.recurrence is not None
        assert job.unit is not None
        rule = self._odoo_rule(wanted)
        first = attrs.evolve(wanted, recurrence=None)
        values = {
            **self._values(first, mapping.GROUPS, row),
            **mapping.time_values(first, for_load=True),
            **rule,
            "recurrency": True,
            "event_tz": wanted.timezone or False,
            "active": True,
        }
        await self.a._call("calendar.event", "write", [job.unit.sid], values, context=WRITE_CONTEXT)
        await self._relocate(job, job.unit.sid)

    async def _relocate(self, job: Job, row_id: int) -> None:
        """After Odoo (re)built a series around ``row_id``, find the new recurrence.

        The series keeps the id it is reported under (``job.unit.sid``).
        """
        assert job.unit is not None
        fresh = await self.a._call(
            "calendar.event", "read", [row_id], ["recurrence_id"], context=ALL_CONTEXT
        )
        rid = mapping.many2one(fresh[0].get("recurrence_id")) if fresh else None
        if rid is None:
            job.error = RejectedError("Odoo made no series of this event", code="no-series")
            return
        job.unit = Unit(job.unit.sid, rid)
        self._track_series(rid, job.unit.sid, job)

    async def _break_series(self, job: Job) -> None:
        assert job.unit is not None
        assert job.unit.rid is not None
        sid = job.unit.sid
        wanted = job.event
        assert wanted is not None
        row = self.snapshot.rows.get(sid)
        if (
            row is None
            or mapping.masked(row)
            or mapping.many2one(row.get("recurrence_id")) != job.unit.rid
        ):
            members = self._visible(self.snapshot.members(job.unit.rid))
            sid = int(members[0]["id"])
        if not self.snapshot.rows[sid].get("active"):
            await self._write([sid], {"active": True})
        await self.a._call(
            "calendar.event",
            "write",
            [sid],
            {"recurrency": False, "recurrence_update": "all_events"},
            context=WRITE_CONTEXT,
        )
        self.a._series.pop(job.unit.rid, None)
        fresh = Snapshot()
        await self.a._read_rows(fresh, [sid])
        await self.a._complete(fresh, ())
        self.snapshot.rows[sid] = fresh.rows[sid]
        self.snapshot.attendees.update(fresh.attendees)
        current = mapping.row_event(fresh.rows[sid], self.a._lookups(self.snapshot))
        values = self._values(
            wanted, mapping.changed_groups(current, wanted, self.a.projection), fresh.rows[sid]
        )
        if values:
            await self._write([sid], values)
        job.unit = Unit(sid)
        job.targets = {sid: wanted}

    async def _update_series(self, job: Job) -> None:
        assert job.unit is not None
        rid = job.unit.rid
        assert rid is not None
        wanted = job.event
        assert wanted is not None
        assert wanted.recurrence is not None
        record = self.snapshot.recurrences[rid]
        current = self.a._series_event(rid, self.snapshot, sid=job.unit.sid)
        rule = self._odoo_rule(wanted)
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

    async def _rebuild(self, job: Job, rule: Mapping[str, Any]) -> None:
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
                    {"base_event_id": sid},
                    context=WRITE_CONTEXT,
                )
        else:
            active = [
                int(r["id"]) for r in self._visible(self.snapshot.members(rid)) if r.get("active")
            ]
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
        await self.a._call("calendar.event", "write", [target], values, context=WRITE_CONTEXT)
        self.a._series.pop(rid, None)
        await self._relocate(job, target)

    # -- series rows -----------------------------------------------------------------------

    async def _reconcile(self) -> None:
        """Make every written series' rows hold its wanted occurrences."""
        live = {rid: job for rid, job in self.series.items() if job.error is None}
        if not live:
            return
        snapshot = Snapshot()
        extra = [job.unit.sid for job in live.values() if job.unit is not None]
        await self.a._read_rows(snapshot, extra)
        await self.a._complete(snapshot, live)
        self.snapshot.attendees.update(snapshot.attendees)
        lookups = self.a._lookups(snapshot)
        writes: list[RowWrite] = []
        cancels: list[tuple[Job, list[int]]] = []
        for rid, job in live.items():
            cancel: list[int] = []
            for row_id, values in self._series_writes(rid, job, snapshot, lookups, cancel):
                writes.append(RowWrite(job, row_id, values, snapshot.rows[row_id]))
            cancels.append((job, cancel))
        await self._write_rows(writes, series=True)
        await self._isolated(cancels, functools.partial(self._write, values={"active": False}))

    def _series_writes(
        self, rid: int, job: Job, snapshot: Snapshot, lookups: Lookups, cancel: list[int]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The row writes that make one series hold its wanted occurrences."""
        assert job.event is not None
        assert job.unit is not None
        members = self._visible(snapshot.members(rid))
        linked = {int(row["id"]) for row in snapshot.members(rid)}
        candidates = list(members)
        own = snapshot.rows.get(job.unit.sid)
        if own is not None and job.unit.sid not in linked:
            candidates.append(own)  # Odoo detached the base (§5.5b): take it back
        rows = [mapping.series_row(row, lookups) for row in candidates]
        plan = plan_rows(job.event, rows)
        if plan.missing:
            logger.info("series %s: Odoo made no row for %d occurrence(s)", rid, len(plan.missing))
        cancel.extend(row.id for row in plan.cancel)
        for row, target in plan.pairs:
            wire = snapshot.rows[row.id]
            self.snapshot.rows[row.id] = wire
            values = self._values(
                target, mapping.changed_groups(row.event, target, self.a.projection), wire
            )
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
        snapshot = Snapshot()
        await self.a._read_rows(snapshot, [job.unit.sid for job in done if job.unit])
        await self.a._complete(
            snapshot, {job.unit.rid for job in done if job.unit and job.unit.rid}
        )
        if await self._answers(snapshot, done):
            await self.a._read_attendees(snapshot, again=True)
        for job in done:
            assert job.unit is not None
            if job.error is not None:  # an answer Odoo refused
                continue
            key = job.write.key
            try:
                stored = self.a._build(snapshot, job.unit, key)
            except UNREADABLE as error:  # written, but read back garbled: retried next run
                job.error = _unreadable(error)
                continue
            if stored is None:
                job.error = NotFoundError(
                    "the event is gone after the write", code="odoo.exceptions.MissingError"
                )
                continue
            job.stored = stored
            job.done = True
        for row in snapshot.rows.values():
            if write_date_of(row):
                self.a._echo_rows[int(row["id"])] = Seen(write_date_of(row), row_hash(row))
        # a second write within the second of this read-back may come after it (odoo.md §5.17)
        stamps = [write_date_of(row) for row in snapshot.rows.values() if write_date_of(row)]
        if stamps:
            second = max(stamps)
            self.a._echo_open[second] = min(time.time(), self.a._echo_open.get(second, time.time()))
        window = self.a._window
        if window is not None:
            low, high = window_bounds(window)
            touched = {job.unit.rid for job in done if job.unit and job.unit.rid}
            self.a._echo_digests.update(
                series_digests(
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

    def _answers_for(self, job: Job, aid: int, attendee: mapping.AttendeeRow) -> bool:
        """Whether this write sets that attendee's answer."""
        if job.only_owner and attendee.partner_id != self.a._partner:
            return False
        # an answer calsync does not change is Odoo's to keep
        return (
            job.answers is None
            or aid not in self.existing_attendees
            or (attendee.email in job.answers)
        )

    async def _answers(self, snapshot: Snapshot, jobs: list[Job]) -> bool:
        """Set attendees' answers (``calendar.attendee.state``) to what the events say."""
        by_state: dict[str, list[tuple[Job, list[int]]]] = defaultdict(list)
        for job in jobs:
            for row_id, target in job.targets.items():
                row = snapshot.rows.get(row_id)
                if row is None or not row.get("active"):
                    continue
                answers = {a.email: a.response for a in target.attendees}
                organiser = _outside_organiser(target, row)
                if organiser is not None:
                    answers.setdefault(organiser, Response.ACCEPTED)
                for aid in row.get("attendee_ids") or ():
                    attendee = snapshot.attendees.get(aid)
                    if attendee is None or attendee.email not in answers:
                        continue
                    # calsync's mark of an organiser outside Odoo is always kept (organizer_of)
                    if attendee.email != organiser and not self._answers_for(job, aid, attendee):
                        continue
                    state = mapping.response_state(answers[attendee.email])
                    if attendee.state != state:
                        by_state[state].append((job, [aid]))
        for state, parts in sorted(by_state.items()):
            await self._isolated(parts, functools.partial(self._answer, state=state))
        return bool(by_state)

    async def _answer(self, ids: list[int], *, state: str) -> None:
        await self.a._call(
            "calendar.attendee", "write", ids, {"state": state}, context=WRITE_CONTEXT
        )


@attrs.define
class _Needs:
    """The records one event points to: partners by address, alarms by minutes, tags."""

    people: dict[str, str] = attrs.Factory(dict)
    minutes: set[int] = attrs.Factory(set)
    names: set[str] = attrs.Factory(set)
    #: organisers whose Odoo user a create looks up
    organisers: set[str] = attrs.Factory(set)

    def refusal(self, refused: Mapping[str, Refused]) -> ProviderError | None:
        """The error of the first record this event needs that Odoo refused to make."""
        wanted: dict[str, set[Any]] = {
            "a contact for": set(self.people),
            "an alarm of minutes": self.minutes,
            "the tag": self.names,
        }
        for what, lost in refused.items():
            found = sorted((value for value in wanted[what] if value in lost), key=str)
            if found:
                error = lost[found[0]]
                return type(error)(
                    f"Odoo refused to make {what} {found[0]!r}, which this event needs: "
                    f"{error.message}",
                    code=error.code,
                    status=error.status,
                )
        return None


def _needs(job: Job, owner_email: str | None) -> _Needs:
    assert job.event is not None
    need = _Needs()
    organizer = job.event.organizer
    if organizer and organizer.email != owner_email:
        # creates and updates alike list the organiser among the partners
        need.people[organizer.email] = organizer.name
        if isinstance(job.write, Create):
            need.organisers.add(organizer.email)
    for event in _all_events(job.event):
        for attendee in event.attendees:
            if need.people.get(attendee.email) in (None, ""):
                need.people[attendee.email] = attendee.name
        need.minutes.update(event.reminders)
        need.names.update(event.categories)
    return need


def _weekly_interval(job: Job) -> bool:
    """Whether a series' rows depend on the Odoo user's week start (weekly, every n weeks)."""
    assert job.event is not None
    assert job.event.recurrence is not None
    rule = job.event.recurrence.rule
    return rule.frequency is Frequency.WEEKLY and rule.interval > 1


def _outside_organiser(target: Event, row: Mapping[str, Any]) -> str | None:
    """The address of the organiser a row without ``user_id`` holds as an attendee."""
    if target.organizer is None or row.get("user_id"):
        return None
    return target.organizer.email


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


def changed_answers(current: Event, wanted: Event) -> set[str]:
    """Addresses whose answer differs between what calsync read and what it writes."""
    before = _answer_map(current)
    return {
        email
        for (key, email), answer in _answer_map(wanted).items()
        if before.get((key, email)) != answer
    }


def _current_id(job: Job) -> int | None:
    write = job.write
    assert isinstance(write, (Update, Delete))
    return int(write.current.id) if write.current.id.isdigit() else None


def _load_code(text: str) -> str:
    for name in ("ValidationError", "UserError", "AccessError", "ValueError", "MissingError"):
        if name in text:
            return f"odoo.exceptions.{name}" if name != "ValueError" else "builtins.ValueError"
    return "odoo.load"


def _unreadable(error: Exception) -> MalformedAnswerError:
    return MalformedAnswerError(
        f"Odoo answered with an event calsync cannot read: {type(error).__name__}: {error}"
    )
