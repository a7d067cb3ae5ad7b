"""Microsoft sign-in: the authorization-code flow for a web app, and credentials for Graph.

::

    from calsync.auth import MicrosoftAuth
    from calsync.stores import SQLTokenStore

    auth = MicrosoftAuth(
        client_id, client_secret,
        "https://odoo.example.com/microsoft_account/authentication",
        SQLTokenStore("postgresql+psycopg://...", key=token_key),
    )
    url = auth.authorization_url("user-42")      # send the browser there
    # ... Microsoft redirects to the redirect URI with ?code=...&state=...
    auth.complete("user-42", request.args)       # exchange the code, store the tokens
    credential = auth.credential("user-42")      # azure-core TokenCredential for msgraph-sdk

**Flow.** :meth:`MicrosoftAuth.authorization_url` starts msal's
``initiate_auth_code_flow`` (state, PKCE S256, nonce) and keeps the flow in
the token store under a reserved key of the account (``calsync:flow:...``,
encrypted with the store's key, valid ``flow_ttl`` seconds, one-shot), so
the callback may reach any worker or process that shares the store; keep
using a store shared by every worker (SQLite file, PostgreSQL). The callback
calls :meth:`MicrosoftAuth.complete` with the account (from the web app's
own session) and the query parameters. The redirect URI registered in
Microsoft Entra ID must be the app's base URL followed by
``/microsoft_account/authentication``, on the same domain as Odoo's
``web.base.url``.

**Tokens.** One msal ``ConfidentialClientApplication`` and one
``SerializableTokenCache`` per account; the cache (refresh token included)
is read from the :class:`~calsync.stores.TokenStore` and written back
whenever msal changed it, so a rotated refresh token is stored at once.
``credential(account).get_token(...)`` answers from memory while the access
token has more than 5 minutes left; otherwise it refreshes **under a lock
per account** (threads of one process make one token request between
them), after reading the store again. Across processes there is no lock:
a process that refreshes with a refresh token another process has just
rotated away gets ``invalid_grant``, re-reads the store, finds the other
process's tokens and retries once (this covers a server that invalidates
each refresh token once used, as the emulator does); when both refreshes
succeed, the last one written stays stored. Two processes may thus each
make a token request for one account; they never lose its sign-in. Give
every process the same token store (a shared SQLite file or PostgreSQL);
each pending sign-in is a read-modify-write of one key per account, so two
sign-in links created for one account at the same instant by two processes
may keep only one.

**Device code.** :meth:`MicrosoftAuth.start_device_login` and
:meth:`MicrosoftAuth.finish_device_login` sign a user in from a terminal
(``calsync login``): the user enters a short code at Microsoft's page on
any device. The app must allow public client flows; the tokens belong to a
public client and are refreshed without the secret (calsync marks them so).

**App-only.** :class:`ApplicationCredential` is the credential of an app
with the *application* permission ``Calendars.ReadWrite`` (an
administrator consents once for the tenant): azure-identity's client
secret or certificate credential, with calsync's typed errors. Mailboxes
are reached at ``/users/{id}`` (``OutlookCalendar(credential, user=...)``).

**Errors** (typed, each saying what to do, never carrying a token, code or
secret; calsync never deletes tokens because of an error):

- :class:`~calsync.ReauthorizationRequiredError`: this one user must sign in
  again (``invalid_grant``: revoked consent AADSTS65001, 90 days idle
  700082/70008, revoked grant 50173/70000; ``interaction_required``: MFA or
  conditional access 50076/50079/50158); :class:`~calsync.SignInStateError`
  for a callback that matches no pending sign-in.
- :class:`~calsync.AppRegistrationError` (app-wide, for the administrator;
  users' tokens are kept): :class:`~calsync.ClientSecretExpiredError`
  (AADSTS7000222: create a new secret, the longest expiry),
  :class:`~calsync.InvalidClientSecretError` (AADSTS7000215: the secret's ID
  was pasted instead of its value), :class:`~calsync.RedirectUriMismatchError`
  (AADSTS50011).
- :class:`~calsync.TransientError`: timeouts, 5xx,
  ``temporarily_unavailable``: retry later.

msal logs at DEBUG; calsync filters the authorization code and PKCE
verifier out of msal's token-cache log. msal, httpx and azure-core are
imported when these names are first used, not at ``import calsync.auth``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsync.auth._app import GRAPH_DEFAULT_SCOPE, ApplicationCredential
    from calsync.auth._errors import REDIRECT_PATH
    from calsync.auth._microsoft import (
        DEFAULT_SCOPES,
        DeviceCode,
        MicrosoftAccount,
        MicrosoftAuth,
        MicrosoftCredential,
        TokenStatus,
    )

__all__ = [
    "DEFAULT_SCOPES",
    "GRAPH_DEFAULT_SCOPE",
    "REDIRECT_PATH",
    "ApplicationCredential",
    "DeviceCode",
    "MicrosoftAccount",
    "MicrosoftAuth",
    "MicrosoftCredential",
    "TokenStatus",
]

_LAZY = {
    "ApplicationCredential": "calsync.auth._app",
    "GRAPH_DEFAULT_SCOPE": "calsync.auth._app",
    "DeviceCode": "calsync.auth._microsoft",
    "TokenStatus": "calsync.auth._microsoft",
    "DEFAULT_SCOPES": "calsync.auth._microsoft",
    "MicrosoftAccount": "calsync.auth._microsoft",
    "MicrosoftAuth": "calsync.auth._microsoft",
    "MicrosoftCredential": "calsync.auth._microsoft",
    "REDIRECT_PATH": "calsync.auth._errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'calsync.auth' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
