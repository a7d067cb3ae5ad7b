"""Odoo's own method signatures, per version: how RPC arguments bind, and how they fail to.

A real server binds a call's ``args`` and ``kwargs`` to the Python method the
model resolves (``odoo/api.py`` ``call_kw`` in 17.0 and 18.0,
``odoo/service/model.py`` ``call_kw`` in 19.0; ``addons/rpc/controllers/json2.py``
``web_json_2_rpc`` for JSON-2), so what fits depends on the model's override
and the version: ``calendar.event.write`` takes ``values`` in 17.0 and 18.0
(``Meeting.write``) and ``vals`` in 19.0 (``CalendarEvent.write``), where
``BaseModel.write`` takes ``vals``. The emulator's own Python signatures are
not Odoo's; this module holds Odoo's, read in the 17.0, 18.0 and 19.0 sources,
and :func:`bind` refuses a call exactly as CPython refuses it there
(``TypeError: Meeting.write() got an unexpected keyword argument 'vals'``).
The class names in those messages (``qualname``) were read off the real
17.0, 18.0 and 19.0 servers, which name the most derived override.

JSON-2 binds with :meth:`inspect.Signature.bind` instead, whose messages carry
no function name (``got an unexpected keyword argument 'vals'``); so does
18.0's ``res.users.context_get``, wrapped by ``ormcache``.
"""

from __future__ import annotations

import ast
import functools
import inspect
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "OdooSignature",
    "bind",
    "bind_json2",
    "check_forwarded",
    "is_private",
    "signature",
]


@attrs.frozen
class OdooSignature:
    """One method as a version of Odoo defines it (after ``self`` and the ids)."""

    qualname: str
    params: tuple[str, ...]
    #: the defaults of the last ``params``
    default_values: tuple[object, ...] = ()
    #: the name of a ``**kwargs`` parameter, and the method the extra names go on to
    var_keyword: str | None = None
    var_target: str = ""
    on_records: bool = False
    #: ``ormcache``-wrapped (18.0's ``context_get``): bound by :mod:`inspect`, no name
    inspect_bound: bool = False

    @property
    def defaults(self) -> int:
        """How many of ``params`` (the last ones) have a default."""
        return len(self.default_values)


#: CPython 3.11's compiler is not safe to run from several threads at once ("AST
#: constructor recursion depth mismatch", seen under the threaded server's load)
_PARSING = threading.Lock()


@functools.cache
def _parse(spec: str) -> tuple[tuple[str, ...], tuple[object, ...], str | None]:
    """A parameter list as Python writes it (``"a, b=None, **rest"``): names, the
    defaults of the last ones (literals), and the ``**`` parameter. Parsed once per
    spec, one thread at a time."""
    names: list[str] = []
    defaults: list[object] = []
    var_keyword = None
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, equals, literal = item.partition("=")
        if name.startswith("**"):
            var_keyword = name[2:]
            continue
        names.append(name)
        if equals:
            with _PARSING:
                defaults.append(ast.literal_eval(literal))
    return tuple(names), tuple(defaults), var_keyword


