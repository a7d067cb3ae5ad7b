"""Microsoft sign-in for a web app, on Starlette: connect each user's Outlook, then sync it.

The app plays the part of your own web application (an Odoo add-on, an
integration portal). Its pages:

- ``GET /``: the users, each with a "Sign in with Microsoft" link and, once
  connected, the Microsoft account their tokens belong to;
- ``GET /connect/{user}``: remembers who is signing in (a signed,
  ``HttpOnly``, ``SameSite=Lax`` cookie: in your app, your own session) and
  sends the browser to Microsoft (:meth:`MicrosoftAuth.authorization_url`);
- ``GET /microsoft_account/authentication``: the redirect URI Microsoft sends
  the browser back to, with ``?code=...&state=...``:
  :meth:`MicrosoftAuth.complete` exchanges the code and stores the tokens
  (refresh token included) in the token store; each typed error becomes a
  page that says who must act;
- ``GET /sync``: the signed-in user's pair previewed (every write, every
  e-mail Outlook would send), with a button to run it;
- ``POST /sync?emails=N``: runs it, allowing the N e-mails the preview
  showed (a plan that grew since stops before writing), and shows the report.

Register the redirect URI, this app's base URL followed by
``/microsoft_account/authentication``, as a *Web* redirect URI of the app in
Microsoft Entra ID (docs/howto/microsoft.md): the same path as Odoo's own
Outlook module, on the same domain as Odoo's ``web.base.url``. The app
serves the callback at the path of the redirect URI it is given.

Configuration (environment), the same as ``examples/worker_rq.py``, so that
the users this app connects are the pairs those workers sync:

- ``CALSYNC_PAIRS``: a JSON file, ``{"user": {"odoo": {"url", "db", "login",
  "api_key" or "password"}, "outlook": {"account": "<mailbox address>"}}}``;
  the Outlook account is the key of the user's tokens;
- ``CALSYNC_STATE_URL``: the SQLAlchemy URL of the state and token store
  (``sqlite:////var/lib/calsync/state.sqlite3`` on one machine, PostgreSQL
  when workers share it);
- ``CALSYNC_MS_CLIENT_ID``, ``CALSYNC_MS_CLIENT_SECRET``,
  ``CALSYNC_MS_REDIRECT_URI`` (e.g.
  ``https://odoo.example.com/microsoft_account/authentication``),
  ``CALSYNC_MS_TENANT`` (default ``common``), ``CALSYNC_TOKEN_KEY``
  (optional: encrypts the tokens);
- ``CALSYNC_MS_AUTHORITY_HOST`` and ``CALSYNC_GRAPH_URL`` (optional): the
  identity platform and Graph, to point the app at calsync's emulators
  (``GraphEmulator().url`` and ``.base_url``) instead of Microsoft's;
- ``CALSYNC_SESSION_SECRET``: signs the session cookie (a long random string).

Run::

    uvicorn oauth_app:app --app-dir examples --port 8000

The blocking calsync API runs in Starlette's thread pool (the endpoints are
plain functions), so msal's token requests never hold up the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

import calsync
from calsync.auth import REDIRECT_PATH, MicrosoftAuth

logger = logging.getLogger("calsync.examples.oauth")

COOKIE = "calsync_user"
MAX_SHOWN = 50


# -- the session: who is using the app (yours has its own) ---------------------------------------


def _sign(secret: bytes, user: str) -> str:
    digest = hmac.new(secret, user.encode(), hashlib.sha256).hexdigest()
    return f"{user}|{digest}"


def _user_of(request: Request, secret: bytes, users: Mapping[str, str]) -> str | None:
    """The user the session cookie names, if its signature holds and the user exists."""
    user, _, digest = request.cookies.get(COOKIE, "").rpartition("|")
    expected = _sign(secret, user).rpartition("|")[2]
    if user in users and hmac.compare_digest(digest, expected):
        return user
    return None


# -- pages -------------------------------------------------------------------------------------


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A minimal HTML page (every dynamic value is escaped by the caller)."""
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}<p><a href='/'>Home</a></p></body></html>"
    )
    return HTMLResponse(html, status)


