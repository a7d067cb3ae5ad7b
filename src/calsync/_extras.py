"""Optional extras: a feature whose dependencies are missing says which extra installs them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from calsync._errors import MissingExtraError

__all__ = ["needs_extra"]


@contextmanager
def needs_extra(feature: str, extra: str) -> Iterator[None]:
    """Imports in the block that fail become a :class:`~calsync.MissingExtraError` for ``extra``.

    Only a missing top-level package is translated: an import error inside an
    installed package is a bug to see as it is.
    """
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] == "calsync":
            raise
        raise MissingExtraError(feature, extra, error.name.split(".")[0]) from error
