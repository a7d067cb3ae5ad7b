"""The Microsoft identity platform (v2.0) on the GraphEmulator's server: sign-in for tests.

``graph.identity`` serves, on the same loopback server as Graph (no bearer
token needed):

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the OpenID
  discovery document msal reads when it builds an application (its URLs use
  the scheme of ``X-Forwarded-Proto`` when a client sends it, so a client
  that speaks plain HTTP to loopback while presenting msal an ``https``
  authority gets ``https`` endpoints back, as msal requires);
- ``GET /common/discovery/instance``: instance metadata (msal asks it for
  authorities it does not know unless told ``instance_discovery=False``);
- ``GET /{tenant}/oauth2/v2.0/authorize``: the browser leg. It checks the
  app (AADSTS700016 page), the redirect URI (AADSTS50011 page: Microsoft
  shows it to the user and does not redirect), then redirects to the
  redirect URI with ``error``/``error_description``/``state`` for a wrong
  ``response_type``, scope or a missing S256 ``code_challenge`` (PKCE is
  required here), or with a ``code`` bound to the PKCE challenge, the
  redirect URI, the scopes, the ``nonce`` and the mailbox signed in with
  :meth:`IdentityPlatform.sign_in` (or named by ``login_hint``). Nobody
  signed in: the sign-in page (200), no code;
- ``POST /{tenant}/oauth2/v2.0/token``: ``authorization_code`` (one use, 10
  minutes, ``code_verifier`` checked against the challenge, same
  ``redirect_uri``) and ``refresh_token`` with **rotation**: each refresh
  returns a new refresh token and the old one stops working
  (``invalid_grant``); ``client_credentials`` (app-only, below); and
  ``urn:ietf:params:oauth:grant-type:device_code`` (below). A confidential
  client authenticates with ``client_secret`` (body or HTTP Basic) or a
  certificate's signed ``client_assertion`` (RFC 7523: a JWT with the
  certificate's ``x5t`` or ``x5t#S256`` thumbprint in its header, signed
  RS256 or PS256, ``aud`` the token endpoint, ``iss``/``sub`` the client
  id); a wrong signature or unknown certificate is ``invalid_client``
  AADSTS700027, an assertion out of its validity AADSTS700024;
- ``POST /{tenant}/oauth2/v2.0/devicecode``: the device authorization grant
  (RFC 8628 as Microsoft documents it): ``device_code``, ``user_code``,
  ``verification_uri``, ``expires_in``, ``interval`` and ``message``. The
  user enters the code (:meth:`IdentityPlatform.approve_device`, or
  :meth:`IdentityPlatform.decline_device`); until then a poll of the token
  endpoint answers ``authorization_pending`` (AADSTS70016), after expiry
  ``expired_token`` (AADSTS70020), after a refusal ``authorization_declined``.
  The device flow is a *public client* flow: the app must allow public client
  flows (``register_app(public_client=True)``, Entra ID's "Allow public
  client flows"), else the poll answers ``invalid_client`` AADSTS7000218; and
  the refresh tokens it yields must be redeemed without a client secret
  (one sent answers ``invalid_client`` AADSTS700025, "Client is public").

**App-only access.** ``client_credentials`` with ``scope`` ending in
``/.default`` (another scope answers ``invalid_scope`` AADSTS1002012) issues
an application token carrying the application permissions an administrator
consented to (:meth:`IdentityPlatform.grant_application_permission`): no
mailbox, no refresh token, no id token. Graph then reaches mailboxes only
through ``/users/{id}``, with a consented calendar permission, within the
Exchange application access policy (:meth:`IdentityPlatform.restrict_app`);
see ``_pipeline``.

Answers have the platform's shape: tokens with ``token_type``, ``scope``,
``expires_in``, ``ext_expires_in``, ``access_token``, ``refresh_token``,
``id_token`` (an unsigned JWT with ``aud``, ``iss``, ``tid``, ``oid``,
``preferred_username``, ``nonce``...) and ``client_info``; errors as
``{"error", "error_description": "AADSTSnnnn: ... Trace ID: ...",
"error_codes": [n], "timestamp", "trace_id", "correlation_id",
"error_uri", "suberror"?}`` with the platform's status (400, or 401 for
``invalid_client``).

Access tokens are Graph bearer tokens of the mailbox (``graph.grant_token``
with an expiry): Graph answers 401 "Lifetime validation failed" once one
expires. ``access_token_lifetime`` (seconds, default 3599) makes them short
(msal refreshes a token with less than 5 minutes left on every call).

Errors on demand: :meth:`IdentityPlatform.expire_secret` (``invalid_client``
AADSTS7000222), a wrong secret (AADSTS7000215), :meth:`IdentityPlatform.revoke`
(``invalid_grant`` 50173, consent 65001 with ``suberror: consent_required``,
idle 700082, MFA ``interaction_required`` 50076) and
:meth:`IdentityPlatform.fail_token` (any error, for example
``temporarily_unavailable``). ``token_requests`` logs every token request
(grant type, client, mailbox, outcome), never a secret.

Identity requests go through the emulator's pipeline like Graph's: they
are numbered and logged in ``graph.requests`` (``mailbox`` None) and
``graph.fail``/``graph.drop`` with ``path=r"/oauth2/v2.0/token$"`` apply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import attrs

from calsync.testing._graph._pipeline import AppToken
from calsync.testing._server import Response

if TYPE_CHECKING:
    from calsync.testing._graph._emulator import GraphMailbox
    from calsync.testing._graph._pipeline import Pipeline
    from calsync.testing._graph._router import Call, Router
    from calsync.testing._graph._state import MailboxState

__all__ = ["IdentityPlatform", "RegisteredApp", "TokenRequest"]

#: The emulator's one directory (tenant) id.
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_TENANT_ALIASES = frozenset({"common", "organizations", "consumers", "emulator.onmicrosoft.com"})
_OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
_GRAPH = "https://graph.microsoft.com/"
#: Delegated Graph permissions the emulator knows (any other scope is invalid_scope).
GRAPH_SCOPES = frozenset(
    {
        "User.Read",
        "Calendars.Read",
        "Calendars.ReadWrite",
        "Calendars.Read.Shared",
        "Calendars.ReadWrite.Shared",
        "Mail.Send",
    }
)
_CODE_LIFETIME = 600.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Letters of device-flow user codes (no look-alikes such as 0/O, 1/I).
_USER_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

#: ``revoke(reason=...)``: (error, AADSTS, description, suberror).
REVOCATIONS: dict[str, tuple[str, int, str, str | None]] = {
    "revoked": (
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is "
        "needed. The user might have changed or reset their password.",
        None,
    ),
    "consent": (
        "invalid_grant",
        65001,
        "The user or administrator has not consented to use the application with ID "
        "'{client_id}' named '{name}'. Send an interactive authorization request for this "
        "user and resource.",
        "consent_required",
    ),
    "idle": (
        "invalid_grant",
        700082,
        "The refresh token has expired due to inactivity. The token was issued on "
        "{issued} and was inactive for 90.00:00:00.",
        None,
    ),
    "mfa": (
        "interaction_required",
        50076,
        "Due to a configuration change made by your administrator, or because you moved to "
        "a new location, you must use multi-factor authentication to access "
        "'00000003-0000-0000-c000-000000000000'.",
        "basic_action",
    ),
}


@attrs.define
class RegisteredApp:
    """An app registration: client id, secrets (value -> expired?), redirect URIs, name.

    ``certificates`` maps thumbprints (SHA-1 and SHA-256, base64url) to the
    public keys of certificates uploaded to the app; ``public_client`` is
    Entra ID's "Allow public client flows" (the device code flow);
    ``application_permissions`` the app roles an administrator consented to;
    ``reach`` the mailbox ids Exchange's application access policy lets the
    app open (None: every mailbox).
    """

    client_id: str
    secrets: dict[str, bool]
    redirect_uris: tuple[str, ...]
    name: str
    certificates: dict[str, Any] = attrs.Factory(dict)
    public_client: bool = False
    application_permissions: set[str] = attrs.Factory(set)
    reach: set[str] | None = None


@attrs.frozen
class TokenRequest:
    """One request to the token endpoint as the emulator saw it (no secret in it)."""

    grant_type: str
    client_id: str | None
    mailbox: str | None
    error: str | None
    aadsts: int | None
    status: int


@attrs.define
class _Code:
    client_id: str
    mailbox_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str
    nonce: str | None
    expires: float
    used: bool = False


@attrs.define
class _Grant:
    """One user's consent to one app from one sign-in: a chain of rotated refresh tokens.

    ``public``: issued to a public client flow (device code): refreshed without a secret.
    """

    client_id: str
    mailbox_id: str
    scopes: frozenset[str]
    issued: float
    revoked: str | None = None
    public: bool = False


@attrs.define
class _DeviceCode:
    """A pending device sign-in: the code the device polls with, the code the user enters."""

    client_id: str
    user_code: str
    scopes: frozenset[str]
    expires: float
    mailbox_id: str | None = None
    declined: bool = False


@attrs.define
class _Failure:
    error: str
    aadsts: int
    description: str
    status: int
    suberror: str | None
    times: int


class _Refused(Exception):  # noqa: N818 (control flow inside the handlers)
    def __init__(
        self,
        error: str,
        aadsts: int,
        description: str,
        *,
        status: int = 400,
        suberror: str | None = None,
    ) -> None:
        super().__init__(error)
        self.error, self.aadsts, self.description = error, aadsts, description
        self.status, self.suberror = status, suberror


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _first(values: Mapping[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _unverified_claims(assertion: str) -> dict[str, Any]:
    """The claims of a JWT, unchecked (to find which app it claims to be)."""
    try:
        payload = assertion.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _resource_scopes(raw: str) -> tuple[frozenset[str], list[str]]:
    """(Graph scopes, unknown scopes) of a space-separated scope parameter."""
    known: set[str] = set()
    unknown: list[str] = []
    for scope in raw.split():
        short = scope[len(_GRAPH) :] if scope.lower().startswith(_GRAPH) else scope
        match = next((s for s in GRAPH_SCOPES | _OIDC_SCOPES if s.lower() == short.lower()), None)
        if short == ".default":
            known.add(".default")
        elif match is None:
            unknown.append(scope)
        elif match not in _OIDC_SCOPES:
            known.add(match)
    return frozenset(known), unknown


def _known_scopes(raw: str) -> frozenset[str]:
    """The Graph scopes of a ``scope`` parameter; ``invalid_scope`` (AADSTS70011) for others."""
    scopes, unknown = _resource_scopes(raw)
    if unknown:
        raise _Refused(
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid. "
            f"The scope '{' '.join(unknown)}' does not exist.",
        )
    return scopes


class IdentityPlatform:
    """``graph.identity``: app registrations, sign-ins, grants and the identity endpoints."""

    def __init__(self, pipeline: Pipeline, clock: Callable[[], float] = time.time) -> None:
        self._pipeline = pipeline
        self.clock = clock
        #: Lifetime of issued access tokens in seconds.
        self.access_token_lifetime = 3599
        self.tenant_id = TENANT_ID
        self.apps: dict[str, RegisteredApp] = {}
        self.token_requests: list[TokenRequest] = []
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Grant] = {}  # current refresh token -> its grant
        self._spent: dict[str, _Grant] = {}  # rotated-out refresh tokens
        self._access: dict[str, str] = {}  # access token -> mailbox id
        self._failures: list[_Failure] = []
        self._devices: dict[str, _DeviceCode] = {}  # device code -> pending sign-in
        #: ``interval`` (seconds) the device code flow asks clients to poll at.
        self.device_interval = 5
        #: Lifetime (seconds) of a device code.
        self.device_code_lifetime = 900
        pipeline.app_may_reach = self._may_reach
        self._browser: str | None = None
        self._consent = True
        self._lock = threading.RLock()

    # -- routes ----------------------------------------------------------------------------

    def register(self, router: Router) -> None:
        """Add the identity endpoints to the emulator's routes."""
        router.add(
            "GET",
            "/{tenant}/v2.0/.well-known/openid-configuration",
            self._discovery,
            auth=False,
            exclusive=False,
        )
        router.add("GET", "/common/discovery/instance", self._instance, auth=False, exclusive=False)
        router.add(
            "GET", "/{tenant}/oauth2/v2.0/authorize", self._authorize, auth=False, exclusive=False
        )
        router.add("POST", "/{tenant}/oauth2/v2.0/token", self._token, auth=False, exclusive=False)
        device = "/{tenant}/oauth2/v2.0/devicecode"
        router.add("POST", device, self._devicecode, auth=False, exclusive=False)

    # -- test helpers ------------------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        secret: str | None,
        redirect_uris: Iterable[str] = (),
        *,
        name: str = "calsync",
        public_client: bool = False,
    ) -> RegisteredApp:
        """Register an app (a web platform with these redirect URIs) with one client secret.

        ``secret`` None: no secret (a certificate, :meth:`add_certificate`, or
        public client flows only). ``public_client``: "Allow public client
        flows" is on (the device code flow).
        """
        with self._lock:
            app = RegisteredApp(
                client_id,
                {} if secret is None else {secret: False},
                tuple(redirect_uris),
                name,
                public_client=public_client,
            )
            self.apps[client_id] = app
            return app

    def add_certificate(self, client_id: str, certificate_pem: bytes | str) -> str:
        """Upload a certificate (PEM, public part) to the app; its SHA-1 thumbprint (hex)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        certificate = x509.load_pem_x509_certificate(data)
        sha1 = certificate.fingerprint(hashes.SHA1())  # noqa: S303 (x5t is SHA-1 by definition)
        sha256 = certificate.fingerprint(hashes.SHA256())
        with self._lock:
            app = self.apps[client_id]
            app.certificates[_b64url(sha1)] = certificate.public_key()
            app.certificates[_b64url(sha256)] = certificate.public_key()
        return sha1.hex().upper()

    def grant_application_permission(
        self, client_id: str, *permissions: str, consent: bool = True
    ) -> None:
        """An administrator grants (``consent``) or revokes application permissions of the app.

        Tokens issued later carry them; tokens issued before keep what they had.
        """
        with self._lock:
            app = self.apps[client_id]
            if consent:
                app.application_permissions.update(permissions)
            else:
                app.application_permissions.difference_update(permissions)

    def restrict_app(self, client_id: str, mailboxes: Iterable[GraphMailbox | str] | None) -> None:
        """Exchange's application access policy: the app reaches these mailboxes (None: all)."""
        with self._lock:
            self.apps[client_id].reach = (
                None if mailboxes is None else {self._mailbox(m).id for m in mailboxes}
            )

    def approve_device(self, user_code: str, mailbox: GraphMailbox | str) -> None:
        """The user enters ``user_code`` at the verification page and signs in as ``mailbox``."""
        with self._lock:
            self._device(user_code).mailbox_id = self._mailbox(mailbox).id

    def decline_device(self, user_code: str) -> None:
        """The user declines the sign-in of ``user_code``."""
        with self._lock:
            self._device(user_code).declined = True

    def pending_devices(self) -> list[str]:
        """The user codes of device sign-ins nobody approved or declined yet."""
        with self._lock:
            now = self.clock()
            return [
                d.user_code
                for d in self._devices.values()
                if d.mailbox_id is None and not d.declined and d.expires > now
            ]

    def _device(self, user_code: str) -> _DeviceCode:
        wanted = user_code.replace("-", "").upper()
        for device in self._devices.values():
            if device.user_code == wanted:
                return device
        raise KeyError(f"no device sign-in with user code {user_code!r}")

    def _may_reach(self, client_id: str, mailbox_id: str) -> bool:
        with self._lock:
            app = self.apps.get(client_id)
            return app is not None and (app.reach is None or mailbox_id in app.reach)

    def add_secret(self, client_id: str, secret: str) -> None:
        """Add a client secret to the app (the administrator's fix for an expired one)."""
        with self._lock:
            self.apps[client_id].secrets[secret] = False

    def expire_secret(self, client_id: str, secret: str | None = None) -> None:
        """Expire one secret of the app (all when None): ``invalid_client`` AADSTS7000222."""
        with self._lock:
            app = self.apps[client_id]
            for value in list(app.secrets):
                if secret is None or value == secret:
                    app.secrets[value] = True

    def sign_in(self, mailbox: GraphMailbox | str | None, *, consent: bool = True) -> None:
        """The browser's signed-in user for the next authorize requests (None: nobody).

        ``consent=False``: the user declines the app's permissions
        (``access_denied``, AADSTS65004).
        """
        with self._lock:
            self._browser = None if mailbox is None else self._mailbox(mailbox).id
            self._consent = consent

    def revoke(self, mailbox: GraphMailbox | str, reason: str = "revoked") -> None:
        """Invalidate every grant of the mailbox; the next refresh fails for ``reason``.

        ``reason``: ``revoked`` (50173), ``consent`` (65001, ``consent_required``),
        ``idle`` (700082) or ``mfa`` (``interaction_required`` 50076). A later
        sign-in makes a new, working grant.
        """
        if reason not in REVOCATIONS:
            raise ValueError(f"unknown reason {reason!r}: one of {sorted(REVOCATIONS)}")
        with self._lock:
            target = self._mailbox(mailbox).id
            for grant in {id(g): g for g in self._refresh.values()}.values():
                if grant.mailbox_id == target:
                    grant.revoked = reason

    def fail_token(
        self,
        error: str,
        aadsts: int,
        description: str = "Emulated failure.",
        *,
        status: int = 400,
        suberror: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` token requests with this error (after client checks)."""
        with self._lock:
            self._failures.append(_Failure(error, aadsts, description, status, suberror, times))

    def expire_access_tokens(self, mailbox: GraphMailbox | str | None = None) -> None:
        """Make issued access tokens (of one mailbox) expire now: Graph answers 401."""
        with self._lock:
            wanted = None if mailbox is None else self._mailbox(mailbox).id
            now = self.clock()
            for token, owner in self._access.items():
                if wanted is None or owner == wanted:
                    self._pipeline.token_expiry[token] = now

    def refresh_tokens(self, mailbox: GraphMailbox | str) -> list[str]:
        """The refresh tokens of the mailbox that still work (one per live grant)."""
        with self._lock:
            wanted = self._mailbox(mailbox).id
            return [
                token
                for token, grant in self._refresh.items()
                if grant.mailbox_id == wanted and grant.revoked is None
            ]

    def token_count(self, grant_type: str | None = None) -> int:
        """Token requests received (of one grant type)."""
        with self._lock:
            return sum(
                1 for r in self.token_requests if grant_type is None or r.grant_type == grant_type
            )

    # -- internals -------------------------------------------------------------------------

    def _mailbox(self, ref: GraphMailbox | str) -> MailboxState:
        key = ref if isinstance(ref, str) else ref.id
        found = self._pipeline.store.mailbox(key)
        if found is None:
            raise KeyError(f"no mailbox {key!r}")
        return found

    def _base(self, call: Call) -> str:
        """Scheme and host the client used (``X-Forwarded-Proto`` honoured)."""
        headers = call.request.headers
        scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
        host = headers.get("host") or urlsplit(self._pipeline.base_url).netloc
        return f"{scheme}://{host}"

    def _tenant_ok(self, tenant: str) -> bool:
        return tenant.lower() in _TENANT_ALIASES or tenant.lower() == self.tenant_id

    @staticmethod
    def _error_body(refused: _Refused) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        body: dict[str, Any] = {
            "error": refused.error,
            "error_description": (
                f"AADSTS{refused.aadsts}: {refused.description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {stamp}"
            ),
            "error_codes": [refused.aadsts],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={refused.aadsts}",
        }
        if refused.suberror:
            body["suberror"] = refused.suberror
        return body

    def _refusal(self, refused: _Refused) -> Response:
        return Response.json(
            refused.status, self._error_body(refused), (("Cache-Control", "no-store"),)
        )

    @staticmethod
    def _page(status: int, title: str, text: str) -> Response:
        body = (
            "<!DOCTYPE html><html><head><title>{t}</title></head><body><h1>{t}</h1>"
            "<p>{x}</p></body></html>"
        ).format(t=escape(title), x=escape(text))
        return Response(status, body.encode(), (("Content-Type", "text/html; charset=utf-8"),))

    # -- discovery --------------------------------------------------------------------------

    def _discovery(self, call: Call) -> Response:
        tenant = call.params["tenant"]
        if not self._tenant_ok(tenant):
            refused = _Refused(
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
            return self._refusal(refused)
        base = self._base(call)
        issuer_tenant = "{tenantid}" if tenant.lower() in _TENANT_ALIASES else self.tenant_id
        document = {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "email",
                "oid",
            ],
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
        return Response.json(200, document)

    def _instance(self, call: Call) -> Response:
        endpoint = call.param("authorization_endpoint") or ""
        split = urlsplit(endpoint)
        host = split.netloc or urlsplit(self._pipeline.base_url).netloc
        tenant = split.path.strip("/").split("/")[0] if split.path.strip("/") else "common"
        base = self._base(call)
        metadata = [
            {"preferred_network": host, "preferred_cache": host, "aliases": [host]},
        ]
        return Response.json(
            200,
            {
                "tenant_discovery_endpoint": (
                    f"{base}/{tenant}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": metadata,
            },
        )

    # -- authorize --------------------------------------------------------------------------

    def _authorize(self, call: Call) -> Response:
        query = call.request.query
        client_id = _first(query, "client_id") or ""
        redirect_uri = _first(query, "redirect_uri") or ""
        with self._lock:
            app = self.apps.get(client_id)
            if app is None:
                return self._page(
                    400,
                    "Sign in",
                    f"AADSTS700016: Application with identifier '{client_id}' was not found in "
                    f"the directory '{call.params['tenant']}'. This can happen if the "
                    "application has not been installed by the administrator of the tenant or "
                    "consented to by any user in the tenant.",
                )
            if redirect_uri not in app.redirect_uris:
                return self._page(
                    400,
                    "Sign in",
                    f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request "
                    "does not match the redirect URIs configured for the application "
                    f"'{client_id}'. Make sure the redirect URI sent in the request matches one "
                    "added to your application in the Azure portal. Navigate to "
                    "https://aka.ms/redirectUriMismatchError to learn more about how to fix "
                    "this.",
                )
            state = _first(query, "state")
            try:
                code = self._new_code(app, redirect_uri, query)
            except _Refused as refused:
                return self._redirect(redirect_uri, self._callback_error(refused), state)
            if code is None:
                return self._page(200, "Sign in to your account", "Enter your email address.")
            answer: dict[str, str] = {"code": code}
            if _first(query, "client_info") == "1":
                mailbox_id = self._codes[code].mailbox_id
                answer["client_info"] = _b64url(
                    json.dumps({"uid": mailbox_id, "utid": self.tenant_id}).encode()
                )
            answer["session_state"] = str(uuid.uuid4())
            return self._redirect(redirect_uri, answer, state)

    @staticmethod
    def _callback_error(refused: _Refused) -> dict[str, str]:
        return {
            "error": refused.error,
            "error_description": f"AADSTS{refused.aadsts}: {refused.description}",
            **({"error_subcode": refused.suberror} if refused.suberror else {}),
        }

    @staticmethod
    def _redirect(redirect_uri: str, params: dict[str, str], state: str | None) -> Response:
        if state is not None:
            params = {**params, "state": state}
        separator = "&" if urlsplit(redirect_uri).query else "?"
        location = f"{redirect_uri}{separator}{urlencode(params)}"
        return Response(302, b"", (("Location", location),))

    def _new_code(
        self, app: RegisteredApp, redirect_uri: str, query: Mapping[str, list[str]]
    ) -> str | None:
        response_type = _first(query, "response_type") or ""
        if response_type != "code":
            raise _Refused(
                "unsupported_response_type",
                700054,
                f"response_type '{response_type}' is not enabled for the application.",
            )
        if not (_first(query, "scope") or "").strip():
            raise _Refused(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        scopes = _known_scopes(_first(query, "scope") or "")
        challenge = _first(query, "code_challenge")
        if not challenge or _first(query, "code_challenge_method") != "S256":
            raise _Refused(
                "invalid_request",
                900144,
                "The request must contain the following parameter: 'code_challenge' with "
                "code_challenge_method=S256 (this emulator requires PKCE).",
            )
        mailbox_id = self._browser
        hint = _first(query, "login_hint")
        if mailbox_id is None and hint:
            found = self._pipeline.store.mailbox(hint)
            mailbox_id = found.id if found else None
        if mailbox_id is None:
            return None
        if not self._consent:
            raise _Refused(
                "access_denied",
                65004,
                "User declined to consent to access the app.",
                suberror="cancel",
            )
        if ".default" in scopes:
            scopes = frozenset({"User.Read", "Calendars.ReadWrite"})
        code = f"emulated-code-{secrets.token_urlsafe(24)}"
        self._codes[code] = _Code(
            client_id=app.client_id,
            mailbox_id=mailbox_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=challenge,
            nonce=_first(query, "nonce"),
            expires=self.clock() + _CODE_LIFETIME,
        )
        return code

    # -- token ------------------------------------------------------------------------------

    def _token(self, call: Call) -> Response:
        form = parse_qs((call.request.body or b"").decode("utf-8"), keep_blank_values=True)
        grant_type = _first(form, "grant_type") or ""
        client_id = _first(form, "client_id")
        mailbox: str | None = None
        with self._lock:
            try:
                app, method = self._client(call, form)
                client_id = app.client_id
                self._injected()
                if grant_type == "client_credentials":
                    self._confidential(app, method)
                    answer = self._issue_app(app, form)
                else:
                    grant, nonce = self._user_grant(call, app, method, grant_type, form)
                    mailbox = self._mailbox(grant.mailbox_id).email
                    answer = self._issue(call, app, grant, nonce)
            except _Refused as refused:
                self.token_requests.append(
                    TokenRequest(
                        grant_type,
                        client_id,
                        mailbox,
                        refused.error,
                        refused.aadsts,
                        refused.status,
                    )
                )
                return self._refusal(refused)
            self.token_requests.append(
                TokenRequest(grant_type, client_id, mailbox, None, None, 200)
            )
            return Response.json(200, answer, (("Cache-Control", "no-store"),))

    def _user_grant(
        self,
        call: Call,
        app: RegisteredApp,
        method: str,
        grant_type: str,
        form: Mapping[str, list[str]],
    ) -> tuple[_Grant, str | None]:
        """The grant a delegated token request redeems (code, refresh token, device code)."""
        if grant_type == "authorization_code":
            self._confidential(app, method)
            return self._redeem_code(app, form)
        if grant_type == "refresh_token":
            grant = self._redeem_refresh(app, form, method)
            return grant, None
        if grant_type == DEVICE_GRANT:
            return self._redeem_device(app, form, method), None
        if not grant_type:
            raise _Refused(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        raise _Refused(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    @staticmethod
    def _confidential(app: RegisteredApp, method: str) -> None:
        """A confidential client's grant: the app must prove itself (secret or certificate)."""
        if method == "none":
            raise _Refused(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
                status=401,
            )

    @staticmethod
    def _public(method: str) -> None:
        """A public client's grant: no client credential may be presented."""
        if method != "none":
            raise _Refused(
                "invalid_client",
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be "
                "presented.",
                status=401,
            )

    def _client(self, call: Call, form: Mapping[str, list[str]]) -> tuple[RegisteredApp, str]:
        """The app, and how it proved itself: ``secret``, ``assertion`` or ``none``."""
        client_id, secret = _first(form, "client_id"), _first(form, "client_secret")
        scheme, _, encoded = call.request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and encoded:
            decoded = base64.b64decode(encoded).decode("utf-8")
            user, _, password = decoded.partition(":")
            client_id, secret = unquote_plus(user), unquote_plus(password)
        assertion = _first(form, "client_assertion")
        if assertion and not client_id:
            client_id = _unverified_claims(assertion).get("iss")
        app = self.apps.get(client_id or "")
        if app is None:
            raise _Refused(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{call.params['tenant']}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in "
                "the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        if assertion:
            self._check_assertion(call, app, form, assertion)
            return app, "assertion"
        if not secret:
            return app, "none"
        if secret not in app.secrets:
            raise _Refused(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
                status=401,
            )
        if app.secrets[secret]:
            raise _Refused(
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{app.client_id}' are expired. Visit "
                "the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, "
                "or consider using certificate credentials for added security: "
                "https://aka.ms/certCreds.",
                status=401,
            )
        return app, "secret"

    def _check_assertion(
        self, call: Call, app: RegisteredApp, form: Mapping[str, list[str]], assertion: str
    ) -> None:
        """RFC 7523 client authentication: a JWT signed with a certificate uploaded to the app."""
        import jwt

        if _first(form, "client_assertion_type") != ASSERTION_TYPE:
            raise _Refused(
                "invalid_request",
                900144,
                f"The request body must contain client_assertion_type={ASSERTION_TYPE}.",
            )
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise _Refused(
                "invalid_client", 50027, "JWT token is invalid or malformed.", status=401
            ) from None
        thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "")
        key = app.certificates.get(thumbprint.rstrip("="))
        if key is None:
            raise _Refused(
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The key was not "
                f"found., Thumbprint of key used by client: '{thumbprint}']",
                status=401,
            )
        audience = f"{self._base(call)}/{call.params['tenant']}/oauth2/v2.0/token"
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256", "PS256"],
                audience=audience,
                options={"require": ["exp", "aud", "iss", "sub"]},
                leeway=300,
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise _Refused(
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
                status=401,
            ) from None
        except jwt.PyJWTError as error:
            raise _Refused(
                "invalid_client",
                700027,
                f"Client assertion failed signature validation. [Reason - {error}]",
                status=401,
            ) from None
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise _Refused(
                "invalid_client",
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
                status=401,
            )

    def _issue_app(self, app: RegisteredApp, form: Mapping[str, list[str]]) -> dict[str, Any]:
        """An application token (client credentials) with the app's consented roles."""
        scope = (_first(form, "scope") or "").strip()
        if not scope.endswith("/.default") or len(scope.split()) != 1:
            raise _Refused(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        access = f"emulated-app-{secrets.token_urlsafe(32)}"
        lifetime = int(self.access_token_lifetime)
        self._pipeline.app_tokens[access] = AppToken(
            app.client_id, frozenset(app.application_permissions)
        )
        self._pipeline.token_expiry[access] = self.clock() + lifetime
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }

    # -- device code -------------------------------------------------------------------------

    def _devicecode(self, call: Call) -> Response:
        form = parse_qs((call.request.body or b"").decode("utf-8"), keep_blank_values=True)
        client_id = _first(form, "client_id") or ""
        with self._lock:
            app = self.apps.get(client_id)
            try:
                if app is None:
                    raise _Refused(
                        "unauthorized_client",
                        700016,
                        f"Application with identifier '{client_id}' was not found in the "
                        f"directory '{call.params['tenant']}'.",
                    )
                scopes = _known_scopes(_first(form, "scope") or "")
            except _Refused as refused:
                return self._refusal(refused)
            device_code = secrets.token_urlsafe(48)
            user_code = "".join(secrets.choice(_USER_CODE_LETTERS) for _ in range(9))
            self._devices[device_code] = _DeviceCode(
                app.client_id,
                user_code,
                scopes - {".default"} or frozenset({"User.Read", "Calendars.ReadWrite"}),
                self.clock() + self.device_code_lifetime,
            )
        verification = "https://microsoft.com/devicelogin"
        return Response.json(
            200,
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": verification,
                "expires_in": int(self.device_code_lifetime),
                "interval": int(self.device_interval),
                "message": f"To sign in, use a web browser to open the page {verification} and "
                f"enter the code {user_code} to authenticate.",
            },
        )

    def _redeem_device(
        self, app: RegisteredApp, form: Mapping[str, list[str]], method: str
    ) -> _Grant:
        if not app.public_client:
            self._confidential(app, method)  # a web app without public client flows
        self._public(method)
        code = _first(form, "device_code") or ""
        device = self._devices.get(code)
        if device is None or device.client_id != app.client_id:
            raise _Refused(
                "bad_verification_code", 70000, "The device code is unknown or was already used."
            )
        if device.declined:
            del self._devices[code]
            raise _Refused(
                "authorization_declined", 65004, "The user declined the authorization request."
            )
        if device.expires <= self.clock():
            del self._devices[code]
            raise _Refused(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. Device "
                "codes expire after 15 minutes.",
            )
        if device.mailbox_id is None:
            raise _Refused(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        del self._devices[code]
        return _Grant(app.client_id, device.mailbox_id, device.scopes, self.clock(), public=True)

    def _injected(self) -> None:
        for failure in self._failures:
            if failure.times > 0:
                failure.times -= 1
                raise _Refused(
                    failure.error,
                    failure.aadsts,
                    failure.description,
                    status=failure.status,
                    suberror=failure.suberror,
                )

    def _redeem_code(
        self, app: RegisteredApp, form: Mapping[str, list[str]]
    ) -> tuple[_Grant, str | None]:
        value = _first(form, "code") or ""
        code = self._codes.get(value)
        redirect_uri = _first(form, "redirect_uri") or ""
        if redirect_uri not in app.redirect_uris:
            raise _Refused(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app.client_id}'. Make sure the "
                "redirect URI sent in the request matches one added to your application in the "
                "Azure portal.",
            )
        if code is None or code.client_id != app.client_id:
            raise _Refused(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the authorization code is "
                "unknown.",
            )
        if code.used:
            raise _Refused(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                "code or use an existing refresh token.",
            )
        if code.expires <= self.clock():
            raise _Refused(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. "
                "Send a new interactive authorization request for this user and resource.",
            )
        if redirect_uri != code.redirect_uri:
            raise _Refused(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed: the redirect_uri differs from the "
                "authorization request's.",
            )
        verifier = _first(form, "code_verifier") or ""
        if not verifier or _challenge(verifier) != code.challenge:
            raise _Refused(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
        code.used = True
        grant = _Grant(app.client_id, code.mailbox_id, code.scopes, self.clock())
        return grant, code.nonce

    def _redeem_refresh(
        self, app: RegisteredApp, form: Mapping[str, list[str]], method: str
    ) -> _Grant:
        token = _first(form, "refresh_token") or ""
        grant = self._refresh.get(token)
        if grant is not None and grant.public:
            self._public(method)
        else:
            self._confidential(app, method)
        if grant is None:
            rotated = token in self._spent
            raise _Refused(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed"
                + (
                    ": the refresh token was already redeemed (each refresh returns a new one)."
                    if rotated
                    else "."
                ),
            )
        if grant.client_id != app.client_id:
            raise _Refused(
                "invalid_grant",
                70000,
                "Provided grant is invalid or malformed: the refresh token was issued to "
                "another client.",
            )
        if grant.revoked is not None:
            error, aadsts, text, suberror = REVOCATIONS[grant.revoked]
            issued = datetime.fromtimestamp(grant.issued, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.0000000Z"
            )
            raise _Refused(
                error,
                aadsts,
                text.format(client_id=app.client_id, name=app.name, issued=issued),
                suberror=suberror,
            )
        wanted, unknown = _resource_scopes(_first(form, "scope") or "")
        wanted -= {".default"}
        if unknown or not wanted <= grant.scopes:
            raise _Refused(
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{app.client_id}' named '{app.name}'. Send an interactive authorization "
                "request for this user and resource.",
                suberror="consent_required",
            )
        del self._refresh[token]
        self._spent[token] = grant
        return grant

    def _issue(
        self, call: Call, app: RegisteredApp, grant: _Grant, nonce: str | None
    ) -> dict[str, Any]:
        now = self.clock()
        mailbox = self._mailbox(grant.mailbox_id)
        access = f"emulated-at-{secrets.token_urlsafe(32)}"
        refresh = f"emulated-rt-{secrets.token_urlsafe(40)}"
        lifetime = int(self.access_token_lifetime)
        self._pipeline.tokens[access] = mailbox.id
        self._pipeline.token_expiry[access] = now + lifetime
        self._access[access] = mailbox.id
        self._refresh[refresh] = grant
        claims: dict[str, Any] = {
            "aud": app.client_id,
            "iss": f"{self._base(call)}/{self.tenant_id}/v2.0",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + 3600,
            "name": mailbox.name,
            "oid": mailbox.id,
            "preferred_username": mailbox.email,
            "sub": _b64url(hashlib.sha256(f"{mailbox.id}:{app.client_id}".encode()).digest()),
            "tid": self.tenant_id,
            "ver": "2.0",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        header = _b64url(json.dumps({"typ": "JWT", "alg": "none"}).encode())
        id_token = f"{header}.{_b64url(json.dumps(claims).encode())}."
        client_info = _b64url(json.dumps({"uid": mailbox.id, "utid": self.tenant_id}).encode())
        return {
            "token_type": "Bearer",
            "scope": " ".join([*sorted(grant.scopes), "openid", "profile", "email"]),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "client_info": client_info,
        }
