"""A small parser for the GitHub-flavoured Markdown the plugin writes: `### heading` lines, each
followed by a pipe table. Tests read the summary through it, so they check structure and values,
not a string snapshot."""

from __future__ import annotations

import re

_SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")


def split_row(line: str) -> list[str]:
    """The cells of `| a | b \\| c |`, with GFM's escaped pipes and backslashes undone."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, current, chars = [], "", iter(line[1:-1])
    for char in chars:
        if char == "\\":
            current += next(chars)
        elif char == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += char
    cells.append(current.strip())
    return cells


def parse_markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each `### heading`'s table as a list of {header: cell} rows; a table must have a header
    line, a separator line and rows of the header's width."""
    tables: dict[str, list[dict[str, str]]] = {}
    lines = text.splitlines()
    heading = None
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        if line.startswith("### "):
            heading = line[4:].replace("\\|", "|")
        elif line.startswith("|"):
            assert heading is not None, f"a table without a heading at line {number + 1}"
            headers = split_row(line)
            assert _SEPARATOR.match(lines[number + 1].strip()), lines[number + 1]
            rows = []
            number += 2
            while number < len(lines) and lines[number].strip().startswith("|"):
                cells = split_row(lines[number].strip())
                assert len(cells) == len(headers), (headers, cells)
                rows.append(dict(zip(headers, cells, strict=True)))
                number += 1
            assert heading not in tables, f"two tables under {heading!r}"
            tables[heading] = rows
            heading = None
            continue
        number += 1
    return tables


def title(text: str) -> str:
    """The summary's `## ` title line."""
    return next(line[3:] for line in text.splitlines() if line.startswith("## "))
