"""The report as --junitxml testsuite properties (smendpoint.<endpoint>.<figure>). Written at
the end of the test loop: the junitxml plugin writes its file before pytest_sessionfinish."""

from __future__ import annotations

from pytest_smendpoint.reporting.outlets import Moment, Outlet
from pytest_smendpoint.reporting.report import SessionReport


class JunitProperties:
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport:
        xml = outlet.junit_xml
        if outlet.moment is Moment.TEST_LOOP_END and hasattr(xml, "add_global_property"):
            for name, value in report.junit_properties():
                xml.add_global_property(name, value)
        return report


WRITER = JunitProperties()
