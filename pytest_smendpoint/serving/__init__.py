"""The container emulator: serve an account's endpoints for real, each model in its own processes
under the rules of its image's container (modes/container.py, profiles/, runtimes/), or by a
bring-your-own serving process on 127.0.0.1 (modes/byo.py). It knows nothing of moto: the moto
backend's adapter (aws/backends/moto/) attaches a LocalServing to the mocked account, joined to it
by the types of invocation.py.

The names below load on first use: the model process imports this package too, and must not
pay for botocore and moto to answer requests."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EndpointNotFound": "errors",
    "EndpointNotServed": "errors",
    "InvocationError": "errors",
    "LocalServingError": "errors",
    "ModelLoadError": "errors",
    "DEFAULT_STARTUP_TIMEOUT": "local_serving",
    "LocalServing": "local_serving",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytest_smendpoint.serving' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
