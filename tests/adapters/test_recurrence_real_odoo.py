"""Outlook series through calsync's two adapters to a real Odoo server, and back.

Needs a real server: ``CALSYNC_ODOO_URL``, ``CALSYNC_ODOO_DB``,
``CALSYNC_ODOO_ADMIN_LOGIN`` and ``CALSYNC_ODOO_ADMIN_PASSWORD`` (skipped
without them). The admin's calendar is synced with a Graph emulator mailbox
over a window in 2031-2034, where the shared database holds nobody else's
events; every series carries a unique token in its title and is deleted at
the end.

What it shows (odoo.md §5.5b, issue 13 items 1-3 and 6): every series Odoo can
hold arrives with the rule that makes exactly Outlook's occurrences (so an
"all events" edit in Odoo regenerates the same rows), and those it cannot hold
are held with the reason, without a single write to Odoo.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from calsync import ProviderError, Synchronizer, SyncReport, Window
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.odoo._recurrence import RECURRENCE_FIELDS, rule_from_odoo, week_start
from calsync.adapters.odoo._series import local_date
from calsync.model import Recurrence
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox
from tests.adapters.outlook_support import make_adapter
from tests.recurrence_table import Case, graph_body, missing_server_reason, real_server

pytestmark = pytest.mark.live  # nox -s conformance
UTC = timezone.utc
WINDOW = Window(datetime(2031, 1, 1, tzinfo=UTC), datetime(2034, 6, 1, tzinfo=UTC))
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
ALL = {"active_test": False, "tz": "UTC"}


def _pattern(kind: str, interval: int = 1, **parts: Any) -> dict[str, Any]:
    return {"type": kind, "interval": interval, "firstDayOfWeek": "sunday", **parts}


HELD = {  # title -> a fragment of the reason
    "first weekday": "one weekday of the month",
    "Sydney every 2 months": "UTC month",
}
CASES = (
    Case("last day", "2031-01-31T09:00", pattern=_pattern("absoluteMonthly", dayOfMonth=31)),
    Case("February 29", "2032-02-29T09:00",
         pattern=_pattern("absoluteYearly", dayOfMonth=29, month=2),
         span={"type": "numbered", "count": 3}),
    Case("Thanksgiving", "2031-11-27T09:00",
         pattern=_pattern("relativeYearly", daysOfWeek=["thursday"], index="fourth", month=11),
         span={"type": "numbered", "count": 3}),
    Case("off-pattern", "2031-08-29T09:00",
         pattern=_pattern("relativeMonthly", 2, daysOfWeek=["thursday"], index="first")),
    Case("weekdays", "2031-03-03T09:00", pattern=_pattern("weekly", daysOfWeek=WEEKDAYS),
         span={"type": "numbered", "count": 10}),
    Case("first weekday", "2031-04-01T09:00",
         pattern=_pattern("relativeMonthly", daysOfWeek=WEEKDAYS, index="first")),
    Case("Sydney every 2 months", "2031-03-01T08:00", zone="Australia/Sydney",
         pattern=_pattern("absoluteMonthly", 2, dayOfMonth=1)),
)  # fmt: skip


@attrs.define
class Pair:
    graph: GraphEmulator
    mailbox: GraphMailbox
    odoo: OdooCalendar
    sync: Synchronizer
    token: str

    def admin(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        return self.sync._block(self.odoo._call(model, method, *args, **options))

    def title(self, case: Case) -> str:
        return f"{case.name} #{self.token}"

    def rows(self, title: str) -> list[dict[str, Any]]:
        return list(
            self.admin(
                "calendar.event",
                "search_read",
                [("name", "=", title)],
                fields=["start", "stop", "active", "recurrence_id"],
                order="start asc, id asc",
                context=ALL,
            )
        )

    def outlook_starts(self, title: str) -> list[datetime]:
        listed = self.graph.events(self.mailbox)  # masters and their exceptions
        [master] = [e for e in listed if e["subject"] == title and e["type"] == "seriesMaster"]
        found = self.graph.instances(self.mailbox, master["id"], WINDOW.start, WINDOW.end)
        return [_instant(item["start"]["dateTime"]) for item in found]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    server = real_server()
    if server is None:
        pytest.skip(missing_server_reason())
    token = uuid.uuid4().hex[:8]
    with GraphEmulator() as graph:
        mailbox = graph.add_mailbox("admin@example.com", name="Administrator")
        odoo = OdooCalendar(
            server["CALSYNC_ODOO_URL"],
            server["CALSYNC_ODOO_DB"],
            server["CALSYNC_ODOO_ADMIN_LOGIN"],
            password=server["CALSYNC_ODOO_ADMIN_PASSWORD"],
        )
        store = SQLiteStore(tmp_path / "state.sqlite3")
        sync = Synchronizer(odoo, make_adapter(graph, mailbox), store, pair="real", window=WINDOW)
        pair = Pair(graph, mailbox, odoo, sync, token)
        try:
            yield pair
        finally:
            ids = pair.admin(
                "calendar.event", "search", [("name", "like", f"#{token}")], context=ALL
            )
            rows = pair.admin("calendar.event", "read", ids, ["recurrence_id"], context=ALL)
            rids = sorted({row["recurrence_id"][0] for row in rows if row["recurrence_id"]})
            try:
                pair.admin("calendar.event", "unlink", ids, context=ALL)
            except ProviderError:  # a row went first: delete what is left
                left = pair.admin("calendar.event", "search", [("id", "in", ids)], context=ALL)
                pair.admin("calendar.event", "unlink", left, context=ALL)
            if rids:
                pair.admin("calendar.recurrence", "unlink", rids)
            sync.close()


def _odoo_writes(report: SyncReport) -> list[str]:
    """The writes to Odoo that succeeded."""
    return [
        str(o.operation)
        for o in report.outcomes
        if o.ok and o.operation.write is not None and o.operation.side == "odoo"
    ]


def test_outlook_series_reach_a_real_odoo_as_outlook_expands_them(pair: Pair) -> None:
    for case in CASES:
        pair.graph.create_event(pair.mailbox, {**graph_body(case), "subject": pair.title(case)})
    first = pair.sync.run()
    held = {item.title.split(" #")[0]: item.error for item in first.held}
    assert sorted(held) == sorted(HELD)
    for title, reason in HELD.items():
        assert "Odoo cannot hold this series" in held[title]
        assert reason in held[title]
        assert pair.rows(f"{title} #{pair.token}") == []  # nothing written for it
    for case in CASES:
        if case.name in HELD:
            continue
        title = pair.title(case)
        rows = pair.rows(title)
        live = [_instant(row["start"]) for row in rows if row["active"] and row["recurrence_id"]]
        assert live == pair.outlook_starts(title), case.name
        # the recurrence Odoo stores describes exactly these rows
        [record] = pair.admin(
            "calendar.recurrence", "read", [rows[0]["recurrence_id"][0]], list(RECURRENCE_FIELDS)
        )
        rule = rule_from_odoo(
            record, first=local_date(live[0], case.zone), weeks_start=week_start("7")
        )
        assert list(Recurrence(rule).original_starts(live[0], case.zone)) == live, case.name
    before = pair.odoo.calls.copy()
    second = pair.sync.run()
    assert _odoo_writes(second) == [], "nothing written to Odoo on a second run"
    assert {item.title.split(" #")[0] for item in second.held} == set(HELD)  # retried, refused
    calls = pair.odoo.calls - before
    assert not [call for call in calls if call.split(".")[-1] in ("load", "create", "write")]


def _move_all_events(pair: Pair, title: str, shift: timedelta) -> None:
    """What Odoo's web client does for "all events" when the user moves the series."""
    base = pair.rows(title)[0]
    pair.admin(
        "calendar.event",
        "write",
        [base["id"]],
        {
            "start": (_instant(base["start"]) + shift).strftime("%Y-%m-%d %H:%M:%S"),
            "stop": (_instant(base["stop"]) + shift).strftime("%Y-%m-%d %H:%M:%S"),
            "recurrence_update": "all_events",
        },
        context={"no_mail_to_attendees": True},
    )


