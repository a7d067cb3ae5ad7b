"""The emulators of the many-users benchmark, in their own process, driven over stdin/stdout.

The first argument is the Graph latency in seconds added to every request;
``--no-odoo`` leaves the Odoo emulator out (the benchmark then runs against a
real Odoo server). One JSON object per line in each direction:

* at start, the host prints the addresses (and the Odoo emulator's, if any);
* ``{"op": "users", "logins": [...]}``: a mailbox per login (``<login>@bench.example``)
  and, with the Odoo emulator, an Odoo user; answers each user's token (and uid);
* ``{"op": "outlook", "count": K, "first": F}``: K new events in every mailbox;
* ``{"op": "odoo", "count": K, "first": F}``: K new events per Odoo user (emulator only);
* ``{"op": "counts"}``: what the emulators saw since the last ``reset``: Graph
  requests (top-level and inside ``$batch``), the peak concurrency per mailbox
  and overall, Odoo calls and password checks;
* ``{"op": "reset"}``; ``{"op": "quit"}``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator

START = datetime(2027, 3, 1, 7, tzinfo=timezone.utc)
QUIET = {"no_mail_to_attendees": True}
#: What a password check costs an idle Odoo 18 server (pbkdf2-sha512, 600,000 rounds).
HASH_SECONDS = 0.31


def slot(n: int) -> tuple[datetime, datetime]:
    """Event ``n``'s start and end: half-hour events, ten a day."""
    start = START + timedelta(days=n // 10, hours=n % 10)
    return start, start + timedelta(minutes=30)


def odoo_values(n: int, title: str) -> dict[str, Any]:
    start, end = slot(n)
    return {
        "name": title,
        "start": f"{start:%Y-%m-%d %H:%M:%S}",
        "stop": f"{end:%Y-%m-%d %H:%M:%S}",
    }


def graph_body(n: int, title: str) -> dict[str, Any]:
    start, end = slot(n)
    return {
        "subject": title,
        "start": {"dateTime": f"{start:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"},
        "end": {"dateTime": f"{end:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"},
        "isReminderOn": False,
    }


class Host:
    """The emulators and the users' mailboxes (and Odoo users)."""

    def __init__(self, graph: GraphEmulator, odoo: OdooEmulator | None) -> None:
        self.graph, self.odoo = graph, odoo
        self.mailboxes: dict[str, GraphMailbox] = {}

    def hello(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"graph": self.graph.base_url}
        if self.odoo is not None:
            answer.update(odoo=self.odoo.url, db=self.odoo.db)
        return answer

    def users(self, logins: list[str]) -> dict[str, Any]:
        made = []
        for login in logins:
            email = f"{login}@bench.example"
            self.mailboxes[login] = box = self.graph.add_mailbox(email, name=login)
            user: dict[str, Any] = {"login": login, "email": email, "token": box.token}
            if self.odoo is not None:
                user["password"] = f"{login}-password"
                user["uid"] = self.odoo.add_user(
                    login, user["password"], name=login, email=email, tz="UTC"
                )
            made.append(user)
        return {"users": made}

    def outlook(self, count: int, first: int) -> dict[str, Any]:
        for login, box in self.mailboxes.items():
            for n in range(first, first + count):
                self.graph.create_event(box, graph_body(n, f"Outlook {n} {login}"), notify=False)
        return {"seeded": count * len(self.mailboxes)}

    def odoo_events(self, count: int, first: int) -> dict[str, Any]:
        assert self.odoo is not None
        for login in self.mailboxes:
            rows = [odoo_values(n, f"Odoo {n} {login}") for n in range(first, first + count)]
            self.odoo.execute(login, "calendar.event", "create", rows, context=QUIET)
        return {"seeded": count * len(self.mailboxes)}

    def counts(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "graph": self.graph.request_count(),
            "graph_inner": self.graph.request_count(include_inner=True)
            - self.graph.request_count(),
            "peak_mailbox": max(
                (self.graph.max_concurrency(box) for box in self.mailboxes.values()), default=0
            ),
            "peak_all": self.graph.max_concurrency(),
        }
        if self.odoo is not None:
            answer.update(odoo=len(self.odoo.calls), password_checks=self.odoo.password_checks)
        return answer

    def reset(self) -> dict[str, Any]:
        self.graph.reset_counts()
        if self.odoo is not None:
            self.odoo.reset_counts()
        return {}


def main() -> None:
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    with_odoo = "--no-odoo" not in sys.argv
    # a mailbox answers at most 4 requests at once, as Outlook does (429 beyond)
    with GraphEmulator(stray_keys=False, latency=latency, concurrency_limit=4) as graph:
        odoo = OdooEmulator(login_delay=HASH_SECONDS) if with_odoo else None
        if odoo is not None:
            odoo.start()
        try:
            host = Host(graph, odoo)
            print(json.dumps(host.hello()), flush=True)
            for line in sys.stdin:
                command = json.loads(line)
                op = command.pop("op")
                if op == "quit":
                    break
                method = "odoo_events" if op == "odoo" else op
                print(json.dumps(getattr(host, method)(**command)), flush=True)
        finally:
            if odoo is not None:
                odoo.stop()


if __name__ == "__main__":
    main()
