"""MicrosoftAuth offline against the emulator's identity platform: sign-in, refresh rotation,
locks, typed errors with their guidance, encryption at rest, and no secret in logs or reprs."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync import (
    AppRegistrationError,
    ClientSecretExpiredError,
    ConfigurationError,
    InvalidClientSecretError,
    ReauthorizationRequiredError,
    RedirectUriMismatchError,
    SignInStateError,
    TransientError,
)
from calsync.auth import MicrosoftAuth, MicrosoftCredential
from calsync.stores import (
    MemoryTokenStore,
    SQLiteTokenStore,
    SQLTokenStore,
    TokenStore,
    generate_token_key,
)
from calsync.testing import GraphEmulator, GraphMailbox
from tests.auth.conftest import CLIENT_ID, REDIRECT, SECRET, callback
from tests.browser import visit

SignIn = Callable[[MicrosoftAuth, str, GraphMailbox], None]
MakeAuth = Callable[..., MicrosoftAuth]
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def me(graph: GraphEmulator, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{graph.base_url}/me", headers=headers, timeout=10)


def stored_refresh_token(store: TokenStore, account: str) -> str:
    data = json.loads(store.get(account) or "{}")
    secrets = [entry["secret"] for entry in data.get("RefreshToken", {}).values()]
    assert len(secrets) == 1
    return str(secrets[0])


def refreshes(graph: GraphEmulator) -> int:
    """Successful refresh-token requests the identity platform answered."""
    return sum(
        1
        for request in graph.identity.token_requests
        if request.grant_type == "refresh_token" and request.error is None
    )


def raw_refresh(graph: GraphEmulator, refresh_token: str) -> httpx.Response:
    """Redeem a refresh token directly, as any client would."""
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": refresh_token,
        "scope": "Calendars.ReadWrite User.Read offline_access openid profile",
    }
    return httpx.post(f"{graph.url}/common/oauth2/v2.0/token", data=form, timeout=10)


# -- the round trip --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TokenStore]:
    store: Any
    if request.param == "memory":
        store = MemoryTokenStore()
    elif request.param == "sqlite":
        store = SQLiteTokenStore(tmp_path / "tokens.sqlite3", key=generate_token_key())
    else:
        store = SQLTokenStore(request.getfixturevalue("postgres_url"), key=generate_token_key())
    yield store
    store.close()


def test_sign_in_round_trip_gives_a_token_graph_accepts(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, any_store: TokenStore
) -> None:
    auth = make_auth(any_store)
    url = auth.authorization_url("user-1")
    assert url.startswith(f"{graph.url}/common/oauth2/v2.0/authorize?")
    for part in ("code_challenge=", "code_challenge_method=S256", "state=", "nonce="):
        assert part in url
    assert any_store.accounts() == []  # the pending flow is not an account
    graph.identity.sign_in(alice)
    signed = auth.complete("user-1", callback(url))
    assert (signed.account, signed.username, signed.name) == (
        "user-1",
        "alice@example.com",
        "Alice",
    )
    assert any_store.accounts() == ["user-1"]
    token = auth.credential("user-1").get_token(GRAPH_DEFAULT)
    answer = me(graph, token.token)
    assert answer.status_code == 200
    assert answer.json()["mail"] == "alice@example.com"
    assert graph.identity.token_count() == 1  # the code exchange; the token came from the cache


def test_msgraph_sdk_runs_on_the_credential(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn
) -> None:
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options as default_options
    from msgraph_core import GraphClientFactory

    sign_in(auth, "user-1", alice)
    provider = AzureIdentityAuthenticationProvider(
        auth.credential("user-1"), scopes=[GRAPH_DEFAULT], allowed_hosts=["127.0.0.1"]
    )

    async def fetch() -> str | None:
        transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport, timeout=10), options=dict(default_options)
        )
        adapter = GraphRequestAdapter(provider, client=http)
        adapter.base_url = graph.base_url
        try:
            user = await GraphServiceClient(request_adapter=adapter).me.get()
            return None if user is None else user.mail
        finally:
            await http.aclose()
            await transport.aclose()

    assert asyncio.run(fetch()) == "alice@example.com"


def test_the_callback_may_reach_another_worker(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, tmp_path: Path
) -> None:
    path, key = tmp_path / "shared.sqlite3", generate_token_key()
    first, second = SQLiteTokenStore(path, key=key), SQLiteTokenStore(path, key=key)
    url = make_auth(first).authorization_url("user-1")
    graph.identity.sign_in(alice)
    make_auth(second).complete("user-1", callback(url))  # another process, same store
    token = make_auth(first).credential("user-1").get_token()
    assert me(graph, token.token).status_code == 200
    first.close()
    second.close()


def test_a_callback_matching_no_pending_sign_in_is_refused(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, auth: MicrosoftAuth
) -> None:
    graph.identity.sign_in(alice)
    answer = callback(auth.authorization_url("user-1"))
    with pytest.raises(SignInStateError, match="authorization_url"):
        auth.complete("user-2", answer)  # started for another account
    auth.complete("user-1", answer)
    with pytest.raises(SignInStateError):  # one use only
        auth.complete("user-1", answer)
    with pytest.raises(SignInStateError):
        auth.complete("user-1", code="made-up", state="made-up")
    hasty = make_auth(MemoryTokenStore(), flow_ttl=0)
    with pytest.raises(SignInStateError, match="expired"):
        hasty.complete("user-1", callback(hasty.authorization_url("user-1")))


def test_several_sign_in_links_of_one_account_stay_valid(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, tokens: TokenStore
) -> None:
    graph.identity.sign_in(alice)
    first = auth.authorization_url("user-1")
    second = auth.authorization_url("user-1")
    auth.complete("user-1", callback(first))
    auth.complete("user-1", callback(second))  # a new sign-in replaces the tokens
    assert tokens.accounts() == ["user-1"]
    assert tokens.get("calsync:flow:user-1") is None


def test_signing_in_again_replaces_the_microsoft_account(
    graph: GraphEmulator,
    alice: GraphMailbox,
    bob: GraphMailbox,
    auth: MicrosoftAuth,
    sign_in: SignIn,
) -> None:
    sign_in(auth, "user-1", alice)
    sign_in(auth, "user-1", bob)
    token = auth.credential("user-1").get_token()
    assert me(graph, token.token).json()["mail"] == "bob@example.com"


# -- refresh ---------------------------------------------------------------------------------------


def test_refresh_rotates_and_the_store_keeps_the_newest(
    graph: GraphEmulator,
    alice: GraphMailbox,
    auth: MicrosoftAuth,
    sign_in: SignIn,
    tokens: TokenStore,
) -> None:
    graph.identity.access_token_lifetime = 120  # under msal's 5-minute margin: always refresh
    sign_in(auth, "user-1", alice)
    credential = auth.credential("user-1")
    first_refresh = stored_refresh_token(tokens, "user-1")
    old_access = credential.get_token().token
    assert graph.identity.token_count("refresh_token") == 1
    newest = stored_refresh_token(tokens, "user-1")
    assert newest != first_refresh
    assert graph.identity.refresh_tokens(alice) == [newest]
    refused = raw_refresh(graph, first_refresh)  # the rotated-out token no longer works
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    graph.identity.access_token_lifetime = 3599
    new_access = credential.get_token().token
    assert new_access != old_access
    assert me(graph, new_access).status_code == 200
    assert stored_refresh_token(tokens, "user-1") == graph.identity.refresh_tokens(alice)[0]
    assert credential.get_token().token == new_access  # valid for an hour: from the cache
    assert refreshes(graph) == 2


def test_an_expired_access_token_is_refused_by_graph_and_replaced(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn
) -> None:
    sign_in(auth, "user-1", alice)
    credential = auth.credential("user-1")
    token = credential.get_token()
    graph.identity.expire_access_tokens(alice)
    refused = me(graph, token.token)
    assert refused.status_code == 401
    assert "Lifetime validation failed" in refused.json()["error"]["message"]
    fresh = credential.get_token(claims='{"access_token":{"nbf":{"essential":true}}}')
    assert me(graph, fresh.token).status_code == 200  # a claims challenge forces a refresh


def test_two_threads_refreshing_one_account_make_one_token_request(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn
) -> None:
    graph.identity.access_token_lifetime = 120
    sign_in(auth, "user-1", alice)  # its access token is already due for refresh
    graph.identity.access_token_lifetime = 3599
    graph.slow(0.3, path=r"/oauth2/v2.0/token$")  # both threads overlap the refresh
    barrier = threading.Barrier(2)
    seen: list[str] = []

    def work() -> None:
        barrier.wait()
        seen.append(auth.credential("user-1").get_token(GRAPH_DEFAULT).token)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert graph.identity.token_count("refresh_token") == 1


class _StaleOnce:
    """A token store whose next read returns what it held before: another process's refresh
    landing between this process's read and its own refresh."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner
        self.stale: str | None = None

    def get(self, account: str) -> str | None:
        if self.stale is not None and not account.startswith("calsync:"):
            stale, self.stale = self.stale, None
            return stale
        return self.inner.get(account)

    def set(self, account: str, data: str) -> None:
        self.inner.set(account, data)

    def delete(self, account: str) -> None:
        self.inner.delete(account)

    def accounts(self) -> list[str]:
        return self.inner.accounts()


