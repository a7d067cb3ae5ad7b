"""The service's HTTP side (Starlette): notifications, sign-in pages, health and metrics.

======================================  =============================================
``POST /calsync/notifications``         Graph change notifications and lifecycle
                                        events (:mod:`calsync.subscriptions`): the
                                        affected pairs are synced at once
``GET /healthz``                        200 ``{"status": "ok", ...}``; 503 while
                                        stopping or when the store fails
``GET /metrics``                        Prometheus' text format (:mod:`._metrics`)
``GET /``                               delegated access: each pair, connected or
                                        not, with its sign-in and disconnect links
``GET /connect/{pair}``                 to Microsoft's sign-in for the pair's mailbox
``GET <redirect URI's path>``           Microsoft's redirect back: tokens stored only
                                        when the user signed in with the pair's mailbox
``POST /disconnect/{pair}``             forget the pair's tokens (Odoo's "Disconnect")
======================================  =============================================

The sign-in pages let anyone who reaches them connect a pair *to the pair's
own mailbox* (the signed-in account must be that mailbox) or disconnect it:
serve them behind the company's single sign-on or VPN. An identity platform
that cannot be reached answers a page that says so (503), never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from calsync._errors import (
    AppRegistrationError,
    CalsyncError,
    ReauthorizationRequiredError,
    SignInStateError,
    TransientError,
)
from calsync.auth import REDIRECT_PATH

if TYPE_CHECKING:
    from calsync._app._deploy import Deployment
    from calsync.service._metrics import Metrics
    from calsync.service._scheduler import Scheduler
    from calsync.subscriptions import SubscriptionManager, WebhookResult

__all__ = ["NOTIFICATIONS_PATH", "create_app"]

logger = logging.getLogger("calsync.service")
NOTIFICATIONS_PATH = "/calsync/notifications"
COOKIE = "calsync_pair"


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A minimal HTML page (dynamic values are escaped by the caller)."""
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{body}<p><a href='/'>All pairs</a></p>"
        "</body></html>"
    )
    return HTMLResponse(html, status)


#: (error type, title, status, advice): the first that matches wins.
_SIGN_IN_ERRORS: tuple[tuple[type[CalsyncError], str, int, str], ...] = (
    (SignInStateError, "Sign-in expired", 400, "This sign-in link expired or was used already."),
    (ReauthorizationRequiredError, "Sign-in not completed", 403, "Start again from the list."),
    (
        AppRegistrationError,
        "The administrator must fix the app registration",
        500,
        "Nobody can connect until it is fixed; connected users keep their tokens.",
    ),
    (
        TransientError,
        "Microsoft's sign-in cannot be reached",
        503,
        "The identity platform did not answer: try again in a moment.",
    ),
)


def _error_page(error: CalsyncError) -> HTMLResponse:
    for kind, title, status, advice in _SIGN_IN_ERRORS:
        if isinstance(error, kind):
            if isinstance(error, AppRegistrationError):
                logger.error("sign-in: the app registration needs the administrator: %s", error)
            return page(title, f"<p>{advice}</p><p>{escape(error.message)}</p>", status)
    return page(
        "Sign-in failed", f"<p>{escape(type(error).__name__)}: {escape(str(error))}</p>", 500
    )


class _Session:
    """A signed cookie naming the pair being connected (the callback needs to know it)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, pair: str) -> str:
        return f"{pair}|{hmac.new(self._secret, pair.encode(), hashlib.sha256).hexdigest()}"

    def pair(self, request: Request) -> str | None:
        pair, _, digest = request.cookies.get(COOKIE, "").rpartition("|")
        return (
            pair
            if pair and hmac.compare_digest(digest, self.sign(pair).rpartition("|")[2])
            else None
        )


def create_app(
    deployment: Deployment,
    scheduler: Scheduler,
    metrics: Metrics,
    subscriptions: SubscriptionManager | None,
    *,
    maintain: Callable[[str, bool], Any] | None = None,
) -> Starlette:
    """The service's routes over a deployment, its scheduler and its metrics."""
    routes = [
        Route("/healthz", _health(deployment, scheduler)),
        Route("/metrics", _metrics_route(metrics)),
    ]
    if subscriptions is not None:
        routes.append(
            Route(
                NOTIFICATIONS_PATH,
                _notifications(subscriptions, scheduler, metrics, maintain),
                methods=["POST"],
            )
        )
    if deployment.delegated:
        routes.extend(_sign_in_routes(deployment))
    return Starlette(routes=routes)


