"""``calendar.attendee``: one row per (event, partner) [06, 09, 33, 39].

* The attendee of the calling user's own partner starts ``accepted``, the
  others ``needsAction``.
* Changing an attendee's state moves only the attendee's ``write_date``, not
  the event's [33].
* Attendee rows are never masked, even on a private event the reader does not
  attend (their ``event_id`` then reads ``[id, "Busy"]``), and any internal
  user may change any attendee's state [39].
* The default order is ``create_date ASC``; rows created together tie and come
  back in physical order, which changes when a row is written [39].
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from calsync.testing._odoo._models._base import Env, Model

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CalendarAttendee"]


class CalendarAttendee(Model):
    """``calendar.attendee``."""

    _name = "calendar.attendee"
    _cascade: ClassVar[frozenset[str]] = frozenset({"event_id", "partner_id"})

    def defaults(self, env: Env) -> dict[str, Any]:
        """Pending, with a fresh invitation token."""
        return {"state": "needsAction", "access_token": uuid.uuid4().hex}

    def create_records(self, env: Env, vals_list: Any) -> list[int]:
        """The current user's own attendee row is accepted at once."""
        prepared = []
        for vals in vals_list:
            values = dict(vals)
            if "state" not in values and values.get("partner_id") == env.partner_id:
                values["state"] = "accepted"
            prepared.append(values)
        return super().create_records(env, prepared)

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """Store ``common_name`` (the partner's name, else its e-mail)."""
        for rid in ids:
            partner = self._partner(rid)
            name = partner.get("name") or partner.get("email") if partner else None
            self.db.update(self._name, rid, {"common_name": name}, move=False)

    def _partner(self, rid: int) -> Mapping[str, Any] | None:
        row = self.db.row(self._name, rid)
        assert row is not None
        return self.db.row("res.partner", row["partner_id"])

    def _compute_email(self, env: Env, rid: int, real: bool) -> Any:
        partner = self._partner(rid)
        return partner.get("email") if partner else None

    def _compute_phone(self, env: Env, rid: int, real: bool) -> Any:
        partner = self._partner(rid)
        return partner.get("phone") if partner else None

    def _compute_mail_tz(self, env: Env, rid: int, real: bool) -> Any:
        partner = self._partner(rid)
        return partner.get("tz") if partner else None

    def _compute_recurrence_id(self, env: Env, rid: int, real: bool) -> Any:
        row = self.db.row(self._name, rid)
        assert row is not None
        event = self.db.row("calendar.event", row["event_id"])
        return event.get("recurrence_id") if event else None
