"""--sm-report-html, the standalone page, and the smendpoint section of pytest-html's report
(tables, inline SVG charts: reporting/html_report.py)."""

from __future__ import annotations

from pytest_smendpoint.reporting.documents import replace_text
from pytest_smendpoint.reporting.html_report import html_page, html_section
from pytest_smendpoint.reporting.outlets import Moment, Outlet, with_document
from pytest_smendpoint.reporting.report import SessionReport

HTML = "html report"


class HtmlReport:
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport:
        path = outlet.settings.report_html_path
        if outlet.moment is Moment.SESSION_FINISH and path:
            page = html_page(report, outlet.exit_status)
            return with_document(report, HTML, path, page, replace_text)
        if outlet.moment is Moment.PYTEST_HTML and outlet.html_postfix is not None:
            outlet.html_postfix.append(html_section(report, outlet.exit_status))
        return report


WRITER = HtmlReport()
