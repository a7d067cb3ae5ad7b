"""One sync of a world's user in a process of its own, for the test that kills it.

``python -m tests.e2e.process '<Wiring as JSON>' <lease seconds>`` builds the
user's synchronizer as :class:`tests.e2e.world.World` does (same adapters,
same options, the world's SQLite file), prints ``started``, runs one sync and
prints its summary. The test kills it with SIGKILL in the middle.
"""

from __future__ import annotations

import json
import sys

from calsync.stores import SQLiteStore
from tests.e2e.world import Wiring


def main(argv: list[str]) -> int:
    wiring = Wiring(**json.loads(argv[1]))
    store = SQLiteStore(wiring.store)
    store.lease_seconds = float(argv[2])
    with wiring.synchronizer(store) as sync:
        print("started", flush=True)
        report = sync.run()
    print(report.summary, flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
