"""``MicrosoftAuth``: the authorization-code flow for a web app, and refreshing from a store.

It stands on msal's ``ConfidentialClientApplication`` with one
``SerializableTokenCache`` per account, loaded from the
:class:`~calsync.stores.TokenStore` and saved back whenever msal changed it
(a new access token, a rotated refresh token). See :mod:`calsync.auth` for
the flow, the locks and the errors.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import msal
from azure.core.credentials import AccessToken, AccessTokenInfo

from calsync import _arguments as checks
from calsync._closing import ClosesOnExit
from calsync._errors import (
    CalsyncError,
    ConfigurationError,
    ReauthorizationRequiredError,
    SignInStateError,
    StoreError,
    TransientError,
)
from calsync.auth._errors import auth_error
from calsync.auth._http import MsalHttp, authority_bases
from calsync.stores._tokens import RESERVED_PREFIX, TokenStore, check_account

if TYPE_CHECKING:
    from azure.core.credentials import TokenRequestOptions

__all__ = [
    "DEFAULT_SCOPES",
    "DeviceCode",
    "MicrosoftAccount",
    "MicrosoftAuth",
    "MicrosoftCredential",
    "TokenStatus",
]

logger = logging.getLogger("calsync.auth")

#: What calsync asks for: a refresh token, read/write calendars, the user's profile (``/me``).
DEFAULT_SCOPES = ("offline_access", "Calendars.ReadWrite", "User.Read")
#: Scopes msal adds by itself and refuses to be given.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
FLOW_PREFIX = f"{RESERVED_PREFIX}flow:"
_GRAPH = "https://graph.microsoft.com/"
_MAX_FLOWS = 5
#: msal treats an access token with less than this left as expired.
_EXPIRY_MARGIN = 300
_RESPONSE_MODES = frozenset({"query", "form_post"})
#: catch_warnings changes process-wide state: one flow is built at a time.
_WARNINGS_LOCK = threading.Lock()


class _RedactCodes(logging.Filter):
    """msal's DEBUG "event=" log of a token response keeps the authorization code and PKCE
    verifier in its request data; calsync scrubs them before any handler sees the line."""

    _PATTERN = re.compile(r'("(?:code|code_verifier|nonce)"\s*:\s*)"[^"]*"')

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or isinstance(record.msg, str):
            message = record.getMessage()
            if '"code' in message or '"nonce' in message:
                record.msg = self._PATTERN.sub(r'\1"***"', message)
                record.args = ()
        return True


_REDACT = _RedactCodes()
_msal_cache_logger = logging.getLogger("msal.token_cache")
if _REDACT not in _msal_cache_logger.filters:
    _msal_cache_logger.addFilter(_REDACT)


class _AccessToken(AccessToken):
    """azure-core's ``AccessToken`` whose repr hides the token."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"AccessToken(token=<hidden>, expires_on={self.expires_on})"

    __str__ = __repr__


class _AccessTokenInfo(AccessTokenInfo):
    """azure-core's ``AccessTokenInfo`` whose repr hides the token."""

    def __repr__(self) -> str:
        return f"AccessTokenInfo(token=<hidden>, expires_on={self.expires_on})"

    __str__ = __repr__


@attrs.frozen
class MicrosoftAccount:
    """Who signed in: the calsync account and the Microsoft identity it is now linked to."""

    account: str
    username: str | None
    name: str | None
    tenant_id: str | None


@attrs.frozen
class DeviceCode:
    """A device sign-in in progress: show :attr:`message` to the user, then wait for them.

    The user opens :attr:`verification_uri` on any device, enters
    :attr:`user_code` and signs in; :meth:`MicrosoftAuth.finish_device_login`
    polls until they did (or :attr:`expires_at`, Unix time, passes).
    """

    account: str
    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    flow: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen
class TokenStatus:
    """What the token store holds for an account, for status pages (never a token).

    ``refreshed`` is when an access token was last obtained (Unix time; the
    refresh token was used then), ``access_expires`` when the newest access
    token expires, ``refresh_expires`` when the refresh token lapses if left
    unused (Microsoft: 90 days of inactivity). ``device`` tells a sign-in
    made with the device code flow (a public client: refreshed without the
    secret).
    """

    account: str
    username: str | None
    refreshed: float | None
    access_expires: float | None
    refresh_expires: float | None
    device: bool = False


