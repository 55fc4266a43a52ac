"""SageMaker's 6 MiB real-time body limit, kept by the local serving as the real service keeps it:
HTTP 413 before the model sees the request, not retried, for plain boto3 clients and the SDK."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers.localsupport import FEATURES, REGION, Deployed, with_model
from sklearn.linear_model import LinearRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.invoke import csv_payloads
from pytest_smendpoint.serving.invocation import InvokeResult
from pytest_smendpoint.settings.limits import PAYLOAD_CEILING_BYTES

ROW = b"0.1,1.2,3.3\n"  # FEATURES[0] as CSV: 12 bytes, and 6 MiB / 12 is a whole number of rows
LIMIT_ROWS = PAYLOAD_CEILING_BYTES // len(ROW)
MESSAGE = "HTTP content length exceeded 6291456 bytes."


@pytest.fixture
def endpoint(
    serving: LocalServing, deploy: Callable[..., Deployed], regressor: LinearRegression
) -> str:
    deployed = deploy(with_model(regressor))
    serving.endpoint_created(deployed.name)
    return deployed.name


def test_limit_is_sagemakers_six_mib_in_one_place_for_client_and_serving() -> None:
    assert PAYLOAD_CEILING_BYTES == 6 * 1024 * 1024 == LIMIT_ROWS * len(ROW)
    assert csv_payloads.PAYLOAD_CEILING_BYTES is PAYLOAD_CEILING_BYTES


def test_body_of_exactly_six_mib_is_answered_by_the_model(
    runtime: Any, endpoint: str, regressor: LinearRegression
) -> None:
    body = ROW * LIMIT_ROWS
    assert len(body) == 6_291_456
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType="text/csv", Accept="text/csv"
    )
    answers = np.array(response["Body"].read().split(), dtype=np.float64)
    assert len(answers) == LIMIT_ROWS
    # The container decodes CSV to float32.
    assert np.array_equal(np.unique(answers), regressor.predict(FEATURES[:1].astype(np.float32)))


@pytest.mark.slow  # over 1.5 s: not in the quick loop
@pytest.mark.parametrize("retries", [None, "legacy", "standard"])
def test_body_one_byte_over_six_mib_is_http_413_and_not_retried(
    serving: LocalServing, endpoint: str, retries: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(retries={"mode": retries}) if retries else None
    runtime = boto3.client("sagemaker-runtime", region_name=REGION, config=config)
    body = ROW * (LIMIT_ROWS - 1) + b"0.1,1.2,3.35\n"
    assert len(body) == 6_291_457
    invoked: list[tuple[Any, ...]] = []
    original = serving.invoke

    def invoke(*args: Any) -> tuple[InvokeResult, str]:
        invoked.append(args)
        return original(*args)

    monkeypatch.setattr(serving, "invoke", invoke)
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/csv")
    error = raised.value.response
    assert error["Error"] == {"Code": "413", "Message": MESSAGE}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    assert str(raised.value) == (
        f"An error occurred (413) when calling the InvokeEndpoint operation: {MESSAGE}"
    )
    assert invoked == []  # refused at the front door: the model never saw it


def test_oversized_body_is_refused_before_the_endpoint_is_looked_up(runtime: Any) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(
            EndpointName="never-created", Body=b"1" * 7_000_000, ContentType="text/csv"
        )
    assert raised.value.response["Error"] == {"Code": "413", "Message": MESSAGE}
