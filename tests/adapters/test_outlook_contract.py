"""OutlookCalendar passes the adapter contract against the Graph emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.testing import GraphEmulator
from calsync.testing.contract import AdapterContract
from tests.adapters.outlook_support import OutlookHarness, make_adapter


class TestOutlookCalendar(AdapterContract):
    @pytest.fixture
    def harness(self) -> Iterator[OutlookHarness]:
        with GraphEmulator() as graph:
            mailbox = graph.add_mailbox("alice@example.com", name="Alice")
            harness = OutlookHarness(graph, mailbox, make_adapter(graph, mailbox, page_size=3))
            try:
                yield harness
            finally:
                harness.close()
            assert graph.errors == []
