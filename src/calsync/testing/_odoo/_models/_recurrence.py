"""``calendar.recurrence``: the stored truth of a series [09-12, 15-21, 31, 32].

A series is materialised up front: creating it creates every occurrence row
(720 for ``forever``). The recurrence keeps the rule fields, ``base_event_id``,
the ``rrule`` text (``DTSTART`` = computation time) and its English ``name``.
Writing rule fields recomputes the text and parses it back into the fields, so
``forever`` reads back as ``count`` 720 and a trimmed series as ``end_date``
with ``count`` 0 [15]. An ``rrule`` given as input is parsed into the fields
and stored exactly as given.

``apply`` is Odoo's ``_apply_recurrence``: compute the ranges the rule wants
from the base event, keep the active occurrences that match one, detach the
others (``recurrence_id`` false, ``recurrency`` true) and create the missing
ones as copies of the base event. Odoo creates them in the iteration order of a
Python ``set`` of datetimes, which depends on the server process's hash seed;
the emulator's order comes from :attr:`Settings.series_order` (by default a
fixed pseudo-random order, so ids are not chronological, as on a real server).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from calsync.testing._odoo._calendar import (
    RULE_FIELDS,
    Rule,
    occurrences,
    parse_rrule,
    range_calculation,
    rule_name,
    serialize_rrule,
    start_of_period,
    zone_of,
)
from calsync.testing._odoo._models._base import Env, Model
from calsync.testing._odoo._models._simple import ResLang

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["CalendarRecurrence", "scrambled"]

Range = tuple[datetime, datetime]
#: fields the stored rrule text depends on (not event_tz)
RRULE_DEPENDS = frozenset(RULE_FIELDS) - {"event_tz"}


def scrambled(ranges: list[Range]) -> list[Range]:
    """A fixed pseudo-random order, standing in for a Python set's iteration order."""
    return sorted(ranges, key=lambda item: hashlib.sha256(f"{item[0]}|{item[1]}".encode()).digest())


