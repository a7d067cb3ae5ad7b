"""Checks that count: each scenario reports how many of its checks passed, not only the first miss.

A scenario goes on after a failed check (the next steps still say something),
so that its figure ("22 / 38") compares a real server with the emulator line by
line. :meth:`Checks.verify` fails the test at the end, listing every miss.
"""

from __future__ import annotations

import traceback
from typing import Any

import attrs

__all__ = ["Checks"]


@attrs.define
class Checks:
    """The checks one scenario made, in order: ``(label, passed, detail)``."""

    scenario: str
    backend: str
    #: the server's version line (``version_info``)
    server: str = ""
    results: list[tuple[str, bool, str]] = attrs.Factory(list)
    aborted: str | None = None
    #: why the target could not play the scenario at all
    skipped: str | None = None

    def check(self, label: str, passed: bool, detail: str = "") -> bool:
        """Record one check; returns whether it passed."""
        self.results.append((label, bool(passed), "" if passed else detail))
        return bool(passed)

    def equal(self, label: str, actual: Any, expected: Any) -> bool:
        """Record that ``actual == expected``, showing both when not."""
        return self.check(
            label, actual == expected, f"\n    got      {actual!r}\n    expected {expected!r}"
        )

    def abort(self, error: BaseException) -> None:
        """The scenario stopped on an exception: a failed check of its own."""
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        self.aborted = f"{type(error).__name__}: {error}"
        self.check("the scenario ran to its end", False, "".join(lines[-6:]))

    @property
    def passed(self) -> int:
        """How many checks passed."""
        return sum(1 for _, ok, _ in self.results if ok)

    @property
    def total(self) -> int:
        """How many checks were made."""
        return len(self.results)

    @property
    def failures(self) -> list[str]:
        """The failed checks, each with its detail."""
        return [f"{label}{detail}" for label, ok, detail in self.results if not ok]

    def row(self) -> dict[str, Any]:
        """What the summary table shows (JSON-able, it travels with xdist reports)."""
        return {
            "scenario": self.scenario,
            "backend": self.backend,
            "server": self.server,
            "passed": self.passed,
            "total": self.total,
            "failed": [label for label, ok, _ in self.results if not ok],
        }

    def verify(self) -> None:
        """Fail when any check failed, listing them all."""
        assert not self.failures, (
            f"{self.scenario} on {self.backend}: {self.passed} / {self.total} checks passed\n  "
            + "\n  ".join(self.failures)
        )
