"""``POST /v1.0/$batch``: JSON batching as Graph does it.

The whole batch answers 400 when it does not parse: no ``requests`` list,
more than 20 requests, a duplicate or missing id, an absolute URL (Graph
takes relative ones only, without ``/v1.0``), a body without a
``Content-Type`` header, or a ``dependsOn`` naming no request of the batch.
Otherwise the outer answer is 200 with ``{"responses": [...]}``.

Each inner request runs through the same pipeline as a top-level one: it is
numbered and logged (``inner=True``), counted against its mailbox's
concurrency, matched by faults, authenticated with the batch's token and
routed to the same handlers; so it succeeds, fails or is throttled (its own
429 with ``Retry-After`` in its ``headers``) on its own. Requests run in
waves of at most 4 at once (Outlook's parallelism within a batch), in batch
order; a request waits for the ones it ``dependsOn`` and answers 424 when
one of them failed. Responses come in execution order, or shuffled
(deterministically, from the emulator's seed) when ``shuffle_batch`` is set.
A dropped-connection fault on an inner request drops the whole batch's
connection, after the requests before it have run. An inner body that is not
JSON (a garbled answer) travels as a base64 string.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import attrs

from calsync.testing._graph._errors import GraphError, error_body
from calsync.testing._server import Request, Response

if TYPE_CHECKING:
    from calsync.testing._graph._pipeline import GraphRequest, Pipeline
    from calsync.testing._graph._router import Call, Router

__all__ = ["MAX_REQUESTS", "register"]

MAX_REQUESTS = 20
PARALLEL = 4
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@attrs.frozen
class Inner:
    """One request of a batch, checked."""

    id: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    depends_on: tuple[str, ...]


def register(router: Router) -> None:
    """Add the ``$batch`` route."""
    router.add("POST", "/v1.0/$batch", handle_batch, exclusive=False)


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _inner(raw: object) -> Inner:
    if not isinstance(raw, Mapping):
        raise _bad("Each batch request must be an object.")
    request_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
    if not isinstance(request_id, str) or not request_id:
        raise _bad("Each batch request needs an id.")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise _bad(f"Request {request_id}: invalid method {method!r}.")
    if not isinstance(url, str) or not url:
        raise _bad(f"Request {request_id}: a url is required.")
    if _ABSOLUTE.match(url):
        raise _bad(f"Request {request_id}: the url must be relative, without host and version.")
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise _bad(f"Request {request_id}: headers must be an object.")
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    body = raw.get("body")
    if body is not None and "content-type" not in lowered:
        raise _bad(f"Write request id : {request_id} does not contain Content-Type header.")
    depends = raw.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise _bad(f"Request {request_id}: dependsOn must be a list of ids.")
    encoded = b"" if body is None else (body if isinstance(body, str) else json.dumps(body))
    return Inner(
        id=request_id,
        method=method.upper(),
        url=url,
        headers=lowered,
        body=encoded.encode() if isinstance(encoded, str) else encoded,
        depends_on=tuple(depends),
    )


def parse_batch(body: Mapping[str, Any]) -> list[Inner]:
    """The batch's requests; 400 for anything Graph refuses as a whole."""
    raw = body.get("requests")
    if not isinstance(raw, list) or not raw:
        raise _bad("A batch needs a non-empty requests list.")
    if len(raw) > MAX_REQUESTS:
        raise _bad(f"The batch holds {len(raw)} requests; at most {MAX_REQUESTS} are allowed.")
    found = [_inner(item) for item in raw]
    ids = [inner.id for inner in found]
    if len(set(ids)) != len(ids):
        raise _bad("Batch request ids must be unique.")
    for inner in found:
        unknown = [d for d in inner.depends_on if d not in ids or d == inner.id]
        if unknown:
            raise _bad(f"Request {inner.id} depends on unknown request(s) {unknown}.")
    return found


def _raw(inner: Inner, envelope: GraphRequest) -> Request:
    split = urlsplit("/v1.0/" + inner.url.lstrip("/"))
    headers = dict(inner.headers)
    for name in ("authorization",):
        if name in envelope.headers:
            headers[name] = envelope.headers[name]
    return Request(
        method=inner.method,
        path=split.path,
        query=parse_qs(split.query, keep_blank_values=True),
        headers=headers,
        body=inner.body,
        target=inner.url,
    )


def _answer(request_id: str, response: Response) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": request_id,
        "status": response.status,
        "headers": dict(response.headers),
    }
    if response.body:
        answer["body"] = _inner_body(response.body)
    return answer


def _inner_body(body: bytes) -> Any:
    """A JSON body as JSON; any other one (a garbled answer) base64-encoded, as Graph
    sends a non-JSON inner body ("Combine multiple HTTP requests using JSON
    batching": the file content of its first example comes back that way)."""
    try:
        return json.loads(body)
    except ValueError:
        return base64.b64encode(body).decode("ascii")


def _failed_dependency(inner: Inner) -> dict[str, Any]:
    body = error_body("FailedDependency", f"Request {inner.id} depends on a request that failed.")
    return {
        "id": inner.id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": body,
    }


def _run_wave(
    pipeline: Pipeline, envelope: GraphRequest, wave: list[Inner]
) -> list[tuple[str, Response]]:
    """Run up to four requests "at once": all are in flight until the wave ends."""
    requests = [
        pipeline.new_request(
            _raw(inner, envelope), inner=True, batch_index=envelope.index, batch_id=inner.id
        )
        for inner in wave
    ]
    refused = [pipeline.enter(request) for request in requests]
    if pipeline.settings.latency:  # the wave's requests run side by side: one latency
        time.sleep(pipeline.settings.latency)
    try:
        return [
            (request.batch_id or "", answer or pipeline.execute(request))
            for request, answer in zip(requests, refused, strict=False)
        ]
    finally:
        for request, answer in zip(requests, refused, strict=False):
            if answer is None:
                pipeline.leave(request)


def handle_batch(call: Call) -> Response:
    """``POST /v1.0/$batch``."""
    pending = parse_batch(call.body())
    status: dict[str, int] = {}
    answers: list[dict[str, Any]] = []
    while pending:
        ready = [i for i in pending if all(d in status for d in i.depends_on)]
        if not ready:
            for inner in pending:
                status[inner.id] = 424
                answers.append(_failed_dependency(inner))
            break
        wave: list[Inner] = []
        for inner in ready:
            pending.remove(inner)
            if any(not 200 <= status[d] < 300 for d in inner.depends_on):
                status[inner.id] = 424
                answers.append(_failed_dependency(inner))
                continue
            wave.append(inner)
            if len(wave) == PARALLEL:
                break
        for request_id, response in _run_wave(call.pipeline, call.request, wave):
            status[request_id] = response.status
            answers.append(_answer(request_id, response))
    if call.pipeline.settings.shuffle_batch:
        random.Random(call.pipeline.settings.seed + call.request.index).shuffle(answers)  # noqa: S311
    return Response.json(200, {"responses": answers})
