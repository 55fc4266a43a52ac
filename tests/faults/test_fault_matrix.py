"""Every fault at every stage, on the aws path against a moto server on 127.0.0.1: whatever
happens, nothing the session created is left and nothing else in the account is touched."""

from __future__ import annotations

import signal

import pytest
from helpers.aws_path import MotoServer
from helpers.faultkit import (
    EXPECTED_EXIT,
    FAULTS,
    INNER_CONFTEST,
    INNER_TEST,
    RUN_ARGS,
    STAGES,
    assert_only_preexisting_left,
    preexisting,
)

pytestmark = pytest.mark.slow  # 40 pytester runs


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry delays are real sleeps: zero them so retries cost nothing here."""
    import botocore.retries.standard
    import botocore.retryhandler

    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0
    )
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", lambda **kwargs: 0)


MATRIX = [pytest.param(f, s, id=f"{f}-{s}") for f in FAULTS for s in STAGES]


@pytest.mark.parametrize(("fault", "stage"), MATRIX)
def test_nothing_is_left_whatever_fails_wherever(
    pytester: pytest.Pytester,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
    no_backoff: None,
    fault: str,
    stage: str,
) -> None:
    before = preexisting(moto_server)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    monkeypatch.setenv("SM_FAULT", f"{fault}:{stage}")
    result = pytester.runpytest(
        *RUN_ARGS,
        "-p",
        "no:randomly",
        no_reraise_ctrlc=True,  # the inner run's Ctrl-C is the fault, not ours
    )
    assert_only_preexisting_left(moto_server, before, result.stdout.str())
    assert result.ret == EXPECTED_EXIT[(fault, stage)], result.stdout.str()
    # The plugin's signal handlers are gone again: the outer run has its own back.
    assert {s: signal.getsignal(s) for s in handlers} == handlers
