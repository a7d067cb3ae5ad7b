"""Odoo's masking of private events, applied by calsync for the user it reads on behalf of.

Odoo masks a ``calendar.event`` row for the *caller*: ``_fetch_query`` empties
every field outside ``_get_public_fields()`` ("Busy" for ``name``, ``false``
or ``[]`` for the rest, ``write_date`` among them) when
``_check_private_event_conditions()`` holds for the caller (odoo.md §5.14,
§5.20; addons/calendar/models/calendar_event.py of 17.0, 18.0 and 19.0):

* the event is private: ``privacy == "private"``, or (18.0 and 19.0) no
  privacy and an organiser whose ``calendar_default_privacy`` is ``private``;
* and the caller neither organises it (``user_id``) nor is among its
  ``partner_ids``.

When calsync reads a user's calendar as another login (a service login, or
the database-wide reader of :mod:`._shared`), Odoo masks for that login, not
for the user: a row the login may read (it attends) can be one the user may
not (an occurrence the user left, in a private series). :func:`as_seen_by`
applies the rule for the user to such rows, so each calendar sees exactly
what its user would see. The organisers' default privacy (18.0+) is read by
the caller: an administrator reads it as it is, an ordinary user of 18.0
reads every other user's as "public" (base_security.xml), and then only the
events marked private are masked for the user.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from calsync.adapters.odoo._mapping import many2one

__all__ = ["BUSY", "PUBLIC_FIELDS", "as_seen_by", "hidden_from", "needs_default_privacy"]

BUSY = "Busy"

#: ``calendar.event._get_public_fields()`` (17.0 to 19.0): the recurrence and time fields
#: and these; custom (``x_``) fields are public too.
PUBLIC_FIELDS = frozenset(
    {
        "id",
        "active",
        "allday",
        "duration",
        "user_id",
        "interval",
        "partner_id",
        "count",
        "rrule",
        "recurrence_id",
        "show_as",
        "privacy",
        # _get_time_fields()
        "start",
        "stop",
        "start_date",
        "stop_date",
        # _get_recurrent_fields()
        "byday",
        "until",
        "rrule_type",
        "month_by",
        "event_tz",
        "end_type",
        "day",
        "weekday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    }
)
_TO_MANY = frozenset({"partner_ids", "attendee_ids", "alarm_ids", "categ_ids"})


def _participant(row: Mapping[str, Any], uid: int, partner: int) -> bool:
    return many2one(row.get("user_id")) == uid or partner in (row.get("partner_ids") or ())


def needs_default_privacy(row: Mapping[str, Any], uid: int, partner: int) -> int | None:
    """The organiser whose default privacy decides whether ``row`` is hidden from the user,
    if any (no privacy on the event, the user not a participant)."""
    if row.get("privacy") or _participant(row, uid, partner):
        return None
    return many2one(row.get("user_id"))


def hidden_from(
    row: Mapping[str, Any], uid: int, partner: int, private_calendars: Collection[int]
) -> bool:
    """``_check_private_event_conditions()`` for the user ``uid`` (partner ``partner``).

    ``private_calendars`` are the organisers whose ``calendar_default_privacy``
    is ``private``.
    """
    privacy = row.get("privacy")
    private = privacy == "private" or (
        not privacy and many2one(row.get("user_id")) in private_calendars
    )
    return private and not _participant(row, uid, partner)


def as_seen_by(
    row: Mapping[str, Any], uid: int, partner: int, private_calendars: Collection[int]
) -> dict[str, Any]:
    """The row as the user would read it: masked as Odoo masks it when hidden from them."""
    if not hidden_from(row, uid, partner, private_calendars):
        return dict(row)
    return {name: _masked(name, value) for name, value in row.items()}


def _masked(name: str, value: Any) -> Any:
    if name in PUBLIC_FIELDS or name.startswith("x_"):
        return value
    if name == "name":
        return BUSY
    return [] if name in _TO_MANY else False
