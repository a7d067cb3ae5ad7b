"""The real pair, end to end: OdooCalendar ⇄ OutlookCalendar on both emulators, per user.

A :class:`World` starts an Odoo emulator and a Graph emulator, creates users
that exist on both (an Odoo login and a mailbox with the same address), and
builds one :class:`~calsync.Synchronizer` per user over a shared SQLite store.
``odoo_hands(user)`` and ``outlook_hands(user)`` play each user in Odoo's web
client and in Outlook; :meth:`World.state` snapshots what each calendar holds
so runs can be compared.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import attrs

import calsync
from calsync._retry import RetryPolicy
from calsync.adapters.odoo import ODOO_PROJECTION, OdooCalendar
from calsync.adapters.outlook import OUTLOOK_PROJECTION, OutlookCalendar, StaticToken
from calsync.stores import SQLiteStore
from calsync.testing import GraphEmulator, GraphMailbox, MailMessage, OdooEmulator

T = TypeVar("T")
UTC = timezone.utc
WINDOW = calsync.Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
QUIET = {"no_mail_to_attendees": True}


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def quick_retry(**changes: Any) -> RetryPolicy:
    """calsync's retry policy without the waiting (the delays still count attempts)."""
    return RetryPolicy(sleep=_no_wait, random=lambda: 0.5, **changes)


@attrs.define
class OdooHands:
    """One user in Odoo's web client (``odoo.execute`` as them: not counted, no calsync)."""

    odoo: OdooEmulator
    login: str

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.odoo.execute(self.login, model, method, *args, **kwargs)

    @property
    def uid(self) -> int:
        return int(self.call("res.users", "search", [("login", "=", self.login)])[0])

    def partner(self, email: str, name: str = "") -> int:
        found = self.call("res.partner", "search", [("email_normalized", "=", email)], order="id")
        if found:
            return int(found[0])
        return int(self.call("res.partner", "create", {"name": name or email, "email": email}))

    def create(self, name: str, start: str, stop: str, *guests: str, **values: Any) -> int:
        """A timed event (UTC strings), with guests invited by e-mail address."""
        record: dict[str, Any] = {"name": name, "start": start, "stop": stop, **values}
        if guests:
            owner = self.call("res.users", "read", [self.uid], ["partner_id"])[0]["partner_id"][0]
            record["partner_ids"] = [(6, 0, [owner, *(self.partner(g) for g in guests)])]
        return int(self.call("calendar.event", "create", record, context=QUIET))

    def mine(self, name: str) -> list[int]:
        """The ids of this user's events with that name (archived ones included)."""
        domain = [("name", "=", name), ("user_id", "=", self.uid)]
        return [
            int(i)
            for i in self.call("calendar.event", "search", domain, context={"active_test": False})
        ]

    def write(self, name: str, values: dict[str, Any]) -> None:
        self.call("calendar.event", "write", self.mine(name), values, context=QUIET)


@attrs.define
class OutlookHands:
    """One user in Outlook (the emulator's direct methods: mail goes out as Outlook's would)."""

    graph: GraphEmulator
    mailbox: GraphMailbox

    def create(self, subject: str, day: int, hour: int, *guests: str, **fields: Any) -> str:
        """A meeting in March 2027, Paris time, inviting ``guests``."""

        def at(h: int) -> dict[str, str]:
            return {"dateTime": f"2027-03-{day:02d}T{h:02d}:00:00", "timeZone": "Europe/Paris"}

        body: dict[str, Any] = {
            "subject": subject,
            "start": at(hour),
            "end": at(hour + 1),
            **fields,
        }
        if guests:
            body["attendees"] = [
                {"type": "required", "emailAddress": {"address": g, "name": g.split("@")[0]}}
                for g in guests
            ]
        return str(self.graph.create_event(self.mailbox, body)["id"])

    def find(self, subject: str) -> list[dict[str, Any]]:
        return [e for e in self.graph.events(self.mailbox) if e.get("subject") == subject]


@attrs.frozen
class Wiring:
    """Everything a process needs to sync one user of a world (JSON-able: see ``process``)."""

    login: str
    odoo_url: str
    db: str
    graph_url: str
    token: str
    email: str
    store: str
    timeout: float = 5.0
    outlook_options: dict[str, Any] = attrs.field(factory=dict, hash=False)

    def synchronizer(self, store: SQLiteStore, **options: Any) -> calsync.Synchronizer:
        """The user's synchronizer over ``store`` (Odoo password: ``<login>-pw``).

        Its first sync may e-mail (the scenarios seed meetings with guests) unless
        ``first_sync_max_notifications`` says otherwise.
        """
        options.setdefault("first_sync_max_notifications", None)
        odoo = OdooCalendar(
            self.odoo_url, self.db, self.login, password=f"{self.login}-pw", timeout=self.timeout
        )
        outlook = OutlookCalendar(
            StaticToken(self.token),
            base_url=self.graph_url,
            account=self.email,
            retry=quick_retry(),
            timeout=self.timeout,
            **self.outlook_options,
        )
        return calsync.Synchronizer(odoo, outlook, store, pair=self.login, window=WINDOW, **options)


@attrs.define
class User:
    login: str
    email: str
    mailbox: GraphMailbox
    odoo: OdooHands
    outlook: OutlookHands
    sync: calsync.Synchronizer


