"""The crash and fault matrices' table: counts per kind, printed after the test run.

Called from the suite's root ``conftest.py`` (the controller of an xdist run
loads no other conftest): it reads the ``matrix`` user property of each
matrix test's report and merges the parts of a split matrix into one line.
"""

from __future__ import annotations

from typing import Any

COLUMNS = (
    ("kind", "kind", 24),
    ("scenarios", "scenarios", 9),
    ("injected", "injected", 8),
    ("stopped", "stopped", 7),
    ("runs", "runs", 5),
    ("duplicates", "dupl.", 5),
    ("losses", "losses", 6),
    ("changed", "changed", 7),
    ("extra_mail", "extra mail", 10),
    ("missing_mail", "missing mail", 12),
    ("failed", "failed", 6),
)


def write_summary(terminalreporter: Any) -> None:
    """Print the table of the matrices that ran (nothing when none did)."""
    rows: list[tuple[dict[str, Any], float]] = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "") != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "matrix":
                    rows.append((value, report.duration))
    if not rows:
        return
    merged: dict[str, tuple[dict[str, Any], float]] = {}
    for row, duration in rows:  # a matrix split in parts: one line per kind
        total, seconds = merged.get(row["kind"], ({}, 0.0))
        total = {
            key: row[key] if key == "kind" else int(total.get(key, 0)) + int(row.get(key, 0))
            for key, _, _ in COLUMNS
        }
        merged[row["kind"]] = (total, seconds + duration)
    rows = list(merged.values())
    write = terminalreporter.write_line
    terminalreporter.section("crash and fault matrices")
    write("  ".join(f"{title:>{width}}" for _, title, width in COLUMNS) + "  seconds")
    totals: dict[str, int] = {}
    seconds = 0.0
    for row, duration in sorted(rows, key=lambda item: str(item[0]["kind"])):
        cells = [f"{row.get(key, ''):>{width}}" for key, _, width in COLUMNS]
        write("  ".join(cells) + f"  {duration:7.1f}")
        for key, _, _ in COLUMNS[1:]:
            totals[key] = totals.get(key, 0) + int(row.get(key, 0))
        seconds += duration
    cells = [f"{'total':>{COLUMNS[0][2]}}"]
    cells += [f"{totals[key]:>{width}}" for key, _, width in COLUMNS[1:]]
    write("  ".join(cells) + f"  {seconds:7.1f}")
