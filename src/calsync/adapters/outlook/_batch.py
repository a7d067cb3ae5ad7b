"""JSON batching for Graph: the request and answer types, and a batcher that fills batches.

Graph's ``$batch`` takes at most 20 requests with *relative* URLs; each inner
request succeeds, fails or is throttled on its own (see ``graph.md``).
msgraph-sdk's batch classes cannot be used as installed (an undeclared
dependency, absolute URLs), so calsync builds the body itself
(:func:`batch_body`) and reads the answers (:func:`read_answers`).

:class:`Batcher` lets each write run as plain sequential code (POST, then
read the instances, then PATCH them...) while the requests of all writes go
out together: a request waits until every running write is waiting too, then
all waiting requests leave as one round of ``$batch`` calls. N independent
writes of three steps cost three rounds of ``ceil(N / 20)`` batches, not 3N
requests.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from calsync._errors import (
    AccessDeniedError,
    AuthenticationError,
    MalformedAnswerError,
    NotFoundError,
    PreconditionFailedError,
    ProviderError,
    RejectedError,
    ThrottledError,
    TransientError,
)
from calsync._retry import parse_retry_after
from calsync._tasks import gather, settle

__all__ = [
    "MAX_BATCH",
    "Batcher",
    "Call",
    "Result",
    "batch_body",
    "decoded",
    "error_of",
    "read_answers",
]

MAX_BATCH = 20
RETRYABLE = frozenset({429, 503, 504})
T = TypeVar("T")


@attrs.frozen
class Call:
    """One Graph request: method, URL relative to the API root (``/me/events``), body.

    ``kind`` names it in the adapter's request counts (``post``, ``instances``...).
    """

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    kind: str = "get"


@attrs.frozen
class Result:
    """A Graph answer: status, lower-cased headers, parsed JSON body.

    ``status`` 0 means no answer came (a transport failure; ``failure`` says which).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: Any = None
    failure: ProviderError | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer that could be read (a garbled 200 carries its ``failure``)."""
        return 200 <= self.status < 300 and self.failure is None

    @property
    def code(self) -> str:
        """Graph's error code (``error.code``), or ''."""
        if isinstance(self.body, Mapping):
            error = self.body.get("error")
            if isinstance(error, Mapping) and isinstance(error.get("code"), str):
                return str(error["code"])
        return ""

    @property
    def message(self) -> str:
        """Graph's error message, or ''."""
        if isinstance(self.body, Mapping):
            error = self.body.get("error")
            if isinstance(error, Mapping) and isinstance(error.get("message"), str):
                return str(error["message"])
        return ""

    @property
    def retry_after(self) -> float | None:
        """The seconds the provider asked to wait, if it said."""
        return parse_retry_after(self.headers.get("retry-after"))

    @property
    def json(self) -> Mapping[str, Any]:
        """The body as a JSON object ({} when it is none)."""
        return self.body if isinstance(self.body, Mapping) else {}


def error_of(result: Result, *, side: str, event: str | None = None) -> ProviderError:
    """The calsync error for a failed answer (a copy naming ``side`` and ``event``)."""
    if result.failure is not None:
        failure = copy.copy(result.failure)  # one failure may stand for a whole batch
        failure.side = failure.side or side
        failure.event = failure.event or event
        return failure
    status, code = result.status, result.code or None
    text = result.message or f"Graph answered {status}"
    context: dict[str, Any] = {"code": code, "status": status, "side": side, "event": event}
    kind: type[ProviderError] = RejectedError
    if status == 429 or (status in (503, 504) and result.retry_after is not None):
        return ThrottledError(text, retry_after=result.retry_after, **context)
    if status >= 500 or status in (408, 424):
        kind = TransientError
    else:
        kind = _BY_STATUS.get(status, RejectedError)
    return kind(text, **context)


_BY_STATUS: dict[int, type[ProviderError]] = {
    401: AuthenticationError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: PreconditionFailedError,
    410: NotFoundError,
    412: PreconditionFailedError,
}


def batch_body(calls: Sequence[Call], ids: Sequence[str]) -> dict[str, Any]:
    """The ``$batch`` body for these calls (relative URLs, a Content-Type with each body)."""
    requests = []
    for request_id, call in zip(ids, calls, strict=True):
        entry: dict[str, Any] = {"id": request_id, "method": call.method, "url": call.url}
        headers = dict(call.headers)
        if call.body is not None:
            headers.setdefault("Content-Type", "application/json")
            entry["body"] = call.body
        if headers:
            entry["headers"] = headers
        requests.append(entry)
    return {"requests": requests}


