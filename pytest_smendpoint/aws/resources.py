"""The three SageMaker resource kinds a session creates, and the facts every caller shares about
them: how each is described, listed, tagged and deleted, how SageMaker says one is gone, and
whether one carries this session's tag. Teardown, the sweep and the xdist controller all read
this one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pytest_smendpoint.settings.naming import TAG_SESSION


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
# Deletion order: an endpoint before the config it serves, a config before its models.
KINDS = (ENDPOINT, ENDPOINT_CONFIG, MODEL)


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
        arn = getattr(sagemaker, kind.describe)(**{kind.name_parameter: name})[kind.arn_key]
        tags = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return False  # not there (never created, or already deleted), or not readable
    return session_of(tags) == session_id
