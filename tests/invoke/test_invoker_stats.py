"""The invoker's counters tell the truth about failures: retries of requests that failed in
the end are counted, and requests cut at the invocation bound are counted as timeouts (their
latencies measure the bound, not the model)."""

from __future__ import annotations

from collections.abc import Callable

import botocore.retries.standard
import pandas as pd
import pytest
from helpers.invoke_fakes import Handle, LocalRuntimeServer, error_answer

from pytest_smendpoint import EndpointInvocationError
from pytest_smendpoint.invoke.invoker import Invoker
from pytest_smendpoint.settings.options import InvokeSettings


def positions(n: int) -> pd.DataFrame:
    return pd.DataFrame({"label": [0.0] * n, "a": [float(i) for i in range(n)]})


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0
    )


def test_retries_of_a_request_that_failed_in_the_end_are_counted(
    local_server: Callable[[Handle], LocalRuntimeServer], no_backoff: None
) -> None:
    server = local_server(
        lambda number, path, body: error_answer(
            400, "ThrottlingException", {"message": "Rate exceeded"}
        )
    )
    invoker = Invoker(server.client(InvokeSettings()), "ep")
    with pytest.raises(EndpointInvocationError):
        invoker(positions(3))
    attempts = len(server.requests)
    assert attempts > 1
    stats = invoker.stats
    assert (stats.requests, stats.errors, stats.retries) == (1, 1, attempts - 1)


def test_requests_cut_at_the_invocation_bound_are_counted_as_timeouts(
    local_server: Callable[[Handle], LocalRuntimeServer],
) -> None:
    def handle(number: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return error_answer(
            424,
            "ModelError",
            {
                "OriginalStatusCode": 500,
                "OriginalMessage": "the model did not answer within 60 s (50.0 s of it waiting "
                "for a free model process)",
                "Message": "Received server error (500) from primary",
            },
        )

    server = local_server(handle)
    invoker = Invoker(server.client(InvokeSettings()), "ep")
    with pytest.raises(EndpointInvocationError):
        invoker(positions(2))
    assert (invoker.stats.errors, invoker.stats.timeouts, invoker.stats.retries) == (1, 1, 0)
    assert "1 errors, 0 retries, 1 timeouts" in invoker.stats.summary()
