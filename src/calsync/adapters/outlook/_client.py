"""msgraph-sdk wired for calsync: one client per mailbox, its retries, its concurrency.

The client is built lazily, inside the running event loop (msgraph-sdk is
async only and an httpx client is tied to its loop), from:

- an httpx ``AsyncClient`` with its own transport (msgraph-core's transport
  wrapper has no ``aclose``: calsync closes the transport itself);
- msgraph-core's default middleware, with the SDK's RetryHandler **off**
  (``RetryHandlerOption(should_retry=False)``: it would re-send every
  method, POST included, sleeping inside the call) and the handler that
  rewrites ``/users/me-token-to-replace`` to ``/me`` kept;
- kiota's Azure authentication provider over any azure-core
  ``TokenCredential``, with the explicit scopes and ``allowed_hosts`` set to
  the base URL's host (it sends no token anywhere else; plain http only on
  localhost);
- ``GraphRequestAdapter`` with ``base_url`` without a trailing slash.

Requests are built with the SDK's request builders where Graph has one
(delta) or as ``RequestInformation`` (``$batch``), and answered through the
SDK's request adapter with a native response handler, so calsync reads
status, headers and JSON itself and applies its own retry policy
(:mod:`calsync._retry`): 429/503/504 and transport failures are retried,
``Retry-After`` honoured, at most ``max_concurrency`` requests in flight (a
``$batch`` counts as many as Outlook runs of it at once: up to 4). A shared
:class:`~calsync.ConcurrencyLimiter` (``limiter``), when set, is also taken
for every request, keyed by ``("graph", host, mailbox)``: adapters of one
mailbox (two calendars of one user, in two pairs) then share Graph's 4 slots,
and the limiter's ``total`` caps the whole app.

msgraph is imported here, inside :meth:`GraphTransport.client`, never at
``import calsync`` (it costs about 0.35 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from calsync._errors import (
    AuthenticationError,
    MalformedAnswerError,
    ProviderError,
    ThrottledError,
    TransientError,
)
from calsync._limits import ConcurrencyLimiter
from calsync._retry import RetryPolicy
from calsync._tasks import gather
from calsync.adapters.outlook._batch import (
    MAX_BATCH,
    RETRYABLE,
    Call,
    Result,
    batch_body,
    decoded,
    read_answers,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.graph_service_client import GraphServiceClient

__all__ = ["GraphTransport"]

logger = logging.getLogger("calsync.outlook")

#: Outlook runs at most this many requests of one ``$batch`` at once.
BATCH_PARALLELISM = 4


class GraphTransport:
    """The HTTP side of one Outlook mailbox: SDK wiring, retries, concurrency and counts."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        base_url: str,
        scopes: Sequence[str],
        retry: RetryPolicy,
        max_concurrency: int,
        timeout: float,
        side: str,
        mailbox: Callable[[], Hashable] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credential = credential
        self._scopes = list(scopes)
        self._retry = retry
        self._timeout = timeout
        self._side = side
        # This adapter's own cap; the shared limiter (if any) is keyed by mailbox.
        self._own = ConcurrencyLimiter(max_concurrency)
        self._mailbox = mailbox or (lambda: id(self))
        #: A limiter shared with other adapters (None: only ``max_concurrency`` applies).
        self.limiter: ConcurrencyLimiter | None = None
        self._client: GraphServiceClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._transport: httpx.AsyncHTTPTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Top-level HTTP requests sent (a ``$batch`` counts 1; retries count).
        self.requests = 0
        #: Requests by kind: top-level ("delta", "batch", "me") and inner ("batch:post"...).
        self.calls: Counter[str] = Counter()
        #: Answers 429 (throttled), top-level and inside ``$batch`` alike.
        self.throttled = 0

    def limit_key(self) -> Hashable:
        """The shared limiter's key for this mailbox: ``("graph", host[:port], mailbox)``."""
        return ("graph", urlsplit(self.base_url).netloc.lower(), self._mailbox())

    @property
    def host(self) -> str:
        """The API host (the only host that gets the token)."""
        return urlsplit(self.base_url).hostname or ""

    # -- wiring --------------------------------------------------------------------------------

    def client(self) -> GraphServiceClient:
        """The SDK client, built on first use inside the running loop."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.middleware.options import RetryHandlerOption
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as default_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]

        options = dict(default_options)
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(should_retry=False)
        self._transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=self._transport, timeout=self._timeout),
            options=options,
        )
        self._http = http
        auth = AzureIdentityAuthenticationProvider(
            self._credential, scopes=self._scopes, allowed_hosts=[self.host]
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = self.base_url
        self._client = GraphServiceClient(request_adapter=adapter)
        self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client and its transport."""
        http, transport = self._http, self._transport
        self._client = self._http = self._transport = None
        if http is not None:
            await http.aclose()
        if transport is not None:
            await transport.aclose()

    # -- sending -------------------------------------------------------------------------------

    def request(self, method: str, url: str, body: Any = None) -> RequestInformation:
        """A ``RequestInformation`` for an absolute URL on the API."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        info = RequestInformation()
        info.http_method = Method(method.upper())
        info.url = url
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body).encode()
        return info

    async def _send_once(self, info: RequestInformation, weight: int) -> tuple[Result, str | None]:
        """One request; its answer, and the access token it carried (to reject on a 401)."""
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_http.middleware.options import ResponseHandlerOption

        client = self.client()
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        if info.headers.contains("Authorization"):  # each attempt asks for a current token
            info.headers.remove("Authorization")
        shared, key = self.limiter, self.limit_key()
        taken = await self._own.acquire(None, weight)
        held = 0
        try:
            if shared is not None:
                held = await shared.acquire(key, weight)
            self.requests += 1
            adapter: Any = client.request_adapter
            response = await adapter.send_primitive_async(info, "bytes", None)
        except (httpx.TransportError, httpx.StreamError) as error:
            return Result(0, failure=TransientError(f"no answer from Graph: {type(error).__name__}",
                                                    side=self._side)), None  # fmt: skip
        finally:
            if held:
                assert shared is not None
                shared.release(key, held)
            self._own.release(None, taken)
        assert isinstance(response, httpx.Response)
        headers = {k.lower(): v for k, v in response.headers.items()}
        sent = response.request.headers.get("authorization", "")
        token = sent[7:] if sent[:7].lower() == "bearer " else None
        return decoded(response.status_code, headers, response.content, side=self._side), token

    async def send(self, info: RequestInformation, kind: str, *, weight: int = 1) -> Result:
        """Send one request with calsync's retries; a transport failure comes back as status 0.

        A 401 (an access token Graph refused: revoked, or expired before the
        credential thought) is sent again once, after telling a credential
        that can refresh (``reject(token)``, as :class:`~calsync.auth.MicrosoftCredential`
        does) to get another token; a second 401 is an
        :class:`~calsync.AuthenticationError` that says what to do.
        """
        attempt = self._retry.begin()
        rejected = False
        while True:
            self.calls[kind] += 1
            result, token = await self._send_once(info, weight)
            self.throttled += result.status == 429
            if result.status == 401:
                if not rejected and self._reject(token):
                    rejected = True
                    logger.info("Graph refused the access token; retrying with a new one")
                    continue
                return _refused(result, self._side, refreshed=rejected)
            if not _retryable(result):
                return result
            delay = attempt.next_delay(result.retry_after)
            if delay is None:
                return _exhausted(result, self._side)
            logger.info("Graph %s answered %s; retrying in %.2fs", kind, result.status, delay)
            await self._retry.sleep(delay)

    def _reject(self, token: str | None) -> bool:
        """Tell the credential Graph refused ``token``; False when it cannot get another."""
        reject = getattr(self._credential, "reject", None)
        if token is None or not callable(reject):
            return False
        reject(token)
        return True

    def prefer(self, page_size: int | None = None) -> str:
        """The ``Prefer`` header every request carries (ids immutable, times in UTC)."""
        parts = ['IdType="ImmutableId"', 'outlook.timezone="UTC"']
        parts.append('outlook.body-content-type="html"')
        if page_size is not None:
            parts.append(f"odata.maxpagesize={page_size}")
        return ", ".join(parts)

    async def batch(self, calls: Sequence[Call]) -> list[Result]:
        """Send calls as ``$batch`` requests of at most 20, concurrently; answers in order.

        Inner requests answered 429, 503 or 504 (or not at all) are sent again
        (only those), after the longest ``Retry-After`` among them, within the
        retry policy. A garbled answer is not: it is the request's result
        (:class:`~calsync.MalformedAnswerError`), for the next run to retry.
        """
        results: list[Result | None] = [None] * len(calls)
        attempts = [self._retry.begin() for _ in calls]
        todo = list(range(len(calls)))
        while todo:
            size = self._batch_size()
            chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
            answers = await gather(*(self._envelope([calls[i] for i in c]) for c in chunks))
            again: list[int] = []
            waits: list[float] = []
            for chunk, chunk_answers in zip(chunks, answers, strict=True):
                for index, result in zip(chunk, chunk_answers, strict=True):
                    self.throttled += result.status == 429
                    if _retryable(result):
                        delay = attempts[index].next_delay(result.retry_after)
                        if delay is not None:
                            again.append(index)
                            waits.append(delay)
                            continue
                        results[index] = _exhausted(result, self._side)
                        continue
                    results[index] = result
            todo = again
            if todo:
                logger.info("retrying %d requests of a batch in %.2fs", len(todo), max(waits))
                await self._retry.sleep(max(waits))
        return [result or Result(0) for result in results]

    def _batch_size(self) -> int:
        """Requests per ``$batch``: Outlook runs up to 4 of them at once, so under a cap
        below 4 (``max_concurrency``, the shared limiter's) a batch holds at most the cap."""
        caps = [self._own.per_key]
        if self.limiter is not None:
            caps.append(self.limiter.per_key)
            if self.limiter.total is not None:
                caps.append(self.limiter.total)
        cap = min(caps)
        return MAX_BATCH if cap >= BATCH_PARALLELISM else cap

    async def _envelope(self, calls: Sequence[Call]) -> list[Result]:
        """One ``$batch`` call; a failed envelope fails each of its requests alike."""
        ids = [str(i + 1) for i in range(len(calls))]
        for call in calls:
            self.calls[f"batch:{call.kind}"] += 1
        info = self.request("POST", f"{self.base_url}/$batch", batch_body(calls, ids))
        weight = min(len(calls), BATCH_PARALLELISM)
        envelope = await self.send(info, "batch", weight=weight)
        if not envelope.ok:
            return [envelope] * len(calls)
        found = read_answers(envelope.body, ids, side=self._side)
        missing = MalformedAnswerError("Graph's $batch answer left a request out", side=self._side)
        return [found.get(request_id, Result(0, failure=missing)) for request_id in ids]


def _retryable(result: Result) -> bool:
    """Throttled, unavailable or unanswered: worth sending again within the run."""
    if isinstance(result.failure, MalformedAnswerError):
        return False
    return result.status in RETRYABLE or result.status == 0


def _refused(result: Result, side: str, *, refreshed: bool) -> Result:
    """A 401 calsync will not retry: the failure says what the caller must do."""
    reason = f"{result.code or 'InvalidAuthenticationToken'}: {result.message or 'refused'}"
    if refreshed:
        text = (
            f"Graph refused the access token again after a refresh ({reason}): the user's "
            "grant no longer opens this mailbox; have them sign in again"
        )
    else:
        text = (
            f"Graph refused the access token ({reason}): it was revoked or expired before its "
            "stated expiry, and this credential cannot fetch another; give it a new token "
            "(calsync.auth.MicrosoftAuth refreshes its own)"
        )
    failure = AuthenticationError(text, code=result.code or None, status=401, side=side)
    return Result(result.status, result.headers, result.body, failure)


def _exhausted(result: Result, side: str) -> Result:
    """A failed answer once retries ran out: the failure says throttled or transient."""
    if result.failure is not None:
        return result
    if result.status == 429 or result.retry_after is not None:
        failure: ProviderError = ThrottledError(
            f"Graph still throttles after retries ({result.code or result.status})",
            retry_after=result.retry_after,
            code=result.code or None,
            status=result.status,
            side=side,
        )
    else:
        failure = TransientError(
            f"Graph still fails after retries ({result.code or result.status})",
            code=result.code or None,
            status=result.status,
            side=side,
        )
    return Result(result.status, result.headers, result.body, failure)
