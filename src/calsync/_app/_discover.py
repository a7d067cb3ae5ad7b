"""App-only pairs found by matching Odoo users' e-mail addresses to mailboxes.

With application access and ``discover = true``, calsync lists Odoo's active
internal users (the service login of ``[odoo]`` must be allowed to read
``res.users``) and looks each address up in Microsoft Graph
(``GET /users/{address}``, one request each, with the app's token): an
address that is a mailbox the app may open becomes a pair named after the
Odoo login, synced through the service login (``user_login``). Addresses
Graph does not know, or that Exchange's application access policy keeps the
app out of, are skipped and logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from calsync._app._config import PairConfig
from calsync._errors import AccessDeniedError, ConfigurationError, ProviderError, TransientError

if TYPE_CHECKING:
    from calsync._app._deploy import Deployment

__all__ = ["discover", "odoo_users"]

logger = logging.getLogger("calsync.app")


async def odoo_users(deployment: Deployment) -> list[tuple[str, str]]:
    """(login, e-mail) of Odoo's active internal users with an address, by login."""
    from calsync.adapters.odoo import JsonRpcTransport

    odoo = deployment.config.odoo
    secret = odoo.api_key or odoo.password
    if odoo.login is None or secret is None:
        raise ConfigurationError("discover needs odoo.login and odoo.api_key_env (or _file)")
    transport = JsonRpcTransport(
        odoo.url, odoo.database, odoo.login, secret.value(deployment.environ), timeout=60.0
    )
    try:
        await transport.connect()
        rows = await transport.call(
            "res.users",
            "search_read",
            [("share", "=", False), ("email", "!=", False)],
            fields=["login", "email"],
        )
    finally:
        await transport.aclose()
    found = [(str(r["login"]), str(r["email"]).strip().lower()) for r in rows if r.get("email")]
    return sorted(found)


def mailbox_exists(deployment: Deployment, address: str) -> bool:
    """Whether Graph has a mailbox at ``address`` that the app may open (one request)."""
    token = deployment.app_credential.get_token().token
    url = f"{deployment.config.microsoft.graph_url}/users/{quote(address, safe='@')}"
    try:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
    except httpx.HTTPError as error:
        raise TransientError(f"Graph could not be reached ({type(error).__name__})") from None
    if answer.status_code == 200:
        return True
    if answer.status_code == 404:
        return False
    if answer.status_code == 403 and "AccessPolicy" in answer.text:
        logger.info("mailbox %s is outside the app's access policy: skipped", address)
        return False
    if answer.status_code == 403:
        raise AccessDeniedError(
            f"Graph denied the app access to {address}: grant the application permission "
            "Calendars.ReadWrite and an administrator's consent (Entra ID: App registrations > "
            "API permissions > Grant admin consent)",
            code="ErrorAccessDenied",
            status=403,
        )
    raise ProviderError(f"Graph answered {answer.status_code} for /users/{address}")


def discover(deployment: Deployment) -> list[PairConfig]:
    """The pairs of every Odoo user whose address is a mailbox the app may open."""
    users: list[tuple[str, str]] = asyncio.run(odoo_users(deployment))
    pairs: list[PairConfig] = []
    for login, email in users:
        if mailbox_exists(deployment, email):
            pairs.append(PairConfig(name=login, mailbox=email, odoo_login=login, discovered=True))
        else:
            logger.info("Odoo user %s (%s) has no mailbox the app may open: skipped", login, email)
    logger.info("discovered %d pairs among %d Odoo users", len(pairs), len(users))
    return pairs
