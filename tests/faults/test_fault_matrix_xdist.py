"""The fault matrix under `pytest -n 2`, on the aws path against a moto server on 127.0.0.1:
the same 8 faults at the same 5 stages. They are injected where the work happens: in the
workers (creates, the wait, the tests) and in the controller (teardown: it alone deletes).
Whatever happens, nothing the run created is left, nothing else in the account is touched, and
no temporary folder of the plugin stays behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.aws_path import MotoServer
from helpers.faultkit import (
    FAULTS,
    INNER_CONFTEST,
    INNER_TEST,
    RUN_ARGS,
    STAGES,
    assert_only_preexisting_left,
    preexisting,
)

pytestmark = pytest.mark.slow  # 40 pytest -n 2 subprocess runs

# The controller deletes what the workers deployed: teardown faults go into its own clients
# (every client it makes copies botocore's builtin handlers), the rest into the workers'.
CONTROLLER_FAULTS = r"""

def pytest_configure(config):
    if STAGE == "teardown" and not hasattr(config, "workerinput"):
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.insert(0, ("before-send.sagemaker", handler))
"""
# The run's exit code, as without xdist except for signals. A SIGINT or SIGTERM that a worker
# receives (the fault signals its own process) interrupts that worker, and xdist reports the run
# as interrupted: 2. In the controller, at teardown, they are recorded as in a single process:
# the run ends 128 + the signal (130, 143). Signals to the controller or the process group are
# tests/faults/test_xdist_signals.py's.
WORKER_STAGES = ("model", "config", "wait", "tests")
EXPECTED_EXIT = {
    **{(fault, stage): 1 for fault in FAULTS for stage in STAGES},
    **{("interrupt", stage): 2 for stage in WORKER_STAGES},
    **{("sigterm", stage): 2 for stage in WORKER_STAGES},
    ("interrupt", "teardown"): 130,
    ("sigterm", "teardown"): 143,
    **{("throttle", stage): 0 for stage in STAGES},
    ("timeout", "tests"): 0,
    ("timeout", "teardown"): 0,
    ("exception", "teardown"): 0,
    ("failed", "teardown"): 0,
    ("delete_once", "teardown"): 0,
}
MATRIX = [pytest.param(f, s, id=f"{f}-{s}") for f in FAULTS for s in STAGES]


@pytest.mark.parametrize(("fault", "stage"), MATRIX)
def test_nothing_is_left_whatever_fails_wherever_under_xdist(
    pytester: pytest.Pytester,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fault: str,
    stage: str,
) -> None:
    before = preexisting(moto_server)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))  # the run's own: every folder it leaves shows
    monkeypatch.setenv("SM_FAULT", f"{fault}:{stage}")
    pytester.makeconftest(INNER_CONFTEST + CONTROLLER_FAULTS)
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        *RUN_ARGS,
        timeout=120,
    )
    assert_only_preexisting_left(moto_server, before, result.stdout.str())
    assert [p.name for p in temporary.iterdir() if "smendpoint" in p.name] == []
    assert result.ret == EXPECTED_EXIT[(fault, stage)], result.stdout.str()
