"""What several benchmarks deploy: the quickstart's model (`examples/quickstart/train.py`),
uploaded to a moto backend's mocked S3, served as the scikit-learn container serves it. Only
the plugin's public library (`pytest_smendpoint`) is used to deploy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

MODEL_TAR = Path(__file__).resolve().parent.parent / "examples/quickstart/build/model.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/bench"
# The container finds code/inference.py inside model.tar.gz only through /opt/ml/model/code.
ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}


def require_model() -> Path:
    """The packed model, or exit saying how to build it."""
    if not MODEL_TAR.exists():
        sys.exit(f"run `python examples/quickstart/train.py` first ({MODEL_TAR} is missing)")
    return MODEL_TAR


def settings() -> Any:
    """Default settings with the quickstart's image and environment."""
    from pytest_smendpoint import make_settings

    return make_settings(image_uri=IMAGE, env=ENVIRONMENT)


def upload(backend: Any) -> Any:
    """Put the model in the backend's S3 (bucket `bench`) and return the ModelSpec to deploy."""
    from pytest_smendpoint import ModelSpec

    s3 = backend.boto_session.client("s3")
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(require_model()), "bench", "model.tar.gz")
    return ModelSpec(
        image_uri=IMAGE,
        role_arn=ROLE,
        model_data_url="s3://bench/model.tar.gz",
        environment=ENVIRONMENT,
    )
