"""examples/oauth_app.py on a real uvicorn server: the whole sign-in round trip, offline.

A browser (an httpx client with cookies, following redirects) opens the app,
goes to the Graph emulator's identity platform, comes back to the app's
``/microsoft_account/authentication`` with a code, and syncs its calendars:
msal, the token store and the Outlook adapter all run as in production.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

import calsync
from calsync.adapters.odoo import OdooCalendar
from calsync.adapters.outlook import OutlookCalendar
from calsync.auth import MicrosoftAuth
from calsync.stores import SQLiteStore, SQLiteTokenStore
from calsync.testing import GraphEmulator, GraphMailbox, OdooEmulator
from tests.examples.support import EXAMPLES, QUIET, soon

CLIENT_ID = "7c2d9a10-0000-4000-8000-calsyncoauth"
SECRET = "oauth-example-secret~Vw2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def oauth_app() -> Iterator[Any]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import oauth_app

        yield oauth_app
    finally:
        sys.path.remove(str(EXAMPLES))


@attrs.define
class Site:
    url: str
    graph: GraphEmulator
    odoo: OdooEmulator
    mailbox: GraphMailbox
    browser: httpx.Client


@pytest.fixture
def site(oauth_app: Any, tmp_path: Path) -> Iterator[Site]:
    import uvicorn

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with OdooEmulator() as odoo, GraphEmulator() as graph:
        odoo.add_user("ann", "ann-password", email="ann@example.com", tz="UTC")
        mailbox = graph.add_mailbox("ann@example.com", name="Ann Lee")
        graph.identity.register_app(CLIENT_ID, SECRET, [f"{url}/microsoft_account/authentication"])
        carol = odoo.execute(
            "ann", "res.partner", "create", {"name": "Carol", "email": "c@x.example"}
        )
        start = soon(2, 10)
        odoo.execute(
            "ann",
            "calendar.event",
            "create",
            {
                "name": "Planning with Carol",
                "start": f"{start:%Y-%m-%d %H:%M:%S}",
                "stop": f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
                "partner_ids": [(4, carol)],
            },
            context=QUIET,
        )
        state = tmp_path / "state.sqlite3"
        store, tokens = SQLiteStore(state), SQLiteTokenStore(state)  # one file for both
        auth = MicrosoftAuth(
            CLIENT_ID,
            SECRET,
            f"{url}/microsoft_account/authentication",
            tokens,
            authority_host=graph.url,
        )
        users = {"ann": "ann@example.com", "bob": "bob@example.com"}

        def build(user: str) -> calsync.Synchronizer:
            return calsync.Synchronizer(
                OdooCalendar(odoo.url, odoo.db, user, password=f"{user}-password"),
                OutlookCalendar(
                    auth.credential(users[user]), base_url=graph.base_url, account=users[user]
                ),
                store,
                pair=user,
            )

        app = oauth_app.create_app(auth, users, build, session_secret="test-session-secret")
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        browser = httpx.Client(follow_redirects=True, timeout=30)
        try:
            yield Site(url, graph, odoo, mailbox, browser)
        finally:
            browser.close()
            server.should_exit = True
            thread.join(10)
            auth.close()
            store.close()
            tokens.close()
        assert graph.errors == []


def test_sign_in_round_trip_then_preview_and_sync(site: Site) -> None:
    home = site.browser.get(site.url)
    assert "ann (ann@example.com): not connected" in home.text
    assert "/connect/ann" in home.text

    site.graph.identity.sign_in(site.mailbox)  # who the browser is signed in as at Microsoft
    preview = site.browser.get(f"{site.url}/connect/ann")
    hops = [str(r.url).split("?")[0] for r in preview.history]
    assert hops == [
        f"{site.url}/connect/ann",
        f"{site.graph.url}/common/oauth2/v2.0/authorize",
        f"{site.url}/microsoft_account/authentication",
    ]
    cookie = preview.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert preview.status_code == 200, preview.text
    assert "create on outlook: &#x27;Planning with Carol&#x27;" in preview.text
    assert "invitation to c@x.example" in preview.text
    assert "Sync now (1 writes, 1 e-mails)" in preview.text
    assert site.graph.identity.token_count("authorization_code") == 1

    synced = site.browser.post(f"{site.url}/sync", params={"emails": "1"})
    assert synced.status_code == 200, synced.text
    assert "1 write, ok" in synced.text
    assert [e["subject"] for e in site.graph.events(site.mailbox)] == ["Planning with Carol"]
    assert [(m.kind, m.recipient) for m in site.graph.mail_log()] == [("invitation", "c@x.example")]

    again = site.browser.get(f"{site.url}/sync")
    assert "Nothing to do." in again.text
    assert "ann (ann@example.com): connected" in site.browser.get(site.url).text


def test_a_run_that_would_mail_more_than_previewed_writes_nothing(site: Site) -> None:
    site.graph.identity.sign_in(site.mailbox)
    site.browser.get(f"{site.url}/connect/ann")
    refused = site.browser.post(f"{site.url}/sync", params={"emails": "0"})
    assert refused.status_code == 409
    assert "Nothing was written" in refused.text
    assert "more than the 0 you allowed" in refused.text
    assert site.graph.events(site.mailbox) == []


def test_a_callback_without_its_sign_in_is_refused(site: Site) -> None:
    site.browser.cookies.clear()
    stray = site.browser.get(f"{site.url}/microsoft_account/authentication?code=x&state=y")
    assert stray.status_code == 400
    assert "Start from the home page" in stray.text

    site.graph.identity.sign_in(site.mailbox)
    site.browser.get(f"{site.url}/connect/ann")  # a session, then a forged state
    forged = site.browser.get(f"{site.url}/microsoft_account/authentication?code=x&state=forged")
    assert forged.status_code == 400
    assert "Sign-in expired" in forged.text


def test_an_expired_client_secret_is_the_administrators_page(site: Site) -> None:
    site.graph.identity.expire_secret(CLIENT_ID)
    site.graph.identity.sign_in(site.mailbox)
    answer = site.browser.get(f"{site.url}/connect/ann")
    assert answer.status_code == 500
    assert "The administrator must fix the app registration" in answer.text
    assert "AADSTS7000222" in answer.text


def test_an_unreachable_identity_platform_is_a_page_not_a_500(site: Site) -> None:
    site.graph.drop(path=r"openid-configuration$", times=10)
    answer = site.browser.get(f"{site.url}/connect/ann")
    assert answer.status_code == 503
    assert "Try again in a moment" in answer.text
    assert "could not be reached" in answer.text
