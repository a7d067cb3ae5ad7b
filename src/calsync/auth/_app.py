"""App-only access to Microsoft Graph: application permissions through azure-identity.

A company that syncs every employee usually does not have each one sign in:
the app holds the *application* permission ``Calendars.ReadWrite`` (granted
by an administrator's consent) and reaches each mailbox at
``/users/{id}/...`` (never ``/me``). :class:`ApplicationCredential` is that
credential, on azure-identity's ``ClientSecretCredential`` or
``CertificateCredential``, with two additions:

- the identity platform's refusals become calsync's typed errors (an
  expired secret is :class:`~calsync.ClientSecretExpiredError`, a
  certificate the app does not know an :class:`~calsync.AppRegistrationError`
  that says so; an unreachable platform a :class:`~calsync.TransientError`),
  as for delegated sign-in;
- an ``http`` authority on loopback (the emulator's identity platform) is
  reached the way :mod:`calsync.auth` reaches it: azure-identity accepts
  only ``https`` authorities, so it is shown ``https://127.0.0.1:PORT`` and
  its requests are sent over plain HTTP with ``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from calsync._closing import ClosesOnExit
from calsync._errors import ConfigurationError, TransientError
from calsync.auth._errors import auth_error
from calsync.auth._http import authority_bases

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

__all__ = ["GRAPH_DEFAULT_SCOPE", "ApplicationCredential"]

#: The scope of an app-only Graph token: the application permissions consented to.
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
_ALIASES = frozenset({"common", "organizations", "consumers"})
#: AADSTS codes that only an ``invalid_client`` answer carries (azure-identity drops the name).
_INVALID_CLIENT = frozenset({7000222, 7000215, 7000218, 700027, 700024, 700021, 700025})


def _refusal(text: str) -> dict[str, Any]:
    """An identity-platform answer rebuilt from azure-identity's message (it keeps the text)."""
    codes = [int(n) for n in re.findall(r"AADSTS(\d+)", text)]
    error = "invalid_request"
    if codes and codes[0] in _INVALID_CLIENT:
        error = "invalid_client"
    elif codes and codes[0] == 700016:
        error = "unauthorized_client"
    elif codes and codes[0] == 1002012:
        error = "invalid_scope"
    description = text.split("Authentication failed:", 1)[-1].strip()
    return {"error": error, "error_description": description, "error_codes": codes}


def _loopback_transport(public: str, shown: str) -> Any:
    """An azure-core transport that sends requests for ``shown`` (https) to ``public`` (http)."""
    from azure.core.pipeline.transport import RequestsTransport

    class _Loopback(RequestsTransport):  # type: ignore[misc]
        def send(self, request: Any, **kwargs: Any) -> Any:
            if request.url.startswith(shown):
                request.url = public + request.url[len(shown) :]
                request.headers["X-Forwarded-Proto"] = "https"
            return super().send(request, **kwargs)

    return _Loopback()


