"""The HTTP client msal runs on: httpx behind msal's requests-like ``get``/``post`` seam.

msal accepts any ``http_client`` with requests-like ``get(url, params=,
headers=)`` and ``post(url, params=, data=, headers=)`` returning objects
with ``status_code``, ``text`` and ``headers``; httpx's responses have them.

Two additions:

- discovery documents (``/.well-known/openid-configuration``,
  ``/discovery/instance``) are kept for a day, shared by every per-account
  msal application of one :class:`~calsync.auth.MicrosoftAuth`, so building
  an application for another account costs no request;
- an ``http://`` authority host on loopback (an emulator) is presented to
  msal, which accepts only ``https`` authorities, as ``https://`` on the same
  host and port: requests to it are sent over plain HTTP with
  ``X-Forwarded-Proto: https`` (a TLS-terminating proxy's header), so the
  server answers with ``https`` URLs of itself, which map back the same way.
  Only loopback hosts may use plain HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from calsync import _arguments as checks
from calsync._errors import ConfigurationError

__all__ = ["LOOPBACK_HOSTS", "MsalHttp", "authority_bases"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DISCOVERY_TTL = 24 * 3600.0


def authority_bases(authority_host: str) -> tuple[str, str]:
    """(the base URL requests go to, the base URL msal is shown) of an authority host."""
    split = urlsplit(checks.text("authority_host", authority_host).strip().rstrip("/"))
    if not split.netloc or split.path or split.query:
        raise ConfigurationError(
            "authority_host must be a scheme and host such as https://login.microsoftonline.com"
        )
    public = f"{split.scheme}://{split.netloc}"
    if split.scheme == "https":
        return public, public
    if split.scheme == "http" and split.hostname in LOOPBACK_HOSTS:
        return public, f"https://{split.netloc}"
    raise ConfigurationError(
        "authority_host must use https (plain http is allowed on loopback only, for emulators)"
    )


class MsalHttp:
    """msal's ``http_client``: httpx, a discovery cache, and the loopback mapping."""

    def __init__(self, client: httpx.Client, public_base: str, msal_base: str) -> None:
        self._client = client
        self._public = public_base
        self._shown = msal_base
        self._cache: dict[tuple[str, str], tuple[float, httpx.Response]] = {}
        self._lock = threading.Lock()

    def to_public(self, url: str) -> str:
        """A URL msal uses, as a browser or this client must request it."""
        if self._shown != self._public and url.startswith(self._shown):
            return self._public + url[len(self._shown) :]
        return url

    def _headers(self, url: str, headers: Mapping[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if self._shown != self._public and url.startswith(self._shown):
            merged["X-Forwarded-Proto"] = "https"
        return merged

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        """GET; discovery documents come from the cache when fresh."""
        cacheable = url.endswith(("/.well-known/openid-configuration", "/discovery/instance"))
        key = (url, repr(sorted((params or {}).items())))
        if cacheable:
            with self._lock:
                found = self._cache.get(key)
            if found is not None and found[0] > time.monotonic():
                return found[1]
        response = self._client.get(
            self.to_public(url), params=dict(params or {}), headers=self._headers(url, headers)
        )
        if cacheable and 200 <= response.status_code < 300:
            with self._lock:
                self._cache[key] = (time.monotonic() + _DISCOVERY_TTL, response)
        return response

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        """POST a form (the token endpoint)."""
        return self._client.post(
            self.to_public(url),
            params=dict(params or {}),
            data=data,
            headers=self._headers(url, headers),
        )

    def close(self) -> None:
        """Nothing: the owner closes the httpx client (msal applications share this object)."""

    def __repr__(self) -> str:
        return f"MsalHttp({self._public!r})"
