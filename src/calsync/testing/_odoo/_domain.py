"""Odoo domains: validation with Odoo's error messages, and evaluation on rows.

A domain is a prefix-notation list of ``'&'``, ``'|'``, ``'!'`` and leaves
``[path, operator, value]``, with an implicit ``'&'`` between top-level terms.
Leaves are checked before anything runs, like Odoo does, so an unknown field
fails with ``Invalid field calendar.event.no_such_field in leaf ('no_such_field',
'=', 1)`` [29] and a computed field that is not searchable fails too.

Evaluation works on the **real** stored values, never on what a user may read:
a private event of someone else matches ``('name', 'ilike', 'Secret board')``
and then reads as "Busy" [39]. Negative operators (``!=``, ``not in``, ``not
like``, ``not ilike``) also match NULL, as Odoo's SQL does. ``like``/``ilike``
wrap the value in ``%...%`` and keep SQL wildcards; ``=like``/``=ilike`` use
the value as the whole pattern [37, 38]. Dotted paths (``categ_ids.name``) and
``any``/``not any`` search the related model; ``child_of`` follows ``parent_id``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from calsync.testing._odoo._errors import OdooValueError
from calsync.testing._odoo._values import lenient_date, lenient_datetime

if TYPE_CHECKING:
    from calsync.testing._odoo._fields import Field
    from calsync.testing._odoo._models._base import Env, Model

__all__ = ["Matcher", "collate_key", "compile_domain"]

Matcher = Callable[[int], bool]

OPERATORS = frozenset(
    {
        "=", "!=", "<=", "<", ">", ">=", "=?", "=like", "=ilike", "like", "not like",
        "ilike", "not ilike", "in", "not in", "child_of", "parent_of", "any", "not any",
    }
)  # fmt: skip
_NEGATIVE = frozenset({"!=", "not in", "not like", "not ilike", "not any"})
_POSITIVE_OF = {
    "!=": "=",
    "not in": "in",
    "not like": "like",
    "not ilike": "ilike",
    "not any": "any",
}


def collate_key(text: str) -> tuple[str, str]:
    """A sort key close to PostgreSQL's ``en_US.UTF-8`` collation: case-insensitive first."""
    return (text.casefold(), text.swapcase())


def leaf_repr(leaf: Sequence[Any]) -> str:
    """A leaf as Odoo prints it in errors: a Python tuple repr."""
    return repr(tuple(leaf))


def compile_domain(env: Env, model: Model, domain: object) -> Matcher:
    """Validate ``domain`` for ``model`` and return a predicate on row ids."""
    if domain is None or domain is False:
        domain = []
    if not isinstance(domain, (list, tuple)):
        raise OdooValueError(f"Invalid domain: {domain!r}")
    terms = list(domain)
    node, rest = _parse(terms)
    matchers = [node]
    while rest:
        more, rest = _parse(rest)
        matchers.append(more)
    compiled = [_compile(env, model, item) for item in matchers]
    if len(compiled) == 1:
        return compiled[0]
    return lambda rid: all(matcher(rid) for matcher in compiled)


def _parse(terms: list[Any]) -> tuple[Any, list[Any]]:
    """One prefix-notation expression from the front of ``terms``, and the rest."""
    if not terms:
        return ("leaf", [1, "=", 1]), []
    head, rest = terms[0], terms[1:]
    if head in ("&", "|"):
        left, rest = _parse(rest)
        right, rest = _parse(rest)
        return (head, left, right), rest
    if head == "!":
        inner, rest = _parse(rest)
        return ("!", inner), rest
    if isinstance(head, (list, tuple)) and len(head) == 3:
        return ("leaf", list(head)), rest
    if head is True or head is False:
        return ("leaf", [1, "=", 1 if head else 0]), rest
    raise OdooValueError(f"Invalid leaf {head!r}")


def _compile(env: Env, model: Model, node: Any) -> Matcher:
    kind = node[0]
    if kind == "&":
        left, right = _compile(env, model, node[1]), _compile(env, model, node[2])
        return lambda rid: left(rid) and right(rid)
    if kind == "|":
        left, right = _compile(env, model, node[1]), _compile(env, model, node[2])
        return lambda rid: left(rid) or right(rid)
    if kind == "!":
        inner = _compile(env, model, node[1])
        return lambda rid: not inner(rid)
    return _compile_leaf(env, model, node[1])


