"""Run one scenario on one target and keep its checks (for pytest and for the recorder)."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.checks import Checks
from tests.conformance.scenarios import Scenario
from tests.conformance.scene import Unsuitable, scene
from tests.conformance.target import OdooTarget

__all__ = ["play"]


def play(target: OdooTarget, scenario: Scenario, role: str, folder: Path) -> Checks:
    """The scenario's checks on ``target`` as ``role``; an exception ends it as a failed check."""
    checks = Checks(f"{scenario.name} [{role}]", target.label, target.server_version)
    try:
        with scene(target, role, folder, checks) as made:
            scenario.play(made)
    except Unsuitable as why:
        checks.skipped = str(why)
    except Exception as error:
        checks.abort(error)
    return checks
