"""Conversion of field values between the wire and the emulator's rows.

Rows hold Python values: ``str``, ``int``, ``float``, ``bool``, naive UTC
``datetime`` (with microseconds), ``date``, a record id for a many2one, a tuple
of ids for a many2many, and ``None`` for SQL NULL. On the wire Odoo uses
``false`` for NULL, ``"YYYY-MM-DD HH:MM:SS"`` for datetimes (seconds only),
``[id, "name"]`` for a many2one and id lists for x2many fields.

Parsing is strict where Odoo is strict: a datetime written to a field goes
through the same ``strptime`` call Odoo makes, so the ``ValueError`` messages
are Python's own (``time data '...' does not match format '%Y-%m-%d %H:%M:%S'``,
``unconverted data remains: .123456``) [29]. Domain values are parsed the
lenient way PostgreSQL casts a string (``'...:56.999999'`` works) [24].
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from calsync.testing._odoo._errors import OdooValueError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from calsync.testing._odoo._fields import Field

__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "format_date",
    "format_datetime",
    "lenient_datetime",
    "m2m_commands",
    "to_date",
    "to_datetime",
]

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


def to_datetime(value: object) -> datetime | None:
    """A datetime field's value from the wire, exactly as Odoo parses it.

    Odoo slices its format to the length of the string, so ``"2026-12-01"``
    is midnight and anything longer than 19 characters fails in ``strptime``.
    """
    if value is None or value is False or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    if not isinstance(value, str):
        raise OdooValueError(f"Wrong value for a datetime: {value!r}")
    try:
        return datetime.strptime(value, DATETIME_FORMAT[: len(value) - 2])  # noqa: DTZ007 (naive UTC)
    except ValueError as exc:
        raise OdooValueError(str(exc)) from None


def to_date(value: object) -> date | None:
    """A date field's value from the wire (Odoo reads the first 10 characters)."""
    if value is None or value is False or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise OdooValueError(f"Wrong value for a date: {value!r}")
    try:
        return datetime.strptime(value[:10], DATE_FORMAT).date()  # noqa: DTZ007 (a date)
    except ValueError as exc:
        raise OdooValueError(str(exc)) from None


def lenient_datetime(value: object) -> datetime | None:
    """A datetime from a domain value, cast the way PostgreSQL would cast the string."""
    if value is None or value is False:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("T", " "))
        except ValueError:
            raise OdooValueError(f'invalid input syntax for type timestamp: "{value}"') from None
    raise OdooValueError(f"Wrong value for a datetime: {value!r}")


def lenient_date(value: object) -> date | None:
    """A date from a domain value (a datetime string is cut to its date)."""
    moment = lenient_datetime(value)
    return moment.date() if moment is not None else None


def format_datetime(value: datetime | None) -> str | bool:
    """A datetime on the wire: seconds precision, or ``false``."""
    return value.strftime(DATETIME_FORMAT) if value is not None else False


def format_date(value: date | None) -> str | bool:
    """A date on the wire, or ``false``."""
    return value.strftime(DATE_FORMAT) if value is not None else False


def scalar_to_row(model: str, field: Field, value: object) -> object:
    """A non-relational value from the wire, converted for storage (``None`` is NULL)."""
    kind = field.type
    if kind == "boolean":
        return bool(value)
    if value is None or value is False:
        return None
    converter = _CONVERTERS.get(kind)
    if converter is not None:
        return converter(value)
    if kind == "selection":
        return _selection(model, field, value)
    if kind in ("char", "text", "html"):
        return value if isinstance(value, str) else str(value)
    return value


def _selection(model: str, field: Field, value: object) -> str:
    allowed = field.selection or ()
    if value not in allowed:
        raise OdooValueError(f"Wrong value for {model}.{field.name}: {value!r}")
    return str(value)


def _integer(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return int(value)
    raise OdooValueError(f"Wrong value for an integer: {value!r}")


def _float(value: object) -> float:
    if isinstance(value, (int, float, str)):
        return float(value)
    raise OdooValueError(f"Wrong value for a float: {value!r}")


def _reference(value: object) -> int:
    return _integer(value)


_CONVERTERS = {
    "integer": _integer,
    "float": _float,
    "datetime": to_datetime,
    "date": to_date,
    "many2one_reference": _reference,
}


def scalar_to_wire(field: Field, value: object) -> object:
    """A stored or computed non-relational value, as Odoo sends it."""
    kind = field.type
    if kind == "boolean":
        return bool(value)
    if value is None:
        return _ZERO.get(kind, False)
    if kind == "float" and isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value) if kind == "datetime" else value
    if isinstance(value, date) and kind == "date":
        return format_date(value)
    return value


_ZERO: dict[str, object] = {"integer": 0, "many2one_reference": 0, "float": 0.0}


def m2m_commands(current: Sequence[int], commands: object) -> tuple[int, ...]:
    """Apply many2many write commands (or a plain id list) to the current ids.

    Supported: ``(3, id)`` unlink, ``(4, id)`` link, ``(5,)`` clear, ``(6, 0, ids)``
    set, and a list of ints (a set). Creating or updating linked records through
    a many2many (commands 0, 1, 2) is not emulated.
    """
    ids = list(current)
    if not isinstance(commands, (list, tuple)):
        raise OdooValueError(f"Wrong value for a many2many: {commands!r}")
    if commands and all(isinstance(item, int) and not isinstance(item, bool) for item in commands):
        return tuple(dict.fromkeys(int(item) for item in commands))
    for command in commands:
        ids = _m2m_command(ids, command)
    return tuple(ids)


def _m2m_command(ids: list[int], command: object) -> list[int]:
    if not isinstance(command, (list, tuple)) or not command:
        raise OdooValueError(f"Wrong command for a many2many: {command!r}")
    op = command[0]
    if op == 6:
        return list(dict.fromkeys(_ids(command[2] if len(command) > 2 else [])))
    if op == 5:
        return []
    if op == 4:
        target = int(command[1])
        return ids if target in ids else [*ids, target]
    if op in (3, 2):
        target = int(command[1])
        return [item for item in ids if item != target]
    raise OdooValueError(f"Unsupported many2many command in the emulator: {command!r}")


def _ids(values: object) -> Iterable[int]:
    if not isinstance(values, (list, tuple)):
        raise OdooValueError(f"Wrong value for a list of ids: {values!r}")
    return (int(value) for value in values)


def as_id(value: object) -> int | None:
    """A many2one value from the wire: an id, or ``None`` for false."""
    if value is None or value is False:
        return None
    if isinstance(value, bool):
        raise OdooValueError(f"Wrong value for a many2one: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise OdooValueError(f"Wrong value for a many2one: {value!r}")


def json_ready(value: Any) -> Any:
    """``value`` with tuples as lists, the way the JSON encoder will send it."""
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    return value
