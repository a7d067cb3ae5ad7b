"""Graph's error answers.

Every failure inside the emulator is a :class:`GraphError` carrying the HTTP
status, Graph's error ``code`` and a message; :func:`error_body` turns it into
Graph's JSON shape ``{"error": {"code", "message", "innerError": {...}}}`` so
that msgraph-sdk raises its ``ODataError`` with the same fields as in
production.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

__all__ = ["DEFAULT_CODES", "GraphError", "error_body"]

#: The code Graph (or Outlook behind it) uses for a status when a fault names none.
DEFAULT_CODES: dict[int, str] = {
    400: "ErrorInvalidRequest",
    401: "InvalidAuthenticationToken",
    403: "ErrorAccessDenied",
    404: "ErrorItemNotFound",
    405: "ErrorInvalidRequest",
    409: "ErrorIrresolvableConflict",
    410: "syncStateNotFound",
    412: "ErrorIrresolvableConflict",
    424: "FailedDependency",
    429: "ApplicationThrottled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class GraphError(Exception):
    """A Graph error answer: ``status``, Graph ``code``, ``message`` and extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(code: str, message: str, client_request_id: str | None = None) -> dict[str, Any]:
    """Graph's error JSON, with a fresh ``request-id`` and the caller's ``client-request-id``."""
    request_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now,
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }
