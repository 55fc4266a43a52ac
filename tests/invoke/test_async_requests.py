"""One asynchronous request as the invoker sends it (invoke/async_invocations.py), against a
mocked S3 and a fake runtime, on a fake clock: the wait is bounded by InvocationTimeoutSeconds
(plus the grace), and every object the request wrote or was told of is deleted, or left for the
session's end when it may still appear."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
import pytest
from helpers.fake_clock import FakeClock
from moto import mock_aws

from pytest_smendpoint.invoke.async_invocations import AsyncRequests
from pytest_smendpoint.invoke.errors import EndpointInvocationError, InvokeArgumentError
from pytest_smendpoint.invoke.invoker import Invoker

BUCKET = "sagemaker-us-east-1-123456789012"
PREFIX = f"s3://{BUCKET}/pytest-smendpoint/s1/async/ep/"


class FakeAsyncRuntime:
    """InvokeEndpointAsync that answers with locations, and writes `answer` to one of them
    (the output, the failure, or neither: a request that never completes)."""

    def __init__(self, s3: Any, answer: str | None, body: bytes = b"[1, 2]") -> None:
        self.s3 = s3
        self.answer = answer
        self.body = body
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint_async(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        number = len(self.calls)
        output = f"{PREFIX}output/r{number}.out"
        failure = f"{PREFIX}failures/r{number}-error.out"
        if self.answer is not None:
            where = output if self.answer == "output" else failure
            self.s3.put_object(
                Bucket=BUCKET,
                Key=where.split(f"{BUCKET}/")[1],
                Body=self.body,
                ContentType="application/json",
            )
        return {"InferenceId": f"r{number}", "OutputLocation": output, "FailureLocation": failure}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def requests(s3: Any, clock: FakeClock, timeout: int = 5) -> AsyncRequests:
    return AsyncRequests(
        s3=s3,
        input_prefix=lambda: f"{PREFIX}input",
        invocation_timeout=timeout,
        pause=lambda inference_id, seconds: clock.sleep(seconds),
        clock=clock,
        grace=2.0,
    )


FRAME = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})


def test_the_output_objects_answer_is_the_prediction_and_every_object_goes(s3: Any) -> None:
    clock = FakeClock()
    made = requests(s3, clock)
    runtime = FakeAsyncRuntime(s3, "output")
    invoker = Invoker(runtime, "ep", asynchronous=made)  # type: ignore[arg-type]
    assert invoker(FRAME).tolist() == [1, 2]
    [call] = runtime.calls
    assert call["InputLocation"].startswith(f"{PREFIX}input/")
    assert (call["ContentType"], call["InvocationTimeoutSeconds"]) == ("text/csv", 5)
    assert keys(s3) == [] and made.leftovers == []
    assert clock.sleeps == []  # answered at the first look


def test_a_request_never_answered_ends_at_the_timeout_and_leaves_nothing(s3: Any) -> None:
    clock = FakeClock()
    made = requests(s3, clock, timeout=5)
    invoker = Invoker(FakeAsyncRuntime(s3, None), "ep", asynchronous=made)  # type: ignore[arg-type]
    with pytest.raises(EndpointInvocationError) as caught:
        invoker(FRAME)
    assert "InvocationTimeoutSeconds=5" in str(caught.value)
    assert str(caught.value).startswith("InvokeEndpointAsync failed for endpoint 'ep', rows 0-1")
    assert sum(clock.sleeps) == pytest.approx(7.0)  # the timeout and the grace, no more
    assert keys(s3) == []  # the input is deleted at once
    # What may still be written later is deleted with the session's uploads.
    assert made.leftovers == [f"{PREFIX}output/r1.out", f"{PREFIX}failures/r1-error.out"]
    assert invoker.stats.timeouts == 1 and invoker.stats.errors == 1


def test_a_failure_object_is_the_error_and_is_deleted(s3: Any) -> None:
    clock = FakeClock()
    made = requests(s3, clock)
    runtime = FakeAsyncRuntime(s3, "failure", b"the container's own words")
    invoker = Invoker(runtime, "ep", asynchronous=made)  # type: ignore[arg-type]
    with pytest.raises(EndpointInvocationError) as caught:
        invoker(FRAME)
    assert "AsyncInferenceFailure: the container's own words (failure object " in str(caught.value)
    assert keys(s3) == [] and made.leftovers == []


def test_the_payload_budget_goes_up_to_the_async_limit(s3: Any) -> None:
    made = requests(s3, FakeClock())
    invoker = Invoker(FakeAsyncRuntime(s3, "output"), "ep", asynchronous=made)  # type: ignore[arg-type]
    assert invoker(FRAME, max_payload_bytes=500_000_000).tolist() == [1, 2]
    with pytest.raises(InvokeArgumentError, match="InvokeEndpointAsync limit"):
        invoker(FRAME, max_payload_bytes=1_000_000_001)


class SlowAnswer:
    """The pause of a request whose output appears once the fake clock reaches `at` seconds."""

    def __init__(self, s3: Any, clock: FakeClock, at: float) -> None:
        self.s3, self.clock, self.at = s3, clock, at

    def __call__(self, inference_id: str, seconds: float) -> None:
        self.clock.sleep(seconds)
        if self.clock.now >= self.at:
            key = f"pytest-smendpoint/s1/async/ep/output/{inference_id}.out"
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"[1, 2]")


def test_a_long_wait_has_a_progress_line_that_ends_with_the_request(s3: Any) -> None:
    clock = FakeClock()
    shown: list[tuple[str, str, str, str, float]] = []

    def progress(endpoint: str, inference_id: str, rows: str) -> Any:
        return lambda status, elapsed: shown.append((endpoint, inference_id, rows, status, elapsed))

    made = requests(s3, clock, timeout=60)
    made.pause = SlowAnswer(s3, clock, at=9.0)
    made.progress = progress
    invoker = Invoker(FakeAsyncRuntime(s3, None), "ep", asynchronous=made)  # type: ignore[arg-type]
    assert invoker(FRAME).tolist() == [1, 2]
    statuses = [item[3] for item in shown]
    assert statuses[-1] == "Completed" and set(statuses[:-1]) == {"InProgress"}
    assert shown[0][:3] == ("ep", "r1", "rows 0-1") and shown[0][4] >= 5.0
    assert keys(s3) == []


def test_the_progress_line_names_the_request_and_its_rows() -> None:
    from pytest_smendpoint.reporting.progress import AsyncRequestProgress, DeployProgress

    lines: list[str] = []

    class Writer:
        def ensure_newline(self) -> None: ...

        def rewrite(self, line: str, **markup: bool) -> None: ...

        def write(self, content: str, **markup: bool) -> None: ...

        def write_line(self, line: str, **markup: bool) -> None:
            lines.append(line)

    base = DeployProgress(Writer(), tty=False)
    progress = AsyncRequestProgress(base, "ep", "r1", "rows 0-149")
    progress("InProgress", 6.2)
    progress("Completed", 9.0)
    assert lines == [
        "smendpoint: asynchronous request r1 to endpoint ep InProgress after 6 s (rows 0-149)",
        "smendpoint: asynchronous request r1 to endpoint ep Completed after 9 s (rows 0-149)",
    ]


def test_a_stop_signal_ends_the_wait_and_leaves_nothing_but_the_late_objects(s3: Any) -> None:
    """The library's pause (api.make_invoker's) ends on the session's stop event, as the deploy
    and transform waits do; the input is deleted, the locations left for the session's end."""
    from pytest_smendpoint.api import _async_requests
    from pytest_smendpoint.aws.signal_holding import stopping
    from pytest_smendpoint.aws.waiting import WaitStopped
    from pytest_smendpoint.settings.endpoint_kinds import AsyncSettings
    from pytest_smendpoint.settings.options import Settings

    made = _async_requests(
        boto3.Session(region_name="us-east-1"), Settings(), "ep", AsyncSettings(True), None, "s1"
    )
    made.s3 = s3
    made.input_prefix = lambda: f"{PREFIX}input"
    invoker = Invoker(FakeAsyncRuntime(s3, None), "ep", asynchronous=made)  # type: ignore[arg-type]
    stopping.set()
    try:
        with pytest.raises(WaitStopped, match="asynchronous request 'r1' still InProgress"):
            invoker(FRAME)
    finally:
        stopping.clear()
    assert keys(s3) == []
    assert made.leftovers == [f"{PREFIX}output/r1.out", f"{PREFIX}failures/r1-error.out"]
