"""What CreateEndpointConfig is sent for each kind of endpoint: instances, a ServerlessConfig
instead of them, or an AsyncInferenceConfig beside them."""

from __future__ import annotations

from typing import Any

from pytest_smendpoint.aws.endpoints import create_endpoint_config
from pytest_smendpoint.aws.records import EndpointPlan
from pytest_smendpoint.settings.endpoint_kinds import (
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
)


class RecordingSageMaker:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"EndpointConfigArn": "arn"}


def sent(plan: EndpointPlan) -> dict[str, Any]:
    sagemaker = RecordingSageMaker()
    create_endpoint_config(sagemaker, plan, [{"Key": "k", "Value": "v"}])
    return sagemaker.calls[0]


def test_a_real_time_endpoint_gets_instances_and_no_async_config() -> None:
    plan = EndpointPlan("e", "c", "m", instance_type="ml.c5.xlarge", instance_count=2)
    call = sent(plan)
    assert plan.kind is EndpointKind.REAL_TIME
    assert call["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "m",
            "InitialVariantWeight": 1.0,
            "InitialInstanceCount": 2,
            "InstanceType": "ml.c5.xlarge",
        }
    ]
    assert "AsyncInferenceConfig" not in call


def test_a_serverless_endpoint_sends_its_config_instead_of_instances() -> None:
    serverless = ServerlessSettings(memory_mb=3072, max_concurrency=7, provisioned_concurrency=2)
    plan = EndpointPlan("e", "c", "m", instance_type="ml.c5.xlarge", serverless=serverless)
    (variant,) = sent(plan)["ProductionVariants"]
    assert plan.kind is EndpointKind.SERVERLESS
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 7,
        "ProvisionedConcurrency": 2,
    }


def test_an_async_endpoint_keeps_its_instances_and_adds_the_async_config() -> None:
    settings = AsyncSettings(
        enabled=True,
        output_path="s3://b/out",
        failure_path="s3://b/failed",
        max_concurrent_invocations_per_instance=4,
    )
    plan = EndpointPlan("e", "c", "m", async_inference=settings)
    call = sent(plan)
    assert plan.kind is EndpointKind.ASYNC
    assert call["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert call["AsyncInferenceConfig"] == {
        "OutputConfig": {"S3OutputPath": "s3://b/out", "S3FailurePath": "s3://b/failed"},
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }


class ConfigOnly:
    """DescribeEndpoint (InService) and DescribeEndpointConfig of one existing endpoint."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        return {"EndpointStatus": "InService", "EndpointConfigName": "prod-config"}

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        return self.config


def test_an_existing_endpoints_kind_is_read_from_its_config() -> None:
    from pytest_smendpoint.aws.endpoints import attach
    from pytest_smendpoint.aws.resolve import ExistingEndpoint

    def attached(config: dict[str, Any]) -> Any:
        account = ConfigOnly(config)
        return attach(account, ExistingEndpoint("prod"), region="us-east-1", backend="aws")

    serverless = attached(
        {
            "ProductionVariants": [
                {
                    "ModelName": "m",
                    "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 20},
                }
            ]
        }
    )
    assert serverless.kind is EndpointKind.SERVERLESS
    assert serverless.serverless == ServerlessSettings(memory_mb=4096, max_concurrency=20)
    asynchronous = attached(
        {
            "ProductionVariants": [{"ModelName": "m", "InstanceType": "ml.m5.large"}],
            "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bkt/out"}},
        }
    )
    assert asynchronous.kind is EndpointKind.ASYNC
    assert asynchronous.async_inference == AsyncSettings(enabled=True, output_path="s3://bkt/out")
    real_time = attached(
        {"ProductionVariants": [{"ModelName": "m", "InstanceType": "ml.m5.large"}]}
    )
    assert real_time.kind is EndpointKind.REAL_TIME and real_time.serverless is None
