"""Issue 14 on a real Odoo: organisers outside Odoo, wrong databases, other users' keys.

The server comes from the ``CALSYNC_ODOO_*`` variables of ``nox -s conformance``
(``tests/conformance/target.py``); without them every test skips, saying which
is missing. Its administrator creates the test's own user (a unique login) and
the test its own events. The key check needs Odoo 19 or later and
``CALSYNC_ODOO_ADMIN_API_KEY`` with ``CALSYNC_ODOO_USER_API_KEY``. No test here
tries a wrong password (ten lock a login for a minute).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calsync import AuthenticationError, ConfigurationError, Window
from calsync.adapters import Create
from calsync.adapters.odoo import OdooCalendar
from calsync.model import Attendee, Event, Person
from tests.conformance.target import OdooTarget, from_env, missing_reason

UTC = timezone.utc

pytestmark = [
    pytest.mark.live,  # nox -s conformance
    pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
]


@pytest.fixture(scope="module")
def target() -> OdooTarget:
    return from_env()


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


def test_a_meeting_organised_outside_odoo_keeps_its_organiser(target: OdooTarget) -> None:
    url, db, password_of_admin = target.url, target.db, target.admin.password
    tag = uuid.uuid4().hex[:10]
    admin = rpc(url, "common", "login", db, target.admin.login, password_of_admin)
    login, password = f"calsync-safety-{tag}", f"pw-{tag}"
    values = {"name": f"Ann {tag}", "login": login, "password": password}
    values["email"] = f"ann-{tag}@example.com"
    context = {"context": {"no_reset_password": True}}
    rpc(url, "object", "execute_kw", db, admin, password_of_admin, "res.users", "create",
        [values], context)  # fmt: skip
    zed = Person(f"zed-{tag}@other.example", "Zed")
    # Zed's contact exists (a new user may lack "Contact Creation", as on Odoo 19)
    rpc(url, "object", "execute_kw", db, admin, password_of_admin, "res.partner", "create",
        [{"name": zed.name, "email": zed.email}])  # fmt: skip
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
        url, "object", "execute_kw", db, admin, password_of_admin, "calendar.event", "read",
        [[row_id], ["user_id", "partner_id", "attendee_ids"]],
    )  # fmt: skip
    assert (row["user_id"], row["partner_id"]) == (False, False)
    attendees = rpc(
        url, "object", "execute_kw", db, admin, password_of_admin, "calendar.attendee", "read",
        [row["attendee_ids"], ["email", "state"]],
    )  # fmt: skip
    assert {a["email"]: a["state"] for a in attendees}[zed.email] == "accepted"
    assert pulled.event.organizer == zed, "it reads back as someone else's meeting"
    assert [a.email for a in pulled.event.attendees] == [values["email"]]


def test_a_wrong_database_is_a_configuration_error(target: OdooTarget) -> None:
    database = f"nosuchdb{uuid.uuid4().hex[:6]}"
    calendar = OdooCalendar(
        target.url, database, target.admin.login, password=target.admin.password
    )
    with pytest.raises(ConfigurationError, match="Odoo has no database"):
        asyncio.run(calendar.connect())


def test_json2_refuses_another_users_key_and_a_wrong_database(target: OdooTarget) -> None:
    if int(target.version.split(".")[0].split("~")[-1].removeprefix("saas")) < 19:
        pytest.skip(f"JSON-2 and its API keys are Odoo 19's; this server is {target.version}")
    assert target.user is not None
    if not (target.admin.api_key and target.user.api_key):
        pytest.skip("set CALSYNC_ODOO_ADMIN_API_KEY and CALSYNC_ODOO_USER_API_KEY")
    url, db = target.url, target.db
    first, first_key, second = target.admin.login, target.admin.api_key, target.user.login

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
