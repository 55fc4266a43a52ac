"""The moto-state half of the serving: what an endpoint serves, read from moto's in-memory
SageMaker backend (the `Deployments` the container emulator asks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.invocation import DEFAULT_VARIANT_WEIGHT, ContainerSpec
from pytest_smendpoint.settings.endpoint_kinds import (
    SERVERLESS_DEFAULT_MAX_CONCURRENCY,
    ServerlessSettings,
)


def moto_sagemaker_state(account_id: str, region: str) -> Any:
    """moto's in-memory SageMaker backend of one account and region."""
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account_id][region]


def containers_for(backend: Any, endpoint: Any) -> tuple[ContainerSpec, ...]:
    """endpoint -> config -> one spec per production variant, in the config's order: each
    variant's model -> PrimaryContainer (or Containers[0])."""
    name = endpoint.endpoint_name
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if config is None:
        raise ModelLoadError(
            f"endpoint config {endpoint.endpoint_config_name} of endpoint {name} not found"
        )
    if not config.production_variants:
        raise ModelLoadError(f"endpoint config {config.endpoint_config_name} has no variants")
    return tuple(
        _variant_container(backend, name, variant) for variant in config.production_variants
    )


def _variant_container(
    backend: Any, endpoint_name: str, variant: Mapping[str, Any]
) -> ContainerSpec:
    variant_name = variant.get("VariantName", "AllTraffic")
    model_name = variant.get("ModelName", "")
    # moto keeps models in a private dict; there is no public getter that does not raise.
    model = backend._models.get(model_name)
    if model is None:
        raise ModelLoadError(
            f"model {model_name} of production variant {variant_name} of endpoint "
            f"{endpoint_name} not found"
        )
    container = model.primary_container or (model.containers[0] if model.containers else {})
    url = container.get("ModelDataUrl")
    prefix = None
    s3_source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if not url and s3_source.get("S3Uri"):
        if s3_source.get("CompressionType", "None") == "Gzip":
            url = s3_source["S3Uri"]
        else:
            prefix = s3_source["S3Uri"]
    weight = variant.get("InitialVariantWeight")
    return ContainerSpec(
        endpoint_name=endpoint_name,
        variant_name=variant_name,
        model_name=model_name,
        model_data_url=url,
        environment=MappingProxyType(dict(container.get("Environment") or {})),
        uncompressed_prefix=prefix,
        weight=DEFAULT_VARIANT_WEIGHT if weight is None else float(weight),
        image=container.get("Image"),
        instance_type=variant.get("InstanceType"),
        serverless=serverless_of(variant),
    )


def serverless_of(variant: Mapping[str, Any]) -> ServerlessSettings | None:
    """The variant's ServerlessConfig as settings, or None for an instance-backed variant. moto
    checks MemorySizeInMB only; MaxConcurrency, required by SageMaker, falls back to the SDK's 5."""
    config = variant.get("ServerlessConfig")
    if not config:
        return None
    provisioned = config.get("ProvisionedConcurrency")
    return ServerlessSettings(
        memory_mb=int(config["MemorySizeInMB"]),
        max_concurrency=int(config.get("MaxConcurrency") or SERVERLESS_DEFAULT_MAX_CONCURRENCY),
        provisioned_concurrency=None if provisioned is None else int(provisioned),
    )


def current_weights(endpoint: Any, specs: Sequence[ContainerSpec]) -> tuple[float, ...]:
    """Each variant's weight now: UpdateEndpointWeightsAndCapacities sets CurrentWeight on moto's
    endpoint; until then it is the config's InitialVariantWeight. (moto copies the initial weight
    to CurrentWeight only when it is truthy, so a weight of 0 is read from the config.)"""
    current = {v.get("VariantName"): v.get("CurrentWeight") for v in endpoint.production_variants}
    weights = []
    for spec in specs:
        value = current.get(spec.variant_name)
        weights.append(float(value) if isinstance(value, (int, float)) else spec.weight)
    return tuple(weights)


class MotoDeployments:
    """The `Deployments` of one mocked account: moto's endpoints, read on every call."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def find(self, region: str, endpoint_name: str) -> Any | None:
        return moto_sagemaker_state(self.account_id, region).endpoints.get(endpoint_name)

    def name_of(self, endpoint: Any) -> str:
        return str(endpoint.endpoint_name)

    def variant_names(self, endpoint: Any) -> tuple[str, ...]:
        return tuple(v.get("VariantName") for v in endpoint.production_variants)

    def containers(self, region: str, endpoint: Any) -> tuple[ContainerSpec, ...]:
        return containers_for(moto_sagemaker_state(self.account_id, region), endpoint)

    def weights(self, endpoint: Any, specs: Sequence[ContainerSpec]) -> tuple[float, ...]:
        return current_weights(endpoint, specs)

    def mark_failed(self, endpoint: Any, reason: str) -> None:
        # moto has no Failed phase of its own: set the fields DescribeEndpoint reads.
        endpoint.endpoint_status = "Failed"
        endpoint.failure_reason = reason
