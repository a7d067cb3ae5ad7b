"""Field and model specifications, loaded from ``_data/models.json``.

The three calendar models carry the ``fields_get`` output recorded on Odoo 18.0
(transcript 03) verbatim; the other models carry hand-written tables in the same
format, checked against the partial ``fields_get`` answers recorded in
transcripts 35-40. One table drives everything: the ``fields_get`` answer,
type conversion on write, formatting on read, which fields a domain or an order
may use, and which fields are required.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Field", "ModelSpec", "model_specs", "tz_names"]

#: Attributes added to every field when ``fields_get`` is called without ``attributes``
#: (odoorpc's model proxies do that); they are not in transcript 03.
_EXTRA_ATTRIBUTES = {"change_default": False, "default_export_compatible": False, "manual": False}

RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
X2MANY = frozenset({"one2many", "many2many"})


@attrs.frozen
class Field:
    """One field of a model, as ``fields_get`` describes it."""

    name: str
    type: str
    string: str
    description: Mapping[str, Any]
    relation: str | None = None
    relation_field: str | None = None
    required: bool = False
    readonly: bool = False
    store: bool = True
    searchable: bool = True
    selection: tuple[str, ...] | None = None

    @property
    def relational(self) -> bool:
        """many2one, one2many or many2many."""
        return self.type in RELATIONAL

    @property
    def x2many(self) -> bool:
        """one2many or many2many."""
        return self.type in X2MANY

    def describe(self, attributes: list[str] | None) -> dict[str, Any]:
        """This field's ``fields_get`` entry, limited to ``attributes`` when given."""
        if attributes is not None:
            return {key: self.description[key] for key in attributes if key in self.description}
        full = dict(self.description)
        full.update(_EXTRA_ATTRIBUTES)
        full["exportable"] = True
        full["groupable"] = self.store and self.type not in X2MANY
        full["name"] = self.name
        return dict(sorted(full.items()))


@attrs.frozen
class ModelSpec:
    """A model's name, description (``ir.model`` name), default order and fields."""

    name: str
    description: str
    order: str
    rec_name: str
    fields: Mapping[str, Field]

    def field(self, name: str) -> Field | None:
        """The field called ``name``, if the model has one."""
        return self.fields.get(name)


def _field(name: str, raw: Mapping[str, Any], tz: list[str]) -> Field:
    description = dict(raw)
    selection = description.get("selection")
    if selection == "$tz":
        description["selection"] = [[zone, zone] for zone in tz]
    values = tuple(value for value, _label in description.get("selection") or ())
    return Field(
        name=name,
        type=description["type"],
        string=description["string"],
        description=description,
        relation=description.get("relation"),
        relation_field=description.get("relation_field"),
        required=bool(description.get("required")),
        readonly=bool(description.get("readonly")),
        store=bool(description.get("store", True)),
        searchable=bool(description.get("searchable", True)),
        selection=values if "selection" in description else None,
    )


@functools.cache
def _load() -> dict[str, Any]:
    text = resources.files("calsync.testing._odoo").joinpath("_data/models.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def tz_names() -> list[str]:
    """The 597 time zone names of Odoo's ``_tz_get`` selection, as recorded."""
    names: list[str] = _load()["tz_names"]
    return names


@functools.cache
def model_specs() -> dict[str, ModelSpec]:
    """Every emulated model's specification, by model name."""
    data = _load()
    tz = data["tz_names"]
    specs = {}
    for name, raw in data["models"].items():
        fields = {fname: _field(fname, fraw, tz) for fname, fraw in raw["fields"].items()}
        specs[name] = ModelSpec(
            name=name,
            description=raw["description"],
            order=raw["order"],
            rec_name=raw["rec_name"],
            fields=fields,
        )
    return specs
