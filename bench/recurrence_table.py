"""Print the recurrence table: every Outlook pattern kind, both ways, against both providers.

Outlook's occurrences come from the Graph emulator (Microsoft's documented
expansion); Odoo's from a real Odoo server when ``CALSYNC_ODOO_URL``,
``CALSYNC_ODOO_DB``, ``CALSYNC_ODOO_ADMIN_LOGIN`` and
``CALSYNC_ODOO_ADMIN_PASSWORD`` name one (each series is created under a
unique name and deleted afterwards), else from the Odoo emulator. See
``tests/recurrence_table.py`` for what each column means. Exits 1 when a row
is neither identical nor refused with its reason::

    CALSYNC_ODOO_URL=http://127.0.0.1:8069 CALSYNC_ODOO_DB=calsync18 \\
    CALSYNC_ODOO_ADMIN_LOGIN=admin CALSYNC_ODOO_ADMIN_PASSWORD=admin \\
    python bench/recurrence_table.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.recurrence_table import check, real_server, run_all, table


def main() -> int:
    began = time.perf_counter()
    label, results = run_all(real_server())
    print(table(label, results))
    problems = check(results)
    print(f"\n{len(results)} series in {time.perf_counter() - began:.1f}s", end="")
    print(f"; problems: {problems}" if problems else "; every row identical or refused")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
