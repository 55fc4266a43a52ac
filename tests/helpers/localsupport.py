"""Constants and helpers shared by the local-serving tests (conftest holds the fixtures)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

from helpers.container_setup import MODEL_FN
from pytest_smendpoint.aws.backends.moto.serving import MotoServing
from pytest_smendpoint.serving.loader import LoadedModel
from pytest_smendpoint.serving.model_process import ModelProcesses
from pytest_smendpoint.serving.modes.byo import ByoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "models"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm"
# Real image URIs: the profile (the container's serving rules) is chosen from the repository name.
TOOLKIT_IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/my-inference-toolkit:1.10.1"
BYO_IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/my-byo-server:latest"
# Flask's 500 page: the scikit-learn container's answer to any error in a request.
FLASK_500 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application.</p>\n"
)
# The same error under Flask 3 / Werkzeug 3.1.8 (the scikit-learn 1.9-0 image the tests use).
FLASK_3_500 = (
    "<!doctype html>\n<html lang=en>\n"
    "<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application.</p>\n"
)

FEATURES = np.array(
    [
        [0.1, 1.2, 3.3],
        [2.5, 0.4, 1.1],
        [1.7, 2.2, 0.3],
        [3.1, 0.9, 2.8],
        [0.2, 0.1, 0.5],
        [2.9, 3.0, 1.9],
        [1.1, 1.4, 2.2],
        [0.6, 2.7, 0.8],
    ]
)
CLASSES = np.array([0, 1, 0, 1, 0, 1, 1, 0])


def pack(files: Mapping[str, Any]) -> bytes:
    """A model.tar.gz from {relative path: model object | text | bytes}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            if isinstance(content, str):
                data = textwrap.dedent(content).encode("utf-8")
            elif isinstance(content, bytes):
                data = content
            else:
                held = io.BytesIO()
                joblib.dump(content, held)
                data = held.getvalue()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def with_model(model: Any, script: str = "", **more: Any) -> dict[str, Any]:
    """model.joblib plus code/inference.py: MODEL_FN followed by `script`'s handlers."""
    return {
        "model.joblib": model,
        "code/inference.py": MODEL_FN + "\n\n" + textwrap.dedent(script),
        **more,
    }


@dataclass(frozen=True)
class Deployed:
    name: str
    model_name: str
    config_name: str
    variant: str


def csv_rows(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def csv_predictions(body: bytes) -> list[float]:
    return [float(line) for line in body.decode().splitlines()]


def loaded_variants(serving: MotoServing, name: str, region: str = REGION) -> list[LoadedModel]:
    """The variants `serving` has loaded for endpoint `name` (the tests look inside the serving)."""
    variants = serving._slots[(region, name)].variants
    assert variants is not None, f"endpoint {name!r} is not loaded"
    return variants.loaded


def model_processes(item: LoadedModel) -> ModelProcesses:
    """The model processes (one per worker) that serve a variant of the container mode."""
    assert isinstance(item.served, ModelProcesses)
    return item.served


def byo_process(item: LoadedModel) -> subprocess.Popen[bytes]:
    """The running server process of a variant served by a BYO serve command."""
    assert isinstance(item.served, ByoServer) and item.served.process is not None
    return item.served.process
