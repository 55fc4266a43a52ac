"""What a deployment is planned as and what it became: the records every layer passes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pytest_smendpoint.settings.endpoint_kinds import (
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
    capacity,
)
from pytest_smendpoint.settings.options import default


class TeardownStatus(str, Enum):
    """What happened to an endpoint at the session's end (a str, so JSON and text show it)."""

    PENDING = "pending"  # not yet, or never (the session was interrupted)
    DELETED = "deleted"
    KEPT = "kept"  # --sm-keep-endpoint
    FAILED = "failed"
    NOT_OWNED = "not owned"  # attached: an existing or baseline endpoint
    BY_CONTROLLER = "by the xdist controller"  # a worker's record: deleted elsewhere, later

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class EndpointPlan:
    """How to deploy: names, instances (or a serverless configuration), variant timeouts, an
    asynchronous inference configuration, and tags."""

    endpoint_name: str
    config_name: str
    model_name: str
    instance_type: str = default("instance_type")
    instance_count: int = 1
    variant_name: str = "AllTraffic"
    model_data_download_timeout: int | None = None
    container_startup_health_check_timeout: int | None = None
    deploy_timeout: float = default("deploy_timeout")
    session_id: str = ""
    tags: tuple[dict[str, str], ...] = ()
    serverless: ServerlessSettings | None = None  # set: no instances are sent
    async_inference: AsyncSettings | None = None

    @property
    def capacity(self) -> str:
        """What it runs on, for progress lines and diagnostics (endpoint_kinds.capacity)."""
        return capacity(
            self.instance_type,
            self.instance_count,
            self.serverless,
            asynchronous=self.async_inference is not None,
        )

    @property
    def kind(self) -> EndpointKind:
        if self.serverless is not None:
            return EndpointKind.SERVERLESS
        if self.async_inference is not None:
            return EndpointKind.ASYNC
        return EndpointKind.REAL_TIME


@dataclass
class EndpointRecord:
    """A deployed (or attached) endpoint: what `sm_endpoint` hands to tests."""

    name: str
    config_name: str
    model_names: tuple[str, ...]
    region: str
    backend: str
    deploy_seconds: float
    owned: bool
    instance_type: str | None = None
    instance_count: int | None = None
    source: str = ""
    teardown: TeardownStatus = TeardownStatus.PENDING
    manual_commands: list[str] = field(default_factory=list)
    # After teardown, DescribeEndpoint said "not found" or Deleting (None: not checked).
    deletion_confirmed: bool | None = None
    # Under moto: the Python and packages that served the model (None: SageMaker served it).
    serving_runtime: str | None = None
    # What kind of endpoint it is; a serverless one has its ServerlessConfig instead of
    # instances, an asynchronous one its AsyncInferenceConfig beside them.
    kind: EndpointKind = EndpointKind.REAL_TIME
    serverless: ServerlessSettings | None = None
    async_inference: AsyncSettings | None = None
    # Whether every variant reads CSV numbers as float32 (sm_invoke then sends shorter text).
    csv_float32: bool = False

    @property
    def capacity(self) -> str:
        """`ml.m5.large x 1`, or the serverless configuration (endpoint_kinds.capacity)."""
        return capacity(
            self.instance_type,
            self.instance_count,
            self.serverless,
            asynchronous=self.kind is EndpointKind.ASYNC,
        )


@dataclass
class TransformRecord:
    """One sm_transform call, for the session report."""

    job_name: str
    source: str
    instance_type: str
    instance_count: int
    rows: int = 0
    objects: int = 0
    status: str = "NotStarted"
    job_seconds: float = 0.0  # CreateTransformJob to Completed
    call_seconds: float = 0.0  # the whole call: upload, job, read back
    failure: str | None = None
    output_uri: str = ""

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.call_seconds if self.call_seconds > 0 and self.rows else None
