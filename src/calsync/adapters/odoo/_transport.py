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

* :class:`OdooRPCTransport`: odoorpc over ``/jsonrpc`` (Odoo 10 to 21; removed
  in Odoo 22). odoorpc is synchronous: each call runs in a worker thread.
  The password (or an API key used as one) travels with every call, so there
  is no session to lose; an ``odoo.http.SessionExpiredException`` (a proxy
  or a web-session front) still triggers one re-login and one retry.
* :class:`Json2Transport`: JSON-2 (Odoo 19+) on a pooled :class:`httpx.AsyncClient`,
  ``Authorization: bearer <api key>``, ``X-Odoo-Database``, named arguments.

Both count what they send: ``requests`` (every HTTP round trip, login
included) and ``calls`` (a :class:`~collections.Counter` by ``model.method``).
Neither logs, reprs nor raises with the password or the key in it; odoorpc's
own DEBUG log, which prints ``execute_kw`` arguments (the password among
them), is redacted by a filter installed on its logger.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import logging
import socket
import urllib.error
from collections import Counter
from typing import Any, Protocol, runtime_checkable
from urllib.parse import SplitResult

import httpx

from calsync import _arguments as checks
from calsync._errors import (
    AuthenticationError,
    ConfigurationError,
    MalformedAnswerError,
    ProviderError,
)
from calsync.adapters.odoo._errors import SESSION_EXPIRED, from_odoo, transient
from calsync.adapters.odoo._signatures import jsonrpc_arguments, named

__all__ = [
    "Json2Transport",
    "OdooRPCTransport",
    "OdooTransport",
    "probe_version",
]

logger = logging.getLogger("calsync.odoo")

_REDACTED = "**********"


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
        """Authenticate; return the uid the key or password belongs to."""

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """Run ``model.method`` with its positional parameters (ids first) and options."""

    async def aclose(self) -> None:
        """Release connections."""


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


# -- /jsonrpc through odoorpc ----------------------------------------------------------------