def test_a_refresh_token_rotated_by_another_process_is_picked_up(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, sign_in: SignIn
) -> None:
    shared = MemoryTokenStore()
    graph.identity.access_token_lifetime = 120
    one = make_auth(shared)
    sign_in(one, "user-1", alice)
    racing = _StaleOnce(shared)
    two = make_auth(racing)
    two.credential("user-1").get_token()  # loads (refreshing: RT1 -> RT2, stored)
    racing.stale = shared.get("user-1")
    one.credential("user-1").get_token()  # the other process: RT2 -> RT3, stored
    # "two" reads the stale data (RT2), its refresh fails, it re-reads, retries with RT3
    token = two.credential("user-1").get_token()
    assert me(graph, token.token).status_code == 200
    assert stored_refresh_token(shared, "user-1") in graph.identity.refresh_tokens(alice)
    errors = [r.error for r in graph.identity.token_requests]
    assert errors.count("invalid_grant") == 1


def test_get_token_info_and_hidden_reprs(
    alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn
) -> None:
    sign_in(auth, "user-1", alice)
    credential = auth.credential("user-1")
    assert isinstance(credential, MicrosoftCredential)
    info = credential.get_token_info("Calendars.ReadWrite", options={"claims": None})  # type: ignore[typeddict-item]
    token = credential.get_token("https://graph.microsoft.com/User.Read")
    assert info.token == token.token  # the same cached access token for these scopes
    for shown in (repr(info), str(info), repr(token), str(token), repr(credential)):
        assert token.token not in shown
    assert "hidden" in repr(token)
    with credential as entered:
        assert entered is credential


