"""sm_invoke on a serverless endpoint: payloads budgeted to 4 MB (the session's default budget
clamped to it, a larger one asked for per call refused) and no more requests in flight than the
endpoint's MaxConcurrency (more would only be throttled)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from helpers.invoke_fakes import FakeRuntime, Rows

from pytest_smendpoint.invoke.errors import InvokeArgumentError
from pytest_smendpoint.invoke.invoker import Invoker
from pytest_smendpoint.settings.endpoint_kinds import ServerlessSettings
from pytest_smendpoint.settings.limits import SERVERLESS_PAYLOAD_BUDGET_BYTES
from pytest_smendpoint.settings.options import InvokeSettings

SERVERLESS = ServerlessSettings(memory_mb=2048, max_concurrency=2)


def wide(rows: int) -> pd.DataFrame:
    """About 200 bytes of CSV per row."""
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.random((rows, 10)) * 1e6, columns=[f"f{i}" for i in range(10)])


def test_a_session_budget_over_four_mb_is_clamped_on_a_serverless_endpoint() -> None:
    df = wide(60_000)  # about 12 MB of CSV
    session = InvokeSettings(max_payload_bytes=5_000_000)  # e.g. --sm-max-payload-mb=5
    serverless, instances = FakeRuntime(), FakeRuntime()
    Invoker(serverless, "ep", session, SERVERLESS)(df)
    Invoker(instances, "ep", session)(df)
    assert SERVERLESS_PAYLOAD_BUDGET_BYTES == 4_000_000
    assert max(map(len, serverless.bodies)) <= 4_000_000 < max(map(len, instances.bodies))
    assert sum(map(len, serverless.bodies)) == sum(map(len, instances.bodies))


def test_a_larger_payload_asked_for_a_serverless_endpoint_is_refused() -> None:
    invoker = Invoker(FakeRuntime(), "ep", InvokeSettings(), SERVERLESS)
    with pytest.raises(InvokeArgumentError) as raised:
        invoker(wide(10), max_payload_bytes=5_000_000)
    assert str(raised.value) == (
        "max_payload_bytes=5000000: must be above 0 and at most 4000000 "
        "(a serverless endpoint's 4 MB limit)"
    )


def test_requests_in_flight_stay_within_max_concurrency() -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    def delay(rows: Rows) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)  # sleep-ok: a slow fake endpoint
        with lock:
            in_flight[0] -= 1

    invoker = Invoker(FakeRuntime(delay=delay), "ep", InvokeSettings(max_concurrency=8), SERVERLESS)
    invoker(wide(40), max_rows_per_request=2)
    assert peak[0] == 2
