"""Fixtures for the GraphEmulator tests (all named ``graph_*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from conftest_odoo import *  # noqa: F403 (Odoo emulator fixtures: odoo_*)
from graph_client import SdkClient

from calsync.testing import GraphEmulator, GraphMailbox

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def graph_emulator() -> Iterator[GraphEmulator]:
    """A running emulator; the test fails if a handler raised unexpectedly."""
    with GraphEmulator() as graph:
        yield graph
        assert graph.errors == []


@pytest.fixture
def graph_alice(graph_emulator: GraphEmulator) -> GraphMailbox:
    """The organiser's mailbox."""
    return graph_emulator.add_mailbox("alice@example.com", name="Alice")


@pytest.fixture
def graph_bob(graph_emulator: GraphEmulator) -> GraphMailbox:
    """An attendee's mailbox on the same emulator."""
    return graph_emulator.add_mailbox("bob@example.com", name="Bob")


@pytest.fixture
def graph_http(graph_emulator: GraphEmulator, graph_alice: GraphMailbox) -> Iterator[httpx.Client]:
    """Plain HTTP as Alice, at ``/v1.0``."""
    headers = {"Authorization": f"Bearer {graph_alice.token}"}
    with httpx.Client(base_url=graph_emulator.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def graph_sdk(graph_emulator: GraphEmulator, graph_alice: GraphMailbox) -> Iterator[SdkClient]:
    """msgraph-sdk as Alice, retries off."""
    client = SdkClient(graph_emulator, graph_alice.token)
    yield client
    client.close()
