"""Fixtures for the command and the service: both emulators, the app registered, a folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.testing import GraphEmulator, OdooEmulator
from tests.cli.support import CLIENT_ID, REDIRECT, SECRET, World


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    """Emulators with the app registered (public client flows allowed, polls every second);
    ``@pytest.mark.graph(...)`` gives the Graph emulator options."""
    marker = request.node.get_closest_marker("graph")
    with OdooEmulator() as odoo, GraphEmulator(**(marker.kwargs if marker else {})) as graph:
        graph.identity.register_app(CLIENT_ID, SECRET, [REDIRECT], public_client=True)
        graph.identity.device_interval = 1
        yield World(odoo, graph, tmp_path)
        assert graph.errors == []
