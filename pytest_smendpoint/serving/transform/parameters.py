"""A transform job's settings as the agent resolves them: what CreateTransformJob set wins, then
what the container's GET /execution-parameters answers, then SageMaker's defaults ("SageMaker
determines the values for these parameters using this order of precedence", docs:
sagemaker/latest/dg/your-algorithms-batch-code.html#your-algorithms-batch-code-how-containe-serves-requests)."""

from __future__ import annotations

import json
from dataclasses import dataclass

# The defaults table of that page, and the API reference: MaxConcurrentTransforms 1 ("If the
# execution-parameters endpoint is not enabled, the default value is 1"), MaxPayloadInMB 6,
# BatchStrategy MultiRecord (as the SageMaker SDK's local mode applies them, sagemaker/local/
# entities.py `_get_required_defaults`).
DEFAULT_MAX_CONCURRENT_TRANSFORMS = 1
DEFAULT_MAX_PAYLOAD_MB = 6
MULTI_RECORD = "MultiRecord"
SINGLE_RECORD = "SingleRecord"
DEFAULT_BATCH_STRATEGY = MULTI_RECORD
# ModelClientConfig's defaults, {600, 3} (the SDK's TransformInput docs; API_ModelClientConfig).
DEFAULT_INVOCATION_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 3
# The container environment's spelling of BatchStrategy (SAGEMAKER_BATCH_STRATEGY, and the
# example answer of /execution-parameters), and the API's.
_STRATEGIES = {
    "MULTI_RECORD": MULTI_RECORD,
    "SINGLE_RECORD": SINGLE_RECORD,
    MULTI_RECORD: MULTI_RECORD,
    SINGLE_RECORD: SINGLE_RECORD,
}
MEBIBYTE = 2**20


@dataclass(frozen=True)
class JobSettings:
    """What CreateTransformJob said; None where it said nothing."""

    job_name: str
    max_concurrent_transforms: int | None = None
    max_payload_mb: int | None = None
    batch_strategy: str | None = None
    split_type: str = "None"
    compression: str = "None"
    content_type: str | None = None
    accept: str | None = None
    assemble_with: str = "None"
    invocation_timeout: float | None = None
    max_retries: int | None = None
    instance_count: int = 1

    def container_environment(self) -> dict[str, str]:
        """What SageMaker adds to the container's environment for a transform job: always
        SAGEMAKER_BATCH=true; the other three only when the job set them (the page above: "If
        the user doesn't set values for them, they aren't passed")."""
        environment = {"SAGEMAKER_BATCH": "true"}
        if self.max_payload_mb is not None:
            environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(self.max_payload_mb)
        if self.batch_strategy is not None:
            spelled = "SINGLE_RECORD" if self.batch_strategy == SINGLE_RECORD else "MULTI_RECORD"
            environment["SAGEMAKER_BATCH_STRATEGY"] = spelled
        if self.max_concurrent_transforms:
            environment["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(self.max_concurrent_transforms)
        return environment


@dataclass(frozen=True)
class Resolved:
    """The settings the job runs with."""

    max_concurrent_transforms: int
    max_payload_mb: int
    batch_strategy: str

    @property
    def max_payload_bytes(self) -> int:
        """0: no limit (MaxPayloadInMB=0, for chunked payloads)."""
        return self.max_payload_mb * MEBIBYTE

    @property
    def single_record(self) -> bool:
        return self.batch_strategy == SINGLE_RECORD

    def log_line(self) -> str:
        """The first line of the job's data log, as SageMaker writes it (field reports:
        `[sagemaker logs]: MaxConcurrentTransforms=1, MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD`,
        aws/amazon-sagemaker-examples#1620, aws/sagemaker-python-sdk#1882)."""
        strategy = "SINGLE_RECORD" if self.single_record else "MULTI_RECORD"
        return (
            f"MaxConcurrentTransforms={self.max_concurrent_transforms}, "
            f"MaxPayloadInMB={self.max_payload_mb}, BatchStrategy={strategy}"
        )


def resolve(job: JobSettings, answer: bytes | None) -> Resolved:
    """The job's values, else the container's (`answer`: the body of a 200 to GET
    /execution-parameters, None for any other answer), else the defaults. A key the answer
    lacks, or holds in a form the agent cannot read, falls through to the default."""
    offered = _offered(answer)
    concurrency = job.max_concurrent_transforms or None  # 0 means "not set" too
    if concurrency is None:
        concurrency = _positive(offered.get("MaxConcurrentTransforms"))
    payload = job.max_payload_mb
    if payload is None:
        payload = _non_negative(offered.get("MaxPayloadInMB"))
    strategy = job.batch_strategy or _STRATEGIES.get(str(offered.get("BatchStrategy")))
    return Resolved(
        max_concurrent_transforms=concurrency or DEFAULT_MAX_CONCURRENT_TRANSFORMS,
        max_payload_mb=DEFAULT_MAX_PAYLOAD_MB if payload is None else payload,
        batch_strategy=strategy or DEFAULT_BATCH_STRATEGY,
    )


def _offered(answer: bytes | None) -> dict[str, object]:
    if not answer:
        return {}
    try:
        parsed = json.loads(answer)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _non_negative(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
