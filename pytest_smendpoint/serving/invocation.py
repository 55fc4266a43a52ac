"""What joins the container emulator (serving/) to whatever creates and invokes its endpoints
(the moto backend's adapter, aws/backends/moto/): what one invocation carries in and out,
independent of HTTP and of how the model is served; the container a production variant runs;
and the account's side of an endpoint (`Deployments`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from pytest_smendpoint.settings.endpoint_kinds import ServerlessSettings

# ProductionVariant.InitialVariantWeight when the config leaves it out (CreateEndpointConfig's
# documented default).
DEFAULT_VARIANT_WEIGHT = 1.0
# The container's routes a caller may ask for: InvokeEndpoint and a transform job's
# POST /invocations, and the transform agent's GET /execution-parameters (asked once, first).
INVOCATIONS_PATH = "/invocations"
EXECUTION_PARAMETERS_PATH = "/execution-parameters"


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
    # How many model processes serve it, when the caller decides (a transform job's concurrency);
    # None: the container's own SAGEMAKER_MODEL_SERVER_WORKERS rule.
    workers: int | None = None
    # The variant's ServerlessConfig (None: instance-backed): its MemorySizeInMB bounds the
    # model's processes instead of an instance type's memory, /ping gets 3 minutes, requests
    # are limited to 4 MiB and MaxConcurrency in flight (local_serving.py).
    serverless: ServerlessSettings | None = None


@dataclass(frozen=True)
class InvokeRequest:
    """An InvokeEndpoint call as the container sees it."""

    endpoint_name: str
    body: bytes
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None
    # INVOCATIONS_PATH (a POST with the body) or EXECUTION_PARAMETERS_PATH (a GET, no body).
    path: str = INVOCATIONS_PATH
    # The bound on the container's answer, counted from arrival; None: real-time's 60 s (a
    # transform job's ModelClientConfig.InvocationsTimeoutInSeconds sets its own).
    timeout: float | None = None


@dataclass(frozen=True)
class InvokeResult:
    """The container's answer: body, its media type and the custom attributes it set."""

    body: bytes
    content_type: str
    custom_attributes: str | None = None


class ServedModel(Protocol):
    """A loaded model, whichever way it is served; `invoke` must be thread-safe."""

    def invoke(self, request: InvokeRequest) -> InvokeResult: ...

    def close(self) -> None: ...


class Deployments(Protocol):
    """The account that creates the endpoints a LocalServing serves: it alone knows an endpoint's
    production variants, their containers and their weights (moto's state, for the moto backend).
    An endpoint is whatever object `find` returns; a deleted and re-created one is a new object."""

    def find(self, region: str, endpoint_name: str) -> Any | None:
        """The endpoint as the account holds it now, or None when there is no such endpoint."""
        ...

    def name_of(self, endpoint: Any) -> str: ...

    def variant_names(self, endpoint: Any) -> tuple[str, ...]: ...

    def containers(self, region: str, endpoint: Any) -> tuple[ContainerSpec, ...]:
        """One spec per production variant, in the config's order (ModelLoadError: why not)."""
        ...

    def weights(self, endpoint: Any, specs: Sequence[ContainerSpec]) -> tuple[float, ...]:
        """Each variant's weight now, for the calls that name no TargetVariant."""
        ...

    def mark_failed(self, endpoint: Any, reason: str) -> None:
        """DescribeEndpoint says Failed from now on, with `reason`."""
        ...
