"""msal's error dicts, and transport failures, as calsync's typed errors that say what to do.

The identity platform answers ``{"error", "error_description": "AADSTSnnnn:
...", "error_codes": [n], "suberror"?}``; msal hands that dict back instead
of raising. The branch is on ``error`` and the AADSTS number:

=====================================  ===================================
``invalid_client`` 7000222             :class:`ClientSecretExpiredError`
``invalid_client`` 7000215             :class:`InvalidClientSecretError`
``invalid_client`` 700027, 700024     :class:`AppRegistrationError` (the certificate)
``invalid_client`` 7000218             :class:`AppRegistrationError` (public client flows)
``invalid_client`` (other)             :class:`AppRegistrationError`
``unauthorized_client`` / 700016       :class:`AppRegistrationError`
50011 (anywhere)                       :class:`RedirectUriMismatchError`
``invalid_grant``,                     :class:`ReauthorizationRequiredError`
``interaction_required``,              (this one user signs in again)
``consent_required``, ``access_denied``
``temporarily_unavailable``,           :class:`TransientError`
``server_error``, 5xx, timeouts
=====================================  ===================================

App-wide errors say that every user's tokens were kept (calsync never
deletes tokens because of an error). Messages carry Microsoft's AADSTS text
(without its trace lines), never a token, code, secret or refresh token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from calsync._errors import (
    AppRegistrationError,
    AuthenticationError,
    ClientSecretExpiredError,
    InvalidClientSecretError,
    ReauthorizationRequiredError,
    RedirectUriMismatchError,
    TransientError,
)

__all__ = ["REDIRECT_PATH", "auth_error"]

#: The path the redirect URI ends with (Odoo's own Microsoft callback).
REDIRECT_PATH = "/microsoft_account/authentication"

_TRANSIENT = frozenset({"temporarily_unavailable", "server_error", "service_unavailable"})
_REAUTHORIZE = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required", "access_denied"}
)
_REASONS: dict[int, str] = {
    65001: "consent to the app is missing or was revoked",
    65004: "the user declined the app's permissions",
    700082: "the refresh token expired after 90 days without use",
    70008: "the refresh token or authorization code expired",
    50173: "the grant was revoked (password changed or reset, or sessions revoked by an admin)",
    70000: "the grant is invalid or was revoked",
    50076: "multi-factor authentication requires an interactive sign-in",
    50079: "multi-factor authentication enrolment requires an interactive sign-in",
    50158: "a conditional access policy requires an interactive sign-in",
    54005: "the authorization code was already redeemed",
    501481: "the PKCE code verifier does not match the sign-in request",
}


#: ``invalid_client`` answers whose fix is specific: what the administrator must do.
_CLIENT_ADVICE: dict[int, str] = {
    700027: "the certificate is not one uploaded to the app (App registrations > Certificates & "
    "secrets > Certificates), or its private key does not belong to it: upload the "
    "certificate's public part, or configure the matching key",
    700024: "the certificate's signed assertion is outside its validity time: check this "
    "machine's clock",
    7000218: "the app needs its client secret or certificate for this request; for the device "
    "code sign-in turn on 'Allow public client flows' (App registrations > Authentication)",
    700025: "the app is registered as a public client, so no secret may be sent: register "
    "calsync's redirect URI under the Web platform (App registrations > Authentication)",
}


def _codes(result: Mapping[str, Any]) -> list[int]:
    codes: list[int] = []
    for value in result.get("error_codes") or ():
        try:
            codes.append(int(value))
        except (TypeError, ValueError):
            continue
    if not codes:
        codes = [int(n) for n in re.findall(r"AADSTS(\d+)", str(result.get("error_description")))]
    return codes


def microsoft_text(result: Mapping[str, Any]) -> str:
    """The AADSTS text without the trace lines ("Trace ID: ... Timestamp: ...")."""
    text = str(result.get("error_description") or "").strip()
    text = re.split(r"\s*(?:\r?\n|Trace ID:)", text, maxsplit=1)[0]
    return text[:500]


def auth_error(  # noqa: PLR0911 (one return per row of the table above)
    result: Mapping[str, Any],
    *,
    account: str | None,
    client_id: str,
    redirect_uri: str,
    signing_in: bool = False,
) -> AuthenticationError | TransientError:
    """The typed error for an error answer of the identity platform."""
    error = str(result.get("error") or "unknown_error")
    codes = _codes(result)
    aadsts = codes[0] if codes else None
    said = microsoft_text(result)
    microsoft = f' Microsoft said: "{said}"' if said else ""
    suberror = str(result.get("suberror") or "")
    if 50011 in codes:
        return RedirectUriMismatchError(
            f"the redirect URI {redirect_uri!r} is not registered for app {client_id!r} "
            "(AADSTS50011). In Microsoft Entra ID (App registrations > Authentication > Web > "
            f"Redirect URIs) register the app's base URL followed by {REDIRECT_PATH}, on the "
            "same domain as Odoo's web.base.url, and give calsync exactly that URI; users' "
            f"tokens were kept.{microsoft}",
            account=account,
            aadsts=50011,
            code=error,
        )
    if error == "invalid_client" and 7000222 in codes:
        return ClientSecretExpiredError(
            f"the client secret of app {client_id!r} has expired (AADSTS7000222). Create a new "
            "secret in Microsoft Entra ID (App registrations > Certificates & secrets > New "
            "client secret; choose the longest expiry offered) and configure its Value; every "
            f"user's tokens were kept and work again with the new secret.{microsoft}",
            account=account,
            aadsts=7000222,
            code=error,
            status=401,
        )
    if error == "invalid_client" and 7000215 in codes:
        return InvalidClientSecretError(
            f"the client secret of app {client_id!r} is wrong (AADSTS7000215): most often the "
            "secret's ID was pasted instead of its value. Copy the Value column of the secret "
            "in Microsoft Entra ID (it is shown only when the secret is created: make a new "
            f"one if it is lost); every user's tokens were kept.{microsoft}",
            account=account,
            aadsts=7000215,
            code=error,
            status=401,
        )
    advice = _CLIENT_ADVICE.get(aadsts or 0)
    if error == "invalid_client" and advice is not None:
        return AppRegistrationError(
            f"the identity platform refused app {client_id!r} (AADSTS{aadsts}): {advice}; "
            f"every user's tokens were kept.{microsoft}",
            account=account,
            aadsts=aadsts,
            code=error,
            status=401,
        )
    if error in ("invalid_client", "unauthorized_client") or 700016 in codes:
        return AppRegistrationError(
            f"the identity platform refused app {client_id!r} ({error}"
            + (f", AADSTS{aadsts}" if aadsts else "")
            + "): check the client ID, the secret and the tenant (an app registered for one "
            "tenant must use that tenant, not 'common'); every user's tokens were kept."
            + microsoft,
            account=account,
            aadsts=aadsts,
            code=error,
        )
    if error in _REAUTHORIZE or suberror == "consent_required":
        reason = next((_REASONS[c] for c in codes if c in _REASONS), None)
        if reason is None:
            reason = (
                "an interactive sign-in is required"
                if error == "interaction_required"
                else "the grant is no longer valid"
            )
        action = (
            "the sign-in could not be completed: send the user to "
            "MicrosoftAuth.authorization_url() again"
            if signing_in
            else "this user must sign in again: send them to MicrosoftAuth.authorization_url(); "
            "other users are not affected"
        )
        detail = f"{reason}" + (f"; AADSTS{aadsts}" if aadsts else "")
        return ReauthorizationRequiredError(
            f"{action} ({detail}).{microsoft}", account=account, aadsts=aadsts, code=error
        )
    if error in _TRANSIENT:
        return TransientError(
            f"the Microsoft identity platform is temporarily unavailable ({error}): retry "
            f"later.{microsoft}",
            code=error,
        )
    return AuthenticationError(
        f"the Microsoft identity platform refused the request ({error}"
        + (f", AADSTS{aadsts}" if aadsts else "")
        + f").{microsoft}",
        account=account,
        aadsts=aadsts,
        code=error,
    )
