"""Test support: provider emulators on loopback, fault injection, the adapter contract suite.

``GraphEmulator`` and ``OdooEmulator`` are real HTTP servers on 127.0.0.1 that
follow Microsoft Graph's and Odoo's wire formats, so the real msgraph-sdk and
odoorpc talk to them. This package never imports calsync's adapters.
Names are imported lazily: ``import calsync.testing`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsync.testing._graph import GraphEmulator, GraphMailbox, GraphRequest, MailMessage
    from calsync.testing._odoo import OdooCall, OdooEmulator, OdooError, OdooMail

__all__ = [
    "GraphEmulator",
    "GraphMailbox",
    "GraphRequest",
    "MailMessage",
    "OdooCall",
    "OdooEmulator",
    "OdooError",
    "OdooMail",
]

_LAZY = {
    "GraphEmulator": "calsync.testing._graph",
    "GraphMailbox": "calsync.testing._graph",
    "GraphRequest": "calsync.testing._graph",
    "MailMessage": "calsync.testing._graph",
    "OdooEmulator": "calsync.testing._odoo",
    "OdooMail": "calsync.testing._odoo",
    "OdooCall": "calsync.testing._odoo",
    "OdooError": "calsync.testing._odoo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'calsync.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
