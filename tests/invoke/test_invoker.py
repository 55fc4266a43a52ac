"""Sending: concurrency with results in row order, the per-row path, stats, AWS errors, retries."""

from __future__ import annotations

import dataclasses
import io
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.retries.standard
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber
from helpers.invoke_fakes import (
    FakeRuntime,
    Handle,
    LocalRuntimeServer,
    Rows,
    csv_answer,
    error_answer,
    parse_csv_body,
    row_sums,
)

from pytest_smendpoint import EndpointInvocationError, PredictionCountError
from pytest_smendpoint.invoke import invoker as invoker_module
from pytest_smendpoint.invoke.csv_payloads import CsvEncoder
from pytest_smendpoint.invoke.frame_checks import FrameRules, PreparedFrame, prepare
from pytest_smendpoint.invoke.invoker import InvocationStats, Invoker, make_runtime_client
from pytest_smendpoint.settings.options import InvokeSettings


def positions(n: int, start: int = 0) -> pd.DataFrame:
    """Rows whose first feature is their position, so any answer names the row it came from."""
    return pd.DataFrame({"pos": np.arange(start, start + n, dtype=float), "one": 1.0})


def test_results_follow_row_order_whatever_order_requests_finish(
    fake_runtime: type[FakeRuntime],
) -> None:
    rng = random.Random(5)
    runtime = fake_runtime(
        delay=lambda rows: time.sleep(rng.random() * 0.02)  # sleep-ok: fake endpoint
    )
    df = positions(2_000)
    df.index = pd.Index([f"r{i}" for i in range(2_000)])
    preds = Invoker(runtime, "ep", InvokeSettings(max_concurrency=8))(df, max_rows_per_request=37)
    assert len(runtime.calls) == 55
    assert preds.index.equals(df.index)
    assert preds.tolist() == [p + 1.0 for p in range(2_000)]


def test_requests_really_run_concurrently_up_to_the_limit(fake_runtime: type[FakeRuntime]) -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    def delay(rows: Rows) -> None:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)  # sleep-ok: a slow fake endpoint
        with lock:
            in_flight[0] -= 1

    Invoker(fake_runtime(delay=delay), "ep")(
        positions(40), max_rows_per_request=2, max_concurrency=3
    )
    assert peak[0] == 3


