"""The conformance table: checks passed / total per scenario and backend, after the run.

Called from the suite's root ``conftest.py`` (an xdist controller loads no
other conftest): it reads the ``conformance`` user property of each scenario
test's report. With ``CALSYNC_CONFORMANCE_REPORT=<file>`` the rows are also
written there as JSON (one object per scenario run, failed checks named).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["write_summary"]


def write_summary(terminalreporter: Any) -> None:
    """Print the table of the scenarios that ran (nothing when none did)."""
    rows: list[dict[str, Any]] = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "") != "call":
                continue
            rows += [v for k, v in getattr(report, "user_properties", ()) if k == "conformance"]
    if not rows:
        return
    rows.sort(key=lambda row: (row["backend"], row["scenario"]))
    write = terminalreporter.write_line
    terminalreporter.section("conformance scenarios (checks passed / total)")
    width = max(len(row["scenario"]) for row in rows)
    for backend in sorted({row["backend"] for row in rows}):
        servers = sorted({row.get("server", "") for row in rows if row["backend"] == backend})
        write(f"{backend}: {', '.join(servers)}")
    for row in rows:
        mark = "ok" if row["passed"] == row["total"] else "FAILED"
        write(
            f"{row['backend']:<14} {row['scenario']:<{width}}  "
            f"{row['passed']:>4} / {row['total']:<4} {mark}"
        )
        for label in row["failed"]:
            write(f"{'':<14}   - {label}")
    passed = sum(row["passed"] for row in rows)
    total = sum(row["total"] for row in rows)
    write(f"{'':<14} {'total':<{width}}  {passed:>4} / {total:<4}")
    target = os.environ.get("CALSYNC_CONFORMANCE_REPORT")
    if target:
        Path(target).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