class _RedactOdoorpc(logging.Filter):
    """Mask the password odoorpc logs inside ``execute_kw`` and ``login`` arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and isinstance(args.get("data"), dict):
            data = copy.deepcopy(args["data"])
            params = data.get("params")
            if isinstance(params, dict):
                call_args = params.get("args")
                if isinstance(call_args, list) and len(call_args) > 2:
                    call_args[2] = _REDACTED
                if "password" in params:
                    params["password"] = _REDACTED
            record.args = {**args, "data": data}
        return True


def _install_redaction() -> None:
    target = logging.getLogger("odoorpc.rpc.jsonrpclib")
    if not any(isinstance(item, _RedactOdoorpc) for item in target.filters):
        target.addFilter(_RedactOdoorpc())


_install_redaction()


class OdooRPCTransport(_Counting):
    """``/jsonrpc`` through odoorpc, each call in a worker thread.

    ``secret`` is the password or an API key (Odoo accepts either on
    ``/jsonrpc``). ``timeout`` bounds each call in seconds (odoorpc's own
    default, 120 s, is too short for bulk writes). ``version`` is the
    server version when already known (it saves odoorpc's version probe).
    """

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
    ) -> None:
        super().__init__()
        parts = _http_url(url)
        _credentials(db, login, secret, timeout)
        if parts.path not in ("", "/"):
            raise ConfigurationError(f"odoorpc cannot reach Odoo under a path prefix: {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._protocol = "jsonrpc+ssl" if parts.scheme == "https" else "jsonrpc"
        self._url = f"{parts.scheme}://{parts.netloc}"
        self._db = db
        self._login = login
        self.__secret = secret
        self._timeout = timeout
        self._version = version
        self._side = side
        self._client: Any = None
        self._uid: int | None = None

    def __repr__(self) -> str:
        return f"OdooRPCTransport(url={self._url!r}, db={self._db!r}, login={self._login!r})"

    @property
    def version(self) -> str | None:
        """The server's version (``"17.0"``...), known once connected or when given."""
        return self._version

    async def connect(self) -> int:
        """Log in (odoorpc: ``common.login`` then ``res.users.context_get``).

        An expired session answered to the login itself (a front that keeps web
        sessions) means one more login, as for any other call; a second one is
        an :class:`AuthenticationError`.
        """
        try:
            return await asyncio.to_thread(self._connect)
        except AuthenticationError as error:
            if error.code != SESSION_EXPIRED:
                raise
            logger.info("Odoo answered the login with an expired session; logging in again")
            return await asyncio.to_thread(self._connect)

    def _connect(self) -> int:
        import odoorpc

        try:
            if self._version is None:
                self._count("version_info")
            client = odoorpc.ODOO(
                self._host,
                protocol=self._protocol,
                port=self._port,
                timeout=self._timeout,
                version=self._version,
            )
            self._version = client.version
            self._count("common.login")
            client.login(self._db, self._login, self.__secret)
            self._count("res.users.context_get")
            uid = client.env.uid
        except odoorpc.error.RPCError as error:
            raise self._translate_rpc(error) from None
        except odoorpc.error.InternalError as error:
            raise ProviderError(str(error), side=self._side) from None
        except _GARBLED as error:
            raise self._malformed("the login", error) from None
        except _NETWORK_ERRORS as error:
            raise self._network(error) from None
        self._client = client
        self._uid = int(uid)
        return self._uid

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """``execute_kw(model, method, args, options)``; one re-login on an expired session."""
        if self._client is None:
            await self.connect()
        positional, kwargs = jsonrpc_arguments(
            model, method, args, options, major_version(self._version or "")
        )
        try:
            return await asyncio.to_thread(self._execute, model, method, positional, kwargs)
        except _SessionExpiredError:
            logger.info("Odoo session expired; logging in again as %s", self._login)
            await self.connect()
            try:
                return await asyncio.to_thread(self._execute, model, method, positional, kwargs)
            except _SessionExpiredError as again:
                raise AuthenticationError(
                    "Odoo keeps refusing the session after a fresh login",
                    code=SESSION_EXPIRED,
                    side=self._side,
                ) from again

    def _execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        import odoorpc

        self._count(f"{model}.{method}")
        try:
            return self._client.execute_kw(model, method, args, kwargs)
        except odoorpc.error.RPCError as error:
            info: dict[str, Any] = error.info if isinstance(error.info, dict) else {}
            raw = info.get("data")
            data: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if data.get("name") == SESSION_EXPIRED or info.get("code") == 100:
                raise _SessionExpiredError from None
            raise self._translate_rpc(error) from None
        except _GARBLED as error:
            raise self._malformed(f"{model}.{method}", error) from None
        except _NETWORK_ERRORS as error:
            raise self._network(error) from None

    def _malformed(self, what: str, error: Exception) -> MalformedAnswerError:
        """odoorpc choked on the answer: not JSON, or not a JSON-RPC envelope."""
        return MalformedAnswerError(
            f"Odoo answered {what} with something that is not a JSON-RPC envelope "
            f"({type(error).__name__})",
            side=self._side,
        )

    def _translate_rpc(self, error: Exception) -> ProviderError:
        info = getattr(error, "info", None)
        if isinstance(info, dict) and isinstance(info.get("data"), dict):
            data = info["data"]
            return from_odoo(data.get("name"), data.get("message"), side=self._side)
        return AuthenticationError(
            f"Odoo refused the credentials of {self._login!r} on {self._db!r}",
            code="odoo.exceptions.AccessDenied",
            side=self._side,
        )

    def _network(self, error: BaseException) -> ProviderError:
        if isinstance(error, urllib.error.HTTPError):
            status = error.code
            if status >= 500 or status in (408, 429):
                return transient(f"Odoo answered HTTP {status}", status=status, side=self._side)
            return ProviderError(f"Odoo answered HTTP {status}", status=status, side=self._side)
        reason = getattr(error, "reason", None) or error
        return transient(
            f"could not reach Odoo at {self._url}: {type(reason).__name__}: {reason}",
            side=self._side,
        )

    async def aclose(self) -> None:
        """Forget the client (odoorpc keeps no open connection between calls)."""
        self._client = None


class _SessionExpiredError(Exception):
    """Internal: the server wants a new login."""


#: What odoorpc raises on an answer that is no JSON-RPC envelope: invalid JSON (an HTML
#: page, a truncated body), ``null`` or a list where the envelope belongs, an error
#: envelope without its data.
_GARBLED = (json.JSONDecodeError, AttributeError, TypeError, KeyError, IndexError)

_NETWORK_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    socket.timeout,
    TimeoutError,
    ConnectionError,
    OSError,
    json.JSONDecodeError,
)


