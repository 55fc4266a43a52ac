"""The resource-kind table against botocore's own SageMaker service model, and the generic waiter
on a kind other than the endpoint (the transform job, which nothing creates yet)."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from pytest_smendpoint.aws.resources import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    KINDS,
    MODEL,
    TRANSFORM_JOB,
    ResourceKind,
)
from pytest_smendpoint.aws.waiting import Backoff, WaitStopped, wait_for
from pytest_smendpoint.errors import AwsCallError, DeployError

TABLE = (ENDPOINT, ENDPOINT_CONFIG, MODEL, TRANSFORM_JOB)


@pytest.fixture(scope="module")
def sagemaker() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@pytest.mark.parametrize("kind", TABLE, ids=lambda kind: kind.label)
def test_every_kind_names_calls_and_keys_sagemaker_has(sagemaker: Any, kind: ResourceKind) -> None:
    model = sagemaker.meta.service_model
    operations = set(model.operation_names)
    assert {kind.describe_operation, kind.delete_operation} <= operations
    for method in (kind.describe, kind.delete):
        assert callable(getattr(sagemaker, method))
    assert sagemaker.can_paginate(kind.paginator)
    described = model.operation_model(kind.describe_operation)
    assert kind.name_parameter in described.input_shape.members
    assert kind.arn_key in described.output_shape.members
    if kind.statuses is not None:
        assert kind.statuses.key in described.output_shape.members
    deleted = model.operation_model(kind.delete_operation)
    assert kind.name_parameter in deleted.input_shape.members
    listed = model.operation_model(kind.paginator.title().replace("_", ""))
    assert kind.list_items in listed.output_shape.members
    assert kind.cli == f"{_kebab(kind.delete_operation)} --{_kebab(kind.name_parameter)}"


def test_the_sweep_and_teardown_walk_a_sessions_endpoint_kinds_only() -> None:
    assert KINDS == (ENDPOINT, ENDPOINT_CONFIG, MODEL)
    assert TRANSFORM_JOB not in KINDS


class _Jobs:
    """DescribeTransformJob answering the given statuses in turn."""

    def __init__(self, *statuses: str, reason: str | None = None) -> None:
        self.statuses = list(statuses)
        self.reason = reason
        self.asked: list[str] = []

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
        self.asked.append(TransformJobName)
        described: dict[str, Any] = {"TransformJobStatus": self.statuses.pop(0)}
        if self.reason:
            described["FailureReason"] = self.reason
        return described


def test_the_generic_waiter_waits_for_a_transform_job_to_complete() -> None:
    jobs = _Jobs("InProgress", "InProgress", "Completed")
    seen: list[str] = []
    pauses: list[float] = []
    described = wait_for(
        jobs,
        TRANSFORM_JOB,
        "job",
        60,
        backoff=Backoff(first=1.0, factor=2.0, ceiling=3.0),
        clock=lambda: 0.0,
        sleep=pauses.append,
        on_status=lambda status, _elapsed: seen.append(status),
    )
    assert described == {"TransformJobStatus": "Completed"}
    assert seen == ["InProgress", "InProgress", "Completed"]
    assert pauses == [1.0, 2.0]
    assert jobs.asked == ["job"] * 3


def test_the_generic_waiter_reports_a_failed_transform_job_with_its_reason() -> None:
    jobs = _Jobs("Failed", reason="ClientError: no input")
    with pytest.raises(DeployError, match="'job' ended Failed: ClientError: no input"):
        wait_for(jobs, TRANSFORM_JOB, "job", 60, sleep=lambda _: None)


def test_the_generic_waiter_names_the_kind_when_a_stop_ends_it() -> None:
    from pytest_smendpoint.aws.signal_holding import stopping

    stopping.set()
    try:
        with pytest.raises(WaitStopped, match="^transform job 'job' still InProgress"):
            wait_for(_Jobs("InProgress"), TRANSFORM_JOB, "job", 60, sleep=lambda _: None)
    finally:
        stopping.clear()


def test_the_generic_waiter_quotes_the_kinds_describe_operation_on_an_error() -> None:
    from botocore.exceptions import ClientError

    class Missing:
        def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
            error = {"Error": {"Code": "ValidationException", "Message": "Could not find job"}}
            raise ClientError(error, "DescribeTransformJob")

    with pytest.raises(AwsCallError) as raised:
        wait_for(Missing(), TRANSFORM_JOB, "job", 60)
    assert str(raised.value) == (
        "DescribeTransformJob failed for transform job job: ValidationException: Could not find job"
    )


def test_a_kind_without_statuses_cannot_be_waited_for() -> None:
    with pytest.raises(ValueError, match="a model has no status to wait for"):
        wait_for(object(), MODEL, "m", 60)
