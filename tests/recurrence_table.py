"""Every Outlook recurrence kind through Outlook -> model -> Odoo and Odoo -> model -> Outlook.

Each :class:`Case` is a series as one provider holds it. For a series written
in Outlook:

1. it is created on the Graph emulator, whose expansion follows Microsoft's
   documented semantics (see ``calsync.testing._graph._recurrence``): those
   are **Outlook's** occurrences;
2. calsync reads the master as its adapter does (``series_from_graph``): the
   model's occurrences must be Outlook's;
3. the model goes to Odoo through the adapter's :func:`check_rule`: either
   the Odoo fields it sends, or a typed refusal
   (:class:`~calsync.UnsupportedRecurrenceError`) with its reason. The fields
   (those calsync sends, and for a series refused because Odoo would expand it
   otherwise, the fields a naive writer would send) are created on an Odoo
   server: **Odoo's** occurrences are the rows it makes;
4. those rows are read back as the adapter reads a series (``rule_from_odoo``
   and ``assemble``) and written to Outlook again (``rule_to_graph``), whose
   expansion must give the rows back.

A series written in Odoo (its own fields) takes the way back first. The Odoo
server is the Odoo emulator unless ``CALSYNC_ODOO_URL``, ``CALSYNC_ODOO_DB``,
``CALSYNC_ODOO_ADMIN_LOGIN`` and ``CALSYNC_ODOO_ADMIN_PASSWORD`` name a real
one (each series is created under a unique name and deleted afterwards).
``bench/recurrence_table.py`` prints the table; the test suite checks it.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import attrs
import odoorpc

from calsync import InvalidEventError, UnsupportedRecurrenceError
from calsync.adapters.odoo._recurrence import (
    RECURRENCE_FIELDS,
    check_rule,
    odoo_starts,
    rule_from_odoo,
    rule_to_odoo,
    week_start,
)
from calsync.adapters.odoo._series import Row, assemble, local_date
from calsync.adapters.outlook._mapping import series_from_graph
from calsync.adapters.outlook._recurrence import rule_to_graph
from calsync.model import Event, OccurrenceKey
from calsync.testing import GraphEmulator, OdooEmulator

UTC = timezone.utc
#: Occurrences compared per series (an endless one included).
SHOWN = 24
_ENV = ("CALSYNC_ODOO_URL", "CALSYNC_ODOO_DB", "CALSYNC_ODOO_ADMIN_LOGIN",
        "CALSYNC_ODOO_ADMIN_PASSWORD")  # fmt: skip
_QUIET = {"no_mail_to_attendees": True, "tz": "UTC"}
_ALL = {"active_test": False, "tz": "UTC"}


@attrs.frozen
class Case:
    """A series as one provider holds it: a Graph ``patternedRecurrence`` or Odoo's fields."""

    name: str
    start: str  # local wall time, ISO
    zone: str = "Europe/Brussels"
    pattern: Mapping[str, Any] | None = None
    span: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "numbered", "count": 6})
    odoo: Mapping[str, Any] | None = None

    @property
    def origin(self) -> str:
        return "Outlook" if self.pattern is not None else "Odoo"

    def local_start(self) -> datetime:
        return datetime.fromisoformat(self.start).replace(tzinfo=ZoneInfo(self.zone))


def _numbered(count: int) -> dict[str, Any]:
    return {"type": "numbered", "numberOfOccurrences": count}


def _until(day: str) -> dict[str, Any]:
    return {"type": "endDate", "endDate": day}


NO_END: dict[str, Any] = {"type": "noEnd"}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def _p(kind: str, interval: int = 1, **parts: Any) -> dict[str, Any]:
    return {"type": kind, "interval": interval, "firstDayOfWeek": "sunday", **parts}