def _compile_leaf(env: Env, model: Model, leaf: list[Any]) -> Matcher:
    path, operator, value = leaf
    if path in (0, 1) and operator == "=" and value in (0, 1):
        constant = path == value
        return lambda _rid: constant
    if not isinstance(path, str):
        raise OdooValueError(f"Invalid leaf {leaf_repr(leaf)}")
    operator = operator.lower() if isinstance(operator, str) else operator
    if operator not in OPERATORS:
        raise OdooValueError(f"Invalid leaf {leaf_repr(leaf)}")
    head, _, tail = path.partition(".")
    field = model.spec.field(head)
    if field is None:
        raise OdooValueError(f"Invalid field {model.name}.{head} in leaf {leaf_repr(leaf)}")
    if not field.searchable:
        raise OdooValueError(f"Non-stored field {model.name}.{head} cannot be searched.")
    if tail:
        return _compile_path(env, model, field, tail, [path, operator, value])
    return _compile_field(env, model, field, operator, value)


def _compile_path(env: Env, model: Model, field: Field, tail: str, leaf: list[Any]) -> Matcher:
    """A dotted path: search the related model, then keep rows linked to a match."""
    _path, operator, value = leaf
    if not field.relational or field.relation is None:
        raise OdooValueError(f"Invalid field {model.name}.{field.name} in leaf {leaf_repr(leaf)}")
    comodel = env.model(field.relation)
    sub_env = env.with_context(active_test=False)
    positive = _POSITIVE_OF.get(operator, operator) if operator.startswith("not ") else operator
    matches = set(comodel.search_ids(sub_env, [[tail, positive, value]]))
    negate = positive != operator

    def match(rid: int) -> bool:
        found = any(item in matches for item in _related_ids(env, model, field, rid))
        return not found if negate else found

    return match


def _related_ids(env: Env, model: Model, field: Field, rid: int) -> list[int]:
    raw = model.value(env, rid, field.name, real=True)
    if raw is None:
        return []
    if isinstance(raw, int):
        return [raw]
    return list(raw)


def _compile_field(env: Env, model: Model, field: Field, operator: str, value: Any) -> Matcher:
    if operator == "=?":
        if value is None or value is False:
            return lambda _rid: True
        operator = "="
    if operator in ("any", "not any"):
        return _compile_any(env, model, field, operator, value)
    if operator in ("child_of", "parent_of"):
        return _compile_hierarchy(env, model, field, operator, value)
    if field.relational:
        return _compile_relational(env, model, field, operator, value)
    test = _scalar_test(model, field, operator, value)

    def match(rid: int) -> bool:
        return test(model.value(env, rid, field.name, real=True))

    return match


def _compile_any(env: Env, model: Model, field: Field, operator: str, value: Any) -> Matcher:
    if not field.relational or field.relation is None:
        raise OdooValueError(f"Cannot use '{operator}' on a non-relational field {field.name}")
    comodel = env.model(field.relation)
    matches = set(comodel.search_ids(env.with_context(active_test=False), value))
    negate = operator == "not any"

    def match(rid: int) -> bool:
        found = any(item in matches for item in _related_ids(env, model, field, rid))
        return not found if negate else found

    return match


def _compile_hierarchy(env: Env, model: Model, field: Field, operator: str, value: Any) -> Matcher:
    """``child_of``/``parent_of`` on ``parent_id`` when the model has one; plain ``in`` else."""
    target = env.model(field.relation) if field.relational and field.relation else model
    start = set(_as_list(value))
    if target.spec.field("parent_id") is not None:
        start = _closure(env, target, start, down=operator == "child_of")
    if field.name == "id":
        return lambda rid: rid in start
    return lambda rid: any(item in start for item in _related_ids(env, model, field, rid))


def _closure(env: Env, model: Model, start: set[int], *, down: bool) -> set[int]:
    found = set(start)
    changed = True
    while changed:
        changed = False
        for rid in model.all_ids(env):
            parent = model.value(env, rid, "parent_id", real=True)
            pair = (parent, rid) if down else (rid, parent)
            if pair[0] in found and pair[1] is not None and pair[1] not in found:
                found.add(pair[1])
                changed = True
    return found


