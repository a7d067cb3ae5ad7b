"""``calsync check``: reach both sides with the configured credentials, say what is wrong.

Each check yields :class:`Finding` rows, each naming what it concerns (the
store, the Microsoft app, a pair's side) and, when something is wrong, what
exactly and who fixes it: a redirect URI Entra ID does not know
(AADSTS50011), an app it does not know (AADSTS700016), a wrong or expired
secret, a certificate it does not hold, missing admin consent, Exchange's
access policy, a user who must sign in again (consent revoked, 90 days idle),
an Odoo database that does not exist, Odoo credentials refused, missing
rights; and credentials that expire within 30 days.

The checks read a one-hour window of each pair's calendars: a handful of
requests per pair, no write.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import attrs
import httpx

from calsync._blocking import run_blocking
from calsync._errors import (
    AccessDeniedError,
    AppRegistrationError,
    AuthenticationError,
    CalsyncError,
    ConfigurationError,
    ReauthorizationRequiredError,
    StoreError,
    TransientError,
)
from calsync._model._window import Window

if TYPE_CHECKING:
    from calsync._app._config import PairConfig
    from calsync._app._deploy import Deployment

__all__ = ["Finding", "run_checks"]

UTC = timezone.utc
_TENANT_ALIASES = frozenset({"common", "organizations", "consumers"})


@attrs.frozen
class Finding:
    """One line of ``calsync check``: ``level`` is ``ok``, ``warning`` or ``error``.

    ``error`` is the exception behind an error (its type decides the exit code).
    """

    subject: str
    level: str
    message: str
    error: BaseException | None = None


def run_checks(deployment: Deployment) -> Iterator[Finding]:
    """Every check, in order: the store, the Microsoft app, each pair, then expiries."""
    yield _store(deployment)
    yield from _microsoft(deployment)
    try:
        pairs = deployment.pairs()
    except CalsyncError as error:
        yield Finding("pairs", "error", f"could not list the pairs: {error}", error)
        pairs = []
    if not pairs:
        yield Finding("pairs", "warning", "no pair is configured (add [[pairs]] tables)")
    seen: set[str] = set()
    for pair in pairs:
        for finding in _pair(deployment, pair):
            if finding.level == "error" and finding.message in seen:
                continue  # an app-wide refusal, already said for an earlier pair
            seen.add(finding.message)
            yield finding
    for expiry in deployment.expiries():
        state = expiry.state()
        level = {"ok": "ok", "soon": "warning", "expired": "error"}[state]
        yield Finding("expiry", level, expiry.message())


def _store(deployment: Deployment) -> Finding:
    try:
        deployment.store.pairs()
    except CalsyncError as error:
        return Finding("store", "error", f"{deployment.config.store.url}: {error}", error)
    return Finding("store", "ok", f"{_shown(deployment.config.store.url)} opens")


def _shown(url: str) -> str:
    """A store URL without its password."""
    return re.sub(r"://([^:/@]+):[^@/]*@", r"://\1:***@", url)


# -- Microsoft ----------------------------------------------------------------------------------


def _microsoft(deployment: Deployment) -> Iterator[Finding]:
    ms = deployment.config.microsoft
    subject = f"microsoft app {ms.client_id}"
    if deployment.delegated:
        yield _redirect_uri(deployment, subject)
        if ms.tenant.lower() in _TENANT_ALIASES:
            yield Finding(
                subject,
                "ok",
                f"the client secret is tested at the first web sign-in (tenant {ms.tenant} "
                "grants no app token to test it with)",
            )
            return
    try:
        deployment.app_credential.get_token()
    except CalsyncError as error:
        yield Finding(subject, "error", _explain(error), error)
        return
    kind = "certificate" if ms.certificate is not None else "client secret"
    yield Finding(subject, "ok", f"the {kind} works: a token was issued in tenant {ms.tenant}")


def _redirect_uri(deployment: Deployment, subject: str) -> Finding:
    """Ask the authorize endpoint about the app and its redirect URI (no one signs in)."""
    try:
        auth = deployment.auth
    except CalsyncError as error:
        return Finding(subject, "error", _explain(error), error)
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": auth.client_id,
        "response_type": "code",
        "redirect_uri": auth.redirect_uri,
        "scope": "openid offline_access Calendars.ReadWrite User.Read",
        "state": "calsync-check",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    host = deployment.config.microsoft.authority_host.rstrip("/")
    url = f"{host}/{auth.tenant}/oauth2/v2.0/authorize?{urlencode(query)}"
    try:
        page = httpx.get(url, timeout=30.0, follow_redirects=False)
    except httpx.HTTPError as error:
        down = TransientError(f"the identity platform at {host} could not be reached")
        return Finding(subject, "error", f"{down} ({type(error).__name__})", down)
    if "AADSTS50011" in page.text:
        problem = AppRegistrationError(
            f"the redirect URI {auth.redirect_uri} is not registered for app {auth.client_id} "
            "(AADSTS50011): add it in Entra ID (App registrations > Authentication > Web > "
            "Redirect URIs), or set microsoft.redirect_uri to one that is",
            aadsts=50011,
        )
        return Finding(subject, "error", str(problem), problem)
    if "AADSTS700016" in page.text or "AADSTS90002" in page.text:
        problem = AppRegistrationError(
            f"the identity platform does not know app {auth.client_id} in tenant "
            f"{auth.tenant} (AADSTS700016): check microsoft.client_id and microsoft.tenant",
            aadsts=700016,
        )
        return Finding(subject, "error", str(problem), problem)
    if page.status_code >= 400:
        problem = AppRegistrationError(
            f"the identity platform refused the sign-in request ({page.status_code})"
        )
        return Finding(subject, "error", str(problem), problem)
    return Finding(subject, "ok", f"sign-in page answers; redirect URI {auth.redirect_uri}")


# -- pairs --------------------------------------------------------------------------------------


def _pair(deployment: Deployment, pair: PairConfig) -> Iterator[Finding]:
    sides = ["odoo", "outlook"]
    if deployment.delegated and deployment.auth.token_status(deployment.account(pair)) is None:
        problem = ReauthorizationRequiredError(
            f"{pair.mailbox} has not signed in: run 'calsync login {pair.name}' (or open "
            "the service's sign-in page)"
        )
        yield Finding(f"pair {pair.name}: outlook", "error", problem.message, problem)
        sides.remove("outlook")
    window = Window(datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))
    for side in sides:
        subject = f"pair {pair.name}: {side}"
        try:
            adapter = deployment.odoo(pair) if side == "odoo" else deployment.outlook(pair)
            run_blocking(_read(adapter, window), "an async check")
        except CalsyncError as error:
            yield Finding(subject, "error", _explain(error, pair, side), error)
        else:
            who = pair.odoo_login if side == "odoo" else pair.mailbox
            yield Finding(subject, "ok", f"{who}: calendar read")


async def _read(adapter: object, window: Window) -> None:
    try:
        await adapter.pull(None, window)  # type: ignore[attr-defined]
    finally:
        await adapter.aclose()  # type: ignore[attr-defined]


_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def _explain(error: CalsyncError, pair: PairConfig | None = None, side: str = "") -> str:
    """What the error means for the person running ``check``."""
    text = getattr(error, "message", None) or str(error)
    said = None
    if pair is not None and side == "odoo":
        said = _odoo_problem(error, text, pair)
    elif pair is not None and side == "outlook" and isinstance(error, AccessDeniedError):
        said = _graph_denied(text, pair)
    if said is not None:
        return said
    return text if isinstance(error, ConfigurationError | StoreError) else str(error)


def _odoo_problem(error: CalsyncError, text: str, pair: PairConfig) -> str | None:
    missing = _NO_DATABASE.search(text)
    if missing:
        return (
            f"Odoo has no database {missing.group(1)!r}: check odoo.database "
            "(Odoo's database selector lists them)"
        )
    if isinstance(error, AuthenticationError):
        return (
            f"Odoo refused the login {pair.odoo_login!r}: wrong API key or password, an "
            "expired API key, or no such user (keys of non-administrators expire: create "
            "a new one under Preferences > Account Security)"
        )
    if isinstance(error, AccessDeniedError):
        return f"Odoo denied access to the calendar of {pair.odoo_login!r}: {text}"
    return None


def _graph_denied(text: str, pair: PairConfig) -> str:
    if "AccessPolicy" in text or "RAOP" in text:
        return (
            f"Exchange's application access policy keeps the app out of {pair.mailbox}: "
            "add the mailbox to the policy's group (New-ApplicationAccessPolicy), or remove "
            "the pair"
        )
    return (
        f"Graph denied the app access to {pair.mailbox}: grant the application permission "
        "Calendars.ReadWrite and an administrator's consent (Entra ID: App registrations > "
        "API permissions > Grant admin consent)"
    )