def read_answers(payload: object, ids: Sequence[str], *, side: str) -> dict[str, Result]:
    """The inner answers of a ``$batch`` by request id (they come in any order).

    An outer body without a ``responses`` list, or an inner answer without a
    status, is a :class:`~calsync.MalformedAnswerError` for the requests it
    leaves unanswered.
    """
    responses = payload.get("responses") if isinstance(payload, Mapping) else None
    if not isinstance(responses, list):
        failure = MalformedAnswerError("Graph answered $batch without a responses list", side=side)
        return {request_id: Result(0, failure=failure) for request_id in ids}
    found: dict[str, Result] = {}
    for answer in responses:
        if not isinstance(answer, Mapping) or str(answer.get("id")) not in ids:
            continue
        raw_headers = answer.get("headers")
        headers = (
            {str(k).lower(): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, Mapping)
            else {}
        )
        status = answer.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            failure = MalformedAnswerError("Graph answered a $batch request without a status",
                                           side=side)  # fmt: skip
            found[str(answer["id"])] = Result(0, headers, failure=failure)
            continue
        found[str(answer["id"])] = decoded(status, headers, answer.get("body"), side=side)
    return found


def decoded(status: int, headers: Mapping[str, str], body: object, *, side: str) -> Result:
    """An answer with its body read: bytes or text as JSON (an inner ``$batch`` body that
    is not JSON comes base64-encoded), anything else as it is.

    A success whose body cannot be read as JSON (truncated, an HTML page from a
    proxy) carries a :class:`~calsync.MalformedAnswerError`: it is not a success.
    """
    if not isinstance(body, (bytes, str)):
        return Result(status, headers, body)
    if not body:
        return Result(status, headers, None)
    kind = headers.get("content-type", "application/json")
    parsed = _json(body) if "json" in kind else _NOT_JSON
    if parsed is _NOT_JSON and isinstance(body, str):  # base64, as Graph sends inner bodies
        parsed = _json(_base64(body)) if "json" in kind else _NOT_JSON
    if parsed is not _NOT_JSON:
        return Result(status, headers, parsed)
    if not 200 <= status < 300:
        return Result(status, headers, None)
    what = "unreadable JSON" if "json" in kind else f"a {kind.split(';')[0]} body"
    failure = MalformedAnswerError(f"Graph answered {status} with {what}", status=status, side=side)
    return Result(status, headers, None, failure)


_NOT_JSON = object()


def _json(text: bytes | str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


class Batcher:
    """Runs jobs concurrently and sends their requests together, round by round.

    ``send`` is the function that performs one round (``$batch`` calls, with
    retries). A round leaves when every job still running is waiting for
    answers, so the requests of all jobs at the same step share batches.
    """

    def __init__(self, send: Callable[[list[Call]], Awaitable[list[Result]]]) -> None:
        self._send = send
        self._active = 0
        self._blocked = 0
        self._pending: list[tuple[Call, asyncio.Future[Result], list[int]]] = []
        self._round: asyncio.Task[None] | None = None
        self.rounds = 0

    async def run(self, jobs: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
        """Run the jobs to completion; their results, in order.

        If the run is cancelled (or a job fails), the other jobs and the round
        in flight are cancelled too: no request of this batcher leaves afterwards.
        """
        self._active = len(jobs)
        try:
            return await gather(*(self._job(job) for job in jobs))
        finally:
            await settle([self._round])

    async def _job(self, job: Coroutine[Any, Any, T]) -> T:
        try:
            return await job
        finally:
            self._active -= 1
            self._maybe_flush()

    async def send(self, *calls: Call) -> list[Result]:
        """Send requests with the next round; their answers, in order."""
        if not calls:
            return []
        loop = asyncio.get_running_loop()
        ticket = [len(calls)]
        futures: list[asyncio.Future[Result]] = []
        for call in calls:
            future: asyncio.Future[Result] = loop.create_future()
            futures.append(future)
            self._pending.append((call, future, ticket))
        self._blocked += 1
        self._maybe_flush()
        return list(await asyncio.gather(*futures))

    def _maybe_flush(self) -> None:
        if self._round is not None or not self._pending or self._blocked < self._active:
            return
        pending, self._pending = self._pending, []
        self._round = asyncio.get_running_loop().create_task(self._flush(pending))

    async def _flush(self, pending: list[tuple[Call, asyncio.Future[Result], list[int]]]) -> None:
        self.rounds += 1
        try:
            results = await self._send([call for call, _, _ in pending])
        except BaseException as error:  # keep the jobs from waiting forever
            results = [
                Result(0, failure=TransientError(f"batch round failed: {error!r}")) for _ in pending
            ]
            if not isinstance(error, Exception):
                raise
        finally:
            self._round = None
        for (_, future, ticket), result in zip(pending, results, strict=True):
            ticket[0] -= 1
            if ticket[0] == 0:
                self._blocked -= 1
            if not future.done():
                future.set_result(result)
        self._maybe_flush()
