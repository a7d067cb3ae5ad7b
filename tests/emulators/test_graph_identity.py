"""The emulator's identity platform over plain HTTP: discovery, authorize, token, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from calsync.testing import GraphEmulator, GraphMailbox

CLIENT, SECRET = "app-1", "secret-value"
REDIRECT = "https://odoo.example.com/microsoft_account/authentication"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def idp(graph_emulator: GraphEmulator) -> Iterator[httpx.Client]:
    graph_emulator.identity.register_app(CLIENT, SECRET, [REDIRECT])
    with httpx.Client(base_url=graph_emulator.url, timeout=10) as client:
        yield client


def authorize(client: httpx.Client, challenge: str, **extra: str) -> httpx.Response:
    query = {
        "client_id": CLIENT,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "Calendars.ReadWrite User.Read offline_access openid profile",
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": "n0nce",
    }
    query.update(extra)
    return client.get(f"/common/oauth2/v2.0/authorize?{urlencode(query)}")


def answer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token(client: httpx.Client, **form: str) -> httpx.Response:
    body = {"client_id": CLIENT, "client_secret": SECRET, **form}
    return client.post("/common/oauth2/v2.0/token", data=body)


def redeem(client: httpx.Client, graph: GraphEmulator, mailbox: GraphMailbox) -> dict[str, str]:
    verifier, challenge = pkce()
    graph.identity.sign_in(mailbox)
    code = answer(authorize(client, challenge))["code"]
    got = token(
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        scope="Calendars.ReadWrite User.Read offline_access openid profile",
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


def claims(jwt: str) -> dict[str, object]:
    part = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def check_error(
    response: httpx.Response, status: int, error: str, aadsts: int
) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["error"] == error
    assert str(body["error_description"]).startswith(f"AADSTS{aadsts}: ")
    assert "Trace ID:" in str(body["error_description"])
    assert body["error_codes"] == [aadsts]
    for key in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert body[key]
    return body


def test_discovery_documents(idp: httpx.Client, graph_emulator: GraphEmulator) -> None:
    plain = idp.get("/common/v2.0/.well-known/openid-configuration").json()
    assert plain["token_endpoint"] == f"{graph_emulator.url}/common/oauth2/v2.0/token"
    assert plain["authorization_endpoint"].endswith("/common/oauth2/v2.0/authorize")
    behind_tls = idp.get(
        "/organizations/v2.0/.well-known/openid-configuration",
        headers={"X-Forwarded-Proto": "https"},
    ).json()
    assert behind_tls["token_endpoint"].startswith("https://127.0.0.1:")
    lost = idp.get("/nowhere/v2.0/.well-known/openid-configuration")
    check_error(lost, 400, "invalid_tenant", 90002)
    instance = idp.get(
        "/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": "https://x/common/oauth2/v2.0/authorize",
        },
    ).json()
    assert instance["tenant_discovery_endpoint"].endswith(
        "/common/v2.0/.well-known/openid-configuration"
    )
    assert instance["metadata"][0]["aliases"]


def test_authorize_pages_for_an_unknown_app_or_redirect_uri(idp: httpx.Client) -> None:
    _, challenge = pkce()
    unknown = authorize(idp, challenge, client_id="nope")
    assert unknown.status_code == 400
    assert "AADSTS700016" in unknown.text
    elsewhere = authorize(idp, challenge, redirect_uri="https://evil.example.com/cb")
    assert elsewhere.status_code == 400
    assert "AADSTS50011" in elsewhere.text
    assert "location" not in elsewhere.headers  # shown to the user, never redirected


def test_authorize_errors_are_redirected_with_the_state(
    idp: httpx.Client, graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    graph_emulator.identity.sign_in(graph_alice)
    _, challenge = pkce()
    cases = [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "Calendars.ReadWrite Files.Everything"}, "invalid_scope"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ]
    for extra, error in cases:
        got = answer(authorize(idp, challenge, **extra))
        assert got["error"] == error
        assert got["error_description"].startswith("AADSTS")
        assert got["state"] == "st4te"
    graph_emulator.identity.sign_in(graph_alice, consent=False)
    declined = answer(authorize(idp, challenge))
    assert (declined["error"], declined["error_subcode"]) == ("access_denied", "cancel")


def test_nobody_signed_in_shows_the_sign_in_page_and_login_hint_picks_a_mailbox(
    idp: httpx.Client, graph_alice: GraphMailbox
) -> None:
    _, challenge = pkce()
    page = authorize(idp, challenge)
    assert page.status_code == 200
    assert "Sign in" in page.text
    hinted = answer(authorize(idp, challenge, login_hint="alice@example.com", client_info="1"))
    assert hinted["code"]
    info = json.loads(base64.urlsafe_b64decode(hinted["client_info"] + "=="))
    assert info["uid"] == graph_alice.id


def test_code_exchange_checks_pkce_redirect_and_one_use(
    idp: httpx.Client, graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    graph_emulator.identity.sign_in(graph_alice)
    verifier, challenge = pkce()
    code = answer(authorize(idp, challenge))["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    check_error(token(idp, **exchange, code_verifier="wrong"), 400, "invalid_grant", 501481)
    check_error(
        token(
            idp,
            **{**exchange, "redirect_uri": "https://evil.example.com/cb"},
            code_verifier=verifier,
        ),
        400,
        "invalid_request",
        50011,
    )
    good = token(idp, **exchange, code_verifier=verifier)
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id_token", "client_info", "expires_in"} <= set(body)
    assert "Calendars.ReadWrite" in body["scope"].split()
    id_claims = claims(body["id_token"])
    assert id_claims["aud"] == CLIENT
    assert id_claims["nonce"] == "n0nce"
    assert id_claims["preferred_username"] == "alice@example.com"
    assert id_claims["oid"] == graph_alice.id
    check_error(token(idp, **exchange, code_verifier=verifier), 400, "invalid_grant", 54005)


def test_client_authentication(idp: httpx.Client, graph_emulator: GraphEmulator) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "x"}
    check_error(token(idp, **form, client_id="nope"), 400, "unauthorized_client", 700016)
    check_error(token(idp, **form, client_secret=""), 401, "invalid_client", 7000218)
    check_error(token(idp, **form, client_secret="id-not-value"), 401, "invalid_client", 7000215)
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    via_header = idp.post(
        "/common/oauth2/v2.0/token",
        data=form,
        headers={"Authorization": f"Basic {basic}"},
    )
    check_error(via_header, 400, "invalid_grant", 70000)  # authenticated; the token is bogus
    graph_emulator.identity.expire_secret(CLIENT)
    body = check_error(token(idp, **form), 401, "invalid_client", 7000222)
    assert "expired" in str(body["error_description"])


def test_refresh_rotation_and_bearer_tokens(
    idp: httpx.Client, graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    first = redeem(idp, graph_emulator, graph_alice)
    refresh = {"grant_type": "refresh_token", "scope": "Calendars.ReadWrite offline_access openid"}
    second = token(idp, **refresh, refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    body = check_error(
        token(idp, **refresh, refresh_token=first["refresh_token"]), 400, "invalid_grant", 70000
    )
    assert "already redeemed" in str(body["error_description"])
    assert graph_emulator.identity.refresh_tokens(graph_alice) == [second["refresh_token"]]
    wider = token(
        idp, grant_type="refresh_token", refresh_token=second["refresh_token"], scope="Mail.Send"
    )
    body = check_error(wider, 400, "invalid_grant", 65001)
    assert body["suberror"] == "consent_required"
    me = httpx.get(
        f"{graph_emulator.base_url}/me",
        headers={"Authorization": f"Bearer {second['access_token']}"},
    )
    assert me.json()["mail"] == "alice@example.com"
    graph_emulator.identity.expire_access_tokens()
    expired = httpx.get(
        f"{graph_emulator.base_url}/me",
        headers={"Authorization": f"Bearer {second['access_token']}"},
    )
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "Lifetime validation failed, the token is expired."


@pytest.mark.parametrize(
    ("reason", "error", "aadsts"),
    [
        ("revoked", "invalid_grant", 50173),
        ("consent", "invalid_grant", 65001),
        ("idle", "invalid_grant", 700082),
        ("mfa", "interaction_required", 50076),
    ],
)
def test_revocations(
    idp: httpx.Client,
    graph_emulator: GraphEmulator,
    graph_alice: GraphMailbox,
    reason: str,
    error: str,
    aadsts: int,
) -> None:
    first = redeem(idp, graph_emulator, graph_alice)
    graph_emulator.identity.revoke(graph_alice, reason)
    check_error(
        token(idp, grant_type="refresh_token", refresh_token=first["refresh_token"]),
        400,
        error,
        aadsts,
    )
    again = redeem(idp, graph_emulator, graph_alice)  # a new sign-in works
    assert (
        token(idp, grant_type="refresh_token", refresh_token=again["refresh_token"]).status_code
        == 200
    )


def test_injected_failures_and_the_request_log(
    idp: httpx.Client, graph_emulator: GraphEmulator, graph_alice: GraphMailbox
) -> None:
    first = redeem(idp, graph_emulator, graph_alice)
    graph_emulator.identity.fail_token(
        "temporarily_unavailable", 50196, "Busy.", status=503, times=1
    )
    busy = token(idp, grant_type="refresh_token", refresh_token=first["refresh_token"])
    check_error(busy, 503, "temporarily_unavailable", 50196)
    fine = token(idp, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert fine.status_code == 200
    log = graph_emulator.identity.token_requests
    assert [(r.grant_type, r.error) for r in log] == [
        ("authorization_code", None),
        ("refresh_token", "temporarily_unavailable"),
        ("refresh_token", None),
    ]
    assert all(r.mailbox in (None, "alice@example.com") for r in log)
    assert SECRET not in repr(log)
    assert first["refresh_token"] not in repr(log)


# -- app-only (client credentials) and the device code flow ------------------------------------

DEFAULT = "https://graph.microsoft.com/.default"


def app_token(client: httpx.Client, **form: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET}
    body.update({"scope": DEFAULT, **form})
    return client.post("/emulator.onmicrosoft.com/oauth2/v2.0/token", data=body)


def test_client_credentials_reach_mailboxes_at_users_with_consent_and_policy(
    idp: httpx.Client, graph_emulator: GraphEmulator
) -> None:
    ann = graph_emulator.add_mailbox("ann@example.com")
    bob = graph_emulator.add_mailbox("bob@example.com")
    wrong_scope = app_token(idp, scope="Calendars.ReadWrite")
    assert wrong_scope.json()["error_codes"] == [1002012]

    no_consent = app_token(idp).json()
    assert "refresh_token" not in no_consent
    assert "id_token" not in no_consent
    bearer = {"Authorization": f"Bearer {no_consent['access_token']}"}
    denied = idp.get("/v1.0/users/ann@example.com/calendar", headers=bearer)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ErrorAccessDenied")

    graph_emulator.identity.grant_application_permission(CLIENT, "Calendars.ReadWrite")
    graph_emulator.identity.restrict_app(CLIENT, [ann])
    bearer = {"Authorization": f"Bearer {app_token(idp).json()['access_token']}"}
    assert idp.get("/v1.0/users/ann@example.com/calendar", headers=bearer).status_code == 200
    me = idp.get("/v1.0/me/calendar", headers=bearer)
    assert me.status_code == 400
    assert "only valid with delegated authentication" in me.json()["error"]["message"]
    policy = idp.get(f"/v1.0/users/{bob.id}/calendar", headers=bearer)
    assert policy.status_code == 403
    assert "AppOnly AccessPolicy" in policy.json()["error"]["message"]


def test_an_unknown_certificate_assertion_is_invalid_client(idp: httpx.Client) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","x5t":"bm9wZQ"}').rstrip(b"=").decode()
    claims = base64.urlsafe_b64encode(json.dumps({"iss": CLIENT}).encode()).rstrip(b"=").decode()
    refused = app_token(
        idp,
        client_secret="",
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion=f"{header}.{claims}.c2ln",
    )
    assert refused.status_code == 401
    assert refused.json()["error_codes"] == [700027]


def device_poll(client: httpx.Client, code: str, **form: str) -> httpx.Response:
    body = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": CLIENT,
        "device_code": code,
        **form,
    }
    return client.post("/common/oauth2/v2.0/token", data=body)


def test_device_code_flow_is_a_public_client_flow(
    idp: httpx.Client, graph_emulator: GraphEmulator
) -> None:
    alice = graph_emulator.add_mailbox("alice@example.com")
    started = idp.post(
        "/common/oauth2/v2.0/devicecode",
        data={"client_id": CLIENT, "scope": "Calendars.ReadWrite offline_access"},
    ).json()
    assert {"device_code", "user_code", "verification_uri", "interval", "message"} <= set(started)
    assert started["user_code"] in started["message"]
    refused = device_poll(idp, started["device_code"])
    assert refused.json()["error_codes"] == [7000218]  # public client flows are off

    graph_emulator.identity.apps[CLIENT].public_client = True
    assert device_poll(idp, started["device_code"]).json()["error"] == "authorization_pending"
    graph_emulator.identity.approve_device(started["user_code"], alice)
    tokens = device_poll(idp, started["device_code"]).json()
    assert tokens["token_type"] == "Bearer"
    used = device_poll(idp, started["device_code"]).json()
    assert used["error"] == "bad_verification_code"

    refresh = {"grant_type": "refresh_token", "client_id": CLIENT}
    with_secret = idp.post(
        "/common/oauth2/v2.0/token",
        data={**refresh, "refresh_token": tokens["refresh_token"], "client_secret": SECRET},
    )
    assert with_secret.json()["error_codes"] == [700025]  # "Client is public"
    public = idp.post(
        "/common/oauth2/v2.0/token", data={**refresh, "refresh_token": tokens["refresh_token"]}
    )
    assert public.status_code == 200


def test_a_declined_device_sign_in(idp: httpx.Client, graph_emulator: GraphEmulator) -> None:
    graph_emulator.identity.apps[CLIENT].public_client = True
    started = idp.post("/common/oauth2/v2.0/devicecode", data={"client_id": CLIENT}).json()
    assert graph_emulator.identity.pending_devices() == [started["user_code"]]
    graph_emulator.identity.decline_device(started["user_code"])
    assert device_poll(idp, started["device_code"]).json()["error"] == "authorization_declined"
