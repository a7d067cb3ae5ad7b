"""A canonical form of event descriptions, so providers' HTML rewriting is not a change.

Outlook returns bodies as whole HTML documents; Odoo sanitises what it stores
(no ``<script>``, no event handlers, plain text wrapped in ``<p>``). Two
descriptions are the same content when their canonical forms are equal.
"""

from __future__ import annotations

import functools
import html
from html.parser import HTMLParser

__all__ = ["canonical_html"]

_DROPPED_WITH_CONTENT = frozenset({"script", "style", "head", "title", "iframe", "object"})
_DROPPED_TAG_ONLY = frozenset({"html", "body", "meta", "link", "base", "!doctype"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"})
_BLOCK = frozenset(
    {"p", "div", "ul", "ol", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
)


class _Canonicalizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        if self._skip_depth or tag in _DROPPED_TAG_ONLY:
            return
        kept = sorted(
            (name, _clean_attribute(name, value or ""))
            for name, value in attrs
            if not name.startswith("on")
        )
        rendered = "".join(f' {name}="{html.escape(value)}"' for name, value in kept)
        self.parts.append(f"<{tag}{rendered}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and tag not in _DROPPED_WITH_CONTENT | _DROPPED_TAG_ONLY:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth or tag in _DROPPED_TAG_ONLY or tag in _VOID:
            return
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(html.escape(_fold_spaces(data)))


def _fold_spaces(text: str) -> str:
    """Runs of white space become one space; a space at either end is kept (it shows)."""
    if not text.strip():
        return " "
    lead = " " if text[0].isspace() else ""
    trail = " " if text[-1].isspace() else ""
    return lead + " ".join(text.split()) + trail


def _clean_attribute(name: str, value: str) -> str:
    if name in {"href", "src"} and value.strip().lower().startswith("javascript:"):
        return ""
    return " ".join(value.split())


@functools.lru_cache(maxsize=4096)
def canonical_html(text: str) -> str:
    """The canonical form of an HTML (or plain-text) description.

    Drops the document wrapper, scripts, styles and event handlers; collapses
    whitespace; sorts attributes; wraps bare text in ``<p>``. Idempotent.
    """
    if not text or not text.strip():
        return ""
    parser = _Canonicalizer()
    parser.feed(text)
    parser.close()
    result = "".join(parser.parts)
    result = " ".join(result.split()).replace("> <", "><").strip()
    if not result:
        return ""
    if not any(result.startswith(f"<{tag}") for tag in _BLOCK):
        result = f"<p>{result}</p>"
    return result
