"""``OdooEmulator``: an Odoo server on loopback whose behaviour follows recordings of Odoo 18.0.

Typical use::

    with OdooEmulator() as odoo:
        client = odoorpc.ODOO("127.0.0.1", port=odoo.port)
        client.login(odoo.db, "admin", "admin")
        ...
        odoo.fail("AccessError", "nope", model="calendar.event", method="create")
        odoo.garble("row-without-id", model="calendar.event", method="search_read")
        odoo.down(); odoo.up()
        assert odoo.call_count(model="calendar.event", method="write") == 1

See the package docstring for the list of emulated protocols and models.
"""

from __future__ import annotations

import random
import secrets
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._garble import Edit, odoo_rewrite
from calsync.testing._odoo._app import OdooApp, describe
from calsync.testing._odoo._db import Database
from calsync.testing._odoo._errors import OdooError, make_error
from calsync.testing._odoo._models import MODELS, Env, Registry, Settings
from calsync.testing._odoo._rpc import JSON2, JSONRPC, WEB, OdooCall, json2_error, rpc_error
from calsync.testing._odoo._seed import seed
from calsync.testing._odoo._values import json_ready
from calsync.testing._server import Fault, LoopbackServer, Request, Response, Serving

if TYPE_CHECKING:
    from calsync.testing._odoo._mail import OdooMail

__all__ = ["Criteria", "OdooEmulator", "RequestMatch", "SeriesOrder"]

SeriesOrder = Callable[[list[tuple[datetime, datetime]]], Sequence[tuple[datetime, datetime]]]
RequestMatch = Callable[[Request], bool]
VERSIONS = ("17.0", "18.0", "19.0")
_UNLIMITED = sys.maxsize


