"""SageMaker Batch Transform jobs: create one from a plan, wait for it to end (the generic waiter,
with the job's FailureReason and the tail of its CloudWatch log on failure), stop one that is
still running. A job runs a model (models.py) over S3 objects; it knows nothing of endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.diagnostics import last_log_lines
from pytest_smendpoint.aws.resources import TRANSFORM_JOB, checked_call, describe, is_gone
from pytest_smendpoint.aws.waiting import DEFAULT_BACKOFF, Backoff, wait_for
from pytest_smendpoint.errors import TransformJobError


@dataclass(frozen=True)
class TransformJobPlan:
    """What CreateTransformJob is given (None: SageMaker's or the container's own default)."""

    name: str
    model_name: str
    input_prefix: str  # s3://bucket/prefix/: every object under it is input
    output_path: str  # s3://bucket/prefix: `<input key relative to the prefix>.out` objects
    instance_type: str
    instance_count: int
    content_type: str = "text/csv"
    accept: str = "text/csv"
    batch_strategy: str = "MultiRecord"
    max_concurrent: int | None = None
    max_payload_mb: int | None = None
    invocation_timeout: int | None = None
    invocation_retries: int | None = None
    tags: Sequence[dict[str, str]] = ()

    def request(self) -> dict[str, Any]:
        """The CreateTransformJob parameters: lines in (SplitType Line), lines out (AssembleWith
        Line), so each output line is the answer to the input line at the same place."""
        request: dict[str, Any] = {
            "TransformJobName": self.name,
            "ModelName": self.model_name,
            "BatchStrategy": self.batch_strategy,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.input_prefix}
                },
                "ContentType": self.content_type,
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": self.output_path,
                "Accept": self.accept,
                "AssembleWith": "Line",
            },
            "TransformResources": {
                "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count,
            },
            "Tags": list(self.tags),
        }
        if self.max_concurrent is not None:
            request["MaxConcurrentTransforms"] = self.max_concurrent
        if self.max_payload_mb is not None:
            request["MaxPayloadInMB"] = self.max_payload_mb
        client_config = {
            key: value
            for key, value in (
                ("InvocationsTimeoutInSeconds", self.invocation_timeout),
                ("InvocationsMaxRetries", self.invocation_retries),
            )
            if value is not None
        }
        if client_config:
            request["ModelClientConfig"] = client_config
        return request


def create_transform_job(sagemaker: Any, plan: TransformJobPlan) -> Any:
    """CreateTransformJob (AwsCallError with SageMaker's reason on failure)."""
    return checked_call(
        "CreateTransformJob",
        f"{TRANSFORM_JOB.label} {plan.name}",
        sagemaker.create_transform_job,
        **plan.request(),
    )


def wait_completed(
    sagemaker: Any,
    name: str,
    timeout: float,
    *,
    logs: Callable[[], Any] | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_status: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """The DescribeTransformJob answer once Completed; else TransformJobError with the job's
    FailureReason (or the timeout, naming --sm-transform-timeout) and its log's last lines."""
    try:
        return wait_for(
            sagemaker,
            TRANSFORM_JOB,
            name,
            timeout,
            backoff=backoff,
            clock=clock,
            sleep=sleep,
            on_status=on_status,
            timeout_option="--sm-transform-timeout",
            failed=TransformJobError,
        )
    except TransformJobError as error:
        if logs is None:
            raise
        try:
            lines = last_log_lines(logs(), "", job_name=name)
        except BotoCoreError as log_error:
            lines = [f"CloudWatch logs: (not readable: {type(log_error).__name__}: {log_error})"]
        raise TransformJobError(
            error.job_name, error.status, error.reason, "\n".join(lines)
        ) from None


def stop_if_running(sagemaker: Any, name: str) -> str | None:
    """StopTransformJob when the job is still InProgress; the job's status as it was, or None
    when SageMaker no longer knows it. A job that ended is left as it is (it cannot be deleted)."""
    try:
        status = str(describe(sagemaker, TRANSFORM_JOB, name)["TransformJobStatus"])
    except ClientError as error:
        if is_gone(error):
            return None
        raise
    if status == "InProgress":
        sagemaker.stop_transform_job(TransformJobName=name)
    return status
