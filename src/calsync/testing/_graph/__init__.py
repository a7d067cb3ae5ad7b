"""Microsoft Graph calendars on loopback: ``GraphEmulator`` and its helper types.

What it emulates (Graph v1.0, as ``/work/shared/reference/graph.md`` states
it): mailboxes addressed by ``/me`` (bearer token) or ``/users/{id or
address}``; calendars; events with Outlook's fields and forms; recurring
series with Outlook's expansion, exceptions and cancelled occurrences;
``calendarView``, ``instances`` and ``calendarView/delta`` with Outlook's
page shape; ``If-Match``; ``transactionId``; ``$batch``; throttling,
concurrency accounting and injected faults; and the log of meeting mail
Outlook would send. Module docstrings hold each area's rules:
``_mail`` (who gets mail), ``_delta`` (delta rounds), ``_recurrence``
(expansion), ``_state`` (writes), ``_batch``, ``_pipeline`` (faults and
request numbering), ``_query`` (query options and ``Prefer``).
"""

from __future__ import annotations

from calsync.testing._graph._emulator import GraphEmulator, GraphMailbox
from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._mail import MailMessage
from calsync.testing._graph._pipeline import GraphRequest
from calsync.testing._graph._router import Call, Router
from calsync.testing._server import Fault

__all__ = [
    "Call",
    "Fault",
    "GraphEmulator",
    "GraphError",
    "GraphMailbox",
    "GraphRequest",
    "MailMessage",
    "Router",
]