@attrs.define
class _Session:
    """One account's msal application and token cache in this process."""

    app: Any
    cache: Any
    data: str | None
    dirty: bool = False
    public: bool = False


#: Top-level key calsync adds to an account's msal cache when it was signed in with the device
#: code flow: its refresh token belongs to a public client and is redeemed without the secret
#: (the identity platform refuses one with AADSTS700025). msal keeps unknown keys as they are.
_PUBLIC_MARK = "calsync_public_client"
#: A refresh token unused this long expires (Microsoft's documented inactivity lifetime).
REFRESH_IDLE_LIFETIME = 90 * 24 * 3600


def _is_public(data: str | None) -> bool:
    try:
        parsed = json.loads(data or "{}")
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get(_PUBLIC_MARK) is True


def _mark_public(data: str) -> str:
    parsed = json.loads(data)
    parsed[_PUBLIC_MARK] = True
    return json.dumps(parsed, indent=4)


def _first(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and isinstance(value[0], str):
        return value[0]
    return None


def _transient(error: BaseException) -> TransientError:
    if isinstance(error, msal.exceptions.MsalServiceError):
        reason = str(error).split(",", maxsplit=1)[0]  # "HTTP Error: 503"
        return TransientError(
            f"the Microsoft identity platform failed ({reason}): retry later", code="http"
        )
    if isinstance(error, json.JSONDecodeError):
        return TransientError(
            "the Microsoft identity platform answered something that is not JSON (a proxy in "
            "the way?): retry later",
            code="not_json",
        )
    return TransientError(
        f"the Microsoft identity platform could not be reached ({type(error).__name__}): "
        "retry later",
        code=type(error).__name__,
    )


_TRANSPORT = (httpx.TransportError, msal.exceptions.MsalServiceError, json.JSONDecodeError)


class MicrosoftAuth(ClosesOnExit):
    """Microsoft sign-in for a web app, and azure-core credentials from the stored tokens.

    ``client_id``/``client_secret``: the app registration in Microsoft
    Entra ID (a *Web* platform). ``redirect_uri``: registered there, the
    app's base URL followed by ``/microsoft_account/authentication``.
    ``token_store``: where each account's tokens (and pending sign-ins)
    live. ``tenant``: ``common`` (work, school and personal accounts),
    ``organizations``, ``consumers`` or the tenant of a single-tenant app.
    ``authority_host``: the identity platform (plain ``http`` only on
    loopback, for the emulator). ``scopes``: what to ask for
    (``offline_access`` and the other OpenID scopes are msal's to add).
    ``http_client``: an ``httpx.Client`` to send identity requests with
    (proxies, certificates); calsync makes one (``timeout`` seconds) and
    closes it in :meth:`close` when None. ``flow_ttl``: seconds a sign-in
    link stays valid. ``response_mode``: how Microsoft hands the code back:
    ``query`` (a GET of the redirect URI, as Odoo's own
    ``/microsoft_account/authentication`` expects; the web app's session
    cookie comes along even with ``SameSite=Lax``) or ``form_post`` (a POST
    that keeps the code out of URLs and logs, msal's recommendation, for a
    callback that can identify its user without a ``Lax`` cookie).

    The secret is never shown: ``repr`` gives the client id, tenant and
    redirect URI only.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        token_store: TokenStore,
        *,
        tenant: str = "common",
        authority_host: str = "https://login.microsoftonline.com",
        scopes: Sequence[str] = DEFAULT_SCOPES,
        http_client: httpx.Client | None = None,
        timeout: float = 30.0,
        flow_ttl: float = 900.0,
        response_mode: str = "query",
    ) -> None:
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id is required (the app's Application ID)")
        if not client_secret or not isinstance(client_secret, str):
            raise ConfigurationError("client_secret is required (the secret's Value)")
        checks.http_url(
            "redirect_uri",
            redirect_uri,
            "https://odoo.example.com/microsoft_account/authentication (the app's base URL "
            "followed by /microsoft_account/authentication)",
        )
        if not isinstance(token_store, TokenStore):
            raise TypeError(f"token_store must be a TokenStore, not {type(token_store).__name__}")
        checks.http_url("authority_host", authority_host, "https://login.microsoftonline.com")
        checks.seconds("timeout", timeout)
        checks.seconds("flow_ttl", flow_ttl, zero=True)
        if not tenant or "/" in tenant:
            raise ConfigurationError("tenant must be common, organizations, consumers or a tenant")
        if response_mode not in _RESPONSE_MODES:
            raise ConfigurationError("response_mode must be 'query' or 'form_post'")
        if isinstance(scopes, str):
            raise ConfigurationError("scopes must be a sequence of scope names, not one string")
        if not all(isinstance(scope, str) for scope in scopes):
            raise TypeError("scopes must be scope names (strings)")
        self._scopes = [_short(s) for s in scopes if s not in RESERVED_SCOPES]
        if not self._scopes:
            raise ConfigurationError("scopes must name at least one permission besides OpenID's")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.tenant = tenant
        self.token_store = token_store
        self.flow_ttl = flow_ttl
        self.response_mode = response_mode
        self.__secret = client_secret
        public, shown = authority_bases(authority_host)
        self._authority = f"{shown}/{tenant}"
        self._owns_http = http_client is None
        self._httpx = http_client or httpx.Client(timeout=timeout)
        self._http = MsalHttp(self._httpx, public, shown)
        self._sessions: dict[str, _Session] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def scopes(self) -> tuple[str, ...]:
        """The permissions asked for (without the OpenID scopes msal adds)."""
        return tuple(self._scopes)

    def __repr__(self) -> str:
        return (
            f"MicrosoftAuth(client_id={self.client_id!r}, tenant={self.tenant!r}, "
            f"redirect_uri={self.redirect_uri!r}, token_store={type(self.token_store).__name__})"
        )

    __str__ = __repr__

    # -- plumbing ------------------------------------------------------------------------------

    def _app(self, cache: Any, *, public: bool = False) -> Any:
        """An msal application over ``cache`` (discovery is cached: no request after the first).

        ``public``: the device code flow's public client (no secret is sent).
        """
        options: dict[str, Any] = {
            "authority": self._authority,
            "token_cache": cache,
            "http_client": self._http,
            # The cache is written by calsync alone, with one authority: alias lookups
            # would only add a request to login.microsoftonline.com (and break offline).
            "instance_discovery": False,
        }
        try:
            if public:
                return msal.PublicClientApplication(self.client_id, **options)
            return msal.ConfidentialClientApplication(
                self.client_id, client_credential=self.__secret, **options
            )
        except _TRANSPORT as error:
            raise _transient(error) from None
        except ValueError:
            raise ConfigurationError(
                f"the identity platform has no configuration for tenant {self.tenant!r} at "
                f"{self._http.to_public(self._authority)}: check tenant and authority_host"
            ) from None

    @contextmanager
    def _locked(self, account: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(account, threading.Lock())
        with lock:
            yield

    def _save(self, account: str, session: _Session) -> None:
        """Write the cache to the store if msal changed it (kept dirty if the store fails)."""
        if not (session.dirty or session.cache.has_state_changed):
            return
        data = session.cache.serialize()
        if session.public:
            data = _mark_public(data)
        try:
            self.token_store.set(account, data)
        except CalsyncError as error:
            session.dirty = True
            logger.warning(
                "could not save the tokens of account %r (kept in memory, saved at the next "
                "call): %s",
                account,
                type(error).__name__,
            )
            return
        session.data, session.dirty = data, False

    def _keep(self, account: str, session: _Session) -> None:
        """A new sign-in's tokens: this account's session from now on, saved to the store."""
        self._sessions[account] = session
        self._save(account, session)
        if session.dirty:
            raise StoreError(
                "signed in, but the token store could not save the tokens: sign in again "
                "once the store works",
            )

    def _load(self, account: str) -> _Session:
        data = self.token_store.get(account)
        if data is None:
            self._sessions.pop(account, None)
            raise ReauthorizationRequiredError(
                "no Microsoft sign-in is stored for this account: send the user to "
                "MicrosoftAuth.authorization_url()",
                account=account,
            )
        cache = msal.SerializableTokenCache()
        cache.deserialize(data)
        public = _is_public(data)
        session = _Session(self._app(cache, public=public), cache, data, public=public)
        self._sessions[account] = session
        return session

    def _reload(self, account: str, session: _Session) -> bool:
        """Take in what another process stored since; True when it differed."""
        if session.dirty:
            return False  # our newer, unsaved tokens win
        data = self.token_store.get(account)
        if data is None:
            self._sessions.pop(account, None)
            raise ReauthorizationRequiredError(
                "the Microsoft sign-in of this account was removed: send the user to "
                "MicrosoftAuth.authorization_url()",
                account=account,
            )
        if data == session.data:
            return False
        session.cache.deserialize(data)
        session.data = data
        return True

    def _usable(self, session: _Session, home: str, scopes: list[str]) -> bool:
        """Whether msal will answer from the cache (a token valid 5 more minutes, not aging)."""
        now = time.time()
        for entry in session.cache.search(
            msal.TokenCache.CredentialType.ACCESS_TOKEN,
            target=scopes,
            query={"client_id": self.client_id, "home_account_id": home},
        ):
            if int(entry["expires_on"]) - now < _EXPIRY_MARGIN:
                continue
            if "refresh_on" in entry and int(entry["refresh_on"]) < now:
                continue
            return True
        return False

    def _error(self, result: Mapping[str, Any], account: str, *, signing_in: bool = False) -> Any:
        error = auth_error(
            result,
            account=account,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            signing_in=signing_in,
        )
        logger.warning(
            "Microsoft sign-in error for account %r: %s (AADSTS%s)",
            account,
            result.get("error"),
            getattr(error, "aadsts", None),
        )
        return error

    # -- sign-in -------------------------------------------------------------------------------

    def authorization_url(
        self,
        account: str,
        *,
        mailbox: str | None = None,
        login_hint: str | None = None,
        prompt: str | None = None,
        domain_hint: str | None = None,
    ) -> str:
        """The URL to send the user's browser to, to sign in and consent for ``account``.

        The flow (state, PKCE verifier, nonce) is kept in the token store
        under a reserved key of the account, for :attr:`flow_ttl` seconds
        and at most a few at once per account, so the callback may reach any
        worker that shares the store. ``prompt="select_account"`` lets the
        user pick another Microsoft account.

        ``mailbox``: the Microsoft account that must sign in (its sign-in
        name or e-mail address); :meth:`complete` refuses anyone else, so one
        user's tokens never end up under another's account. By default the
        ``login_hint``, else ``account`` when it is an e-mail address; ``""``
        accepts whoever signs in.
        """
        check_account(account)
        expected = _expected_mailbox(account, mailbox, login_hint)
        app = self._app(msal.SerializableTokenCache())
        with _WARNINGS_LOCK, warnings.catch_warnings():
            # msal recommends form_post on every other call; query is a documented choice here.
            warnings.filterwarnings("ignore", "response_mode='form_post' is recommended")
            flow = app.initiate_auth_code_flow(
                self._scopes,
                redirect_uri=self.redirect_uri,
                login_hint=login_hint,
                prompt=prompt,
                domain_hint=domain_hint,
                response_mode=self.response_mode,
            )
        with self._locked(FLOW_PREFIX + account):
            flows = self._flows(account)
            flows[flow["state"]] = {
                "flow": flow,
                "expires": time.time() + self.flow_ttl,
                "mailbox": expected,
            }
            newest = sorted(flows.items(), key=lambda item: item[1]["expires"])[-_MAX_FLOWS:]
            self.token_store.set(FLOW_PREFIX + account, json.dumps({"flows": dict(newest)}))
        return self._http.to_public(str(flow["auth_uri"]))

    def _flows(self, account: str) -> dict[str, dict[str, Any]]:
        """The account's pending sign-ins that have not expired."""
        raw = self.token_store.get(FLOW_PREFIX + account)
        try:
            flows = dict(json.loads(raw)["flows"]) if raw else {}
        except (ValueError, KeyError, TypeError):
            flows = {}
        now = time.time()
        return {state: item for state, item in flows.items() if float(item["expires"]) > now}

    def _take_flow(self, account: str, state: str) -> tuple[dict[str, Any], str | None] | None:
        """The pending flow of ``state`` (used up) and the mailbox it expects."""
        with self._locked(FLOW_PREFIX + account):
            flows = self._flows(account)
            item = flows.pop(state, None)
            if flows:
                self.token_store.set(FLOW_PREFIX + account, json.dumps({"flows": flows}))
            else:
                self.token_store.delete(FLOW_PREFIX + account)
        return None if item is None else (dict(item["flow"]), item.get("mailbox"))

    def complete(
        self,
        account: str,
        params: Mapping[str, Any] | None = None,
        *,
        code: str | None = None,
        state: str | None = None,
    ) -> MicrosoftAccount:
        """Finish a sign-in from the redirect's query parameters: exchange the code, store tokens.

        ``params``: the callback's query (``request.args`` of a web app:
        ``code``, ``state``, ``session_state``... or ``error`` and
        ``error_description``); or give ``code`` and ``state``. The tokens
        replace whatever the account had. :class:`~calsync.SignInStateError`
        when no pending sign-in of this account matches ``state`` (expired,
        used, or started for another account);
        :class:`~calsync.ReauthorizationRequiredError` (code ``wrong_account``),
        with nothing stored, when someone other than the expected mailbox
        signed in (see :meth:`authorization_url`).
        """
        check_account(account)
        response: dict[str, str] = {}
        for name, value in (params or {}).items():
            first = _first(value)
            if first is not None:
                response[str(name)] = first
        if code is not None:
            response["code"] = code
        if state is not None:
            response["state"] = state
        wanted = response.get("state")
        taken = self._take_flow(account, wanted) if wanted else None
        if taken is None:
            raise SignInStateError(
                "this sign-in callback matches no pending sign-in of the account (the link "
                "expired, was used already, or was started for another account): send the user "
                "to MicrosoftAuth.authorization_url() again",
                account=account,
            )
        flow, expected = taken
        if "error" in response:
            raise self._error(response, account, signing_in=True)
        cache = msal.SerializableTokenCache()
        app = self._app(cache)
        with self._locked(account):
            try:
                result = app.acquire_token_by_auth_code_flow(flow, response)
            except _TRANSPORT as error:
                raise _transient(error) from None
            except (ValueError, RuntimeError):  # state or nonce mismatch
                raise SignInStateError(
                    "the sign-in callback does not belong to the sign-in it names (state or "
                    "nonce mismatch): send the user to MicrosoftAuth.authorization_url() again",
                    account=account,
                ) from None
            if "error" in result:
                raise self._error(result, account, signing_in=True)
            _check_signed_in(result.get("id_token_claims") or {}, expected, account)
            self._keep(account, _Session(app, cache, None, dirty=True))
        return _signed_in(account, result)

    def start_device_login(self, account: str) -> DeviceCode:
        """Start a sign-in with the device code flow (a terminal, a machine without a browser).

        Show the returned :attr:`DeviceCode.message` to the user, then call
        :meth:`finish_device_login`. The app registration must allow public
        client flows (Entra ID: App registrations > Authentication > "Allow
        public client flows"); otherwise the sign-in ends in an
        :class:`~calsync.AppRegistrationError` that says so. Tokens from this
        flow belong to a public client: calsync refreshes them without the
        secret.
        """
        check_account(account)
        app = self._app(msal.SerializableTokenCache(), public=True)
        try:
            flow = app.initiate_device_flow(scopes=self._scopes)
        except _TRANSPORT as error:
            raise _transient(error) from None
        if "user_code" not in flow:
            raise self._error(flow, account, signing_in=True)
        return DeviceCode(
            account=account,
            user_code=str(flow["user_code"]),
            verification_uri=str(flow.get("verification_uri", "")),
            message=str(flow.get("message", "")),
            expires_at=float(flow["expires_at"]),
            flow=dict(flow),
        )

    def finish_device_login(
        self, code: DeviceCode, *, timeout: float | None = None
    ) -> MicrosoftAccount:
        """Wait (polling as the platform asks) until the user signed in; store the tokens.

        ``timeout`` (seconds) gives up sooner than the code's own expiry
        (:class:`~calsync.ReauthorizationRequiredError` either way, and when
        the user declined).
        """
        account = code.account
        flow = dict(code.flow)
        if timeout is not None:
            flow["expires_at"] = min(float(flow["expires_at"]), time.time() + timeout)
        cache = msal.SerializableTokenCache()
        app = self._app(cache, public=True)
        try:
            result = app.acquire_token_by_device_flow(flow)
        except _TRANSPORT as error:
            raise _transient(error) from None
        if result.get("error") == "authorization_pending":  # our deadline, not the code's
            raise ReauthorizationRequiredError(
                "the device sign-in was not completed in time: start it again", account=account
            )
        if "error" in result:
            raise self._error(result, account, signing_in=True)
        with self._locked(account):
            self._keep(account, _Session(app, cache, None, dirty=True, public=True))
        return _signed_in(account, result)

    def token_status(self, account: str) -> TokenStatus | None:
        """What is stored for ``account`` (None: nothing, the user never signed in or left)."""
        data = self.token_store.get(check_account(account))
        if data is None:
            return None
        cache = msal.SerializableTokenCache()
        cache.deserialize(data)
        accounts = cache.search(msal.TokenCache.CredentialType.ACCOUNT)
        username = next((a.get("username") for a in accounts if a.get("username")), None)
        # now=0: expired access tokens too (they still tell when the refresh token was used).
        tokens = list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, now=0))
        cached = [int(t["cached_at"]) for t in tokens if str(t.get("cached_at", "")).isdigit()]
        expires = [int(t["expires_on"]) for t in tokens if str(t.get("expires_on", "")).isdigit()]
        refreshed = float(max(cached)) if cached else None
        return TokenStatus(
            account=account,
            username=username,
            refreshed=refreshed,
            access_expires=float(max(expires)) if expires else None,
            refresh_expires=refreshed + REFRESH_IDLE_LIFETIME if refreshed else None,
            device=_is_public(data),
        )

    # -- tokens --------------------------------------------------------------------------------

    def credential(self, account: str) -> MicrosoftCredential:
        """An azure-core ``TokenCredential`` for ``account`` (msgraph-sdk, the Outlook adapter)."""
        return MicrosoftCredential(self, check_account(account))

    def _resolve(self, scopes: Sequence[str]) -> list[str]:
        asked = [_short(s) for s in scopes if s not in RESERVED_SCOPES]
        if not asked or any(s.endswith(".default") for s in asked):
            return list(self._scopes)
        return asked

    def access_token(
        self,
        account: str,
        scopes: Sequence[str] = (),
        *,
        claims: str | None = None,
        rejected: str | None = None,
    ) -> tuple[str, int, int | None]:
        """(access token, expires_on, refresh_on) for ``account``, refreshed when needed.

        Under the account's lock: a valid cached token is returned at once;
        otherwise the store is read again (another process may have
        refreshed), msal refreshes with the newest refresh token, and the
        rotated refresh token is saved. An ``invalid_grant`` right after
        another process rotated the refresh token is retried once with its
        token. ``rejected``: a token Graph refused (revoked, or expired before
        msal thought): never returned again, a new one is fetched instead
        (unless another caller replaced it already).
        """
        wanted = self._resolve(scopes)
        with self._locked(account):
            session = self._sessions.get(account) or self._load(account)
            accounts = session.app.get_accounts()
            if not accounts:
                raise ReauthorizationRequiredError(
                    "the stored tokens of this account hold no Microsoft account: send the user "
                    "to MicrosoftAuth.authorization_url()",
                    account=account,
                )
            home = accounts[0].get("home_account_id")
            if claims or rejected or not self._usable(session, home, wanted):
                self._reload(account, session)
                accounts = session.app.get_accounts() or accounts
            result = self._silent(session, wanted, accounts[0], claims)
            if rejected and result is not None and result.get("access_token") == rejected:
                logger.info("account %r: Graph refused its access token; refreshing", account)
                result = self._silent(session, wanted, accounts[0], claims, force=True)
            if (
                result is not None
                and result.get("error") == "invalid_grant"
                and self._reload(account, session)
            ):
                logger.debug("account %r: another process refreshed first; retrying", account)
                accounts = session.app.get_accounts() or accounts
                result = self._silent(session, wanted, accounts[0], claims)
            self._save(account, session)
        if result is None:
            raise ReauthorizationRequiredError(
                "no refresh token is stored for this account: send the user to "
                "MicrosoftAuth.authorization_url()",
                account=account,
            )
        if "error" in result:
            raise self._error(result, account)
        now = int(time.time())
        expires_on = now + int(result.get("expires_in", 0))
        refresh_on = result.get("refresh_on")
        if refresh_on is None and "refresh_in" in result:
            refresh_on = now + int(result["refresh_in"])
        return str(result["access_token"]), expires_on, refresh_on

    def _silent(
        self,
        session: _Session,
        scopes: list[str],
        who: Mapping[str, Any],
        claims: str | None,
        *,
        force: bool = False,
    ) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] | None = session.app.acquire_token_silent_with_error(
                scopes, who, claims_challenge=claims, force_refresh=force
            )
        except _TRANSPORT as error:
            raise _transient(error) from None
        return found

    # -- accounts ------------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        """Every account with stored tokens."""
        return self.token_store.accounts()

    def forget(self, account: str) -> None:
        """Delete the account's tokens and pending sign-ins (the user disconnects)."""
        check_account(account)
        with self._locked(account):
            self._sessions.pop(account, None)
            self.token_store.delete(account)
            self.token_store.delete(FLOW_PREFIX + account)

    def close(self) -> None:
        """Close the HTTP client calsync made (a caller's client is left open)."""
        if self._owns_http:
            self._httpx.close()


