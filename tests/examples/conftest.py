"""Fixtures of the examples' tests: Ann's Odoo and Outlook on the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from calsync.testing import GraphEmulator, OdooEmulator
from tests.examples.support import API_KEY, CLIENT_ID, QUIET, SECRET, Servers, soon


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Odoo 19 (JSON-2 with an API key) and Graph, with Ann's calendars seeded on both."""
    with OdooEmulator("19.0") as odoo, GraphEmulator() as graph:
        odoo.add_user("ann", "ann-password", email="ann@example.com", api_key=API_KEY, tz="UTC")
        mailbox = graph.add_mailbox("ann@example.com", name="Ann")
        graph.identity.register_app(
            CLIENT_ID, SECRET, ["https://calsync.example.com/microsoft_account/authentication"]
        )
        carol = odoo.execute(
            "ann", "res.partner", "create", {"name": "Carol", "email": "c@x.example"}
        )
        start = soon(3, 9)
        odoo.execute(
            "ann",
            "calendar.event",
            "create",
            {
                "name": "Review with Carol",
                "start": f"{start:%Y-%m-%d %H:%M:%S}",
                "stop": f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
                "partner_ids": [(4, carol)],
            },
            context=QUIET,
        )
        lunch = soon(4, 12)
        graph.seed_event(
            mailbox,
            {
                "subject": "Lunch",
                "start": {"dateTime": f"{lunch:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"},
                "end": {"dateTime": f"{lunch:%Y-%m-%dT13:%M:%S}", "timeZone": "UTC"},
            },
        )
        yield Servers(odoo, graph, mailbox, tmp_path)
        assert graph.errors == []
