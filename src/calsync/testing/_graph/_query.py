"""Request options: ``Prefer`` headers and the OData query options the emulator understands.

- ``Prefer`` may hold several preferences, comma-joined in one header (as
  msgraph-sdk sends them): ``odata.maxpagesize=N``, ``outlook.timezone="X"``
  (IANA or Windows name), ``outlook.body-content-type="text"`` and
  ``IdType="ImmutableId"`` (accepted; ids never change here anyway).
- ``$select`` keeps the listed properties (plus ``id`` and ``@odata.etag``);
  ``cancelledOccurrences`` and ``exceptionOccurrences`` appear only when
  selected (or, for the latter, expanded).
- ``$expand``: ``exceptionOccurrences``, ``singleValueExtendedProperties``
  (optionally with ``($filter=id eq '...')``) and ``attachments``.
- ``$filter`` on event listings: ``singleValueExtendedProperties/Any(ep: ep/id
  eq '...' and ep/value eq '...')``, ``eq`` comparisons of ``iCalUId``,
  ``subject``, ``type`` and ``seriesMasterId``, and ranges on
  ``start/dateTime`` and ``end/dateTime`` (``eq``, ``ne``, ``gt``, ``ge``,
  ``lt``, ``le``; Graph's "Use the $filter query parameter" page lists
  ``~/me/events?$filter=start/dateTime ge '2017-07-01T08:00'``), joined with
  ``and``. The value is a string (the page notes that ``dateTime`` is a String
  property; one without an offset is UTC, the zone events are stored in) or
  an unquoted ``DateTimeOffset`` as python-o365 writes it. ``transactionId``
  is not filterable (as in Graph). A filter the emulator cannot read answers
  Graph's 400 ``BadRequest`` "Invalid filter clause: ..." (the error body
  Graph's pages show for an unsupported ``$filter``).
- ``$orderby`` on ``start/dateTime``, ``end/dateTime``, ``createdDateTime``,
  ``lastModifiedDateTime`` and ``subject``, ``asc`` or ``desc``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import attrs

from calsync.testing._graph._errors import GraphError
from calsync.testing._graph._zones import zone

if TYPE_CHECKING:
    from collections.abc import Mapping

    from calsync.testing._graph._items import View

UTC = timezone.utc

__all__ = [
    "Expand",
    "Prefer",
    "parse_expand",
    "parse_filter",
    "parse_orderby",
    "parse_prefer",
    "parse_select",
]

_STRING = r"'((?:[^']|'')*)'"
_RANGE = re.compile(
    rf"^(start|end)/datetime\s+(eq|ne|gt|ge|lt|le)\s+(?:{_STRING}|(\S+))$", re.IGNORECASE
)
_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_ANY = re.compile(r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(.*)\)$", re.IGNORECASE)
_EQ = re.compile(rf"^(\w+(?:/\w+)?)\s+eq\s+{_STRING}$", re.IGNORECASE)
_ID_EQ = re.compile(rf"\bid\s+eq\s+{_STRING}", re.IGNORECASE)
_FILTERABLE = {
    "icaluid": "ical_uid",
    "subject": "subject",
    "type": "kind",
    "seriesmasterid": "master",
}
_ORDER_KEYS: dict[str, Callable[[View], object]] = {
    "start/datetime": lambda view: view.start_utc,
    "end/datetime": lambda view: view.end_utc,
    "createddatetime": lambda view: view.created,
    "lastmodifieddatetime": lambda view: view.modified,
    "subject": lambda view: view.content.subject,
}


def _bad_query(message: str, code: str = "ErrorInvalidUrlQuery") -> GraphError:
    return GraphError(400, code, message)


def _bad_filter(message: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {message}")


@attrs.frozen
class Prefer:
    """The preferences of one request; ``applied`` lists the ones to echo back."""

    max_page_size: int | None = None
    time_zone: str | None = None
    body_text: bool = False
    immutable_ids: bool = False

    def applied(self) -> str:
        """The ``Preference-Applied`` header value ('' when nothing was asked)."""
        parts = []
        if self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        if self.time_zone is not None:
            parts.append(f'outlook.timezone="{self.time_zone}"')
        if self.body_text:
            parts.append('outlook.body-content-type="text"')
        if self.immutable_ids:
            parts.append('IdType="ImmutableId"')
        return ", ".join(parts)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_prefer(header: str | None) -> Prefer:
    """Parse a (possibly comma-joined) ``Prefer`` header; unknown preferences are ignored."""
    values: dict[str, str] = {}
    for part in _split_outside_quotes(header or "", ","):
        key, _, value = part.partition("=")
        values[key.strip().lower()] = value.strip().strip('"')
    size = values.get("odata.maxpagesize")
    time_zone = values.get("outlook.timezone") or None
    if time_zone is not None:
        zone(time_zone)
    return Prefer(
        max_page_size=int(size) if size and size.isdigit() and int(size) > 0 else None,
        time_zone=time_zone,
        body_text=values.get("outlook.body-content-type", "").lower() == "text",
        immutable_ids=values.get("idtype", "").lower() == "immutableid",
    )


def parse_select(value: str | None) -> frozenset[str] | None:
    """``$select`` as lower-case property names (None when absent)."""
    if value is None:
        return None
    names = frozenset(part.strip().lower() for part in value.split(",") if part.strip())
    return names or None


@attrs.frozen
class Expand:
    """What ``$expand`` asked for. ``properties`` None: extended properties not expanded."""

    exceptions: bool = False
    attachments: bool = False
    properties: frozenset[str] | None = None
    all_properties: bool = False


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parse_expand(value: str | None) -> Expand:
    """Parse ``$expand``; an unknown navigation property is a 400."""
    expand = Expand()
    for part in _split_top_level(value or ""):
        name, _, rest = part.partition("(")
        key = name.strip().lower()
        if key == "exceptionoccurrences":
            expand = attrs.evolve(expand, exceptions=True)
        elif key == "attachments":
            expand = attrs.evolve(expand, attachments=True)
        elif key == "singlevalueextendedproperties":
            ids = frozenset(m.replace("''", "'").lower() for m in _ID_EQ.findall(rest))
            expand = attrs.evolve(expand, properties=ids, all_properties=not ids)
        elif key != "multivalueextendedproperties":
            raise _bad_query(f"Could not find a navigation property named '{name.strip()}'.")
    return expand


def _unquote(text: str) -> str:
    return text.replace("''", "'")


def _split_and(text: str) -> list[str]:
    """Split on `` and `` outside quotes and parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted, i = 0, False, 0
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted:
            depth += (char == "(") - (char == ")")
        if not quoted and depth == 0 and text[i : i + 5].lower() == " and ":
            parts.append("".join(current).strip())
            current, i = [], i + 5
            continue
        current.append(char)
        i += 1
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _any_clause(variable: str, body: str) -> Callable[[View], bool]:
    wanted: dict[str, str] = {}
    for condition in _split_and(body):
        match = _EQ.match(condition)
        if match is None or not match.group(1).lower().startswith(f"{variable.lower()}/"):
            raise _bad_filter(f"unsupported condition '{condition}'.")
        wanted[match.group(1).split("/")[1].lower()] = _unquote(match.group(2))
    if not wanted.keys() <= {"id", "value"} or "id" not in wanted:
        raise _bad_filter("an extended property filter needs ep/id.")
    prop_id, value = wanted["id"].lower(), wanted.get("value")

    def test(view: View) -> bool:
        return any(
            pid.lower() == prop_id and (value is None or pvalue == value)
            for pid, pvalue in view.extended
        )

    return test