#: What Odoo's threaded server answers a request that finds its connection pool full
#: (``psycopg2.pool.PoolError: The Connection Pool Is Full``, in its log only): recorded on
#: real 18.0 (2026-12-06), 90 ``execute_kw`` calls at once on ``/jsonrpc``, 11 of them so.
POOL_FULL = Response(
    500,
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
    b"unable to complete your request. Either the server is overloaded or there is an error "
    b"in the application.</p>\n",
    (("Content-Type", "text/html; charset=utf-8"), ("Connection", "close")),
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class OdooEmulator(Serving):
    """An emulated Odoo server (HTTP on 127.0.0.1) with one database.

    It answers ``/jsonrpc`` (odoorpc), ``/web/session/authenticate`` with
    ``/web/dataset/call_kw``, XML-RPC at ``/xmlrpc/2/common``, ``/object`` and
    ``/db`` (Python's :mod:`xmlrpc.client`), and on 19.0 JSON-2 and
    ``/doc-bearer/<model>.json``. Calls bind to the method signatures of the
    emulated version, as Odoo's ``call_kw`` binds them: ``calendar.event.write``
    takes ``values`` on 17.0 and 18.0 and ``vals`` on 19.0, ``create`` reads its
    values from the first positional argument; a call that does not fit gets
    Odoo's own error (``TypeError: Meeting.write() got an unexpected keyword
    argument 'vals'``, ``IndexError: tuple index out of range``, JSON-2's 422).

    :param version: ``"17.0"``, ``"18.0"`` (recorded) or ``"19.0"`` (adds JSON-2).
    :param db: the database name (``calsync_test`` as recorded).
    :param admin_password: the password of ``admin`` (uid 2, partner 3).
    :param admin_api_key: an API key for admin (JSON-2 bearer, or password on /jsonrpc).
    :param login_delay: seconds a password check costs (recorded: about 1.35 s).
    :param login_cooldown_after: failed logins before the cooldown (recorded setting: 10).
    :param login_cooldown_duration: seconds of the cooldown (recorded setting: 60).
    :param clock: naive-UTC "now" of the server (transaction times, write_date,
        ``rrule`` DTSTART); the real UTC clock by default.
    :param series_order: the order in which a new series' missing occurrences
        are created (which decides their ids): ``"scrambled"`` (default, fixed
        and non-chronological like a real server), ``"chronological"``, or a
        callable receiving the ranges sorted by start.
    :param seed: seed of the emulator's randomness (tag colours).
    :param db_maxconn: Odoo's ``db_maxconn`` on a threaded server (``workers =
        0``): a request that finds that many being handled gets the answer of
        a full connection pool, HTTP 500 with Werkzeug's page (:data:`POOL_FULL`).
        None (default): no limit. :attr:`peak_in_flight` tells the most requests
        handled at once.
    """

    def __init__(
        self,
        version: str = "18.0",
        *,
        db: str = "calsync_test",
        admin_password: str = "admin",  # noqa: S107 (the recorded test server's password)
        admin_api_key: str | None = None,
        login_delay: float = 0.0,
        login_cooldown_after: int = 10,
        login_cooldown_duration: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        series_order: str | SeriesOrder = "scrambled",
        seed: int = 0,
        db_maxconn: int | None = None,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"unsupported Odoo version {version!r}; choose one of {VERSIONS}")
        self.version = version
        self.db = db
        self._clock = clock or _utc_now
        settings = Settings(
            version=version,
            series_order=_series_hook(series_order),
            rng=random.Random(seed),  # noqa: S311 (tag colours)
        )
        self._database = Database(db)
        self._registry = Registry(self._database, settings, MODELS)
        self._install(admin_password, admin_api_key)
        self._app = OdooApp(
            self._registry,
            db_name=db,
            clock=self._clock,
            login_delay=login_delay,
            cooldown_after=login_cooldown_after,
            cooldown_duration=login_cooldown_duration,
        )
        self._server = LoopbackServer(self._app, capacity=db_maxconn, over_capacity=POOL_FULL)

    def _install(self, admin_password: str, admin_api_key: str | None) -> None:
        with self._database.transaction():
            env = Env(self._registry, 1, {}, self._clock(), su=True)
            seed(env, admin_password)
        if admin_api_key:
            self.add_api_key(2, admin_api_key)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> OdooEmulator:
        """Start listening (idempotent)."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections (idempotent)."""
        self._server.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self._server.url

    @property
    def port(self) -> int:
        """The TCP port (the same after :meth:`down`/:meth:`up` and :meth:`restart`)."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        """``web.base.url``: ``http://localhost:8069`` until an admin logs in through the web."""
        return self._registry.settings.base_url

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self,
        login: str,
        password: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tz: str | None = None,
        api_key: str | None = None,
        calendar_default_privacy: str = "public",
    ) -> int:
        """Create an internal user (like bob [39]) without mail; returns the uid."""
        values: dict[str, Any] = {"name": name or login, "login": login, "password": password}
        if email is not None:
            values["email"] = email
        if tz is not None:
            values["tz"] = tz
        values["calendar_default_privacy"] = calendar_default_privacy
        uid = int(
            self.execute(2, "res.users", "create", values, context={"no_reset_password": True})
        )
        if api_key is not None:
            self.add_api_key(uid, api_key)
        return uid

    def add_api_key(self, user: int | str, key: str | None = None) -> str:
        """Give a user an API key (generated when not given) and return it."""
        uid = self._uid(user)
        key = key or secrets.token_hex(20)
        with self._database.transaction():
            row = self._database.row("res.users", uid)
            assert row is not None
            keys = (*(row.get("_api_keys") or ()), key)
            self._database.update("res.users", uid, {"_api_keys": keys}, move=False)
        return key

    def _uid(self, user: int | str) -> int:
        if isinstance(user, int):
            return user
        found = self._app._users.login_uid(user)
        if found is None:
            raise KeyError(f"no active user with login {user!r}")
        return int(found)

    # -- direct access -----------------------------------------------------------------------

    def execute(self, user: int | str, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a model method as ``user`` (uid or login) like ``execute_kw`` would, without HTTP.

        Same code path as RPC (one transaction, access rules, mails), not logged as
        a call. The result is what the client would receive after JSON decoding;
        errors raise :class:`OdooError` (``.name``, ``.message``).
        """
        result = self._app.call(
            self._uid(user), model, method, list(args), dict(kwargs), protocol=JSONRPC
        )
        return json_ready(result)

    def set_next_id(self, model: str, next_id: int) -> None:
        """Move a model's id sequence (``setval``): the next record gets ``next_id``."""
        self._database.set_next_id(model, next_id)

    def set_physical_order(self, model: str, ids: list[int]) -> None:
        """Lay a model's rows out in this order, as a real table's ``ctid`` order says.

        Odoo sorts attendees by ``create_date`` and events by ``start`` alone:
        rows that tie come back in the order PostgreSQL's sort leaves them,
        which depends on where they lie in the table. The emulator keeps its
        own layout (a write moves a row to the end when it is flushed); a
        replay of a real server's recording corrects it with this.
        """
        with self._database.lock:
            self._database.set_physical_order(model, ids)

    # -- mail --------------------------------------------------------------------------------

    def mail_log(self) -> list[OdooMail]:
        """The mails Odoo would have sent, oldest first."""
        with self._app.lock:
            return list(self._app.mails)

    def clear_mail_log(self) -> None:
        """Forget the logged mails."""
        with self._app.lock:
            self._app.mails.clear()

    # -- counters ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[OdooCall]:
        """Every RPC call the server executed (faulted requests excluded), oldest first."""
        with self._app.lock:
            return list(self._app.calls)

    def call_count(
        self,
        model: str | None = None,
        method: str | None = None,
        *,
        protocol: str | None = None,
        uid: int | None = None,
    ) -> int:
        """How many executed calls match every given criterion."""
        return sum(
            1
            for call in self.calls
            if (model is None or call.model == model)
            and (method is None or call.method == method)
            and (protocol is None or call.protocol == protocol)
            and (uid is None or call.uid == uid)
        )

    @property
    def peak_in_flight(self) -> int:
        """The most requests the server handled at once (delays included)."""
        return self._server.peak

    @property
    def password_checks(self) -> int:
        """Password (or API key) hashes the server checked: logins, and first calls per secret."""
        return self._app.password_checks

    @property
    def requests(self) -> list[Request]:
        """Every HTTP request the socket received (faulted ones included)."""
        return list(self._server.iter_requests())

    def reset_counts(self) -> None:
        """Clear the call log and the HTTP request log."""
        with self._app.lock:
            self._app.calls.clear()
        with self._server._lock:
            self._server.requests.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every request received has been handled (delayed ones included).

        False if requests were still running after ``timeout`` seconds.
        """
        return self._server.wait_idle(timeout)

    # -- faults ------------------------------------------------------------------------------

    def down(self) -> None:
        """The server goes away: new connections are refused, open ones are cut."""
        self._server.stop()

    def up(self) -> None:
        """The server is back on the same port (sessions kept, like a network outage)."""
        self._server.start()

    def restart(self) -> None:
        """A server process restart: down, then up with no sessions and no cached credentials."""
        self._server.stop()
        self._app.forget_credentials()
        self._server.start()

    def slow(
        self,
        seconds: float,
        *,
        model: str | None = None,
        method: str | None = None,
        protocol: str | None = None,
        nth: int = 1,
        times: int | None = None,
        match: RequestMatch | None = None,
        after: bool = False,
    ) -> Fault:
        """Delay matching requests by ``seconds`` (all of them unless ``times`` is given).

        ``after``: the call runs first and its answer is late (else the call itself is late).
        """
        criteria = Criteria(model, method, protocol, match)
        return self._fault(criteria, nth, times, delay=seconds, after=after)

    def fail(
        self,
        exception: str,
        message: str | None = None,
        *,
        model: str | None = None,
        method: str | None = None,
        protocol: str | None = None,
        nth: int = 1,
        times: int | None = 1,
        match: RequestMatch | None = None,
    ) -> Fault:
        """Answer matching requests with an Odoo error instead of running them.

        ``exception`` is a short (``"AccessError"``) or full (``"odoo.exceptions.AccessError"``)
        class name; JSON-RPC and call_kw get the usual envelope, JSON-2 the
        class's HTTP status (403, 404, 422, 500).
        """
        error = make_error(exception, message or "Injected fault")
        criteria = Criteria(model, method, protocol, match)
        return self._fault(criteria, nth, times, respond=_error_responder(error))

    def drop(
        self,
        *,
        model: str | None = None,
        method: str | None = None,
        protocol: str | None = None,
        nth: int = 1,
        times: int | None = 1,
        match: RequestMatch | None = None,
        after: bool = False,
    ) -> Fault:
        """Close the connection of matching requests without answering.

        ``after``: the call runs first (its writes are made) and the answer is
        lost, as when a timeout or a dying client hides a success.
        """
        criteria = Criteria(model, method, protocol, match)
        return self._fault(criteria, nth, times, drop=True, after=after)

    def respond(
        self,
        response: Response,
        *,
        model: str | None = None,
        method: str | None = None,
        protocol: str | None = None,
        nth: int = 1,
        times: int | None = 1,
        match: RequestMatch | None = None,
    ) -> Fault:
        """Answer matching requests with a fixed HTTP response (e.g. a 502 from a proxy)."""
        return self._fault(Criteria(model, method, protocol, match), nth, times, response=response)

    def garble(
        self,
        kind: str | Edit,
        *,
        model: str | None = None,
        method: str | None = None,
        protocol: str | None = None,
        nth: int = 1,
        times: int | None = 1,
        match: RequestMatch | None = None,
        row: int = 0,
    ) -> Fault:
        """Run matching calls, then answer them with a garbled version of the answer.

        ``kind`` is one of ``"truncated"``, ``"html"``, ``"null"``, ``"empty"``
        (the bytes of the answer), ``"no-result"`` (a JSON-RPC envelope without
        ``result``; JSON-2: an empty body), ``"result-string"``,
        ``"result-not-list"``, ``"row-without-id"`` and ``"wrong-types"``
        (``start: 123`` and no ``stop``) for the ``row``-th row, or a callable
        that takes the call's result and returns the garbled one (see
        :mod:`calsync.testing._garble`). The call itself runs: a write is made
        and only its answer is wrong.
        """
        criteria = Criteria(model, method, protocol, match)
        rewrite = odoo_rewrite(kind, json2=_is_json2, row=row)
        return self._fault(criteria, nth, times, rewrite=rewrite)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._server.faults.clear()

    def _fault(self, criteria: Criteria, nth: int, times: int | None, **action: Any) -> Fault:
        """Queue a fault for the ``nth`` matching request from now on, ``times`` times."""
        if nth < 1:
            raise ValueError("nth counts matching requests from 1")
        count = times if times is not None else _UNLIMITED
        return self._server.faults.add(criteria.matches, times=count, skip=nth - 1, **action)


@attrs.frozen
class Criteria:
    """Which requests a fault applies to: every given criterion must hold.

    ``model``/``method``/``protocol`` are read from the request as :class:`OdooCall`
    would log them (``protocol`` is ``"jsonrpc"``, ``"web"`` or ``"json2"``);
    ``match`` is any predicate on the raw :class:`~calsync.testing._server.Request`.
    """

    model: str | None = None
    method: str | None = None
    protocol: str | None = None
    match: RequestMatch | None = None

    def matches(self, request: Request) -> bool:
        """Whether ``request`` meets every criterion."""
        call = describe(request)
        return (
            (self.model is None or call.model == self.model)
            and (self.method is None or call.method == self.method)
            and (self.protocol is None or call.protocol == self.protocol)
            and (self.match is None or self.match(request))
        )


def _is_json2(request: Request) -> bool:
    return describe(request).protocol == JSON2


def _error_responder(error: OdooError) -> Callable[[Request], Response]:
    def respond(request: Request) -> Response:
        call = describe(request)
        if call.protocol == JSON2:
            status, payload = json2_error(error)
            return Response.json(status, payload)
        body = request.json() if request.body else None
        request_id = body.get("id") if isinstance(body, dict) else None
        return Response.json(200, rpc_error(request_id, error))

    return respond


def _series_hook(
    order: str | SeriesOrder,
) -> Callable[[list[tuple[datetime, datetime]]], list[tuple[datetime, datetime]]] | None:
    if callable(order):
        custom = order

        def hook(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
            return list(custom(ranges))

        return hook
    if order == "chronological":
        return sorted
    if order == "scrambled":
        return None
    raise ValueError(
        f"series_order must be 'scrambled', 'chronological' or a callable, not {order!r}"
    )


__all__ += ["JSON2", "JSONRPC", "WEB"]
