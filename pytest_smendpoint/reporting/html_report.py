"""The session report as HTML: a section for pytest-html's report, or a page of its own
(`--sm-report-html`). The same tables as the Markdown summary, a latency histogram per endpoint
and, for each comparison, a candidate-vs-baseline score scatter; every picture is inline SVG, so
the file needs nothing beside it."""

from __future__ import annotations

from html import escape
from typing import Any

from pytest_smendpoint.reporting import svg
from pytest_smendpoint.reporting.tables import (
    Table,
    comparison_tables,
    endpoint_table,
    gates_table,
    headline,
    metrics_table,
    transforms_table,
)

SECTION_ID = "smendpoint"
STYLE = """
#smendpoint table { border-collapse: collapse; margin: 0.5em 0 1em; }
#smendpoint th, #smendpoint td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
#smendpoint tr.missed td { color: #b00; font-weight: bold; }
#smendpoint figure { margin: 0.5em 0 1em; }
"""


def html_section(report: Any, exit_status: int | None = None) -> str:
    """A <section id="smendpoint"> with every table and chart (pytest-html's summary holds it)."""
    parts = [
        f'<section id="{SECTION_ID}">',
        f"<style>{STYLE}</style>",
        "<h2>smendpoint</h2>",
        f'<p class="headline">{escape(headline(report, exit_status))}</p>',
    ]
    gates = gates_table(report)
    if gates is not None:
        parts.append(table_html(gates, missed_rows=True))
    for endpoint in report.endpoints:
        parts.append(table_html(endpoint_table(endpoint)))
        if endpoint.latencies:
            parts.append(
                _figure(
                    svg.histogram(
                        endpoint.latencies,
                        title=f"sm_invoke latency, {endpoint.name}",
                        x_label="latency (ms)",
                    ),
                    f"latency of {len(endpoint.latencies)} requests",
                    "latency",
                )
            )
    metrics = metrics_table(report)
    if metrics is not None:
        parts.append(table_html(metrics))
    transforms = transforms_table(report)
    if transforms is not None:
        parts.append(table_html(transforms))
    for comparison in report.comparisons:
        tables = comparison_tables(comparison)
        parts.append(table_html(tables[0]))
        if comparison.points:
            parts.append(
                _figure(
                    svg.scatter(
                        comparison.points,
                        title=f"scores, comparison {comparison.name}",
                        x_label=f"baseline ({comparison.baseline})",
                        y_label="candidate",
                    ),
                    f"{len(comparison.points)} rows sampled of {comparison.rows}; "
                    "rows off the diagonal differ",
                    "scores",
                )
            )
        parts += [table_html(table) for table in tables[1:]]
    parts.append("</section>")
    return "\n".join(parts)


def html_page(report: Any, exit_status: int | None = None) -> str:
    """A standalone page (for runs without pytest-html)."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            "<title>smendpoint report</title>",
            "</head>",
            '<body style="font-family: sans-serif">',
            html_section(report, exit_status),
            "</body>",
            "</html>",
            "",
        ]
    )


def table_html(table: Table, *, missed_rows: bool = False) -> str:
    """A <table> with a caption; with `missed_rows`, rows whose first cell is MISSED are marked."""
    head = "".join(f"<th>{escape(text)}</th>" for text in table.headers)
    rows = []
    for row in table.rows:
        marked = ' class="missed"' if missed_rows and row and row[0] == "MISSED" else ""
        cells = "".join(f"<td>{escape(text)}</td>" for text in row)
        rows.append(f"<tr{marked}>{cells}</tr>")
    return (
        f"<table><caption>{escape(table.heading)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(picture: str, caption: str, kind: str) -> str:
    return f'<figure class="{kind}">{picture}<figcaption>{escape(caption)}</figcaption></figure>'
