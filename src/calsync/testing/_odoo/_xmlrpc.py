"""XML-RPC as Odoo serves it: ``/xmlrpc/2/<service>`` (int fault codes) and ``/xmlrpc/<service>``.

The most common way integrators reach Odoo (Python's own :mod:`xmlrpc.client`).
Follows odoo/addons/base/controllers/rpc.py (17.0 and 18.0; addons/rpc in 19.0):
the body is read with ``xmlrpc.client.loads(data, use_datetime=True)``, the call
goes to the same ``common``/``object``/``db`` services as ``/jsonrpc``, and the
answer is marshalled with ``allow_none=False`` (a method returning nothing, such
as ``action_mass_deletion``, ends in a marshalling fault, as on a real server).
Errors become faults (HTTP 200, ``text/xml``), as ``xmlrpc_handle_exception_int``
codes them on ``/xmlrpc/2``:

==========================================  ========================================
exception                                   fault
==========================================  ========================================
``odoo.exceptions.AccessError``             4, the message
``odoo.exceptions.AccessDenied``            3, the message ("Access Denied")
other ``UserError`` (Validation, Missing)   2, the message
anything else                               1, the traceback (frames elided here)
==========================================  ========================================

``/xmlrpc/<service>`` (``xmlrpc_handle_exception_string``) puts the kind in a
string ``faultCode``: ``"warning -- AccessError\\n\\n<message>"`` and so on.
"""

from __future__ import annotations

import xmlrpc.client
from typing import TYPE_CHECKING, Any

from calsync.testing._odoo._errors import (
    AccessDenied,
    AccessError,
    GenericError,
    MissingError,
    OdooError,
    UserError,
)
from calsync.testing._odoo._rpc import XMLRPC, debug_text
from calsync.testing._odoo._values import json_ready

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["XMLRPC", "answer", "fault", "parse"]

# 0 to 31, excluding tab, newline and carriage return (Odoo's CONTROL_CHARACTERS)
_CONTROL = dict.fromkeys(set(range(32)) - {9, 10, 13})


def parse(body: bytes) -> tuple[str, list[Any]]:
    """The method and its parameters, as ``xmlrpc.client.loads`` reads them."""
    try:
        params, method = xmlrpc.client.loads(body, use_datetime=True)
    except Exception as exc:  # Odoo lets any parse error become a fault
        raise GenericError(f"{type(exc).__module__}.{type(exc).__name__}", str(exc)) from None
    return str(method), [_plain(item) for item in params]


def _plain(value: Any) -> Any:
    """Datetimes as Odoo's wire strings (odoo reads them as datetime objects and accepts both)."""
    from datetime import datetime

    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_CONTROL)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    return value


def _envelope(marshalled: str) -> bytes:
    """Odoo's ``dumps``: its own XML header around the marshaller's output."""
    return f'<?xml version="1.0"?>\n<methodResponse>\n{marshalled}\n</methodResponse>\n'.encode()


def answer(result: Any, *, int_codes: bool) -> bytes:
    """A method response; ``None`` (not marshallable without ``allow_none``) is a fault."""
    try:
        marshalled = xmlrpc.client.Marshaller(allow_none=False).dumps((_clean(json_ready(result)),))
    except TypeError as exc:
        return fault(GenericError("builtins.TypeError", str(exc)), int_codes=int_codes)
    return _envelope(marshalled)


def fault(error: OdooError, *, int_codes: bool) -> bytes:
    """The fault Odoo sends for ``error``."""
    code: int | str
    if int_codes:
        code, text = _int_fault(error)
    else:
        code, text = _string_fault(error)
    # typeshed types faultCode as int; Odoo's /xmlrpc/<service> sends strings all the same
    error_fault = xmlrpc.client.Fault(code, text)  # type: ignore[arg-type]
    return _envelope(xmlrpc.client.Marshaller(allow_none=False).dumps(error_fault))


def _int_fault(error: OdooError) -> tuple[int, str]:
    if isinstance(error, AccessError):
        return 4, error.message
    if isinstance(error, AccessDenied):
        return 3, error.message
    if isinstance(error, UserError):
        return 2, error.message
    return 1, debug_text(error) + "\n"


def _string_fault(error: OdooError) -> tuple[str, str]:
    kinds: tuple[tuple[type[OdooError], str], ...] = (
        (MissingError, "MissingError"),
        (AccessError, "AccessError"),
    )
    for cls, kind in kinds:
        if isinstance(error, cls):
            return f"warning -- {kind}\n\n{error.message}", ""
    if isinstance(error, AccessDenied):
        return "AccessDenied", error.message
    if isinstance(error, UserError):
        return f"warning -- UserError\n\n{error.message}", ""
    return error.message, debug_text(error) + "\n"


def serve(
    body: bytes, service: str, dispatch: Callable[[str, str, list[Any]], Any], *, int_codes: bool
) -> bytes:
    """Read one XML-RPC request, run it on ``service``, and answer or fault."""
    try:
        method, params = parse(body)
        result = dispatch(service, method, params)
    except OdooError as error:
        return fault(error, int_codes=int_codes)
    return answer(result, int_codes=int_codes)


__all__ += ["serve"]
