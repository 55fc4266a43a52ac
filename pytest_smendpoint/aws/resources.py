"""The SageMaker resource kinds the plugin creates, and the facts every caller shares about
them: how each is described, listed, tagged and deleted (or stopped), which statuses it passes
through, how SageMaker says one is gone, and whether one carries this session's tag. Teardown,
the generic waiter (waiting.py), the sweep and the xdist controller all read this one table;
models.py and endpoints.py create and delete through it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.errors import AwsCallError
from pytest_smendpoint.settings.naming import TAG_SESSION


@dataclass(frozen=True)
class Statuses:
    """The statuses of a kind that has them (endpoints, transform jobs): where DescribeX says
    it, the one that means done, and those it passes through on the way (any other is a
    failure, explained by FailureReason)."""

    key: str  # EndpointStatus
    success: str  # InService
    transitional: frozenset[str]  # Creating, Updating, ...


@dataclass(frozen=True)
class ResourceKind:
    """One kind of SageMaker resource, as boto3 and the AWS CLI name its calls."""

    label: str  # as it reads in messages: "endpoint config"
    name_parameter: str  # EndpointConfigName (also the name's key in list and describe answers)
    arn_key: str  # EndpointConfigArn
    describe: str  # describe_endpoint_config
    delete: str  # delete_endpoint_config
    delete_operation: str  # DeleteEndpointConfig
    paginator: str  # list_endpoint_configs
    list_items: str  # EndpointConfigs: the list key in each page
    cli: str  # delete-endpoint-config --endpoint-config-name
    statuses: Statuses | None = None  # None: created whole (models, endpoint configs)

    @property
    def describe_operation(self) -> str:
        """The API operation's name, as errors quote it: DescribeEndpointConfig."""
        return "".join(part.title() for part in self.describe.split("_"))


ENDPOINT_STATUSES = Statuses(
    "EndpointStatus",
    "InService",
    frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"}),
)
ENDPOINT = ResourceKind(
    "endpoint",
    "EndpointName",
    "EndpointArn",
    "describe_endpoint",
    "delete_endpoint",
    "DeleteEndpoint",
    "list_endpoints",
    "Endpoints",
    "delete-endpoint --endpoint-name",
    ENDPOINT_STATUSES,
)
ENDPOINT_CONFIG = ResourceKind(
    "endpoint config",
    "EndpointConfigName",
    "EndpointConfigArn",
    "describe_endpoint_config",
    "delete_endpoint_config",
    "DeleteEndpointConfig",
    "list_endpoint_configs",
    "EndpointConfigs",
    "delete-endpoint-config --endpoint-config-name",
)
MODEL = ResourceKind(
    "model",
    "ModelName",
    "ModelArn",
    "describe_model",
    "delete_model",
    "DeleteModel",
    "list_models",
    "Models",
    "delete-model --model-name",
)
TRANSFORM_JOB_STATUSES = Statuses(
    "TransformJobStatus", "Completed", frozenset({"InProgress", "Stopping"})
)
# A transform job cannot be deleted: StopTransformJob is what ends one (a finished job is
# left as it is; SageMaker keeps its record). Not in KINDS: no endpoint is made of one, so
# teardown never walks it; the sweep stops running ones first (sweep.SWEPT_KINDS).
TRANSFORM_JOB = ResourceKind(
    "transform job",
    "TransformJobName",
    "TransformJobArn",
    "describe_transform_job",
    "stop_transform_job",
    "StopTransformJob",
    "list_transform_jobs",
    "TransformJobSummaries",
    "stop-transform-job --transform-job-name",
    TRANSFORM_JOB_STATUSES,
)
# What a session's endpoints are made of, in deletion order: an endpoint before the config it
# serves, a config before its models. Teardown and the sweep walk these.
KINDS = (ENDPOINT, ENDPOINT_CONFIG, MODEL)


def cli_command(kind: ResourceKind, name: str, region: str) -> str:
    """The AWS CLI command that deletes (or stops) one resource, for a user to run by hand."""
    return f"aws sagemaker {kind.cli} {name} --region {region}"


def delete(sagemaker: Any, kind: ResourceKind, name: str) -> None:
    """The kind's own delete (or stop) call, as it is: errors are the caller's to read."""
    getattr(sagemaker, kind.delete)(**{kind.name_parameter: name})


def describe(sagemaker: Any, kind: ResourceKind, name: str) -> dict[str, Any]:
    """The kind's describe call, as it is: errors are the caller's to read."""
    return dict(getattr(sagemaker, kind.describe)(**{kind.name_parameter: name}))


def checked_call(operation: str, resource: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """One SageMaker call whose failure is the plugin's AwsCallError, naming the operation,
    the resource and SageMaker's reason."""
    try:
        return call(**kwargs)
    except ClientError as error:
        raise AwsCallError(operation, resource, error_reason(error)) from None
    except BotoCoreError as error:  # parameter validation, connection and credential errors
        raise AwsCallError(operation, resource, f"{type(error).__name__}: {error}") from None


def error_reason(error: ClientError) -> str:
    """SageMaker's own words for a failed call: `Code: Message`."""
    info = error.response.get("Error", {})
    return f"{info.get('Code', 'Error')}: {info.get('Message', str(error))}"


def is_gone(error: ClientError) -> bool:
    """SageMaker says a resource does not exist (any more) with a ValidationException
    'Could not find ...' (ResourceNotFound on some operations)."""
    info = error.response.get("Error", {})
    message = str(info.get("Message", "")).lower()
    return info.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "could not find" in message or "not found" in message
    )


def session_of(tags: list[dict[str, str]]) -> str | None:
    """The session id a resource's tags name, if the plugin created it."""
    return next((t["Value"] for t in tags if t["Key"] == TAG_SESSION), None)


def carries_session_tag(sagemaker: Any, kind: ResourceKind, name: str, session_id: str) -> bool:
    """True only if the resource exists and this session created it: what may be deleted
    when nothing else proves it (a user-given name may belong to someone else)."""
    try:
        arn = describe(sagemaker, kind, name)[kind.arn_key]
        tags = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return False  # not there (never created, or already deleted), or not readable
    return session_of(tags) == session_id
