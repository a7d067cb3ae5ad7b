"""HTML sanitising of ``html`` fields, as observed on ``calendar.event.description`` [40].

Recorded effects (§5.15), which this module reproduces with the standard
library's HTML parser:

* ``<script>``/``<style>`` elements disappear with their content;
* document wrappers (``<html>``, ``<head>``, ``<body>``, ``<meta>``, ``<title>``,
  ``<link>``) are dropped, their children kept; ``<iframe>``, ``<object>``,
  ``<embed>`` and forms are removed;
* event-handler attributes (``on*``) are dropped, ``javascript:`` URLs become
  ``""``; ``style`` attributes are kept;
* plain text (no tag at all) is wrapped in ``<p>...</p>``, newlines kept;
* entities and non-ASCII text come back as written (``&amp;``, ``&nbsp;``).

It is a model of the observed behaviour, not of lxml's cleaner: markup the
recordings did not exercise may come back differently from a real server.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

__all__ = ["is_html_empty", "sanitize_html"]

_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "frame",
        "frameset",
        "form",
        "textarea",
        "select",
        "button",
    }
)
_UNWRAP = frozenset({"html", "head", "body", "meta", "title", "link", "base", "input"})
_VOID = frozenset({"br", "hr", "img", "col", "area", "wbr", "source", "track"})
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "background", "poster"})
_EMPTY_TAGS = re.compile(
    r"<\s*/?(?:p|div|section|span|br|b|i|font)\b(?:\s+[A-Za-z_-][A-Za-z0-9-_]*(?:\s*=\s*['\"][^'\"]*['\"])?)*\s*/?\s*>"
)
_ICON = re.compile(r"<\s*(?:i|span)\b[^>]*\bclass\s*=\s*[\"'][^\"']*\b(?:fa|fab|fad|far|oi)\b")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth or tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        if tag in _UNWRAP:
            return
        self.out.append(f"<{tag}{_attributes(attrs)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth or tag in _DROP_WITH_CONTENT or tag in _UNWRAP:
            return
        self.out.append(f"<{tag}{_attributes(attrs)}>")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag not in _VOID:
                self._skip_depth -= 1
            return
        if tag in _UNWRAP or tag in _VOID:
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if not self._skip_depth:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self._skip_depth:
            self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        """Comments are dropped."""

    def handle_decl(self, decl: str) -> None:
        """``<!DOCTYPE ...>`` is dropped."""


def _attributes(attrs: list[tuple[str, str | None]]) -> str:
    parts = []
    for name, value in attrs:
        if name.startswith("on"):
            continue
        text = value or ""
        if name in _URL_ATTRIBUTES and re.sub(r"\s", "", text).lower().startswith(
            ("javascript:", "vbscript:")
        ):
            text = ""
        parts.append(f' {name}="{escape(text, quote=True)}"')
    return "".join(parts)


def sanitize_html(value: str) -> str:
    """``value`` cleaned like Odoo's ``html_sanitize`` for a stored html field."""
    if not value.strip():
        return value
    if "<" not in value:
        return f"<p>{value}</p>"
    parser = _Sanitizer()
    parser.feed(value)
    parser.close()
    return "".join(parser.out)


def is_html_empty(value: str | None) -> bool:
    """Odoo's ``is_html_empty``: no text once the layout tags are removed."""
    if not value:
        return True
    return not _EMPTY_TAGS.sub("", value).strip() and not _ICON.search(value)