def _signed_in(account: str, result: Mapping[str, Any]) -> MicrosoftAccount:
    """The account a successful sign-in linked (from the id token's claims)."""
    claims = result.get("id_token_claims") or {}
    logger.info("account %r signed in to Microsoft", account)
    return MicrosoftAccount(
        account=account,
        username=claims.get("preferred_username"),
        name=claims.get("name"),
        tenant_id=claims.get("tid"),
    )


def _expected_mailbox(account: str, mailbox: str | None, login_hint: str | None) -> str | None:
    """Who must sign in for ``account``: ``mailbox``, else the hint, else an address account."""
    if mailbox is not None:
        return mailbox.strip().lower() or None
    for candidate in (login_hint, account):
        if candidate and "@" in candidate:
            return candidate.strip().lower()
    return None


def _check_signed_in(claims: Mapping[str, Any], expected: str | None, account: str) -> None:
    """Refuse a sign-in by another Microsoft account than the one expected."""
    if expected is None:
        return
    names = {
        str(claims[name]).strip().lower()
        for name in ("preferred_username", "email", "upn")
        if isinstance(claims.get(name), str)
    }
    if expected in names:
        return
    who = claims.get("preferred_username") or claims.get("email") or "an unnamed account"
    raise ReauthorizationRequiredError(
        f"{who} signed in, but this sign-in was for {expected}: nothing was stored. Send "
        f"the user to MicrosoftAuth.authorization_url() again and have them sign in as {expected} "
        "(or pass mailbox= the name they sign in with)",
        account=account,
        code="wrong_account",
    )


