"""``StaticToken``: an azure-core credential that hands out one bearer token."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken

from calsync._errors import ConfigurationError

__all__ = ["StaticToken"]


class StaticToken:
    """A ``TokenCredential`` holding one fixed bearer token (for tests and emulators).

    Its ``repr`` never shows the token. ``expires_on`` defaults to an hour
    from each call.
    """

    def __init__(self, token: str, *, expires_on: int | None = None) -> None:
        if not isinstance(token, str):
            raise TypeError(f"a StaticToken holds a string, not {type(token).__name__}")
        if not token.strip():
            raise ConfigurationError("a StaticToken needs a token: it was given an empty one")
        self.__token = token
        self._expires_on = expires_on

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The token, whatever the scopes."""
        expires = self._expires_on or int(time.time()) + 3600
        return AccessToken(self.__token, expires)

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    __str__ = __repr__
