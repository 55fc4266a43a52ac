"""The session report's outputs, one module each behind one interface, with a registry.

A writer is a module here with a `WRITER` object that has `write(report, outlet) -> report`.
Session end (reporting/session_end.py) calls every registered writer at each of its moments
(`Moment`); a writer does its part at the moments it serves and returns the report unchanged at
the others, or when the run did not ask for its output. A failure to write is kept on the
report (`write_error`, `documents`), never raised. A new format is one module here and one line
in `WRITERS`.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pytest_smendpoint.reporting.report import SessionReport
    from pytest_smendpoint.settings.options import Settings


class Moment(enum.Enum):
    """When session end writes, each moment with pytest's own output at hand."""

    TEST_LOOP_END = "test loop end"  # before junitxml writes its file: `outlet.junit_xml`
    SESSION_FINISH = "session finish"  # gates checked; the report's files
    TERMINAL_SUMMARY = "terminal summary"  # `outlet.terminal`, the terminal reporter
    PYTEST_HTML = "pytest-html summary"  # `outlet.html_postfix`, pytest-html's section list


@dataclass(frozen=True)
class Outlet:
    """What a writer may write to at this moment, and what the run asked for."""

    moment: Moment
    settings: Settings
    exit_status: int
    junit_xml: Any = None
    terminal: Any = None
    html_postfix: list[str] | None = None


@dataclass(frozen=True)
class Registered:
    """A writer module of this package, and the Settings field naming its file (None: not a
    file); a run that sets that field has a report even if it deployed nothing."""

    module: str
    path_setting: str | None = None


# The registry, called in this order at every moment.
WRITERS = (
    Registered("junit"),  # --junitxml: testsuite properties
    Registered("json_file", "report_path"),  # --sm-report: the JSON report, fixed schema
    Registered("markdown", "summary_md_path"),  # --sm-summary-md and $GITHUB_STEP_SUMMARY
    Registered("html", "report_html_path"),  # --sm-report-html, and pytest-html's section
    Registered("terminal"),  # the `smendpoint` section of the terminal summary
)


class ReportWriter(Protocol):
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport: ...


def registered() -> Iterator[ReportWriter]:
    """The writers of `WRITERS`, imported when session end first needs them."""
    for entry in WRITERS:
        writer: ReportWriter = importlib.import_module(f"{__name__}.{entry.module}").WRITER
        yield writer


def files_asked_for(settings: Settings) -> bool:
    """The run names a file for some writer (without importing any writer: start-up cost)."""
    return any(getattr(settings, entry.path_setting) for entry in WRITERS if entry.path_setting)


def with_document(
    report: SessionReport, what: str, path: str, text: str, write: Callable[[str, str], None]
) -> SessionReport:
    """The report with `documents` recording that `what` was written to `path` (or why not)."""
    entry: tuple[str, str, str | None]
    try:
        write(path, text)
    except OSError as error:
        entry = (what, path, f"{type(error).__name__}: {error}")
    else:
        entry = (what, path, None)
    return dataclasses.replace(report, documents=(*report.documents, entry))