class CalendarRecurrence(Model):
    """``calendar.recurrence``."""

    _name = "calendar.recurrence"

    def defaults(self, env: Env) -> dict[str, Any]:
        """Weekly, once, on the context's (or the user's) time zone."""
        return {
            "rrule_type": "weekly",
            "end_type": "count",
            "interval": 1,
            "count": 1,
            "month_by": "date",
            "day": 1,
            "event_tz": env.tz or env.user.get("tz"),
        }

    # -- creation and rule bookkeeping -------------------------------------------------------

    def create_records(self, env: Env, vals_list: Any) -> list[int]:
        """Create recurrences, link their events, then compute (or parse) the rule text."""
        texts = [vals.get("rrule") for vals in vals_list]
        links = [vals.get("calendar_event_ids") or [] for vals in vals_list]
        plain = [
            {
                key: value
                for key, value in vals.items()
                if key not in ("rrule", "calendar_event_ids")
            }
            for vals in vals_list
        ]
        ids = super().create_records(env, plain)
        events = env.events
        for rid, commands in zip(ids, links, strict=True):
            linked = _command_ids(commands)
            if linked:
                events.write_plain(env, linked, {"recurrence_id": rid})
        for rid, text in zip(ids, texts, strict=True):
            self.sync_rule(env, rid, text or None)
        return ids

    def write_records(self, env: Env, ids: Any, vals: Mapping[str, Any]) -> None:
        """Rule changes recompute the rule text and the name."""
        text = vals.get("rrule")
        plain = {key: value for key, value in vals.items() if key != "rrule"}
        super().write_records(env, ids, plain)
        if text or any(name in vals for name in RRULE_DEPENDS):
            for rid in ids:
                self.sync_rule(env, rid, text or None)

    def sync_rule(self, env: Env, rid: int, text: str | None) -> None:
        """Store the rule text (serialised now, or as given) and the fields parsed from it."""
        if text is None:
            text = serialize_rrule(self.rule(rid), env.now, self._week_start(env))
        values = parse_rrule(
            text, self.dtstart(env, rid), now=env.now, major=self.registry.settings.major
        )
        self.db.update(self._name, rid, {**values, "rrule": text})
        self.db.update(self._name, rid, {"name": rule_name(self.rule(rid))}, move=False)

    def parse_unstarted(self, env: Env, rids: Sequence[int]) -> None:
        """Parse the rule text of new series again as if they had no start yet.

        Odoo computes a new series' ``rrule`` when the transaction flushes, after
        its occurrences were made from the fields, and its inverse parses it back
        while ``dtstart`` (read from the database) finds no events: dateutil then
        takes the current time. Only Odoo 17's yearly parse notices (day and month
        from that date: its rows and its fields then disagree).
        """
        for rid in rids:
            row = self.db.row(self._name, rid)
            if row is not None and row.get("rrule"):
                values = parse_rrule(
                    str(row["rrule"]), None, now=env.now, major=self.registry.settings.major
                )
                self.db.update(self._name, rid, values)

    def rule(self, rid: int) -> Rule:
        """The stored rule of a recurrence."""
        row = self.db.row(self._name, rid)
        assert row is not None
        return Rule.from_row(row)

    @staticmethod
    def _week_start(env: Env) -> int:
        """The user's language's week start as a dateutil weekday (0 = Monday)."""
        languages = env.model("res.lang")
        assert isinstance(languages, ResLang)
        return languages.week_start(env, env.user.get("lang"))

    # -- computed fields ---------------------------------------------------------------------

    def dtstart(self, env: Env, rid: int) -> datetime | None:
        """The first start among the series' active events."""
        starts = [self._event_row(eid)["start"] for eid in self.event_ids(env, rid)]
        return min(starts) if starts else None

    def _compute_dtstart(self, env: Env, rid: int, real: bool) -> datetime | None:
        return self.dtstart(env, rid)

    def _event_row(self, eid: int) -> Mapping[str, Any]:
        row = self.db.row("calendar.event", eid)
        assert row is not None
        return row

    def event_ids(self, env: Env, rid: int, *, active_only: bool = True) -> list[int]:
        """The events linked to a recurrence (``calendar_event_ids``), active ones by default."""
        self.db.flush("calendar.event", {"active", "start"})  # the one2many's query names them
        linked = self.db.lookup("calendar.event", "recurrence_id", rid)
        return [eid for eid in linked if self._event_row(eid).get("active") or not active_only]

    # -- series logic ------------------------------------------------------------------------

    def is_allday(self, env: Env, rid: int) -> bool:
        """Odoo counts a series as all-day when most (or half) of its events are."""
        score = sum(
            1 if self._event_row(eid).get("allday") else -1 for eid in self.event_ids(env, rid)
        )
        return score >= 0

    def outliers(self, env: Env, rid: int) -> list[int]:
        """Active events whose start is not an occurrence of the rule (exceptions)."""
        ids = self.event_ids(env, rid)
        if not ids:
            return []
        first = min(self._event_row(eid)["start"] for eid in ids)
        starts = set(
            occurrences(
                self.rule(rid),
                first,
                allday=self.is_allday(env, rid),
                context_tz=env.tz,
                week_start=self._week_start(env),
            )
        )
        return [eid for eid in ids if self._event_row(eid)["start"] not in starts]

    def first_event(self, env: Env, rid: int, *, include_outliers: bool = False) -> int | None:
        """The earliest active event (exceptions excluded unless asked)."""
        ids = sorted(self.event_ids(env, rid), key=lambda eid: self._event_row(eid)["start"])
        if not include_outliers:
            skip = set(self.outliers(env, rid))
            ids = [eid for eid in ids if eid not in skip]
        return ids[0] if ids else None

    def with_base_in(self, env: Env, event_ids: Sequence[int]) -> list[int]:
        """Recurrences whose base event is one of ``event_ids``."""
        wanted = set(event_ids)
        return [
            rid
            for rid in self.all_ids(env)
            if self.db.fetch(self._name, rid).get("base_event_id") in wanted
        ]

    def select_new_base(self, env: Env, ids: list[int]) -> None:
        """Re-select ``base_event_id`` after the base was archived or deleted [18, 19]."""
        for rid in ids:
            if self.db.exists(self._name, rid):
                self.write_records(
                    env, [rid], {"base_event_id": self.first_event(env, rid) or False}
                )

    def detach(self, env: Env, event_ids: list[int]) -> list[int]:
        """Unlink events from their series: ``recurrence_id`` false, ``recurrency`` true."""
        if event_ids:
            env.events.write_plain(
                env.with_context(dont_notify=True),
                event_ids,
                {"recurrence_id": False, "recurrency": True},
            )
        return event_ids

    def events_from(self, env: Env, rid: int, start: datetime) -> list[int]:
        """Active events of the series starting at or after ``start``."""
        return [eid for eid in self.event_ids(env, rid) if self._event_row(eid)["start"] >= start]

    def stop_at(self, env: Env, rid: int, event_id: int) -> list[int]:
        """End the series before ``event_id``: detach it and what follows, set UNTIL [15]."""
        event = self._event_row(event_id)
        detached = self.detach(env, self.events_from(env, rid, event["start"]))
        if not self.event_ids(env, rid):
            self.unlink_records(env, [rid])
            return detached
        rule = self.rule(rid)
        zone = zone_of(rule, env.tz)
        if event.get("allday"):
            day = datetime.combine(event["start_date"], datetime.min.time())
            until = start_of_period(rule, day, zone, self._week_start(env), check_dst=False).date()
        else:
            start = start_of_period(rule, event["start"], zone, self._week_start(env))
            until = start.replace(tzinfo=timezone.utc).astimezone(zone).date()
        self.write_records(env, [rid], {"end_type": "end_date", "until": until - timedelta(days=1)})
        return detached

    def split_from(self, env: Env, rid: int, event_id: int, values: Mapping[str, Any]) -> int:
        """Stop the series at ``event_id`` and start a new one from it."""
        copied = self.copy_values(rid)
        detached = self.stop_at(env, rid, event_id)
        count = values.get("count", 0) or len(detached)
        [new] = self.create_records(
            env,
            [
                {
                    **copied,
                    **values,
                    "base_event_id": event_id,
                    "calendar_event_ids": [(6, 0, detached)],
                    "count": max(count, 1),
                }
            ],
        )
        return new

    def copy_values(self, rid: int) -> dict[str, Any]:
        """``copy_data`` of a recurrence: its rule fields."""
        row = self.db.row(self._name, rid)
        assert row is not None
        return {name: row.get(name) if row.get(name) is not None else False for name in RULE_FIELDS}

    def apply(self, env: Env, ids: list[int]) -> list[int]:
        """Create the missing occurrences, detach the ones off the rule; return the detached."""
        to_create: list[dict[str, Any]] = []
        keep: set[int] = set()
        events = env.events
        involved: list[int] = []
        for rid in ids:
            row = self.db.row(self._name, rid)
            if row is None or not row.get("base_event_id"):
                continue
            base = row["base_event_id"]
            if self._event_row(base).get("recurrence_id") != rid:
                events.write_plain(env, [base], {"recurrence_id": rid})
            involved.append(rid)
            synced, missing = self._reconcile(env, rid, base)
            keep |= synced
            copied = events.copy_values(env, base)
            for start, stop in self._ordered(missing):
                to_create.append(
                    {
                        **copied,
                        "start": start,
                        "stop": stop,
                        "recurrence_id": rid,
                        "follow_recurrence": True,
                    }
                )
        stale = [eid for rid in involved for eid in self.event_ids(env, rid) if eid not in keep]
        detached = self.detach(env, stale)
        if to_create:
            quiet = env.with_context(no_mail_to_attendees=True, mail_create_nolog=True)
            events.create_from_rpc(quiet, to_create)
        return detached

    def _reconcile(
        self, env: Env, rid: int, base: int
    ) -> tuple[set[int], list[tuple[datetime, datetime]]]:
        event = self._event_row(base)
        duration: timedelta = event["stop"] - event["start"]
        ranges = range_calculation(
            self.rule(rid),
            event["start"],
            duration,
            allday=self.is_allday(env, rid),
            context_tz=env.tz,
            week_start=self._week_start(env),
        )
        synced = {eid for eid in self.event_ids(env, rid) if self._range(eid) in ranges}
        existing = {self._range(eid) for eid in synced}
        return synced, sorted(ranges - existing)

    def _range(self, eid: int) -> tuple[datetime, datetime]:
        row = self._event_row(eid)
        return row["start"], row["stop"]

    def _ordered(self, ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
        hook = self.registry.settings.series_order
        return list(hook(list(ranges))) if hook is not None else scrambled(ranges)

    def write_events(self, env: Env, rid: int, values: Mapping[str, Any]) -> None:
        """Write values on every active event of the series, quietly [16]."""
        ids = self.event_ids(env, rid)
        if ids:
            quiet = env.with_context(no_mail_to_attendees=True, dont_notify=True)
            env.events.write_from_rpc(quiet, ids, {**values, "recurrence_update": "self_only"})


def _command_ids(commands: Any) -> list[int]:
    ids: list[int] = []
    for command in commands:
        if command[0] == 4:
            ids.append(int(command[1]))
        elif command[0] == 6:
            ids.extend(int(item) for item in command[2])
    return ids
