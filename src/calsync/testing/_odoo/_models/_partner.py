"""``res.partner``: contacts, found by e-mail [38].

* ``email`` is stored exactly as typed; ``email_normalized`` (stored) is the
  first valid address, lower-cased, or false; ``email_formatted`` is
  ``"Name" <addr>`` (several addresses are joined with a comma, an invalid one
  kept as is: ``"Not An Email" <@not-an-email>``).
* The default order is ``complete_name ASC, id DESC``: with duplicates the
  name decides.
* ``find_or_create`` searches ``email =ilike <normalized address>`` (limit 1,
  default order) and returns a bare id; otherwise it creates a partner named
  from the display part. ``name_create("Name <addr>")`` splits the address out.
"""

from __future__ import annotations

import re
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any, ClassVar

from calsync.testing._odoo._errors import OdooValueError
from calsync.testing._odoo._models._base import Env, Model, api_model, changes_need

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ResPartner", "email_normalize", "email_normalize_all", "parse_contact"]

_VALID_EMAIL = re.compile(r"^[^\s@<>,;\"']+@[^\s@<>,;\"']+$")


def _split(text: str) -> list[tuple[str, str]]:
    """``(name, address)`` pairs of a header-like string, keeping only valid addresses."""
    pairs = getaddresses([text.replace(";", ",")])
    return [
        (name, address.strip()) for name, address in pairs if _VALID_EMAIL.match(address.strip())
    ]


def email_normalize_all(text: str | None) -> list[str]:
    """Every valid address in ``text``, lower-cased."""
    if not text:
        return []
    return [address.lower() for _name, address in _split(text)]


def email_normalize(text: str | None) -> str | None:
    """The first valid address in ``text``, lower-cased (Odoo's non-strict normalisation)."""
    found = email_normalize_all(text)
    return found[0] if found else None


def parse_contact(text: str) -> tuple[str, str]:
    """``(name, normalized address)`` of ``'"Name" <addr>'`` (all text is the name without one)."""
    pairs = _split(text)
    if not pairs:
        return text, ""
    name, address = pairs[0]
    return name, address.lower()


def formataddr(name: str, address: str) -> str:
    """``"Name" <address>`` with the name quoted the way Odoo quotes it."""
    local, _, domain = address.rpartition("@")
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{local}@{domain}>'


class ResPartner(Model):
    """``res.partner``."""

    _name = "res.partner"
    #: base/security/ir.model.access.csv: internal users read contacts; creating, changing
    #: and deleting them needs "Contact Creation" (base.group_partner_manager), which new
    #: internal users get [39]
    _acl: ClassVar[Mapping[str, str]] = changes_need("Extra Rights/Contact Creation")

    def defaults(self, env: Env) -> dict[str, Any]:
        """Active, a person, in English."""
        return {"active": True, "is_company": False, "lang": "en_US"}

    def rpc_defaults(self, env: Env) -> dict[str, Any]:
        """What real 18.0 answered ``default_get`` for every field (the emulated ones count)."""
        return {
            "lang": env.context.get("lang") or env.user.get("lang") or "en_US",
            "tz": env.context.get("tz") or False,
            "active": True,
            "is_company": False,
        }

    def copy_data(self, env: Env, rid: int) -> dict[str, Any]:
        """``Partner.copy_data``: the name gets " (copy)"."""
        values = super().copy_data(env, rid)
        values["name"] = f"{values.get('name') or ''} (copy)"
        return values

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """Store the computed ``email_normalized`` and ``complete_name``."""
        for rid in ids:
            row = self.db.row(self._name, rid)
            assert row is not None
            values = {
                "email_normalized": email_normalize(row.get("email")),
                "complete_name": self._complete_name(row),
            }
            self.db.update(self._name, rid, values, move=False)

    def _complete_name(self, row: dict[str, Any]) -> str | None:
        name = row.get("name")
        parent = row.get("parent_id")
        if parent and not row.get("is_company"):
            parent_row = self.db.row(self._name, parent)
            if parent_row is not None and parent_row.get("name"):
                return f"{parent_row['name']}, {name or ''}"
        return name if name else None

    def _compute_email_formatted(self, env: Env, rid: int, real: bool) -> str | None:
        row = self.db.row(self._name, rid)
        assert row is not None
        email = row.get("email")
        name = row.get("name") or "False"
        found = email_normalize_all(email)
        if found:
            return formataddr(name, ",".join(found))
        if email:
            return formataddr(name, email)
        return None

    def display_name(self, env: Env, rid: int, *, real: bool = False) -> str:
        """The complete name."""
        row = self.db.row(self._name, rid)
        assert row is not None
        return str(row.get("complete_name") or row.get("name") or "")

    def name_create_values(self, env: Env, name: str) -> dict[str, Any]:
        """``"Name <addr>"`` gives a name and an e-mail [38]."""
        parsed_name, address = parse_contact(name)
        values: dict[str, Any] = {"name": parsed_name or address}
        if address:
            values["email"] = address
        return values

    @api_model
    def find_or_create(self, env: Env, email: Any, assert_valid_email: Any = False) -> Any:
        """The first partner whose e-mail ``=ilike`` the address, else a new one (an id) [38]."""
        if not email:
            raise OdooValueError("An email is required for find_or_create to work")
        name, address = parse_contact(str(email))
        if not address and assert_valid_email:
            raise OdooValueError("A valid email is required for find_or_create to work properly.")
        found = self.search_ids(env, [["email", "=ilike", address]], limit=1)
        if found:
            return found[0]
        self.check_access(env, "create")
        values: dict[str, Any] = {"name": name or address}
        if address:
            values["email"] = address
        return self.create_records(env, [values])[0]
