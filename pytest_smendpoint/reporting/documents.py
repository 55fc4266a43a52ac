"""Writing the report's files: whole and atomically (`replace_text`), or appended
(`append_text`). The writers (reporting/writers/) keep what was written where, or why not, on
the report.

A failure to write is kept on the report for the terminal summary, not raised: the paths were
checked at start-up, so one that fails now (a full disk) is news for the person reading the log.
"""

from __future__ import annotations

import os
import tempfile

from pytest_smendpoint.settings.paths import special_file_reason


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
