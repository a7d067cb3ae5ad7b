"""The generic ORM every emulated model builds on.

:class:`Env` is one call's environment (user, context, transaction time),
:class:`Registry` holds the models of one database, and :class:`Model`
implements what ``odoo.models.BaseModel`` offers over RPC: ``create``,
``read``, ``write``, ``unlink``, ``search``, ``search_read``,
``search_count``, ``fields_get``, ``name_create``, ``name_search``,
``get_metadata``, ``get_external_id``, ``load``, ``web_search_read`` and
``web_read``, with the recorded return shapes and error messages. Model
subclasses add defaults, computed fields, constraints, access rules and their
own public methods.

Public (RPC-callable) methods are marked with :func:`api_model` (called without
ids), :func:`api_multi` (the first positional argument is a list of ids) or
:func:`api_create` (``create``: one dict in, one id out; a list in, a list out).
Everything else is internal and cannot be called remotely.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import attrs

from calsync.testing._odoo._domain import compile_domain
from calsync.testing._odoo._errors import (
    OdooValueError,
    missing_error,
    model_access_error,
    not_null_error,
)
from calsync.testing._odoo._fields import Field, ModelSpec, model_specs
from calsync.testing._odoo._order import parse_order, sort_ids
from calsync.testing._odoo._values import (
    as_id,
    m2m_commands,
    scalar_to_row,
    scalar_to_wire,
)

if TYPE_CHECKING:
    from datetime import datetime

    from calsync.testing._odoo._db import Database, Row
    from calsync.testing._odoo._mail import OdooMail
    from calsync.testing._odoo._models._attendee import CalendarAttendee
    from calsync.testing._odoo._models._event import CalendarEvent
    from calsync.testing._odoo._models._model_data import IrModelData
    from calsync.testing._odoo._models._recurrence import CalendarRecurrence
    from calsync.testing._odoo._models._users import ResUsers

__all__ = [
    "Env",
    "Model",
    "Registry",
    "Settings",
    "api_create",
    "api_model",
    "api_multi",
    "changes_need",
]

F = TypeVar("F", bound=Callable[..., Any])

SUPERUSER_ID = 1
ADMIN_GROUPS = {
    "Administration/Access Rights": "_access_admin",
    "Administration/Settings": "_settings_admin",
}


def changes_need(group: str) -> dict[str, str]:
    """Model access rights where reading is open and creating, writing, deleting need ``group``."""
    return dict.fromkeys(("create", "write", "unlink"), group)


def _mentions_active(domain: list[Any]) -> bool:
    """Whether a domain filters on ``active`` itself (then no implicit active filter)."""
    return any(isinstance(item, (list, tuple)) and item and item[0] == "active" for item in domain)


def api_model(func: F) -> F:
    """Mark a public method called without record ids (``@api.model``)."""
    func._rpc = "model"  # type: ignore[attr-defined]
    return func


def api_multi(func: F) -> F:
    """Mark a public method whose first argument is a list of record ids."""
    func._rpc = "multi"  # type: ignore[attr-defined]
    return func


def api_create(func: F) -> F:
    """Mark ``create`` (``@api.model_create_multi``)."""
    func._rpc = "create"  # type: ignore[attr-defined]
    return func


@attrs.define
class Settings:
    """Emulator-wide settings and hooks the models consult."""

    version: str = "18.0"
    base_url: str = "http://localhost:8069"
    series_order: (
        Callable[[list[tuple[datetime, datetime]]], list[tuple[datetime, datetime]]] | None
    ) = None
    rng: random.Random = attrs.field(factory=lambda: random.Random(0))  # noqa: S311

    @property
    def major(self) -> int:
        """The major version (17, 18, 19)."""
        return int(self.version.split(".")[0])


class Registry:
    """The models of one database, sharing its tables and settings."""

    def __init__(self, db: Database, settings: Settings, models: Iterable[type[Model]]) -> None:
        self.db = db
        self.settings = settings
        self.models: dict[str, Model] = {}
        for cls in models:
            self.models[cls._name] = cls(self)

    def model(self, name: str) -> Model:
        """The model called ``name`` (KeyError if not emulated)."""
        return self.models[name]


@attrs.define
class Env:
    """One call's environment: who, with which context, at what transaction time."""

    registry: Registry
    uid: int
    context: dict[str, Any]
    now: datetime
    su: bool = False
    mails: list[OdooMail] = attrs.field(factory=list)

    @property
    def db(self) -> Database:
        """The database of this call."""
        return self.registry.db

    def model(self, name: str) -> Model:
        """The model called ``name``."""
        return self.registry.model(name)

    @property
    def events(self) -> CalendarEvent:
        """``calendar.event``."""
        return cast("CalendarEvent", self.registry.model("calendar.event"))

    @property
    def recurrences(self) -> CalendarRecurrence:
        """``calendar.recurrence``."""
        return cast("CalendarRecurrence", self.registry.model("calendar.recurrence"))

    @property
    def attendees(self) -> CalendarAttendee:
        """``calendar.attendee``."""
        return cast("CalendarAttendee", self.registry.model("calendar.attendee"))

    @property
    def users(self) -> ResUsers:
        """``res.users``."""
        return cast("ResUsers", self.registry.model("res.users"))

    @property
    def model_data(self) -> IrModelData:
        """``ir.model.data``."""
        return cast("IrModelData", self.registry.model("ir.model.data"))

    def with_context(self, **values: Any) -> Env:
        """The same environment with context keys added (shares pending mails)."""
        return attrs.evolve(self, context={**self.context, **values}, mails=self.mails)

    def sudo(self) -> Env:
        """The same environment in superuser mode (no access checks, no masking)."""
        return attrs.evolve(self, su=True, mails=self.mails)

    def as_user(self, uid: int) -> Env:
        """The same environment for another user."""
        return attrs.evolve(self, uid=uid, su=False, mails=self.mails)

    @property
    def user(self) -> Row:
        """The current user's row."""
        row = self.db.row("res.users", self.uid)
        assert row is not None, f"no user {self.uid}"
        return row

    @property
    def partner_id(self) -> int:
        """The current user's partner."""
        partner: int = self.user["partner_id"]
        return partner

    @property
    def user_name(self) -> str:
        """The current user's name (their partner's name)."""
        row = self.db.row("res.partner", self.partner_id)
        return str(row["name"]) if row else ""

    def has_group(self, group: str) -> bool:
        """Whether the user is in a group, named ``Category/Name`` (``Administration/Settings``,
        ``Extra Rights/Contact Creation`` ...)."""
        if self.su or self.uid == SUPERUSER_ID:
            return True
        flag = ADMIN_GROUPS.get(group)
        if flag is not None:
            return bool(self.user.get(flag))
        category, _, name = group.partition("/")
        members = set(self.user.get("groups_id") or ())
        return any(
            (row := self.db.row("res.groups", gid)) is not None
            and row.get("_category") == category
            and row.get("name") == name
            for gid in members
        )

    @property
    def active_test(self) -> bool:
        """Whether searches hide archived records (context ``active_test``, default true)."""
        return bool(self.context.get("active_test", True))

    @property
    def tz(self) -> str | None:
        """The context time zone (``None`` when not given)."""
        value = self.context.get("tz")
        return value if isinstance(value, str) and value else None


