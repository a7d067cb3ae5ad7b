"""Sphinx configuration: MyST Markdown pages, API reference from docstrings, furo theme."""

from __future__ import annotations

from importlib.metadata import version as _version

project = "calsync"
author = "calsync maintainers"
copyright = "2026, calsync maintainers"  # noqa: A001 (Sphinx's name)
release = _version("calsync")

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = "calsync"
