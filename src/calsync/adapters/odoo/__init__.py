"""Odoo's calendar as a calsync side: :class:`OdooCalendar`.

The events of one Odoo user (organiser, or attendee through their partner)
inside the sync window, over one of two transports behind one seam
(:mod:`._transport`): ``/jsonrpc`` (Odoo 16-21), or JSON-2 (Odoo 19+, with an
API key), both on a pooled httpx client. ``transport="auto"`` asks
``/web/webclient/version_info`` and takes JSON-2 when it can::

    odoo = OdooCalendar("https://odoo.example.com", "prod", "ann@example.com", api_key=KEY)

Reading
  A full pull lists the user's events overlapping the window (archived ones
  too, as ``archived``), named fields only, ``start asc, id asc``, paged. A
  series (all rows of one ``calendar.recurrence``) is one event whose id is
  the id of its first row as calsync first saw it (see :mod:`._series` for
  how rows become a rule, exceptions and cancelled occurrences). An
  incremental pull lists, at once, the ids of the rows in the window
  (``present``: unlinked events show only there), ``(id, write_date)`` of
  those written behind an overlap, and the answers of ``calendar.attendee``
  (they do not touch the event), Odoo leaving out the rows and answers
  calsync has read as they are; it reads in full only the rows whose
  ``write_date`` moved (and the last row seen in the second of its last read:
  a second write in the same second looks unchanged): three calls when nothing
  changed (four within seconds of a write), however many rows a bulk write
  just touched. The overlap reaches
  back from the later of the newest ``write_date`` and the time of the last
  poll (the earlier of Odoo's clock and calsync's), so a bulk write stops
  being listed once the overlap has passed it. A cursor of an earlier window
  serves a new one: only what the new window adds is read.

Writing
  Every write carries ``no_mail_to_attendees``: Odoo mails nobody
  (:meth:`~OdooCalendar.notifications` is always empty). Creates go in one
  ``load`` per batch keyed by the external id ``calsync.link_<key>``
  (create-or-update, safe to retry, allowed to ordinary users), a rejected
  batch being split to isolate the bad rows. Updates write only the changed
  fields, many at once: rows taking the same values in one multi-record
  ``write``, the others in ``load`` calls by database id, each row its own
  values (a refused call is split down to the row at fault). Deletes archive
  (default) or unlink, every event's rows in one call. What each write
  returns is read back from Odoo. Odoo has no etags and a one-second ``write_date``: no
  optimistic concurrency is claimed.

Decisions
  * A series is reported under the id of its first row as calsync first saw
    it, remembered per recurrence in the cursor: an ``all_events`` time change
    makes Odoo a *new* recurrence around the same base row, so a
    ``recurrence:<id>`` identity would turn every such edit into a delete and
    a create of the whole series on the other side.
  * ``on_delete="archive"`` by default: recoverable, the attendees and the
    calsync key survive, a create with the same key revives the record, and the
    engine treats an archive as a deletion anyway.
  * Categories link to existing tags; only Administration / Settings users may
    create tags, so for others a category without a tag is left out.
  * An empty title is stored as :data:`EMPTY_TITLE` (``name`` is required).

Modules: :mod:`._adapter` (connection, reading, pulls, fetch), :mod:`._apply`
(writes), :mod:`._mapping` (the one field table), :mod:`._recurrence` (rules),
:mod:`._series` (rows ⇄ series), :mod:`._partners` (people, alarms, tags),
:mod:`._cursor`, :mod:`._snapshot`, :mod:`._transport`, :mod:`._errors`.
"""

from calsync.adapters.odoo._adapter import OdooCalendar
from calsync.adapters.odoo._mapping import EMPTY_TITLE, ODOO_PROJECTION
from calsync.adapters.odoo._shared import OdooDatabase
from calsync.adapters.odoo._transport import (
    SERVER_LIMITER,
    AutoTransport,
    Json2Transport,
    JsonRpcTransport,
    OdooTransport,
    ServerClock,
)

__all__ = [
    "EMPTY_TITLE",
    "ODOO_PROJECTION",
    "SERVER_LIMITER",
    "AutoTransport",
    "Json2Transport",
    "JsonRpcTransport",
    "OdooCalendar",
    "OdooDatabase",
    "OdooTransport",
    "ServerClock",
]