def _compile_relational(env: Env, model: Model, field: Field, operator: str, value: Any) -> Matcher:
    """many2one and x2many leaves: ids, ``False``, or names searched on the comodel."""
    negate = operator in _NEGATIVE
    positive = _POSITIVE_OF.get(operator, operator)
    targets = _relational_targets(env, field, positive, value)
    if targets is None:  # '= False': no link at all

        def empty(rid: int) -> bool:
            return not _related_ids(env, model, field, rid)

        return (lambda rid: not empty(rid)) if negate else empty

    def match(rid: int) -> bool:
        found = any(item in targets for item in _related_ids(env, model, field, rid))
        return not found if negate else found

    return match


def _relational_targets(env: Env, field: Field, operator: str, value: Any) -> set[int] | None:
    if operator in ("=", "in") and (value is False or value is None):
        return None
    values = _as_list(value)
    if operator in ("=", "in") and all(_is_id(item) for item in values):
        return {int(item) for item in values}
    if field.relation is None:
        return set()
    comodel = env.model(field.relation)
    if operator in ("<", "<=", ">", ">="):
        return set(
            comodel.search_ids(env.with_context(active_test=False), [["id", operator, value]])
        )
    name_op = {"in": "=", "=": "="}.get(operator, operator)
    found: set[int] = set()
    for item in values:
        if _is_id(item):
            found.add(int(item))
        elif isinstance(item, str):
            found |= set(comodel.name_search_ids(env, name_op, item))
    return found


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# -- scalar leaves ----------------------------------------------------------------------------


def _scalar_test(model: Model, field: Field, operator: str, value: Any) -> Callable[[Any], bool]:
    negate = operator in _NEGATIVE
    positive = _POSITIVE_OF.get(operator, operator)
    if positive in ("like", "ilike", "=like", "=ilike"):
        test = _like_test(positive, value)
    elif positive == "in":
        test = _in_test(field, value)
    elif positive == "=":
        test = _equal_test(field, value)
    else:
        test = _compare_test(field, positive, value)
    if not negate:
        return test
    if positive == "=" and (value is False or value is None):
        return lambda current: not test(current)
    return lambda current: current is None or current is False or not test(current)


def _coerce(field: Field, value: Any) -> Any:
    """A domain value converted to the type of the stored value."""
    if value is None or (value is False and field.type != "boolean"):
        return None
    if field.type == "datetime":
        return lenient_datetime(value)
    if field.type == "date":
        return lenient_date(value)
    if field.type in ("integer", "many2one_reference") and isinstance(value, str):
        return int(value) if value.lstrip("-").isdigit() else value
    if field.type == "float" and isinstance(value, (int, str)) and not isinstance(value, bool):
        return float(value)
    return value


def _equal_test(field: Field, value: Any) -> Callable[[Any], bool]:
    if field.type == "boolean":
        wanted = bool(value)
        return lambda current: bool(current) == wanted
    target = _coerce(field, value)
    if target is None:
        return lambda current: current is None or current is False or current == ""
    return lambda current: current is not None and current == target


def _in_test(field: Field, value: Any) -> Callable[[Any], bool]:
    values = _as_list(value)
    if field.type == "boolean":
        wanted = {bool(item) for item in values}
        return lambda current: bool(current) in wanted
    with_null = any(item is False or item is None for item in values)
    targets = {_coerce(field, item) for item in values if item is not False and item is not None}
    return lambda current: current in targets or (with_null and current is None)


def _compare_test(field: Field, operator: str, value: Any) -> Callable[[Any], bool]:
    target = _coerce(field, value)
    if target is None:
        return lambda _current: False
    compare = _COMPARATORS[operator]

    def test(current: Any) -> bool:
        if current is None or current is False:
            return False
        left, right = _comparable(current, target)
        return compare(left, right)

    return test


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, str) and isinstance(right, str):
        return collate_key(left), collate_key(right)
    if isinstance(left, datetime) and not isinstance(right, datetime) and isinstance(right, date):
        return left.date(), right
    return left, right


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _like_test(operator: str, value: Any) -> Callable[[Any], bool]:
    if value is None or value is False:
        return lambda current: current is None or current is False
    text = str(value)
    whole = operator.startswith("=")
    pattern = like_pattern(text if whole else f"%{text}%", ignore_case=operator.endswith("ilike"))

    def test(current: Any) -> bool:
        if current is None or current is False:
            return False
        return pattern.fullmatch(str(current)) is not None

    return test


def like_pattern(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """A SQL LIKE pattern (``%``, ``_``, backslash escapes) as a regular expression."""
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)