def _live(pair: Pair, title: str) -> list[datetime]:
    rows = pair.rows(title)
    return [_instant(row["start"]) for row in rows if row["active"] and row["recurrence_id"]]


def test_an_all_events_edit_in_odoo_regenerates_outlook_s_occurrences(pair: Pair) -> None:
    """Odoo rebuilds a moved series from its stored rule: that rule must be Outlook's series."""
    case = CASES[3]  # Graph's own example: first Thursday every 2 months, off its pattern
    title = pair.title(case)
    pair.graph.create_event(pair.mailbox, {**graph_body(case), "subject": title})
    pair.sync.run()
    before = pair.outlook_starts(title)
    later = timedelta(hours=1)
    _move_all_events(pair, title, later)
    assert _live(pair, title) == [start + later for start in before]
    report = pair.sync.run()
    assert report.ok, [str(o.error) for o in report.failures]
    assert pair.outlook_starts(title) == [start + later for start in before]


def test_odoo_s_own_all_events_move_makes_the_last_day_day_31(pair: Pair) -> None:
    """Odoo 18 rebuilds a moved monthly series with the base event's day of the month
    (``_rewrite_recurrence``, ``_get_recurrence_params``): the last day of the month
    becomes day 31, which skips the shorter months. calsync reads what Odoo now holds
    and, Outlook having no such pattern, holds the update with the reason."""
    case = CASES[0]
    title = pair.title(case)
    pair.graph.create_event(pair.mailbox, {**graph_body(case), "subject": title})
    pair.sync.run()
    before = pair.outlook_starts(title)
    _move_all_events(pair, title, timedelta(hours=1))
    assert [start.day for start in _live(pair, title)] == [31] * 6  # Jan, Mar, May ...
    report = pair.sync.run()
    [held] = report.held
    assert "would put an occurrence on 2031-02-28 where the rule has 2031-03-31" in held.error
    assert pair.outlook_starts(title) == before  # Outlook keeps its series