# -- JSON-2 over httpx -------------------------------------------------------------------------


class Json2Transport(_Counting):
    """JSON-2 (``POST /json/2/<model>/<method>``) on a pooled :class:`httpx.AsyncClient`.

    The client is made on first use in the running event loop (and again if
    calsync is later driven from another loop). ``timeout`` bounds each call.
    ``version`` (19.0 and later) chooses the parameter names the positionals go under.
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
    ) -> None:
        super().__init__()
        _http_url(url)  # refuses anything but an http(s) URL
        _credentials(db, "", api_key, timeout)
        self._major = max(major_version(checks.text("version", version)), 19)
        self._url = url.rstrip("/")
        self._db = db
        self.__key = api_key
        self._timeout = timeout
        self._side = side
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"Json2Transport(url={self._url!r}, db={self._db!r})"

    @property
    def version(self) -> str:
        """The server's major version as this transport speaks to it (``"19.0"`` and later)."""
        return f"{self._major}.0"

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self._url,
                timeout=self._timeout,
                headers={
                    "Authorization": f"bearer {self.__key}",
                    "X-Odoo-Database": self._db,
                    "User-Agent": "calsync",
                },
            )
            self._loop = loop
        return self._client

    async def connect(self) -> int:
        """Check the key: ``res.users.context_get`` names its user."""
        context = await self.call("res.users", "context_get")
        if not isinstance(context, dict):
            raise MalformedAnswerError(
                "Odoo answered res.users.context_get without a context", side=self._side
            )
        uid = context.get("uid")
        if not isinstance(uid, int):
            raise AuthenticationError("Odoo did not say whose API key this is", side=self._side)
        return uid

    async def call(self, model: str, method: str, *args: Any, **options: Any) -> Any:
        """``POST /json/2/model/method`` with every argument under its parameter's name."""
        body = named(model, method, args, options, self._major)
        self._count(f"{model}.{method}")
        try:
            response = await self._http().post(f"/json/2/{model}/{method}", json=body)
        except httpx.TimeoutException as error:
            raise transient(
                f"Odoo did not answer {model}.{method} within {self._timeout} s: "
                f"{type(error).__name__}",
                side=self._side,
            ) from None
        except httpx.TransportError as error:
            raise transient(
                f"could not reach Odoo at {self._url}: {type(error).__name__}: {error}",
                side=self._side,
            ) from None
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
        if status >= 500 or status in (408, 429):
            raise transient(f"Odoo answered HTTP {status}", status=status, side=self._side)
        raise ProviderError(f"Odoo answered HTTP {status}", status=status, side=self._side)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            try:
                await client.aclose()
            except RuntimeError:  # its event loop is gone already
                logger.debug("the JSON-2 client's event loop was already closed")


def _raise(error: ProviderError) -> Any:
    raise error


async def probe_version(url: str, *, timeout: float = 30.0, side: str | None = None) -> str:
    """The server version (``"18.0"``, ``"19.0"``) from ``/web/webclient/version_info``."""
    body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 1}
    try:
        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout) as client:
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


__all__ += ["major_version"]


def _credentials(db: object, login: object, secret: object, timeout: object) -> None:
    """A transport's database, login and secret are strings, its timeout some seconds."""
    for name, value in (("db", db), ("login", login), ("the password or API key", secret)):
        checks.text(name, value)
    checks.seconds("timeout", timeout)


def _http_url(url: str) -> SplitResult:
    """The parts of an ``http(s)://host...`` URL; :class:`ConfigurationError` otherwise."""
    return checks.http_url("the Odoo URL", url, "https://odoo.example.com")
