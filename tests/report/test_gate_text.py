"""A gate is shown as the user wrote it (stripped of surrounding whitespace) in every output:
`rows_scored>=100000000` stays so, never `rows_scored>=1e+08`."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from helpers.markdown_tables import parse_markdown_tables

from pytest_smendpoint.settings.options import Gate

GATES = ("rows_scored>=100000000", "auc >= 0.90")
RECORDING = """
def test_scores(sm_metrics):
    sm_metrics.record("rows_scored", 200000000)
    sm_metrics.record("auc", 0.95)
"""


def run_gated(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(RECORDING)
    # Surrounding whitespace is the only thing normalised away.
    result = pytester.runpytest(*(f"--sm-gate=  {gate} " for gate in GATES), *args)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    return result


def test_terminal_summary_shows_each_gate_as_written(pytester: pytest.Pytester) -> None:
    result = run_gated(pytester)
    result.stdout.fnmatch_lines(
        [
            "gates: all 2 met",
            "  met    rows_scored>=100000000: rows_scored = 2e+08",
            "  met    auc >= 0.90: auc = 0.95",
        ]
    )
    assert "1e+08" not in result.stdout.str()


def test_json_report_keeps_each_gate_as_written(pytester: pytest.Pytester) -> None:
    run_gated(pytester, "--sm-report=report.json")
    data = json.loads((pytester.path / "report.json").read_text())
    assert [gate["gate"] for gate in data["gates"]] == list(GATES)
    assert [gate["threshold"] for gate in data["gates"]] == [100000000.0, 0.9]


def test_markdown_summary_shows_each_gate_as_written(pytester: pytest.Pytester) -> None:
    run_gated(pytester, "--sm-summary-md=summary.md")
    tables = parse_markdown_tables((pytester.path / "summary.md").read_text())
    assert [row["gate"] for row in tables["Gates"]] == list(GATES)


class _Cells(HTMLParser):
    """Every table cell's text, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_report_shows_each_gate_as_written(pytester: pytest.Pytester) -> None:
    run_gated(pytester, "-p", "no:html", "--sm-report-html=report.html")
    parser = _Cells()
    parser.feed((pytester.path / "report.html").read_text())
    assert all(gate in parser.cells for gate in GATES)
    assert not any("1e+08" in cell for cell in parser.cells)


def test_a_gate_built_in_code_is_shown_from_its_parts() -> None:
    assert str(Gate("auc", ">=", 0.92)) == "auc>=0.92"
    assert Gate("auc", ">=", 0.92, "auc >= 0.92") == Gate("auc", ">=", 0.92)
