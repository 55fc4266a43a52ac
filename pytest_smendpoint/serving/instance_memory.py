"""The memory of the instance type a production variant runs on, which bounds the model's
processes as the instance's RAM bounds the container (model_worker applies it as RLIMIT_DATA).

GiB per instance type as AWS lists them for SageMaker (aws.amazon.com/sagemaker/pricing,
"Instance details"; the same sizes as the EC2 types they are built on). An unknown type is not
bounded, and the log says so."""

from __future__ import annotations

import logging

logger = logging.getLogger("pytest_smendpoint.serving")

GIB = 1 << 30
INSTANCE_MEMORY_GIB: dict[str, float] = {
    "ml.t2.medium": 4,
    "ml.t2.large": 8,
    "ml.t2.xlarge": 16,
    "ml.t2.2xlarge": 32,
    "ml.m4.xlarge": 16,
    "ml.m4.2xlarge": 32,
    "ml.m4.4xlarge": 64,
    "ml.m4.10xlarge": 160,
    "ml.m4.16xlarge": 256,
    "ml.m5.large": 8,
    "ml.m5.xlarge": 16,
    "ml.m5.2xlarge": 32,
    "ml.m5.4xlarge": 64,
    "ml.m5.12xlarge": 192,
    "ml.m5.24xlarge": 384,
    "ml.m5d.large": 8,
    "ml.m5d.xlarge": 16,
    "ml.m5d.2xlarge": 32,
    "ml.m5d.4xlarge": 64,
    "ml.m6i.large": 8,
    "ml.m6i.xlarge": 16,
    "ml.m6i.2xlarge": 32,
    "ml.m6i.4xlarge": 64,
    "ml.c4.large": 3.75,
    "ml.c4.xlarge": 7.5,
    "ml.c4.2xlarge": 15,
    "ml.c4.4xlarge": 30,
    "ml.c4.8xlarge": 60,
    "ml.c5.large": 4,
    "ml.c5.xlarge": 8,
    "ml.c5.2xlarge": 16,
    "ml.c5.4xlarge": 32,
    "ml.c5.9xlarge": 72,
    "ml.c5.18xlarge": 144,
    "ml.c6i.large": 4,
    "ml.c6i.xlarge": 8,
    "ml.c6i.2xlarge": 16,
    "ml.c6i.4xlarge": 32,
    "ml.r5.large": 16,
    "ml.r5.xlarge": 32,
    "ml.r5.2xlarge": 64,
    "ml.r5.4xlarge": 128,
    "ml.g4dn.xlarge": 16,
    "ml.g4dn.2xlarge": 32,
    "ml.g5.xlarge": 16,
    "ml.g5.2xlarge": 32,
    "ml.p3.2xlarge": 61,
}


def bound(instance_type: str | None, endpoint_name: str) -> int | None:
    """The instance type's memory in bytes, or None (said in the log) when it is not known."""
    if instance_type is None:
        return None
    gib = INSTANCE_MEMORY_GIB.get(instance_type)
    if gib is None:
        logger.warning(
            "endpoint %s: the memory of instance type %s is not known here; its model's "
            "processes are not bounded by the instance's memory",
            endpoint_name,
            instance_type,
        )
        return None
    return int(gib * GIB)
