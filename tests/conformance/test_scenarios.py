"""The end-to-end scenarios, on the emulator (always) and on a real Odoo (``-m live``).

Each test plays one scenario as one role and records its figure (checks
passed / total) for the summary table printed at the end of the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conformance.play import play
from tests.conformance.scenarios import SCENARIOS, Scenario
from tests.conformance.target import OdooTarget

CASES = [
    pytest.param(scenario, role, id=f"{scenario.name.replace(' ', '-')}-{role}")
    for scenario in SCENARIOS
    for role in scenario.roles
]


@pytest.mark.parametrize(("scenario", "role"), CASES)
def test_scenario(
    odoo_target: OdooTarget, scenario: Scenario, role: str, tmp_path: Path, record_property: Any
) -> None:
    checks = play(odoo_target, scenario, role, tmp_path)
    if checks.skipped:
        pytest.skip(checks.skipped)
    record_property("conformance", checks.row())
    checks.verify()
