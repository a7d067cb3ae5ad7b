"""Calling model methods the way each Odoo protocol does, and shaping answers and errors.

Three protocols reach the same models:

* ``/jsonrpc`` (odoorpc): ``object.execute_kw(db, uid, password, model, method,
  args, kwargs)``; for a method on records the first positional argument is the
  list of ids; ``context`` travels in ``kwargs``.
* ``/web/dataset/call_kw/<model>/<method>`` with a session cookie: the same
  ``args``/``kwargs`` convention.
* JSON-2 (19.0+): ``POST /json/2/<model>/<method>`` with named arguments only,
  ``ids`` and ``context`` apart; a method returning records returns their ids.

Every call runs in one transaction whose start time is the ``write_date`` of
everything it writes. Errors become :class:`OdooError` s; :func:`rpc_error`
and :func:`json2_error` give them the recorded shapes (JSON-RPC: HTTP 200,
``{"code": 200, "message": "Odoo Server Error", "data": {...}}``; JSON-2: a
4xx/5xx status with the ``data`` object as body).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import attrs

from calsync.testing._odoo._errors import (
    AccessError,
    GenericError,
    NotFound,
    OdooAttributeError,
    OdooError,
    OdooTypeError,
    UnprocessableEntity,
    UserError,
)
from calsync.testing._odoo._models import Env, Registry
from calsync.testing._odoo._signatures import (
    OdooSignature,
    bind,
    bind_json2,
    check_forwarded,
    is_private,
    signature,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from calsync.testing._odoo._mail import OdooMail

__all__ = ["OdooCall", "call_model", "json2_error", "rpc_error", "rpc_result"]

JSONRPC = "jsonrpc"
XMLRPC = "xmlrpc"
WEB = "web"
JSON2 = "json2"


@attrs.frozen
class OdooCall:
    """One RPC call the server executed.

    ``protocol`` is ``"jsonrpc"`` (``/jsonrpc``), ``"web"`` (``/web/session/...`` and
    ``/web/dataset/call_kw``) or ``"json2"``; ``model`` is ``None`` for calls that
    are not model methods (``common.login``, ``version``, ``authenticate``);
    ``uid`` is ``None`` before authentication.
    """

    protocol: str
    model: str | None
    method: str
    uid: int | None


def debug_text(error: OdooError) -> str:
    """The ``debug`` field: a traceback whose server frames are elided, as in the recordings."""
    short = error.name.removeprefix("builtins.")
    frames = "Traceback (most recent call last):\n  ... (server frames elided) ...\n"
    return f"{frames}{short}: {error.message}"


def error_data(error: OdooError, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """``error.data`` (JSON-RPC) and the JSON-2 error body."""
    return {
        "name": error.name,
        "debug": debug_text(error),
        "message": error.message,
        "arguments": error.arguments,
        "context": context or {},
    }


def rpc_error(request_id: Any, error: OdooError) -> dict[str, Any]:
    """A JSON-RPC error envelope (sent with HTTP 200)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": error.rpc_code, "message": error.rpc_message, "data": error_data(error)},
    }


def rpc_result(request_id: Any, result: Any) -> dict[str, Any]:
    """A JSON-RPC result envelope; a ``None`` result leaves ``result`` out, as Odoo does [20]."""
    envelope: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if result is not None:
        envelope["result"] = result
    return envelope


def json2_error(error: OdooError) -> tuple[int, dict[str, Any]]:
    """A JSON-2 error: the exception's HTTP status and the serialised exception."""
    return error.http_status, error_data(error)


def _major(registry: Registry) -> int:
    return registry.settings.major


def _private_error(model: str, method: str, major: int) -> OdooError:
    if major <= 17:  # odoo/service/model.py check_method_name (17.0)
        return AccessError(f"Private methods (such as {method}) cannot be called remotely.")
    return AccessError(f"Private methods (such as '{model}.{method}') cannot be called remotely.")


def _missing_method_error(model: str, method: str, major: int, *, json2: bool) -> OdooError:
    if major <= 17:  # odoo/api.py call_kw (17.0)
        return OdooAttributeError(f"The method '{method}' does not exist on the model '{model}'")
    message = f"The method '{model}.{method}' does not exist"  # get_public_method (18.0+)
    return NotFound(message) if json2 else OdooAttributeError(message)


#: Private methods that exist on every model (18.0 refuses them as private; other
#: names starting with ``_`` do not exist there: odoo/service/model.py get_public_method).
_KNOWN_PRIVATE = frozenset(
    {"_read_format", "_search", "_read", "_fetch_query", "_compute_display_name", "_name_search"}
)


