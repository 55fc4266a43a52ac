"""pytest-smendpoint: deploy a SageMaker endpoint for a test session, predict, tear it down.

Importing this package touches no AWS, no moto and no environment, and imports nothing heavy:
the names below load on first use, so a suite that uses no fixture pays nothing for them.
This is the one public place for them (the library, its records and every error): the modules
behind it are the plugin's own and may move.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "DeployedEndpoint": "api",
    "deploy": "api",
    "make_invoker": "api",
    "make_settings": "api",
    "open_account": "api",
    "transformer": "api",
    "AwsCallError": "errors",
    "DeployError": "errors",
    "ModelResolutionError": "errors",
    "SettingsError": "errors",
    "SmEndpointError": "errors",
    "TeardownError": "errors",
    "TransformJobError": "errors",
    "ExistingEndpoint": "aws.resolve",
    "ModelSpec": "aws.resolve",
    "EndpointPlan": "aws.records",
    "EndpointRecord": "aws.records",
    "TeardownStatus": "aws.records",
    "EndpointFactory": "endpoints.factory",
    "Comparer": "invoke.compare",
    "Comparison": "invoke.compare",
    "ComparisonError": "invoke.compare",
    "Invoker": "invoke.invoker",
    "EndpointInvocationError": "invoke.errors",
    "FrameError": "invoke.errors",
    "InvokeArgumentError": "invoke.errors",
    "InvokeError": "invoke.errors",
    "PredictionCountError": "invoke.errors",
    "ResponseFormatError": "invoke.errors",
    "RowTooLargeError": "invoke.errors",
    "SessionStopped": "endpoints.signals",
    "InvocationStats": "invoke.invoker",
    "MetricRecorder": "reporting.gates",
    "TransformOutput": "transform.runner",
    "Transformer": "transform.runner",
    "TransformRecord": "aws.records",
    "MissingExtraError": "extras",
    "Settings": "settings.options",
}
# Spelled out, not sorted(_LAZY): type checkers read a literal __all__ to know what the root
# re-exports (mypy --strict refuses `from pytest_smendpoint import X` otherwise).
__all__ = [
    "AwsCallError",
    "Comparer",
    "Comparison",
    "ComparisonError",
    "DeployError",
    "DeployedEndpoint",
    "EndpointFactory",
    "EndpointInvocationError",
    "EndpointPlan",
    "EndpointRecord",
    "ExistingEndpoint",
    "FrameError",
    "InvocationStats",
    "InvokeArgumentError",
    "InvokeError",
    "Invoker",
    "MetricRecorder",
    "MissingExtraError",
    "ModelResolutionError",
    "ModelSpec",
    "PredictionCountError",
    "ResponseFormatError",
    "RowTooLargeError",
    "SessionStopped",
    "Settings",
    "SettingsError",
    "SmEndpointError",
    "TeardownError",
    "TeardownStatus",
    "TransformJobError",
    "TransformOutput",
    "TransformRecord",
    "Transformer",
    "deploy",
    "make_invoker",
    "make_settings",
    "open_account",
    "transformer",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from pytest_smendpoint.api import (
        DeployedEndpoint,
        deploy,
        make_invoker,
        make_settings,
        open_account,
        transformer,
    )
    from pytest_smendpoint.aws.records import (
        EndpointPlan,
        EndpointRecord,
        TeardownStatus,
        TransformRecord,
    )
    from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.endpoints.signals import SessionStopped
    from pytest_smendpoint.errors import (
        AwsCallError,
        DeployError,
        ModelResolutionError,
        SettingsError,
        SmEndpointError,
        TeardownError,
        TransformJobError,
    )
    from pytest_smendpoint.extras import MissingExtraError
    from pytest_smendpoint.invoke.compare import Comparer, Comparison, ComparisonError
    from pytest_smendpoint.invoke.errors import (
        EndpointInvocationError,
        FrameError,
        InvokeArgumentError,
        InvokeError,
        PredictionCountError,
        ResponseFormatError,
        RowTooLargeError,
    )
    from pytest_smendpoint.invoke.invoker import InvocationStats, Invoker
    from pytest_smendpoint.reporting.gates import MetricRecorder
    from pytest_smendpoint.settings.options import Settings
    from pytest_smendpoint.transform.runner import Transformer, TransformOutput


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytest_smendpoint' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
