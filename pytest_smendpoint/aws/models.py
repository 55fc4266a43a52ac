"""SageMaker models: create one from a resolved ModelSpec, delete one. A model is what an
endpoint's variant serves and what a transform job would run; it knows neither."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_smendpoint.aws.redaction import mask_also
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.aws.resources import MODEL, checked_call, delete
from pytest_smendpoint.settings.environment import as_environment


def create_model(
    sagemaker: Any, model: ModelSpec, name: str, tags: Sequence[dict[str, str]]
) -> Any:
    """CreateModel with the spec's image, model data, environment and role (AwsCallError on
    failure); the environment's values are masked in the logs from now on."""
    container: dict[str, Any] = {"Image": model.image_uri}
    if model.model_data_url:
        container["ModelDataUrl"] = model.model_data_url
    if model.environment:
        environment = as_environment(model.environment)
        mask_also(environment.values())  # the request body and DescribeModel carry them
        container["Environment"] = environment.request_value()
    return checked_call(
        "CreateModel",
        f"{MODEL.label} {name}",
        sagemaker.create_model,
        ModelName=name,
        PrimaryContainer=container,
        ExecutionRoleArn=model.role_arn,
        Tags=list(tags),
    )


def delete_model(sagemaker: Any, name: str) -> None:
    """DeleteModel (botocore's errors as they are: teardown reads "already gone")."""
    delete(sagemaker, MODEL, name)
