"""Fixtures of the end-to-end tests: the matrices' clean runs and their counts.

Each matrix test records its :class:`~tests.e2e.matrix.Tally` as the user
property ``matrix`` (it travels with the test report, from xdist workers too);
:mod:`tests.e2e.summary` prints them in one table at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.matrix import Clean, clean_run


@pytest.fixture
def record_matrix(record_property: Any) -> Any:
    """Record a tally for the summary table."""

    def record(row: dict[str, Any]) -> None:
        record_property("matrix", row)

    return record


@pytest.fixture(scope="session")
def clean_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Clean]:
    """The clean run of a phase (``first`` or ``next``), made once per test process."""
    made: dict[str, Clean] = {}

    def get(phase: str) -> Clean:
        if phase not in made:
            made[phase] = clean_run(tmp_path_factory.mktemp(f"clean-{phase}"), phase)
        return made[phase]

    return get
