"""What happens to every request, top-level or inside a ``$batch``, before its handler runs.

In order:

1. it gets the next index (0, 1, 2, ... since start or ``reset_counts()``,
   top-level and inner requests alike, inner ones numbered in batch order
   right after their ``$batch``) and is logged as a :class:`GraphRequest`,
   with the mailbox it addresses (``/users/{x}``, else the token's);
2. it enters the in-flight count of that mailbox (a ``$batch`` envelope
   does not: its inner requests do, up to 4 at a time); over the concurrency
   limit it is answered 429 at once (``Retry-After``; requests refused this
   way still count as requests, as in Outlook);
3. the first queued fault matching it applies (delay, error answer, dropped
   connection; an ``after`` fault applies once the handler has run, and a
   ``rewrite`` fault garbles the handler's own answer);
4. the route is found, the bearer token checked (401
   ``InvalidAuthenticationToken``; a token past its ``token_expiry`` too,
   with Graph's "Lifetime validation failed" message), the handler runs; any :class:`GraphError`
   becomes Graph's error answer, and an unexpected exception a 500 that is
   also kept in ``errors`` so tests can fail on it.

Application (app-only) tokens, from the identity platform's client-credentials
grant, name an app rather than a mailbox (:class:`AppToken`): they reach
mailboxes only through ``/users/{id}`` (``/me`` answers 400, as Graph does),
only with an application permission on calendars that an administrator
consented to (else 403 ``ErrorAccessDenied``), and only mailboxes that the
tenant's Exchange application access policy lets the app reach (else 403
``ErrorAccessDenied`` "Blocked by tenant configured AppOnly AccessPolicy
settings").
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

import attrs

from calsync.testing._graph._errors import GraphError, error_body
from calsync.testing._graph._query import parse_prefer
from calsync.testing._graph._router import Call, Router, normalize_path
from calsync.testing._server import DropConnection, Fault, Faults, Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from calsync.testing._graph._delta import DeltaEngine
    from calsync.testing._graph._state import MailboxState, Store

__all__ = ["ME_NEEDS_USER", "AppToken", "GraphRequest", "Pipeline", "Settings", "error_response"]


@attrs.frozen
class GraphRequest(Request):
    """A logged request: the HTTP request plus the emulator's bookkeeping.

    ``path`` is normalised (``//`` collapsed), inner batch requests carry
    their path under ``/v1.0`` like top-level ones. ``index`` orders all
    requests; ``mailbox`` is the lower-cased address of the mailbox it
    addressed (None when unknown); ``inner`` marks requests of a ``$batch``,
    with the batch's own index in ``batch_index`` and their id in ``batch_id``.
    """

    index: int = attrs.field(default=-1, kw_only=True)
    mailbox: str | None = attrs.field(default=None, kw_only=True)
    inner: bool = attrs.field(default=False, kw_only=True)
    batch_index: int | None = attrs.field(default=None, kw_only=True)
    batch_id: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class Settings:
    """Emulator-wide behaviour switches (see ``GraphEmulator``)."""

    stray_keys: bool = True
    default_page_size: int = 10
    concurrency_limit: int | None = None
    concurrency_retry_after: int = 1
    latency: float = 0.0
    shuffle_batch: bool = False
    seed: int = 0


@attrs.frozen
class AppToken:
    """An application token: the app it was issued to and the roles consented at that time."""

    client_id: str
    roles: frozenset[str]


#: Graph's answer to ``/me`` with an application token.
ME_NEEDS_USER = "/me request is only valid with delegated authentication flow."
#: Application permissions that open calendars (read or write) to an app token.
CALENDAR_ROLES = frozenset({"Calendars.Read", "Calendars.ReadWrite"})


def error_response(error: GraphError, request: Request | None = None) -> Response:
    """Graph's error answer for ``error``."""
    client_id = request.headers.get("client-request-id") if request is not None else None
    return Response.json(
        error.status, error_body(error.code, error.message, client_id), error.headers
    )


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class Pipeline:
    """Logging, concurrency accounting, faults and dispatch for every request."""

    def __init__(
        self,
        store: Store,
        router: Router,
        settings: Settings,
        base_url: Callable[[], str],
    ) -> None:
        self.store = store
        self.router = router
        self.settings = settings
        self._base_url = base_url
        self.delta: DeltaEngine | None = None
        self.faults = Faults()
        self.log: list[GraphRequest] = []
        self.statuses: dict[int, int] = {}
        self.errors: list[BaseException] = []
        self.tokens: dict[str, str] = {}
        #: Expiry (Unix time) of bearer tokens that have one (the identity platform's).
        self.token_expiry: dict[str, float] = {}
        #: Application tokens (client credentials) and the app each belongs to.
        self.app_tokens: dict[str, AppToken] = {}
        #: Whether Exchange's application access policy lets an app reach a mailbox id.
        self.app_may_reach: Callable[[str, str], bool] = lambda client_id, mailbox_id: True
        self._lock = threading.Lock()
        self._next = 0
        self._in_flight: dict[str | None, int] = {}
        self._peak: dict[str | None, int] = {}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        return self._base_url()

    # -- bookkeeping -------------------------------------------------------------

    def caller(self, headers: Mapping[str, str]) -> MailboxState | None:
        """The mailbox whose bearer token the request carries (None when expired)."""
        token = _bearer(headers)
        mailbox_id = self.tokens.get(token) if token else None
        if mailbox_id and self.expired(token):
            return None
        return self.store.mailboxes.get(mailbox_id) if mailbox_id else None

    def app(self, headers: Mapping[str, str]) -> AppToken | None:
        """The application token the request carries (None when none or expired)."""
        token = _bearer(headers)
        found = self.app_tokens.get(token) if token else None
        return None if found is None or self.expired(token) else found

    def principal(self, headers: Mapping[str, str]) -> str | None:
        """Who calls: the mailbox id of a delegated token, ``app:<client id>`` of an app's."""
        caller = self.caller(headers)
        if caller is not None:
            return caller.id
        app = self.app(headers)
        return f"app:{app.client_id}" if app is not None else None

    def expired(self, token: str | None) -> bool:
        """Whether a known token has passed its expiry."""
        expiry = self.token_expiry.get(token) if token else None
        return expiry is not None and expiry <= time.time()

    def _addressed(self, path: str, headers: Mapping[str, str]) -> str | None:
        parts = [part for part in path.split("/") if part]
        if len(parts) >= 3 and parts[0] == "v1.0" and parts[1].lower() == "users":
            found = self.store.mailbox(unquote(parts[2]))
            return found.email.lower() if found else None
        caller = self.caller(headers)
        return caller.email.lower() if caller else None

    def new_request(self, raw: Request, **batch: object) -> GraphRequest:
        """Number, attribute and log a request (``batch``: inner, batch_index, batch_id)."""
        path = normalize_path(raw.path)
        with self._lock:
            request = GraphRequest(
                method=raw.method.upper(),
                path=path,
                query=raw.query,
                headers=raw.headers,
                body=raw.body,
                target=raw.target,
                index=self._next,
                mailbox=self._addressed(path, raw.headers),
                **batch,  # type: ignore[arg-type]
            )
            self._next += 1
            self.log.append(request)
        return request

    def enter(self, request: GraphRequest) -> Response | None:
        """Count the request in flight; a 429 answer when over the concurrency limit."""
        key, limit = request.mailbox, self.settings.concurrency_limit
        with self._lock:
            for counted in (key, None) if key is not None else (None,):
                self._in_flight[counted] = self._in_flight.get(counted, 0) + 1
                self._peak[counted] = max(self._peak.get(counted, 0), self._in_flight[counted])
            over = key is not None and limit is not None and self._in_flight[key] > limit
        if not over:
            return None
        self.leave(request)
        after = str(self.settings.concurrency_retry_after)
        error = GraphError(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            (("Retry-After", after),),
        )
        return self.finish(request, error_response(error, request))

    def leave(self, request: GraphRequest) -> None:
        """The request is no longer in flight."""
        with self._lock:
            for counted in (request.mailbox, None) if request.mailbox is not None else (None,):
                self._in_flight[counted] -= 1

    def peak(self, mailbox: str | None) -> int:
        """The most requests seen in flight at once for ``mailbox`` (all when None)."""
        with self._lock:
            return self._peak.get(mailbox.lower() if mailbox else None, 0)

    def finish(self, request: GraphRequest, response: Response) -> Response:
        """Record the status answered to ``request``."""
        with self._lock:
            self.statuses[request.index] = response.status
        return response

    def reset(self) -> None:
        """Forget the request log, statuses and peaks; numbering restarts at 0."""
        with self._lock:
            self.log.clear()
            self.statuses.clear()
            self._next = 0
            self._peak = {key: value for key, value in self._in_flight.items() if value}

    # -- running -----------------------------------------------------------------

    def serve(self, raw: Request) -> Response:
        """The HTTP server's app: one top-level request.

        A ``$batch`` envelope is logged but not counted in flight: Outlook
        counts the requests inside it, each on its own.
        """
        request = self.new_request(raw)
        if unquote(request.path).lower() == "/v1.0/$batch":
            return self.execute(request)
        refused = self.enter(request)
        if refused is not None:
            return refused
        try:
            return self.execute(request)
        finally:
            self.leave(request)

    def execute(self, request: GraphRequest) -> Response:
        """Faults, latency and dispatch for a request already counted in flight."""
        fault = self.faults.take(request)
        if fault is not None and not fault.after:
            answer = self._apply(request, fault)
            if answer is not None:
                return self.finish(request, answer)
        if self.settings.latency and not request.inner:  # a batch's wave waits once: _batch
            time.sleep(self.settings.latency)
        try:
            response = self.dispatch(request)
        except DropConnection:
            self.finish(request, Response(0))
            raise
        if fault is not None and fault.rewrite is not None:
            response = fault.rewrite(request, response)
        if fault is not None and fault.after:
            answer = self._apply(request, fault)
            if answer is not None:
                return self.finish(request, answer)
        return self.finish(request, response)

    def _apply(self, request: GraphRequest, fault: Fault) -> Response | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            self.finish(request, Response(0))
            raise DropConnection
        return fault.response

    def dispatch(self, request: GraphRequest) -> Response:
        """Route, authenticate and handle; errors become Graph's error answers."""
        try:
            return self._handle(request)
        except GraphError as error:
            return error_response(error, request)
        except DropConnection:
            raise
        except Exception as exc:
            self.errors.append(exc)
            return error_response(GraphError(500, "InternalServerError", repr(exc)), request)

    def _handle(self, request: GraphRequest) -> Response:
        route, params = self.router.match(request.method, request.path)
        caller = self.caller(request.headers)
        app = self.app(request.headers) if caller is None else None
        if route.auth and caller is None and app is None:
            raise _unauthorized(request.headers, expired=self.expired(_bearer(request.headers)))
        mailbox = None
        if route.mailbox:
            if app is not None and "user" not in params:
                raise GraphError(400, "BadRequest", ME_NEEDS_USER)
            mailbox = caller
            if "user" in params:
                mailbox = self.store.mailbox(params["user"])
                if mailbox is None:
                    raise GraphError(
                        404,
                        "ErrorInvalidUser",
                        f"The requested user '{params['user']}' is invalid.",
                    )
            if app is not None and mailbox is not None:
                self._check_app(app, mailbox)
        call = Call(self, request, params, mailbox, parse_prefer(request.headers.get("prefer")))
        if not route.exclusive:
            return route.handler(call)
        with self.store.lock:
            return route.handler(call)

    def _check_app(self, app: AppToken, mailbox: MailboxState) -> None:
        """An app token reaches a mailbox with a consented role, within the access policy."""
        if not app.roles & CALENDAR_ROLES:
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        if not self.app_may_reach(app.client_id, mailbox.id):
            raise GraphError(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
                "AccessPolicy settings.",
            )


def _unauthorized(headers: Mapping[str, str], *, expired: bool = False) -> GraphError:
    if _bearer(headers) is None:
        message = "Access token is empty."
    elif expired:
        message = "Lifetime validation failed, the token is expired."
    else:
        message = "Access token validation failure. Invalid audience."
    challenge = (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
        'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
    )
    return GraphError(
        401, "InvalidAuthenticationToken", message, (("WWW-Authenticate", challenge),)
    )
