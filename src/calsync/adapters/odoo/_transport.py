"""The seam between the Odoo adapter and the wire: one ``call`` for two protocols.

:class:`OdooTransport` is all the adapter needs::

    uid = await transport.connect()
    rows = await transport.call("calendar.event", "read", [1, 2], ["name"])
    await transport.call("calendar.event", "write", [1], {"name": "x"}, context=ctx)

``call(model, method, *positional, **options)`` follows Odoo's own clients:
``positional`` are the method's positional parameters in order (the record
ids first for a method on records), ``options`` are ``context`` and the few
parameters Odoo's clients pass by name (``fields``/``offset``/``limit``/``order``
of ``search_read``). A call that fits no known signature is a
:class:`~calsync.ConfigurationError` before anything is sent
(:mod:`._signatures` says why keywords are dangerous: parameter names differ
between models and versions). ``/jsonrpc`` sends ``args=positional`` and
``kwargs=options``; JSON-2 sends ``{"ids": ..., <parameter name>: <value>, ...}``
with the names of the server's version.

* :class:`JsonRpcTransport`: ``execute_kw`` on ``/jsonrpc`` (Odoo 10 to 21;
  removed in Odoo 22), with a password or an API key. It logs in once
  (``common.login``) to learn the uid and keeps it for as long as it lives:
  every later call carries the secret, which Odoo checks against a cache
  (``res.users.check`` is an ``ormcache`` on uid and secret), whereas each
  ``common.login`` hashes the password again (pbkdf2-sha512, 600,000 rounds:
  0.3 CPU-second of the server) and fills no cache, so the first call after it
  pays a second hash. A uid learned on an earlier run (:meth:`assume_uid`; the
  Odoo cursor keeps it) saves the login. An ``odoo.http.SessionExpiredException`` (a
  proxy or a web-session front) means one new login and one retry.
* :class:`Json2Transport`: JSON-2 (Odoo 19+), ``Authorization: bearer <api key>``,
  ``X-Odoo-Database``, named arguments. Odoo checks the key on every call
  (pbkdf2 at 6,000 rounds, about 3 ms of server CPU): there is no session to
  keep, only connections.

Measured on real 18.0 and 19.0 servers (their logs' per-request times): a
``common.login`` costs 1.3-1.7 s of server time on a loaded machine, every
time; the first ``execute_kw`` of a (uid, secret) the same, then 10-30 ms
(an API key used as password pays the failed password hash before the key's);
after Odoo clears its caches (any ``ir.config_parameter`` or access-rights
change, a new worker process) the first call pays the hash again. JSON-2 calls
cost 12-15 ms each, the first included.

Both transports run on a pooled :class:`httpx.AsyncClient` made in the running
event loop (one per loop: a client belongs to the loop that made it): calls
are as concurrent as calsync asks (no thread pool caps them) and reuse their
connections (keep-alive; each odoorpc call opened a new one, and a new TLS
handshake on https). One transport may serve many adapters (a service login
that reads many users' calendars): it logs in once for all of them.

Both hold a slot of a :class:`~calsync.ConcurrencyLimiter` for every request,
keyed by the server (``("odoo", scheme://host:port)``): unless given one,
:data:`SERVER_LIMITER`, which every transport of the process shares, and which
keeps at most 8 requests in flight to one server. Odoo's threaded server
(``workers = 0``) gives each request a connection of its pool (``db_maxconn``,
64 by default, for its web users and crons too) and answers HTTP 500 beyond it
("The Connection Pool Is Full", in its log only): on real 18.0, 50 pairs at
once got that answer, and no pair synced. The ceiling costs no time: the
server is busy anyway. 50 users on real 18.0 (2 cores), 16 pairs at once:
a pull round took 6.4 s with 8 in flight against 7.1 s with up to 48, and
4.3 s against 5.4 s with a shared listing. A read that still meets a full
pool (or a proxy without its upstream, or a dropped connection) is tried
again (:data:`READ_RETRY`); a write is not.

Both count what they send: ``requests`` (every HTTP round trip, login
included) and ``calls`` (a :class:`~collections.Counter` by ``model.method``).
Both tell the server's time (:class:`ServerClock`): the ``Date`` header of its
latest answer, carried forward on calsync's monotonic clock. Neither logs,
reprs nor raises with the password or the key in it.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import SplitResult

import httpx

from calsync import _arguments as checks
from calsync._errors import (
    AuthenticationError,
    ConfigurationError,
    MalformedAnswerError,
    ProviderError,
    TransientError,
)
from calsync._limits import ConcurrencyLimiter
from calsync._retry import RetryPolicy
from calsync.adapters.odoo._answers import is_id
from calsync.adapters.odoo._errors import SESSION_EXPIRED, from_odoo, transient
from calsync.adapters.odoo._signatures import jsonrpc_arguments, named

__all__ = [
    "SERVER_LIMITER",
    "AutoTransport",
    "Json2Transport",
    "JsonRpcTransport",
    "OdooTransport",
    "ServerClock",
    "TransportChoice",
    "check_credentials",
    "check_url",
    "major_version",
    "probe_version",
    "transport_for",
]

logger = logging.getLogger("calsync.odoo")

ACCESS_DENIED = "odoo.exceptions.AccessDenied"

#: The limiter of the Odoo transports given none: 8 requests in flight per server, for
#: every transport of the process together (see the module docstring for why).
SERVER_LIMITER = ConcurrencyLimiter(per_key=8)


def server_key(url: str) -> tuple[str, str]:
    """The limiter's key of the Odoo server at ``url``: ``("odoo", scheme://host[:port])``.

    Per server, not per database: the databases of one Odoo process share its pool.
    """
    parts = _http_url(url)
    return ("odoo", f"{parts.scheme}://{parts.netloc}".lower())


@runtime_checkable
class OdooTransport(Protocol):
    """How the adapter reaches Odoo: connect once, then call model methods."""

    @property
    def requests(self) -> int:
        """HTTP round trips made so far (login included)."""

    @property
    def calls(self) -> Counter[str]:
        """Round trips by ``model.method`` (``common.login``, ``version_info`` ...)."""

    async def connect(self) -> int:
        """Authenticate (once: later calls return the same uid); the uid of the login."""

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """Run ``model.method`` with its positional parameters (ids first) and options."""

    async def aclose(self) -> None:
        """Release connections (the login is kept: a later call reconnects without one)."""


@runtime_checkable
class ServerClock(Protocol):
    """A transport that can tell the server's time (both of calsync's can)."""

    def server_time(self, moment: float) -> datetime | None:
        """A time the server's clock had certainly reached at ``moment`` (``time.monotonic()``).

        None before the server has answered with a ``Date``.
        """


class _DateHeader:
    """The ``Date`` of the server's latest answer and when it arrived (``time.monotonic()``).

    A server stamps each answer with the time it made it, to the second (RFC 9110
    §6.6.1; Odoo's werkzeug server does, and so do the proxies in front of it).
    That answer was made before it arrived, so the stamp plus the time since it
    arrived is a time the server's clock had reached (clocks run at one rate).
    """

    def __init__(self) -> None:
        self._stamp: datetime | None = None
        self._arrived = 0.0

    def note(self, response: httpx.Response) -> None:
        """Keep the answer's ``Date`` (an answer without a readable one changes nothing)."""
        header = response.headers.get("date")
        if not header:
            return
        try:
            stamp = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        self._stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
        self._arrived = time.monotonic()

    def at(self, moment: float) -> datetime | None:
        """The server's time at ``moment``, at least (None before any ``Date``)."""
        if self._stamp is None:
            return None
        return self._stamp + timedelta(seconds=moment - self._arrived)


class _Counting:
    """Request counters shared by both transports."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()

    @property
    def calls(self) -> Counter[str]:
        """Round trips by ``model.method``."""
        return self._calls

    @property
    def requests(self) -> int:
        """HTTP round trips made so far."""
        return sum(self._calls.values())

    def _count(self, name: str) -> None:
        self._calls[name] += 1


class _Pool:
    """A pooled :class:`httpx.AsyncClient` per event loop, and the failures of sending.

    A client belongs to the loop that made it; one made for another loop is let go
    (its loop may be closed already: it cannot be awaited from here).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        side: str | None,
        headers: dict[str, str],
        limiter: ConcurrencyLimiter | None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.side = side
        self.limiter = limiter_of(limiter)
        self._key = server_key(url)
        self._headers = {"User-Agent": "calsync", **headers}
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.date = _DateHeader()

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self.url, timeout=self.timeout, headers=self._headers
            )
            self._loop = loop
        return self._client

    async def post(self, path: str, body: Any, what: str) -> httpx.Response:
        """POST ``body`` as JSON, in a slot of the server's limiter; a timeout or a
        connection failure is transient.

        A read (``what``: ``model.method`` of one of :data:`READS`, or the login)
        that finds the server overloaded or unreachable is tried again (see
        :data:`READ_RETRY`): a 5xx page instead of Odoo's JSON (a full connection
        pool, a proxy without its upstream) or a dropped connection, not a
        timeout. Writes are not: the sync journals them and its next run
        completes them.
        """
        attempt = READ_RETRY.begin() if _reads(what) else None
        while True:
            outcome, again = await self._attempt(path, body, what)
            delay = attempt.next_delay() if attempt is not None and again else None
            if delay is None:
                break
            logger.info(
                "Odoo %s failed (%s): again in %.1f s",
                what,
                outcome if isinstance(outcome, TransientError) else f"HTTP {outcome.status_code}",
                delay,
                extra={"calsync_side": self.side},
            )
            await READ_RETRY.sleep(delay)
        if isinstance(outcome, TransientError):
            raise outcome
        return outcome

    async def _attempt(
        self, path: str, body: Any, what: str
    ) -> tuple[httpx.Response | TransientError, bool]:
        """The answer, or the failure as a transient error; and whether another try may
        help (see :meth:`post`)."""
        try:
            async with self.limiter.slot(self._key):
                response = await self._http().post(path, json=body)
        except httpx.TimeoutException as error:  # another would wait as long
            message = f"Odoo did not answer {what} within {self.timeout} s"
            return transient(f"{message}: {type(error).__name__}", side=self.side), False
        except httpx.TransportError as error:
            message = f"could not reach Odoo at {self.url}: {type(error).__name__}: {error}"
            return transient(message, side=self.side), True
        self.date.note(response)
        return response, _overloaded(response)

    def http_error(self, status: int) -> ProviderError:
        """A non-200 answer without Odoo's envelope: transient for 5xx, 408 and 429."""
        if status >= 500 or status in (408, 429):
            return transient(f"Odoo answered HTTP {status}", status=status, side=self.side)
        return ProviderError(f"Odoo answered HTTP {status}", status=status, side=self.side)

    async def aclose(self) -> None:
        """Close the pooled connections of the current loop's client."""
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            try:
                await client.aclose()
            except RuntimeError:  # its event loop is gone already
                logger.debug("the Odoo client's event loop was already closed")


