"""A serverless endpoint served behind moto keeps SageMaker's serverless limits where a test can
see them: 4 MiB requests (HTTP 413 above), MaxConcurrency requests in flight (ThrottlingException
beyond, which botocore's retry modes retry), MemorySizeInMB as the model's memory, 3 minutes
for /ping at start, and the real-time 60 s per invocation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers.localsupport import FEATURES, REGION, Deployed, csv_rows, with_model
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving import model_process
from pytest_smendpoint.serving.invocation import InvokeResult
from pytest_smendpoint.settings import limits

SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 2}
ROW = b"0.10,1.20,3.300\n"  # 16 bytes: 4 MiB is a whole number of rows
LIMIT_ROWS = limits.SERVERLESS_PAYLOAD_CEILING_BYTES // len(ROW)
TOO_LARGE = "HTTP content length exceeded 4194304 bytes."
TWO_ROWS = csv_rows(FEATURES[:2])
# predict_fn holds a request whose first value is -5 until the test lets it go: it says it
# started (a file), then waits for another file.
HELD = """
import os, time

def predict_fn(data, model):
    if float(data[0][0]) == -5:
        folder = os.environ["HOLD_DIR"]
        open(os.path.join(folder, "started"), "w").close()
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(folder, "release")) and time.monotonic() < deadline:
            time.sleep(0.01)  # sleep-ok: a model that waits for the test
    return model.predict(data)
"""
GREEDY = """
import numpy as np

def predict_fn(data, model):
    if float(data[0][0]) < 0:
        held = np.empty(3 * 2**30, dtype=np.uint8)  # 3 GiB: more than MemorySizeInMB 2048
        held[::4096] = 1
    return model.predict(data)
"""
GREEDY_LOAD = """
import numpy as np

_HELD = []