class ApplicationCredential(ClosesOnExit):
    """An app-only azure-core credential for Graph: a client secret or a certificate.

    ``tenant``: the directory (tenant) ID or a verified domain of it
    (``common`` and the like cannot grant app-only tokens). ``client_id``:
    the app registration. Exactly one of ``client_secret`` (the secret's
    *Value*), ``certificate_path`` (a PEM or PKCS12 file holding the private
    key and the certificate uploaded to the app) or ``certificate_data`` (its
    bytes); ``certificate_password`` when the key is encrypted.
    ``authority_host``: the identity platform (plain ``http`` on loopback
    only, for the emulator).

    Hand it to :class:`~calsync.adapters.outlook.OutlookCalendar` with
    ``user=`` (the mailbox's id or address): app-only tokens cannot use
    ``/me``. The secret is never shown: ``repr`` names the tenant, the client
    and the kind of credential.
    """

    def __init__(
        self,
        tenant: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        certificate_path: str | os.PathLike[str] | None = None,
        certificate_data: bytes | None = None,
        certificate_password: str | bytes | None = None,
        authority_host: str = "https://login.microsoftonline.com",
    ) -> None:
        if not isinstance(tenant, str) or not tenant.strip("/") or "/" in tenant:  # type: ignore[redundant-expr, unused-ignore]
            raise ConfigurationError("tenant must be the directory (tenant) ID or its domain")
        if tenant.lower() in _ALIASES:
            raise ConfigurationError(
                f"app-only access needs the directory (tenant) ID or domain, not {tenant!r}: "
                "application permissions are granted in one tenant"
            )
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id is required (the app's Application ID)")
        given = [v is not None for v in (client_secret, certificate_path, certificate_data)]
        if sum(given) != 1:
            raise ConfigurationError(
                "give exactly one of client_secret, certificate_path or certificate_data"
            )
        if client_secret is not None and (not client_secret or not isinstance(client_secret, str)):
            raise ConfigurationError("client_secret must be the secret's Value (a string)")
        self.tenant = tenant
        self.client_id = client_id
        self.kind = "secret" if client_secret is not None else "certificate"
        public, shown = authority_bases(authority_host)
        options: dict[str, Any] = {
            "authority": shown,
            # calsync names the tenant: no instance discovery request to Microsoft's cloud.
            "disable_instance_discovery": True,
        }
        if shown != public:
            options["transport"] = _loopback_transport(public, shown)
        self._credential = self._build(
            client_secret, certificate_path, certificate_data, certificate_password, options
        )

    def _build(
        self,
        secret: str | None,
        path: str | os.PathLike[str] | None,
        data: bytes | None,
        password: str | bytes | None,
        options: dict[str, Any],
    ) -> Any:
        from azure.identity import CertificateCredential, ClientSecretCredential

        if secret is not None:
            return ClientSecretCredential(self.tenant, self.client_id, secret, **options)
        try:
            return CertificateCredential(
                self.tenant,
                self.client_id,
                os.fspath(path) if path is not None else None,
                certificate_data=data,
                password=password,
                **options,
            )
        except OSError as error:
            raise ConfigurationError(
                f"cannot read the certificate file {os.fspath(path or '')!r}: "
                f"{error.strerror or type(error).__name__}"
            ) from None
        except (ValueError, TypeError) as error:
            raise ConfigurationError(
                "the certificate could not be loaded: it must hold the private key and the "
                f"certificate (PEM or PKCS12), with certificate_password if encrypted ({error})"
            ) from None

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """An app-only token (``*/.default`` scopes; others are refused by the platform)."""
        wanted = scopes or (GRAPH_DEFAULT_SCOPE,)
        token: AccessToken = self._call(lambda: self._credential.get_token(*wanted, claims=claims))
        return token

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """The same, in azure-core's ``SupportsTokenInfo`` form."""
        wanted = scopes or (GRAPH_DEFAULT_SCOPE,)
        info: AccessTokenInfo = self._call(
            lambda: self._credential.get_token_info(*wanted, options=options)
        )
        return info

    def _call(self, request: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        try:
            return request()
        except ClientAuthenticationError as error:
            text = str(getattr(error, "message", None) or error)
            if "authority configuration" in text:
                raise ConfigurationError(
                    f"the identity platform has no tenant {self.tenant!r}: check the tenant "
                    "(the directory ID, or a domain verified in it) and the authority host"
                ) from None
            if "AADSTS" not in text:
                raise TransientError(
                    "the Microsoft identity platform could not be reached or answered "
                    f"something unexpected: retry later ({_short(text)})",
                    code="ClientAuthenticationError",
                ) from None
            raise auth_error(
                _refusal(text), account=None, client_id=self.client_id, redirect_uri=""
            ) from None
        except ServiceRequestError as error:
            raise TransientError(
                f"the Microsoft identity platform could not be reached ({type(error).__name__}): "
                "retry later",
                code=type(error).__name__,
            ) from None

    def close(self) -> None:
        """Close azure-identity's HTTP session."""
        self._credential.close()

    def __repr__(self) -> str:
        return (
            f"ApplicationCredential(tenant={self.tenant!r}, client_id={self.client_id!r}, "
            f"{self.kind})"
        )

    __str__ = __repr__


def _short(text: str) -> str:
    return re.split(r"\s*(?:\r?\n|Trace ID:)", text, maxsplit=1)[0][:300]
