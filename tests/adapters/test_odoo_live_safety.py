"""Issue 14 on real Odoo servers: organisers outside Odoo, wrong databases, other users' keys.

Skipped without the servers. ``CALSYNC_TEST_ODOO18`` is an Odoo 18 server as
``http://host:port/database`` whose ``admin``/``admin`` may create users (the
tests make their own user, with a unique login, and their own events);
``CALSYNC_TEST_ODOO19`` an Odoo 19 server as ``http://host:port/database``,
with ``CALSYNC_TEST_ODOO19_KEYS`` two users' API keys, ``login:key,login:key``.
No test here tries a wrong password (ten lock a login for a minute).
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calsync import AuthenticationError, ConfigurationError, Window
from calsync.adapters import Create
from calsync.adapters.odoo import OdooCalendar
from calsync.model import Attendee, Event, Person

UTC = timezone.utc


def server(variable: str) -> tuple[str, str]:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"{variable} names no live Odoo server (http://host:port/database)")
    url, _, db = value.rstrip("/").rpartition("/")
    return url, db


def rpc(url: str, service: str, method: str, *args: Any) -> Any:
    body = {"jsonrpc": "2.0", "method": "call", "id": 1}
    body["params"] = {"service": service, "method": method, "args": list(args)}
    request = urllib.request.Request(
        f"{url}/jsonrpc", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # loopback test servers
        found = json.load(answer)
    assert "error" not in found, found["error"]["data"]["message"]
    return found["result"]


def test_a_meeting_organised_outside_odoo_keeps_its_organiser_on_odoo_18() -> None:
    url, db = server("CALSYNC_TEST_ODOO18")
    tag = uuid.uuid4().hex[:10]
    admin = rpc(url, "common", "login", db, "admin", "admin")
    login, password = f"calsync-safety-{tag}", f"pw-{tag}"
    values = {"name": f"Ann {tag}", "login": login, "password": password}
    values["email"] = f"ann-{tag}@example.com"
    context = {"context": {"no_reset_password": True}}
    rpc(url, "object", "execute_kw", db, admin, "admin", "res.users", "create", [values], context)
    zed = Person(f"zed-{tag}@other.example", "Zed")
    start = datetime(2027, 5, 3, 9, tzinfo=UTC)
    meeting = Event(
        f"Zed's meeting {tag}",
        start,
        start + timedelta(hours=1),
        organizer=zed,
        attendees=[Attendee(values["email"], "Ann", response="accepted")],
    )
    calendar = OdooCalendar(url, db, login, password=password, transport="jsonrpc")
    window = Window(start - timedelta(days=1), start + timedelta(days=1))

    async def run() -> Any:
        try:
            (written,) = await calendar.apply([Create(f"k{tag}", meeting)])
            assert written.ok, written.error
            listed = await calendar.pull(None, window)
            return written, [i for i in listed.items if tag in i.event.title]
        finally:
            await calendar.aclose()

    written, (pulled,) = asyncio.run(run())
    row_id = int(written.stored.id)
    (row,) = rpc(
        url, "object", "execute_kw", db, admin, "admin", "calendar.event", "read",
        [[row_id], ["user_id", "partner_id", "attendee_ids"]],
    )  # fmt: skip
    assert (row["user_id"], row["partner_id"]) == (False, False)
    attendees = rpc(
        url, "object", "execute_kw", db, admin, "admin", "calendar.attendee", "read",
        [row["attendee_ids"], ["email", "state"]],
    )  # fmt: skip
    assert {a["email"]: a["state"] for a in attendees}[zed.email] == "accepted"
    assert pulled.event.organizer == zed, "it reads back as someone else's meeting"
    assert [a.email for a in pulled.event.attendees] == [values["email"]]


def test_a_wrong_database_is_a_configuration_error_on_odoo_18() -> None:
    url, _ = server("CALSYNC_TEST_ODOO18")
    calendar = OdooCalendar(url, f"nosuchdb{uuid.uuid4().hex[:6]}", "admin", password="admin")
    with pytest.raises(ConfigurationError, match="Odoo has no database"):
        asyncio.run(calendar.connect())


def test_json2_refuses_another_users_key_and_a_wrong_database_on_odoo_19() -> None:
    url, db = server("CALSYNC_TEST_ODOO19")
    keys = os.environ.get("CALSYNC_TEST_ODOO19_KEYS", "")
    pairs = [item.split(":", 1) for item in keys.split(",") if ":" in item]
    if len(pairs) < 2:
        pytest.skip("CALSYNC_TEST_ODOO19_KEYS names fewer than two users' API keys")
    (first, first_key), (second, _) = pairs[:2]

    async def connect(login: str, key: str, database: str) -> None:
        calendar = OdooCalendar(url, database, login, api_key=key)
        try:
            await calendar.connect()
        finally:
            await calendar.aclose()

    asyncio.run(connect(first, first_key, db))
    with pytest.raises(AuthenticationError, match=f"are those of '{first}'") as caught:
        asyncio.run(connect(second, first_key, db))
    assert caught.value.code == "wrong_user"
    with pytest.raises(ConfigurationError, match="serves no database"):
        asyncio.run(connect(first, first_key, "nosuchdb"))
