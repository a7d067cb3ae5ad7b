"""Targets of the conformance tests: an emulator per test, or the real server of the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance import target as targets


@pytest.fixture(scope="session")
def live_target() -> targets.OdooTarget:
    """The real Odoo the ``CALSYNC_ODOO_*`` variables name (skipped, with the reason, without)."""
    reason = targets.missing_reason()
    if reason:
        pytest.skip(reason)
    return targets.from_env()


@pytest.fixture(params=["emulator", pytest.param("live", marks=pytest.mark.live)])
def odoo_target(request: pytest.FixtureRequest) -> Iterator[targets.OdooTarget]:
    """A fresh emulator (Odoo 18.0), or the real server (shared: scenarios keep to their year)."""
    if request.param == "live":
        yield request.getfixturevalue("live_target")
        return
    with targets.emulated("18.0") as made:
        yield made
