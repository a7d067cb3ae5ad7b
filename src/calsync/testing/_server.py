"""A small threaded HTTP server on loopback, with fault injection, for the emulators.

Each emulator is an ``app``: a callable from :class:`Request` to
:class:`Response`. :class:`LoopbackServer` serves it on ``127.0.0.1`` at a
random port from a background thread, logs every request, and applies the
faults queued in :class:`Faults` (an error answer, a delay, a dropped
connection) before the app sees the request, or after it answered (``after``:
the app's work is done but the client sees the fault, as when an answer is
lost on the way back); a ``rewrite`` fault changes the app's own answer (a
garbled body, see :mod:`calsync.testing._garble`). An app may also raise
:class:`DropConnection` to close the connection without answering, which
lets it apply faults of its own.

A server may have a ``capacity``: at most that many requests handled at
once (delays included), each one beyond answered ``over_capacity`` at once,
as Odoo's threaded server answers a request that finds its database
connection pool empty. ``peak`` is the most it ever handled at once.
"""

from __future__ import annotations

import abc
import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType

__all__ = [
    "DropConnection",
    "Fault",
    "Faults",
    "LoopbackServer",
    "Request",
    "Response",
    "Serving",
]


_S = TypeVar("_S", bound="Serving")


class Serving:
    """``with server:`` starts it and gives it, and stops it when the block ends."""

    __slots__ = ()

    @abc.abstractmethod
    def start(self: _S) -> _S:
        """Start serving (idempotent); the server itself."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving (idempotent)."""

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class DropConnection(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by an app to make the server close the connection without answering."""


@attrs.frozen
class Request:
    """One HTTP request as the emulator sees it. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    target: str = ""

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, if present."""
        values = self.query.get(name)
        return values[0] if values else None


@attrs.frozen
class Response:
    """An HTTP answer: status, headers and body bytes."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        """A JSON answer."""
        body = json.dumps(payload).encode()
        return cls(status, body, (("Content-Type", "application/json"), *headers))


@attrs.define
class Fault:
    """One queued fault: what to do to the next ``times`` matching requests.

    ``skip`` matching requests pass untouched first. The action is one of: an
    answer (``response``), a ``delay`` in seconds before normal handling, or
    ``drop`` (close the connection without answering). With ``after`` the app
    handles the request first and the delay or drop follows its work.
    ``respond`` builds the answer from the request (an error envelope that
    echoes the JSON-RPC id, for instance) and takes precedence over ``response``.
    ``rewrite`` lets the app answer, then turns its answer into another one
    (the request is handled: a write is made, its answer comes back garbled).
    """

    match: Callable[[Request], bool]
    response: Response | None = None
    delay: float = 0.0
    drop: bool = False
    times: int = 1
    skip: int = 0
    hits: int = 0
    after: bool = False
    respond: Callable[[Request], Response] | None = None
    rewrite: Callable[[Request, Response], Response] | None = None


class Faults:
    """The queue of faults of one server; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        match: Callable[[Request], bool] | None = None,
        *,
        response: Response | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
        skip: int = 0,
        after: bool = False,
        respond: Callable[[Request], Response] | None = None,
        rewrite: Callable[[Request, Response], Response] | None = None,
    ) -> Fault:
        """Queue a fault for requests that ``match`` (all requests when None)."""
        fault = Fault(
            match or (lambda _: True),
            response,
            delay,
            drop,
            times,
            skip,
            after=after,
            respond=respond,
            rewrite=rewrite,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()

    def take(self, request: Request) -> Fault | None:
        """The fault to apply to this request, if any (consumes one use of it)."""
        with self._lock:
            for fault in self._faults:
                if fault.times <= 0 or not fault.match(request):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                fault.hits += 1
                return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY a
    # keep-alive client's delayed ACK adds ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silence the stdlib's per-request stderr logging."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            target=self.path,
        )
        owner = self.server.owner
        owner.record(request)
        owner.busy(+1)
        refusal = owner.admit()
        try:
            if refusal is not None:
                self._write(refusal)
                return
            fault = owner.faults.take(request)
            try:
                if fault is not None and not fault.after and self._apply(fault, request):
                    return
                response = owner.app(request)
                if fault is not None and fault.rewrite is not None:
                    response = fault.rewrite(request, response)
                if fault is not None and fault.after and self._apply(fault, request):
                    return
            except DropConnection:
                self._drop()
                return
            self._write(response)
        finally:
            if refusal is None:
                owner.leave()
            owner.busy(-1)

    def _apply(self, fault: Fault, request: Request) -> bool:
        """Apply a fault's delay, then its drop or answer; True when that ended the exchange."""
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            self._drop()
            return True
        if fault.respond is not None:
            self._write(fault.respond(request))
            return True
        if fault.response is not None:
            self._write(fault.response)
            return True
        return False

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, response: Response) -> None:
        if any(name.lower() == "date" for name, _value in response.headers):
            # the app keeps its own clock: its Date, not the stdlib's
            self.log_request(response.status)
            self.send_response_only(response.status)
            self.send_header("Server", self.version_string())
        else:
            self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: socketserver's default backlog of 5 makes the kernel drop the SYNs of a burst of
    #: connections (they come back a second later); real servers queue far more.
    request_queue_size = 128
    owner: LoopbackServer

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection so that :meth:`close_connections` can cut it."""
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a finished connection."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a fault or a stop are expected; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Cut every open (keep-alive) connection, as a dying server process would."""
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class LoopbackServer(Serving):
    """Serve ``app`` on ``127.0.0.1`` at a random port from a background thread.

    ``capacity`` (None: unbounded) and ``over_capacity``: see the module docstring.
    """

    def __init__(
        self,
        app: Callable[[Request], Response],
        *,
        capacity: int | None = None,
        over_capacity: Response | None = None,
    ) -> None:
        if capacity is not None and (capacity < 1 or over_capacity is None):
            raise ValueError("a capacity is at least 1 and comes with its over_capacity answer")
        self.app = app
        self.faults = Faults()
        self.requests: list[Request] = []
        self.capacity = capacity
        self.over_capacity = over_capacity
        #: The most requests handled at once so far (those answered ``over_capacity`` aside).
        self.peak = 0
        self._handling = 0
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError("the server is not running: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def record(self, request: Request) -> None:
        """Log a request (every request the socket received, faults included)."""
        with self._lock:
            self.requests.append(request)

    def admit(self) -> Response | None:
        """Take a request in (None), unless ``capacity`` are being handled: then the answer
        that refuses it."""
        with self._lock:
            if self.capacity is not None and self._handling >= self.capacity:
                return self.over_capacity
            self._handling += 1
            self.peak = max(self.peak, self._handling)
            return None

    def leave(self) -> None:
        """An admitted request is done."""
        with self._lock:
            self._handling -= 1

    def busy(self, change: int) -> None:
        """Count a request in (+1) or out (-1) of handling."""
        with self._idle:
            self._busy += change
            if not self._busy:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being handled (delays and late faults included).

        True when idle; False if requests were still running after ``timeout`` seconds.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def start(self) -> LoopbackServer:
        """Start listening; idempotent. A restart listens on the same port again."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", self._port), _Handler)
            self._port = self._server.server_address[1]
            self._server.owner = self
            # stop() waits for the serving loop to notice: a short poll keeps that quick
            # (tests start and stop hundreds of servers).
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close the socket and cut open connections; idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def iter_requests(self) -> Iterator[Request]:
        """A snapshot of the request log."""
        with self._lock:
            return iter(list(self.requests))
