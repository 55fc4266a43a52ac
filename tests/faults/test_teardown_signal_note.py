"""A signal that arrives during teardown does not cut it short, but it sets the exit code
(128 + N): the session then says so, since nothing else would explain the exit code."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from pytest_smendpoint.endpoints.signals import SessionStopped, SignalGuard

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"


def test_a_signal_during_teardown_leaves_a_note_naming_it_and_the_exit_code() -> None:
    guard = SignalGuard()
    guard.finishing = True
    guard._handle(signal.SIGTERM, None)
    guard._handle(signal.SIGINT, None)  # a second one changes nothing
    assert guard.exit_code == 143
    assert guard.teardown_note() == (
        "smendpoint: SIGTERM arrived during teardown; teardown ran to its end, "
        "and the exit code is 143 (128 + SIGTERM)"
    )


def test_a_signal_that_stopped_the_run_leaves_no_teardown_note() -> None:
    guard = SignalGuard()
    with pytest.raises(SessionStopped):  # its own message says what happens
        guard._handle(signal.SIGHUP, None)
    guard.finishing = True
    guard._handle(signal.SIGTERM, None)  # during the teardown that follows
    assert guard.exit_code == 129
    assert guard.teardown_note() is None


def test_no_signal_no_note() -> None:
    assert SignalGuard().teardown_note() is None


@pytest.mark.slow  # a pytest subprocess that signals itself
@pytest.mark.parametrize(
    ("signum", "line"),
    [
        (
            signal.SIGTERM,
            "smendpoint: SIGTERM arrived during teardown; teardown ran to its end, "
            "and the exit code is 143 (128 + SIGTERM)",
        ),
        (
            signal.SIGINT,
            "smendpoint: SIGINT arrived during teardown; teardown ran to its end, "
            "and the exit code is 130 (128 + SIGINT)",
        ),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_run_signalled_during_teardown_says_why_its_exit_code_changed(
    pytester: pytest.Pytester, moto_server: Any, signum: int, line: str
) -> None:
    pytester.makeconftest(
        f"""
        import os

        def pytest_smendpoint_before_teardown(config, endpoint):
            os.kill(os.getpid(), {int(signum)})
        """
    )
    pytester.makepyfile("def test_deployed(sm_endpoint):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--sm-backend=aws", "--sm-model-data=s3://bucket/model.tar.gz",
        f"--sm-image-uri={IMAGE}", "--sm-role=arn:aws:iam::123456789012:role/r",
    )  # fmt: skip
    assert result.ret == 128 + signum
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*teardown deleted", line])
    assert moto_server.inventory().empty
