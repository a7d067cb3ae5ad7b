"""``ir.model.data``: external ids, usable as idempotency keys [35, 39, 43].

* Unique ``(module, name)``; a duplicate (even inside a multi-create) fails the
  whole call with the recorded PostgreSQL message; names cannot contain spaces.
  Failed creates still use up ids.
* No foreign key on ``res_id``: a row may point at a record that does not exist;
  its ``display_name`` then falls back to ``complete_name``.
* Deleting a record deletes its external ids (the ORM does it in ``unlink``).
* Only Administration/Access Rights users may read or write the model, but
  ``check_object_reference``, ``get_metadata`` and ``get_external_id`` look
  external ids up for anybody. ``check_object_reference`` checks the target
  with a search that honours ``active_test``: an archived record gives
  ``[model, false]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from calsync.testing._odoo._errors import OdooValueError, ValidationError, constraint_error
from calsync.testing._odoo._models._base import Env, Model, api_model

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["IrModelData"]

_RIGHTS = "Administration/Access Rights"


class IrModelData(Model):
    """``ir.model.data``."""

    _name = "ir.model.data"
    _acl: ClassVar[Mapping[str, str]] = {
        "read": _RIGHTS,
        "write": _RIGHTS,
        "create": _RIGHTS,
        "unlink": _RIGHTS,
    }

    def defaults(self, env: Env) -> dict[str, Any]:
        """Not protected from updates by default."""
        return {"noupdate": False}

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """No spaces in names, unique (module, name)."""
        seen: set[tuple[str, str]] = set()
        for rid in ids:
            row = self.db.row(self._name, rid)
            assert row is not None
            if " " in (row.get("name") or ""):
                raise constraint_error("External IDs cannot contain spaces")
        for rid in self.all_ids(env):
            row = self.db.row(self._name, rid)
            assert row is not None
            key = (row["module"], row["name"])
            if key in seen:
                raise ValidationError(
                    "The operation cannot be completed: "
                    "duplicate key value violates unique constraint "
                    '"ir_model_data_module_name_uniq_index"\n'
                    f"DETAIL:  Key (module, name)=({key[0]}, {key[1]}) already exists.\n"
                )
            seen.add(key)

    def _compute_complete_name(self, env: Env, rid: int, real: bool) -> str:
        row = self.db.row(self._name, rid)
        assert row is not None
        return f"{row['module']}.{row['name']}"

    def _compute_reference(self, env: Env, rid: int, real: bool) -> str:
        row = self.db.row(self._name, rid)
        assert row is not None
        return f"{row['model']},{row.get('res_id') or 0}"

    def display_name(self, env: Env, rid: int, *, real: bool = False) -> str:
        """The target's display name, or ``module.name`` when the target is gone."""
        row = self.db.row(self._name, rid)
        assert row is not None
        target = self.registry.models.get(row["model"])
        res_id = row.get("res_id")
        if target is not None and res_id and self.db.exists(row["model"], res_id):
            return target.display_name(env, res_id, real=real)
        return self._compute_complete_name(env, rid, real)

    # -- lookups used by other models --------------------------------------------------------

    def lookup(self, module: str, name: str) -> tuple[str, int] | None:
        """``(model, res_id)`` of an external id, or None."""
        for rid in self.db.ids(self._name):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row["module"] == module and row["name"] == name:
                return row["model"], int(row.get("res_id") or 0)
        return None

    def row_of(self, module: str, name: str) -> int | None:
        """The ``ir.model.data`` id of an external id, or None."""
        for rid in self.db.ids(self._name):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row["module"] == module and row["name"] == name:
                return rid
        return None

    def xmlids_of(self, env: Env, model: str, res_id: int) -> list[tuple[str, bool]]:
        """``[(module.name, noupdate)]`` of a record, oldest first."""
        found = []
        for rid in sorted(self.db.ids(self._name)):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row["model"] == model and row.get("res_id") == res_id:
                found.append((f"{row['module']}.{row['name']}", bool(row.get("noupdate"))))
        return found

    def forget(self, env: Env, model: str, ids: list[int]) -> None:
        """Delete the external ids of deleted records (what ``BaseModel.unlink`` does)."""
        gone = set(ids)
        for rid in list(self.db.ids(self._name)):
            row = self.db.row(self._name, rid)
            assert row is not None
            if row["model"] == model and row.get("res_id") in gone:
                self.db.delete(self._name, rid)

    # -- public methods ----------------------------------------------------------------------

    @api_model
    def check_object_reference(
        self, env: Env, module: Any, xml_id: Any, raise_on_access_error: Any = False
    ) -> Any:
        """``[model, res_id]``; ``[model, false]`` when not visible; ValueError if unknown [35]."""
        found = self.lookup(str(module), str(xml_id))
        if found is None:
            raise OdooValueError(f"External ID not found in the system: {module}.{xml_id}")
        model, res_id = found
        target = self.registry.models.get(model)
        if target is None:
            return [model, res_id]
        visible = target.search_ids(env, [["id", "=", res_id]])
        return [model, res_id if visible else False]
