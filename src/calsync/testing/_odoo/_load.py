"""``Model.load(fields, rows)``: Odoo's import, an atomic create-or-update by external id [43].

* An ``id`` column holds external ids (``module.name``; ``__import__`` when no
  module is given). A known one updates its record in place (archived records
  stay archived); an unknown one creates the record and its ``ir.model.data``
  row in the same transaction, whoever the caller is.
* ``.id`` holds database ids, found as ``search([('id', '=', id)])`` finds them:
  an archived record only with ``active_test`` off in the context, else the row
  is ``Unknown database identifier '<id>'`` (checked on real 18.0). A row found
  by ``.id`` or by a known external id is updated with the model's ``write``,
  access rights and record rules included; ``field/id`` and ``field/.id`` give
  relational values by external or database id; a plain relational column
  matches names.
* Rows are first written in one batch; when that fails they are retried one by
  one to find the culprits, with the values the batch attempt's ``write`` calls
  consumed gone (``calendar.event.write`` pops ``recurrence_update`` from the
  very dict ``load`` holds: on real 18.0 a two-row ``all_events`` load whose
  first row archived the second failed, and then failed row by row, the first
  row too, for "Unable to save the recurrence"). Any error message rejects the whole call:
  ``{"ids": false, "messages": [...]}`` and nothing is written, but the ids the
  attempts used stay used (a rejected 2-row load used 4 ids). As on the real
  server, the batch error is reported first against row 0, so messages do not
  reliably point at the bad row.
* An unknown column is an RPC error (``ValueError: Invalid field name ...``).
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from calsync.testing._odoo._errors import OdooError, OdooValueError, UserError
from calsync.testing._odoo._values import to_date, to_datetime

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from calsync.testing._odoo._fields import Field
    from calsync.testing._odoo._models._base import Env, Model

__all__ = ["load_rows"]

_TRUE = {"1", "true", "yes", "t", "y"}
_FALSE = {"0", "false", "no", "f", "n", ""}


@attrs.define
class _Record:
    xmlid: str | None
    db_id: int | None
    values: dict[str, Any]
    info: dict[str, Any]


class _RowError(Exception):
    """A conversion problem in one cell; becomes an error message."""


def load_rows(env: Env, model: Model, fields: list[str], data: list[list[Any]]) -> dict[str, Any]:
    """Run ``load`` and return ``{"ids", "messages", "nextrow"}``."""
    paths = [_path(model, name) for name in fields]
    messages: list[dict[str, Any]] = []
    records = []
    for index, row in enumerate(data):
        info = {"rows": {"from": index, "to": index}, "record": index}
        try:
            record = _convert_row(env, model, paths, row, info)
        except _RowError as exc:
            messages.append({**info, "type": "error", "message": str(exc)})
            continue
        if record.db_id is not None and not _found(env, model, record.db_id):
            message = f"Unknown database identifier '{record.db_id}'"
            messages.append({**info, "type": "error", "field": ".id", "message": message})
        records.append(record)
    ids: list[int] = []
    mails_before = len(env.mails)
    try:
        with env.db.savepoint():
            if records and not messages:
                _flush(env, model, records, ids, messages)
            if any(message["type"] == "error" for message in messages):
                raise _RejectedError
    except _RejectedError:
        del env.mails[mails_before:]
        return {"ids": False, "messages": messages, "nextrow": 0}
    return {"ids": ids, "messages": messages, "nextrow": 0}


class _RejectedError(Exception):
    """Internal: roll the whole load back."""


def _path(model: Model, name: str) -> list[str]:
    parts = name.split("/")
    head = parts[0]
    if head in ("id", ".id"):
        return parts
    if head not in model.spec.fields:
        raise OdooValueError(f"Invalid field name {head!r}")
    return parts


def _convert_row(
    env: Env, model: Model, paths: list[list[str]], row: list[Any], info: dict[str, Any]
) -> _Record:
    xmlid: str | None = None
    db_id: int | None = None
    values: dict[str, Any] = {}
    for path, cell in zip(paths, row, strict=False):
        text = "" if cell is None or cell is False else str(cell)
        if path == ["id"]:
            xmlid = text or None
        elif path == [".id"]:
            db_id = int(text) if text else None
        else:
            field = model.spec.fields[path[0]]
            values[field.name] = _cell(env, model, field, path[1:], text)
    return _Record(xmlid, db_id, values, info)


def _cell(env: Env, model: Model, field: Field, sub: list[str], text: str) -> Any:
    """One imported cell converted for its field (Odoo's ``ir.fields.converter``)."""
    if field.relational:
        return _relational(env, field, sub, text)
    if field.type == "boolean":
        return text.strip().lower() in _TRUE
    if not text:
        return False
    converter = _CELL_CONVERTERS.get(field.type)
    return converter(env, field, text) if converter is not None else text


def _date_cell(env: Env, field: Field, text: str) -> Any:
    try:
        return to_date(text)
    except OdooError:
        message = f"'{text}' does not seem to be a valid date for field '{field.string}'"
        raise _RowError(message) from None


def _selection_cell(env: Env, field: Field, text: str) -> Any:
    for value, label in field.description.get("selection") or ():
        if text in (value, label):
            return value
    raise _RowError(f"Value '{text}' not found in selection field '{field.string}'")


def _number_cell(env: Env, field: Field, text: str) -> Any:
    try:
        return int(text) if field.type == "integer" else float(text)
    except ValueError:
        message = f"'{text}' does not seem to be a number for field '{field.string}'"
        raise _RowError(message) from None


def _datetime(env: Env, field: Field, text: str) -> Any:
    """Import datetimes are in the user's time zone (context tz, else the user's)."""
    try:
        moment = to_datetime(text)
    except OdooError:
        raise _RowError(
            f"'{text}' does not seem to be a valid datetime for field '{field.string}'"
        ) from None
    zone = env.tz or env.user.get("tz")
    if moment is not None and zone:
        moment = moment.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc).replace(tzinfo=None)
    return moment


