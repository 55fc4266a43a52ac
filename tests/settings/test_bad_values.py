"""Every bad value stops the run with a pytest.UsageError (exit code 4) that names the option and
where it was set, before anything is collected and before any AWS call."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

UsageErrorCheck = Callable[..., None]

NAMING_RULE = (
    "breaks SageMaker's naming rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ "
    "(letters, digits and hyphens, at most 63)"
)
NOT_POSITIVE = "must be a positive integer"
PAYLOAD_RANGE = "must be at least 0.001 (1 KB) and at most 6 (SageMaker's real-time payload limit)"
ENV_NAME_RULE = "is not a valid variable name (letters, digits and _, not starting with a digit)"
INSTANCE_TYPE = "must be a SageMaker instance type such as ml.m5.large"
IMAGE = "--sm-image-uri=123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1"
NEEDS_ENDPOINT = "def test_needs_endpoint(sm_endpoint):\n    pass\n"

COUNTS = (
    "instance_count",
    "deploy_timeout",
    "model_data_download_timeout",
    "container_startup_health_check_timeout",
    "max_rows_per_request",
    "max_concurrency",
)


def flag(name: str) -> str:
    return "--sm-" + name.replace("_", "-")


CLI_CASES = (
    [
        pytest.param(
            (f"{flag(name)}={value}",),
            f"{flag(name)}={value} (command line): {NOT_POSITIVE}",
            id=f"{name}={value}",
        )
        for name in COUNTS
        for value in ("0", "-3", "2.5", "ten", "")
    ]
    + [
        pytest.param(
            (f"{flag(name)}={value}",),
            f"{flag(name)}={value} (command line): "
            "must be between 60 and 3600 seconds (SageMaker's range)",
            id=f"{name}={value}",
        )
        for name in ("model_data_download_timeout", "container_startup_health_check_timeout")
        for value in ("59", "3601")
    ]
    + [
        pytest.param(
            ("--sm-gate=auc=>0.9",),
            "--sm-gate=auc=>0.9 (command line): 'auc=>0.9' is not METRIC OP NUMBER, "
            "e.g. auc>=0.92 or p99_ms<=200",
            id="gate-malformed",
        ),
        pytest.param(
            ("--sm-sweep=6 hours",),
            "--sm-sweep=6 hours (command line): AGE must be a positive number with s, m, h or d, "
            "e.g. 6h",
            id="sweep-age-malformed",
        ),
        pytest.param(
            ("--sm-sweep=0h",),
            "--sm-sweep=0h (command line): AGE must be a positive number with s, m, h or d, "
            "e.g. 6h",
            id="sweep-age-zero",
        ),
        pytest.param(
            ("--sm-sweep-delete",),
            "--sm-sweep-delete=True (command line): goes with --sm-sweep[=AGE]",
            id="sweep-delete-without-sweep",
        ),
        pytest.param(
            ("--sm-run-label=release#7",),
            "--sm-run-label=release#7 (command line): must be a valid AWS tag value (letters, "
            "digits, spaces and _.:/=+-@, at most 256)",
            id="run-label-bad-characters",
        ),
        pytest.param(
            ("--sm-baseline-endpoint=prod_v1",),
            f"--sm-baseline-endpoint=prod_v1 (command line): {NAMING_RULE}",
            id="baseline-endpoint-bad-name",
        ),
    ]
    + [
        pytest.param(
            ("--sm-backend=localstack",),
            "--sm-backend=localstack (command line): unknown backend; choose one of moto, aws",
            id="backend-unknown",
        ),
        pytest.param(
            ("--sm-backend=Moto",),
            "--sm-backend=Moto (command line): unknown backend; choose one of moto, aws",
            id="backend-wrong-case",
        ),
        pytest.param(
            ("--sm-instance-type=m5.large",),
            "--sm-instance-type=m5.large (command line): "
            "must be a SageMaker instance type such as ml.m5.large",
            id="instance-type-without-ml",
        ),
    ]
    + [
        pytest.param(
            (f"--sm-instance-type={value}",),
            f"--sm-instance-type={value} (command line): {INSTANCE_TYPE}",
            id=f"instance-type-{value}",
        )
        for value in ("ml.", "ml.m5", "ml.m5.", "ml..large", "ml.m5.large.x", "ml.M5.large")
    ]
    + [
        pytest.param(
            ("--sm-model-data=s3://Bad_Bucket/model.tar.gz", IMAGE),
            "--sm-model-data=s3://Bad_Bucket/model.tar.gz (command line): "
            "is not an s3://bucket/key URI",
            id="s3-uri-bad-bucket",
        ),
        pytest.param(
            ("--sm-model-data=s3://bucket-only", IMAGE),
            "--sm-model-data=s3://bucket-only (command line): is not an s3://bucket/key URI",
            id="s3-uri-without-key",
        ),
        pytest.param(
            ("--sm-model-data=s3://bucket/", IMAGE),
            "--sm-model-data=s3://bucket/ (command line): is not an s3://bucket/key URI",
            id="s3-uri-empty-key",
        ),
        pytest.param(
            ("--sm-role=arn:aws:iam::12345:role/Short",),
            "--sm-role=arn:aws:iam::12345:role/Short (command line): "
            "is neither an IAM role ARN nor a valid role name",
            id="role-arn-short-account",
        ),
        pytest.param(
            ("--sm-role=my role",),
            "--sm-role=my role (command line): is neither an IAM role ARN nor a valid role name",
            id="role-name-with-space",
        ),
        pytest.param(
            (f"--sm-role={'r' * 65}",),
            f"--sm-role={'r' * 65} (command line): "
            "is neither an IAM role ARN nor a valid role name",
            id="role-name-too-long",
        ),
        pytest.param(
            ("--sm-region=useast1",),
            "--sm-region=useast1 (command line): is not an AWS region name",
            id="region",
        ),
        pytest.param(
            ("--sm-training-job=job_1",),
            "--sm-training-job=job_1 (command line): is not a valid training job name",
            id="training-job-name",
        ),
        # Values are never shown (they are often secrets): keys are, values are ***.
        pytest.param(
            ("--sm-env=NOEQUALS",),
            "--sm-env=*** (command line): entry 1 is not KEY=VALUE (it has no '='; not shown)",
            id="env-without-equals",
        ),
        pytest.param(
            ("--sm-env=1A=x",),
            f"--sm-env=1A=*** (command line): entry 1: '1A' {ENV_NAME_RULE}",
            id="env-key-starts-with-digit",
        ),
        pytest.param(
            ("--sm-env==x",),
            f"--sm-env==*** (command line): entry 1: '' {ENV_NAME_RULE}",
            id="env-empty-key",
        ),
        pytest.param(
            ("--sm-env=MY-VAR=x",),
            f"--sm-env=MY-VAR=*** (command line): entry 1: 'MY-VAR' {ENV_NAME_RULE}",
            id="env-key-with-hyphen",
        ),
        pytest.param(
            ("--sm-env=DB_PASSWORD=hunter2", "--sm-env=sk-live-abc123"),
            "--sm-env=DB_PASSWORD=***, *** (command line): "
            "entry 2 is not KEY=VALUE (it has no '='; not shown)",
            id="env-value-pasted-alone",
        ),
        pytest.param(
            ("--sm-max-payload-mb=1e-9",),
            f"--sm-max-payload-mb=1e-9 (command line): {PAYLOAD_RANGE}",
            id="payload-below-1kb",
        ),
        pytest.param(
            ("--sm-max-payload-mb=inf",),
            f"--sm-max-payload-mb=inf (command line): {PAYLOAD_RANGE}",
            id="payload-inf",
        ),
        pytest.param(
            ("--sm-features=-3",),
            "--sm-features=-3 (command line): a feature count must be a positive integer",
            id="features-count-negative",
        ),
        pytest.param(
            ("--sm-features=2.5",),
            "--sm-features=2.5 (command line): a feature count must be a positive integer",
            id="features-count-fraction",
        ),
        pytest.param(
            ("--sm-max-payload-mb=0",),
            f"--sm-max-payload-mb=0 (command line): {PAYLOAD_RANGE}",
            id="payload-0",
        ),
        pytest.param(
            ("--sm-max-payload-mb=7",),
            f"--sm-max-payload-mb=7 (command line): {PAYLOAD_RANGE}",
            id="payload-7",
        ),
        pytest.param(
            ("--sm-max-payload-mb=-1",),
            f"--sm-max-payload-mb=-1 (command line): {PAYLOAD_RANGE}",
            id="payload-negative",
        ),
        pytest.param(
            ("--sm-max-payload-mb=nan",),
            f"--sm-max-payload-mb=nan (command line): {PAYLOAD_RANGE}",
            id="payload-nan",
        ),
        pytest.param(
            ("--sm-max-payload-mb=abc",),
            "--sm-max-payload-mb=abc (command line): must be a number of megabytes",
            id="payload-abc",
        ),
        pytest.param(
            ("--sm-features=0",),
            "--sm-features=0 (command line): a feature count must be a positive integer",
            id="features-count-0",
        ),
        pytest.param(
            ("--sm-model-data=s3://bucket/model.tar.gz",),
            "--sm-model-data=s3://bucket/model.tar.gz (command line): "
            "needs --sm-image-uri (or sm_image_uri) as well",
            id="model-data-without-image",
        ),
        pytest.param(
            ("--sm-model-data=s3://bucket/model.tar.gz", IMAGE, "--sm-training-job=job-1"),
            "--sm-model-data and --sm-training-job are both given (command line): "
            "choose one model source",
            id="two-sources",
        ),
        pytest.param(
            ("--sm-training-job=job-1", "--sm-existing-endpoint=live"),
            "--sm-training-job and --sm-existing-endpoint are both given (command line): "
            "choose one model source",
            id="two-sources-job-and-endpoint",
        ),
        pytest.param(
            ("--sm-image-uri=",),
            "--sm-image-uri= (command line): must not be empty",
            id="empty-image-uri",
        ),
        pytest.param(
            ("--sm-accept=  ",),
            "--sm-accept=   (command line): must not be empty",
            id="blank-accept",
        ),
    ]
    # Issue 20: Batch Transform's options.
    + [
        pytest.param(
            (f"{flag(name)}={value}",),
            f"{flag(name)}={value} (command line): {NOT_POSITIVE}",
            id=f"{name}={value}",
        )
        for name in ("transform_instance_count", "transform_shards", "transform_timeout")
        for value in ("0", "-1", "1.5")
    ]
    + [
        pytest.param(
            ("--sm-serverless-memory-mb=3000",),
            "--sm-serverless-memory-mb=3000 (command line): must be one of 1024, 2048, 3072, "
            "4096, 5120, 6144 (SageMaker's MemorySizeInMB)",
            id="serverless-memory-not-a-size",
        ),
        pytest.param(
            ("--sm-serverless-memory-mb=2GB",),
            "--sm-serverless-memory-mb=2GB (command line): must be one of 1024, 2048, 3072, "
            "4096, 5120, 6144 (SageMaker's MemorySizeInMB)",
            id="serverless-memory-not-a-number",
        ),
        pytest.param(
            ("--sm-serverless-memory-mb=2048", "--sm-serverless-max-concurrency=201"),
            "--sm-serverless-max-concurrency=201 (command line): "
            "must be an integer from 1 to 200 (SageMaker's MaxConcurrency)",
            id="serverless-max-concurrency-over-200",
        ),
        pytest.param(
            ("--sm-serverless-max-concurrency=10",),
            "--sm-serverless-max-concurrency=10 (command line): "
            "goes with --sm-serverless-memory-mb",
            id="serverless-concurrency-without-memory",
        ),
        pytest.param(
            (
                "--sm-serverless-memory-mb=2048",
                "--sm-serverless-max-concurrency=3",
                "--sm-serverless-provisioned-concurrency=4",
            ),
            "--sm-serverless-provisioned-concurrency=4 (command line): "
            "must be at most the endpoint's MaxConcurrency (3)",
            id="serverless-provisioned-over-max",
        ),
        pytest.param(
            ("--sm-serverless-memory-mb=2048", "--sm-serverless-provisioned-concurrency=6"),
            "--sm-serverless-provisioned-concurrency=6 (command line): "
            "must be at most the endpoint's MaxConcurrency (5)",
            id="serverless-provisioned-over-default-max",
        ),
        pytest.param(
            ("--sm-serverless-memory-mb=2048", "--sm-max-payload-mb=4.5"),
            "--sm-max-payload-mb=4.5 (command line): is above 4, a serverless endpoint's "
            "payload limit (--sm-serverless-memory-mb)",
            id="serverless-payload-over-four-mb",
        ),
        pytest.param(
            ("--sm-serverless-memory-mb=2048", "--sm-async"),
            "--sm-serverless-memory-mb=2048 (command line): and --sm-async are both given: "
            "SageMaker's asynchronous endpoints are instance-backed, choose one kind of endpoint",
            id="serverless-and-async",
        ),
        pytest.param(
            ("--sm-async-failure-path=s3://bucket/failed",),
            "--sm-async-failure-path=s3://bucket/failed (command line): "
            "goes with --sm-async (or --sm-async-output-path)",
            id="async-failure-path-without-async",
        ),
        pytest.param(
            ("--sm-async-invocation-timeout=30",),
            "--sm-async-invocation-timeout=30 (command line): "
            "goes with --sm-async (or --sm-async-output-path)",
            id="async-invocation-timeout-without-async",
        ),
        pytest.param(
            ("--sm-async-output-path=/tmp/out",),
            "--sm-async-output-path=/tmp/out (command line): must be an s3://bucket/prefix URI",
            id="async-output-not-s3",
        ),
        pytest.param(
            ("--sm-async", "--sm-async-invocation-timeout=3601"),
            "--sm-async-invocation-timeout=3601 (command line): "
            "must be an integer from 1 to 3600 (SageMaker's InvocationTimeoutSeconds)",
            id="async-invocation-timeout-over-an-hour",
        ),
        pytest.param(
            ("--sm-transform-instance-type=ml.m5.hyper",),
            "--sm-transform-instance-type=ml.m5.hyper (command line): is not an instance type "
            "Batch Transform offers (botocore's SageMaker model lists the TransformInstanceType "
            "values, e.g. ml.m5.large, ml.c5.xlarge)",
            id="transform-instance-type-unknown",
        ),
        pytest.param(
            ("--sm-transform-instance-type=m5.large",),
            f"--sm-transform-instance-type=m5.large (command line): {INSTANCE_TYPE}",
            id="transform-instance-type-malformed",
        ),
        pytest.param(
            ("--sm-transform-max-payload-mb=101",),
            "--sm-transform-max-payload-mb=101 (command line): "
            "must be an integer from 0 to 100 (SageMaker's MaxPayloadInMB)",
            id="transform-max-payload-over-100",
        ),
        pytest.param(
            ("--sm-transform-max-payload-mb=30", "--sm-transform-max-concurrent=4"),
            "--sm-transform-max-payload-mb=30 (command line): times "
            "--sm-transform-max-concurrent=4 is more than 100 (SageMaker's limit on "
            "MaxPayloadInMB x MaxConcurrentTransforms)",
            id="transform-payload-times-concurrency-over-100",
        ),
        pytest.param(
            ("--sm-transform-max-payload-mb=6.5",),
            "--sm-transform-max-payload-mb=6.5 (command line): "
            "must be an integer from 0 to 100 (SageMaker's MaxPayloadInMB)",
            id="transform-max-payload-fraction",
        ),
        pytest.param(
            ("--sm-transform-invocation-timeout=3601",),
            "--sm-transform-invocation-timeout=3601 (command line): "
            "must be an integer from 1 to 3600 (SageMaker's InvocationsTimeoutInSeconds)",
            id="transform-invocation-timeout-over-an-hour",
        ),
        pytest.param(
            ("--sm-transform-invocation-retries=4",),
            "--sm-transform-invocation-retries=4 (command line): "
            "must be an integer from 0 to 3 (SageMaker's InvocationsMaxRetries)",
            id="transform-retries-over-3",
        ),
        pytest.param(
            ("--sm-transform-batch-strategy=MultiLine",),
            "--sm-transform-batch-strategy=MultiLine (command line): "
            "choose one of MultiRecord, SingleRecord",
            id="transform-batch-strategy-unknown",
        ),
        pytest.param(
            ("--sm-transform-output=/local/folder",),
            "--sm-transform-output=/local/folder (command line): must be an s3://bucket/prefix URI",
            id="transform-output-not-s3",
        ),
        pytest.param(
            ("--sm-transform-max-concurrent=65",),
            "--sm-transform-max-concurrent=65 (command line): "
            "must be at most 64 (sm_transform's limit)",
            id="transform-max-concurrent-over-64",
        ),
    ]
    # Issue 18: values that passed start-up and failed (or were ignored) later.
    + [
        pytest.param(
            ("--sm-image-uri=not an image",),
            "--sm-image-uri=not an image (command line): is not an image URI: "
            "[registry/]repository[:tag|@sha256:digest], repository in lowercase, no spaces "
            "(e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/name:1)",
            id="image-uri-with-spaces",
        ),
        pytest.param(
            ("--sm-instance-count=99999999999999999999",),
            "--sm-instance-count=99999999999999999999 (command line): "
            "must be at most 2147483647 (SageMaker's limit)",
            id="instance-count-beyond-int32",
        ),
        pytest.param(
            ("--sm-serve-command='unterminated quote",),
            "--sm-serve-command='unterminated quote (command line): "
            "cannot be split into words: No closing quotation",
            id="serve-command-unterminated-quote",
        ),
        pytest.param(
            ("--sm-label-column=,",),
            "--sm-label-column=, (command line): "
            "has an empty column name (names are separated by commas)",
            id="label-column-comma-only",
        ),
        pytest.param(
            ("--sm-features=a,,b",),
            "--sm-features=a,,b (command line): "
            "has an empty column name (names are separated by commas)",
            id="features-empty-name",
        ),
        pytest.param(
            ("--sm-max-concurrency=100000",),
            "--sm-max-concurrency=100000 (command line): must be at most 64 (sm_invoke's limit)",
            id="max-concurrency-huge",
        ),
        pytest.param(
            ("--sm-accept=garbage",),
            "--sm-accept=garbage (command line): "
            "is not a media type: type/subtype[;parameter=value], e.g. text/csv",
            id="accept-garbage",
        ),
    ]
    + [
        pytest.param(
            (f"--sm-accept={value}",),
            f"--sm-accept={value!r} (command line): "
            "must not contain a CR or LF (it is an HTTP header)",
            id=f"accept-with-{why}",
        )
        for why, value in (
            ("cr", "text/csv\rX-Injected: 1"),
            ("lf", "text/csv\nX-Injected: 1"),
            ("crlf", "text/csv\r\nX-Injected: 1"),
        )
    ]
    + [
        pytest.param(
            ("--sm-sweep=99999999999d",),
            "--sm-sweep=99999999999d (command line): AGE must be at most 36500d (100 years)",
            id="sweep-age-beyond-datetime",
        ),
        pytest.param(
            ("--sm-label-column=",),
            "--sm-label-column= (command line): must not be empty",
            id="label-column-empty",
        ),
        pytest.param(
            ("--sm-features=",),
            "--sm-features= (command line): must not be empty",
            id="features-empty",
        ),
    ]
    + [
        pytest.param(
            (f"{flag(name)}={value}",),
            f"{flag(name)}={value} (command line): {NAMING_RULE}",
            id=f"{name}-{why}",
        )
        for name in ("endpoint_name", "model_name", "existing_endpoint")
        for why, value in (
            ("64-chars", "e" * 64),
            ("underscore", "my_endpoint"),
            ("leading-hyphen", "-endpoint"),
            ("trailing-hyphen", "endpoint-"),
            ("dot", "end.point"),
        )
    ]
)


@pytest.fixture(autouse=True)
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every botocore API call made in the process (inner runs are in-process), refused."""
    from botocore.client import BaseClient

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # no credential lookup either
        monkeypatch.setenv(name, "testing")
    calls: list[str] = []

    def refuse(client: BaseClient, operation: str, params: object) -> object:
        calls.append(operation)
        raise AssertionError(f"AWS call {operation} made despite a bad setting")

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)
    yield calls
    assert calls == []


