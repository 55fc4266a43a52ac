"""Helpers for the settings tests: every run is an in-process pytester run of the plugin as a
user has it (loaded through its `pytest11` entry point), so none of them starts a backend."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

UsageErrorCheck = Callable[..., None]


@pytest.fixture(autouse=True)
def _no_pytest_addopts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's PYTEST_ADDOPTS (say `--sm-backend=aws`) must not leak into the inner runs."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


def fnmatch_literal(text: str) -> str:
    """`text` as an fnmatch pattern matching only itself (messages quote regexes: `[a-z]`, `*`)."""
    return re.sub(r"[\[*?]", lambda match: f"[{match.group()}]", text)


@pytest.fixture
def assert_usage_error() -> UsageErrorCheck:
    """Check that a run stopped with a usage error whose whole stderr line is `ERROR: message`
    (with `pattern=True`, `message` is an fnmatch pattern instead of literal text), before any
    test ran, and, unless `at_collection`, before anything was collected."""

    def check(
        result: pytest.RunResult,
        message: str,
        *,
        pattern: bool = False,
        at_collection: bool = False,
    ) -> None:
        assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()
        line = message if pattern else fnmatch_literal(message)
        result.stderr.fnmatch_lines([f"ERROR: {line}"])
        result.stdout.no_fnmatch_line("*PASSED*")
        result.stdout.no_fnmatch_line("* passed*")
        if at_collection:
            result.stdout.fnmatch_lines(["collected *"])
        else:
            result.stdout.no_fnmatch_line("collected *")

    return check