#: The methods calsync calls that only read: tried again on an overloaded server.
READS = frozenset(
    {"read", "search", "search_read", "search_count", "read_group", "formatted_read_group",
     "fields_get", "context_get"}
)  # fmt: skip
#: Three tries of a read within 30 s, waiting up to 0.5 s, then 1 s (jittered).
READ_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0, budget=30.0)


def _reads(what: str) -> bool:
    return what == "login" or what.rsplit(".", 1)[-1] in READS


def _overloaded(response: httpx.Response) -> bool:
    """A 5xx answer that is not Odoo's own JSON: the request did not reach Odoo's code."""
    kind = response.headers.get("content-type", "")
    return response.status_code in (500, 502, 503, 504) and "json" not in kind


class _LoopLock:
    """An :class:`asyncio.Lock` per event loop (a lock is bound to the loop it first waits in)."""

    def __init__(self) -> None:
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {k: v for k, v in self._locks.items() if not k.is_closed()}
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class _Pooled(_Counting):
    """What both transports share: their requests counted, their pool, the server's clock."""

    _pool: _Pool

    @property
    def limiter(self) -> ConcurrencyLimiter:
        """The limiter every request of this transport takes a slot of."""
        return self._pool.limiter

    def server_time(self, moment: float) -> datetime | None:
        """A time Odoo's clock had reached at ``moment`` (``time.monotonic()``): the
        ``Date`` of its latest answer, carried forward (None before any)."""
        return self._pool.date.at(moment)


