"""SageMaker endpoints and their endpoint configs: create, attach to an existing one, delete
for real, and check that one is gone. What an endpoint serves is a model (models.py); the
order of creation and deletion is the lifecycle's (lifecycle.py).

An endpoint interrupted while Creating cannot be deleted until it turns Failed (or InService):
DeleteEndpoint answers a ValidationException meanwhile (a user report; it can last long).
Teardown waits for a deletable state within a bound instead of giving up at once, and says
what it left.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord, TeardownStatus
from pytest_smendpoint.aws.resolve import ExistingEndpoint
from pytest_smendpoint.aws.resources import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    ENDPOINT_STATUSES,
    checked_call,
    delete,
    is_gone,
)
from pytest_smendpoint.aws.waiting import Backoff
from pytest_smendpoint.errors import DeployError
from pytest_smendpoint.settings.endpoint_kinds import (
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
)

SETTLE_BACKOFF = Backoff(first=2.0, factor=1.5, ceiling=30.0)
TRANSITIONAL = ENDPOINT_STATUSES.transitional


# -- creation -------------------------------------------------------------------------------


def create_endpoint_config(
    sagemaker: Any, plan: EndpointPlan, tags: Sequence[dict[str, str]]
) -> Any:
    """CreateEndpointConfig: one production variant serving the plan's model on its instances
    (or serverless: a ServerlessConfig instead of instances), plus the asynchronous inference
    configuration when the plan has one."""
    variant: dict[str, Any] = {
        "VariantName": plan.variant_name,
        "ModelName": plan.model_name,
        "InitialVariantWeight": 1.0,
    }
    if plan.serverless is not None:
        variant["ServerlessConfig"] = serverless_config(plan.serverless)
    else:
        variant["InitialInstanceCount"] = plan.instance_count
        variant["InstanceType"] = plan.instance_type
    if plan.model_data_download_timeout is not None:
        variant["ModelDataDownloadTimeoutInSeconds"] = plan.model_data_download_timeout
    if plan.container_startup_health_check_timeout is not None:
        variant["ContainerStartupHealthCheckTimeoutInSeconds"] = (
            plan.container_startup_health_check_timeout
        )
    extra: dict[str, Any] = {}
    if plan.async_inference is not None:
        extra["AsyncInferenceConfig"] = async_inference_config(plan.async_inference)
    return checked_call(
        "CreateEndpointConfig",
        f"{ENDPOINT_CONFIG.label} {plan.config_name}",
        sagemaker.create_endpoint_config,
        EndpointConfigName=plan.config_name,
        ProductionVariants=[variant],
        Tags=list(tags),
        **extra,
    )


def serverless_config(serverless: ServerlessSettings) -> dict[str, int]:
    """The variant's ServerlessConfig, as the API spells it (unset fields are not sent)."""
    config = {"MemorySizeInMB": serverless.memory_mb, "MaxConcurrency": serverless.max_concurrency}
    if serverless.provisioned_concurrency is not None:
        config["ProvisionedConcurrency"] = serverless.provisioned_concurrency
    return {key: value for key, value in config.items() if value is not None}


def async_inference_config(settings: AsyncSettings) -> dict[str, Any]:
    """The endpoint config's AsyncInferenceConfig, as the API spells it."""
    output: dict[str, Any] = {"S3OutputPath": settings.output_path}
    if settings.failure_path is not None:
        output["S3FailurePath"] = settings.failure_path
    config: dict[str, Any] = {"OutputConfig": output}
    if settings.max_concurrent_invocations_per_instance is not None:
        config["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": settings.max_concurrent_invocations_per_instance
        }
    return config


def with_async_paths(
    plan: EndpointPlan, s3: Any, sts: Any, region: str, key_prefix: str
) -> tuple[EndpointPlan, str | None]:
    """The plan with its asynchronous output and failure paths resolved, and the S3 prefix the
    session owns for them (None: the user named the output path). Unset, the output goes under
    the session's prefix in the account's SageMaker bucket (what the sweep finds by age, as
    sm_transform's data): `.../async/{endpoint}/output/`, and the failures beside it,
    `.../async/{endpoint}/failures/`; a user's output path gets its failures at
    `{output path}-failures/`. A plan that is not asynchronous is returned as it is."""
    settings = plan.async_inference
    if settings is None:
        return plan, None
    owned = None
    output = settings.output_path
    if output is None:
        from pytest_smendpoint.aws.artifacts import default_bucket

        bucket = default_bucket(s3, sts, region)
        owned = f"s3://{bucket}/{key_prefix}/async/{plan.endpoint_name}/"
        output = f"{owned}output/"
        failure = settings.failure_path or f"{owned}failures/"
    else:
        failure = settings.failure_path or f"{output.rstrip('/')}-failures/"
    resolved = dataclasses.replace(settings, output_path=output, failure_path=failure)
    return dataclasses.replace(plan, async_inference=resolved), owned


