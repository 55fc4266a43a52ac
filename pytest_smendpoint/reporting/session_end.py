"""The session-end report flow: build the report from what the session recorded, check the
gates, and hand the report to every registered writer (reporting/writers/) at each moment of
the session's end: the junitxml properties, the files (JSON, Markdown, HTML), the terminal
section and pytest-html's. plugin.py calls these from its hooks; nothing here is a hook.

A missed gate or a report that could not be written fails the session (exit code 1) but never
raises: the rest of the session end still runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.reporting.outlets import Moment, Outlet
from pytest_smendpoint.reporting.writers import Recorded, has_report, registered

if TYPE_CHECKING:
    from pytest_smendpoint.reporting.report import SessionReport
    from pytest_smendpoint.settings.options import Settings


def session_report(
    session: pytest.Session, settings: Settings, recorded: Recorded
) -> SessionReport:
    """The report of this run; gates are checked only when tests ran (not --collect-only)."""
    from pytest_smendpoint.reporting.report import build_report

    report = build_report(
        recorded.endpoints,
        recorded.invocation_stats,
        recorded.metrics,
        worker_payloads=recorded.worker_payloads,
        report_path=settings.report_path,
        comparisons=recorded.comparisons,
        image_packages=settings.image_packages,
        transforms=recorded.transforms,
    )
    ran = session.testscollected > 0 and not session.config.option.collectonly
    return report.with_gates(settings.gates) if ran else report


def finish_report(session: pytest.Session, settings: Settings, recorded: Recorded) -> None:
    """A missed gate fails the session; the report's files are written whatever happened. An
    xdist worker hands its figures to the controller, which reports."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from pytest_smendpoint.reporting.report import worker_payload

        workeroutput["smendpoint"] = worker_payload(
            getattr(session.config, "workerinput", {}).get("workerid", "?"),
            recorded.endpoints,
            recorded.invocation_stats,
            recorded.metrics,
            recorded.comparisons,
            recorded.transforms,
        )
        return
    if not has_report(settings, recorded):
        return  # nothing was deployed, recorded or asked for: a suite that never used the plugin
    report = session_report(session, settings, recorded)
    if not report.gates_met:
        _fail(session)
    for writer in registered():  # each sees the exit status the writers before it left
        outlet = Outlet(Moment.SESSION_FINISH, settings, int(session.exitstatus))
        report = writer.write(report, outlet)
        if report.write_error or any(error for _, _, error in report.documents):
            _fail(session)
    recorded.report = report


def _fail(session: pytest.Session) -> None:
    """Exit code 1 for a run that would otherwise pass; a failed run keeps its own code."""
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def add_junit_properties(session: pytest.Session, settings: Settings, recorded: Recorded) -> None:
    """The report as --junitxml properties (after the last test: endpoints torn down)."""
    if not has_report(settings, recorded):
        return
    try:
        from _pytest.junitxml import xml_key  # private, hence guarded
    except ImportError:
        return
    xml = session.config.stash.get(xml_key, None)
    if xml is None:
        return
    report = session_report(session, settings, recorded)
    outlet = Outlet(Moment.TEST_LOOP_END, settings, int(session.exitstatus), junit_xml=xml)
    for writer in registered():
        report = writer.write(report, outlet)


def terminal_section(
    terminalreporter: Any, settings: Settings, report: SessionReport, exit_status: int
) -> None:
    """The report's part of the terminal summary."""
    outlet = Outlet(Moment.TERMINAL_SUMMARY, settings, exit_status, terminal=terminalreporter)
    for writer in registered():
        report = writer.write(report, outlet)


def html_results_summary(
    postfix: list[str], settings: Settings, report: SessionReport, exit_status: int
) -> None:
    """pytest-html's report gets the smendpoint section (tables, inline SVG charts)."""
    outlet = Outlet(Moment.PYTEST_HTML, settings, exit_status, html_postfix=postfix)
    for writer in registered():
        report = writer.write(report, outlet)
