"""Fixtures of the SDK v3 object tests: the SDK v3 skip, the SDK's telemetry and role check
turned off, and a process that reaches nothing but loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def sdk3(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under SDK v2 this imports `sagemaker`, whose module-level Session looks for credentials,
    # as far as the EC2 instance metadata service when none are set: not from here.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    pytest.importorskip("sagemaker.core", reason="SageMaker SDK v3 only (tox env sdk3)")


@pytest.fixture
def no_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ModelTrainer.train() sends telemetry unless the SDK defaults config opts out; and it
    checks its role with iam:SimulatePrincipalPolicy, which moto does not implement."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Any connection that would leave the machine fails the test (the SDK's telemetry, say)."""
    refused: list[Any] = []
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            refused.append(address)
            raise ConnectionRefusedError(f"test blocked a connection to {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield refused
    assert not refused, f"connections beyond loopback: {refused}"
