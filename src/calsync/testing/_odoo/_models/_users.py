"""``res.users``: internal users with a partner, a password and API keys [04, 39].

A user created over RPC with ``{"name", "login", "password", "email"}`` and no
groups is an internal user (groups Internal User, Contact Creation, Access to
export feature, Technical Features), ``share: false``,
``calendar_default_privacy: "public"``, ``tz: false``; its partner is created
with it. Without ``no_reset_password`` in the context Odoo mails the new user
an invitation. Creating users needs Administration/Access Rights; a user may
only change their own record otherwise.

The password (and any API keys) live in hidden columns: ``password`` reads as
``""`` like on a real server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from calsync.testing._odoo._errors import AccessError, ValidationError, model_access_error
from calsync.testing._odoo._mail import SIGNUP, OdooMail
from calsync.testing._odoo._models._base import Env, Model, api_model

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["INTERNAL_GROUPS", "ResUsers"]

_RIGHTS = "Administration/Access Rights"
#: the company of a fresh database (base.main_company)
MAIN_COMPANY = 1
#: groups of a new internal user, as recorded for bob [39]
INTERNAL_GROUPS = (8, 9, 1, 7)


class ResUsers(Model):
    """``res.users``."""

    _name = "res.users"
    _acl: ClassVar[Mapping[str, str]] = {"create": _RIGHTS, "unlink": _RIGHTS}

    def defaults(self, env: Env) -> dict[str, Any]:
        """An active internal user in English with a public calendar."""
        return {
            "active": True,
            "share": False,
            "lang": "en_US",
            "calendar_default_privacy": "public",
            "groups_id": [(6, 0, list(INTERNAL_GROUPS))],
            "company_id": MAIN_COMPANY,
            "company_ids": [(6, 0, [MAIN_COMPANY])],
        }

    def _compute_name(self, env: Env, rid: int, real: bool) -> Any:
        return self._partner_value(rid, "name")

    def _compute_email(self, env: Env, rid: int, real: bool) -> Any:
        return self._partner_value(rid, "email")

    def _compute_password(self, env: Env, rid: int, real: bool) -> str:
        return ""

    def _compute_calendar_default_privacy(self, env: Env, rid: int, real: bool) -> Any:
        """Another user's setting as 18.0 computes it: from their ``res.users.settings``,
        which only they and Settings administrators may read (base_security.xml); for
        anyone else the fallback, "public" (addons/calendar/models/res_users.py). 19.0
        reads it with sudo: everyone sees the real value.
        """
        row = self.db.row(self._name, rid) or {}
        value = row.get("calendar_default_privacy") or "public"
        if (
            real
            or rid == env.uid
            or self.registry.settings.major >= 19
            or env.has_group("Administration/Settings")
        ):
            return value
        return "public"

    def _partner_value(self, rid: int, fname: str) -> Any:
        row = self.db.row(self._name, rid)
        assert row is not None
        partner = self.db.row("res.partner", row["partner_id"])
        return partner.get(fname) if partner is not None else None

    def create_from_rpc(self, env: Env, vals_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """Create each user's partner, then the users; mail them unless ``no_reset_password``."""
        self.check_field_names([name for vals in vals_list for name in vals])
        prepared = [self._prepare(env, dict(vals)) for vals in vals_list]
        ids = self.create_records(env, prepared)
        self._check_logins(env)
        if not env.context.get("no_reset_password"):
            for rid in ids:
                self._mail_signup(env, rid)
        return ids

    def _prepare(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        password = vals.pop("password", None)
        partner_vals: dict[str, Any] = {
            name: vals.pop(name) for name in ("name", "email") if name in vals
        }
        partner_vals.update({name: vals[name] for name in ("tz", "lang") if name in vals})
        if not vals.get("partner_id"):
            partner_vals.setdefault("name", vals.get("login"))
            vals["partner_id"] = env.model("res.partner").create_records(env, [partner_vals])[0]
        vals["_password"] = password
        return vals

    def check_field_names(self, names: Any) -> None:
        """Hidden columns set by the emulator itself are allowed."""
        super().check_field_names([name for name in names if not str(name).startswith("_")])

    def convert(
        self, env: Env, vals: Mapping[str, Any], rid: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Keep the hidden columns (password, API keys, admin flags) as given."""
        hidden = {name: value for name, value in vals.items() if name.startswith("_")}
        visible = {name: value for name, value in vals.items() if name not in hidden}
        row, x2many = super().convert(env, visible, rid)
        row.update(hidden)
        return row, x2many

    def _check_logins(self, env: Env) -> None:
        seen = set()
        for rid in self.all_ids(env):
            login = self.db.fetch(self._name, rid).get("login")
            if login in seen:
                raise ValidationError("You can not have two users with the same login!")
            seen.add(login)

    def _mail_signup(self, env: Env, rid: int) -> None:
        email = self._partner_value(rid, "email")
        if not email:
            return
        company = env.db.row("res.partner", 1)
        company_name = company.get("name") if company else "My Company"
        subject = f"{env.user_name} from {company_name} invites you to connect to Odoo"
        row = self.db.row(self._name, rid)
        assert row is not None
        env.mails.append(OdooMail(SIGNUP, str(email), None, subject, row["partner_id"]))

    def write_from_rpc(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        """Partner fields go to the partner, the password to its hidden column.

        ``calendar_default_privacy`` is the user's own to change (or the Default
        User Template's): calendar's ``Users.write`` (addons/calendar/models/res_users.py)
        refuses anyone else, administrators included.
        """
        if "calendar_default_privacy" in vals:
            template = next(
                (
                    rid
                    for rid in self.db.ids(self._name)
                    if self.db.fetch(self._name, rid).get("login") == "default"
                ),
                None,
            )
            if any(rid not in (template, env.uid) for rid in ids):
                raise AccessError(
                    "You are not allowed to change the calendar default privacy of another "
                    "user due to privacy constraints."
                )
        vals = dict(vals)
        if "password" in vals:
            vals["_password"] = vals.pop("password")
        partner_vals: dict[str, Any] = {
            name: vals.pop(name) for name in ("name", "email") if name in vals
        }
        if "tz" in vals:
            partner_vals["tz"] = vals["tz"]
        self.write_records(env, ids, vals)
        if partner_vals:
            partners = [self.db.fetch(self._name, rid)["partner_id"] for rid in ids]
            env.model("res.partner").write_records(env, partners, partner_vals)
        self._check_logins(env)

    def check_rules(self, env: Env, operation: str, ids: Sequence[int]) -> None:
        """Non-admin users may only change their own user."""
        if (
            operation == "write"
            and not env.has_group(_RIGHTS)
            and any(rid != env.uid for rid in ids)
        ):
            raise model_access_error("write", self.spec.description, self._name, _RIGHTS)

    @api_model
    def context_get(self, env: Env) -> Any:
        """``{"lang", "tz", "uid"}`` of the calling user [02]."""
        row = env.user
        return {"lang": row.get("lang") or "en_US", "tz": row.get("tz") or False, "uid": env.uid}

    # -- credentials (used by the RPC layer) -------------------------------------------------

    def login_uid(self, login: str) -> int | None:
        """The active user with this login."""
        for rid in self.db.ids(self._name):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row.get("login") == login and row.get("active"):
                return rid
        return None

    def check_password(self, uid: int, secret: str) -> bool:
        """Whether ``secret`` is the user's password or one of their API keys."""
        row = self.db.row(self._name, uid)
        if row is None or not row.get("active"):
            return False
        return secret == row.get("_password") or secret in (row.get("_api_keys") or ())

    def api_key_uid(self, key: str) -> int | None:
        """The active user owning an API key (JSON-2 bearer authentication)."""
        for rid in self.db.ids(self._name):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row.get("active") and key in (row.get("_api_keys") or ()):
                return rid
        return None
