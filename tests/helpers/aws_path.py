"""The aws path's test set-up: options for a run against the moto server, an endpoint someone
else made, and a snapshot of everything in the account (for before/after comparisons)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # tests/conftest.py's class: the moto_server fixture's value, named here for the tests' types.
    from conftest import MotoServer as MotoServer
else:
    MotoServer = Any  # at run time only annotations name it, and they are not evaluated

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/ci-sagemaker"
BUCKET = "sagemaker-us-east-1-123456789012"  # the SDK's default bucket of moto's account


def aws_args(*extra: str) -> list[str]:
    return ["--sm-backend=aws", f"--sm-image-uri={IMAGE}", f"--sm-role={ROLE}", *extra]


def create_endpoint(server: MotoServer, name: str) -> None:
    sm = server.client("sagemaker")
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def snapshot(server: MotoServer) -> dict[str, Any]:
    """Everything observable about the account's SageMaker resources, for before/after."""
    sm = server.client("sagemaker")
    state: dict[str, Any] = {}
    for endpoint in sm.list_endpoints()["Endpoints"]:
        state[endpoint["EndpointName"]] = sm.describe_endpoint(
            EndpointName=endpoint["EndpointName"]
        )
    for config in sm.list_endpoint_configs()["EndpointConfigs"]:
        name = config["EndpointConfigName"]
        state[name] = sm.describe_endpoint_config(EndpointConfigName=name)
    for model in sm.list_models()["Models"]:
        state[model["ModelName"]] = sm.describe_model(ModelName=model["ModelName"])
        state[model["ModelName"] + "#tags"] = sm.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    for value in state.values():
        if isinstance(value, dict):
            value.pop("ResponseMetadata", None)
    return state