@pytest.mark.slow  # over 1.5 s: not in the quick loop
@pytest.mark.parametrize(("args", "message"), CLI_CASES)
def test_bad_command_line_value_is_a_usage_error(
    pytester: pytest.Pytester,
    assert_usage_error: UsageErrorCheck,
    args: tuple[str, ...],
    message: str,
) -> None:
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(pytester.runpytest(*args), message)


INI_CASES = (
    [
        pytest.param(f"sm_{name} = 0", f"sm_{name} = 0 in tox.ini: {NOT_POSITIVE}", id=f"{name}=0")
        for name in COUNTS
    ]
    + [
        pytest.param(
            f"sm_{name} = 1.5", f"sm_{name} = 1.5 in tox.ini: {NOT_POSITIVE}", id=f"{name}=1.5"
        )
        for name in COUNTS
    ]
    + [
        pytest.param(
            "sm_backend = localstack",
            "sm_backend = localstack in tox.ini: unknown backend; choose one of moto, aws",
            id="backend",
        ),
        pytest.param(
            "sm_instance_type = c5.xlarge",
            "sm_instance_type = c5.xlarge in tox.ini: "
            "must be a SageMaker instance type such as ml.m5.large",
            id="instance-type",
        ),
        pytest.param(
            "sm_model_data = s3://b/model.tar.gz\nsm_image_uri = registry/inference:1",
            "sm_model_data = s3://b/model.tar.gz in tox.ini: is not an s3://bucket/key URI",
            id="s3-uri-short-bucket",
        ),
        pytest.param(
            "sm_role = arn:aws:iam::123456789012:user/Someone",
            "sm_role = arn:aws:iam::123456789012:user/Someone in tox.ini: "
            "is neither an IAM role ARN nor a valid role name",
            id="role-user-arn",
        ),
        pytest.param(
            "sm_endpoint_name = my_endpoint",
            f"sm_endpoint_name = my_endpoint in tox.ini: {NAMING_RULE}",
            id="endpoint-name",
        ),
        pytest.param(
            f"sm_model_name = {'m' * 64}",
            f"sm_model_name = {'m' * 64} in tox.ini: {NAMING_RULE}",
            id="model-name",
        ),
        pytest.param(
            "sm_max_payload_mb = 7",
            f"sm_max_payload_mb = 7 in tox.ini: {PAYLOAD_RANGE}",
            id="payload-7",
        ),
        pytest.param(
            "sm_max_payload_mb = abc",
            "sm_max_payload_mb = abc in tox.ini: must be a number of megabytes",
            id="payload-abc",
        ),
        pytest.param(
            "sm_model_data = s3://bucket/model.tar.gz",
            "sm_model_data = s3://bucket/model.tar.gz in tox.ini: "
            "needs --sm-image-uri (or sm_image_uri) as well",
            id="model-data-without-image",
        ),
        pytest.param(
            "sm_image_uri = My Image:1",
            "sm_image_uri = My Image:1 in tox.ini: is not an image URI: "
            "[registry/]repository[:tag|@sha256:digest], repository in lowercase, no spaces "
            "(e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/name:1)",
            id="image-uri",
        ),
        pytest.param(
            "sm_features = a,,b",
            "sm_features = a,,b in tox.ini: "
            "has an empty column name (names are separated by commas)",
            id="features-empty-name",
        ),
        pytest.param(
            "sm_accept = csv",
            "sm_accept = csv in tox.ini: "
            "is not a media type: type/subtype[;parameter=value], e.g. text/csv",
            id="accept",
        ),
    ]
)


