"""Suite-wide settings: Hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` (what ``nox -s tests`` and ``.ci/run`` use) runs
the state machines with at least 300 examples; the default profile is quicker
for local runs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    "stateful_step_count": 25,
}
settings.register_profile("default", max_examples=50, **_COMMON)
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("thorough", max_examples=3000, **{**_COMMON, "stateful_step_count": 40})
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
