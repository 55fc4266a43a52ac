"""Writing the report's human-readable documents at session end: the Markdown summary (to
`--sm-summary-md` and/or `$GITHUB_STEP_SUMMARY`) and the standalone HTML page (`--sm-report-html`).

A failure to write is kept on the report for the terminal summary, not raised: the paths were
checked at start-up, so one that fails now (a full disk) is news for the person reading the log.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

from pytest_smendpoint.reporting.html_report import html_page
from pytest_smendpoint.reporting.markdown import markdown_summary
from pytest_smendpoint.settings.paths import special_file_reason

STEP_SUMMARY = "job summary"
MARKDOWN = "markdown summary"
HTML = "html report"


def write_documents(report: Any, settings: Any, exit_status: int | None) -> Any:
    """The report with `documents` recording what was written where (or why not)."""
    written: list[tuple[str, str, str | None]] = []
    jobs = []
    if settings.summary_md_path or settings.step_summary_path:
        text = markdown_summary(report, exit_status)
        if settings.summary_md_path:
            jobs.append((MARKDOWN, settings.summary_md_path, text, False))
        if settings.step_summary_path:
            # GitHub documents $GITHUB_STEP_SUMMARY as a file every step appends to.
            jobs.append((STEP_SUMMARY, settings.step_summary_path, text, True))
    if settings.report_html_path:
        jobs.append((HTML, settings.report_html_path, html_page(report, exit_status), False))
    for what, path, text, append in jobs:
        try:
            append_text(path, text) if append else replace_text(path, text)
        except OSError as error:
            written.append((what, path, f"{type(error).__name__}: {error}"))
        else:
            written.append((what, path, None))
    return dataclasses.replace(report, documents=report.documents + tuple(written))


class NotARegularFileError(OSError):
    """The path became something a rename would destroy (a symbolic link, a FIFO, a device)
    after start-up checked it: nothing is written."""


def append_text(path: str, text: str) -> None:
    """Appended, never replaced. Opened without blocking, so a FIFO nobody reads fails at
    once (ENXIO) instead of holding the session's end; then written as usual."""
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    os.set_blocking(handle, True)
    with os.fdopen(handle, "a", encoding="utf-8") as stream:
        stream.write(text if text.endswith("\n") else text + "\n")


def replace_text(path: str, text: str) -> None:
    """Written whole or not at all: a CI step reading it never sees half a file. Only a regular
    file (or none) is replaced, checked again right before the rename (start-up checked too)."""
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(prefix=".sm-doc-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        problem = special_file_reason(path)
        if problem is not None:
            raise NotARegularFileError(f"{path} {problem}; not replaced")
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