CASES: tuple[Case, ...] = (
    Case("daily", "2027-03-15T09:00", pattern=_p("daily"), span=_numbered(6)),
    Case("daily, every 3 days, until", "2027-03-15T09:00", pattern=_p("daily", 3),
         span=_until("2027-04-20")),
    Case("daily, no end", "2027-03-15T09:00", pattern=_p("daily"), span=NO_END),
    Case("weekly, one day", "2027-03-15T09:00",
         pattern=_p("weekly", daysOfWeek=["monday"]), span=_numbered(6)),
    Case("weekly, weekdays", "2027-03-15T09:00",
         pattern=_p("weekly", daysOfWeek=WEEKDAYS), span=_until("2027-04-02")),
    Case("weekly, every 2 weeks, Mon+Sun, weeks from Sunday", "2027-03-14T09:00",
         pattern=_p("weekly", 2, daysOfWeek=["sunday", "monday"]), span=_numbered(6)),
    Case("weekly, every 2 weeks, Mon+Sun, weeks from Monday", "2027-03-15T09:00",
         pattern={**_p("weekly", 2, daysOfWeek=["sunday", "monday"]),
                  "firstDayOfWeek": "monday"}, span=_numbered(6)),
    Case("weekly, every 2 weeks, 08:00 Monday in Sydney", "2027-03-15T08:00",
         zone="Australia/Sydney", pattern=_p("weekly", 2, daysOfWeek=["monday"]),
         span=_numbered(6)),
    Case("absoluteMonthly, day 15", "2027-01-15T09:00",
         pattern=_p("absoluteMonthly", dayOfMonth=15), span=_numbered(6)),
    Case("absoluteMonthly, day 31 (the last day)", "2027-01-31T09:00",
         pattern=_p("absoluteMonthly", dayOfMonth=31), span=_numbered(6)),
    Case("absoluteMonthly, day 30 (February: the 28th)", "2027-01-30T09:00",
         pattern=_p("absoluteMonthly", dayOfMonth=30), span=_numbered(6)),
    Case("absoluteMonthly, day 29, every 2 months from January", "2027-01-29T09:00",
         pattern=_p("absoluteMonthly", 2, dayOfMonth=29), span=_numbered(6)),
    Case("absoluteMonthly, day 15, every 2 months, off-pattern start", "2027-01-20T09:00",
         pattern=_p("absoluteMonthly", 2, dayOfMonth=15), span=_numbered(6)),
    Case("absoluteMonthly, day 1, every 2 months, 08:00 in Sydney", "2027-03-01T08:00",
         zone="Australia/Sydney", pattern=_p("absoluteMonthly", 2, dayOfMonth=1),
         span=_numbered(4)),
    Case("relativeMonthly, first Thursday, every 2 months, from 2017-08-29 (Graph's example)",
         "2017-08-29T09:00", pattern=_p("relativeMonthly", 2, daysOfWeek=["thursday"],
                                        index="first"), span=_numbered(5)),
    Case("relativeMonthly, second Tuesday", "2027-01-12T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=["tuesday"], index="second"),
         span=_until("2027-09-30")),
    Case("relativeMonthly, third Wednesday, every 3 months", "2027-01-20T09:00",
         pattern=_p("relativeMonthly", 3, daysOfWeek=["wednesday"], index="third"),
         span=_numbered(5)),
    Case("relativeMonthly, fourth Friday", "2027-01-22T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=["friday"], index="fourth"), span=NO_END),
    Case("relativeMonthly, last Friday", "2027-01-29T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=["friday"], index="last"), span=_numbered(6)),
    Case("relativeMonthly, first weekday", "2027-02-01T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=WEEKDAYS, index="first"), span=_numbered(6)),
    Case("relativeMonthly, last weekday", "2027-01-29T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=WEEKDAYS, index="last"), span=_numbered(6)),
    Case("relativeMonthly, second Thursday or Friday", "2027-01-08T09:00",
         pattern=_p("relativeMonthly", daysOfWeek=["thursday", "friday"], index="second"),
         span=_numbered(6)),
    Case("absoluteYearly, March 15", "2027-03-15T09:00",
         pattern=_p("absoluteYearly", dayOfMonth=15, month=3), span=_numbered(4)),
    Case("absoluteYearly, June 30", "2027-06-30T09:00",
         pattern=_p("absoluteYearly", dayOfMonth=30, month=6), span=_numbered(4)),
    Case("absoluteYearly, February 29 (the 28th in common years)", "2028-02-29T09:00",
         pattern=_p("absoluteYearly", dayOfMonth=29, month=2), span=_numbered(5)),
    Case("absoluteYearly, January 31, every 2 years, until", "2027-01-31T09:00",
         pattern=_p("absoluteYearly", 2, dayOfMonth=31, month=1), span=_until("2035-12-31")),
    Case("relativeYearly, fourth Thursday of November", "2027-11-25T09:00",
         pattern=_p("relativeYearly", daysOfWeek=["thursday"], index="fourth", month=11),
         span=_numbered(4)),
    Case("relativeYearly, last Monday of May, every 2 years", "2027-05-31T09:00",
         pattern=_p("relativeYearly", 2, daysOfWeek=["monday"], index="last", month=5),
         span=_numbered(4)),
    Case("relativeYearly, first weekday of January", "2027-01-01T09:00",
         pattern=_p("relativeYearly", daysOfWeek=WEEKDAYS, index="first", month=1),
         span=_numbered(4)),
    Case("Odoo: monthly, day 31 (skips shorter months)", "2027-01-31T09:00",
         odoo={"rrule_type": "monthly", "month_by": "date", "day": 31, "interval": 1,
               "end_type": "count", "count": 6}),
    Case("Odoo: monthly, day 31, every 2 months from January", "2027-01-31T09:00",
         odoo={"rrule_type": "monthly", "month_by": "date", "day": 31, "interval": 2,
               "end_type": "count", "count": 4}),
    Case("Odoo: yearly, February 29 (leap years only)", "2028-02-29T09:00",
         odoo={"rrule_type": "yearly", "interval": 1, "end_type": "count", "count": 3}),
    Case("Odoo: weekly, every 2 weeks, Mon+Sun (en_US: weeks from Sunday)", "2027-03-14T09:00",
         odoo={"rrule_type": "weekly", "interval": 2, "mon": True, "sun": True,
               "end_type": "count", "count": 6}),
)  # fmt: skip


# -- the two providers ---------------------------------------------------------------------


@attrs.define
class Odoo:
    """An Odoo server over JSON-RPC (odoorpc), as the admin."""

    client: Any
    label: str
    week: str = "7"
    #: whether the server keeps Odoo's yearly type (18.0 on; see ``rule_to_odoo``)
    yearly_type: bool = True

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.client.execute_kw(model, method, list(args), kwargs)

    def series(self, name: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Row]]:
        """Create a series; its recurrence record and every linked row (start order)."""
        self.call("calendar.event", "create", [{"name": name, **values}], context=_QUIET)
        rows = self.call(
            "calendar.event",
            "search_read",
            [("name", "=", name)],
            fields=["start", "stop", "allday", "active", "recurrence_id", "follow_recurrence"],
            order="start asc, id asc",
            context=_ALL,
        )
        rids = sorted({row["recurrence_id"][0] for row in rows if row["recurrence_id"]})
        record: dict[str, Any] = {}
        if rids:
            [record] = self.call(
                "calendar.recurrence", "read", rids[:1], fields=list(RECURRENCE_FIELDS)
            )
        linked = [_row(row) for row in rows if row["recurrence_id"] and row["active"]]
        return record, linked

    def remove(self, name: str) -> None:
        """Delete the series: its rows (archived ones too), then its recurrences."""
        ids = self.call("calendar.event", "search", [("name", "=", name)], context=_ALL)
        rows = self.call("calendar.event", "read", ids, ["recurrence_id"], context=_ALL)
        rids = sorted({row["recurrence_id"][0] for row in rows if row["recurrence_id"]})
        try:
            self.call("calendar.event", "unlink", ids, context=_QUIET)
        except odoorpc.error.RPCError:  # a row went first (another client's cleanup): the rest
            left = self.call("calendar.event", "search", [("id", "in", ids)], context=_ALL)
            self.call("calendar.event", "unlink", left, context=_QUIET)
        live = self.call("calendar.recurrence", "search", [("id", "in", rids)])
        if live:
            self.call("calendar.recurrence", "unlink", live)


def _row(row: Mapping[str, Any]) -> Row:
    start = datetime.fromisoformat(row["start"]).replace(tzinfo=UTC)
    stop = datetime.fromisoformat(row["stop"]).replace(tzinfo=UTC)
    event = Event("x", start, stop)
    return Row(int(row["id"]), event, bool(row["active"]), bool(row["follow_recurrence"]))


def real_server() -> dict[str, str] | None:
    """The real Odoo server the environment names, or None."""
    values = {name: os.environ.get(name, "") for name in _ENV}
    return values if all(values.values()) else None


def missing_server_reason() -> str:
    return "no real Odoo server: set " + ", ".join(_ENV)


@contextmanager
def odoo_server(real: Mapping[str, str] | None) -> Iterator[Odoo]:
    """The real server named by ``real``, else an Odoo emulator."""
    if real is not None:
        parts = urlsplit(real["CALSYNC_ODOO_URL"])
        client = odoorpc.ODOO(parts.hostname, port=parts.port or 80, timeout=120)
        client.login(
            real["CALSYNC_ODOO_DB"],
            real["CALSYNC_ODOO_ADMIN_LOGIN"],
            real["CALSYNC_ODOO_ADMIN_PASSWORD"],
        )
        odoo = Odoo(client, f"real Odoo {client.version} at {real['CALSYNC_ODOO_URL']}")
        odoo.week = _week_of(odoo)
        odoo.yearly_type = int(client.version.split(".")[0].split("-")[-1]) >= 18
        yield odoo
        return
    with OdooEmulator() as emulator:
        parts = urlsplit(emulator.url)
        client = odoorpc.ODOO(parts.hostname, port=parts.port, timeout=60)
        client.login(emulator.db, "admin", "admin")
        odoo = Odoo(client, "the Odoo emulator (18.0)")
        odoo.week = _week_of(odoo)
        yield odoo


def _week_of(odoo: Odoo) -> str:
    [user] = odoo.call("res.users", "read", [odoo.client.env.uid], fields=["lang"])
    found = odoo.call(
        "res.lang", "search_read", [("code", "=", user["lang"] or "en_US")],
        fields=["week_start"], context=_ALL,
    )  # fmt: skip
    return str(found[0]["week_start"]) if found else "7"


@attrs.define
class Outlook:
    """The Graph emulator, one mailbox."""

    graph: GraphEmulator
    mailbox: Any

    def series(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], list[datetime]]:
        """Create a series; the master as Graph reads it, and its first occurrences."""
        created = self.graph.create_event(self.mailbox, body, notify=False)
        master = self.graph.get_event(self.mailbox, created["id"])
        low = _graph_instant(created["start"]["dateTime"]) - timedelta(days=1)
        pattern = body["recurrence"]["pattern"]
        days = _PERIOD_DAYS[pattern["type"]] * pattern["interval"] * (SHOWN + 1)
        found = self.graph.instances(self.mailbox, created["id"], low, low + timedelta(days))
        found = found[:SHOWN]
        starts = [_graph_instant(item["start"]["dateTime"]) for item in found]
        self.graph.delete_event(self.mailbox, created["id"], notify=False)
        return master, starts


#: A period's longest length in days, per pattern type (to bound the instances asked for).
_PERIOD_DAYS = {"daily": 1, "weekly": 7, "absoluteMonthly": 31, "relativeMonthly": 31,
                "absoluteYearly": 366, "relativeYearly": 366}  # fmt: skip


def _graph_instant(text: str) -> datetime:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)


@contextmanager
def outlook() -> Iterator[Outlook]:
    with GraphEmulator() as graph:
        yield Outlook(graph, graph.add_mailbox("table@example.com", name="Table"))


# -- one row -------------------------------------------------------------------------------


@attrs.define
class Leg:
    """One direction: what the other side holds, compared with the origin's occurrences."""

    outcome: str  # "identical", "refused", "differs", "unreadable"
    detail: str = ""
    occurrences: tuple[datetime, ...] = ()
    #: Odoo's rows for the fields a naive writer would send (refused series only)
    naive: tuple[datetime, ...] = ()
    #: the adapter's prediction of Odoo's rows (fields sent or naive)
    predicted: tuple[datetime, ...] = ()
    #: the series Odoo made from the fields sent: its recurrence and rows
    record: Mapping[str, Any] = attrs.field(factory=dict)
    rows: tuple[Row, ...] = ()


@attrs.define
class Result:
    case: Case
    origin: tuple[datetime, ...]
    rule: str = ""
    forth: Leg = attrs.field(factory=lambda: Leg("unreadable"))
    back: Leg = attrs.field(factory=lambda: Leg("unreadable"))


def graph_body(case: Case) -> dict[str, Any]:
    start = case.local_start()
    span = dict(case.span)
    count = span.pop("count", None)
    if count is not None:
        span["numberOfOccurrences"] = count
    return {
        "subject": f"table {case.name}",
        "start": {"dateTime": start.replace(tzinfo=None).isoformat(), "timeZone": case.zone},
        "end": {
            "dateTime": (start + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            "timeZone": case.zone,
        },
        "recurrence": {
            "pattern": dict(case.pattern or {}),
            "range": {
                **span,
                "startDate": start.date().isoformat(),
                "recurrenceTimeZone": case.zone,
            },
        },
    }


def _same(left: Sequence[datetime], right: Sequence[datetime]) -> bool:
    return list(left[:SHOWN]) == list(right[:SHOWN])


def _odoo_values(event: Event, values: Mapping[str, Any]) -> dict[str, Any]:
    assert isinstance(event.start, datetime)
    assert isinstance(event.end, datetime)
    return {
        "start": event.start.strftime("%Y-%m-%d %H:%M:%S"),
        "stop": event.end.strftime("%Y-%m-%d %H:%M:%S"),
        "recurrency": True,
        "event_tz": event.timezone,
        **values,
    }


def _instants(keys: Sequence[OccurrenceKey]) -> tuple[datetime, ...]:
    return tuple(key for key in keys if isinstance(key, datetime))


def _to_odoo(event: Event, odoo: Odoo, origin: Sequence[datetime]) -> Leg:
    """Model -> Odoo: the fields calsync sends (or its refusal), and the rows Odoo makes."""
    assert event.recurrence is not None
    rule = event.recurrence.rule
    wkst = week_start(odoo.week)
    try:
        values = check_rule(
            rule, event.start, event.timezone, event.duration, wkst, yearly_type=odoo.yearly_type
        )
    except UnsupportedRecurrenceError as error:
        leg = Leg("refused", f"{type(error).__name__}: {error.reason}")
        try:
            first = local_date(event.start, event.timezone)
            naive = rule_to_odoo(rule, first, yearly_type=odoo.yearly_type)
        except UnsupportedRecurrenceError:
            return leg  # Odoo has no fields for it: nothing to send
        name = f"calsync-table-{uuid.uuid4().hex[:10]}"
        try:
            _record, rows = odoo.series(name, _odoo_values(event, naive))
        finally:
            odoo.remove(name)
        leg.naive = tuple(_instants([row.start for row in rows]))
        leg.predicted = _instants(
            odoo_starts(naive, event.start, event.timezone, event.duration, wkst)
        )
        return leg
    name = f"calsync-table-{uuid.uuid4().hex[:10]}"
    try:
        record, rows = odoo.series(name, _odoo_values(event, values))
    finally:
        odoo.remove(name)
    made = tuple(_instants([row.start for row in rows]))
    predicted = _instants(odoo_starts(values, event.start, event.timezone, event.duration, wkst))
    fields = ", ".join(f"{k}={v}" for k, v in sorted(values.items()) if v not in (False, None))
    outcome = "identical" if _same(made, origin) else "differs"
    return Leg(outcome, fields, made, predicted=predicted, record=record, rows=tuple(rows))


def _to_outlook(event: Event, outlook: Outlook, origin: Sequence[datetime]) -> Leg:
    """Model -> Outlook: the pattern calsync writes (or its refusal), and Outlook's expansion."""
    assert event.recurrence is not None
    local = event.local_start()
    day = local.date() if isinstance(local, datetime) else local
    try:
        recurrence = rule_to_graph(event.recurrence.rule, day, event.timezone or "UTC")
    except UnsupportedRecurrenceError as error:
        return Leg("refused", f"{type(error).__name__}: {error.reason}")
    assert isinstance(local, datetime)
    body = {
        "subject": event.title,
        "start": {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": event.timezone},
        "end": {
            "dateTime": (local + event.duration).replace(tzinfo=None).isoformat(),
            "timeZone": event.timezone,
        },
        "recurrence": recurrence,
    }
    _master, made = outlook.series(body)
    pattern = recurrence["pattern"]
    shown = ", ".join(f"{k}={v}" for k, v in pattern.items() if k != "firstDayOfWeek")
    return Leg("identical" if _same(made, origin) else "differs", shown, tuple(made))


def _from_odoo(record: Mapping[str, Any], rows: Sequence[Row], odoo: Odoo, zone: str) -> Event:
    """The model's series for Odoo's rows, read as the Odoo adapter reads it."""
    first = min(rows, key=lambda row: row.start)
    rule = rule_from_odoo(
        record,
        first=local_date(first.start, zone),
        weeks_start=week_start(odoo.week),
        yearly_type=odoo.yearly_type,
    )
    assembly = assemble(rule, str(record.get("event_tz") or zone), rows)
    assert assembly is not None
    return attrs.evolve(assembly.event, title="table")


def run_case(case: Case, odoo: Odoo, graph: Outlook) -> Result:
    """One row of the table: the case through both directions."""
    if case.pattern is not None:
        master, origin = graph.series(graph_body(case))
        result = Result(case, tuple(origin))
        try:
            event = series_from_graph(master)
        except InvalidEventError as error:
            result.forth = Leg("unreadable", f"{type(error).__name__}: {error}")
            return result
        assert event.recurrence is not None
        result.rule = str(event.recurrence.rule)
        starts = (o.original_start for o in event.occurrences())
        model = tuple(_instants(list(itertools.islice(starts, SHOWN))))
        if not _same(model, origin):
            result.forth = Leg("differs", "calsync's reading is not Outlook's", model)
            return result
        result.forth = _to_odoo(event, odoo, origin)
        if result.forth.outcome == "identical":
            result.back = _odoo_back(event, result.forth, odoo, graph)
        else:
            result.back = Leg("refused", "Odoo does not hold it")
        return result
    return _odoo_case(case, odoo, graph)


def _odoo_back(event: Event, leg: Leg, odoo: Odoo, graph: Outlook) -> Leg:
    """Odoo -> model -> Outlook for the series calsync wrote to Odoo."""
    read = _from_odoo(leg.record, leg.rows, odoo, event.timezone or "UTC")
    return _to_outlook(read, graph, leg.occurrences)


def _odoo_case(case: Case, odoo: Odoo, graph: Outlook) -> Result:
    """A series written in Odoo: Odoo -> model -> Outlook, then back to Odoo."""
    start = case.local_start().astimezone(UTC)
    values = {
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "stop": (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "recurrency": True,
        "event_tz": case.zone,
        **(case.odoo or {}),
    }
    name = f"calsync-table-{uuid.uuid4().hex[:10]}"
    try:
        record, rows = odoo.series(name, values)
    finally:
        odoo.remove(name)
    origin = tuple(_instants([row.start for row in rows]))
    result = Result(case, origin)
    event = _from_odoo(record, rows, odoo, case.zone)
    assert event.recurrence is not None
    result.rule = str(event.recurrence.rule)
    result.back = _to_outlook(event, graph, origin)
    if result.back.outcome == "identical":
        result.forth = _to_odoo(event, odoo, origin)
    else:
        result.forth = Leg("refused", "Outlook does not hold it")
    return result


def run_all(real: Mapping[str, str] | None) -> tuple[str, list[Result]]:
    """Every case; the Odoo server's label and the results."""
    with odoo_server(real) as odoo, outlook() as graph:
        return odoo.label, [run_case(case, odoo, graph) for case in CASES]


# -- the table -----------------------------------------------------------------------------


def _dates(values: Sequence[datetime], zone: str, limit: int = 4) -> str:
    local = [value.astimezone(ZoneInfo(zone)) for value in values]
    shown = ", ".join(f"{v:%Y-%m-%d}" for v in local[:limit])
    more = (
        f", … ({len(values)}{'+' if len(values) >= SHOWN else ''})" if len(values) > limit else ""
    )
    return shown + more


def _leg(leg: Leg, zone: str) -> str:
    if leg.outcome == "identical":
        return f"identical: {_dates(leg.occurrences, zone)} [{leg.detail}]"
    if leg.outcome == "refused":
        text = f"refused ({leg.detail})"
        if leg.naive:
            same = "" if leg.naive == leg.predicted else " ≠ predicted!"
            text += f"; sent anyway, Odoo makes {_dates(leg.naive, zone)}{same}"
        return text
    return f"**{leg.outcome}**: {_dates(leg.occurrences, zone)} [{leg.detail}]"


def table(label: str, results: Sequence[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        f"Outlook: the Graph emulator (Microsoft's documented expansion); Odoo: {label}.",
        "",
        "| # | series | origin's occurrences | model RRULE | Outlook → model → Odoo "
        "| Odoo → model → Outlook |",
        "|---|---|---|---|---|---|",
    ]
    for number, result in enumerate(results, 1):
        case = result.case
        origin = f"{case.origin}: {_dates(result.origin, case.zone)}"
        lines.append(
            f"| {number} | {case.name} ({case.zone}) | {origin} | `{result.rule}` "
            f"| {_leg(result.forth, case.zone)} | {_leg(result.back, case.zone)} |"
        )
    return "\n".join(lines)


def check(results: Sequence[Result]) -> list[str]:
    """What is wrong in the results (nothing: every leg identical or refused, as predicted)."""
    problems = []
    for result in results:
        for leg in (result.forth, result.back):
            if leg.outcome not in ("identical", "refused"):
                problems.append(f"{result.case.name}: {leg.outcome} {leg.detail}")
            if leg.predicted and leg.predicted[:SHOWN] != (leg.naive or leg.occurrences)[:SHOWN]:
                problems.append(f"{result.case.name}: Odoo's rows are not the predicted ones")
            if leg.naive and _same(leg.naive, result.origin):
                problems.append(f"{result.case.name}: refused, but Odoo would have held it")
    return problems
