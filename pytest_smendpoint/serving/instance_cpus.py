"""How many model-server workers a container starts when SAGEMAKER_MODEL_SERVER_WORKERS is unset:
one per CPU it sees, so the instance type's vCPUs (sagemaker-containers' ServingEnv, behind the
scikit-learn container, defaults to `cpu_count()`; the XGBoost container's `number_of_workers`
and the inference toolkit's model server, `default_workers_per_model`, do the same).

Offline the workers are capped at this machine's cores: more would only take turns on the same
cores and hold more copies of the model in memory; the answers are the same at any count.
"""

from __future__ import annotations

import os
import re

# ml.<family>.<size>: "large" is 2 vCPUs, "xlarge" 4, "<N>xlarge" 4N, "medium" 2 (ml.t2 and
# ml.t3), as AWS lists every SageMaker instance type but the one below.
_SIZE = re.compile(r"^ml\.[a-z0-9-]+\.(?:(medium|large)|(\d*)xlarge)$")
_NOT_BY_SIZE = {"ml.c4.8xlarge": 36}


def instance_vcpus(instance_type: str | None) -> int | None:
    """The vCPUs of a SageMaker instance type, or None for a name that does not say."""
    if instance_type is None:
        return None
    if instance_type in _NOT_BY_SIZE:
        return _NOT_BY_SIZE[instance_type]
    match = _SIZE.match(instance_type)
    if match is None:
        return None
    if match.group(1):
        return 2
    return 4 * int(match.group(2) or 1)


def local_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(instance_type: str | None) -> int:
    """The container's default worker count for this instance type, capped at this machine's
    cores; 1 when the type does not say (a serverless variant's CPUs are not published)."""
    vcpus = instance_vcpus(instance_type)
    if vcpus is None:
        return 1
    return max(1, min(vcpus, local_cores()))
