"""--sm-summary-md (replaced atomically) and $GITHUB_STEP_SUMMARY (appended, as GitHub
documents it: a file every step appends to): the Markdown summary (reporting/markdown.py)."""

from __future__ import annotations

from pytest_smendpoint.reporting.documents import append_text, replace_text
from pytest_smendpoint.reporting.markdown import markdown_summary
from pytest_smendpoint.reporting.outlets import Moment, Outlet, with_document
from pytest_smendpoint.reporting.report import SessionReport

MARKDOWN = "markdown summary"
STEP_SUMMARY = "job summary"


class MarkdownSummary:
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport:
        settings = outlet.settings
        if outlet.moment is not Moment.SESSION_FINISH:
            return report
        if not (settings.summary_md_path or settings.step_summary_path):
            return report
        text = markdown_summary(report, outlet.exit_status)
        if settings.summary_md_path:
            report = with_document(report, MARKDOWN, settings.summary_md_path, text, replace_text)
        if settings.step_summary_path:
            report = with_document(
                report, STEP_SUMMARY, settings.step_summary_path, text, append_text
            )
        return report


WRITER = MarkdownSummary()
