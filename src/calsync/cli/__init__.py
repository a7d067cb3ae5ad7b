"""``calsync``, the command (``pip install 'calsync[cli]'``): the library run from a config file.

``calsync init`` writes a commented configuration file; ``check``,
``login``, ``preview``, ``sync``, ``reset``, ``status`` and ``serve`` run on
it. The command sits on top of the library: ``import calsync`` never imports
it, and it needs click and rich, which only the ``cli`` extra installs.
Exit codes are documented in :mod:`calsync.cli._exit` and by ``calsync --help``.
"""

from __future__ import annotations

from typing import Any

from calsync._extras import needs_extra

__all__ = ["main"]


def main(*args: Any, **kwargs: Any) -> Any:
    """The console script's entry point."""
    with needs_extra("the calsync command", "cli"):
        from calsync.cli._main import main as command
    return command(*args, **kwargs)
