"""Where the conformance scenarios find Odoo: a real server (environment) or ``OdooEmulator``.

A real server is given by environment variables (``nox -s conformance``):

=================================  =====================================================
``CALSYNC_ODOO_URL``               e.g. ``http://127.0.0.1:8069``
``CALSYNC_ODOO_DB``                the database (it is not emptied: the scenarios
                                   work in a year of their own and clean up after them)
``CALSYNC_ODOO_ADMIN_LOGIN``       an administrator (creates the scenarios' extra users)
``CALSYNC_ODOO_ADMIN_PASSWORD``
``CALSYNC_ODOO_USER_LOGIN``        an ordinary internal user (the scenarios run as both)
``CALSYNC_ODOO_USER_PASSWORD``
``CALSYNC_ODOO_ADMIN_API_KEY``     optional; with ``..._USER_API_KEY``, calsync speaks
``CALSYNC_ODOO_USER_API_KEY``      JSON-2 to Odoo 19 and later (else ``/jsonrpc``)
=================================  =====================================================

Without them the live tests skip, saying which variable is missing. A
*fresh* target is a database nobody else uses (an emulator, or a throwaway
database the recorder made): the scenarios then create the ordinary user
themselves, with fixed logins, so that two recordings of a scenario match.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import attrs
import httpx

from calsync.testing import OdooEmulator

__all__ = [
    "ENV",
    "Credentials",
    "OdooTarget",
    "emulated",
    "from_env",
    "missing_reason",
    "version_line",
]

ENV = {
    "url": "CALSYNC_ODOO_URL",
    "db": "CALSYNC_ODOO_DB",
    "admin_login": "CALSYNC_ODOO_ADMIN_LOGIN",
    "admin_password": "CALSYNC_ODOO_ADMIN_PASSWORD",
    "user_login": "CALSYNC_ODOO_USER_LOGIN",
    "user_password": "CALSYNC_ODOO_USER_PASSWORD",
    "admin_api_key": "CALSYNC_ODOO_ADMIN_API_KEY",
    "user_api_key": "CALSYNC_ODOO_USER_API_KEY",
}
_REQUIRED = ("url", "db", "admin_login", "admin_password", "user_login", "user_password")

#: The ordinary user a fresh target gets (created by the scenario, over RPC).
FRESH_USER = ("bob", "bob-conformance-pw")


@attrs.frozen
class Credentials:
    """A login and its secrets (never in the repr)."""

    login: str
    password: str = attrs.field(repr=False)
    api_key: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class OdooTarget:
    """An Odoo server and database, its administrator and an ordinary user.

    ``user`` is None on a fresh target (the scenario creates it); ``version``
    is the server's series (``"18.0"``), ``server_version`` its full version
    line; ``emulator`` is set when the target is an :class:`OdooEmulator`.
    """

    url: str
    db: str
    admin: Credentials
    user: Credentials | None
    version: str
    server_version: str
    emulator: OdooEmulator | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def live(self) -> bool:
        """A real Odoo server (the scenarios keep to a year of their own there)."""
        return self.emulator is None

    @property
    def fresh(self) -> bool:
        """Nobody else uses the database: the scenario creates its ordinary user."""
        return self.user is None

    @property
    def label(self) -> str:
        """``emulator 18.0`` or ``odoo 18.0`` (for summaries)."""
        return f"{'emulator' if self.emulator else 'odoo'} {self.version}"


def missing_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the live tests skip (None when every required variable is set)."""
    environ = os.environ if environ is None else environ
    missing = [ENV[key] for key in _REQUIRED if not environ.get(ENV[key])]
    if not missing:
        return None
    return (
        "no real Odoo given: set " + ", ".join(missing) + " (see docs/howto/conformance.md); "
        "the same scenarios run against OdooEmulator in the normal suite"
    )


def version_line(url: str) -> tuple[str, str]:
    """The server's series and full version line (``/web/webclient/version_info``)."""
    body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 0}
    answer = httpx.post(f"{url}/web/webclient/version_info", json=body, timeout=30)
    answer.raise_for_status()
    info = answer.json()["result"]
    line = f"Odoo {info['server_version']} {json.dumps(info['server_version_info'])}"
    return str(info["server_serie"]), line


def from_env(environ: Mapping[str, str] | None = None) -> OdooTarget:
    """The real server the environment names (call :func:`missing_reason` first)."""
    environ = os.environ if environ is None else environ

    def get(key: str) -> str | None:
        return environ.get(ENV[key]) or None

    url = str(get("url")).rstrip("/")
    series, line = version_line(url)
    return OdooTarget(
        url=url,
        db=str(get("db")),
        admin=Credentials(
            str(get("admin_login")), str(get("admin_password")), get("admin_api_key")
        ),
        user=Credentials(str(get("user_login")), str(get("user_password")), get("user_api_key")),
        version=series,
        server_version=line,
    )


def fresh(url: str, db: str, admin_password: str = "admin") -> OdooTarget:
    """A throwaway database on a real server (the recorder's), administered by ``admin``."""
    series, line = version_line(url)
    return OdooTarget(url, db, Credentials("admin", admin_password), None, series, line)


@contextmanager
def emulated(version: str = "18.0") -> Iterator[OdooTarget]:
    """A fresh :class:`OdooEmulator` as a target (admin/admin)."""
    with OdooEmulator(version) as odoo:
        yield OdooTarget(
            odoo.url,
            odoo.db,
            Credentials("admin", "admin"),
            None,
            odoo.version,
            f"OdooEmulator {odoo.version}",
            emulator=odoo,
        )
