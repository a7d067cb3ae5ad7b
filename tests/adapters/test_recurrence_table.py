"""The recurrence table (tests/recurrence_table.py): every Outlook pattern kind, both ways.

On the emulators always; against a real Odoo server when the environment names
one (``CALSYNC_ODOO_URL``, ``CALSYNC_ODOO_DB``, ``CALSYNC_ODOO_ADMIN_LOGIN``,
``CALSYNC_ODOO_ADMIN_PASSWORD``). ``python bench/recurrence_table.py`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.recurrence_table import (
    SHOWN,
    check,
    missing_server_reason,
    real_server,
    run_all,
    table,
)

#: The series a side cannot hold (every other row is identical both ways), and why.
REFUSED_BY_ODOO = {
    "weekly, every 2 weeks, Mon+Sun, weeks from Monday": "week start (Sunday)",
    "absoluteMonthly, day 30 (February: the 28th)": "skips the months",
    "absoluteMonthly, day 1, every 2 months, 08:00 in Sydney": "UTC month",
    "relativeMonthly, first weekday": "one weekday of the month",
    "relativeMonthly, last weekday": "one weekday of the month",
    "relativeMonthly, second Thursday or Friday": "one weekday of the month",
    "relativeYearly, first weekday of January": "one weekday of the month",
}
REFUSED_BY_OUTLOOK = {
    "Odoo: monthly, day 31 (skips shorter months)": "2027-02-28 where the rule has 2027-03-31",
    "Odoo: yearly, February 29 (leap years only)": "2029-02-28 where the rule has 2032-02-29",
}


def _check_table(server: Mapping[str, str] | None) -> None:
    label, results = run_all(server)
    print(table(label, results))
    assert check(results) == []
    for result in results:
        name = result.case.name
        legs = {"Odoo": result.forth, "Outlook": result.back}
        if result.case.origin == "Odoo":
            legs = {"Outlook": result.back, "Odoo": result.forth}
        refused_by = {"Odoo": REFUSED_BY_ODOO, "Outlook": REFUSED_BY_OUTLOOK}
        for side, leg in legs.items():
            reason = refused_by[side].get(name)
            if reason is not None:
                assert leg.outcome == "refused", (name, side, leg)
                assert "UnsupportedRecurrenceError" in leg.detail
                assert reason in leg.detail
                break  # the way back starts from what the refusing side does not hold
            assert leg.outcome == "identical", (name, side, leg)
            assert len(leg.occurrences[:SHOWN]) == len(result.origin[:SHOWN]), (name, side)


def test_every_pattern_kind_both_ways_on_the_emulators() -> None:
    _check_table(None)


@pytest.mark.live  # nox -s conformance
def test_every_pattern_kind_both_ways_on_a_real_odoo_server() -> None:
    server = real_server()
    if server is None:
        pytest.skip(missing_server_reason())
    _check_table(server)
