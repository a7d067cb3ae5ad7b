"""The HTTP side of the emulated server: routes, authentication, sessions.

Routes (all versions unless noted):

* ``/web/webclient/version_info`` (GET or POST, JSON-RPC envelope) - odoorpc's first call [01].
* ``/web/version`` (GET) - ``{"version", "version_info"}``.
* ``/jsonrpc`` - services ``common`` (``version``, ``login``, ``authenticate``),
  ``object`` (``execute``, ``execute_kw``; password on every call) and ``db``
  (``list``, ``server_version``) [02, 26].
* ``/web/session/authenticate`` - sets a ``session_id`` cookie and returns the
  session info [27]; ``/web/session/get_session_info``, ``/web/session/destroy``.
* ``/web/dataset/call_kw[/<model>/<method>]`` - needs the session cookie, else
  the recorded ``Odoo Session Expired`` error (code 100) [28].
* ``/json/2/<model>/<method>`` (19.0 and later) - JSON-2 with a bearer API key.
* ``/doc-bearer/<model>.json`` (19.0 and later) - a model's fields and method
  signatures (:mod:`._docs`).
* ``/xmlrpc/2/<service>`` and ``/xmlrpc/<service>`` - XML-RPC (POST only), the same
  services as ``/jsonrpc``, faults as :mod:`._xmlrpc` says.

Password checks cost ``login_delay`` seconds, every time for ``login`` and
``authenticate`` and once per (uid, secret) for ``execute_kw`` and JSON-2 (the
server keeps verified credentials until it restarts) [26]. After
``cooldown_after`` failed logins, logins are refused for ``cooldown_duration``
seconds ("Too many login failures ...").
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.cookies import SimpleCookie
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

import attrs

from calsync.testing._odoo._docs import describe_model
from calsync.testing._odoo._errors import (
    AccessDenied,
    BadRequest,
    GenericError,
    NotFound,
    OdooError,
    SessionExpired,
    Unauthorized,
)
from calsync.testing._odoo._models import Env
from calsync.testing._odoo._rpc import (
    JSON2,
    JSONRPC,
    WEB,
    OdooCall,
    call_model,
    json2_error,
    rpc_error,
    rpc_result,
)
from calsync.testing._odoo._xmlrpc import XMLRPC
from calsync.testing._odoo._xmlrpc import parse as parse_xmlrpc
from calsync.testing._odoo._xmlrpc import serve as serve_xmlrpc
from calsync.testing._server import Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from calsync.testing._odoo._mail import OdooMail
    from calsync.testing._odoo._models import Registry
    from calsync.testing._odoo._models._users import ResUsers

__all__ = ["OdooApp", "describe"]

_JSON = "application/json; charset=utf-8"
#: Odoo 19.0's answer to JSON-2 for a database it does not serve (X-Odoo-Database), as
#: checked on the real server (2026-12-05).
_NO_DATABASE = Response(
    404,
    b"<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>No database is "
    b"selected and the requested URL was not found in the server-wide controllers.</p>\n<p>Please "
    b"verify the hostname, <a href=/web/login>login</a> and try again.</p>\n\n<!-- Alternatively, "
    b"use the X-Odoo-Database header. -->\n",
    (("Content-Type", "text/html; charset=utf-8"),),
)
_NOT_FOUND = Response(
    404,
    b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n",
    (("Content-Type", "text/html; charset=utf-8"),),
)
_COOLDOWN_MESSAGE = "Too many login failures, please wait a bit before trying again."
_SESSION_SECONDS = 604800
_JSON2_PATH = re.compile(r"^/json/2/([^/]+)/([^/]+)/?$")
_XMLRPC_PATH = re.compile(r"^/xmlrpc/(2/)?[^/]+$")
_DOC_PATH = re.compile(r"^/doc-bearer/(.+)\.json$")
_NOT_ALLOWED = Response(
    405,
    b"<!doctype html>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
    b"<p>The method is not allowed for the requested URL.</p>\n",
    (("Content-Type", "text/html; charset=utf-8"), ("Allow", "POST, OPTIONS")),
)
_RECORDED_AVATAR_TOKENS = {
    2: "a4e7d213f1039aefdcb8a806660fd7ab26ba0cc5825daef8db4c7b64882749aco0x6b2f2f51",
    3: "b5e0b781b96d0b3f5801b09ba42a091070b058748b33db7fc7f3e12525ae0f99o0x6b2f3078",
}


def version_info(version: str) -> dict[str, Any]:
    """What ``version_info`` and ``common.version`` return for a server version [01, 26]."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return {
        "server_version": version,
        "server_version_info": [major, minor, 0, "final", 0, ""],
        "server_serie": version,
        "protocol_version": 1,
    }


