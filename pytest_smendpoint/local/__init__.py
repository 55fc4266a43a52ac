"""Serve deployed models for real behind moto: InvokeEndpoint answered in-process by the model's
inference handlers, or by a bring-your-own serving process on 127.0.0.1."""

from __future__ import annotations

from .errors import (
    EndpointNotFound,
    EndpointNotServed,
    InvocationError,
    LocalServingError,
    ModelLoadError,
    UnsupportedFormatError,
)
from .handler import InvocationContext
from .routing import MOTO_CONFIG
from .serving import DEFAULT_STARTUP_TIMEOUT, LocalServing

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
