"""The kinds of endpoint a session can deploy, as settings: instance-backed real-time (the
default), serverless, asynchronous. One module so the options, the plan, the endpoint config,
the invoker and the offline serving agree on what each kind is.

Serverless endpoints have no instances (a ServerlessConfig replaces InstanceType and
InitialInstanceCount in the production variant); asynchronous endpoints are instance-backed
and add an AsyncInferenceConfig to the endpoint config (S3 output and failure paths)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class EndpointKind(str, Enum):
    """What an endpoint is, as reports and the invoker tell them apart."""

    REAL_TIME = "real-time"
    SERVERLESS = "serverless"
    ASYNC = "async"

    def __str__(self) -> str:
        return self.value


# SageMaker's ServerlessConfig bounds (CreateEndpointConfig's API reference).
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200
# MaxConcurrency is required by the API; the SageMaker SDK's ServerlessInferenceConfig uses 5.
SERVERLESS_DEFAULT_MAX_CONCURRENCY = 5
# InvokeEndpointAsync's InvocationTimeoutSeconds: 1-3600, SageMaker's default 900.
ASYNC_MAX_INVOCATION_TIMEOUT = 3600
ASYNC_DEFAULT_INVOCATION_TIMEOUT = 900


@dataclass(frozen=True)
class ServerlessSettings:
    """ServerlessConfig (memory_mb None: not serverless). SageMaker's rules: MemorySizeInMB
    1024-6144 in 1024 steps, MaxConcurrency 1-200, ProvisionedConcurrency 1-MaxConcurrency."""

    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None

    @property
    def enabled(self) -> bool:
        return self.memory_mb is not None

    def describe(self) -> str:
        """`serverless 2048 MB, max concurrency 5, provisioned concurrency 1`: what reports show
        instead of instances."""
        provisioned = (
            f"provisioned concurrency {self.provisioned_concurrency}"
            if self.provisioned_concurrency is not None
            else "no provisioned concurrency"
        )
        return (
            f"serverless {self.memory_mb} MB, max concurrency {self.max_concurrency}, {provisioned}"
        )


@dataclass(frozen=True)
class AsyncSettings:
    """AsyncInferenceConfig and how sm_invoke waits for answers (enabled False: real-time).
    output_path None: under the session's prefix in the account's SageMaker bucket."""

    enabled: bool = False
    output_path: str | None = None
    failure_path: str | None = None
    max_concurrent_invocations_per_instance: int | None = None
    invocation_timeout: int = ASYNC_DEFAULT_INVOCATION_TIMEOUT


def capacity(
    instance_type: str | None,
    instance_count: int | None,
    serverless: ServerlessSettings | None = None,
    asynchronous: bool = False,
) -> str:
    """What an endpoint runs on, in one phrase for headers, progress lines and reports:
    `ml.m5.large x 1`, `ml.m5.large x 1, async`, or the serverless configuration."""
    if serverless is not None and serverless.enabled:
        return serverless.describe()
    text = f"{instance_type} x {instance_count}" if instance_type else "as deployed"
    return f"{text}, async" if asynchronous else text