@pytest.mark.parametrize(("ini", "message"), INI_CASES)
def test_bad_ini_value_is_a_usage_error_naming_key_and_file(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck, ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(pytester.runpytest(), message)


def test_bad_ini_env_entry_names_key_file_and_entry(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makeini("[pytest]\nsm_env =\n    GOOD=1\n    BAD\n")
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(
        pytester.runpytest(),
        "sm_env = GOOD=***, *** in tox.ini: entry 2 is not KEY=VALUE (it has no '='; not shown)",
    )


def test_bad_ini_env_shows_keys_and_never_values(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makeini(
        "[pytest]\nsm_env =\n    OPENAI_API_KEY=sk-live-4f9a8b7c6d5e\n    DB_PASSWORD=hunter2\n"
        "    BAD-NAME=x\n"
    )
    pytester.makepyfile(NEEDS_ENDPOINT)
    result = pytester.runpytest()
    assert_usage_error(
        result,
        "sm_env = OPENAI_API_KEY=***, DB_PASSWORD=***, BAD-NAME=*** in tox.ini: "
        f"entry 3: 'BAD-NAME' {ENV_NAME_RULE}",
    )
    output = result.stdout.str() + result.stderr.str()
    for value in ("sk-live-4f9a8b7c6d5e", "hunter2"):
        assert value not in output


def test_bad_ini_keep_endpoint_names_key_and_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsm_keep_endpoint = maybe\n")
    pytester.makepyfile(NEEDS_ENDPOINT)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()
    # The wording is open; that it names the key, the file and the bad value is not.
    [line] = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert line.startswith("ERROR: sm_keep_endpoint "), line
    assert "tox.ini" in line, line
    assert "maybe" in line, line


def test_two_model_sources_in_the_ini_name_the_ini_keys_and_file(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makeini(
        "[pytest]\nsm_model_data = s3://bucket/model.tar.gz\nsm_training_job = job-1\n"
        "sm_image_uri = 123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1\n"
    )
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(
        pytester.runpytest(),
        "sm_model_data and sm_training_job are both given in tox.ini: choose one model source",
    )


def test_missing_local_model_data_names_the_resolved_path(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makepyfile(NEEDS_ENDPOINT)
    result = pytester.runpytest("--sm-model-data=missing.tar.gz", IMAGE)
    assert_usage_error(
        result,
        f"--sm-model-data=missing.tar.gz (command line): "
        f"no such file or folder: {pytester.path / 'missing.tar.gz'}",
    )


def test_missing_local_model_data_from_ini(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    pytester.makeini(
        "[pytest]\nsm_model_data = models/missing\n"
        "sm_image_uri = 123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1\n"
    )
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(
        pytester.runpytest(),
        f"sm_model_data = models/missing in tox.ini: "
        f"no such file or folder: {pytester.path / 'models' / 'missing'}",
    )


@pytest.mark.parametrize("name", ["model.joblib", "model.tar"])
def test_local_model_data_file_must_be_a_tarball(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck, name: str
) -> None:
    (pytester.path / name).write_bytes(b"not a tarball")
    pytester.makepyfile(NEEDS_ENDPOINT)
    assert_usage_error(
        pytester.runpytest(f"--sm-model-data={name}", IMAGE),
        f"--sm-model-data={name} (command line): a local file must be a .tar.gz (or give a folder)",
    )


def test_bad_value_stops_the_run_before_any_aws_call(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck, aws_calls: list[str]
) -> None:
    # Everything else would deploy against real AWS: only the bad count stands in the way.
    pytester.makepyfile(NEEDS_ENDPOINT)
    result = pytester.runpytest(
        "--sm-backend=aws",
        "--sm-region=us-east-1",
        "--sm-existing-endpoint=live",
        "--sm-instance-count=0",
    )
    assert_usage_error(result, f"--sm-instance-count=0 (command line): {NOT_POSITIVE}")
    assert aws_calls == []


def test_report_into_a_missing_folder_names_the_folder(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    missing = pytester.path / "no" / "such"
    assert_usage_error(
        pytester.runpytest("--sm-report=no/such/report.json"),
        f"--sm-report=no/such/report.json (command line): the folder {missing} does not exist",
    )


def test_report_naming_a_folder_is_a_usage_error_at_start_up(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    (pytester.path / "out").mkdir()
    for extra in ((), ("--co",)):
        assert_usage_error(
            pytester.runpytest("--sm-report=out", *extra),
            "--sm-report=out (command line): is a folder, not a file",
        )


def test_report_in_an_unwritable_place_is_a_usage_error_at_start_up(
    pytester: pytest.Pytester, assert_usage_error: UsageErrorCheck
) -> None:
    if os.geteuid() == 0:  # root writes anywhere permission bits allow: use sysfs, read-only
        folder = Path("/sys")
    else:
        folder = pytester.path / "locked"
        folder.mkdir(mode=0o500)
    for extra in ((), ("--co",)):
        assert_usage_error(
            pytester.runpytest(f"--sm-report={folder}/report.json", *extra),
            f"--sm-report={folder}/report.json (command line): "
            "cannot be written: Permission denied",
        )
    assert not (folder / "report.json").exists()
