"""The reconciliation engine: pure planning of a two-way sync.

:func:`plan` takes what each side reported, the links of the last run and the
rules, and returns a :class:`Plan`. It imports no I/O library and reads no
clock: the same inputs give the same plan.
"""

from calsync._engine._links import Link, Links, SideRef, derive_key
from calsync._engine._merge import MergeOutcome, SideView, merge
from calsync._engine._plan import (
    DeletionGuard,
    Operation,
    OperationKind,
    Plan,
    Quarantined,
    SideInput,
    plan,
    signature,
)
from calsync._engine._rules import (
    KEEP_BOTH,
    Conflict,
    ConflictRule,
    DeletionRule,
    KeepBoth,
    LatestWins,
    Prefer,
    Raise,
    Resolution,
)

__all__ = [
    "KEEP_BOTH",
    "Conflict",
    "ConflictRule",
    "DeletionGuard",
    "DeletionRule",
    "KeepBoth",
    "LatestWins",
    "Link",
    "Links",
    "MergeOutcome",
    "Operation",
    "OperationKind",
    "Plan",
    "Prefer",
    "Quarantined",
    "Raise",
    "Resolution",
    "SideInput",
    "SideRef",
    "SideView",
    "derive_key",
    "merge",
    "plan",
    "signature",
]