def _short(scope: str) -> str:
    """Graph's scopes by their short names (the identity platform answers with those)."""
    return scope[len(_GRAPH) :] if scope.lower().startswith(_GRAPH) else scope


class MicrosoftCredential(ClosesOnExit):
    """An azure-core credential for one account: ``get_token`` and ``get_token_info``.

    Hand it to msgraph-sdk (or calsync's Outlook adapter). Any scope ending
    in ``/.default`` (what kiota asks for), or none, means the scopes
    :class:`MicrosoftAuth` was configured with. ``tenant_id`` and
    ``enable_cae`` are accepted and ignored (the account's tenant is the one
    it signed in to); a ``claims`` challenge forces a refresh with it. The
    ``repr`` names the account only, and the tokens returned hide
    themselves in theirs.
    """

    def __init__(self, auth: MicrosoftAuth, account: str) -> None:
        self._auth = auth
        self.account = account
        self.__rejected: str | None = None

    def reject(self, token: str) -> None:
        """Graph refused ``token`` (revoked, or expired before msal thought).

        The next :meth:`get_token` fetches a new one with the refresh token
        instead of handing out the cached one again (calsync's Outlook adapter
        calls this on a 401, then retries once).
        """
        self.__rejected = token

    def _access_token(
        self, scopes: Sequence[str], claims: str | None
    ) -> tuple[str, int, int | None]:
        rejected = self.__rejected
        found = self._auth.access_token(self.account, scopes, claims=claims, rejected=rejected)
        if rejected is not None and found[0] != rejected:
            self.__rejected = None
        return found

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An access token, refreshed (and the new refresh token stored) when needed."""
        token, expires_on, _ = self._access_token(scopes, claims)
        return _AccessToken(token, expires_on)

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """The same, in azure-core's newer ``SupportsTokenInfo`` form."""
        token, expires_on, refresh_on = self._access_token(scopes, (options or {}).get("claims"))
        return _AccessTokenInfo(token, expires_on, refresh_on=refresh_on)

    def close(self) -> None:
        """Nothing to release (the :class:`MicrosoftAuth` owns the HTTP client)."""

    def __repr__(self) -> str:
        return f"MicrosoftCredential(account={self.account!r})"

    __str__ = __repr__
