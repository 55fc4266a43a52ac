"""pytest-smendpoint: deploy a SageMaker endpoint for a test session, predict, tear it down.

Importing this package touches no AWS, no moto and no environment, and imports nothing heavy:
the names below load on first use, so a suite that uses no fixture pays nothing for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "AwsCallError": "errors",
    "DeployError": "errors",
    "ModelResolutionError": "errors",
    "SmEndpointError": "errors",
    "TeardownError": "errors",
    "ExistingEndpoint": "aws.resolve",
    "ModelSpec": "aws.resolve",
    "EndpointRecord": "aws.records",
    "TeardownStatus": "aws.records",
    "EndpointFactory": "endpoints.factory",
    "Comparer": "invoke.compare",
    "Comparison": "invoke.compare",
    "ComparisonError": "invoke.compare",
    "Invoker": "invoke.invoker",
    "InvocationStats": "invoke.invoker",
    "MetricRecorder": "reporting.gates",
    "MissingExtraError": "extras",
    "Settings": "settings.options",
}
__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from pytest_smendpoint.aws.records import EndpointRecord, TeardownStatus
    from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.errors import (
        AwsCallError,
        DeployError,
        ModelResolutionError,
        SmEndpointError,
        TeardownError,
    )
    from pytest_smendpoint.extras import MissingExtraError
    from pytest_smendpoint.invoke.compare import Comparer, Comparison, ComparisonError
    from pytest_smendpoint.invoke.invoker import InvocationStats, Invoker
    from pytest_smendpoint.reporting.gates import MetricRecorder
    from pytest_smendpoint.settings.options import Settings


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytest_smendpoint' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
