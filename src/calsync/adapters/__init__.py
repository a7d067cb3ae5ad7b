"""Adapters: one calendar on one provider, behind :class:`CalendarAdapter`.

* :class:`calsync.adapters.memory.MemoryCalendar`: in memory, the reference adapter.
* ``calsync.adapters.outlook.OutlookCalendar``: Microsoft Graph through msgraph-sdk.
* ``calsync.adapters.odoo.OdooCalendar``: Odoo over JSON-RPC or JSON-2.

Each adapter lives in its own module and is imported only when used, so
``import calsync`` never pays for msgraph-sdk.
"""

from calsync._protocol import (
    CalendarAdapter,
    Create,
    Delete,
    Listing,
    MailKind,
    Notification,
    RemoteEvent,
    Update,
    Write,
    WriteResult,
)

__all__ = [
    "CalendarAdapter",
    "Create",
    "Delete",
    "Listing",
    "MailKind",
    "Notification",
    "RemoteEvent",
    "Update",
    "Write",
    "WriteResult",
]
