"""A browser's first hop, for the sign-in tests: one GET, no redirect followed."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit


def visit(url: str) -> tuple[int, str, str]:
    """GET ``url`` (a loopback ``http`` URL): (status, Location header, body)."""
    split = urlsplit(url)
    assert split.scheme == "http"
    assert split.hostname is not None
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    try:
        connection.request("GET", f"{split.path}?{split.query}")
        response = connection.getresponse()
        return response.status, response.getheader("Location") or "", response.read().decode()
    finally:
        connection.close()