# -- typed errors ----------------------------------------------------------------------------------


def test_an_expired_secret_is_app_wide_and_keeps_every_users_tokens(
    graph: GraphEmulator,
    alice: GraphMailbox,
    make_auth: MakeAuth,
    auth: MicrosoftAuth,
    sign_in: SignIn,
    tokens: TokenStore,
) -> None:
    graph.identity.access_token_lifetime = 120
    sign_in(auth, "user-1", alice)
    graph.identity.expire_secret(CLIENT_ID)
    before = tokens.get("user-1")
    with pytest.raises(ClientSecretExpiredError) as expired:
        auth.credential("user-1").get_token()
    text = str(expired.value)
    assert "AADSTS7000222" in text
    assert "create a new secret" in text.lower()
    assert "longest expiry" in text
    assert "tokens were kept" in text
    assert isinstance(expired.value, AppRegistrationError)
    assert expired.value.aadsts == 7000222
    assert expired.value.account == "user-1"
    assert tokens.get("user-1") == before
    graph.identity.add_secret(CLIENT_ID, "the-new-secret")
    renewed = make_auth(tokens, client_secret="the-new-secret")
    token = renewed.credential("user-1").get_token()  # the stored refresh token still works
    assert me(graph, token.token).status_code == 200


def test_a_secret_id_instead_of_its_value(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, tokens: TokenStore
) -> None:
    wrong = make_auth(tokens, client_secret="7b2a1c9e-5d4f-4c3b-9a8e-1f2d3c4b5a69")
    graph.identity.sign_in(alice)
    with pytest.raises(InvalidClientSecretError, match="ID was pasted instead of its value"):
        wrong.complete("user-1", callback(wrong.authorization_url("user-1")))


