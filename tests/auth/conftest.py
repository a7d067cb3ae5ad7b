"""Fixtures for calsync.auth: the Graph emulator with its identity platform, a browser, auth.

The browser is ``http.client`` (it logs nothing, so the log checks see only
what calsync and its libraries log) and never follows the redirect: it
returns the query Microsoft sends back to the redirect URI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from calsync.auth import MicrosoftAuth
from calsync.stores import MemoryTokenStore, TokenStore
from calsync.testing import GraphEmulator, GraphMailbox
from tests.browser import visit

CLIENT_ID = "3f1c2b7e-0000-4000-8000-calsynctests"
SECRET = "client-secret-value-Q8~x.Yv3"
REDIRECT = "https://odoo.example.com/microsoft_account/authentication"

Browser = Callable[[str], dict[str, list[str]]]


def callback(url: str) -> dict[str, list[str]]:
    """The query the identity platform redirects to after the sign-in at ``url``."""
    status, location, body = visit(url)
    assert status == 302, body
    assert location.startswith(REDIRECT), location
    return parse_qs(urlsplit(location).query)


@pytest.fixture
def graph() -> Iterator[GraphEmulator]:
    """The emulator, with calsync's app registered; fails the test on a handler crash."""
    with GraphEmulator() as emulator:
        emulator.identity.register_app(CLIENT_ID, SECRET, [REDIRECT], name="calsync tests")
        yield emulator
        assert emulator.errors == []


@pytest.fixture
def alice(graph: GraphEmulator) -> GraphMailbox:
    return graph.add_mailbox("alice@example.com", name="Alice")


@pytest.fixture
def bob(graph: GraphEmulator) -> GraphMailbox:
    return graph.add_mailbox("bob@example.com", name="Bob")


@pytest.fixture
def tokens() -> TokenStore:
    return MemoryTokenStore()


@pytest.fixture
def make_auth(graph: GraphEmulator) -> Iterator[Callable[..., MicrosoftAuth]]:
    """``make_auth(store, **options)``: MicrosoftAuth on the emulator, closed after the test."""
    made: list[MicrosoftAuth] = []

    def make(store: TokenStore, **options: object) -> MicrosoftAuth:
        settings: dict[str, object] = {
            "authority_host": graph.url,
            "client_secret": SECRET,
            "redirect_uri": REDIRECT,
        }
        settings.update(options)
        auth = MicrosoftAuth(CLIENT_ID, token_store=store, **settings)  # type: ignore[arg-type]
        made.append(auth)
        return auth

    yield make
    for auth in made:
        auth.close()


@pytest.fixture
def auth(make_auth: Callable[..., MicrosoftAuth], tokens: TokenStore) -> MicrosoftAuth:
    return make_auth(tokens)


@pytest.fixture
def sign_in(graph: GraphEmulator) -> Callable[[MicrosoftAuth, str, GraphMailbox], None]:
    """``sign_in(auth, account, mailbox)``: the whole browser round trip for one user."""

    def run(auth: MicrosoftAuth, account: str, mailbox: GraphMailbox) -> None:
        graph.identity.sign_in(mailbox)
        auth.complete(account, callback(auth.authorization_url(account)))

    return run
