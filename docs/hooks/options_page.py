"""mkdocs hook: the options reference, written at build time from the one options table
(`pytest_smendpoint.settings.options.OPTIONS`), so the page never drifts from `pytest --help`.

docs/options.md holds the prose; its `<!-- options-table -->` line becomes the table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- options-table -->"
PAGE = "options.md"
# Flags add_options registers beside an option's own, to undo an ini value.
NEGATIONS = {"keep_endpoint": ("--sm-no-keep-endpoint",)}


def _options() -> Any:
    try:
        from pytest_smendpoint.settings import options
    except ImportError:  # `mkdocs build` from a checkout where the plugin is not installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from pytest_smendpoint.settings import options
    return options


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(value: object) -> str:
    return f"`{_cell(str(value))}`"


def _default(value: object) -> str:
    if value is None or value == () or value == []:
        return ""
    if isinstance(value, bool):
        return _code(str(value).lower())
    return _code(value)


def options_table() -> str:
    """One row per option: flag, ini key, kind, default, choices, help."""
    options = _options()
    rows = [
        "| flag | ini key | kind | default | choices | help |",
        "|---|---|---|---|---|---|",
    ]
    for spec in options.OPTIONS:
        flag = ", ".join(_code(f) for f in (spec.flag, *NEGATIONS.get(spec.name, ())))
        choices = ", ".join(_code(choice) for choice in spec.choices)
        rows.append(
            f"| {flag} | {_code(spec.ini)} | {spec.kind} | {_default(spec.default)} "
            f"| {choices} | {_cell(spec.help)} |"
        )
    deprecated = [
        f"`--sm-{old.replace('_', '-')}` / `sm_{old}` (use "
        f"`{options.OPTIONS_BY_NAME[new].flag}` / `{options.OPTIONS_BY_NAME[new].ini}`)"
        for old, new in options.DEPRECATED_NAMES.items()
    ]
    note = f"\n\nDeprecated spellings, still read with a warning: {', '.join(deprecated)}.\n"
    return "\n".join(rows) + (note if deprecated else "\n")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lost its {MARKER} line: the options table goes there")
    return markdown.replace(MARKER, options_table())
