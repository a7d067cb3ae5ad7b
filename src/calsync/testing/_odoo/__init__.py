"""An emulated Odoo server for tests, pinned to recordings of a real Odoo 18.0.

:class:`OdooEmulator` serves, on 127.0.0.1, the protocols calsync's Odoo adapter
uses: ``/jsonrpc`` (odoorpc), ``/web/session/authenticate`` with
``/web/dataset/call_kw``, and from version 19.0 the JSON-2 API. Behind them is
an in-memory ORM with the models a calendar sync touches (``calendar.event``,
``calendar.attendee``, ``calendar.recurrence``, ``calendar.alarm``,
``calendar.event.type``, ``res.partner``, ``res.users``, ``ir.model.data``)
reproducing the recorded semantics: ids and sequences, write_date precision,
recurrences expanded in local time, occurrence edits, privacy masking, access
errors, error envelopes, and the mails Odoo would send. A replay of all 375
recorded exchanges is part of the test suite.

The API in short::

    with OdooEmulator("18.0", login_delay=0.0) as odoo:       # or "17.0", "19.0" (JSON-2)
        odoo.url, odoo.port, odoo.db                           # admin/admin is uid 2, partner 3
        bob = odoo.add_user("bob", "bob", email="bob@example.com", api_key="k")
        odoo.execute("bob", "calendar.event", "create", {...}, context={...})  # as in the UI
        odoo.fail("AccessError", "no", model="calendar.event", method="create", nth=2)
        odoo.slow(1.5, protocol="json2"); odoo.drop(); odoo.down(); odoo.up(); odoo.restart()
        odoo.drop(after=True, method="load")    # the call runs, its answer is lost
        odoo.calls, odoo.call_count(model=..., method=...), odoo.requests, odoo.reset_counts()
        odoo.wait_idle()                        # every request received has been handled
        odoo.mail_log(), odoo.clear_mail_log()

This package never imports calsync's adapters or model: it is an independent
implementation of Odoo's behaviour, so that the real clients talk HTTP to it.
"""

from __future__ import annotations

from calsync.testing._odoo._emulator import Criteria, OdooEmulator, RequestMatch, SeriesOrder
from calsync.testing._odoo._errors import OdooError
from calsync.testing._odoo._mail import OdooMail
from calsync.testing._odoo._rpc import OdooCall

__all__ = [
    "Criteria",
    "OdooCall",
    "OdooEmulator",
    "OdooError",
    "OdooMail",
    "RequestMatch",
    "SeriesOrder",
]
