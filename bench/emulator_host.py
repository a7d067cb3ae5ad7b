"""Both emulators in their own process, driven over stdin/stdout, for the benchmarks.

Keeping the emulators out of the measured process makes its wall time and
peak memory calsync's own. The first argument, if any, is the Graph latency
in seconds added to every request (loopback answers in well under a
millisecond; real Graph takes tens to hundreds). One JSON object per line in
each direction:

* at start, the host prints the addresses and credentials;
* ``{"op": "seed", "count": N, "shared": M}``: N events per side (M of them on both);
* ``{"op": "seed_side", "side": ..., "count": N, "guests": G}``: N new events on one side;
* ``{"op": "odoo_bulk", "count": N}``: N new Odoo events in one multi-create;
* ``{"op": "edit", "side": "odoo"|"outlook", "count": K}``: K users' edits on a side;
* ``{"op": "counts"}``: requests received so far; ``{"op": "reset"}`` zeroes them;
* ``{"op": "advance", "seconds": S}``: the Odoo server's clock jumps S seconds ahead;
* ``{"op": "quit"}``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from calsync.testing import GraphEmulator, OdooEmulator

START = datetime(2027, 1, 4, 8, tzinfo=timezone.utc)
QUIET = {"no_mail_to_attendees": True}
LOGIN, PASSWORD, EMAIL = "ann", "ann-password", "ann@example.com"


def slot(n: int) -> tuple[datetime, datetime]:
    """Event n's start and end: half-hour events, one an hour, day and night alike."""
    start = START + timedelta(days=n // 24, hours=n % 24)
    return start, start + timedelta(minutes=30)


def odoo_values(n: int, title: str) -> dict[str, Any]:
    start, end = slot(n)
    return {
        "name": title,
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "stop": end.strftime("%Y-%m-%d %H:%M:%S"),
        "location": f"Room {n % 7}",
    }


def graph_body(n: int, title: str) -> dict[str, Any]:
    start, end = slot(n)
    return {
        "subject": title,
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "location": {"displayName": f"Room {n % 7}"},
        "isReminderOn": False,
    }


class Clock:
    """The Odoo server's clock: the real one, plus what ``advance`` added."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None) + self.offset


class Host:
    """The emulators and the seeded calendars of one user."""

    def __init__(self, odoo: OdooEmulator, graph: GraphEmulator, clock: Clock) -> None:
        self.clock = clock
        self.odoo, self.graph = odoo, graph
        odoo.add_user(LOGIN, PASSWORD, name="Ann", email=EMAIL)
        self.mailbox = graph.add_mailbox(EMAIL, name="Ann")
        #: where the benchmark replays the pushes the way Odoo's own module sends them
        self.odoo_style = graph.add_mailbox("odoo-style@example.com", name="Odoo's module")
        self.odoo_ids: list[int] = []
        self.outlook_ids: list[str] = []
        self.edits = 0

    def hello(self) -> dict[str, Any]:
        return {
            "odoo": self.odoo.url,
            "db": self.odoo.db,
            "login": LOGIN,
            "password": PASSWORD,
            "graph": self.graph.base_url,
            "token": self.mailbox.token,
            "mailbox": EMAIL,
            "odoo_style_token": self.odoo_style.token,
        }

    def seed(self, count: int, shared: int) -> dict[str, Any]:
        """``count`` events per side; the first ``shared`` are the same on both sides."""
        odoo_rows = [odoo_values(n, f"Event {n}") for n in range(count)]
        created = self.odoo.execute(LOGIN, "calendar.event", "create", odoo_rows, context=QUIET)
        self.odoo_ids = list(created)
        for n in range(count):
            m = n if n < shared else count + n
            body = graph_body(m, f"Event {m}")
            self.outlook_ids.append(self.graph.create_event(self.mailbox, body, notify=False)["id"])
        return {"odoo": len(self.odoo_ids), "outlook": len(self.outlook_ids)}

    def seed_side(self, side: str, count: int, guests: int) -> dict[str, Any]:
        """``count`` new events on one side only, each inviting one of ``guests`` addresses."""
        first = len(self.odoo_ids) + len(self.outlook_ids) + 20_000
        for n in range(count):
            guest = f"{side}-guest{n % guests}@client.example" if guests else None
            if side == "odoo":
                values = odoo_values(first + n, f"New {n}")
                if guest:
                    partner = self.odoo.execute(LOGIN, "res.partner", "find_or_create", guest)
                    values["partner_ids"] = [(4, partner)]
                created = self.odoo.execute(
                    LOGIN, "calendar.event", "create", values, context=QUIET
                )
                self.odoo_ids.append(int(created))
            else:
                body = graph_body(first + n, f"New {n}")
                if guest:
                    body["attendees"] = [{"type": "required", "emailAddress": {"address": guest}}]
                self.outlook_ids.append(
                    self.graph.create_event(self.mailbox, body, notify=False)["id"]
                )
        return {"seeded": count}

    def odoo_bulk(self, count: int) -> dict[str, Any]:
        """``count`` new Odoo events in one multi-create: one transaction, one ``write_date``.

        One an hour from the first slot on: 10,000 of them stay inside the benchmarks' window.
        """
        first = len(self.odoo_ids)
        rows = [odoo_values(first + n, f"Bulk {n}") for n in range(count)]
        created = self.odoo.execute(LOGIN, "calendar.event", "create", rows, context=QUIET)
        self.odoo_ids.extend(created)
        return {"ids": list(created)}

    def edit(self, side: str, count: int) -> dict[str, Any]:
        """Rename ``count`` events on one side, as their user would."""
        self.edits += 1
        if side == "odoo":
            for event_id in self.odoo_ids[:count]:
                self.odoo.execute(
                    LOGIN,
                    "calendar.event",
                    "write",
                    [event_id],
                    {"name": f"Renamed {self.edits} {event_id}"},
                    context=QUIET,
                )
        else:  # from the other end: events the Odoo edits above do not touch
            for event_id in self.outlook_ids[len(self.outlook_ids) - count :]:
                self.graph.update_event(
                    self.mailbox,
                    event_id,
                    {"subject": f"Renamed {self.edits} {event_id}"},
                    notify=False,
                )
        return {"edited": count}

    def advance(self, seconds: float) -> dict[str, Any]:
        self.clock.offset += timedelta(seconds=seconds)
        return {}

    def counts(self) -> dict[str, Any]:
        return {
            "graph": self.graph.request_count(self.mailbox),
            "graph_inner": self.graph.request_count(self.mailbox, include_inner=True),
            "odoo": len(self.odoo.calls),
        }

    def reset(self) -> dict[str, Any]:
        self.graph.reset_counts()
        self.odoo.reset_counts()
        return {}


def main() -> None:
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    clock = Clock()
    with (
        OdooEmulator(clock=clock) as odoo,
        GraphEmulator(stray_keys=False, latency=latency) as graph,
    ):
        host = Host(odoo, graph, clock)
        print(json.dumps(host.hello()), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            op = command.pop("op")
            if op == "quit":
                break
            answer = getattr(host, op)(**command)
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