# -- /jsonrpc ----------------------------------------------------------------------------------


class _SessionExpiredError(Exception):
    """Internal: the server wants a new login."""


class JsonRpcTransport(_Pooled):
    """``execute_kw`` on ``/jsonrpc``: one login, then the uid and the secret on every call.

    ``secret`` is the password or an API key (Odoo accepts either on
    ``/jsonrpc``). ``timeout`` bounds each call in seconds (bulk writes need
    minutes). ``version`` is the server version when already known (it saves
    a ``/web/webclient/version_info`` request). ``limiter`` bounds the
    requests in flight to the server (default :data:`SERVER_LIMITER`). The uid is kept across
    :meth:`aclose` and event loops: a transport kept by a long-lived process
    logs in once.
    """

    #: The path calls go to. A subclass may add a query string, which Odoo ignores
    #: and its access log shows: a way to tell calsync's requests from others' there.
    ENDPOINT = "/jsonrpc"

    def __init__(
        self,
        url: str,
        db: str,
        login: str,
        secret: str,
        *,
        timeout: float = 600.0,
        version: str | None = None,
        side: str | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        super().__init__()
        _http_url(url)  # refuses anything but an http(s) URL
        _credentials(db, login, secret, timeout)
        self._url = url.rstrip("/")
        self._db = db
        self._login = login
        self.__secret = secret
        self._version = version
        self._side = side
        self._pool = _Pool(self._url, timeout=timeout, side=side, headers={}, limiter=limiter)
        self._ids = itertools.count(1)
        self._uid: int | None = None
        self._assumed: int | None = None
        self._login_lock = _LoopLock()

    def __repr__(self) -> str:
        return f"JsonRpcTransport(url={self._url!r}, db={self._db!r}, login={self._login!r})"

    def assume_uid(self, uid: int) -> None:
        """Send ``uid`` (the login's, learned on an earlier run) without ``common.login``.

        Odoo checks a uid and secret on the first ``execute_kw`` that carries them, and
        ``common.login`` does not fill the cache that check reads: a login costs the
        server a second password hash (about 0.4 s on real 17.0 and 18.0). If Odoo
        refuses the uid, that call fails with an :class:`AuthenticationError` and the
        next one logs in. Ignored once a uid is known.
        """
        if self._uid is None and is_id(uid):
            self._assumed = uid

    @property
    def uid(self) -> int | None:
        """The login's uid once known (None before the first login)."""
        return self._uid

    @property
    def version(self) -> str | None:
        """The server version, once known (given, or asked before the first login)."""
        return self._version

    async def connect(self) -> int:
        """The login's uid: ``common.login`` the first time (unless a uid was assumed:
        :meth:`assume_uid`), the kept uid after.

        An expired session answered to the login itself (a front that keeps web
        sessions) means one more login; a second one is an :class:`AuthenticationError`.
        """
        if self._uid is not None:
            return self._uid
        async with self._login_lock.get():
            if self._assumed is not None:  # an earlier run's: the first call checks it
                await self._probe_version()
                self._uid, self._assumed = self._assumed, None
            if self._uid is None:
                try:
                    self._uid = await self._log_in()
                except _SessionExpiredError:
                    logger.info("Odoo answered the login with an expired session; again")
                    try:
                        self._uid = await self._log_in()
                    except _SessionExpiredError:
                        raise self._expired() from None
            return self._uid

    async def _probe_version(self) -> None:
        if self._version is None:
            self._count("version_info")
            self._version = await probe_version(
                self._url,
                timeout=min(self._pool.timeout, 60),
                side=self._side,
                limiter=self._pool.limiter,
            )

    async def _log_in(self) -> int:
        await self._probe_version()
        self._count("common.login")
        uid = await self._rpc("common", "login", [self._db, self._login, self.__secret], "login")
        if uid is False:
            raise AuthenticationError(
                f"Odoo refused the credentials of {self._login!r} on {self._db!r}",
                code=ACCESS_DENIED,
                side=self._side,
            )
        if not is_id(uid):
            raise MalformedAnswerError(
                "Odoo answered the login with something that is not a user id", side=self._side
            )
        logger.info("logged in to Odoo as %s", self._login, extra={"calsync_side": self._side})
        return int(uid)

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """``execute_kw(model, method, args, options)``; one new login on an expired session.

        Odoo refusing the kept uid and secret (a changed password, a revoked key)
        is an :class:`AuthenticationError`, and the next call logs in again.
        """
        uid = await self.connect()
        positional, kwargs = jsonrpc_arguments(
            model, method, args, options, major_version(self._version or "")
        )
        try:
            return await self._execute(uid, model, method, positional, kwargs)
        except _SessionExpiredError:
            logger.info("Odoo session expired; logging in again as %s", self._login)
            self.forget_uid(uid)
            uid = await self.connect()
            try:
                return await self._execute(uid, model, method, positional, kwargs)
            except _SessionExpiredError:
                raise self._expired() from None

    async def _execute(
        self, uid: int, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        self._count(f"{model}.{method}")
        logger.debug("Odoo execute_kw %s.%s", model, method, extra={"calsync_side": self._side})
        params = [self._db, uid, self.__secret, model, method, args, kwargs]
        try:
            return await self._rpc("object", "execute_kw", params, f"{model}.{method}")
        except AuthenticationError as error:
            if error.code == ACCESS_DENIED:
                self.forget_uid(uid)
            raise

    def forget_uid(self, uid: int) -> None:
        """Drop ``uid`` if it is the one kept: the next call logs in."""
        if self._uid == uid:
            self._uid = None

    def _expired(self) -> AuthenticationError:
        return AuthenticationError(
            "Odoo keeps refusing the session after a fresh login",
            code=SESSION_EXPIRED,
            side=self._side,
        )

    async def _rpc(self, service: str, method: str, args: list[Any], what: str) -> Any:
        """One JSON-RPC call of ``service.method``; its ``result``, or the error it stands for."""
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
            "id": next(self._ids),
        }
        response = await self._pool.post(self.ENDPOINT, body, what)
        if response.status_code != 200:
            raise self._pool.http_error(response.status_code)
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or envelope.get("jsonrpc") != "2.0":
            raise MalformedAnswerError(
                f"Odoo answered {what} with something that is not a JSON-RPC envelope",
                side=self._side,
            )
        if "error" not in envelope:
            # Odoo leaves ``result`` out when the method returned None (odoo/http.py)
            return envelope.get("result")
        error = envelope["error"]
        data = error.get("data") if isinstance(error, dict) else None
        if not isinstance(data, dict):
            raise MalformedAnswerError(
                f"Odoo answered {what} with an error envelope without its data", side=self._side
            )
        if data.get("name") == SESSION_EXPIRED or error.get("code") == 100:
            raise _SessionExpiredError
        name, message = data.get("name"), data.get("message")
        raise from_odoo(str(name or ""), str(message or ""), side=self._side)

    async def aclose(self) -> None:
        """Close the pooled connections; the uid is kept (no new login afterwards)."""
        await self._pool.aclose()


# -- JSON-2 over httpx -------------------------------------------------------------------------


class Json2Transport(_Pooled):
    """JSON-2 (``POST /json/2/<model>/<method>``) on a pooled :class:`httpx.AsyncClient`.

    ``timeout`` bounds each call. ``version`` (19.0 and later) chooses the
    parameter names the positionals go under. ``limiter`` bounds the requests
    in flight to the server (default :data:`SERVER_LIMITER`). The key's user
    is asked once (``res.users.context_get``) and kept.
    """

    def __init__(
        self,
        url: str,
        db: str,
        api_key: str,
        *,
        timeout: float = 600.0,
        version: str = "19.0",
        side: str | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        super().__init__()
        _http_url(url)  # refuses anything but an http(s) URL
        _credentials(db, "", api_key, timeout)
        _header_value("db", db)
        _header_value("the API key", api_key)
        self._major = max(major_version(checks.text("version", version)), 19)
        self._url = url.rstrip("/")
        self._db = db
        self._side = side
        self._pool = _Pool(
            self._url,
            timeout=timeout,
            side=side,
            headers={"Authorization": f"bearer {api_key}", "X-Odoo-Database": db},
            limiter=limiter,
        )
        self._uid: int | None = None

    def __repr__(self) -> str:
        return f"Json2Transport(url={self._url!r}, db={self._db!r})"

    @property
    def uid(self) -> int | None:
        """The key's user once known."""
        return self._uid

    @property
    def version(self) -> str:
        """The server's major version as this transport speaks to it (``"19.0"`` and later)."""
        return f"{self._major}.0"

    async def connect(self) -> int:
        """The key's user: ``res.users.context_get`` names it (asked once)."""
        if self._uid is not None:
            return self._uid
        context = await self.call("res.users", "context_get")
        if not isinstance(context, dict):
            raise MalformedAnswerError(
                "Odoo answered res.users.context_get without a context", side=self._side
            )
        uid = context.get("uid")
        if not isinstance(uid, int):
            raise AuthenticationError("Odoo did not say whose API key this is", side=self._side)
        self._uid = uid
        return uid

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """``POST /json/2/model/method`` with every argument under its parameter's name."""
        body = named(model, method, args, options, self._major)
        self._count(f"{model}.{method}")
        response = await self._pool.post(f"/json/2/{model}/{method}", body, f"{model}.{method}")
        return self._result(response, model, method)

    def _result(self, response: httpx.Response, model: str, method: str) -> Any:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            if status == 200:
                raise MalformedAnswerError(
                    f"Odoo answered {model}.{method} with something that is not JSON",
                    status=status,
                    side=self._side,
                ) from None
            payload = None
        if status == 200:
            return payload  # ``null`` for methods that return nothing (action_mass_deletion)
        if isinstance(payload, dict) and "name" in payload:
            return _raise(
                from_odoo(
                    str(payload.get("name")),
                    str(payload.get("message") or ""),
                    status=status,
                    side=self._side,
                )
            )
        if status == 401:
            raise AuthenticationError("Odoo refused the API key", status=status, side=self._side)
        raise self._pool.http_error(status)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._pool.aclose()


# -- the choice ----------------------------------------------------------------------------------

TransportChoice = Literal["auto", "jsonrpc", "json2"]


def check_credentials(choice: str, password: str | None, api_key: str | None) -> None:
    """A :class:`ConfigurationError` unless ``choice`` is known and has a secret it can use."""
    if choice not in ("auto", "jsonrpc", "json2"):
        raise ConfigurationError(f"transport must be auto, jsonrpc or json2, not {choice!r}")
    if password is None and api_key is None:
        raise ConfigurationError("give a password or an API key")
    if choice == "json2" and api_key is None:
        raise ConfigurationError("JSON-2 needs an API key")


#: First path segments of Odoo's web client (a URL copied from the browser): not the server.
_WEB_CLIENT = frozenset({"odoo", "web"})


def check_url(url: str) -> None:
    """The server's root URL, or a :class:`ConfigurationError` that says what to give."""
    parts = checks.http_url("the Odoo URL", url, "https://odoo.example.com")
    first = parts.path.strip("/").split("/")[0]
    if first in _WEB_CLIENT:
        root = f"{parts.scheme}://{parts.netloc}"
        raise ConfigurationError(
            f"{url!r} is an address of Odoo's web client, not the server's: give {root!r}"
        )


class AutoTransport(_Counting):
    """The transport ``choice`` names, made at the first :meth:`connect` (``"auto"``: JSON-2
    when the server is 19 or later and an API key is given, else ``/jsonrpc``).

    One may serve many adapters: its login is made once for all of them.
    :attr:`inner` is the transport once chosen; the counters include it.
    ``limiter`` bounds the requests in flight to the server, the version
    probe included (default :data:`SERVER_LIMITER`).
    """

    def __init__(
        self,
        url: str,
        db: str,
        login: str,
        *,
        password: str | None = None,
        api_key: str | None = None,
        choice: TransportChoice = "auto",
        timeout: float = 600.0,
        side: str | None = None,
        limiter: ConcurrencyLimiter | None = None,
    ) -> None:
        super().__init__()
        check_credentials(choice, password, api_key)
        _http_url(url)
        self._url = url.rstrip("/")
        self._db = db
        self._login = login
        self.__password = password
        self.__api_key = api_key
        self._choice = choice
        self._timeout = timeout
        self._side = side
        self._limiter = limiter_of(limiter)
        self._lock = _LoopLock()
        self.inner: JsonRpcTransport | Json2Transport | None = None
        self._probed: str | None = None
        self._assumed: int | None = None

    def __repr__(self) -> str:
        return f"AutoTransport(url={self._url!r}, db={self._db!r}, login={self._login!r})"

    @property
    def version(self) -> str | None:
        """The server version, once known."""
        return self._probed or (self.inner.version if self.inner is not None else None)

    @property
    def limiter(self) -> ConcurrencyLimiter:
        """The limiter every request of this transport (and the one it chooses) takes."""
        return self._limiter

    @property
    def calls(self) -> Counter[str]:
        """Round trips by ``model.method``, the version probe included."""
        total = Counter(self._calls)
        if self.inner is not None:
            total.update(self.inner.calls)
        return total

    @property
    def requests(self) -> int:
        """HTTP round trips made so far."""
        return sum(self.calls.values())

    def assume_uid(self, uid: int) -> None:
        """:meth:`JsonRpcTransport.assume_uid` when ``/jsonrpc`` is (or will be) chosen;
        JSON-2 has no login to save."""
        if isinstance(self.inner, JsonRpcTransport):
            self.inner.assume_uid(uid)
        elif self.inner is None:
            self._assumed = uid

    def forget_uid(self, uid: int) -> None:
        """:meth:`JsonRpcTransport.forget_uid` on ``/jsonrpc`` (JSON-2 keeps no login)."""
        self._assumed = None
        if isinstance(self.inner, JsonRpcTransport):
            self.inner.forget_uid(uid)

    async def _chosen(self) -> JsonRpcTransport | Json2Transport:
        if self.inner is not None:
            return self.inner
        async with self._lock.get():
            if self.inner is None:
                self.inner = await self._make()
            return self.inner

    async def _make(self) -> JsonRpcTransport | Json2Transport:
        choice = self._choice
        if choice == "auto":
            self._count("version_info")
            self._probed = await probe_version(
                self._url, timeout=min(self._timeout, 60), side=self._side, limiter=self._limiter
            )
            json2 = self.__api_key and major_version(self._probed) >= 19
            choice = "json2" if json2 else "jsonrpc"
        if choice == "json2":
            assert self.__api_key is not None
            return Json2Transport(
                self._url,
                self._db,
                self.__api_key,
                timeout=self._timeout,
                version=self._probed or "19.0",
                side=self._side,
                limiter=self._limiter,
            )
        secret = self.__password if self.__password is not None else self.__api_key
        assert secret is not None
        made = JsonRpcTransport(
            self._url,
            self._db,
            self._login,
            secret,
            timeout=self._timeout,
            version=self._probed,
            side=self._side,
            limiter=self._limiter,
        )
        if self._assumed is not None:
            made.assume_uid(self._assumed)
        return made

    def server_time(self, moment: float) -> datetime | None:
        """The chosen transport's :meth:`~JsonRpcTransport.server_time` (None before it)."""
        return self.inner.server_time(moment) if self.inner is not None else None

    async def connect(self) -> int:
        """Choose (once), then the chosen transport's login (once)."""
        return await (await self._chosen()).connect()

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """The chosen transport's call."""
        return await (await self._chosen()).call(model, method, *args, **options)

    async def aclose(self) -> None:
        """Close the chosen transport's connections (its login is kept)."""
        if self.inner is not None:
            await self.inner.aclose()


def transport_for(
    transport: TransportChoice | OdooTransport,
    url: str,
    db: str,
    login: str,
    *,
    password: str | None,
    api_key: str | None,
    timeout: float,
    side: str | None,
    limiter: ConcurrencyLimiter | None = None,
) -> OdooTransport:
    """The transport given, or an :class:`AutoTransport` for the one ``transport`` names:
    its arguments checked first, each mistake a :class:`ConfigurationError` (or a
    ``TypeError``) naming it. A transport given keeps its own limiter: ``limiter``
    is for the one made here."""
    if not isinstance(transport, str):
        if not isinstance(transport, OdooTransport):
            raise TypeError(f"transport must be a name or an OdooTransport, not {transport!r}")
        return transport
    check_credentials(transport, password, api_key)
    check_url(url)
    return AutoTransport(
        checks.text("url", url).rstrip("/"),
        checks.text("db", db),
        checks.text("login", login),
        password=checks.optional_text("password", password),
        api_key=checks.optional_text("api_key", api_key),
        choice=transport,
        timeout=checks.seconds("timeout", timeout),
        side=side,
        limiter=limiter,
    )


def limiter_of(given: ConcurrencyLimiter | None) -> ConcurrencyLimiter:
    """``given`` checked to be a limiter, or :data:`SERVER_LIMITER` when None."""
    if given is None:
        return SERVER_LIMITER
    return checks.instance("limiter", given, ConcurrencyLimiter)


def _raise(error: ProviderError) -> Any:
    raise error


async def probe_version(
    url: str,
    *,
    timeout: float = 30.0,
    side: str | None = None,
    limiter: ConcurrencyLimiter | None = None,
) -> str:
    """The server version (``"18.0"``, ``"19.0"``) from ``/web/webclient/version_info``,
    asked in a slot of ``limiter`` (default :data:`SERVER_LIMITER`)."""
    body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}
    try:
        async with (
            limiter_of(limiter).slot(server_key(url)),
            httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout) as client,
        ):
            response = await client.post("/web/webclient/version_info", json=body)
    except httpx.HTTPError as error:
        raise transient(
            f"could not reach Odoo at {url}: {type(error).__name__}: {error}", side=side
        ) from None
    try:
        result = response.json().get("result") or {}
    except (ValueError, AttributeError):
        result = {}
    version = result.get("server_version") if isinstance(result, dict) else None
    if not isinstance(version, str):
        if response.status_code >= 500:
            raise transient(
                f"Odoo answered HTTP {response.status_code}", status=response.status_code, side=side
            )
        raise ProviderError(f"{url} does not look like an Odoo server", side=side)
    return version


def major_version(version: str) -> int:
    """``"19.0"`` → 19; ``"saas~18.3"`` → 18; unknown forms → 0."""
    text = version.rsplit("~", maxsplit=1)[-1]
    head = text.split(".")[0]
    return int(head) if head.isdigit() else 0


def _credentials(db: object, login: object, secret: object, timeout: object) -> None:
    """A transport's database, login and secret are strings, its timeout some seconds."""
    for name, value in (("db", db), ("login", login), ("the password or API key", secret)):
        checks.text(name, value)
    checks.seconds("timeout", timeout)


def _header_value(name: str, value: str) -> None:
    """JSON-2 sends the database and the API key in HTTP headers: printable ASCII only
    (else httpx fails with a ``UnicodeEncodeError``); the value is never in the error."""
    if not (value.isascii() and value.isprintable()):
        raise ConfigurationError(
            f"{name} must be printable ASCII: Odoo's JSON-2 sends it in an HTTP header"
        )


def _http_url(url: str) -> SplitResult:
    """The parts of an ``http(s)://host...`` URL; :class:`ConfigurationError` otherwise."""
    return checks.http_url("the Odoo URL", url, "https://odoo.example.com")
