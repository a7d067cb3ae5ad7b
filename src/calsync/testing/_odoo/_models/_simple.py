"""Small models: alarms, tags (event types), access groups, mail templates, company, languages.

* ``calendar.alarm`` [36]: ``name`` is required (not computed over RPC), the
  type defaults to ``email``, the duration to 1 and the unit to ``hours``;
  ``duration_minutes`` is stored; e-mail alarms get the "Calendar: Reminder"
  template (id 8). Any internal user may create one [39].
* ``calendar.event.type`` [37]: unique, case-sensitive name; a random default
  colour 1-11; only Administration/Settings users may create, change or delete
  tags [39]. Deleting a tag in use silently unlinks it from the events.
* ``res.groups`` and ``mail.template``: read-only records the others point to.
* ``res.lang``: languages and their ``week_start`` ("1" Monday ... "7"
  Sunday, recorded from a real server's ``res.lang``): the week a user's
  weekly series count their intervals in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from calsync.testing._odoo._errors import constraint_error
from calsync.testing._odoo._models._base import Env, Model, changes_need

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CalendarAlarm",
    "CalendarEventType",
    "MailTemplate",
    "ResCompany",
    "ResGroups",
    "ResLang",
]

REMINDER_TEMPLATE_ID = 8
_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
SETTINGS_GROUP = "Administration/Settings"
RIGHTS_GROUP = "Administration/Access Rights"


class CalendarAlarm(Model):
    """``calendar.alarm``: reminders, seven shipped with the module [36]."""

    _name = "calendar.alarm"

    def defaults(self, env: Env) -> dict[str, Any]:
        """Type e-mail, 1 hour."""
        return {"alarm_type": "email", "duration": 1, "interval": "hours"}

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """Store the computed ``duration_minutes`` and the e-mail template."""
        for rid in ids:
            row = self.db.row(self._name, rid)
            assert row is not None
            minutes = (row.get("duration") or 0) * _MINUTES.get(row.get("interval") or "", 0)
            template = row.get("mail_template_id")
            if row.get("alarm_type") == "email":
                template = template or REMINDER_TEMPLATE_ID
            else:
                template = None
            self.db.update(
                self._name,
                rid,
                {"duration_minutes": minutes, "mail_template_id": template},
                move=False,
            )


class CalendarEventType(Model):
    """``calendar.event.type``: event tags, Outlook's categories [37]."""

    _name = "calendar.event.type"
    _acl: ClassVar[Mapping[str, str]] = changes_need(SETTINGS_GROUP)

    def defaults(self, env: Env) -> dict[str, Any]:
        """A random colour, like Odoo's ``randint(1, 11)``."""
        return {"color": self.registry.settings.rng.randint(1, 11)}

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """The unique (case-sensitive) name constraint."""
        if "name" not in fnames:
            return
        names: dict[Any, int] = {}
        for rid in self.all_ids(env):
            name = self.db.fetch(self._name, rid).get("name")
            if name in names:
                raise constraint_error("Tag name already exists!")
            names[name] = rid


class ResGroups(Model):
    """``res.groups``: the access groups a user belongs to (read only)."""

    _name = "res.groups"

    def check_field_names(self, names: Any) -> None:
        """The hidden ``_category`` column is set by the seed."""
        super().check_field_names([name for name in names if not str(name).startswith("_")])

    def convert(
        self, env: Env, vals: Mapping[str, Any], rid: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Keep the hidden ``_category``."""
        row, x2many = super().convert(
            env, {k: v for k, v in vals.items() if not k.startswith("_")}, rid
        )
        row.update({k: v for k, v in vals.items() if k.startswith("_")})
        return row, x2many

    def _compute_full_name(self, env: Env, rid: int, real: bool) -> str:
        row = self.db.row(self._name, rid)
        assert row is not None
        category = row.get("_category")
        return f"{category} / {row['name']}" if category else str(row["name"])


class ResCompany(Model):
    """``res.company``: the one company of a fresh database, "My Company" (partner 1).

    Integrators read it (``search_read``, a user's ``company_id``); only
    Administration / Access Rights users may change it (base's ir.model.access).
    """

    _name = "res.company"
    _acl: ClassVar[Mapping[str, str]] = changes_need(RIGHTS_GROUP)

    def defaults(self, env: Env) -> dict[str, Any]:
        """Active, sequence 10 (odoo/addons/base/models/res_company.py)."""
        return {"active": True, "sequence": 10}


class MailTemplate(Model):
    """``mail.template``: only so that ``mail_template_id`` reads ``[8, "Calendar: Reminder"]``."""

    _name = "mail.template"


class ResLang(Model):
    """``res.lang``: a language's week start decides how weekly series count their weeks."""

    _name = "res.lang"

    def week_start(self, env: Env, code: str | None) -> int:
        """The week start of language ``code`` as a dateutil weekday (0 = Monday).

        Odoo reads ``res.lang.week_start`` of the user's language; a language
        without a record starts its weeks on Sunday, the field's default.
        """
        for rid in self.db.lookup(self._name, "code", code or "en_US"):
            return int(self.db.fetch(self._name, rid).get("week_start") or 7) - 1
        return 6