def find_method(
    registry: Registry, model: str, method: str, *, protocol: str
) -> tuple[Any, Callable[..., Any], OdooSignature]:
    """The model, the emulator's method and Odoo's signature of it; Odoo's error otherwise.

    Follows ``get_public_method`` (odoo/service/model.py, 18.0 and 19.0) and 17.0's
    ``check_method_name``: a private name is an AccessError (18.0: only when the
    method exists), a missing one an AttributeError (JSON-2: 404).
    """
    major = _major(registry)
    json2 = protocol == JSON2
    target = registry.models.get(model)
    if target is None:
        if json2:
            raise NotFound(f"the model {model!r} does not exist")
        raise UserError(f"Object {model} doesn't exist")
    if is_private(method, major) and (major != 18 or method in _KNOWN_PRIVATE):
        raise _private_error(model, method, major)
    func = getattr(target, method, None)
    sig = signature(model, method, major)
    if func is None or not hasattr(func, "_rpc") or sig is None:
        raise _missing_method_error(model, method, major, json2=json2)
    return target, func, sig


def _implementation_names(func: Callable[..., Any], on_records: bool) -> list[str]:
    """The emulator method's parameter names after ``env`` (and the ids), in Odoo's order."""
    params = list(inspect.signature(func).parameters.values())[1 + int(on_records) :]
    return [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


def _index_error(protocol: str, major: int) -> OdooError:
    """``args[0]`` of an empty ``args``: a tuple on 17.0/18.0's ``execute_kw``, else a list."""
    kind = "tuple" if protocol in (JSONRPC, XMLRPC) and major <= 18 else "list"
    return GenericError("builtins.IndexError", f"{kind} index out of range")


def call_model(
    registry: Registry,
    now: Callable[[], datetime],
    *,
    uid: int,
    model: str,
    method: str,
    args: list[Any],
    kwargs: dict[str, Any],
    protocol: str,
    ids: list[int] | None = None,
    base_context: dict[str, Any] | None = None,
    mails: list[OdooMail] | None = None,
) -> Any:
    """Run one model method in its own transaction and return its wire result.

    ``jsonrpc`` and ``web`` follow ``call_kw`` (odoo/api.py 17.0/18.0,
    odoo/service/model.py 19.0): a record method takes its ids from ``args[0]``,
    ``context`` is popped from ``kwargs``, the rest binds to Odoo's signature of the
    method (:mod:`._signatures`), and ``create`` reads ``args[0]`` after the call
    (``IndexError`` when the values came by keyword). ``json2`` follows
    ``web_json_2_rpc`` (addons/rpc/controllers/json2.py, 19.0): ids in ``ids``,
    names only, :meth:`inspect.Signature.bind`. Mails the call sends are appended
    to ``mails`` once the transaction committed.
    """
    major = _major(registry)
    kwargs = dict(kwargs)
    context = {**(base_context or {}), **(kwargs.pop("context", None) or {})}
    target, func, sig = find_method(registry, model, method, protocol=protocol)
    call_args = list(args)
    record_ids: Any = None
    if protocol == JSON2:
        if not sig.on_records and ids:
            raise UnprocessableEntity(f"cannot call {model}.{method} with ids")
        record_ids = list(ids or [])
        try:
            values, extra = bind_json2(sig, kwargs)
        except TypeError as exc:
            raise UnprocessableEntity(str(exc)) from None
    else:
        if sig.on_records:
            if not call_args:
                raise _index_error(protocol, major)
            record_ids = call_args.pop(0)
        try:
            values, extra = bind(sig, call_args, kwargs)
        except TypeError as exc:
            raise OdooTypeError(str(exc)) from None
    try:
        check_forwarded(sig, extra)
    except TypeError as exc:
        raise OdooTypeError(str(exc)) from None
    if sig.on_records:
        record_ids = [record_ids] if isinstance(record_ids, int) else list(record_ids or [])
    names = _implementation_names(func, sig.on_records)
    named = {names[i]: values[p] for i, p in enumerate(sig.params) if p in values}
    leading = [record_ids] if sig.on_records else []
    with registry.db.transaction():
        env = Env(registry, uid, context, now())
        result = func(env, *leading, **named, **extra)
        if method == "create" and protocol != JSON2 and not call_args:
            raise _index_error(protocol, major)  # result.id if isinstance(args[0], Mapping)
    if mails is not None:
        mails.extend(env.mails)
    if protocol == JSON2:
        return _as_json2(target, method, result)
    return result


_RETURNS_RECORDS = frozenset({"create", "find_or_create", "search", "exists"})


def _as_json2(target: Any, method: str, result: Any) -> Any:
    """JSON-2 returns the ids of a method that returns records (``create`` always a list)."""
    if method in _RETURNS_RECORDS and isinstance(result, int) and not isinstance(result, bool):
        return [result]
    return result