@attrs.define
class World:
    """Both emulators, some users, their synchronizers, and a loop to run them on."""

    odoo: OdooEmulator
    graph: GraphEmulator
    store_path: Path
    users: dict[str, User] = attrs.Factory(dict)
    loop: asyncio.AbstractEventLoop = attrs.Factory(asyncio.new_event_loop)
    store: SQLiteStore | None = None
    #: Seconds each adapter waits for an answer (small values let tests provoke timeouts).
    timeout: float = 5.0
    #: More options of every ``OutlookCalendar`` (``page_size``, ``max_concurrency``...).
    outlook_options: dict[str, Any] = attrs.Factory(dict)

    def add_user(self, login: str, **options: Any) -> User:
        email = f"{login}@example.com"
        self.odoo.add_user(login, f"{login}-pw", name=login.title(), email=email, tz="Europe/Paris")
        mailbox = self.graph.add_mailbox(email, name=login.title())
        user = User(
            login,
            email,
            mailbox,
            OdooHands(self.odoo, login),
            OutlookHands(self.graph, mailbox),
            self.synchronizer(login, mailbox, **options),
        )
        self.users[login] = user
        return user

    def synchronizer(
        self, login: str, mailbox: GraphMailbox, **options: Any
    ) -> calsync.Synchronizer:
        """A fresh synchronizer for one user (as a new process would build it)."""
        if self.store is None:
            self.store = SQLiteStore(self.store_path)
        return self.wiring(login, mailbox).synchronizer(self.store, **options)

    def wiring(self, login: str, mailbox: GraphMailbox | None = None) -> Wiring:
        """What it takes to build a user's synchronizer, in this process or another one."""
        box = mailbox or self.users[login].mailbox
        return Wiring(
            login=login,
            odoo_url=self.odoo.url,
            db=self.odoo.db,
            graph_url=self.graph.base_url,
            token=box.token,
            email=box.email,
            store=str(self.store_path),
            timeout=self.timeout,
            outlook_options=dict(self.outlook_options),
        )

    def restart(self, login: str, **options: Any) -> calsync.Synchronizer:
        """Replace a user's synchronizer by a new one (a new process, same store)."""
        user = self.users[login]
        self.run(user.sync.aclose())
        user.sync = self.synchronizer(login, user.mailbox, **options)
        return user.sync

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until nothing of an interrupted run is still on its way to a provider.

        Both servers finish what they received (a delayed request lands, a dropped
        answer is dropped). Tasks the run left on the loop fail the test: a dead
        process runs nothing. Tasks already cancelled get a few turns of the loop to
        take their cancellation (no thread pool gives them that time any more).
        """
        for _ in range(5):
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            if not pending or not all(t.cancelling() for t in pending):
                break
            self.loop.run_until_complete(asyncio.sleep(0))
        leftover = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        assert not leftover, f"a stopped run left tasks running: {leftover}"
        deadline = time.monotonic() + timeout
        for server in (self.odoo, self.graph):
            left = max(deadline - time.monotonic(), 0.1)
            assert server.wait_idle(left), f"{type(server).__name__} is still answering"

    def sync(self, login: str) -> calsync.SyncReport:
        return self.run(self.users[login].sync.run_async())

    def preview(self, login: str) -> calsync.Plan:
        return self.run(self.users[login].sync.preview_async())

    def mail(self, login: str) -> list[MailMessage]:
        return self.graph.mail_log(self.users[login].mailbox)

    def state(self, login: str) -> tuple[Counter[str], Counter[str]]:
        """What the user's Odoo calendar and mailbox hold, as multisets of fingerprints."""
        user = self.users[login]
        odoo_listing = self.run(user.sync.left.pull(None, WINDOW))
        outlook_listing = self.run(user.sync.right.pull(None, WINDOW))
        return (
            Counter(
                i.event.fingerprint(ODOO_PROJECTION) for i in odoo_listing.items if not i.archived
            ),
            Counter(i.event.fingerprint(OUTLOOK_PROJECTION) for i in outlook_listing.items),
        )

    def titles(self, login: str) -> tuple[list[str], list[str]]:
        """The titles each side of a user's pair holds (sorted, duplicates kept)."""
        user = self.users[login]
        odoo_listing = self.run(user.sync.left.pull(None, WINDOW))
        outlook_listing = self.run(user.sync.right.pull(None, WINDOW))
        return (
            sorted(i.event.title for i in odoo_listing.items if not i.archived),
            sorted(i.event.title for i in outlook_listing.items),
        )

    def close(self) -> None:
        for user in self.users.values():
            self.run(user.sync.aclose())
        if self.store is not None:
            self.store.close()
        self.loop.close()


class _Ticking:
    """Odoo's clock in these worlds: each reading a second after the last.

    Every transaction then has a ``write_date`` of its own, so a run's requests do not
    hang on whether two writes fell in one wall-clock second (calsync reads again the
    rows of a second it read in while that second may still be going on): the fault
    and crash matrices replay a run request for request.
    """

    def __init__(self) -> None:
        self._now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=1)
            return self._now


@contextmanager
def world(
    tmp_path: Path,
    *logins: str,
    timeout: float = 5.0,
    outlook_options: dict[str, Any] | None = None,
    graph_options: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[World]:
    """A world with these users, torn down afterwards (emulators checked for internal errors).

    ``timeout`` and ``outlook_options`` shape every adapter the world builds,
    ``graph_options`` the Graph emulator; ``options`` go to every synchronizer.
    """
    with (
        OdooEmulator(clock=_Ticking()) as odoo,
        GraphEmulator(**(graph_options or {})) as graph,
    ):
        made = World(
            odoo,
            graph,
            tmp_path / "state.sqlite3",
            timeout=timeout,
            outlook_options=dict(outlook_options or {}),
        )
        for login in logins:
            made.add_user(login, **options)
        try:
            yield made
        finally:
            made.close()
        assert graph.errors == []