#: What each typed error means for the person at the page: (error, title, status, advice).
#: The first that matches wins; AppRegistrationError also goes to the log for the administrator.
ERROR_PAGES: tuple[tuple[type[calsync.CalsyncError], str, int, str], ...] = (
    (
        calsync.SignInStateError,
        "Sign-in expired",
        400,
        "This sign-in link expired or was used already. Start again from the home page.",
    ),
    (
        calsync.ReauthorizationRequiredError,
        "Connect your Outlook again",
        403,
        "Microsoft needs you to sign in again: use the sign-in link on the home page.",
    ),
    (
        calsync.AppRegistrationError,
        "The administrator must fix the app registration",
        500,
        "Nobody can connect until it is fixed; connected users keep their tokens.",
    ),
    (
        calsync.TransientError,
        "Try again in a moment",
        503,
        "A server did not answer in time (Microsoft's sign-in, Odoo or Outlook).",
    ),
    (calsync.PairLockedError, "A sync is running", 409, "Your calendars are being synced now."),
    (
        calsync.NotificationLimitError,
        "Your calendars changed since the preview",
        409,
        "Nothing was written. <a href='/sync'>Preview again</a>.",
    ),
)


def error_page(error: calsync.CalsyncError) -> HTMLResponse:
    """The page for a typed error: who must act, and calsync's own explanation."""
    for kind, title, status, advice in ERROR_PAGES:
        if isinstance(error, kind):
            if isinstance(error, calsync.AppRegistrationError):
                logger.error("the app registration needs the administrator: %s", error)
            return page(title, f"<p>{advice}</p><p>{escape(error.message)}</p>", status)
    logger.warning("sync failed: %s", error)
    return page("Sync failed", f"<p>{escape(type(error).__name__)}: {escape(str(error))}</p>", 500)


def _operations(plan: calsync.Plan) -> str:
    items = []
    for operation in plan.operations[:MAX_SHOWN]:
        mails = ", ".join(f"{n.kind.value} to {n.recipient}" for n in operation.notifications)
        items.append(
            f"<li>{escape(str(operation))}{escape(f' — e-mails: {mails}' if mails else '')}"
        )
    more = len(plan.operations) - MAX_SHOWN
    if more > 0:
        items.append(f"<li>... and {more} more")
    return f"<ul>{''.join(items)}</ul>"


# -- the app -----------------------------------------------------------------------------------


