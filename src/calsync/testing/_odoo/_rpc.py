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
    NotFound,
    OdooAttributeError,
    OdooError,
    OdooTypeError,
    UnprocessableEntity,
    UserError,
)
from calsync.testing._odoo._models import Env, Registry

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from calsync.testing._odoo._mail import OdooMail

__all__ = ["OdooCall", "call_model", "json2_error", "rpc_error", "rpc_result"]

JSONRPC = "jsonrpc"
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


def find_method(
    registry: Registry, model: str, method: str, *, protocol: str
) -> tuple[Any, Callable[..., Any]]:
    """The model and its public method, or Odoo's error for a missing/private one."""
    target = registry.models.get(model)
    if target is None:
        if protocol == JSON2:
            raise NotFound(f"the model {model!r} does not exist")
        raise UserError(f"Object {model} doesn't exist")
    if method.startswith("_"):
        raise AccessError(
            f"Private methods (such as '{model}.{method}') cannot be called remotely."
        )
    func = getattr(target, method, None)
    if func is None or not hasattr(func, "_rpc"):
        message = f"The method '{model}.{method}' does not exist"
        raise NotFound(message) if protocol == JSON2 else OdooAttributeError(message)
    return target, func


def bind(
    func: Callable[..., Any], env: Env, args: list[Any], kwargs: dict[str, Any], *, json2: bool
) -> inspect.BoundArguments:
    """Bind the call's arguments to the method's Odoo signature (Python's own TypeErrors)."""
    try:
        return inspect.signature(func).bind(env, *args, **kwargs)
    except TypeError as exc:
        raise (UnprocessableEntity if json2 else OdooTypeError)(str(exc)) from None


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

    For ``jsonrpc``/``web`` a record method takes its ids from ``args[0]``; for
    ``json2`` they come in ``ids``. Mails the call sends are appended to ``mails``
    once the transaction committed.
    """
    kwargs = dict(kwargs)
    context = {**(base_context or {}), **(kwargs.pop("context", None) or {})}
    target, func = find_method(registry, model, method, protocol=protocol)
    kind = func._rpc  # type: ignore[attr-defined]
    call_args = list(args)
    record_ids: Any
    if kind == "multi":
        if protocol == JSON2:
            record_ids = ids or []
        else:
            if not call_args:
                raise _missing_ids_error()
            record_ids = call_args.pop(0)
        record_ids = [record_ids] if isinstance(record_ids, int) else list(record_ids or [])
        call_args.insert(0, record_ids)
    elif protocol == JSON2 and ids:
        raise UnprocessableEntity(f"cannot call {model}.{method} with ids")
    with registry.db.transaction():
        env = Env(registry, uid, context, now())
        bound = bind(func, env, call_args, kwargs, json2=protocol == JSON2)
        result = func(*bound.args, **bound.kwargs)
    if mails is not None:
        mails.extend(env.mails)
    if protocol == JSON2:
        return _as_json2(target, method, result)
    return result


def _missing_ids_error() -> OdooError:
    """Odoo's error for a record method called without its ids argument."""
    from calsync.testing._odoo._errors import GenericError

    return GenericError("builtins.IndexError", "list index out of range")


_RETURNS_RECORDS = frozenset({"create", "find_or_create", "search", "exists"})


def _as_json2(target: Any, method: str, result: Any) -> Any:
    """JSON-2 returns the ids of a method that returns records (``create`` always a list)."""
    if method in _RETURNS_RECORDS and isinstance(result, int) and not isinstance(result, bool):
        return [result]
    return result
