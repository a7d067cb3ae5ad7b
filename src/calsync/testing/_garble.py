"""Garbled answers: what a proxy, a load balancer or a half-dead server sends back with a 200.

Both emulators can rewrite their own answer to a matching request into one
of these (``GraphEmulator.garble``, ``OdooEmulator.garble``). The request is
handled first, so a write is made and only its answer comes back wrong, as
when the damage happens on the way back.

Kinds every answer can take (:data:`BODY_KINDS`):

- ``"truncated"``: the body cut in the middle (invalid JSON, same headers);
- ``"html"``: an HTML page (``text/html``), as a proxy or a captive portal
  answers, with the original status;
- ``"null"``: the JSON literal ``null``;
- ``"empty"``: no body at all.

Kinds that edit the JSON the server would have sent are per protocol (see
:data:`GRAPH_KINDS` and :data:`ODOO_KINDS`); a callable instead of a kind
receives that JSON (Graph: the body; Odoo: the call's ``result``) and
returns the garbled one. An edit that does not apply to an answer (no
``value`` to break, no rows) leaves the answer as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from calsync.testing._server import Request, Response

__all__ = [
    "BODY_KINDS",
    "GRAPH_KINDS",
    "ODOO_KINDS",
    "Edit",
    "garble_body",
    "graph_rewrite",
    "odoo_rewrite",
]

#: Edits the JSON of an answer (Graph: the body; Odoo: the ``result``).
Edit = Callable[[Any], Any]

_HTML = (
    b"<!DOCTYPE html><html><head><title>Sign in to continue</title></head>"
    b"<body><h1>Network login required</h1><p>Please sign in.</p></body></html>"
)
_NOT_CHANGED = object()


def _truncated(response: Response) -> Response:
    return attrs.evolve(response, body=response.body[: max(len(response.body) // 2, 1)])


def _html(response: Response) -> Response:
    headers = tuple((k, v) for k, v in response.headers if k.lower() != "content-type")
    return Response(response.status, _HTML, (("Content-Type", "text/html"), *headers))


def _literal(text: bytes) -> Callable[[Response], Response]:
    def answer(response: Response) -> Response:
        headers = tuple((k, v) for k, v in response.headers if k.lower() != "content-type")
        if not text:
            return Response(response.status, b"", headers)
        return Response(response.status, text, (("Content-Type", "application/json"), *headers))

    return answer


#: Kinds both emulators know: they replace the bytes of the answer.
BODY_KINDS: dict[str, Callable[[Response], Response]] = {
    "truncated": _truncated,
    "html": _html,
    "null": _literal(b"null"),
    "empty": _literal(b""),
}


def garble_body(response: Response, edit: Edit) -> Response:
    """The answer with its JSON body edited (unchanged when it has no JSON body)."""
    try:
        payload = json.loads(response.body) if response.body else _NOT_CHANGED
    except ValueError:
        return response
    if payload is _NOT_CHANGED:
        return response
    changed = edit(payload)
    if changed is _NOT_CHANGED:
        return response
    return attrs.evolve(response, body=json.dumps(changed).encode())


def _edit_key(key: str, value: Callable[[Any], Any]) -> Edit:
    def edit(payload: Any) -> Any:
        if not isinstance(payload, dict) or key not in payload:
            return _NOT_CHANGED
        return {**payload, key: value(payload[key])}

    return edit


def _drop_keys(*keys: str) -> Edit:
    def edit(payload: Any) -> Any:
        if not isinstance(payload, dict) or not any(k in payload for k in keys):
            return _NOT_CHANGED
        return {k: v for k, v in payload.items() if k not in keys}

    return edit


def _not_an_event(payload: Any) -> Any:
    if not isinstance(payload, dict):
        return _NOT_CHANGED
    return {k: v for k, v in payload.items() if k == "@odata.context"}


#: Graph kinds that edit the JSON body.
GRAPH_KINDS: dict[str, Edit] = {
    "value-not-list": _edit_key("value", lambda value: {"garbled": True}),
    "no-value": _drop_keys("value"),
    "no-link": _drop_keys("@odata.nextLink", "@odata.deltaLink"),
    "not-an-event": _not_an_event,
}


def _first_row(change: Callable[[dict[str, Any]], dict[str, Any]], row: int) -> Edit:
    def edit(result: Any) -> Any:
        if not isinstance(result, list) or len(result) <= row or not isinstance(result[row], dict):
            return _NOT_CHANGED
        rows = list(result)
        rows[row] = change(dict(rows[row]))
        return rows

    return edit


def _without_id(values: dict[str, Any]) -> dict[str, Any]:
    values.pop("id", None)
    return values


def _wrong_types(values: dict[str, Any]) -> dict[str, Any]:
    values["start"] = 123
    values.pop("stop", None)
    return values


def odoo_kinds(row: int = 0) -> dict[str, Edit]:
    """Odoo kinds that edit the ``result`` (``row``: which row the row kinds damage)."""
    return {
        "result-string": lambda result: "garbled",
        "result-not-list": lambda result: {"garbled": True},
        "row-without-id": _first_row(_without_id, row),
        "wrong-types": _first_row(_wrong_types, row),
    }


#: Odoo kinds that edit the ``result`` (plus ``"no-result"``: an envelope without one).
ODOO_KINDS = (*odoo_kinds(), "no-result")


def _kind_error(kind: object, known: tuple[str, ...]) -> TypeError:
    return TypeError(f"unknown garbling {kind!r}: use a callable or one of {sorted(known)}")


def graph_rewrite(kind: str | Edit) -> Callable[[Request, Response], Response]:
    """The rewrite of a Graph answer for ``kind``."""
    if callable(kind):
        edit: Edit = kind
    elif kind in BODY_KINDS:
        whole = BODY_KINDS[kind]
        return lambda _request, response: whole(response)
    elif kind in GRAPH_KINDS:
        edit = GRAPH_KINDS[kind]
    else:
        raise _kind_error(kind, (*BODY_KINDS, *GRAPH_KINDS))
    return lambda _request, response: garble_body(response, edit)


def odoo_rewrite(
    kind: str | Edit, *, json2: Callable[[Request], bool], row: int = 0
) -> Callable[[Request, Response], Response]:
    """The rewrite of an Odoo answer for ``kind``.

    ``json2`` tells a JSON-2 request (whose body is the result itself) from a
    JSON-RPC one (whose body is an envelope with a ``result``).
    """
    if isinstance(kind, str) and kind in BODY_KINDS:
        whole = BODY_KINDS[kind]
        return lambda _request, response: whole(response)
    if kind == "no-result":

        def no_result(request: Request, response: Response) -> Response:
            if json2(request):
                return BODY_KINDS["empty"](response)
            return garble_body(response, _drop_keys("result"))

        return no_result
    if callable(kind):
        edit: Edit = kind
    elif kind in odoo_kinds(row):
        edit = odoo_kinds(row)[kind]
    else:
        raise _kind_error(kind, (*BODY_KINDS, *ODOO_KINDS))

    def in_result(payload: Any) -> Any:
        if not isinstance(payload, dict) or "result" not in payload:
            return _NOT_CHANGED
        changed = edit(payload["result"])
        return _NOT_CHANGED if changed is _NOT_CHANGED else {**payload, "result": changed}

    def rewrite(request: Request, response: Response) -> Response:
        return garble_body(response, edit if json2(request) else in_result)

    return rewrite
