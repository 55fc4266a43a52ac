"""--sm-report: the JSON report (schema in reporting/report.py), written atomically."""

from __future__ import annotations

from pytest_smendpoint.reporting.outlets import Moment, Outlet
from pytest_smendpoint.reporting.report import SessionReport


class JsonFile:
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport:
        if outlet.moment is not Moment.SESSION_FINISH:
            return report
        return report.written(outlet.exit_status)  # a failure is kept as `write_error`


WRITER = JsonFile()
