"""``OdooCalendar.apply``: one batch of writes, in phases.

1. references: partners of every new address (one look-up, one multi-create),
   alarms, tags;
2. deletes: archive (one ``write``) or unlink (series: ``action_mass_deletion``);
3. creates: one ``load`` per column set, keyed by external id (a rejected batch
   is split in halves to isolate the bad rows);
4. updates: only the fields calsync changes (single events), a rebuild with
   ``recurrence_update='all_events'`` for a new rule or time (series);
5. series rows: every written series' rows are made to hold its wanted
   occurrences (``self_only`` writes, archived cancellations);
6. answers: ``calendar.attendee.state`` grouped by state;
7. read-back: what Odoo now holds becomes each write's result.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from calsync._errors import (
    AccessDeniedError,
    InvalidEventError,
    NotFoundError,
    ProviderError,
    RejectedError,
)
from calsync._model._event import Event
from calsync._model._recurrence import Frequency, Weekday
from calsync._model._values import Response
from calsync._protocol import Create, Delete, RemoteEvent, Update, Write
from calsync.adapters.odoo import _mapping as mapping
from calsync.adapters.odoo._cursor import row_hash, shift
from calsync.adapters.odoo._mapping import ODOO_PROJECTION, Lookups
from calsync.adapters.odoo._recurrence import check_rule, rule_key, rule_to_odoo
from calsync.adapters.odoo._series import local_date, plan_rows
from calsync.adapters.odoo._snapshot import (
    ALL_CONTEXT,
    DAY,
    SECOND,
    WRITE_CONTEXT,
    Snapshot,
    Unit,
    external_id,
    series_digests,
    write_date_of,
)

if TYPE_CHECKING:
    from calsync.adapters.odoo._adapter import OdooCalendar

__all__ = ["Apply", "Job", "changed_answers"]

logger = logging.getLogger("calsync.adapters.odoo")


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


#: Errors that concern one event (its content, its record), not the connection: they
#: fail that event's write and let the others go on.
EVENT_ERRORS = (RejectedError, NotFoundError, AccessDeniedError)


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
                event.recurrence.rule, event.start, event.timezone, event.duration, weeks_start
            )
        except InvalidEventError as error:
            job.error = RejectedError(
                f"Odoo cannot hold this series: {error}", code="unsupported-recurrence"
            )

    # -- references ------------------------------------------------------------------------

    async def _references(self, jobs: list[Job]) -> None:
        people: dict[str, str] = {}
        minutes: set[int] = set()
        names: set[str] = set()
        organisers: set[str] = set()
        for job in jobs:
            if isinstance(job.write, Update) and job.write.current.read_only:
                continue
            assert job.event is not None
            organizer = job.event.organizer
            if organizer and organizer.email != self.a.owner_email:
                # creates and updates alike list the organiser among the partners
                people.setdefault(organizer.email, organizer.name)
                if isinstance(job.write, Create):
                    organisers.add(organizer.email)
            for event in _all_events(job.event):
                for attendee in event.attendees:
                    if people.get(attendee.email) in (None, ""):
                        people[attendee.email] = attendee.name
                minutes.update(event.reminders)
                names.update(event.categories)
        if people:
            self.people = await self.a._partners.resolve(people)
        if organisers:
            self.organisers = await self.a._users.uids_for(organisers)
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
        """The event's attendees and its organiser: Odoo lists the organiser among them."""
        partners = {self.people[a.email] for a in event.attendees if a.email in self.people}
        organizer = event.organizer
        if organizer is not None and organizer.email in self.people:
            partners.add(self.people[organizer.email])
        else:
            partners.add(self.a._partner)
        return sorted(partners)

    def _organiser_uid(self, event: Event) -> int:
        """Who organises the event in Odoo: its organiser's user when Odoo has one, else the owner.

        A meeting this account only attends, created in Odoo from the invitation
        in its Outlook, stays the organiser's meeting: its other attendees' own
        syncs then find it rather than make another.
        """
        organizer = event.organizer
        if organizer is not None:
            return self.organisers.get(organizer.email, self.a._uid)
        return self.a._uid

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
        numbers = [n for job in jobs if (n := _current_id(job)) is not None]
        snapshot = Snapshot()
        await self.a._read_rows(snapshot, numbers)
        units = {n: unit for n in numbers if (unit := self.a.unit_of(n, snapshot)) is not None}
        recurrences = {unit.rid for unit in units.values() if unit.rid is not None}
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
        series_bases: dict[int, None] = {}
        for number, unit in units.items():
            row = snapshot.rows.get(number)
            rid = unit.rid
            members = [int(r["id"]) for r in snapshot.members(rid)] if rid else []
            if self.a._on_delete == "archive":
                doomed.update(m for m in members if snapshot.rows[m].get("active"))
                if row is not None and row.get("active"):
                    doomed.add(number)
            elif rid is not None and members:
                series_bases[members[0]] = None
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

    def _load_row(self, job: Job, columns: list[str]) -> list[str]:
        assert isinstance(job.write, Create)
        event = job.event
        assert event is not None
        values: dict[str, Any] = {
            "id": external_id(job.write.key),
            **mapping.scalar_values(event),
            **mapping.time_values(event, for_load=True),
            "active": True,
            "user_id/.id": self._organiser_uid(event),
            "partner_ids/.id": self._partner_ids(event),
            "alarm_ids/.id": sorted({self.alarms[m] for m in event.reminders if m in self.alarms}),
            "categ_ids/.id": self._tag_ids(event),
        }
        if event.recurrence is not None:
            rule = rule_to_odoo(event.recurrence.rule, local_date(event.start, event.timezone))
            values.update(rule, recurrency=True, event_tz=event.timezone or False)
        return [mapping.load_cell(values.get(column)) for column in columns]

    async def _creates(self, jobs: list[Job]) -> None:
        groups: dict[tuple[str, ...], list[Job]] = defaultdict(list)
        for job in jobs:
            assert job.event is not None
            names = load_columns(job.event.recurrence is not None)
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

    async def _load(self, columns: list[str], rows: list[tuple[Job, list[str]]]) -> None:
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

    async def _update(self, job: Job) -> None:
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

    async def _make_series(self, job: Job, row: Mapping[str, Any]) -> None:
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

    async def _relocate(self, job: Job, row_id: int) -> None:
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
        job.unit = Unit(job.unit.sid, rid)
        self._track_series(rid, job.unit.sid, job)

    async def _break_series(self, job: Job) -> None:
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
        fresh = Snapshot()
        await self.a._read_rows(fresh, [sid])
        await self.a._complete(fresh, ())
        self.snapshot.rows[sid] = fresh.rows[sid]
        self.snapshot.attendees.update(fresh.attendees)
        current = mapping.row_event(fresh.rows[sid], self.a._lookups(self.snapshot))
        values = self._values(wanted, mapping.changed_groups(current, wanted), fresh.rows[sid])
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
        snapshot = Snapshot()
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
        self, rid: int, job: Job, snapshot: Snapshot, lookups: Lookups, cancel: list[int]
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
        rows = [mapping.series_row(row, lookups) for row in candidates]
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
        snapshot = Snapshot()
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
            if write_date_of(row):
                self.a._echo_rows[int(row["id"])] = (row_hash(row), write_date_of(row))
        window = self.a._window
        if window is not None:
            low = mapping.format_datetime(window.start - DAY)
            high = mapping.format_datetime(window.end + DAY)
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

    async def _answers(self, snapshot: Snapshot, jobs: list[Job]) -> bool:
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


def _weekly_interval(job: Job) -> bool:
    """Whether a series' rows depend on the Odoo user's week start (weekly, every n weeks)."""
    assert job.event is not None
    assert job.event.recurrence is not None
    rule = job.event.recurrence.rule
    return rule.frequency is Frequency.WEEKLY and rule.interval > 1


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
