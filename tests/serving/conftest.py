"""Fixtures for the local serving: a moto account with MOTO_CONFIG, a LocalServing on it, tiny
scikit-learn models packed as model.tar.gz in the mocked S3, and endpoints created with boto3."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import moto
import numpy as np
import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_IMAGE
from helpers.localsupport import (
    ACCOUNT,
    BUCKET,
    CLASSES,
    FEATURES,
    REGION,
    ROLE,
    Deployed,
    pack,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_smendpoint.aws.backends.moto.routing import MOTO_CONFIG
from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy


@pytest.fixture(scope="session")
def classifier() -> LogisticRegression:
    return LogisticRegression().fit(FEATURES, CLASSES)


@pytest.fixture(scope="session")
def regressor() -> LinearRegression:
    return LinearRegression().fit(FEATURES, FEATURES @ np.array([0.3, -1.7, 2.9]) + 0.123456789)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh mocked account, with the passthrough URL local serving relies on."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # moto types `config` as its DefaultConfig TypedDict; MOTO_CONFIG is a plain dict (the
    # plugin's moto backend makes the same call).
    with moto.mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def sagemaker(aws: None) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def make_serving(aws: None) -> Iterator[Callable[..., LocalServing]]:
    """LocalServing factory: installs it, closes it at teardown (before the mock stops)."""
    made: list[LocalServing] = []

    def make(
        serve_command: str | None = None,
        startup_timeout: float | None = None,
        install: bool = True,
        packages: str = "image",
    ) -> LocalServing:
        serving = LocalServing(
            region=REGION,
            account_id=ACCOUNT,
            serve_command=serve_command,
            startup_timeout=startup_timeout,
            runtime_policy=RuntimePolicy(packages),
        )
        if install:
            serving.install()
        made.append(serving)
        return serving

    yield make
    for serving in made:
        serving.close()


@pytest.fixture
def serving(make_serving: Callable[..., LocalServing]) -> LocalServing:
    return make_serving()


@pytest.fixture
def runtime(serving: LocalServing) -> Any:
    """A plain client made after install(), as a user's test would make it."""
    return boto3.client("sagemaker-runtime", region_name=REGION)


@pytest.fixture
def runtime_after(aws: None) -> Any:
    """A plain client; request it after the fixture that installs the serving."""
    return boto3.client("sagemaker-runtime", region_name=REGION)


_NAMES = itertools.count(1)


@pytest.fixture
def deploy(sagemaker: Any) -> Callable[..., Deployed]:
    """Upload a model.tar.gz and create model, endpoint config and endpoint with boto3: by default
    on the scikit-learn image with SKLEARN_ENV (`base_env` replaces it), `env` merged over that
    (a None value removes a variable); on an ml.m5.large (or `instance_type`), or serverless
    with `serverless` (the variant's ServerlessConfig)."""
    s3 = boto3.client("s3", region_name=REGION)

    def create(
        files: Mapping[str, Any],
        env: Mapping[str, str | None] | None = None,
        variant: str = "AllTraffic",
        containers: bool = False,
        image: str = SKLEARN_IMAGE,
        base_env: Mapping[str, str] | None = None,
        serverless: Mapping[str, int] | None = None,
        instance_type: str = "ml.m5.large",
    ) -> Deployed:
        number = next(_NAMES)
        key = f"m{number}/model.tar.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=pack(files))
        container: dict[str, Any] = {"Image": image, "ModelDataUrl": f"s3://{BUCKET}/{key}"}
        defaults = SKLEARN_ENV if base_env is None else base_env
        merged = {k: v for k, v in {**defaults, **(env or {})}.items() if v is not None}
        if merged:
            container["Environment"] = merged
        model_name, config_name, name = f"model-{number}", f"config-{number}", f"ep-{number}"
        if containers:
            sagemaker.create_model(
                ModelName=model_name, Containers=[container], ExecutionRoleArn=ROLE
            )
        else:
            sagemaker.create_model(
                ModelName=model_name, PrimaryContainer=container, ExecutionRoleArn=ROLE
            )
        production_variant: dict[str, Any] = {"VariantName": variant, "ModelName": model_name}
        if serverless is not None:
            production_variant["ServerlessConfig"] = dict(serverless)
        else:
            production_variant.update(InitialInstanceCount=1, InstanceType=instance_type)
        sagemaker.create_endpoint_config(
            EndpointConfigName=config_name, ProductionVariants=[production_variant]
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
        return Deployed(name, model_name, config_name, variant)

    return create