@pytest.mark.parametrize(
    ("reason", "code", "words"),
    [
        ("consent", 65001, "consent"),
        ("idle", 700082, "90 days"),
        ("revoked", 50173, "revoked"),
        ("mfa", 50076, "multi-factor"),
    ],
)
def test_a_revoked_grant_needs_this_user_only_to_sign_in_again(
    graph: GraphEmulator,
    alice: GraphMailbox,
    bob: GraphMailbox,
    auth: MicrosoftAuth,
    sign_in: SignIn,
    tokens: TokenStore,
    reason: str,
    code: int,
    words: str,
) -> None:
    graph.identity.access_token_lifetime = 120
    sign_in(auth, "user-1", alice)
    sign_in(auth, "user-2", bob)
    graph.identity.revoke(alice, reason)
    with pytest.raises(ReauthorizationRequiredError) as needed:
        auth.credential("user-1").get_token()
    assert needed.value.aadsts == code
    assert words in str(needed.value)
    assert "sign in again" in str(needed.value)
    assert "authorization_url" in str(needed.value)
    assert tokens.accounts() == ["user-1", "user-2"]  # nothing deleted
    auth.credential("user-2").get_token()  # the other user goes on
    sign_in(auth, "user-1", alice)  # reconnecting makes a new grant
    assert me(graph, auth.credential("user-1").get_token().token).status_code == 200


def test_a_redirect_uri_that_is_not_registered(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, auth: MicrosoftAuth
) -> None:
    elsewhere = "https://erp.example.com/microsoft_account/authentication"
    wrong = make_auth(MemoryTokenStore(), redirect_uri=elsewhere)
    status, location, page = visit(wrong.authorization_url("user-1"))
    assert (status, location) == (400, "")  # Microsoft shows its page; nothing comes back
    assert "AADSTS50011" in page
    # registered when the user signed in, removed before the code was redeemed:
    graph.identity.sign_in(alice)
    answer = callback(auth.authorization_url("user-1"))
    graph.identity.apps[CLIENT_ID].redirect_uris = ()
    with pytest.raises(RedirectUriMismatchError) as mismatch:
        auth.complete("user-1", answer)
    text = str(mismatch.value)
    assert "/microsoft_account/authentication" in text
    assert "web.base.url" in text
    assert REDIRECT in text
    assert mismatch.value.aadsts == 50011


def test_a_declined_consent_comes_back_as_an_error(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth
) -> None:
    graph.identity.sign_in(alice, consent=False)
    answer = callback(auth.authorization_url("user-1"))
    assert answer["error"] == ["access_denied"]
    with pytest.raises(ReauthorizationRequiredError, match="declined"):
        auth.complete("user-1", answer)


