"""The session report's outputs, one module each behind one interface, with a registry.

A writer is a module here with a `WRITER` object that has `write(report, outlet) -> report`
(reporting/outlets.py: what it writes to). This module is the registry only, light enough for
plugin.py to ask at every session's end whether there is a report at all (start-up cost).
Session end (reporting/session_end.py) calls every registered writer at each of its moments
(`Moment`); a writer does its part at the moments it serves and returns the report unchanged at
the others, or when the run did not ask for its output. A failure to write is kept on the
report (`write_error`, `documents`), never raised. A new format is one module here and one line
in `WRITERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.reporting.outlets import ReportWriter
    from pytest_smendpoint.settings.options import Settings


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


def registered() -> Iterator[ReportWriter]:
    """The writers of `WRITERS`, imported when session end first needs them."""
    for entry in WRITERS:
        writer: ReportWriter = importlib.import_module(f"{__name__}.{entry.module}").WRITER
        yield writer


def files_asked_for(settings: Settings) -> bool:
    """The run names a file for some writer (without importing any writer: start-up cost)."""
    return any(getattr(settings, entry.path_setting) for entry in WRITERS if entry.path_setting)


class Recorded(Protocol):
    """What the session recorded for its report (the plugin's SessionState)."""

    endpoints: list[EndpointRecord]
    invocation_stats: dict[str, Any]
    metrics: dict[str, float]
    worker_payloads: list[dict[str, Any]]
    comparisons: list[Any]
    transforms: list[Any]
    report: Any


def has_report(settings: Settings, recorded: Recorded) -> bool:
    """Anything to report: an endpoint, a metric, a worker's payload, a gate or a report file."""
    return bool(
        recorded.endpoints
        or recorded.transforms
        or recorded.metrics
        or recorded.worker_payloads
        or settings.gates
        or files_asked_for(settings)
    )
