"""What every container profile deals in: the files a container finds at start (staged by the
test process), and one request and its reply (handled in the model process)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

# SageMaker mounts the model here; SAGEMAKER_SUBMIT_DIRECTORY values may point into it.
CONTAINER_MODEL_DIR = "/opt/ml/model"
# The framework containers' code folder (sagemaker-containers' `code_dir`).
CONTAINER_CODE_DIR = "/opt/ml/code"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
# The routes a request may take (serving/invocation.py names them for callers): POST
# /invocations, and the batch transform agent's GET /execution-parameters.
INVOCATIONS = "/invocations"
EXECUTION_PARAMETERS = "/execution-parameters"


class StartupFailure(Exception):
    """The container would not become healthy: what it says, and what to change."""


@dataclass(frozen=True)
class StageInput:
    """What the test process knows when it lays out a container's filesystem."""

    image: str
    variant_name: str
    environment: Mapping[str, str]
    model_dir: Path
    workdir: Path
    s3: Any  # a boto3 S3 client of the mocked account
    # Whose packages the model's processes get (runtimes.selection): "image" or "test-env".
    packages: str = "image"


@dataclass(frozen=True)
class Staged:
    """A container ready to start: its code folder, requirements to install first, the variables
    the image itself sets, and what the model process needs to load the model (JSON-able)."""

    worker_module: str
    settings: Mapping[str, Any]
    code_dir: Path | None = None
    requirements: Path | None = None
    image_environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Request:
    """One invocation as the container receives it."""

    body: bytes
    content_type: str | None
    accept: str | None
    custom_attributes: str | None = None
    path: str = INVOCATIONS


@dataclass(frozen=True)
class Reply:
    """The container's HTTP answer; `log` is what it would write to CloudWatch (a traceback)."""

    status: int
    body: bytes
    content_type: str
    custom_attributes: str | None = None
    log: str | None = None


class Handler(Protocol):
    """A loaded model inside the model process. A handler may also say, as an attribute
    `csv_float32` (see `handler_reads_float32`), that it reads CSV numbers as float32."""

    def __call__(self, request: Request) -> Reply: ...


def handler_reads_float32(handler: object) -> bool:
    """Whether every number of a text/csv body reaches the model as the float32 nearest to the
    float64 the text reads as (the scikit-learn and XGBoost images' default input handling):
    then a client may send shorter text (invoke/csv_payloads.py). False when unknown."""
    return getattr(handler, "csv_float32", False) is True


def module_name(program: str) -> str:
    """SAGEMAKER_PROGRAM -> the module both toolkits import (`inference.py` -> `inference`)."""
    return program[:-3] if program.endswith(".py") else program
