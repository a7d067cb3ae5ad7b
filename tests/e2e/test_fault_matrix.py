"""A fault at any request of a sync, then runs until ok, end exactly as a clean run does.

The clean run is the first two-way sync of :mod:`tests.e2e.scenario`. For each
of its requests, on either provider, and each kind of fault that request can
meet, a fresh world runs the same sync with that fault injected at that
request, then the same Synchronizer (the process lives on) runs again until it
reports ok. The calendars and Outlook's mail log must equal the clean run's:
no duplicate, nothing lost, no extra e-mail; and a further run writes nothing.

Outlook (Graph): 429 with ``Retry-After``, 503, a timeout (an answer later
than the adapter's timeout; the request itself lands late), a dropped
connection after Graph acted, 410 on delta pages (the delta or skip token
gone) and 412 on PATCH requests. Odoo: the server going down (connections
refused until it is back), a server restart (the connection cut, verified
credentials forgotten), an expired session (the transport logs in again), a
transient error envelope (a serialisation failure), a timeout, and a dropped
connection after Odoo acted.

The next sync (after the users' edits) meets 410 on its delta pages (its
delta token is a real one) and 412 on its PATCHes, and every other kind at
each of its writes (the reads fare as the first run's do).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.matrix import GRAPH_FAULTS, ODOO_FAULTS, Clean, sweep, targets

pytestmark = pytest.mark.slow

KINDS = [("graph", kind) for kind in GRAPH_FAULTS] + [("odoo", kind) for kind in ODOO_FAULTS]
#: The first run's long matrices are split in parts (every third request) for xdist to spread.
PARTS = 3
#: Kinds that apply to a few requests only (delta pages, PATCHes): one part.
FEW = ("410", "412")
CASES = [("first", p, k, part) for p, k in KINDS for part in range(1 if k in FEW else PARTS)]
CASES += [("next", p, k, 0) for p, k in KINDS]


@pytest.mark.parametrize(
    ("phase", "provider", "kind", "part"),
    CASES,
    ids=[f"{phase}-{p}-{k}-{part}" for phase, p, k, part in CASES],
)
def test_a_fault_at_any_request_ends_as_a_clean_run(
    clean_runs: Callable[[str], Clean],
    tmp_path: Path,
    phase: str,
    provider: str,
    kind: str,
    part: int,
    record_matrix: Callable[[dict[str, Any]], None],
) -> None:
    clean = clean_runs(phase)
    writes_only = phase == "next" and kind not in FEW
    every = targets(clean, provider, kind, writes_only=writes_only)
    assert every, "the run makes requests this fault applies to"
    chosen = every[part::PARTS] if phase == "first" and kind not in FEW else every
    tally = sweep(tmp_path, clean, kind, chosen)
    record_matrix(tally.row())
    assert tally.scenarios == len(chosen)
    assert tally.injected == tally.scenarios
    assert not tally.failed, "\n".join(tally.failed)