_CELL_CONVERTERS: dict[str, Callable[[Env, Field, str], Any]] = {
    "datetime": _datetime,
    "date": _date_cell,
    "selection": _selection_cell,
    "integer": _number_cell,
    "float": _number_cell,
}


def _relational(env: Env, field: Field, sub: list[str], text: str) -> Any:
    assert field.relation is not None
    items = (
        [item.strip() for item in text.split(",") if item.strip()]
        if field.x2many
        else [text.strip()]
    )
    ids = [_resolve(env, field, sub, item) for item in items if item]
    if field.x2many:
        return [(6, 0, ids)]
    return ids[0] if ids else False


def _resolve(env: Env, field: Field, sub: list[str], item: str) -> int:
    assert field.relation is not None
    comodel = env.model(field.relation)
    if sub == ["id"]:
        module, _, name = item.rpartition(".")
        found = env.model_data.lookup(module or "__import__", name)
        if found is None or found[0] != field.relation:
            raise _RowError(
                f"No matching record found for external id '{item}' in field '{field.string}'"
            )
        return found[1]
    if sub == [".id"]:
        if not item.isdigit() or not env.db.exists(field.relation, int(item)):
            raise _RowError(
                f"No matching record found for database id '{item}' in field '{field.string}'"
            )
        return int(item)
    matches = comodel.name_search_ids(env, "=", item)
    if not matches:
        raise _RowError(f"No matching record found for name '{item}' in field '{field.string}'")
    return matches[0]


def _flush(
    env: Env, model: Model, records: list[_Record], ids: list[int], messages: list[dict[str, Any]]
) -> None:
    """Odoo's batch-then-row-by-row import of the converted records."""
    try:
        with env.db.savepoint():
            ids.extend(_load_records(env, model, records))
        return
    except UserError as exc:
        first: dict[str, Any] | None = {**records[0].info, "type": "error", "message": exc.message}
    except OdooError:
        first = None
    errors = 0
    for record in records:
        try:
            with env.db.savepoint():
                ids.extend(_load_records(env, model, [record]))
        except UserError as exc:
            messages.append({**record.info, "type": "error", "message": exc.message})
            errors += 1
        except OdooError as exc:
            text = f"Unknown error during import: <class '{exc.name}'>: {exc.message}"
            messages.append(
                {
                    **record.info,
                    "type": "error",
                    "message": text,
                    "moreinfo": "Resolve other errors first",
                }
            )
            errors += 1
    if errors and first is not None and first not in messages:
        messages.insert(0, first)


def _load_records(env: Env, model: Model, records: Sequence[_Record]) -> list[int]:
    """Update the records whose external id exists, create the others with their ids."""
    imd = env.model_data
    result: dict[int, int] = {}
    to_create: list[tuple[int, _Record]] = []
    for position, record in enumerate(records):
        target = _existing(env, model, record)
        if target is not None:
            model.check_access(env, "write")
            model.check_rules(env, "write", [target])
            model.write_from_rpc(env, [target], record.values)  # the write may consume values
            result[position] = target
        else:
            to_create.append((position, record))
    created = model.create_from_rpc(env, [dict(record.values) for _position, record in to_create])
    rows = []
    for (position, record), rid in zip(to_create, created, strict=True):
        result[position] = rid
        if record.xmlid:
            module, _, name = record.xmlid.rpartition(".")
            rows.append(
                {"module": module or "__import__", "name": name, "model": model.name, "res_id": rid}
            )
    if rows:
        imd.create_records(env.sudo(), rows)
    return [result[position] for position in range(len(records))]


def _found(env: Env, model: Model, db_id: int) -> bool:
    """``search([('id', '=', db_id)])``: archived records only without ``active_test``."""
    if not env.db.exists(model.name, db_id):
        return False
    if model.has_active and env.active_test:
        return bool(env.db.fetch(model.name, db_id).get("active"))
    return True


def _existing(env: Env, model: Model, record: _Record) -> int | None:
    if record.db_id is not None:
        return record.db_id if env.db.exists(model.name, record.db_id) else None
    if not record.xmlid:
        return None
    module, _, name = record.xmlid.rpartition(".")
    found = env.model_data.lookup(module or "__import__", name)
    if found is None or found[0] != model.name or not env.db.exists(model.name, found[1]):
        return None
    return found[1]