#: BaseModel's public methods (odoo/models.py 17.0/18.0, odoo/orm/models.py 19.0;
#: web_* from addons/web/models/models.py), "name=" marks a default; (records?, 17/18, 19)
_BASE: dict[str, tuple[bool, str, str]] = {
    "create": (False, "vals_list", "vals_list"),
    "read": (True, "fields=None, load='_classic_read'", "fields=None, load='_classic_read'"),
    "write": (True, "vals", "vals"),
    "unlink": (True, "", ""),
    "search": (
        False,
        "domain, offset=0, limit=None, order=None",
        "domain, offset=0, limit=None, order=None",
    ),
    "search_read": (
        False,
        "domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs",
        "domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs",
    ),
    "search_count": (False, "domain, limit=None", "domain, limit=None"),
    "fields_get": (False, "allfields=None, attributes=None", "allfields=None, attributes=None"),
    "name_create": (False, "name", "name"),
    "name_search": (
        False,
        "name='', args=None, operator='ilike', limit=100",
        "name='', domain=None, operator='ilike', limit=100",
    ),
    "action_archive": (True, "", ""),
    "action_unarchive": (True, "", ""),
    "exists": (True, "", ""),
    "get_metadata": (True, "", ""),
    "get_external_id": (True, "", ""),
    "load": (False, "fields, data", "fields, data"),
    "web_search_read": (
        False,
        "domain, specification, offset=0, limit=None, order=None, count_limit=None",
        "domain, specification, offset=0, limit=None, order=None, count_limit=None",
    ),
    "web_read": (True, "specification", "specification"),
    "default_get": (False, "fields_list", "fields"),
    "copy": (True, "default=None", "default=None"),
    "read_group": (
        False,
        "domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True",
        "domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True",
    ),
    "check_access_rights": (
        False,
        "operation, raise_exception=True",
        "operation, raise_exception=True",
    ),
    # addons/web/models/models.py, 19.0 only
    "formatted_read_group": (
        False,
        "",
        "domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None",
    ),
}

#: Methods 17.0 and 18.0 do not have.
_SINCE_19 = frozenset({"formatted_read_group"})

#: Models' own methods and renamed parameters: (model, method) -> (records?, 17/18, 19)
_OWN: dict[tuple[str, str], tuple[bool, str, str]] = {
    ("calendar.event", "write"): (True, "values", "vals"),
    ("calendar.event", "default_get"): (False, "fields", "fields"),
    ("calendar.event", "action_mass_deletion"): (
        True,
        "recurrence_update_setting",
        "recurrence_update_setting",
    ),
    ("calendar.event", "action_mass_archive"): (
        True,
        "recurrence_update_setting",
        "recurrence_update_setting",
    ),
    ("calendar.event", "change_attendee_status"): (
        True,
        "status, recurrence_update_setting",
        "status, recurrence_update_setting",
    ),
    ("res.partner", "default_get"): (False, "default_fields", "fields"),
    ("res.partner", "find_or_create"): (
        False,
        "email, assert_valid_email=False",
        "email, assert_valid_email=False",
    ),
    ("res.users", "default_get"): (False, "fields", "fields"),
    ("res.users", "context_get"): (False, "", ""),
    ("mail.template", "default_get"): (False, "fields", "fields"),
    ("ir.model.data", "write"): (True, "values", "vals"),
    ("ir.model.data", "check_object_reference"): (
        False,
        "module, xml_id, raise_on_access_error=False",
        "module, xml_id, raise_on_access_error=False",
    ),
    ("res.company", "write"): (True, "values", "vals"),
}

