"""Serve deployed models for real behind moto: InvokeEndpoint answered in-process by the model's
inference handlers, or by a bring-your-own serving process on 127.0.0.1."""

from __future__ import annotations

from pytest_smendpoint.serving.errors import (
    EndpointNotFound,
    EndpointNotServed,
    InvocationError,
    LocalServingError,
    ModelLoadError,
    UnsupportedFormatError,
)
from pytest_smendpoint.serving.handler import InvocationContext
from pytest_smendpoint.serving.local_serving import DEFAULT_STARTUP_TIMEOUT, LocalServing
from pytest_smendpoint.serving.routing import MOTO_CONFIG

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "MOTO_CONFIG",
    "EndpointNotFound",
    "EndpointNotServed",
    "InvocationContext",
    "InvocationError",
    "LocalServing",
    "LocalServingError",
    "ModelLoadError",
    "UnsupportedFormatError",
]
