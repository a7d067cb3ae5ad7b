"""OdooCalendar passes the adapter contract on both transports, against the Odoo emulator.

* ``jsonrpc``: ``/jsonrpc`` on an Odoo 18.0 emulator (password).
* ``json2``: httpx JSON-2 on an Odoo 19.0 emulator (API key, picked by ``auto``).
* ``shared``: ``jsonrpc``, its incremental pulls listed by an administrator's
  :class:`~calsync.adapters.odoo.OdooDatabase` (one query for every calendar).

The calendar is bob's, an ordinary internal user; the harness plays bob in
Odoo's web client through ``odoo.execute``. Capabilities: ``keys_in_fetch``
(the calsync key is the record's external id) and ``rejects_content`` (a series
in a zone Odoo's ``event_tz`` does not list); no ``optimistic_concurrency``
(Odoo has no etags, and ``write_date`` has one-second precision).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.adapters.odoo import Json2Transport, JsonRpcTransport
from calsync.testing.contract import AdapterContract
from tests.adapters.odoo_support import OdooHarness, harness


class TestOdooCalendar(AdapterContract):
    @pytest.fixture(params=["jsonrpc", "json2", "shared"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[OdooHarness]:
        version = "19.0" if request.param == "json2" else "18.0"
        with harness(version, shared=request.param == "shared") as made:
            yield made
            expected = Json2Transport if request.param == "json2" else JsonRpcTransport
            if made.adapter.transport is not None:  # connected: the one ``auto`` picked
                assert isinstance(made.adapter.transport, expected)
