"""pytest-smendpoint: deploy a SageMaker endpoint for a test session, predict, tear it down.

Importing this package touches no AWS, no moto and no environment, and imports nothing heavy:
the names below load on first use, so a suite that uses no fixture pays nothing for them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AwsCallError": "errors",
    "DeployError": "errors",
    "ModelResolutionError": "errors",
    "SmEndpointError": "errors",
    "TeardownError": "errors",
    "ExistingEndpoint": "aws.resolve",
    "ModelSpec": "aws.resolve",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytest_smendpoint' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