def create_endpoint(sagemaker: Any, plan: EndpointPlan, tags: Sequence[dict[str, str]]) -> Any:
    """CreateEndpoint from the plan's config (it is then Creating: waiting.py waits)."""
    return checked_call(
        "CreateEndpoint",
        f"{ENDPOINT.label} {plan.endpoint_name}",
        sagemaker.create_endpoint,
        EndpointName=plan.endpoint_name,
        EndpointConfigName=plan.config_name,
        Tags=list(tags),
    )


def attach(
    sagemaker: Any, existing: ExistingEndpoint, *, region: str, backend: str
) -> EndpointRecord:
    """An endpoint that exists already, read (it must be InService), never changed: the
    record of something this session does not own."""
    described = checked_call(
        "DescribeEndpoint",
        f"{ENDPOINT.label} {existing.name}",
        sagemaker.describe_endpoint,
        EndpointName=existing.name,
    )
    if described["EndpointStatus"] != ENDPOINT_STATUSES.success:
        raise DeployError(
            existing.name,
            described["EndpointStatus"],
            "the existing endpoint is not InService: "
            + (described.get("FailureReason") or "wait for it or pick another"),
        )
    config_name = described["EndpointConfigName"]
    models: tuple[str, ...] = ()
    kind: dict[str, Any] = {}
    with contextlib.suppress(ClientError):  # reading the config is a courtesy, not required
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models = tuple(v["ModelName"] for v in config["ProductionVariants"])
        kind = _kind_of_config(config)
    return EndpointRecord(
        name=existing.name,
        config_name=config_name,
        model_names=models,
        region=region,
        backend=backend,
        deploy_seconds=0.0,
        owned=False,
        source=f"existing endpoint {existing.name}",
        teardown=TeardownStatus.NOT_OWNED,
        **kind,
    )


def _kind_of_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """An existing endpoint's kind, read from its config (first variant's ServerlessConfig,
    the config's AsyncInferenceConfig), as EndpointRecord fields."""
    variants = config.get("ProductionVariants") or [{}]
    serverless = variants[0].get("ServerlessConfig")
    if serverless:
        return {
            "kind": EndpointKind.SERVERLESS,
            "serverless": ServerlessSettings(
                memory_mb=serverless.get("MemorySizeInMB"),
                max_concurrency=serverless.get("MaxConcurrency"),
                provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
            ),
        }
    asynchronous = config.get("AsyncInferenceConfig")
    if asynchronous:
        output = asynchronous.get("OutputConfig") or {}
        client = asynchronous.get("ClientConfig") or {}
        return {
            "kind": EndpointKind.ASYNC,
            "async_inference": AsyncSettings(
                enabled=True,
                output_path=output.get("S3OutputPath"),
                failure_path=output.get("S3FailurePath"),
                max_concurrent_invocations_per_instance=client.get(
                    "MaxConcurrentInvocationsPerInstance"
                ),
            ),
        }
    return {}


def models_in_config(sagemaker: Any, config_name: str | None) -> list[str]:
    """The models a config's variants serve ([] when it is gone or there is none)."""
    if not config_name:
        return []
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError:
        return []  # already gone: the models we created are still in our own list
    return [v["ModelName"] for v in config.get("ProductionVariants", [])]


# -- deletion -------------------------------------------------------------------------------


def delete_endpoint_config(sagemaker: Any, name: str) -> None:
    """DeleteEndpointConfig (botocore's errors as they are: teardown reads "already gone")."""
    delete(sagemaker, ENDPOINT_CONFIG, name)


def delete_endpoint(
    sagemaker: Any,
    name: str,
    bound: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """DeleteEndpoint; if refused while Creating/Updating, wait (at most `bound` s) and retry."""
    try:
        delete(sagemaker, ENDPOINT, name)
        return
    except ClientError as error:
        if is_gone(error) or error.response.get("Error", {}).get("Code") != ("ValidationException"):
            raise
        refused = error
    started = clock()
    status = _status(sagemaker, name)
    if status not in TRANSITIONAL:
        raise refused  # refused for another reason: report SageMaker's own words
    for delay in SETTLE_BACKOFF.delays():
        waited = clock() - started
        if status not in TRANSITIONAL:
            break
        if waited >= bound:
            info = refused.response.get("Error", {})
            raise ClientError(
                {
                    "Error": {
                        "Code": info.get("Code", "ValidationException"),
                        "Message": f"{info.get('Message', '')} (still {status} after "
                        f"{waited:.0f} s; SageMaker deletes it only once it turns Failed "
                        "or InService: run the command below then)",
                    }
                },
                "DeleteEndpoint",
            ) from None
        sleep(min(delay, bound - waited))
        status = _status(sagemaker, name)
    if status is not None:
        delete(sagemaker, ENDPOINT, name)


def confirm_gone(sagemaker: Any, name: str) -> bool | None:
    """True when DescribeEndpoint says not found or Deleting; None when it could not be asked."""
    try:
        status = _status(sagemaker, name)
    except (ClientError, BotoCoreError):
        return None
    return status in (None, "Deleting")


def _status(sagemaker: Any, name: str) -> str | None:
    """The endpoint's status, or None once it no longer exists."""
    try:
        return str(sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"])
    except ClientError as error:
        if is_gone(error):
            return None
        raise
