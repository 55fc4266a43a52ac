"""`smendpoint-cache list | clear` says where the caches live and how large they are, and
evicts them (an unpinned requirement otherwise stays at its first version forever)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_smendpoint.serving import cache_cli


def test_list_then_clear_the_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTEST_SMENDPOINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTEST_SMENDPOINT_RUNTIME_CACHE", str(tmp_path / "runtimes"))
    installed = tmp_path / "cache" / "requirements" / "0123abcd"
    installed.mkdir(parents=True)
    (installed / "module.py").write_bytes(b"x" * 2500)
    assert cache_cli.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert f"requirements: {tmp_path / 'cache' / 'requirements'} (1 entries, 2.5 KB)" in listed
    assert f"runtimes: {tmp_path / 'runtimes'} (empty)" in listed
    assert cache_cli.main(["clear", "--only", "requirements"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not installed.exists()


def test_the_console_script_is_declared() -> None:
    from importlib.metadata import entry_points

    [script] = [e for e in entry_points(group="console_scripts") if e.name == "smendpoint-cache"]
    assert script.value == "pytest_smendpoint.serving.cache_cli:main"
