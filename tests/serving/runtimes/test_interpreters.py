"""Finding the image's Python here: a named interpreter, pythonX.Y on PATH (pyenv's shims answer
there without running), pyenv's versions, in that order; each candidate is asked its version."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pytest_smendpoint.serving.runtimes import interpreters


def fake_python(path: Path, prints: str, code: int = 0) -> Path:
    """An executable that answers the version probe as a Python of `prints` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {prints}\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture(autouse=True)
def _fresh_probes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    interpreters.probe.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_a_named_interpreter_wins_and_is_not_second_guessed(tmp_path: Path) -> None:
    named = fake_python(tmp_path / "mine" / "python", "3.9.7")
    fake_python(tmp_path / "bin" / "python3.9", "3.9.18")
    found = interpreters.find("3.9", {"3.9": str(named)})
    assert found == interpreters.Interpreter(str(named), "3.9.7")
    wrong = fake_python(tmp_path / "other" / "python", "3.10.1")
    assert interpreters.find("3.9", {"3.9": str(wrong)}) is None


def test_a_failing_shim_on_path_falls_through_to_pyenv(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.9", "pyenv: python3.9: command not found", code=127)
    fake_python(tmp_path / "pyenv" / "versions" / "3.9.2" / "bin" / "python3.9", "3.9.2")
    newest = fake_python(tmp_path / "pyenv" / "versions" / "3.9.18" / "bin" / "python3.9", "3.9.18")
    assert interpreters.find("3.9") == interpreters.Interpreter(str(newest), "3.9.18")


def test_nothing_found_is_none(tmp_path: Path) -> None:
    fake_python(tmp_path / "pyenv" / "versions" / "3.10.13" / "bin" / "python3.10", "3.10.13")
    assert interpreters.find("3.9") is None


def test_pyenv_is_found_beside_its_shims_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYENV_ROOT")
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere" / "shims"))
    python = fake_python(
        tmp_path / "elsewhere" / "versions" / "3.12.1" / "bin" / "python3.12", "3.12.1"
    )
    assert interpreters.find("3.12") == interpreters.Interpreter(str(python), "3.12.1")


def test_the_current_interpreter_is_this_one() -> None:
    here = interpreters.current()
    assert os.path.samefile(here.path, os.sys.executable)  # type: ignore[attr-defined]
