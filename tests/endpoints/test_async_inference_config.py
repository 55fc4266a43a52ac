"""`async_inference_config=` (a factory, marker or parameter key): an SDK AsyncInferenceConfig,
or CreateEndpointConfig's mapping, makes that endpoint asynchronous; what it says is checked by
the --sm-async-* options' rules, and what is not emulated is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pytest_smendpoint.endpoints.overrides import OverrideError, deployment_settings
from pytest_smendpoint.settings.endpoint_kinds import AsyncSettings
from pytest_smendpoint.settings.options import Settings


def configured(config: Any, base: Settings | None = None) -> Settings:
    made = deployment_settings(
        base or Settings(),
        {"async_inference_config": config},
        source="sm_endpoint_factory()",
        base_dir=Path.cwd(),
    )
    return made.settings


def test_a_mapping_in_the_apis_spelling_sets_paths_and_concurrency() -> None:
    settings = configured(
        {
            "OutputConfig": {
                "S3OutputPath": "s3://my-bucket/out",
                "S3FailurePath": "s3://my-bucket/failed",
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 3},
        }
    )
    made = settings.async_inference
    assert made.enabled and (made.output_path, made.failure_path) == (
        "s3://my-bucket/out",
        "s3://my-bucket/failed",
    )
    assert made.max_concurrent_invocations_per_instance == 3


def test_the_sessions_invocation_timeout_is_kept() -> None:
    base = dataclasses.replace(
        Settings(), async_inference=AsyncSettings(enabled=True, invocation_timeout=7)
    )
    assert configured({}, base).async_inference.invocation_timeout == 7


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (object(), "async_inference_config=<object>: give a SageMaker SDK AsyncInferenceConfig"),
        ({"OutputConfig": {"KmsKeyId": "k"}}, "sets KmsKeyId: pytest-smendpoint does not"),
        ({"OutputConfig": {"S3OutputPath": "/tmp/out"}}, "must be an s3://bucket/prefix URI"),
    ],
)
def test_what_cannot_be_honoured_is_refused(config: Any, words: str) -> None:
    with pytest.raises(OverrideError, match="sm_endpoint_factory") as caught:
        configured(config)
    assert words in str(caught.value)


def test_the_sdk_v2_config_is_read_as_its_deploy_sends_it() -> None:
    async_inference = pytest.importorskip("sagemaker.async_inference")
    config = async_inference.AsyncInferenceConfig(
        output_path="s3://my-bucket/o", max_concurrent_invocations_per_instance=2
    )
    made = configured(config).async_inference
    assert (made.output_path, made.failure_path) == ("s3://my-bucket/o", None)
    assert made.max_concurrent_invocations_per_instance == 2