def test_transient_failures_are_transient_and_keep_the_tokens(
    graph: GraphEmulator,
    alice: GraphMailbox,
    auth: MicrosoftAuth,
    sign_in: SignIn,
    tokens: TokenStore,
) -> None:
    graph.identity.access_token_lifetime = 120
    sign_in(auth, "user-1", alice)
    before = tokens.get("user-1")
    credential = auth.credential("user-1")
    graph.drop(path=r"/oauth2/v2.0/token$")
    with pytest.raises(TransientError, match="could not be reached"):
        credential.get_token()
    graph.identity.fail_token("temporarily_unavailable", 50196, "The server is busy.")
    with pytest.raises(TransientError, match="temporarily unavailable"):
        credential.get_token()
    assert tokens.get("user-1") == before
    graph.fail(503, path=r"/oauth2/v2.0/token$")
    with pytest.raises(TransientError, match="503"):
        credential.get_token(claims="{}")  # a claims challenge: a new request, not msal's cache
    assert tokens.get("user-1") == before


def test_no_stored_sign_in(auth: MicrosoftAuth) -> None:
    with pytest.raises(ReauthorizationRequiredError, match="no Microsoft sign-in is stored"):
        auth.credential("nobody").get_token()


def test_forget_deletes_tokens_and_pending_sign_ins(
    alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn, tokens: TokenStore
) -> None:
    sign_in(auth, "user-1", alice)
    auth.authorization_url("user-1")
    assert auth.accounts() == ["user-1"]
    auth.forget("user-1")
    assert tokens.get("user-1") is None
    assert tokens.get("calsync:flow:user-1") is None
    with pytest.raises(ReauthorizationRequiredError):
        auth.credential("user-1").get_token()


# -- configuration ---------------------------------------------------------------------------------


def test_reserved_scopes_are_msals_to_add(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, sign_in: SignIn
) -> None:
    auth = make_auth(MemoryTokenStore(), scopes=["openid", "offline_access", "Calendars.ReadWrite"])
    assert auth.scopes == ("Calendars.ReadWrite",)
    sign_in(auth, "user-1", alice)
    assert auth.credential("user-1").get_token("offline_access", "Calendars.ReadWrite").token
    with pytest.raises(ConfigurationError, match="besides OpenID"):
        make_auth(MemoryTokenStore(), scopes=["offline_access", "openid"])


def test_configuration_mistakes_are_reported_early(
    graph: GraphEmulator, make_auth: MakeAuth
) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        make_auth(MemoryTokenStore(), authority_host="http://login.example.com")
    with pytest.raises(ConfigurationError, match=r"redirect_uri must be an http\(s\) URL"):
        make_auth(MemoryTokenStore(), redirect_uri="/microsoft_account/authentication")
    with pytest.raises(ConfigurationError, match="client_secret"):
        make_auth(MemoryTokenStore(), client_secret="")
    lost = make_auth(MemoryTokenStore(), tenant="no-such-tenant")
    with pytest.raises(ConfigurationError, match="no-such-tenant"):
        lost.authorization_url("user-1")


# -- secrets at rest, in logs and in reprs ---------------------------------------------------------


