"""The engine's fast builders make exactly what the frozen classes' constructors make."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from calsync._engine._links import new_link, new_ref
from calsync._engine._plan import new_operation
from calsync._frozen import builder
from calsync._protocol import new_create, new_delete, new_update
from calsync.adapters import Create, Delete, RemoteEvent, Update
from calsync.engine import Link, Operation, OperationKind, SideRef
from calsync.model import Event

START = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)
EVENT = Event("Standup", START, START + timedelta(minutes=15))
CURRENT = RemoteEvent("R1", EVENT, "v1")

#: (builder, class, positional arguments, keyword arguments)
CASES: list[tuple[Callable[..., Any], type, tuple[object, ...], dict[str, object]]] = [
    (new_ref, SideRef, ("L1",), {}),
    (new_ref, SideRef, ("L1", "v1"), {"seen": EVENT, "read_only": True}),
    (new_link, Link, ("k1", EVENT, SideRef("L1"), None), {}),
    (new_link, Link, ("k1", EVENT, None, SideRef("R1")), {"uid": "u1", "note": "kept"}),
    (new_create, Create, ("k1", EVENT), {}),
    (new_update, Update, ("k1", EVENT, CURRENT), {}),
    (new_delete, Delete, ("k1", CURRENT), {}),
    (new_operation, Operation, (OperationKind.LINK, "k1", "Standup", "matched"), {}),
    (
        new_operation,
        Operation,
        (OperationKind.CREATE, "k1", "Standup", "new on odoo", "outlook"),
        {"write": Create("k1", EVENT), "notifications": ()},
    ),
]


@pytest.mark.parametrize(("build", "cls", "args", "kwargs"), CASES)
def test_a_built_object_is_the_constructed_one(
    build: Callable[..., Any], cls: type[Any], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    built, made = build(*args, **kwargs), cls(*args, **kwargs)
    assert type(built) is cls
    assert built == made
    assert hash(built) == hash(made)
    assert repr(built) == repr(made)
    assert attrs.asdict(built, recurse=False) == attrs.asdict(made, recurse=False)
    assert pickle.loads(pickle.dumps(built)) == made
    assert copy.copy(built) == made


@pytest.mark.parametrize(("build", "cls", "args", "kwargs"), CASES)
def test_a_built_object_is_frozen(
    build: Callable[..., Any], cls: type[Any], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    built = build(*args, **kwargs)
    first = attrs.fields(cls)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(built, first, "changed")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        delattr(built, first)
    assert getattr(built, first) == args[0]
    assert attrs.evolve(built, **{first: args[0]}) == built


def test_a_builder_takes_the_constructors_arguments() -> None:
    with pytest.raises(TypeError):
        new_link("k1", EVENT, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        new_ref("L1", colour="red")  # type: ignore[call-arg]


@attrs.frozen
class _Checked:
    value: int = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen
class _Typed:
    value: int = attrs.field(validator=attrs.validators.instance_of(int))
    other: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )


@attrs.frozen
class _Converted:
    value: int = attrs.field(converter=int)


@attrs.frozen
class _Hooked:
    value: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen
class _Factory:
    values: list[int] = attrs.field(factory=list)


@attrs.frozen
class _KeywordOnly:
    value: int = attrs.field(kw_only=True)


@attrs.frozen
class _Private:
    _value: int


@attrs.define
class _Mutable:
    value: int


@attrs.frozen(slots=False)
class _Unslotted:
    value: int


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (_Checked, "a field validates more than its type"),
        (_Converted, "a field converts"),
        (_Hooked, "__attrs_post_init__"),
        (_Factory, "a default is a factory"),
        (_KeywordOnly, "keyword-only"),
        (_Private, "renamed"),
        (_Mutable, "it is not frozen"),
        (_Unslotted, "its slots are not exactly its fields"),
    ],
)
def test_no_builder_where_the_constructor_does_more_than_store(cls: type, reason: str) -> None:
    with pytest.raises(TypeError, match=reason):
        builder(cls)


def test_type_checks_are_left_to_the_typed_call_sites() -> None:
    """instance_of validators are what mypy checks at the builder's call sites: allowed."""
    build = builder(_Typed)
    assert build(3, "x") == _Typed(3, "x")
    assert build(3) == _Typed(3)