def test_next_chunk_is_encoded_while_earlier_payloads_are_in_flight(
    fake_runtime: type[FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded_rows: list[int] = []
    seen_at_first_call: list[int] = []
    original = CsvEncoder.encode

    def counting(self: CsvEncoder, start: int, stop: int) -> bytes:
        encoded_rows.append(stop)
        return original(self, start, stop)

    def delay(rows: Rows) -> None:
        if not seen_at_first_call:
            seen_at_first_call.append(max(encoded_rows))
        time.sleep(0.01)  # sleep-ok: a slow fake endpoint

    monkeypatch.setattr(CsvEncoder, "encode", counting)
    df = positions(200_000)
    Invoker(fake_runtime(delay=delay), "ep")(df, max_payload_bytes=50_000, max_concurrency=2)
    assert max(encoded_rows) == len(df)
    assert seen_at_first_call[0] < len(df) // 2  # sending began long before encoding ended


def test_rows_sends_one_record_per_request_without_newline(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": [0, 1, 0]}, index=[7, 8, 9])
    invoker = Invoker(runtime, "ep")
    preds = invoker.rows(df)
    assert sorted(runtime.bodies) == [b"1", b"2", b"3"]
    assert preds.index.equals(df.index) and preds.tolist() == [1.0, 2.0, 3.0]
    assert (invoker.stats.requests, invoker.stats.rows) == (3, 3)


def test_rows_reads_a_flat_list_as_one_rows_outputs(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime(
        answer=lambda rows: (f"[{rows[0][0]}, 0.5]".encode(), "application/json")
    )
    preds = Invoker(runtime, "ep").rows(pd.DataFrame({"a": [1.0, 2.0]}))
    assert preds.to_numpy().tolist() == [[1.0, 0.5], [2.0, 0.5]]


def test_rows_refuses_bad_input_like_the_batch_path(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    with pytest.raises(ValueError, match="NaN or missing values in columns 'a'"):
        Invoker(runtime, "ep").rows(pd.DataFrame({"a": [1.0, np.nan]}))
    assert runtime.calls == []


def test_stats_count_rows_requests_bytes_and_latencies(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime(delay=lambda rows: time.sleep(0.005))  # sleep-ok: a slow fake endpoint
    invoker = Invoker(runtime, "ep")
    invoker(positions(100), max_rows_per_request=30)
    invoker.rows(positions(3))
    stats = invoker.stats
    assert (stats.rows, stats.requests, stats.errors, stats.retries) == (103, 7, 0, 0)
    assert stats.bytes_sent == sum(len(body) for body in runtime.bodies)
    assert len(stats.latencies_ms) == 7 and min(stats.latencies_ms) >= 5.0
    p50, p95, p99, top = stats.p50, stats.p95, stats.p99, stats.max
    assert p50 is not None and p95 is not None and p99 is not None and top is not None
    assert p50 <= p95 <= p99 <= top == max(stats.latencies_ms)
    assert stats.summary().startswith("7 requests, 103 rows, 0.0 MB sent, 0 errors, 0 retries; ")


def test_stats_percentiles() -> None:
    stats = InvocationStats(latencies_ms=[float(v) for v in range(1, 101)])
    assert (stats.p50, stats.p95, stats.p99, stats.max) == (50.5, 95.05, 99.01, 100.0)
    assert InvocationStats().p50 is None and InvocationStats().max is None


def test_stats_count_failed_requests_as_errors(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime(answer=lambda rows: (b"1\n", "text/csv"))
    invoker = Invoker(runtime, "ep")
    with pytest.raises(PredictionCountError):
        invoker(positions(4), max_rows_per_request=2, max_concurrency=1)
    assert (invoker.stats.requests, invoker.stats.errors, invoker.stats.rows) == (1, 1, 0)


def stubbed_client() -> tuple[Any, Stubber]:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    client = make_runtime_client(session, InvokeSettings())
    return client, Stubber(client)


def test_model_error_names_rows_and_the_containers_message() -> None:
    client, stubber = stubbed_client()
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(b"3\n7\n"), 4), "ContentType": "text/csv"},
    )
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        http_status_code=424,
        service_message='Received server error (500) from primary with message "boom"',
        modeled_fields={
            "OriginalStatusCode": 500,
            "OriginalMessage": "ValueError: boom",
            "LogStreamArn": "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/x",
        },
    )
    invoker = Invoker(client, "ep")
    with stubber, pytest.raises(EndpointInvocationError) as info:
        invoker(positions(4), max_rows_per_request=2, max_concurrency=1)
    assert str(info.value) == (
        "InvokeEndpoint failed for endpoint 'ep', rows 2-3: ModelError (the container answered "
        "500): ValueError: boom (log stream arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/x)"
    )
    assert (info.value.code, info.value.rows, info.value.operation) == (
        "ModelError",
        "rows 2-3",
        "InvokeEndpoint",
    )
    assert (invoker.stats.requests, invoker.stats.errors, invoker.stats.rows) == (2, 1, 2)


def test_unknown_endpoint_error_is_wrapped_with_awss_reason() -> None:
    client, stubber = stubbed_client()
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        http_status_code=400,
        service_message="Endpoint ep of account 1 not found.",
    )
    with stubber, pytest.raises(EndpointInvocationError) as info:
        Invoker(client, "ep")(positions(1))
    assert str(info.value) == (
        "InvokeEndpoint failed for endpoint 'ep', row 0: "
        "ValidationError: Endpoint ep of account 1 not found."
    )


def test_make_runtime_client_uses_standard_retries_and_a_big_enough_pool() -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    client = make_runtime_client(session, InvokeSettings(max_concurrency=32))
    assert client.meta.service_model.service_name == "sagemaker-runtime"
    # botocore's max_attempts counts retries: 8 retries, 9 attempts in all.
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}
    assert client.meta.config.max_pool_connections == 32
    small = make_runtime_client(
        session, InvokeSettings(max_concurrency=2), config=Config(read_timeout=5)
    )
    assert small.meta.config.max_pool_connections == 10
    assert small.meta.config.read_timeout == 5


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard mode sleeps up to 1 s before retry 1: the test needs the retry, not the wait."""
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0
    )


def test_throttling_is_retried_by_standard_mode(
    local_server: Callable[[Handle], LocalRuntimeServer], no_backoff: None
) -> None:
    # Over real HTTP: botocore's Stubber answers before the retry loop, so it cannot show this.
    def handle(number: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if number < 2:
            return error_answer(400, "ThrottlingException", {"message": "Rate exceeded"})
        return csv_answer(body)

    server = local_server(handle)
    invoker = Invoker(server.client(InvokeSettings()), "ep")
    preds = invoker(positions(3))
    assert preds.tolist() == [1.0, 2.0, 3.0]
    assert len(server.requests) == 3
    assert (invoker.stats.requests, invoker.stats.retries, invoker.stats.errors) == (1, 2, 0)


def test_model_error_over_http_carries_the_containers_message(
    local_server: Callable[[Handle], LocalRuntimeServer],
) -> None:
    def handle(number: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert path == "/endpoints/my-ep/invocations"
        return error_answer(
            424,
            "ModelError",
            {
                "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
                "OriginalStatusCode": 400,
                "OriginalMessage": "bad input shape",
                "Message": (
                    'Received client error (400) from primary with message "bad input shape"'
                ),
            },
        )

    server = local_server(handle)
    with pytest.raises(EndpointInvocationError) as info:
        Invoker(server.client(InvokeSettings()), "my-ep")(positions(2))
    assert str(info.value) == (
        "InvokeEndpoint failed for endpoint 'my-ep', rows 0-1: ModelError "
        "(the container answered 400): bad input shape"
    )
    assert len(server.requests) == 1  # a ModelError is not retried


def test_answers_out_of_order_over_http_keep_row_order(
    local_server: Callable[[Handle], LocalRuntimeServer],
) -> None:
    """The first request is held until every later one has been answered."""
    total = 6
    later_answered = threading.Semaphore(0)
    finished: list[float] = []
    released = []

    def handle(number: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        first_row = parse_csv_body(body)[0][0]
        if first_row == 0.0:
            released.append(all(later_answered.acquire(timeout=10) for _ in range(total - 1)))
        answer = csv_answer(body)
        finished.append(first_row)
        if first_row != 0.0:
            later_answered.release()
        return answer

    server = local_server(handle)
    invoker = Invoker(server.client(InvokeSettings(max_concurrency=4)), "ep")
    df = positions(60)
    preds = invoker(df, max_rows_per_request=10)
    assert released == [True]
    assert finished[-1] == 0.0 and sorted(finished) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert preds.tolist() == row_sums(df.to_numpy().tolist())
    assert invoker.stats.requests == total


def test_stats_are_a_plain_record_the_report_can_copy(fake_runtime: type[FakeRuntime]) -> None:
    invoker = Invoker(fake_runtime(), "ep")
    invoker(positions(5), max_rows_per_request=2)
    copied = dataclasses.asdict(invoker.stats)
    assert {k: copied[k] for k in ("rows", "requests", "errors", "retries")} == {
        "rows": 5,
        "requests": 3,
        "errors": 0,
        "retries": 0,
    }
    assert len(copied["latencies_ms"]) == 3


def test_a_single_request_is_made_on_the_callers_thread(fake_runtime: type[FakeRuntime]) -> None:
    """No thread pool for one request: starting one cost more than a small call's own work."""
    threads: list[threading.Thread] = []
    runtime = fake_runtime(delay=lambda rows: threads.append(threading.current_thread()))
    invoker = Invoker(runtime, "ep")
    invoker(positions(10))
    invoker.rows(positions(1))
    assert threads == [threading.current_thread()] * 2
    threads.clear()
    invoker(positions(10), max_rows_per_request=5)
    assert len(threads) == 2 and all(t.name.startswith("sm-invoke") for t in threads)


def test_client_overhead_is_each_calls_time_with_no_request_in_flight(
    fake_runtime: type[FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])

    def slow_checks(df: object, rules: FrameRules) -> PreparedFrame:
        clock[0] += 0.003  # 3 ms of client work before any request
        return prepare(df, rules)

    def endpoint(rows: Rows) -> None:
        clock[0] += 0.050  # each request is in flight for 50 ms

    monkeypatch.setattr(invoker_module, "prepare", slow_checks)
    invoker = Invoker(fake_runtime(delay=endpoint), "ep")
    invoker(positions(4))
    invoker.rows(positions(2), max_concurrency=1)
    stats = invoker.stats
    assert stats.client_ms == pytest.approx([3.0, 3.0])
    assert stats.latencies_ms == pytest.approx([50.0, 50.0, 50.0])
    assert stats.client_percentile(50) == pytest.approx(3.0)
    assert stats.summary().endswith(
        "; latency ms p50 50.0, p95 50.0, p99 50.0, max 50.0; "
        "client ms per call p50 3.00, p95 3.00, max 3.00 (2 calls, 0.01 s in all)"
    )
    with pytest.raises(ValueError, match="NaN or missing"):
        invoker(pd.DataFrame({"a": [np.nan]}))
    assert len(stats.client_ms) == 3  # a refused call's checks count too
    assert dataclasses.asdict(stats)["client_ms"] == stats.client_ms


def test_overlapping_requests_count_once_as_waiting() -> None:
    covered = invoker_module._covered_ms
    assert covered([]) == 0.0
    assert covered([(0.0, 0.010), (0.005, 0.020), (0.030, 0.040)]) == pytest.approx(30.0)
    assert covered([(0.0, 0.050), (0.010, 0.020), (0.049, 0.051)]) == pytest.approx(51.0)
    assert covered([(0.030, 0.040), (0.0, 0.010)]) == pytest.approx(20.0)