def create_app(
    auth: MicrosoftAuth,
    users: Mapping[str, str],
    build: Callable[[str], calsync.Synchronizer],
    *,
    session_secret: str,
) -> Starlette:
    """The web app: ``users`` maps each user to their Outlook account (the token store key),
    ``build(user)`` makes the user's Synchronizer (Outlook side on ``auth.credential``)."""
    secret = session_secret.encode()
    secure = auth.redirect_uri.startswith("https://")

    def home(request: Request) -> Response:
        connected = set(auth.accounts())
        current = _user_of(request, secret, users)
        rows = []
        for user, account in sorted(users.items()):
            state = "connected" if account in connected else "not connected"
            link = f"<a href='/connect/{escape(user)}'>Sign in with Microsoft</a>"
            sync = " · <a href='/sync'>Sync</a>" if user == current and state == "connected" else ""
            rows.append(f"<li>{escape(user)} ({escape(account)}): {state} · {link}{sync}")
        return page("calsync", f"<ul>{''.join(rows)}</ul>")

    def connect(request: Request) -> Response:
        user = request.path_params["user"]
        if user not in users:
            return page("Unknown user", "<p>No such user.</p>", 404)
        try:
            url = auth.authorization_url(users[user], login_hint=users[user])
        except calsync.CalsyncError as error:  # the identity platform unreachable, for one
            return error_page(error)
        response = RedirectResponse(url, 302)
        response.set_cookie(
            COOKIE, _sign(secret, user), httponly=True, samesite="lax", secure=secure
        )
        return response

    def callback(request: Request) -> Response:
        user = _user_of(request, secret, users)
        if user is None:
            return page("Who is signing in?", "<p>Start from the home page.</p>", 400)
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        try:
            signed = auth.complete(users[user], query)
        except calsync.CalsyncError as error:
            return error_page(error)
        logger.info("%s connected Microsoft account %s", user, signed.username)
        return RedirectResponse("/sync", 303)

    def preview(request: Request) -> Response:
        user = _user_of(request, secret, users)
        if user is None:
            return RedirectResponse("/", 303)
        try:
            with build(user) as sync:
                plan = sync.preview()
        except calsync.CalsyncError as error:
            return error_page(error)
        if not plan.operations:
            return page(f"{user}: in sync", "<p>Nothing to do.</p>")
        emails = len(plan.notifications)
        form = (
            f"<form method='post' action='/sync?emails={emails}'>"
            f"<button>Sync now ({len(plan.writes)} writes, {emails} e-mails)</button></form>"
        )
        return page(f"{user}: preview", _operations(plan) + form)

    def run(request: Request) -> Response:
        user = _user_of(request, secret, users)
        if user is None:
            return RedirectResponse("/", 303)
        try:
            allowed = int(request.query_params.get("emails", "0"))
        except ValueError:
            allowed = 0
        try:
            with build(user) as sync:
                report = sync.run(allow_notifications=allowed)  # what the preview showed
        except calsync.CalsyncError as error:
            return error_page(error)
        return page(f"{user}: synced", f"<pre>{escape(str(report))}</pre>")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/connect/{user}", connect),
            Route(urlsplit(auth.redirect_uri).path or REDIRECT_PATH, callback),
            Route("/sync", preview, methods=["GET"]),
            Route("/sync", run, methods=["POST"]),
        ]
    )


# -- from the environment (uvicorn oauth_app:app) ----------------------------------------------


def _from_environment() -> Starlette:
    from calsync.adapters.odoo import OdooCalendar
    from calsync.adapters.outlook import OutlookCalendar
    from calsync.stores import SQLStore, SQLTokenStore

    with open(os.environ["CALSYNC_PAIRS"], encoding="utf-8") as file:
        pairs: dict[str, dict[str, Any]] = json.load(file)
    state_url = os.environ["CALSYNC_STATE_URL"]
    auth = MicrosoftAuth(
        os.environ["CALSYNC_MS_CLIENT_ID"],
        os.environ["CALSYNC_MS_CLIENT_SECRET"],
        os.environ["CALSYNC_MS_REDIRECT_URI"],
        SQLTokenStore(state_url, key=os.environ.get("CALSYNC_TOKEN_KEY") or None),
        tenant=os.environ.get("CALSYNC_MS_TENANT", "common"),
        authority_host=os.environ.get(
            "CALSYNC_MS_AUTHORITY_HOST", "https://login.microsoftonline.com"
        ),
    )
    graph_url = os.environ.get("CALSYNC_GRAPH_URL", "https://graph.microsoft.com/v1.0")
    store = SQLStore(state_url)
    users = {user: str(config["outlook"]["account"]) for user, config in pairs.items()}

    def build(user: str) -> calsync.Synchronizer:
        odoo = pairs[user]["odoo"]
        return calsync.Synchronizer(
            OdooCalendar(
                odoo["url"],
                odoo["db"],
                odoo["login"],
                api_key=odoo.get("api_key"),
                password=odoo.get("password"),
            ),
            OutlookCalendar(auth.credential(users[user]), account=users[user], base_url=graph_url),
            store,
            pair=user,
        )

    return create_app(auth, users, build, session_secret=os.environ["CALSYNC_SESSION_SECRET"])


def __getattr__(name: str) -> Any:
    """``oauth_app:app`` for uvicorn, built from the environment on first use."""
    if name == "app":
        return _from_environment()
    raise AttributeError(name)
