"""The kind of endpoint as factory and marker overrides: serverless_* keys make an endpoint
serverless (no instances sent), async_inference=True (and async_* keys) asynchronous,
endpoint_kind="real-time" goes back to instances; the options' own rules check them, with what
the session leaves out filled from the session's endpoint when it is of that kind."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pytest_smendpoint.aws.endpoints import create_endpoint_config
from pytest_smendpoint.aws.records import EndpointPlan
from pytest_smendpoint.endpoints.overrides import (
    DeploymentSettings,
    OverrideError,
    deployment_settings,
)
from pytest_smendpoint.settings.endpoint_kinds import (
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
)
from pytest_smendpoint.settings.options import Settings

F = "(sm_endpoint_factory)"
REAL_TIME = Settings(image_uri="123.dkr.ecr.us-east-1.amazonaws.com/img:1")
SERVERLESS_SESSION = dataclasses.replace(
    REAL_TIME, serverless=ServerlessSettings(memory_mb=2048, max_concurrency=10)
)
ASYNC_SESSION = dataclasses.replace(
    REAL_TIME,
    async_inference=AsyncSettings(enabled=True, output_path="s3://bkt/out", invocation_timeout=60),
)


def overridden(base: Settings, tmp_path: Path, **overrides: Any) -> DeploymentSettings:
    return deployment_settings(base, overrides, source="sm_endpoint_factory", base_dir=tmp_path)


def sent_variant(settings: Settings) -> dict[str, Any]:
    """The production variant CreateEndpointConfig gets for these settings' plan."""
    calls: list[dict[str, Any]] = []

    class Recording:
        def create_endpoint_config(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {}

    plan = EndpointPlan(
        "e",
        "c",
        "m",
        instance_type=settings.instance_type,
        instance_count=settings.instance_count,
        serverless=settings.serverless if settings.serverless.enabled else None,
        async_inference=settings.async_inference if settings.async_inference.enabled else None,
    )
    create_endpoint_config(Recording(), plan, [])
    variant: dict[str, Any] = calls[0]["ProductionVariants"][0]
    return variant


def test_a_serverless_override_of_a_real_time_session_sends_no_instances(tmp_path: Path) -> None:
    config = overridden(REAL_TIME, tmp_path, serverless_memory_mb=3072)
    settings = config.settings
    assert settings.endpoint_kind is EndpointKind.SERVERLESS
    assert settings.serverless == ServerlessSettings(memory_mb=3072, max_concurrency=5)
    variant = sent_variant(settings)
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 5}
    assert config.overrides == {"endpoint_kind": "serverless", "serverless_memory_mb": 3072}
    assert config.key != overridden(REAL_TIME, tmp_path).key


def test_a_serverless_session_keeps_what_an_override_leaves_out(tmp_path: Path) -> None:
    settings = overridden(SERVERLESS_SESSION, tmp_path, serverless_provisioned_concurrency=4)
    assert settings.settings.serverless == ServerlessSettings(
        memory_mb=2048, max_concurrency=10, provisioned_concurrency=4
    )
    # None keeps the session's value, as for every override.
    same = overridden(SERVERLESS_SESSION, tmp_path, serverless_memory_mb=None).settings
    assert same.serverless == SERVERLESS_SESSION.serverless


def test_endpoint_kind_real_time_goes_back_to_instances(tmp_path: Path) -> None:
    for session in (SERVERLESS_SESSION, ASYNC_SESSION):
        settings = overridden(
            session, tmp_path, endpoint_kind="real-time", instance_type="ml.c5.xlarge"
        ).settings
        assert settings.endpoint_kind is EndpointKind.REAL_TIME
        assert not settings.serverless.enabled and not settings.async_inference.enabled
        assert sent_variant(settings)["InstanceType"] == "ml.c5.xlarge"


def test_async_overrides_make_an_async_endpoint_and_leave_serverless(tmp_path: Path) -> None:
    settings = overridden(
        SERVERLESS_SESSION,
        tmp_path,
        async_inference=True,
        async_output_path="s3://bucket/answers",
        async_max_concurrent_invocations=3,
    ).settings
    assert settings.endpoint_kind is EndpointKind.ASYNC
    assert not settings.serverless.enabled
    assert settings.async_inference == AsyncSettings(
        enabled=True,
        output_path="s3://bucket/answers",
        max_concurrent_invocations_per_instance=3,
    )
    # An async session's own values stay unless overridden; async_inference=False is real-time.
    kept = overridden(ASYNC_SESSION, tmp_path, async_invocation_timeout=120).settings
    assert kept.async_inference == dataclasses.replace(
        ASYNC_SESSION.async_inference, invocation_timeout=120
    )
    assert overridden(ASYNC_SESSION, tmp_path, async_inference=False).settings.endpoint_kind is (
        EndpointKind.REAL_TIME
    )