def test_tokens_are_encrypted_at_rest(
    graph: GraphEmulator, alice: GraphMailbox, make_auth: MakeAuth, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.sqlite3"
    store = SQLiteTokenStore(path, key=generate_token_key())
    auth = make_auth(store)
    graph.identity.sign_in(alice)
    url = auth.authorization_url("user-1")
    verifier = json.loads(store.get("calsync:flow:user-1") or "")
    [pending] = verifier["flows"].values()
    code_verifier = pending["flow"]["code_verifier"]
    auth.complete("user-1", callback(url))
    access = auth.credential("user-1").get_token().token
    refresh = stored_refresh_token(store, "user-1")
    with sqlite3.connect(path) as connection:
        raw = "\n".join(row[0] for row in connection.execute("SELECT data FROM calsync_tokens"))
    raw_file = path.read_bytes()
    for secret in (access, refresh, code_verifier, "RefreshToken", "alice@example.com"):
        assert secret not in raw
        assert secret.encode() not in raw_file
    store.close()


def test_no_secret_reaches_logs_reprs_or_errors(
    graph: GraphEmulator,
    alice: GraphMailbox,
    make_auth: MakeAuth,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: calsync, msal, httpx, httpcore
    store = SQLiteTokenStore(tmp_path / "t.sqlite3", key=generate_token_key())
    graph.identity.access_token_lifetime = 120
    auth = make_auth(store)
    shown: list[str] = []
    url = auth.authorization_url("user-1")
    flow = json.loads(store.get("calsync:flow:user-1") or "")
    [pending] = flow["flows"].values()
    graph.identity.sign_in(alice)
    answer = callback(url)
    signed = auth.complete("user-1", answer)
    credential = auth.credential("user-1")
    token = credential.get_token()  # refreshes (short lifetime): rotation logged by msal
    info = credential.get_token_info()
    refresh = stored_refresh_token(store, "user-1")
    issued = [token.token, info.token, refresh]
    graph.identity.expire_secret(CLIENT_ID)
    failures: list[BaseException] = []
    try:
        credential.get_token()
    except ClientSecretExpiredError as error:
        failures.append(error)
    graph.identity.add_secret(CLIENT_ID, SECRET + "-2")
    graph.identity.revoke(alice, "consent")
    renewed = make_auth(store, client_secret=SECRET + "-2")
    try:
        renewed.credential("user-1").get_token()
    except ReauthorizationRequiredError as error:
        failures.append(error)
    try:
        auth.complete("user-1", answer)  # replayed callback
    except SignInStateError as error:
        failures.append(error)
    assert len(failures) == 3
    for thing in (auth, renewed, credential, store, token, info, signed, *failures):
        shown += [repr(thing), str(thing)]
    for error in failures:
        shown += [repr(arg) for arg in error.args] + [repr(vars(error))]
        assert error.__cause__ is None
    text = "\n".join([caplog.text, *shown])
    assert "AADSTS7000222" in text  # the check sees the errors and the logs
    forbidden = {
        "client secret": SECRET,
        "code": answer["code"][0],
        "code_verifier": pending["flow"]["code_verifier"],
        "nonce": pending["flow"]["nonce"],
        **{f"token {n}": value for n, value in enumerate(issued)},
        **{f"rt {n}": value for n, value in enumerate(graph.identity.refresh_tokens(alice))},
    }
    leaks = [name for name, value in forbidden.items() if value and value in text]
    assert leaks == []
    store.close()


# -- an access token Graph refuses before its time (issue 14) -----------------------------------


def pull_twice(
    graph: GraphEmulator, mailbox: GraphMailbox, credential: Any, between: Callable[[], None]
) -> list[int]:
    """Two pulls by the Outlook adapter, ``between`` them; Graph's statuses of the second."""
    from calsync import Window
    from calsync.adapters.outlook import OutlookCalendar
    from tests.adapters.outlook_support import fast_retry

    window = Window.around()
    adapter = OutlookCalendar(
        credential, base_url=graph.base_url, account=mailbox.email, retry=fast_retry()
    )

    async def run() -> list[int]:
        try:
            await adapter.pull(None, window)
            between()
            before = len(graph.requests)
            try:
                await adapter.pull(None, window)
            finally:
                statuses = [graph.status_of(r) or 0 for r in graph.requests[before:]]
            return statuses
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def test_a_token_graph_refuses_early_is_refreshed_once(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn
) -> None:
    """Expired for Graph, valid for msal: one 401, one refresh, the same request again."""
    sign_in(auth, "user-1", alice)
    before = refreshes(graph)
    statuses = pull_twice(
        graph, alice, auth.credential("user-1"), lambda: graph.identity.expire_access_tokens(alice)
    )
    assert statuses[:2] == [401, 200]
    assert 401 not in statuses[1:]
    assert refreshes(graph) == before + 1


@pytest.mark.parametrize("reason", ["revoked", "consent"])
def test_a_refused_token_whose_grant_is_gone_asks_for_a_new_sign_in(
    graph: GraphEmulator, alice: GraphMailbox, auth: MicrosoftAuth, sign_in: SignIn, reason: str
) -> None:
    sign_in(auth, "user-1", alice)

    def revoke() -> None:
        graph.identity.revoke(alice, reason)
        graph.identity.expire_access_tokens(alice)

    with pytest.raises(ReauthorizationRequiredError, match=r"sign in|authorization_url"):
        pull_twice(graph, alice, auth.credential("user-1"), revoke)


def test_a_refused_token_no_credential_can_replace_fails_clearly(
    graph: GraphEmulator, alice: GraphMailbox
) -> None:
    """A StaticToken cannot refresh: one 401, no retry, an error that says what to do."""
    from calsync import AuthenticationError
    from calsync.adapters.outlook import StaticToken

    token = graph.grant_token(alice)
    with pytest.raises(AuthenticationError, match="cannot fetch another") as caught:
        pull_twice(graph, alice, StaticToken(token), lambda: graph.revoke_token(token))
    assert caught.value.status == 401
    assert token not in str(caught.value)


def test_a_token_refused_again_after_a_refresh_fails_clearly(
    graph: GraphEmulator, alice: GraphMailbox
) -> None:
    """A credential that refreshes into another refused token: two 401s, then a clear error."""
    from calsync import AuthenticationError
    from calsync.adapters.outlook import StaticToken

    class Refreshing(StaticToken):
        def __init__(self, token: str) -> None:
            super().__init__(token)
            self.rejected: list[str] = []

        def reject(self, token: str) -> None:
            self.rejected.append(token)

    token = graph.grant_token(alice)
    credential = Refreshing(token)
    with pytest.raises(AuthenticationError, match="again after a refresh"):
        pull_twice(graph, alice, credential, lambda: graph.revoke_token(token))
    assert credential.rejected == [token], "told once, retried once"


# -- who signed in (issue 14) -------------------------------------------------------------------


def test_a_sign_in_by_another_account_than_the_mailbox_is_refused(
    graph: GraphEmulator, alice: GraphMailbox, bob: GraphMailbox, auth: MicrosoftAuth
) -> None:
    """The link was for Alice's mailbox; Bob signed in (a shared browser, select_account)."""
    url = auth.authorization_url(alice.email, prompt="select_account")
    graph.identity.sign_in(bob)
    with pytest.raises(ReauthorizationRequiredError, match="sign in as alice") as caught:
        auth.complete(alice.email, callback(url))
    assert caught.value.code == "wrong_account"
    assert "bob@example.com signed in, but this sign-in was for alice@example.com" in str(
        caught.value
    )
    assert auth.accounts() == [], "nothing was stored"
    graph.identity.sign_in(alice)
    url = auth.authorization_url(alice.email)
    assert auth.complete(alice.email, callback(url)).username == alice.email


@pytest.mark.parametrize(
    ("options", "refused"),
    [
        ({"login_hint": "alice@example.com"}, True),
        ({"mailbox": "Alice@Example.com"}, True),
        ({}, False),  # "user-1" names no mailbox
        ({"login_hint": "alice@example.com", "mailbox": ""}, False),  # whoever signs in
    ],
)
def test_the_expected_mailbox_comes_from_the_mailbox_the_hint_or_the_account(
    graph: GraphEmulator,
    bob: GraphMailbox,
    auth: MicrosoftAuth,
    options: dict[str, str],
    refused: bool,
) -> None:
    url = auth.authorization_url("user-1", **options)
    graph.identity.sign_in(bob)
    if refused:
        with pytest.raises(ReauthorizationRequiredError, match="sign in as alice"):
            auth.complete("user-1", callback(url))
    else:
        assert auth.complete("user-1", callback(url)).username == bob.email
