"""Fixtures for the Odoo emulator tests; every name starts with ``odoo_``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from calsync.testing import OdooEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["odoo_emulator", "odoo_json2", "odoo_rpc", "odoo_v19"]

ODOO_API_KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def odoo_emulator() -> Iterator[OdooEmulator]:
    """A fresh Odoo 18.0 emulator (admin/admin, database ``calsync_test``)."""
    with OdooEmulator() as emulator:
        yield emulator


@pytest.fixture
def odoo_v19() -> Iterator[OdooEmulator]:
    """A fresh Odoo 19.0 emulator; admin has the API key ``ODOO_API_KEY``."""
    with OdooEmulator("19.0", admin_api_key=ODOO_API_KEY) as emulator:
        yield emulator


@pytest.fixture
def odoo_rpc(odoo_emulator: OdooEmulator) -> Any:
    """The real odoorpc client, logged in as admin on ``odoo_emulator``."""
    import odoorpc

    client = odoorpc.ODOO("127.0.0.1", port=odoo_emulator.port, protocol="jsonrpc")
    client.login(odoo_emulator.db, "admin", "admin")
    return client


@pytest.fixture
def odoo_json2(odoo_v19: OdooEmulator) -> Iterator[httpx.Client]:
    """An httpx client for JSON-2 on ``odoo_v19`` with admin's API key."""
    headers = {"Authorization": f"bearer {ODOO_API_KEY}", "X-Odoo-Database": odoo_v19.db}
    with httpx.Client(base_url=odoo_v19.url, headers=headers, timeout=10) as client:
        yield client