#: The most derived override, as the real servers name it in a TypeError
#: (``{model: {method: (17.0, 18.0, 19.0)}}``; absent: ``BaseModel``, ``Base`` for web_*).
#: 18.0's ``create`` wrapper (``model_create_multi``, made by the decorator package) is
#: plain ``create``; ``_ORMCACHE`` marks 18.0's ``context_get``.
_ORMCACHE = "<ormcache>"
_QUALNAMES: dict[str, dict[str, tuple[str, str, str]]] = {
    "calendar.event": {
        "write": ("Meeting", "Meeting", "CalendarEvent"),
        "unlink": ("Meeting", "Meeting", "CalendarEvent"),
        "copy": ("Meeting", "Meeting", "CalendarEvent"),
        "create": ("Meeting", "", "CalendarEvent"),
        "default_get": ("Meeting", "Meeting", "CalendarEvent"),
        "read_group": ("Meeting", "Meeting", "BaseModel"),
        "action_mass_deletion": ("Meeting", "Meeting", "CalendarEvent"),
        "action_mass_archive": ("Meeting", "Meeting", "CalendarEvent"),
        "change_attendee_status": ("Meeting", "Meeting", "CalendarEvent"),
    },
    "calendar.attendee": {
        "write": ("BaseModel", "BaseModel", "CalendarAttendee"),
        "unlink": ("Attendee", "Attendee", "CalendarAttendee"),
        "copy": ("Attendee", "Attendee", "CalendarAttendee"),
        "create": ("Attendee", "", "CalendarAttendee"),
    },
    "calendar.recurrence": {"unlink": ("BaseModel", "BaseModel", "Base")},
    "calendar.alarm": {"unlink": ("BaseModel", "BaseModel", "Base")},
    "calendar.event.type": {"unlink": ("BaseModel", "BaseModel", "Base")},
    "res.partner": {
        "write": ("ResPartner", "ResPartner", "ResPartner"),
        "unlink": ("MailActivityMixin", "MailActivityMixin", "MailThread"),
        "copy": ("Partner", "BaseModel", "BaseModel"),
        "create": ("ResPartner", "", "ResPartner"),
        "default_get": ("Partner", "Partner", "ResPartner"),
        "find_or_create": ("Partner", "Partner", "ResPartner"),
        "name_create": ("Partner", "Partner", "ResPartner"),
    },
    "res.users": {
        "read": ("UsersView", "UsersView", "ResUsers"),
        "write": ("Users", "Users", "ResUsers"),
        "unlink": ("ResUsers", "ResUsers", "ResUsers"),
        "copy": ("ResUsers", "ResUsers", "ResUsers"),
        "create": ("ResUsers", "", "ResUsers"),
        "action_archive": ("Users", "Users", "ResUsers"),
        "fields_get": ("UsersView", "UsersView", "ResUsers"),
        "name_search": ("BaseModel", "ResUsers", "ResUsers"),
        "default_get": ("UsersView", "UsersView", "BaseModel"),
        "read_group": ("UsersView", "BaseModel", "BaseModel"),
        "_read_format": ("UsersView", "UsersView", "BaseModel"),
        "context_get": ("Users", _ORMCACHE, "<lambda>"),
    },
    "res.groups": {
        "write": ("ResGroups", "ResGroups", "ResGroups"),
        "unlink": ("GroupsView", "GroupsView", "ResGroups"),
        "copy": ("Groups", "BaseModel", "BaseModel"),
        "create": ("GroupsView", "", "ResGroups"),
    },
    "mail.template": {
        "write": ("MailTemplate", "MailTemplate", "MailTemplate"),
        "unlink": ("MailTemplate", "MailTemplate", "MailTemplate"),
        "copy": ("MailTemplate", "BaseModel", "MailTemplate"),
        "create": ("MailTemplate", "", "MailTemplate"),
        "default_get": ("MailTemplate", "MailTemplate", "MailTemplate"),
    },
    "ir.model.data": {
        "write": ("IrModelData", "IrModelData", "IrModelData"),
        "unlink": ("IrModelData", "IrModelData", "IrModelData"),
        "copy": ("IrModelData", "BaseModel", "BaseModel"),
        "create": ("BaseModel", "", "IrModelData"),
        "check_object_reference": ("IrModelData", "IrModelData", "IrModelData"),
    },
    "res.company": {
        "write": ("ResCompany", "ResCompany", "ResCompany"),
        "unlink": ("BaseModel", "Company", "ResCompany"),
        "copy": ("Company", "Company", "ResCompany"),
        "create": ("ResCompany", "", "ResCompany"),
    },
}

#: Public in 17.0 and 18.0, ``@api.private`` in 19.0.
_PRIVATE_19 = frozenset({"exists"})


def _column(major: int) -> int:
    return 0 if major <= 17 else 1 if major == 18 else 2


def _qualname(model: str, method: str, major: int) -> str:
    own = _QUALNAMES.get(model, {}).get(method)
    if own is not None:
        cls = own[_column(major)]
    elif method == "create" and major == 18:
        cls = ""
    else:
        cls = "Base" if method.startswith("web_") else "BaseModel"
    return f"{cls}.{method}" if cls and not cls.startswith("<") else cls or method