@functools.cache
def _session_template() -> dict[str, Any]:
    text = (
        resources.files("calsync.testing._odoo")
        .joinpath("_data/session_info.json")
        .read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


@attrs.define
class Session:
    """A web session: who logged in; ``fresh`` until its first call re-sends the cookie."""

    sid: str
    uid: int
    login: str
    expires: datetime
    fresh: bool = True


@attrs.define
class Call:
    """How an HTTP request maps onto an RPC call (for logs and fault matching)."""

    protocol: str
    model: str | None
    method: str


def describe(request: Request) -> Call:
    """The RPC call an HTTP request makes, read from its path and JSON body."""
    path = request.path.rstrip("/") or "/"
    match = _JSON2_PATH.match(request.path)
    if match:
        return Call(JSON2, match.group(1), match.group(2))
    if _XMLRPC_PATH.match(path):
        return _describe_xmlrpc(path, request.body)
    body = _json_body(request)
    params = body.get("params") if isinstance(body, dict) else None
    params = params if isinstance(params, dict) else {}
    if path == "/jsonrpc":
        args = params.get("args") or []
        if params.get("service") == "object" and len(args) > 4:
            return Call(JSONRPC, str(args[3]), str(args[4]))
        return Call(JSONRPC, None, str(params.get("method")))
    if path.startswith("/web/dataset/call_kw"):
        return Call(WEB, _opt_str(params.get("model")), str(params.get("method")))
    return Call(WEB, None, path.rsplit("/", 1)[-1])


def _describe_xmlrpc(path: str, body: bytes) -> Call:
    try:
        method, args = parse_xmlrpc(body)
    except OdooError:
        return Call(XMLRPC, None, path.rsplit("/", 1)[-1])
    if path.endswith("/object") and len(args) > 4:
        return Call(XMLRPC, str(args[3]), str(args[4]))
    return Call(XMLRPC, None, method)


def _opt_str(value: object) -> str | None:
    return str(value) if value is not None else None


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        return None


class OdooApp:
    """Routes requests to the models of one database, with Odoo's authentication."""

    def __init__(
        self,
        registry: Registry,
        *,
        db_name: str,
        clock: Callable[[], datetime],
        login_delay: float,
        cooldown_after: int,
        cooldown_duration: float,
    ) -> None:
        self.registry = registry
        self.db_name = db_name
        self.clock = clock
        self.login_delay = login_delay
        #: password or API key hashes checked so far (each costs ``login_delay``)
        self.password_checks = 0
        self.cooldown_after = cooldown_after
        self.cooldown_duration = cooldown_duration
        self.sessions: dict[str, Session] = {}
        #: sessions nobody logged in to (their cookie identifies them, and grants nothing)
        self.anonymous: set[str] = set()
        self.verified: set[tuple[int, str]] = set()
        self.failures = 0
        self.last_failure: datetime | None = None
        self.calls: list[OdooCall] = []
        self.mails: list[OdooMail] = []
        self.lock = threading.Lock()

    @property
    def version(self) -> str:
        """The emulated server version."""
        return self.registry.settings.version

    # -- entry point -------------------------------------------------------------------------

    def __call__(self, request: Request) -> Response:
        """Answer one HTTP request."""
        path = request.path.rstrip("/") or "/"
        routes: dict[str, Callable[[Request], Response]] = {
            "/web/webclient/version_info": self._version_info,
            "/web/version": self._web_version,
            "/jsonrpc": lambda req: self._rpc_answer(req, self._jsonrpc),
            "/web/session/authenticate": self._authenticate_session,
            "/web/session/get_session_info": self._session_info,
            "/web/session/destroy": self._destroy_session,
        }
        handler = routes.get(path)
        if handler is None and path.startswith("/web/dataset/call_kw"):
            handler = self._call_kw
        if handler is None and path.startswith("/json/2") and self._has_json2:
            handler = self._json2
        if handler is None and _XMLRPC_PATH.match(path):
            handler = self._xmlrpc
        if handler is None and _DOC_PATH.match(path) and self._has_json2:
            handler = self._doc_bearer
        response = handler(request) if handler is not None else _NOT_FOUND
        return attrs.evolve(response, headers=(*response.headers, ("Date", self._date())))

    def _date(self) -> str:
        """Every answer's ``Date`` (RFC 9110 §6.6.1), on the server's clock: Odoo's werkzeug
        server stamps each answer with its host's time (``BaseHTTPRequestHandler.send_response``),
        and the emulator's clock may be set or moved, its ``write_date`` with it."""
        return format_datetime(self.clock().replace(tzinfo=timezone.utc), usegmt=True)

    def _version_info(self, request: Request) -> Response:
        self._log(WEB, None, "version_info", None)
        response = self._rpc_answer(request, lambda _params: version_info(self.version))
        return attrs.evolve(response, headers=(*response.headers, *self._anonymous(request)))

    def _anonymous(self, request: Request) -> tuple[tuple[str, str], ...]:
        """The cookie of a new anonymous session when the request names no session.

        Odoo's ``Request._save_session`` (odoo/http.py) sets the cookie whenever
        the session differs from the request's cookie: a JSON route called
        without one gets a new session's cookie (a year's Expires, a week's Max-Age).
        """
        jar: SimpleCookie = SimpleCookie()
        jar.load(request.headers.get("cookie", ""))
        morsel = jar.get("session_id")
        with self.lock:
            if morsel is not None and (
                morsel.value in self.sessions or morsel.value in self.anonymous
            ):
                return ()
            expires = self.clock().replace(microsecond=0) + timedelta(days=365)
            session = Session(secrets.token_urlsafe(63)[:84], 0, "", expires)
            self.anonymous.add(session.sid)
        return (("Set-Cookie", _cookie(session)),)

    def _web_version(self, request: Request) -> Response:
        info = version_info(self.version)
        payload = {"version": info["server_version"], "version_info": info["server_version_info"]}
        return _json_response(200, payload)

    @property
    def _users(self) -> ResUsers:
        return cast("ResUsers", self.registry.model("res.users"))

    @property
    def _has_json2(self) -> bool:
        return int(self.version.split(".")[0]) >= 19

    def _log(self, protocol: str, model: str | None, method: str, uid: int | None) -> None:
        with self.lock:
            self.calls.append(OdooCall(protocol, model, method, uid))

    def _rpc_answer(
        self,
        request: Request,
        handler: Callable[[dict[str, Any]], Any],
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        body = _json_body(request)
        request_id = body.get("id") if isinstance(body, dict) else None
        params = body.get("params") if isinstance(body, dict) else None
        try:
            if not isinstance(params, dict):
                params = {}
            result = handler(params)
        except OdooError as error:
            # an expired session is refused before the JSON-RPC request is read: no id [28]
            answer_id = None if isinstance(error, SessionExpired) else request_id
            return _json_response(200, rpc_error(answer_id, error), headers)
        return _json_response(200, rpc_result(request_id, result), headers)

    # -- credentials -------------------------------------------------------------------------

    def _check_db(self, db: object) -> None:
        if db != self.db_name:
            raise GenericError(
                "psycopg2.OperationalError",
                'connection to server at "localhost" (127.0.0.1), port 5432 failed: '
                f'FATAL:  database "{db}" does not exist\n',
            )

    def _hash_delay(self) -> None:
        with self.lock:
            self.password_checks += 1
        if self.login_delay > 0:
            time.sleep(self.login_delay)

    def login(self, db: object, login: object, password: object) -> int | None:
        """``_login``: the uid, or None; slow; counts failures for the cooldown. It fills
        no cache: the first ``execute_kw`` of that uid and password is as slow again
        (odoo.md §5.1; 378 then 441 ms on a real 18.0, 560 and 560 ms on 17.0)."""
        self._check_db(db)
        if self._on_cooldown():
            raise AccessDenied(_COOLDOWN_MESSAGE)
        self._hash_delay()
        with self.registry.db.lock:
            uid = self._users.login_uid(login) if isinstance(login, str) else None
            valid = (
                uid is not None
                and isinstance(password, str)
                and self._users.check_password(uid, password)
            )
        if uid is None or not valid or not isinstance(password, str):
            with self.lock:
                self.failures += 1
                self.last_failure = self.clock()
            return None
        with self.lock:
            self.failures = 0
        return int(uid)

    def _on_cooldown(self) -> bool:
        if (
            not self.cooldown_after
            or self.failures < self.cooldown_after
            or self.last_failure is None
        ):
            return False
        return self.clock() - self.last_failure < timedelta(seconds=self.cooldown_duration)

    def check_credentials(self, uid: object, secret: object) -> int:
        """``execute_kw``'s check: cached after the first (slow) success; AccessDenied else."""
        if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(secret, str):
            raise AccessDenied()
        if (uid, secret) in self.verified:
            return uid
        self._hash_delay()
        with self.registry.db.lock:
            valid = self._users.check_password(uid, secret)
        if not valid:
            raise AccessDenied()
        with self.lock:
            self.verified.add((uid, secret))
        return uid

    def forget_credentials(self) -> None:
        """A server restart: sessions and verified credentials are gone."""
        with self.lock:
            self.sessions.clear()
            self.verified.clear()

    # -- /jsonrpc ----------------------------------------------------------------------------

    def _jsonrpc(self, params: dict[str, Any]) -> Any:
        service = params.get("service")
        return self.dispatch_rpc(
            str(service), str(params.get("method")), list(params.get("args") or []), JSONRPC
        )

    def dispatch_rpc(self, service: str, method: str, args: list[Any], protocol: str) -> Any:
        """``odoo.http.dispatch_rpc``: the ``common``, ``object`` and ``db`` services."""
        if service == "common":
            self._log(protocol, None, method, None)
            return self._common(method, args)
        if service == "object":
            model = str(args[3]) if len(args) > 4 else None
            self._log(
                protocol,
                model,
                str(args[4]) if len(args) > 4 else method,
                args[1] if len(args) > 1 else None,
            )
            return self._object(method, args, protocol)
        if service == "db":
            self._log(protocol, None, method, None)
            return self._db_service(method)
        if protocol == XMLRPC:  # rpc_dispatchers[service_name]
            raise GenericError("builtins.KeyError", repr(service))
        raise GenericError("builtins.Exception", f"No such service: {service}")

    def _xmlrpc(self, request: Request) -> Response:
        """``/xmlrpc/2/<service>`` (int fault codes) and ``/xmlrpc/<service>`` (strings)."""
        if request.method != "POST":
            return _NOT_ALLOWED
        path = request.path.rstrip("/")
        int_codes = path.startswith("/xmlrpc/2/")
        service = path.rsplit("/", 1)[-1]
        body = serve_xmlrpc(
            request.body,
            service,
            lambda svc, method, args: self.dispatch_rpc(svc, method, args, XMLRPC),
            int_codes=int_codes,
        )
        return Response(200, body, (("Content-Type", "text/xml; charset=utf-8"),))

    def _common(self, method: str, args: list[Any]) -> Any:
        if method == "version":
            return version_info(self.version)
        if method in ("login", "authenticate"):
            padded = [*args, None, None, None][:3]
            try:
                uid = self.login(*padded)
            except AccessDenied:
                return False
            return uid if uid is not None else False
        raise GenericError("builtins.AttributeError", f"'common' service has no method {method!r}")

    def _object(self, method: str, args: list[Any], protocol: str = JSONRPC) -> Any:
        if method not in ("execute", "execute_kw") or len(args) < 5:
            raise GenericError("builtins.NameError", f"Method not available {method}")
        db, uid, password, model, name = args[:5]
        self._check_db(db)
        uid = self.check_credentials(uid, password)
        if method == "execute":
            positional, keywords = list(args[5:]), {}
        else:
            positional = list(args[5]) if len(args) > 5 and args[5] is not None else []
            keywords = dict(args[6]) if len(args) > 6 and args[6] else {}
        return self.call(uid, str(model), str(name), positional, keywords, protocol=protocol)

    def _db_service(self, method: str) -> Any:
        if method == "list":
            return [self.db_name]
        if method == "server_version":
            return self.version
        raise GenericError("builtins.AttributeError", f"'db' service has no method {method!r}")

    def call(
        self,
        uid: int,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        protocol: str,
        ids: list[int] | None = None,
        base_context: dict[str, Any] | None = None,
    ) -> Any:
        """Run a model method for ``uid``; mails it sends reach the log when it commits."""
        mails: list[OdooMail] = []
        result = call_model(
            self.registry,
            self.clock,
            uid=uid,
            model=model,
            method=method,
            args=args,
            kwargs=kwargs,
            protocol=protocol,
            ids=ids,
            base_context=base_context,
            mails=mails,
        )
        with self.lock:
            self.mails.extend(mails)
        return result

    # -- web sessions ------------------------------------------------------------------------

    def _authenticate_session(self, request: Request) -> Response:
        cookie: list[tuple[str, str]] = []

        def handler(params: dict[str, Any]) -> Any:
            self._log(WEB, None, "authenticate", None)
            uid = self.login(params.get("db"), params.get("login"), params.get("password"))
            if uid is None:
                raise AccessDenied()
            expires = self.clock().replace(microsecond=0) + timedelta(days=365)
            session = Session(
                secrets.token_urlsafe(63)[:84], uid, str(params.get("login")), expires
            )
            with self.lock:
                self.sessions[session.sid] = session
            cookie.append(("Set-Cookie", _cookie(session)))
            with self.registry.db.lock:
                admin = bool(self.registry.db.fetch("res.users", uid).get("_settings_admin"))
            if admin:
                self.registry.settings.base_url = (
                    f"http://{request.headers.get('host', '127.0.0.1')}"
                )
            return self.session_info(uid)

        response = self._rpc_answer(request, handler)
        return attrs.evolve(response, headers=(*response.headers, *cookie))

    def _session(self, request: Request) -> Session | None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(request.headers.get("cookie", ""))
        morsel = jar.get("session_id")
        return self.sessions.get(morsel.value) if morsel is not None else None

    def _session_info(self, request: Request) -> Response:
        session = self._session(request)

        def handler(_params: dict[str, Any]) -> Any:
            if session is None:
                raise SessionExpired()
            return self.session_info(session.uid)

        return self._rpc_answer(request, handler)

    def _destroy_session(self, request: Request) -> Response:
        session = self._session(request)
        if session is not None:
            with self.lock:
                self.sessions.pop(session.sid, None)
        return self._rpc_answer(request, lambda _params: None)

    def _call_kw(self, request: Request) -> Response:
        session = self._session(request)
        headers: tuple[tuple[str, str], ...] = ()
        if session is not None and session.fresh:
            session.fresh = False
            headers = (("Set-Cookie", _cookie(session)),)

        def handler(params: dict[str, Any]) -> Any:
            model, method = _opt_str(params.get("model")), str(params.get("method"))
            self._log(WEB, model, method, session.uid if session else None)
            if session is None:
                raise SessionExpired()
            with self.registry.db.lock:
                user = dict(self.registry.db.row("res.users", session.uid) or {})
            context = {
                "lang": user.get("lang") or "en_US",
                "tz": user.get("tz") or False,
                "uid": session.uid,
            }
            args = list(params.get("args") or [])
            kwargs = dict(params.get("kwargs") or {})
            return self.call(
                session.uid, str(model), method, args, kwargs, protocol=WEB, base_context=context
            )

        return self._rpc_answer(request, handler, headers)

    def session_info(self, uid: int) -> dict[str, Any]:
        """``/web/session/authenticate``'s answer for a user, shaped like the recording [27]."""
        with self.registry.db.lock:
            return self._build_session_info(uid)

    def _build_session_info(self, uid: int) -> dict[str, Any]:
        db = self.registry.db
        user = db.row("res.users", uid) or {}
        partner_id = user.get("partner_id")
        partner = (db.row("res.partner", partner_id) if isinstance(partner_id, int) else None) or {}
        bot = db.row("res.partner", 2) or {}
        info = copy.deepcopy(_session_template())
        settings = {**info["user_settings"], "user_id": {"id": uid}}
        name = partner.get("name") or ""
        info.update(
            uid=uid,
            is_system=bool(user.get("_settings_admin")),
            is_admin=bool(user.get("_access_admin")),
            is_internal_user=not user.get("share"),
            user_context={
                "lang": user.get("lang") or "en_US",
                "tz": user.get("tz") or False,
                "uid": uid,
            },
            db=self.db_name,
            user_settings=settings,
            server_version=self.version,
            server_version_info=version_info(self.version)["server_version_info"],
            name=name,
            username=user.get("login"),
            partner_write_date=_stamp(partner.get("write_date")),
            partner_display_name=name,
            partner_id=partner_id,
        )
        info["web.base.url"] = self.registry.settings.base_url
        store = info["storeData"]
        store["Store"]["self"] = {"id": partner_id, "type": "partner"}
        store["Store"]["settings"] = settings
        bot_entry, me = store["res.partner"]
        bot_entry["write_date"] = _stamp(bot.get("write_date"))
        me.update(
            id=partner_id,
            avatar_128_access_token=_avatar_token(partner_id),
            isAdmin=bool(user.get("_access_admin")),
            name=name,
            signature=f'<span data-o-mail-quote="1">-- <br data-o-mail-quote="1">\n{name}</span>',
            userId=uid,
            write_date=_stamp(partner.get("write_date")),
        )
        return info

    # -- JSON-2 ------------------------------------------------------------------------------

    def _json2(self, request: Request) -> Response:
        match = _JSON2_PATH.match(request.path)
        database = request.headers.get("x-odoo-database")
        if database is not None and database != self.db_name:
            return _NO_DATABASE  # before the key is looked at: Odoo picks the database first
        try:
            if match is None or request.method != "POST":
                raise NotFound("Did you mean POST /json/2/<model>/<method>?")
            model, method = match.group(1), match.group(2)
            uid = self._bearer(request)
            self._log(JSON2, model, method, uid)
            body = _json2_body(request)
            ids = body.pop("ids", None) or []
            result = self.call(uid, model, method, [], body, protocol=JSON2, ids=list(ids))
        except OdooError as error:
            status, payload = json2_error(error)
            extra = (("WWW-Authenticate", "bearer"),) if status == 401 else ()
            return _json_response(status, payload, extra)
        return _json_response(200, result)

    def _doc_bearer(self, request: Request) -> Response:
        """``/doc-bearer/<model>.json`` (19.0): see :mod:`._docs`."""
        match = _DOC_PATH.match(request.path.rstrip("/"))
        assert match is not None
        try:
            uid = self._bearer(request)
            self._log(JSON2, match.group(1), "doc-bearer", uid)
            with self.registry.db.transaction():
                env = Env(self.registry, uid, {}, self.clock())
                document = describe_model(env, match.group(1))
        except OdooError as error:
            status, payload = json2_error(error)
            extra = (("WWW-Authenticate", "bearer"),) if status == 401 else ()
            return _json_response(status, payload, extra)
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        headers = (
            ("Content-Type", _JSON),
            ("ETag", hashlib.sha256(body).hexdigest()),
            ("Cache-Control", "no-cache, private"),
            ("Content-Language", "en-US"),
        )
        return Response(200, body, headers)

    def _bearer(self, request: Request) -> int:
        header = request.headers.get("authorization", "")
        found = re.match(r"^bearer\s+(.+)$", header, re.IGNORECASE)
        if not found:
            raise Unauthorized('User not authenticated, use the "Authorization" header')
        key = found.group(1).strip()
        with self.registry.db.lock:
            uid = self._users.api_key_uid(key)
        if uid is None:
            raise Unauthorized("Invalid apikey")
        if (uid, key) not in self.verified:
            self._hash_delay()
            with self.lock:
                self.verified.add((uid, key))
        return int(uid)


def _cookie(session: Session) -> str:
    """The ``session_id`` cookie as Odoo sets it (a year's Expires, a week's Max-Age) [27]."""
    expires = format_datetime(session.expires, usegmt=False).replace("-0000", "GMT")
    return (
        f"session_id={session.sid}; Expires={expires}; Max-Age={_SESSION_SECONDS}; HttpOnly; Path=/"
    )


def _json2_body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise BadRequest(f"could not parse the body as json: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("could not parse the body, expecting a json object")
    return body


def _json_response(
    status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, (("Content-Type", _JSON), *headers))


def _stamp(value: object) -> str | bool:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else False


def _avatar_token(partner_id: int | None) -> str:
    recorded = _RECORDED_AVATAR_TOKENS.get(partner_id or 0)
    if recorded is not None:
        return recorded
    digest = hashlib.sha256(f"avatar-{partner_id}".encode()).hexdigest()
    return f"{digest}o0x{partner_id or 0:08x}"
