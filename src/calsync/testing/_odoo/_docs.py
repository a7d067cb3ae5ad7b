"""Odoo 19's ``/doc-bearer/<model>.json``: a model's fields and method signatures.

odoo-client-lib reads it before positional JSON-2 calls, to name their
arguments. Follows addons/api_doc/controllers/api_doc.py (19.0) ``doc_model``,
checked on the real 19.0 server:

* bearer API key like JSON-2; the user needs the "Technical Documentation"
  group, which Administration / Settings implies: anyone else gets
  ``403 odoo.exceptions.AccessError`` "This page is only accessible to Technical
  Documentation users." (an ordinary user cannot read it);
* an unknown model is werkzeug's 404;
* the answer is ``{"model", "name", "doc": null, "fields", "methods"}``: ``fields``
  is ``fields_get()`` with each field's ``name`` and ``module``; ``methods`` gives,
  per public method, its ``signature``, its ``parameters`` (``default`` when it has
  one) and the ``model``/``module`` that *introduced* it (``core`` for BaseModel's):
  the documented parameter is the introducing class's (``BaseModel.write(vals)``),
  not necessarily the override a call binds to.

The emulator documents the methods it implements, without Odoo's docstrings,
annotations and return types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calsync.testing._odoo._errors import AccessError, NotFound
from calsync.testing._odoo._signatures import OdooSignature, signature

if TYPE_CHECKING:
    from calsync.testing._odoo._models import Env, Model

__all__ = ["describe_model"]

_MODULES = {
    "calendar.event": "calendar",
    "calendar.attendee": "calendar",
    "calendar.recurrence": "calendar",
    "calendar.alarm": "calendar",
    "calendar.event.type": "calendar",
    "mail.template": "mail",
}
#: methods of models (not BaseModel's): the model and module that introduced them
_OWN_METHODS = {
    "action_mass_deletion": ("calendar.event", "calendar"),
    "action_mass_archive": ("calendar.event", "calendar"),
    "find_or_create": ("res.partner", "base"),
    "context_get": ("res.users", "base"),
    "check_object_reference": ("ir.model.data", "base"),
    "web_search_read": ("base", "web"),
    "web_read": ("base", "web"),
}
#: deprecated in 19.0: callable, but left out of the documentation
_UNDOCUMENTED = frozenset({"read_group", "check_access_rights"})
_MISSING_PAGE = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)


def _parameters(sig: OdooSignature) -> dict[str, dict[str, Any]]:
    required = len(sig.params) - sig.defaults
    out: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(sig.params):
        entry: dict[str, Any] = {}
        if index >= required:
            entry["default"] = sig.default_values[index - required]
        out[name] = entry
    if sig.var_keyword:
        out[sig.var_keyword] = {"kind": "VAR_KEYWORD"}
    return out


def _text(sig: OdooSignature) -> str:
    required = len(sig.params) - sig.defaults
    parts = [
        name if index < required else f"{name}={sig.default_values[index - required]!r}"
        for index, name in enumerate(sig.params)
    ]
    if sig.var_keyword:
        parts.append(sig.var_keyword)  # how api_doc prints **kwargs (search_read)
    return f"({', '.join(parts)})"


def describe_model(env: Env, name: str) -> dict[str, Any]:
    """The document of model ``name`` for ``env``'s user."""
    if not env.has_group("Administration/Settings"):
        raise AccessError("This page is only accessible to Technical Documentation users.")
    model: Model | None = env.registry.models.get(name)
    if model is None:
        raise NotFound(_MISSING_PAGE)
    model.check_access(env, "read")
    module = _MODULES.get(name, "base")
    fields = {
        field: {**description, "name": field, "module": None if field == "id" else module}
        for field, description in model.fields_get(env).items()
    }
    methods: dict[str, dict[str, Any]] = {}
    major = env.registry.settings.major
    for method in sorted(dir(model)):
        func = getattr(model, method, None)
        sig = signature(name, method, major)
        if func is None or not hasattr(func, "_rpc") or sig is None or method in _UNDOCUMENTED:
            continue
        if method.startswith("_") or (method == "exists" and major >= 19):
            continue
        owner, owner_module = _OWN_METHODS.get(method, ("core", "core"))
        entry: dict[str, Any] = {
            "signature": _text(sig),
            "parameters": _parameters(sig),
            "model": owner,
            "module": owner_module,
        }
        if not sig.on_records:
            entry["api"] = ["model"]
        methods[method] = entry
    return {
        "model": name,
        "name": model.spec.description,
        "doc": None,
        "fields": fields,
        "methods": methods,
    }
