"""The route table: which handler answers which method and path.

Routes are added by the modules that implement them (events and calendars,
delta, ``$batch``), each through a ``register(router)`` function, so new
endpoints (the identity platform, subscriptions) come as new modules with
their own ``register``. :meth:`Router.add_mailbox` registers a path once for
both ``/v1.0/me/...`` and ``/v1.0/users/{user}/...``; :meth:`Router.add`
takes any path, under ``/v1.0`` or not, with or without bearer auth.

Matching is per path segment: literal segments compare case-insensitively
(Graph's paths do), ``delta()`` matches ``delta`` (msgraph-sdk sends the
parentheses), ``{name}`` captures one percent-decoded segment, and runs of
``/`` collapse to one (the stock SDK may send ``/v1.0//me``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

import attrs

from calsync.testing._graph._errors import GraphError

if TYPE_CHECKING:
    from calsync.testing._graph._pipeline import GraphRequest, Pipeline
    from calsync.testing._graph._query import Prefer
    from calsync.testing._graph._state import MailboxState, Store
    from calsync.testing._server import Response

__all__ = ["Call", "Handler", "Route", "Router", "normalize_path"]

Handler = Callable[["Call"], "Response"]


def normalize_path(path: str) -> str:
    """Collapse runs of ``/`` and drop a trailing one."""
    parts = [part for part in path.split("/") if part]
    return "/" + "/".join(parts)


def _segments(path: str) -> tuple[str, ...]:
    return tuple(unquote(part) for part in normalize_path(path).split("/") if part)


def _literal(segment: str) -> str:
    return segment.removesuffix("()").lower()


@attrs.frozen
class Route:
    """One route. ``mailbox`` routes resolve the addressed mailbox (``/me`` or ``{user}``)."""

    method: str
    segments: tuple[str, ...]
    handler: Handler
    auth: bool = True
    mailbox: bool = False
    exclusive: bool = True

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """The captured parameters when ``segments`` fit this route."""
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, segment in zip(self.segments, segments, strict=False):
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = segment
            elif _literal(pattern) != _literal(segment):
                return None
        return params


class Router:
    """An ordered route table; the first matching route wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        auth: bool = True,
        mailbox: bool = False,
        exclusive: bool = True,
    ) -> None:
        """Route ``method pattern`` (a full path such as ``/v1.0/$batch``) to ``handler``.

        ``auth`` requires a valid bearer token; ``mailbox`` resolves the
        addressed mailbox; ``exclusive`` runs the handler under the state lock
        (off for handlers that take it themselves, like ``$batch``).
        """
        route = Route(method.upper(), _segments(pattern), handler, auth, mailbox, exclusive)
        self._routes.append(route)

    def add_mailbox(self, method: str, pattern: str, handler: Handler) -> None:
        """Route a mailbox path (``events/{event_id}``) under ``/me`` and ``/users/{user}``."""
        relative = pattern.strip("/")
        self.add(method, f"/v1.0/me/{relative}", handler, mailbox=True)
        self.add(method, f"/v1.0/users/{{user}}/{relative}", handler, mailbox=True)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request; 405 when only the method differs, else 400."""
        segments = _segments(path)
        path_known = False
        for route in self._routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method == method.upper():
                return route, params
            path_known = True
        if path_known:
            raise GraphError(405, "ErrorInvalidRequest", f"The method {method} is not allowed.")
        last = segments[-1] if segments else ""
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{last}'.")


@attrs.frozen
class Call:
    """One routed request as a handler sees it."""

    pipeline: Pipeline
    request: GraphRequest
    params: Mapping[str, str]
    mailbox: MailboxState | None
    prefer: Prefer

    @property
    def store(self) -> Store:
        """The emulator's state."""
        return self.pipeline.store

    @property
    def target(self) -> MailboxState:
        """The addressed mailbox (mailbox routes only)."""
        assert self.mailbox is not None
        return self.mailbox

    def body(self) -> Mapping[str, Any]:
        """The JSON object body; 400 ``RequestBodyRead`` when it is not one."""
        try:
            parsed = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise GraphError(400, "RequestBodyRead", "The request body is not valid JSON.") from exc
        if not isinstance(parsed, dict):
            raise GraphError(400, "RequestBodyRead", "The request body must be a JSON object.")
        return parsed

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        return self.request.param(name)

    def link(self, query: Mapping[str, str], path: str | None = None) -> str:
        """An absolute URL on the emulator for ``path`` (this request's) with ``query``."""
        where = normalize_path(path or self.request.path)
        encoded = urlencode(dict(query), safe="$':/,")
        return f"{self.pipeline.base_url}{where}" + (f"?{encoded}" if encoded else "")