def _health(deployment: Deployment, scheduler: Scheduler) -> Callable[[Request], Response]:
    def health(request: Request) -> Response:
        if scheduler.stopping:
            return JSONResponse({"status": "stopping", "running": scheduler.running}, 503)
        try:
            pairs = len(deployment.store.pairs())
        except CalsyncError as error:
            return JSONResponse({"status": "store failing", "error": type(error).__name__}, 503)
        return JSONResponse(
            {
                "status": "ok",
                "pairs": len(deployment.pairs()),
                "pairs_with_state": pairs,
                "running": scheduler.running,
                "runs_started": scheduler.runs_started,
            }
        )

    return health


def _metrics_route(metrics: Metrics) -> Callable[[Request], Response]:
    from calsync.service._metrics import CONTENT_TYPE

    def route(request: Request) -> Response:
        return Response(metrics.text(), headers={"Content-Type": CONTENT_TYPE})

    return route


def _notifications(
    subscriptions: SubscriptionManager,
    scheduler: Scheduler,
    metrics: Metrics,
    maintain: Callable[[str, bool], Any] | None,
) -> Callable[[Request], Any]:
    def act(result: WebhookResult) -> None:
        metrics.notifications += len(result.sync)
        for pair in sorted(result.sync):
            scheduler.trigger(pair, full=pair in result.full)
        for pair in sorted(result.renew | result.recreate):
            if maintain is not None:
                maintain(pair, pair in result.recreate)

    async def receive(request: Request) -> Response:
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        result = subscriptions.handle(
            request.method, query, dict(request.headers), await request.body()
        )
        task = BackgroundTask(act, result) if result.pairs else None
        return Response(result.body, result.status, headers=result.headers, background=task)

    return receive


def _sign_in_routes(deployment: Deployment) -> list[Route]:
    secret = deployment.config.service.session_secret
    session = _Session(
        secret.value(deployment.environ).encode() if secret else secrets.token_bytes(32)
    )

    def home(request: Request) -> Response:
        rows = []
        for pair in deployment.pairs():
            try:
                connected = deployment.auth.token_status(deployment.account(pair)) is not None
            except CalsyncError as error:
                return _error_page(error)
            name = escape(pair.name)
            action = (
                f"connected · <form method='post' action='/disconnect/{name}' "
                "style='display:inline'><button>Disconnect</button></form>"
                if connected
                else f"not connected · <a href='/connect/{name}'>Sign in with Microsoft</a>"
            )
            rows.append(f"<li>{name} ({escape(pair.mailbox)}): {action}")
        return page("calsync", f"<ul>{''.join(rows)}</ul>")

    def connect(request: Request) -> Response:
        try:
            pair = deployment.pair(request.path_params["pair"])
            url = deployment.auth.authorization_url(
                deployment.account(pair), login_hint=pair.mailbox
            )
        except CalsyncError as error:
            if "no pair" in str(error):
                return page("Unknown pair", "<p>No such pair.</p>", 404)
            return _error_page(error)
        response = RedirectResponse(url, 302)
        secure = deployment.auth.redirect_uri.startswith("https://")
        response.set_cookie(
            COOKIE, session.sign(pair.name), httponly=True, samesite="lax", secure=secure
        )
        return response

    def callback(request: Request) -> Response:
        name = session.pair(request)
        if name is None:
            return page("Which pair is signing in?", "<p>Start from the list of pairs.</p>", 400)
        query = {key: request.query_params.getlist(key) for key in request.query_params}
        try:
            pair = deployment.pair(name)
            account = deployment.account(pair)
            signed = deployment.auth.complete(account, query)
        except CalsyncError as error:
            return _error_page(error)
        if (signed.username or "").lower() != pair.mailbox.lower():
            deployment.auth.forget(account)
            return page(
                "Wrong Microsoft account",
                f"<p>You signed in as {escape(signed.username or '?')}, but this pair syncs "
                f"{escape(pair.mailbox)}. Nothing was kept: sign in with that account.</p>",
                403,
            )
        logger.info("pair %s connected to %s", pair.name, signed.username)
        return page("Connected", f"<p>{escape(pair.name)} now syncs {escape(pair.mailbox)}.</p>")

    def disconnect(request: Request) -> Response:
        try:
            pair = deployment.pair(request.path_params["pair"])
            deployment.auth.forget(deployment.account(pair))
        except CalsyncError as error:
            return _error_page(error)
        logger.info("pair %s disconnected", pair.name)
        return RedirectResponse("/", 303)

    path = urlsplit(deployment.auth.redirect_uri).path or REDIRECT_PATH
    return [
        Route("/", home),
        Route("/connect/{pair}", connect),
        Route(path, callback),
        Route("/disconnect/{pair}", disconnect, methods=["POST"]),
    ]