def _eq_clause(name: str, expected: str) -> Callable[[View], bool]:
    field = _FILTERABLE.get(name.lower())
    if field is None:
        raise _bad_filter(f"the property '{name}' does not support filtering.")

    def test(view: View) -> bool:
        actual = {
            "ical_uid": view.ical_uid,
            "subject": view.content.subject,
            "kind": view.kind,
            "master": view.master_id,
        }[field]
        return actual == expected

    return test


def _range_clause(
    edge: str, name: str, quoted: str | None, bare: str | None
) -> Callable[[View], bool]:
    """``start/dateTime ge '2017-07-01T08:00'`` (or an unquoted DateTimeOffset)."""
    text = quoted if quoted is not None else bare or ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad_filter(f"'{text}' is not a date and time.") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    compare = _COMPARE[name.lower()]
    if edge.lower() == "start":
        return lambda view: compare(view.start_utc, moment)
    return lambda view: compare(view.end_utc, moment)


def parse_filter(value: str | None) -> Callable[[View], bool]:
    """A predicate for ``$filter`` on event listings; unsupported expressions are a 400."""
    if not value:
        return lambda _view: True
    tests = []
    for clause in _split_and(value.strip()):
        any_match = _ANY.match(clause)
        range_match = _RANGE.match(clause)
        eq_match = _EQ.match(clause)
        if any_match is not None:
            tests.append(_any_clause(any_match.group(1), any_match.group(2)))
        elif range_match is not None:
            tests.append(_range_clause(*range_match.groups()))
        elif eq_match is not None:
            tests.append(_eq_clause(eq_match.group(1), _unquote(eq_match.group(2))))
        else:
            raise _bad_filter(f"syntax error in '{clause}'.")
    return lambda view: all(test(view) for test in tests)


def parse_orderby(value: str | None) -> tuple[Callable[[View], object], bool] | None:
    """``$orderby`` as (sort key, descending); None when absent."""
    if not value:
        return None
    name, _, direction = value.strip().partition(" ")
    key = _ORDER_KEYS.get(name.lower())
    if key is None or direction.strip().lower() not in ("", "asc", "desc"):
        raise _bad_query(f"Unsupported $orderby '{value}'.")
    return key, direction.strip().lower() == "desc"


def query_int(query: Mapping[str, list[str]], name: str, low: int) -> int | None:
    """An integer query option (``$top``, ``$skip``); 400 when malformed."""
    values = query.get(name)
    if not values:
        return None
    text = values[0]
    if not text.isdigit() or int(text) < low:
        raise _bad_query(f"Invalid value '{text}' for {name}.")
    return int(text)
