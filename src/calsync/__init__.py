"""calsync: two-way sync between Odoo calendars and Microsoft Outlook calendars."""

from __future__ import annotations

from typing import Any

from calsync._errors import *  # noqa: F403
from calsync._errors import __all__ as _error_names

__all__ = sorted(["model", *_error_names])


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("calsync")
    raise AttributeError(f"module 'calsync' has no attribute {name!r}")
