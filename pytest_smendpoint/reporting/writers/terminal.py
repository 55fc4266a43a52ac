"""The `smendpoint` section of the terminal summary, when there is anything to show."""

from __future__ import annotations

from pytest_smendpoint.reporting.outlets import Moment, Outlet
from pytest_smendpoint.reporting.report import SessionReport


class TerminalSummary:
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport:
        reporter = outlet.terminal
        if outlet.moment is not Moment.TERMINAL_SUMMARY or reporter is None:
            return report
        if (
            report.endpoints
            or report.transforms
            or report.metrics
            or report.gates
            or report.documents
        ):
            reporter.section("smendpoint")
            for line, red in report.summary_lines():
                reporter.write_line(line, red=red)
        return report


WRITER = TerminalSummary()
