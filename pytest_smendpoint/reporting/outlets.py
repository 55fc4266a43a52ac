"""What a report writer (reporting/writers/) writes to at each moment of the session's end,
and how it records a document it wrote (or why it could not)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
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


class ReportWriter(Protocol):
    def write(self, report: SessionReport, outlet: Outlet) -> SessionReport: ...


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
