"""Find what an endpoint serves in moto's backend and unpack its model data from the mocked S3."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_smendpoint.serving.errors import ModelLoadError

# ProductionVariant.InitialVariantWeight when the config leaves it out (CreateEndpointConfig's
# documented default).
DEFAULT_VARIANT_WEIGHT = 1.0


@dataclass(frozen=True)
class ContainerSpec:
    """The container one production variant of an endpoint runs: each variant has its own model,
    and is loaded and served on its own."""

    endpoint_name: str
    variant_name: str
    model_name: str
    model_data_url: str | None
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # ModelDataSource.S3DataSource.CompressionType "None": an S3 prefix of plain files.
    uncompressed_prefix: str | None = None
    # The variant's InitialVariantWeight: its share of the calls that name no TargetVariant.
    weight: float = DEFAULT_VARIANT_WEIGHT
    # The container's Image URI, which says what kind of container (and serving) it is.
    image: str | None = None
    # The variant's InstanceType: its memory bounds the model's processes (instance_memory.py).
    instance_type: str | None = None


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


def split_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ModelLoadError(f"{uri} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def unpack_s3_tarball(s3: Any, uri: str, into: Path) -> None:
    """Download a .tar.gz from the mocked S3 and extract it into `into`, as SageMaker does."""
    bucket, key = split_s3_uri(uri)
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore's ClientError or a missing bucket alike
        raise ModelLoadError(f"could not download {uri}: {error}") from None
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            if hasattr(tarfile, "data_filter"):  # refuses absolute paths and '..' members
                archive.extractall(into, filter="data")
            else:  # pragma: no cover - Python without the PEP 706 backport
                archive.extractall(into)  # noqa: S202
    except (tarfile.TarError, OSError) as error:
        raise ModelLoadError(f"{uri} is not a readable tar.gz: {error}") from None


def download_s3_prefix(s3: Any, uri: str, into: Path) -> None:
    """Copy every object under an S3 prefix into `into` (uncompressed model data)."""
    bucket, prefix = split_s3_uri(uri)
    into.mkdir(parents=True, exist_ok=True)
    found = False
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = (into / relative).resolve()
            if into.resolve() not in target.parents:
                raise ModelLoadError(f"S3 key {item['Key']} escapes the model directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            found = True
    if not found:
        raise ModelLoadError(f"no objects under {uri}")
