"""The session report as GitHub-flavoured Markdown: the CI job summary a reviewer reads on the
pull request (`$GITHUB_STEP_SUMMARY`), or any file `--sm-summary-md` names (GitLab and others
attach it as an artifact or a merge-request note)."""

from __future__ import annotations

from typing import Any

from pytest_smendpoint.reporting.tables import Table, headline, session_tables

TITLE = "smendpoint"


def markdown_summary(report: Any, exit_status: int | None = None) -> str:
    """The whole summary: a title with the decision, then every table."""
    parts = [f"## {TITLE}: {headline(report, exit_status)}", ""]
    for table in session_tables(report):
        parts += [f"### {escape(table.heading)}", "", *table_lines(table), ""]
    return "\n".join(parts)


def table_lines(table: Table) -> list[str]:
    lines = [row_line(table.headers), row_line(("---",) * len(table.headers))]
    lines += [row_line(row) for row in table.rows]
    return lines


def row_line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(escape(text) for text in cells) + " |"


def escape(text: str) -> str:
    """A cell's text kept on one line and in its cell: `|` would end the cell (GFM tables)."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
