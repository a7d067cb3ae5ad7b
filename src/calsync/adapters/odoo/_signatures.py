"""The parameters of the Odoo methods calsync calls: what goes by position, what by name.

Odoo's ``call_kw`` (``odoo/api.py`` in 17.0 and 18.0, ``odoo/service/model.py``
in 19.0) takes a record method's ids from ``args[0]``, passes the rest of
``args`` positionally and ``kwargs`` (less ``context``) by name to the Python
method *as the model overrides it*. So a keyword works only where that
override names its parameter so: ``calendar.event.write`` calls it ``values``
in 17.0 and 18.0 where ``BaseModel.write`` says ``vals``, and ``create``
(``model_create_multi``) reads its values from ``args[0]``; real 18.0 answered
``create(vals_list=...)`` with ``IndexError: tuple index out of range`` and
``calendar.event.write(vals=...)`` with ``TypeError: Meeting.write() got an
unexpected keyword argument 'vals'`` (odoo.md §5.19).

Hence the convention of :meth:`OdooTransport.call <calsync.adapters.odoo.OdooTransport.call>`:
``call(model, method, *positional, **options)``. ``positional`` are the
method's own positional parameters in order, the ids first for a method on
records, which is how odoorpc and Odoo's web client send them on ``/jsonrpc``;
``options`` are ``context`` and the few parameters Odoo's clients pass by
name and whose name every version shares (``fields``, ``offset``, ``limit``,
``order`` of ``search_read``). JSON-2 (19.0+, ``addons/rpc/controllers/json2.py``)
takes names only, bound with :func:`inspect.signature` to the model's own
method; :func:`named` maps the positionals to those names. A call that fits
no signature here is a :class:`~calsync.ConfigurationError` before anything
is sent, on both transports.

Why a table rather than 19.0's ``GET /doc-bearer/<model>.json`` (which
odoo-client-lib reads before positional JSON-2 calls):

* it answers only users of the "Technical Documentation" group, which only
  Administration / Settings implies (``addons/api_doc``): an ordinary user,
  whom calsync must serve, gets an AccessError;
* it documents the signature of the class that *introduced* a method
  (``BaseModel.write(vals)``), not of the override JSON-2 binds to, so it can
  name a parameter the call is then refused for;
* it costs a round trip per model for a document holding the model's whole
  ``fields_get``.

calsync calls a dozen methods; their parameters, read in the 17.0, 18.0 and
19.0 sources, are below, and the emulator binds calls to the same sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from calsync._errors import ConfigurationError

__all__ = ["CONTEXT", "Signature", "jsonrpc_arguments", "named", "signature"]

#: The keyword every method takes: ``call_kw`` pops it before the call.
CONTEXT = "context"


@attrs.frozen
class Signature:
    """One method's parameters after ``self`` (and after the ids, for ``on_records``).

    ``required`` counts the leading parameters without a default; ``by_name``
    are those calsync may pass as options.
    """

    on_records: bool
    params: tuple[str, ...] = ()
    required: int = 0
    by_name: frozenset[str] = frozenset()


_SEARCH_OPTIONS = frozenset({"offset", "limit", "order"})

#: BaseModel's methods (odoo/models.py 17.0/18.0, odoo/orm/models.py 19.0) and the
#: models' own public methods, as calsync calls them.
_METHODS: dict[str, Signature] = {
    # BaseModel.create(self, vals_list), @api.model_create_multi
    "create": Signature(False, ("vals_list",), 1),
    # BaseModel.write(self, vals)
    "write": Signature(True, ("vals",), 1),
    # BaseModel.read(self, fields=None, load='_classic_read')
    "read": Signature(True, ("fields", "load"), 0, frozenset({"load"})),
    # BaseModel.unlink(self)
    "unlink": Signature(True),
    # BaseModel.search_read(self, domain=None, fields=None, offset=0, limit=None,
    # order=None, **read_kwargs)
    "search_read": Signature(
        False,
        ("domain", "fields", "offset", "limit", "order"),
        0,
        frozenset({"fields"}) | _SEARCH_OPTIONS,
    ),
    # BaseModel.search(self, domain, offset=0, limit=None, order=None)
    "search": Signature(False, ("domain", "offset", "limit", "order"), 1, _SEARCH_OPTIONS),
    # BaseModel.search_count(self, domain, limit=None)
    "search_count": Signature(False, ("domain", "limit"), 1, frozenset({"limit"})),
    # Base.formatted_read_group(self, domain, groupby=(), aggregates=(), having=(),
    # offset=0, limit=None, order=None): 19.0 and later (addons/web/models/models.py)
    "formatted_read_group": Signature(
        False, ("domain", "groupby", "aggregates", "having", "offset", "limit", "order"), 1
    ),
    # BaseModel.load(self, fields, data)
    "load": Signature(False, ("fields", "data"), 2),
    # BaseModel.read_group(self, domain, fields, groupby, offset=0, limit=None,
    # orderby=False, lazy=True); calendar.event's override (17.0, 18.0) names them alike
    "read_group": Signature(
        False,
        ("domain", "fields", "groupby", "offset", "limit", "orderby", "lazy"),
        3,
        frozenset({"lazy"}),
    ),
    # BaseModel.get_metadata(self)
    "get_metadata": Signature(True),
    # BaseModel.fields_get(self, allfields=None, attributes=None)
    "fields_get": Signature(False, ("allfields", "attributes"), 0, frozenset({"attributes"})),
    # res.users.context_get(self), @api.model
    "context_get": Signature(False),
    # calendar.event.action_mass_deletion(self, recurrence_update_setting)
    "action_mass_deletion": Signature(True, ("recurrence_update_setting",), 1),
}

#: Where a model's override renames a parameter: {(model, method): {last major: params}}.
#: calendar.event.write is ``write(self, values)`` in 17.0 and 18.0, ``write(self, vals)``
#: in 19.0 (addons/calendar/models/calendar_event.py).
_RENAMED: dict[tuple[str, str], dict[int, tuple[str, ...]]] = {
    ("calendar.event", "write"): {18: ("values",)},
}


def signature(model: str, method: str, major: int) -> Signature:
    """The parameters of ``model.method`` on an Odoo ``major`` version.

    :raises ConfigurationError: for a method calsync has no signature of.
    """
    found = _METHODS.get(method)
    if found is None:
        raise ConfigurationError(f"calsync does not know the parameters of {model}.{method}")
    for last, params in sorted(_RENAMED.get((model, method), {}).items()):
        if major <= last:
            return attrs.evolve(found, params=params)
    return found


def _check(
    model: str, method: str, sig: Signature, args: Sequence[Any], options: Mapping[str, Any]
) -> None:
    name = f"{model}.{method}"
    ids = 1 if sig.on_records else 0
    if len(args) < ids:
        raise ConfigurationError(f"{name}: the record ids come first")
    given = len(args) - ids
    if given > len(sig.params):
        raise ConfigurationError(
            f"{name} takes {len(sig.params)} argument(s) after the ids, not {given}"
        )
    unknown = sorted(set(options) - sig.by_name - {CONTEXT})
    if unknown:
        raise ConfigurationError(f"{name}: pass {', '.join(unknown)} by position")
    twice = sorted(set(sig.params[:given]) & set(options))
    if twice:
        raise ConfigurationError(f"{name}: {', '.join(twice)} given twice")
    missing = [p for p in sig.params[given : sig.required] if p not in options]
    if missing:
        raise ConfigurationError(f"{name}: {', '.join(missing)} missing")


def jsonrpc_arguments(
    model: str, method: str, args: Sequence[Any], options: Mapping[str, Any], major: int
) -> tuple[list[Any], dict[str, Any]]:
    """``execute_kw``'s ``args`` and ``kwargs`` for a call; positionals stay positional.

    A method not in the table may still be called positionally (``context`` aside):
    ``call_kw`` binds positionals to whatever the parameters are named.
    """
    if method in _METHODS:
        _check(model, method, signature(model, method, major), args, options)
    elif set(options) - {CONTEXT}:
        raise ConfigurationError(f"{model}.{method}: pass its arguments by position")
    return list(args), dict(options)


def named(
    model: str, method: str, args: Sequence[Any], options: Mapping[str, Any], major: int
) -> dict[str, Any]:
    """A JSON-2 body: ``ids``, then each positional under its parameter's name."""
    sig = signature(model, method, major)
    _check(model, method, sig, args, options)
    body: dict[str, Any] = {}
    rest = list(args)
    if sig.on_records:
        body["ids"] = list(rest.pop(0))
    body.update(zip(sig.params, rest, strict=False))
    body.update(options)
    return body