class Model:
    """Generic behaviour of one Odoo model over the emulated tables."""

    _name: ClassVar[str] = ""
    #: model access rights for non-admin users: operation -> group that may do it
    _acl: ClassVar[Mapping[str, str]] = {}
    #: many2one fields deleted with their target (others are set to NULL)
    _cascade: ClassVar[frozenset[str]] = frozenset()
    #: fields a private event hides from non-participants (see calendar.event)
    _public_fields: ClassVar[frozenset[str] | None] = None

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.db = registry.db
        self.spec: ModelSpec = model_specs()[self._name]
        self.name = self._name

    # -- field values ------------------------------------------------------------------------

    @property
    def has_active(self) -> bool:
        """Whether the model has an ``active`` field (archiving)."""
        return "active" in self.spec.fields

    def all_ids(self, env: Env) -> list[int]:
        """Every id of the model, archived included, in heap order."""
        return self.db.ids(self._name)

    def value(self, env: Env, rid: int, fname: str, *, real: bool = False) -> Any:
        """A field's Python value for the row ``rid`` as ``env`` sees it.

        ``real`` bypasses per-user masking (searches run on real values).
        """
        if not real and self._hides(env, rid, fname):
            return self._masked_value(env, rid, fname)
        return self._raw_value(env, rid, fname, real)

    def _raw_value(self, env: Env, rid: int, fname: str, real: bool) -> Any:
        if fname == "id":
            return rid
        compute = getattr(self, f"_compute_{fname}", None)
        if compute is not None:
            return compute(env, rid, real)
        field = self.spec.fields[fname]
        if field.type == "one2many":
            return self._one2many(env, rid, field)
        if fname == "display_name":
            return self.display_name(env, rid, real=real)
        row = self.db.row(self._name, rid)
        return row.get(fname) if row is not None else None

    def _masked(self, env: Env, rid: int) -> bool:
        return False

    def _masked_value(self, env: Env, rid: int, fname: str) -> Any:
        field = self.spec.fields[fname]
        if field.x2many:
            return ()
        if field.store:
            return None
        return self._raw_value(env, rid, fname, False)

    def _one2many(self, env: Env, rid: int, field: Field) -> list[int]:
        assert field.relation is not None
        assert field.relation_field is not None
        comodel = self.registry.models.get(field.relation)
        if comodel is None:
            return []
        self.db.flush(field.relation, _one2many_columns(comodel))
        ids = self.db.lookup(field.relation, field.relation_field, rid)
        if comodel.has_active and env.active_test:
            ids = [cid for cid in ids if self.db.fetch(field.relation, cid).get("active")]
        return sort_ids(env, comodel, ids, None)

    def visible_ids(self, env: Env) -> list[int]:
        """Ids in heap order, without archived records unless ``active_test`` is off."""
        ids = self.all_ids(env)
        if self.has_active and env.active_test:
            return [rid for rid in ids if self.db.fetch(self._name, rid).get("active")]
        return ids

    def display_name(self, env: Env, rid: int, *, real: bool = False) -> str:
        """The record's display name (its ``rec_name`` field by default)."""
        value = self.value(env, rid, self.spec.rec_name, real=real)
        return str(value) if value not in (None, False) else ""

    def x2many_ids(self, env: Env, rid: int, fname: str) -> list[int]:
        """An x2many's ids as read: comodel order, archived ones hidden per context."""
        field = self.spec.fields[fname]
        raw = self.value(env, rid, fname)
        if field.type == "one2many" or not raw:
            return list(raw or ())
        assert field.relation is not None
        comodel = env.model(field.relation)
        visible = set(comodel.visible_ids(env))
        existing = [item for item in raw if item in visible]
        return sort_ids(env, comodel, existing, None)

    # -- access ------------------------------------------------------------------------------

    def check_access(self, env: Env, operation: str) -> None:
        """Model access rights: raise the recorded AccessError for non-admin users."""
        group = self._acl.get(operation)
        if group is not None and not env.has_group(group):
            raise model_access_error(operation, self.spec.description, self._name, group)

    def check_rules(self, env: Env, operation: str, ids: Sequence[int]) -> None:
        """Record rules (none by default)."""

    # -- search ------------------------------------------------------------------------------

    def search_ids(
        self,
        env: Env,
        domain: object,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        """Ids matching ``domain``, ordered and paged (the engine of search/search_read)."""
        domain = list(domain) if isinstance(domain, (list, tuple)) else domain
        if (
            self.has_active
            and env.active_test
            and isinstance(domain, list)
            and not _mentions_active(domain)
        ):
            domain = [["active", "=", True], *domain]
        matcher = compile_domain(env, self, domain)
        named = {term.field for term in parse_order(self, order or self.spec.order)}
        self.db.flush(self._name, named | _domain_fields(domain))
        ids = [rid for rid in self.all_ids(env) if matcher(rid)]
        ids = sort_ids(env, self, ids, order)
        ids = ids[offset or 0 :]
        return ids[:limit] if limit else ids

    def name_search_ids(self, env: Env, operator: str, value: str) -> list[int]:
        """Ids whose display name matches (used for names given to relational leaves)."""
        return self.search_ids(
            env.with_context(active_test=False), [[self.spec.rec_name, operator, value]]
        )

    # -- create ------------------------------------------------------------------------------

    def check_field_names(self, names: Iterable[str]) -> None:
        """ValueError for a field the model does not have."""
        for name in names:
            if name not in self.spec.fields:
                raise OdooValueError(f"Invalid field {name!r} on model {self._name!r}")

    def defaults(self, env: Env) -> dict[str, Any]:
        """Default values of a new record (overridden per model)."""
        return {"active": True} if self.has_active else {}

    def create_records(self, env: Env, vals_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert records: ids first (they stay used if anything fails), then checks."""
        for vals in vals_list:
            self.check_field_names(vals)
            self.precheck(env, vals)
        ids = [self.db.next_id(self._name) for _ in vals_list]
        pending = []
        for rid, vals in zip(ids, vals_list, strict=True):
            values = {**self.defaults(env), **vals}
            row, x2many = self.convert(env, values)
            row.update(
                create_uid=env.uid, create_date=env.now, write_uid=env.uid, write_date=env.now
            )
            pending.append((rid, row, x2many))
        for rid, row, _x2many in pending:
            self.check_required(row)
            self.db.insert(self._name, rid, row)
        for rid, _row, x2many in pending:
            self.apply_one2many(env, rid, x2many)
        self.after_write(
            env, ids, set().union(*(vals.keys() for vals in vals_list)) if vals_list else set()
        )
        return ids

    def precheck(self, env: Env, vals: Mapping[str, Any]) -> None:
        """Conversions Odoo makes before the INSERT: their errors use up no id.

        Selection, number and many2one values are checked while the INSERT is
        built (``'weeks'`` for an alarm unit left the next alarm id unused [36, 39]);
        date and datetime strings go to PostgreSQL as they are and Odoo's strict
        parse fails after the row was inserted, so those errors do use up an id [29].
        """
        for name, value in vals.items():
            field = self.spec.fields.get(name)
            if field is None or not field.store or field.type in ("date", "datetime", "html"):
                continue
            if field.type == "many2one":
                as_id(value)
            elif not field.x2many:
                self.convert_scalar(env, field, value)

    def convert(self, env: Env, vals: Mapping[str, Any], rid: int | None = None) -> tuple[Row, Row]:
        """Wire values to row values; one2many commands are returned apart."""
        row: Row = {}
        x2many: Row = {}
        for name, value in vals.items():
            field = self.spec.fields[name]
            if field.type == "one2many":
                x2many[name] = value
            elif field.type == "many2many":
                current = () if rid is None else self.db.fetch(self._name, rid).get(name, ())
                row[name] = m2m_commands(current or (), value)
            elif field.type == "many2one":
                row[name] = as_id(value)
            elif field.store:
                row[name] = self.convert_scalar(env, field, value)
        return row, x2many

    def convert_scalar(self, env: Env, field: Field, value: Any) -> Any:
        """One stored scalar value from the wire (html sanitising happens here)."""
        return scalar_to_row(self._name, field, value)

    def check_required(self, row: Row, *, complete: bool = True) -> None:
        """The NOT NULL check of required columns (a ValidationError naming the field).

        ``complete`` checks a new row (missing columns count); otherwise only the
        columns present in ``row`` (a write) are checked.
        """
        for field in self.spec.fields.values():
            if not (field.required and field.store and not field.x2many):
                continue
            if field.name not in row and not complete:
                continue
            value = row.get(field.name)
            if value is None or value is False:
                raise not_null_error(self.spec.description, self._name, field.string, field.name)

    def apply_one2many(self, env: Env, rid: int, x2many: Mapping[str, Any]) -> None:
        """Run one2many commands: (0, 0, vals) create, (1, id, vals) write, (2, id) delete."""
        for name, commands in x2many.items():
            field = self.spec.fields[name]
            assert field.relation is not None
            assert field.relation_field is not None
            comodel = env.model(field.relation)
            for command in commands or ():
                op = command[0]
                if op == 0:
                    comodel.create_records(env, [{**command[2], field.relation_field: rid}])
                elif op == 1:
                    comodel.write_records(env, [command[1]], command[2])
                elif op == 2:
                    comodel.unlink_records(env, [command[1]])

    def after_write(self, env: Env, ids: list[int], fnames: set[str]) -> None:
        """Constraint checks after create/write (overridden per model)."""

    # -- write / unlink ----------------------------------------------------------------------

    def existing(self, ids: Sequence[int]) -> list[int]:
        """The ids that still exist."""
        return [rid for rid in ids if self.db.exists(self._name, rid)]

    def ensure_exist(self, env: Env, ids: Sequence[int]) -> None:
        """MissingError for deleted or unknown ids [29]."""
        missing = [rid for rid in ids if not self.db.exists(self._name, rid)]
        if missing:
            raise missing_error(self._name, missing, env.uid)

    def write_records(self, env: Env, ids: Sequence[int], vals: Mapping[str, Any]) -> None:
        """Update rows; every write sets write_uid/write_date, even unchanged values [42]."""
        self.check_field_names(vals)
        self.ensure_exist(env, ids)
        for rid in ids:
            row, x2many = self.convert(env, vals, rid)
            self.check_required(row, complete=False)
            row.update(write_uid=env.uid, write_date=env.now)
            self.db.update(self._name, rid, row)
            self.apply_one2many(env, rid, x2many)
        self.after_write(env, list(ids), set(vals))

    def unlink_records(self, env: Env, ids: Sequence[int]) -> None:
        """Delete rows, their external ids and what references them (cascade or NULL)."""
        self.ensure_exist(env, ids)
        targets = list(dict.fromkeys(ids))
        for rid in targets:
            if self.db.exists(self._name, rid):
                self.db.delete(self._name, rid)
        self._drop_references(env, set(targets))
        env.model_data.forget(env, self._name, targets)

    def _drop_references(self, env: Env, gone: set[int]) -> None:
        for other in self.registry.models.values():
            for field in other.spec.fields.values():
                if field.relation != self._name or not field.store:
                    continue
                if field.type == "many2one":
                    other.drop_many2one(env, field.name, gone)
                elif field.type == "many2many":
                    other.drop_many2many(env, field.name, gone)

    def drop_many2one(self, env: Env, fname: str, gone: set[int]) -> None:
        """ON DELETE CASCADE or SET NULL for rows pointing at deleted records."""
        hits = [
            rid for rid in self.all_ids(env) if self.db.fetch(self._name, rid).get(fname) in gone
        ]
        if not hits:
            return
        if fname in self._cascade:
            self.unlink_records(env.sudo(), hits)
        else:
            for rid in hits:
                self.db.update(self._name, rid, {fname: None})

    def drop_many2many(self, env: Env, fname: str, gone: set[int]) -> None:
        """Remove links to deleted records (a relation-table delete: the row is not rewritten)."""
        for rid in self.all_ids(env):
            current = self.db.fetch(self._name, rid).get(fname) or ()
            kept = tuple(item for item in current if item not in gone)
            if kept != tuple(current):
                self.db.update(self._name, rid, {fname: kept}, move=False)

    # -- read --------------------------------------------------------------------------------

    def read_records(
        self,
        env: Env,
        ids: Sequence[int],
        fields: Sequence[str] | None,
        load: str | None = "_classic_read",
    ) -> list[dict[str, Any]]:
        """``read``: deleted ids are skipped silently [22]; no ``fields`` means all [41].

        A one2many is read for all the records at once, as Odoo's ``One2many.read``
        does (one query, one sort: its ties depend on the whole batch).
        """
        names = [name for name in self.read_field_names(fields) if name != "id"]
        present = [rid for rid in ids if self.db.exists(self._name, rid)]
        batches = {
            name: self._one2many_batch(env, present, self.spec.fields[name])
            for name in names
            if self.spec.fields[name].type == "one2many"
            and getattr(self, f"_compute_{name}", None) is None
        }

        def wire(rid: int, name: str) -> Any:
            if name not in batches:
                return self.wire_value(env, rid, name, load)
            return (
                list(self.value(env, rid, name))
                if self._hides(env, rid, name)
                else batches[name][rid]
            )

        return [{"id": rid, **{name: wire(rid, name) for name in names}} for rid in present]

    def _hides(self, env: Env, rid: int, fname: str) -> bool:
        """Whether ``env``'s user reads ``fname`` of ``rid`` masked."""
        hidden = self._public_fields is not None and fname not in self._public_fields
        return hidden and not env.su and self._masked(env, rid)

    def _one2many_batch(self, env: Env, ids: Sequence[int], field: Field) -> dict[int, list[int]]:
        """A one2many of several records: one sort of all their lines, then grouped."""
        assert field.relation is not None
        assert field.relation_field is not None
        comodel = self.registry.models.get(field.relation)
        found: dict[int, list[int]] = {rid: [] for rid in ids}
        if comodel is None:
            return found
        self.db.flush(field.relation, _one2many_columns(comodel))
        lines = [
            cid for rid in ids for cid in self.db.lookup(field.relation, field.relation_field, rid)
        ]
        if comodel.has_active and env.active_test:
            lines = [cid for cid in lines if self.db.fetch(field.relation, cid).get("active")]
        for cid in sort_ids(env, comodel, lines, None):
            owner = int(self.db.fetch(field.relation, cid)[field.relation_field])
            found.setdefault(owner, []).append(cid)
        return found

    def read_field_names(self, fields: Sequence[str] | None) -> list[str]:
        """The fields a read returns, checked."""
        if not fields:
            return [name for name in self.spec.fields if name != "id"]
        if isinstance(fields, str):
            fields = [fields]
        self.check_field_names(fields)
        return list(dict.fromkeys(fields))

    def wire_value(self, env: Env, rid: int, fname: str, load: str | None = "_classic_read") -> Any:
        """A field of a record formatted for the wire."""
        field = self.spec.fields[fname]
        if field.x2many:
            return self.x2many_ids(env, rid, fname)
        value = self.value(env, rid, fname)
        if field.type == "many2one":
            if value is None or value is False:
                return False
            if load != "_classic_read":
                return value
            assert field.relation is not None
            return [value, self.related_display_name(env, field.relation, value)]
        return scalar_to_wire(field, value)

    def related_display_name(self, env: Env, model: str, rid: int) -> str:
        """The display name of a linked record (any model, emulated or not)."""
        target = self.registry.models.get(model)
        if target is None or not self.db.exists(model, rid):
            return ""
        return target.display_name(env, rid)

    # == public (RPC) methods =================================================================

    @api_create
    def create(self, env: Env, vals_list: Any) -> Any:
        """``create``: a dict gives an id, a list of dicts gives a list of ids [05, 25]."""
        self.check_access(env, "create")
        single = isinstance(vals_list, Mapping)
        batch = [vals_list] if single else list(vals_list)
        ids = self.create_from_rpc(env, batch)
        self.check_rules(env, "create", ids)
        return ids[0] if single else ids

    def create_from_rpc(self, env: Env, vals_list: Sequence[Mapping[str, Any]]) -> list[int]:
        """The model's create logic (overridden by models with side effects)."""
        return self.create_records(env, vals_list)

    @api_multi
    def read(
        self, env: Env, ids: list[int], fields: Any = None, load: Any = "_classic_read"
    ) -> Any:
        """``read``."""
        self.check_access(env, "read")
        return self.read_records(env, ids, fields, load)

    @api_multi
    def write(self, env: Env, ids: list[int], vals: Any) -> Any:
        """``write``: returns true; MissingError for deleted ids [29]."""
        self.check_access(env, "write")
        self.ensure_exist(env, ids)
        self.check_rules(env, "write", ids)
        self.write_from_rpc(env, ids, dict(vals))
        return True

    def write_from_rpc(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        """The model's write logic (overridden by models with side effects)."""
        self.write_records(env, ids, vals)

    @api_multi
    def unlink(self, env: Env, ids: list[int]) -> Any:
        """``unlink``: returns true; MissingError for deleted ids [29]."""
        self.check_access(env, "unlink")
        self.ensure_exist(env, ids)
        self.check_rules(env, "unlink", ids)
        self.unlink_from_rpc(env, ids)
        return True

    def unlink_from_rpc(self, env: Env, ids: list[int]) -> None:
        """The model's unlink logic (overridden by models with side effects)."""
        self.unlink_records(env, ids)

    @api_model
    def search(
        self, env: Env, domain: Any, offset: Any = 0, limit: Any = None, order: Any = None
    ) -> Any:
        """``search``: ids, with order/limit/offset [41]."""
        self.check_access(env, "read")
        return self.search_ids(env, domain, offset=offset or 0, limit=limit, order=order)

    @api_model
    def search_read(
        self,
        env: Env,
        domain: Any = None,
        fields: Any = None,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        **read_kwargs: Any,
    ) -> Any:
        """``search_read``: positional or keyword arguments [41]."""
        self.check_access(env, "read")
        ids = self.search_ids(env, domain or [], offset=offset or 0, limit=limit, order=order)
        return self.read_records(env, ids, fields, read_kwargs.get("load", "_classic_read"))

    @api_model
    def search_count(self, env: Env, domain: Any, limit: Any = None) -> Any:
        """``search_count``: a bare int, capped by ``limit`` [41]."""
        self.check_access(env, "read")
        return len(self.search_ids(env, domain, limit=limit))

    @api_model
    def fields_get(self, env: Env, allfields: Any = None, attributes: Any = None) -> Any:
        """``fields_get``: the recorded descriptions, in model order [03]."""
        wanted = set(allfields) if allfields else None
        return {
            name: field.describe(attributes)
            for name, field in self.spec.fields.items()
            if wanted is None or name in wanted
        }

    @api_model
    def name_create(self, env: Env, name: Any) -> Any:
        """``name_create``: ``[id, display_name]`` [37]."""
        self.check_access(env, "create")
        [rid] = self.create_from_rpc(env, [self.name_create_values(env, str(name))])
        return [rid, self.display_name(env, rid)]

    def name_create_values(self, env: Env, name: str) -> dict[str, Any]:
        """The values ``name_create`` creates a record with."""
        return {self.spec.rec_name: name}

    @api_model
    def name_search(
        self,
        env: Env,
        name: Any = "",
        domain: Any = None,
        operator: Any = "ilike",
        limit: Any = 100,
    ) -> Any:
        """``name_search``: ``[[id, display_name], ...]``."""
        self.check_access(env, "read")
        extra = [[self.spec.rec_name, operator, name]] if name else []
        ids = self.search_ids(env, [*(domain or []), *extra], limit=limit)
        return [[rid, self.display_name(env, rid)] for rid in ids]

    @api_multi
    def action_archive(self, env: Env, ids: list[int]) -> Any:
        """Archive the active records (returns nothing, like Odoo's ``toggle_active``)."""
        return self._set_active(env, ids, active=False)

    @api_multi
    def action_unarchive(self, env: Env, ids: list[int]) -> Any:
        """Restore the archived records (returns nothing)."""
        return self._set_active(env, ids, active=True)

    def _set_active(self, env: Env, ids: list[int], *, active: bool) -> None:
        if not self.has_active:
            from calsync.testing._odoo._errors import GenericError

            raise GenericError(
                "builtins.AssertionError", f"No 'active' field on model {self._name}"
            )
        targets = [
            rid
            for rid in self.existing(ids)
            if bool(self.db.fetch(self._name, rid).get("active")) != active
        ]
        if targets:
            self.write(env, targets, {"active": active})

    @api_multi
    def exists(self, env: Env, ids: list[int]) -> Any:
        """``exists``: the ids that still exist."""
        return self.existing(ids)

    @api_multi
    def get_metadata(self, env: Env, ids: list[int]) -> Any:
        """``get_metadata``: log columns as the caller reads them, plus external ids.

        External ids are looked up for any user [39]; ``xmlid`` is the oldest one and
        ``xmlids`` lists them newest first, as Odoo's ``id DESC`` query does [35].
        """
        result = []
        for rid in self.existing(ids):
            xmlids = env.model_data.xmlids_of(env, self._name, rid)
            entry: dict[str, Any] = {"id": rid}
            for column in ("create_uid", "create_date", "write_uid", "write_date"):
                entry[column] = self.wire_value(env, rid, column)
            entry["xmlid"] = xmlids[0][0] if xmlids else False
            entry["noupdate"] = xmlids[0][1] if xmlids else False
            entry["xmlids"] = [
                {"xmlid": xmlid, "noupdate": flag} for xmlid, flag in reversed(xmlids)
            ]
            result.append(entry)
        return result

    @api_multi
    def get_external_id(self, env: Env, ids: list[int]) -> Any:
        """``get_external_id``: ``{"<id>": "module.name"}`` (string keys on the wire) [35]."""
        imd = env.model_data
        result = {}
        for rid in ids:
            xmlids = imd.xmlids_of(env, self._name, rid)
            result[str(rid)] = xmlids[0][0] if xmlids else ""
        return result

    @api_model
    def default_get(self, env: Env, fields_list: Any) -> Any:
        """``default_get``: the defaults a new record would get, for the fields asked.

        odoorpc asks for every field when it reads an empty many2one or x2many. The
        context's ``default_<field>`` keys win (odoo/models.py ``default_get``).
        """
        values = self.rpc_defaults(env)
        for key, value in env.context.items():
            if key.startswith("default_") and key[len("default_") :] in self.spec.fields:
                values[key[len("default_") :]] = value
        return {name: values[name] for name in fields_list or () if name in values}

    def rpc_defaults(self, env: Env) -> dict[str, Any]:
        """The field defaults as ``default_get`` sends them (overridden where recorded)."""
        return {
            name: [[6, 0, list(value[0][2])]]
            if isinstance(value, list) and value and isinstance(value[0], tuple)
            else (False if value is None else value)
            for name, value in self.defaults(env).items()
            if not name.startswith("_") and name in self.spec.fields
        }

    @api_multi
    def copy(self, env: Env, ids: list[int], default: Any = None) -> Any:
        """``copy``: new records with the copied fields (``copy_data``) and ``default``; ids."""
        self.check_access(env, "create")
        self.ensure_exist(env, ids)
        vals_list = [{**self.copy_data(env, rid), **dict(default or {})} for rid in ids]
        new = self.create_from_rpc(env, vals_list)
        self.check_rules(env, "create", new)
        return new

    def copy_data(self, env: Env, rid: int) -> dict[str, Any]:
        """The values a copy starts from: stored fields but the log columns and one2manys."""
        row = self.db.fetch(self._name, rid)
        skip = {"id", "create_uid", "create_date", "write_uid", "write_date", "display_name"}
        values: dict[str, Any] = {}
        for name, field in self.spec.fields.items():
            if name in skip or not field.store or field.type == "one2many" or field.readonly:
                continue
            value = row.get(name)
            if field.type == "many2many":
                values[name] = [(6, 0, list(value or ()))]
            elif value is not None:
                values[name] = scalar_to_wire(field, value)
        return values

    def _grouping_domain(self, env: Env, domain: Any, specs: list[Any], *, formatted: bool) -> Any:
        """The domain a grouping by ``specs`` (grouped and aggregated fields) runs on:
        ``domain`` here; a model may narrow it (``calendar.event`` does)."""
        return domain

    @api_model
    def read_group(
        self,
        env: Env,
        domain: Any,
        fields: Any,
        groupby: Any,
        offset: Any = 0,
        limit: Any = None,
        orderby: Any = False,
        lazy: Any = True,
    ) -> Any:
        """``read_group``: counts and aggregates per group (see :mod:`.._grouping`)."""
        from calsync.testing._odoo._grouping import read_group

        self.check_access(env, "read")
        specs = [groupby] if isinstance(groupby, str) else list(groupby or [])
        domain = self._grouping_domain(env, domain, [*specs, *(fields or [])], formatted=False)
        return read_group(self, env, domain, fields, groupby, offset, limit, orderby, lazy)

    @api_model
    def formatted_read_group(
        self,
        env: Env,
        domain: Any,
        groupby: Any = (),
        aggregates: Any = (),
        having: Any = (),
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
    ) -> Any:
        """19.0's ``formatted_read_group`` (see :mod:`.._grouping`; ``having`` not modelled)."""
        from calsync.testing._odoo._grouping import formatted_read_group

        self.check_access(env, "read")
        specs = [*(groupby or ()), *(aggregates or ())]
        domain = self._grouping_domain(env, domain, specs, formatted=True)
        return formatted_read_group(
            self, env, domain, list(groupby or ()), list(aggregates or ()), offset, limit, order
        )

    @api_model
    def check_access_rights(self, env: Env, operation: Any, raise_exception: Any = True) -> Any:
        """``check_access_rights``: whether the model's access rights allow ``operation``.

        17.0 answers true or raises; 18.0 and 19.0 (deprecated there) call
        ``check_access``, which returns nothing: ``null`` when allowed.
        """
        if operation not in ("read", "write", "create", "unlink"):
            from calsync.testing._odoo._errors import GenericError

            raise GenericError("builtins.AssertionError", "Invalid access mode")
        if not raise_exception:
            group = self._acl.get(operation)
            return group is None or env.has_group(group)
        self.check_access(env, operation)
        return True if self.registry.settings.major <= 17 else None

    @api_model
    def load(self, env: Env, fields: Any, data: Any) -> Any:
        """``load``: create-or-update keyed by external id, all or nothing [43]."""
        from calsync.testing._odoo._load import load_rows

        return load_rows(env, self, list(fields), [list(row) for row in data])

    @api_model
    def web_search_read(
        self,
        env: Env,
        domain: Any,
        specification: Any,
        offset: Any = 0,
        limit: Any = None,
        order: Any = None,
        count_limit: Any = None,
    ) -> Any:
        """``web_search_read``: ``{"length": N, "records": [...]}`` with nested values [27]."""
        self.check_access(env, "read")
        ids = self.search_ids(env, domain, offset=offset or 0, limit=limit, order=order)
        records = self.web_read_records(env, ids, specification)
        if not records:
            return {"length": 0, "records": []}
        current = len(records) + (offset or 0)
        count_reached = bool(count_limit) and count_limit <= current
        if limit and len(records) == limit and not count_reached:
            length = len(self.search_ids(env, domain, limit=count_limit))
        else:
            length = current
        return {"length": length, "records": records}

    @api_multi
    def web_read(self, env: Env, ids: list[int], specification: Any) -> Any:
        """``web_read``: records shaped by a field specification."""
        self.check_access(env, "read")
        return self.web_read_records(env, self.existing(ids), specification)

    def web_read_records(
        self, env: Env, ids: Sequence[int], spec: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Records as the web client's specification asks (nested relational dicts)."""
        self.check_field_names(spec)
        return [
            {
                "id": rid,
                **{name: self._web_value(env, rid, name, sub) for name, sub in spec.items()},
            }
            for rid in ids
        ]

    def _web_value(self, env: Env, rid: int, fname: str, sub: Any) -> Any:
        field = self.spec.fields[fname]
        nested = sub.get("fields") if isinstance(sub, Mapping) else None
        if not field.relational or field.relation is None:
            return self.wire_value(env, rid, fname)
        comodel = env.model(field.relation)
        if field.x2many:
            ids = self.x2many_ids(env, rid, fname)
            return comodel.web_read_records(env, ids, nested) if nested else ids
        value = self.value(env, rid, fname)
        if value is None:
            return False
        if nested:
            return comodel.web_read_records(env, [value], nested)[0]
        return value


def _domain_fields(domain: object) -> set[str]:
    """The columns a domain names (the first step of each leaf's path)."""
    if not isinstance(domain, (list, tuple)):
        return set()
    return {
        str(leaf[0]).split(".", 1)[0]
        for leaf in domain
        if isinstance(leaf, (list, tuple)) and len(leaf) == 3
    }


def _one2many_columns(comodel: Model) -> set[str]:
    """What a one2many's query names besides its inverse: ``active`` and the comodel's order."""
    order = {term.field for term in parse_order(comodel, comodel.spec.order)}
    return order | ({"active"} if comodel.has_active else set())
