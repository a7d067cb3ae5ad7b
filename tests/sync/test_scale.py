"""200 pairs at once: OdooCalendar and OutlookCalendar on shared emulators, with sync_many."""

from __future__ import annotations

import time

import pytest

from calsync import PairOutcome, sync_many
from calsync.stores import MemoryStore
from calsync.testing import GraphEmulator, OdooEmulator
from tests.scale_support import SEEDED, add_pairs, graph_titles, odoo_titles, seed

PAIRS = 200

pytestmark = pytest.mark.slow


def test_two_hundred_pairs_converge_apart_within_graphs_limits() -> None:
    with OdooEmulator("18.0", login_delay=0.0) as odoo, GraphEmulator() as graph:
        specs = add_pairs(odoo, graph, PAIRS)
        for spec in specs:
            seed(odoo, graph, spec)
        store = MemoryStore()
        syncs = [spec.synchronizer(odoo, graph, store) for spec in specs]
        graph.reset_counts()
        odoo.reset_counts()
        finished: list[PairOutcome] = []
        started = time.monotonic()
        first = sync_many(syncs, concurrency=32, progress=finished.append)
        elapsed = time.monotonic() - started
        failures = [str(o) for o in first if not o.ok]
        assert not failures, failures[:5]
        assert len(finished) == PAIRS
        graph_first, odoo_first = len(graph.requests), len(odoo.requests)
        inner_first = len(graph.inner_requests)
        # Graph's per-mailbox limit, as the emulator counted it.
        peaks = [graph.max_concurrency(spec.mailbox) for spec in specs]
        assert max(peaks) <= 4
        # Every pair holds exactly its own events, on both sides.
        for spec in specs:
            expected = sorted(f"{title} {spec.tag}" for title in SEEDED)
            assert odoo_titles(odoo, spec) == expected, spec.pair
            assert graph_titles(graph, spec) == expected, spec.pair
        # Converged: a second round writes nothing anywhere.
        graph.reset_counts()
        odoo.reset_counts()
        started = time.monotonic()
        second = sync_many(syncs, concurrency=32)
        elapsed_again = time.monotonic() - started
        assert all(o.ok for o in second)
        writes = [str(x.operation) for o in second if o.report for x in o.report.outcomes]
        assert writes == []
        assert max(graph.max_concurrency(spec.mailbox) for spec in specs) <= 4
        assert graph.errors == []
        for sync in syncs:
            sync.close()
        print(
            f"\n{PAIRS} pairs: first run {elapsed:.1f}s, {graph_first} Graph requests "
            f"({inner_first} inside $batch), {odoo_first} Odoo requests; "
            f"max concurrency per mailbox {max(peaks)}, across mailboxes "
            f"{graph.max_concurrency()}; second run {elapsed_again:.1f}s, "
            f"{len(graph.requests)} Graph and {len(odoo.requests)} Odoo requests"
        )
