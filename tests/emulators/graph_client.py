"""msgraph-sdk wired to a ``GraphEmulator``, for the emulator's tests.

This is test wiring only (the Outlook adapter has its own): the stock
middleware options (they rewrite ``/users/me-token-to-replace`` to ``/me``),
the SDK's retry handler off unless asked for, ``base_url`` without a
trailing slash, and a bearer token sent to ``127.0.0.1``. The SDK is async
and a client is tied to its event loop, so each client owns one loop.

msgraph-core's ``AsyncGraphTransport`` has no ``aclose``: closing the httpx
client leaves the wrapped transport's sockets open (a ResourceWarning, an
error under this project's pytest settings), so the client keeps its own
transport and closes it too.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.graph_request_adapter import options as default_options
from msgraph_core import GraphClientFactory

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from calsync.testing import GraphEmulator

T = TypeVar("T")


class StaticToken(AccessTokenProvider):
    """Hands the SDK one fixed bearer token for the loopback host."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_authorization_token(
        self,
        uri: str,
        additional_authentication_context: dict[str, Any] | None = None,
    ) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


class SdkClient:
    """A ``GraphServiceClient`` on the emulator, with its own event loop."""

    def __init__(self, graph: GraphEmulator, token: str, *, retry: bool = False) -> None:
        self.loop = asyncio.new_event_loop()
        opts = dict(default_options)
        if not retry:
            opts[RetryHandlerOption.get_key()] = RetryHandlerOption(should_retry=False)
        self.transport = httpx.AsyncHTTPTransport()
        self.http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=self.transport, timeout=10), options=opts
        )
        adapter = GraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(StaticToken(token)), client=self.http
        )
        adapter.base_url = graph.base_url
        self.graph = GraphServiceClient(request_adapter=adapter)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one SDK call to completion on this client's loop."""
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        """Close the HTTP client and the loop."""
        self.run(self.http.aclose())
        self.run(self.transport.aclose())
        self.loop.close()


def config(*headers: tuple[str, str], **query: Any) -> RequestConfiguration[Any]:
    """A request configuration with headers and (SDK-typed) query parameters object."""
    configuration: RequestConfiguration[Any] = RequestConfiguration()
    for name, value in headers:
        configuration.headers.add(name, value)
    if query:
        configuration.query_parameters = query.pop("parameters")
    return configuration