def signature(model: str, method: str, major: int) -> OdooSignature | None:
    """``model.method`` as Odoo ``major`` defines it; None when Odoo has no such method."""
    entry = _OWN.get((model, method)) or _BASE.get(method)
    if entry is None or (method in _SINCE_19 and major < 19):
        return None
    on_records, older, newer = entry
    params, defaults, var_keyword = _parse(newer if major >= 19 else older)
    qualname = _qualname(model, method, major)
    return OdooSignature(
        qualname=method if qualname == _ORMCACHE else qualname,
        params=params,
        default_values=defaults,
        var_keyword=var_keyword,
        var_target=_qualname(model, "_read_format", major) if var_keyword else "",
        on_records=on_records,
        inspect_bound=qualname == _ORMCACHE,
    )


def is_private(method: str, major: int) -> bool:
    """Whether Odoo refuses ``method`` over RPC as private (``get_public_method``)."""
    return method.startswith("_") or (major >= 19 and method in _PRIVATE_19)


def _inspect_signature(sig: OdooSignature) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    required = len(sig.params) - sig.defaults
    parameters = [inspect.Parameter("self", kind)] + [
        inspect.Parameter(
            name,
            kind,
            **({} if index < required else {"default": sig.default_values[index - required]}),
        )
        for index, name in enumerate(sig.params)
    ]
    if sig.var_keyword:
        parameters.append(inspect.Parameter(sig.var_keyword, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)


def _quoted(names: Sequence[str]) -> str:
    """CPython's list of missing names: 'a'; 'a' and 'b'; 'a', 'b', and 'c'."""
    items = [f"'{name}'" for name in names]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def bind(
    sig: OdooSignature, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bind a call as CPython binds it to Odoo's method; TypeError with CPython's wording.

    Returns the named parameters given and the extra keywords (``**read_kwargs``),
    which go on to ``var_target`` (``BaseModel._read_format(self, fnames, load=...)``).
    Follows CPython's ``initialize_locals``: keywords are checked first, then the
    number of positionals, then the missing ones.
    """
    if sig.inspect_bound:
        bound = _inspect_signature(sig).bind(None, *args, **kwargs)
        return {k: v for k, v in bound.arguments.items() if k != "self"}, {}
    name = sig.qualname
    values = dict(zip(sig.params, args, strict=False))
    extra: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key not in sig.params:
            if sig.var_keyword is None:
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
            extra[key] = value
        elif key in values:
            raise TypeError(f"{name}() got multiple values for argument '{key}'")
        else:
            values[key] = value
    if len(args) > len(sig.params):
        most = len(sig.params) + 1  # self
        if sig.defaults:
            takes, plural = f"from {most - sig.defaults} to {most}", True
        else:
            takes, plural = str(most), most != 1
        given = len(args) + 1
        raise TypeError(
            f"{name}() takes {takes} positional argument{'s' if plural else ''} "
            f"but {given} {'was' if given == 1 else 'were'} given"
        )
    required = sig.params[: len(sig.params) - sig.defaults]
    missing = [param for param in required if param not in values]
    if missing:
        raise TypeError(
            f"{name}() missing {len(missing)} required positional "
            f"argument{'s' if len(missing) > 1 else ''}: {_quoted(missing)}"
        )
    return values, extra


def check_forwarded(sig: OdooSignature, extra: Mapping[str, Any]) -> None:
    """The extra keywords reach ``_read_format(self, fnames, load='_classic_read')``."""
    for key in extra:
        if key != "load":
            raise TypeError(f"{sig.var_target}() got an unexpected keyword argument '{key}'")


def bind_json2(
    sig: OdooSignature, kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """JSON-2's ``inspect.signature(func).bind(records, **kwargs)``; inspect's TypeErrors."""
    bound = _inspect_signature(sig).bind(None, **kwargs)
    values = {k: v for k, v in bound.arguments.items() if k not in ("self", sig.var_keyword)}
    extra = dict(bound.arguments.get(sig.var_keyword or "", {}) or {})
    return values, extra