def model_fn(model_dir):
    held = np.empty(3 * 2**30, dtype=np.uint8)  # 3 GiB while loading: over MemorySizeInMB 2048
    held[::4096] = 1
    _HELD.append(held)
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""
SLOW_LOAD = """
import time

def model_fn(model_dir):
    time.sleep(3)  # sleep-ok: a model that loads in 3 s
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def wait_for(path: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.01)  # sleep-ok: waiting for the model process, not moto


@pytest.fixture
def held(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    tmp_path: Path,
) -> Deployed:
    """A serverless endpoint of MaxConcurrency 1 whose model holds a -5 request."""
    return deploy(
        with_model(classifier, HELD),
        env={"HOLD_DIR": str(tmp_path)},
        serverless={"MemorySizeInMB": 2048, "MaxConcurrency": 1},
    )


def hold_one(runtime: Any, name: str, tmp_path: Path) -> tuple[threading.Thread, list[bytes]]:
    """One request in flight on `name`, held by its model until tmp_path/release exists."""
    answers: list[bytes] = []

    def call() -> None:
        body = b"-5,0,0\n-5,0,0\n"
        response = runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/csv")
        answers.append(response["Body"].read())

    thread = threading.Thread(target=call)
    thread.start()
    wait_for(tmp_path / "started")
    return thread, answers


def test_serverless_limits_are_sagemakers() -> None:
    assert limits.SERVERLESS_PAYLOAD_CEILING_BYTES == 4 * 1024 * 1024
    assert limits.SERVERLESS_STARTUP_TIMEOUT_SECONDS == 180
    assert limits.INVOCATION_TIMEOUT_SECONDS == 60


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_body_of_four_mib_is_answered_and_one_byte_more_is_http_413(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = deploy(with_model(regressor), serverless=SERVERLESS)
    body = ROW * LIMIT_ROWS
    assert len(body) == 4_194_304
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=body, ContentType="text/csv", Accept="text/csv"
    )
    assert len(response["Body"].read().split()) == LIMIT_ROWS
    invoked: list[Any] = []
    original = model_process.ModelProcesses.invoke

    def invoke(self: model_process.ModelProcesses, request: Any) -> InvokeResult:
        invoked.append(request)
        return original(self, request)

    monkeypatch.setattr(model_process.ModelProcesses, "invoke", invoke)
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.name, Body=body + b"\n", ContentType="text/csv"
        )
    error = raised.value.response
    assert error["Error"] == {"Code": "413", "Message": TOO_LARGE}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    assert invoked == []  # refused at the front door: the model never saw it


def test_an_instance_backed_endpoint_takes_more_than_four_mib(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
) -> None:
    endpoint = deploy(with_model(regressor))
    body = ROW * (LIMIT_ROWS + 1)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=body, ContentType="text/csv"
    )
    assert response["Body"].read()


def test_a_request_over_max_concurrency_is_throttled_as_sagemaker_throttles(
    held: Deployed, runtime: Any, tmp_path: Path
) -> None:
    thread, answers = hold_one(runtime, held.name, tmp_path)
    once = boto3.client(
        "sagemaker-runtime",
        region_name=REGION,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    try:
        with pytest.raises(ClientError) as raised:
            once.invoke_endpoint(EndpointName=held.name, Body=TWO_ROWS, ContentType="text/csv")
    finally:
        (tmp_path / "release").touch()
        thread.join(30)
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    assert str(raised.value) == (
        "An error occurred (ThrottlingException) when calling the InvokeEndpoint operation "
        "(reached max retries: 0): None"
    )
    assert len(answers) == 1  # the request in flight was served
    # Once it is done, the endpoint takes a request again.
    assert once.invoke_endpoint(EndpointName=held.name, Body=TWO_ROWS, ContentType="text/csv")


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_botocore_retries_a_throttled_request_until_it_is_served(
    held: Deployed, runtime: Any, tmp_path: Path, mode: str
) -> None:
    thread, answers = hold_one(runtime, held.name, tmp_path)
    retrying = boto3.client(
        "sagemaker-runtime",
        region_name=REGION,
        config=Config(retries={"mode": mode, "max_attempts": 10}),
    )
    throttled: list[int] = []

    def needs_retry(response: Any = None, attempts: int = 0, **kwargs: Any) -> None:
        # The first throttled answer lets the held request go: the retry then finds room.
        if response is not None and response[1].get("Error", {}).get("Code") == (
            "ThrottlingException"
        ):
            throttled.append(attempts)
            (tmp_path / "release").touch()

    retrying.meta.events.register_first("needs-retry.sagemaker-runtime.InvokeEndpoint", needs_retry)
    try:
        response = retrying.invoke_endpoint(
            EndpointName=held.name, Body=TWO_ROWS, ContentType="text/csv"
        )
    finally:
        (tmp_path / "release").touch()
        thread.join(30)
    assert throttled[0] == 1
    assert response["ResponseMetadata"]["RetryAttempts"] == len(throttled) >= 1
    assert response["Body"].read()
    assert len(answers) == 1


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_predict_fn_over_memory_size_fails_as_the_oom_killer_ends_it(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, GREEDY), serverless=SERVERLESS)
    assert runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=TWO_ROWS, ContentType="text/csv"
    )  # 2 GiB serves the model itself
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.name, Body=b"-1,0,0\n-1,0,0\n", ContentType="text/csv"
        )
    message = raised.value.response["OriginalMessage"]
    assert raised.value.response["OriginalStatusCode"] == 500
    assert "the model process was killed by SIGKILL during the call" in message
    assert (
        "out of memory: the serverless endpoint's MemorySizeInMB is 2048 (2147483648 bytes)"
        in message
    )
    # The same request fits an ml.m5.large (8 GiB).
    instance_backed = deploy(with_model(classifier, GREEDY))
    assert runtime.invoke_endpoint(
        EndpointName=instance_backed.name, Body=b"-1,0,0\n-1,0,0\n", ContentType="text/csv"
    )


def test_a_model_fn_over_memory_size_fails_the_endpoint(
    serving: LocalServing,
    sagemaker: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, GREEDY_LOAD), serverless=SERVERLESS)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert "was killed by SIGKILL while loading" in reason
    assert "out of memory: the serverless endpoint's MemorySizeInMB is 2048" in reason


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_serverless_model_gets_three_minutes_for_ping_whatever_the_sessions_bound(
    make_serving: Callable[..., LocalServing],
    sagemaker: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_serving(startup_timeout=600)
    monkeypatch.setattr(limits, "SERVERLESS_STARTUP_TIMEOUT_SECONDS", 1.0)  # 180 s, shortened
    endpoint = deploy(with_model(classifier, SLOW_LOAD), serverless=SERVERLESS)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "the model did not load within 1 s" in described["FailureReason"]


def test_a_serverless_invocation_is_cut_at_the_invocation_limit(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_process, "INVOKE_TIMEOUT", 1.0)  # 60 s, shortened
    endpoint = deploy(
        with_model(classifier, HELD), env={"HOLD_DIR": str(tmp_path)}, serverless=SERVERLESS
    )
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.name, Body=b"-5,0,0\n-5,0,0\n", ContentType="text/csv"
        )
    assert "did not answer within 1 s" in raised.value.response["OriginalMessage"]
    assert np.isfinite(
        float(
            runtime.invoke_endpoint(
                EndpointName=endpoint.name, Body=TWO_ROWS, ContentType="text/csv", Accept="text/csv"
            )["Body"]
            .read()
            .split()[0]
        )
    )
