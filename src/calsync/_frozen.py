"""Fast construction of frozen attrs instances, for the engine's hot paths.

A frozen attrs class sets each field in ``__init__`` through a bound
``object.__setattr__`` (a method-wrapper call with an argument tuple per
field): about 7,300 CPU instructions for a six-field link, where a mutable
class needs 2,200. A plan of 100,000 events per side builds 600,000 links,
refs, operations and writes, so :func:`builder` gives the engine a cheaper
path to the *same* objects: the instance is made as a private mutable
subclass that adds nothing (same slots), filled with plain attribute stores,
and then becomes an instance of the frozen class (``__class__`` assignment,
which CPython allows between classes of identical layout). About 2,500
instructions; the result is indistinguishable from ``cls(...)``: same type,
same fields, frozen.

Only classes whose ``__init__`` does nothing but store its arguments qualify
(no converters, factories or post-init hooks). Validators that only check a
field's type (``instance_of``, ``optional(instance_of(...))``) are allowed and
skipped: the builder is typed with the class's own parameters
(:class:`~typing.ParamSpec`), so mypy --strict checks every call site for
exactly what those validators check at run time. Any other validator refuses
the class, so a built object can never hold a value its constructor would
have refused for anything but its type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import attrs
from attrs.validators import instance_of, optional

__all__ = ["builder"]

_TYPE_CHECK = type(instance_of(object))
_OPTIONAL = type(optional(instance_of(object)))

P = ParamSpec("P")
T = TypeVar("T")


def builder(cls: Callable[P, T]) -> Callable[P, T]:
    """A function taking the same arguments as ``cls`` that builds the same frozen instance.

    Raises :class:`TypeError` for a class whose ``__init__`` does more than store
    its arguments in slots, where a shortcut could differ from the constructor.
    """
    assert isinstance(cls, type)
    fields = attrs.fields(cls)
    _check(cls, fields)
    # Both hooks are object's own, so that CPython stores attributes without calling either.
    thawed = type(
        f"_Thawed{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
        },
    )
    namespace: dict[str, Any] = {"_new": object.__new__, "_thawed": thawed, "_cls": cls}
    parameters = []
    for field in fields:
        if field.default is attrs.NOTHING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
    body = "".join(f"    self.{field.name} = {field.name}\n" for field in fields)
    source = (
        f"def build({', '.join(parameters)}):\n"
        "    self = _new(_thawed)\n"
        f"{body}"
        "    self.__class__ = _cls\n"
        "    return self\n"
    )
    exec(compile(source, f"<builder of {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    build: Callable[P, T] = namespace["build"]
    build.__qualname__ = f"builder({cls.__qualname__})"
    return build


def _check(cls: type, fields: tuple[attrs.Attribute[Any], ...]) -> None:
    names = {field.name for field in fields}
    slots = set(getattr(cls, "__slots__", ())) - {"__weakref__"}
    refused = [
        reason
        for reason, applies in (
            ("it is not frozen", getattr(cls, "__setattr__", None) is object.__setattr__),
            ("its slots are not exactly its fields", slots != names),
            ("it has an __attrs_post_init__", hasattr(cls, "__attrs_post_init__")),
            ("it has an __attrs_pre_init__", hasattr(cls, "__attrs_pre_init__")),
            ("a field converts", any(f.converter for f in fields)),
            ("a field validates more than its type", any(_checks_more(f) for f in fields)),
            ("a field is keyword-only", any(f.kw_only for f in fields)),
            ("a field's argument is renamed", any(f.alias != f.name for f in fields)),
            ("a field is not in __init__", any(not f.init for f in fields)),
            ("a default is a factory", any(isinstance(f.default, attrs.Factory) for f in fields)),  # type: ignore[arg-type]
        )
        if applies
    ]
    if refused:
        raise TypeError(f"no builder for {cls.__qualname__}: {'; '.join(refused)}")


def _checks_more(field: attrs.Attribute[Any]) -> bool:
    """Whether the field's validator does more than check its value's type."""
    validator = field.validator
    if validator is None or isinstance(validator, _TYPE_CHECK):
        return False
    inner = getattr(validator, "validator", None)  # optional(...) wraps the one it makes optional
    return not (isinstance(validator, _OPTIONAL) and isinstance(inner, _TYPE_CHECK))
