"""Report paths that are not regular files: refused at start-up (naming the option and where it
was set) and again by the writer right before it renames; nothing is ever replaced. The job
summary is appended to, never replaced, so a FIFO or a symbolic link there is used as it is."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_smendpoint.reporting.documents import (
    NotARegularFileError,
    append_text,
    replace_text,
)

NOT_REGULAR = "not a regular file: name a regular file or a new one"
OPTIONS = ("--sm-report", "--sm-summary-md", "--sm-report-html")


def usage_error(result: pytest.RunResult, message: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()
    assert f"ERROR: {message}" in result.stderr.lines, result.stderr.lines
    result.stdout.no_fnmatch_line("collected *")


def symlink_to_file(folder: Path) -> tuple[Path, str]:
    (folder / "target.txt").write_text("keep me\n")
    (folder / "node").symlink_to("target.txt")
    return folder / "node", "a symbolic link (to target.txt)"


def dangling_symlink(folder: Path) -> tuple[Path, str]:
    (folder / "node").symlink_to(folder / "nowhere")
    return folder / "node", f"a symbolic link (to {folder / 'nowhere'})"


def fifo(folder: Path) -> tuple[Path, str]:
    os.mkfifo(folder / "node")
    return folder / "node", "a FIFO (named pipe)"


def device(folder: Path) -> tuple[Path, str]:
    return Path("/dev/null"), "a character device"


MAKERS: dict[str, Callable[[Path], tuple[Path, str]]] = {
    "symlink": symlink_to_file,
    "dangling-symlink": dangling_symlink,
    "fifo": fifo,
    "device": device,
}


def snapshot(path: Path) -> tuple[int, int, str | None]:
    """What must not change: the node's type and inode, and a link's target."""
    info = os.lstat(path)
    target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    return stat.S_IFMT(info.st_mode), info.st_ino, target


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("kind", MAKERS)
def test_a_report_path_that_is_not_a_regular_file_is_a_usage_error(
    pytester: pytest.Pytester, option: str, kind: str
) -> None:
    path, described = MAKERS[kind](pytester.path)
    before = snapshot(path)
    pytester.makepyfile("def test_plain(sm_metrics):\n    sm_metrics.record('auc', 0.9)\n")
    usage_error(
        pytester.runpytest(f"{option}={path}"),
        f"{option}={path} (command line): is {described}, {NOT_REGULAR}",
    )
    assert snapshot(path) == before
    if kind == "symlink":
        assert (pytester.path / "target.txt").read_text() == "keep me\n"


@pytest.mark.parametrize("key", ["sm_report", "sm_summary_md", "sm_report_html"])
def test_an_ini_report_path_that_is_a_symlink_names_the_key_and_file(
    pytester: pytest.Pytester, key: str
) -> None:
    symlink_to_file(pytester.path)
    pytester.makeini(f"[pytest]\n{key} = node\n")
    usage_error(
        pytester.runpytest(),
        f"{key} = node in tox.ini: is a symbolic link (to target.txt), {NOT_REGULAR}",
    )
    assert os.path.islink(pytester.path / "node")


def test_a_regular_report_file_is_still_replaced(pytester: pytest.Pytester) -> None:
    (pytester.path / "report.json").write_text("old\n")
    pytester.makepyfile("def test_plain(sm_metrics):\n    sm_metrics.record('auc', 0.9)\n")
    pytester.runpytest("--sm-report=report.json").assert_outcomes(passed=1)
    assert '"auc"' in (pytester.path / "report.json").read_text()


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_the_writer_refuses_a_path_that_became_special_after_start_up(
    tmp_path: Path, kind: str
) -> None:
    path, described = MAKERS[kind](tmp_path)
    before = snapshot(path)
    with pytest.raises(NotARegularFileError) as refused:
        replace_text(str(path), "report\n")
    assert str(refused.value) == f"{path} is {described}, {NOT_REGULAR}; not replaced"
    assert snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["node", *(["target.txt"] if kind == "symlink" else [])]
    )  # no temporary file left behind


def test_a_report_that_cannot_be_written_is_kept_on_the_report_not_raised(
    pytester: pytest.Pytester,
) -> None:
    # Regular at start-up, a symbolic link by the session's end (a conftest swaps it).
    (pytester.path / "elsewhere.json").write_text("untouched\n")
    pytester.makepyfile(
        """
        import os

        def test_swap(sm_metrics):
            sm_metrics.record("auc", 0.9)
            os.remove("report.json")
            os.symlink("elsewhere.json", "report.json")
        """
    )
    (pytester.path / "report.json").write_text("")
    result = pytester.runpytest("--sm-report=report.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert os.path.islink(pytester.path / "report.json")
    assert (pytester.path / "elsewhere.json").read_text() == "untouched\n"
    result.stdout.fnmatch_lines(["*NotARegularFileError: *report.json is a symbolic link*"])


def test_the_job_summary_is_appended_through_a_symlink(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Appending replaces nothing; a runner may well link its summary file (chosen: followed).
    (pytester.path / "summary.md").write_text("earlier step\n")
    (pytester.path / "step").symlink_to("summary.md")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "step"))
    pytester.makepyfile("def test_plain(sm_metrics):\n    sm_metrics.record('auc', 0.9)\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert os.path.islink(pytester.path / "step")
    text = (pytester.path / "summary.md").read_text()
    assert text.startswith("earlier step\n") and "auc" in text


def test_a_job_summary_fifo_is_accepted_at_start_up_and_never_blocks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nobody reads the FIFO: opening it to write would block forever (start-up and session end).
    os.mkfifo(pytester.path / "summary")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary"))
    pytester.makepyfile("def test_plain(sm_metrics):\n    sm_metrics.record('auc', 0.9)\n")
    result = pytester.runpytest_subprocess(timeout=120)
    result.stdout.fnmatch_lines(["*1 passed*"])
    result.stdout.fnmatch_lines(["*job summary*No such device or address*"])
    assert stat.S_ISFIFO(os.lstat(pytester.path / "summary").st_mode)


def test_appending_to_a_fifo_with_a_reader_writes_the_text(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        append_text(str(path), "## smendpoint")
        assert os.read(reader, 100) == b"## smendpoint\n"
    finally:
        os.close(reader)