BAD_KINDS: list[tuple[Settings, dict[str, Any], str]] = [
    (
        REAL_TIME,
        {"serverless_memory_mb": 3000},
        f"serverless_memory_mb=3000 {F}: must be one of 1024, 2048, 3072, 4096, 5120, 6144 "
        "(SageMaker's MemorySizeInMB)",
    ),
    (
        REAL_TIME,
        {"serverless_max_concurrency": 3},
        "a serverless endpoint needs serverless_memory_mb, one of 1024, 2048, 3072, 4096, 5120, "
        f"6144 {F}: the session's endpoint is not serverless",
    ),
    (
        SERVERLESS_SESSION,
        {"serverless_max_concurrency": 201},
        f"serverless_max_concurrency=201 {F}: must be an integer from 1 to 200 "
        "(SageMaker's MaxConcurrency)",
    ),
    (
        REAL_TIME,
        {"serverless_memory_mb": 1024, "serverless_provisioned_concurrency": 6},
        f"serverless_provisioned_concurrency=6 {F}: must be at most the endpoint's "
        "MaxConcurrency (5)",
    ),
    (
        REAL_TIME,
        {"serverless_memory_mb": 1024, "instance_type": "ml.c5.xlarge"},
        f"instance_type {F}: a serverless endpoint has no instances (its ServerlessConfig "
        "replaces them)",
    ),
    (
        REAL_TIME,
        {"endpoint_kind": "batch"},
        f"endpoint_kind='batch' {F}: must be one of real-time, serverless, async",
    ),
    (
        SERVERLESS_SESSION,
        {"endpoint_kind": "real-time", "serverless_memory_mb": 1024},
        f"endpoint_kind='real-time' and serverless_memory_mb are both given {F}: they ask for "
        "different kinds of endpoint",
    ),
]


@pytest.mark.parametrize(("base", "overrides", "message"), BAD_KINDS)
def test_bad_kind_overrides_get_the_options_own_messages(
    tmp_path: Path, base: Settings, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(OverrideError) as caught:
        overridden(base, tmp_path, **overrides)
    assert str(caught.value) == message


def test_serverless_and_async_keys_together_break_the_options_rule(tmp_path: Path) -> None:
    with pytest.raises(OverrideError) as caught:
        overridden(REAL_TIME, tmp_path, serverless_memory_mb=1024, async_inference=True)
    assert "SageMaker's asynchronous endpoints are instance-backed" in str(caught.value)


class SdkLikeConfig:
    """Fields named as the SDK's ServerlessInferenceConfig (v2) and v3's shape name them."""

    def __init__(
        self, memory_size_in_mb: int, max_concurrency: int, provisioned: int | None = None
    ) -> None:
        self.memory_size_in_mb = memory_size_in_mb
        self.max_concurrency = max_concurrency
        self.provisioned_concurrency = provisioned


def test_the_sdks_serverless_config_is_the_serverless_keys(tmp_path: Path) -> None:
    config = overridden(REAL_TIME, tmp_path, serverless_inference_config=SdkLikeConfig(4096, 8, 2))
    assert config.settings.serverless == ServerlessSettings(
        memory_mb=4096, max_concurrency=8, provisioned_concurrency=2
    )
    assert "InstanceType" not in sent_variant(config.settings)
    assert (
        config.key
        == overridden(
            REAL_TIME,
            tmp_path,
            serverless_memory_mb=4096,
            serverless_max_concurrency=8,
            serverless_provisioned_concurrency=2,
        ).key
    )


def test_the_sdks_serverless_config_is_checked_by_the_options_rules(tmp_path: Path) -> None:
    with pytest.raises(OverrideError) as caught:
        overridden(REAL_TIME, tmp_path, serverless_inference_config=SdkLikeConfig(3000, 5))
    assert str(caught.value).startswith(f"serverless_memory_mb=3000 {F}: must be one of 1024")
    with pytest.raises(OverrideError) as caught:
        overridden(REAL_TIME, tmp_path, serverless_inference_config=object())
    assert str(caught.value).startswith(
        f"serverless_inference_config=<object> {F}: not a ServerlessInferenceConfig"
    )
    with pytest.raises(OverrideError) as caught:
        overridden(
            REAL_TIME,
            tmp_path,
            serverless_inference_config=SdkLikeConfig(1024, 5),
            serverless_max_concurrency=3,
        )
    assert str(caught.value) == (
        f"serverless_inference_config and serverless_max_concurrency are both given {F}: "
        "give the serverless configuration one way"
    )


def test_sdk_v2_serverless_inference_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # sagemaker v2's module Session
    serverless = pytest.importorskip("sagemaker.serverless", reason="SDK v2 only (tox env sdk2)")
    given = serverless.ServerlessInferenceConfig(memory_size_in_mb=1024, max_concurrency=3)
    settings = overridden(REAL_TIME, tmp_path, serverless_inference_config=given).settings
    assert settings.serverless == ServerlessSettings(memory_mb=1024, max_concurrency=3)
    # What the SDK's own deploy would send for it, we send.
    assert sent_variant(settings)["ServerlessConfig"] == given._to_request_dict()
