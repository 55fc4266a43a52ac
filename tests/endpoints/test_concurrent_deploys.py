"""The factory's concurrent path under botocore's Stubber, with a real `Creating` phase: every
deployment has its own stubbed client that answers Creating a few times, and the lifecycle
really sleeps between polls, so wall time shows whether deploys overlap."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pytest_smendpoint.aws.lifecycle import Lifecycle
from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.aws.waiting import Backoff
from pytest_smendpoint.endpoints.factory import EndpointFactory
from pytest_smendpoint.endpoints.overrides import DeploymentSettings
from pytest_smendpoint.errors import DeployError, SmEndpointError
from pytest_smendpoint.settings.options import Settings

pytestmark = pytest.mark.slow  # real sleeps in a stubbed Creating phase

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
ACCOUNT = "123456789012"
MODEL = ModelSpec(
    image_uri="123.dkr.ecr.us-east-1.amazonaws.com/img:1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/r",
    model_data_url="s3://bucket/model.tar.gz",
)
CREATING_POLLS = 3
POLL_SECONDS = 0.4  # one deploy spends about CREATING_POLLS * POLL_SECONDS in Creating


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{name}"


def stub_lifecycle(stub: Stubber, name: str, model: str, *, final: str = "InService") -> None:
    """Create, Creating x CREATING_POLLS, then `final`; then the teardown's reads and deletes."""
    stub.add_response(
        "create_model",
        {"ModelArn": arn("model", model)},
        {"ModelName": model, "PrimaryContainer": ANY, "ExecutionRoleArn": ANY, "Tags": ANY},
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": arn("endpoint-config", name)},
        {"EndpointConfigName": name, "ProductionVariants": ANY, "Tags": ANY},
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": arn("endpoint", name)},
        {"EndpointName": name, "EndpointConfigName": name, "Tags": ANY},
    )
    for status in ["Creating"] * CREATING_POLLS + [final]:
        described = {
            "EndpointName": name,
            "EndpointArn": arn("endpoint", name),
            "EndpointConfigName": name,
            "EndpointStatus": status,
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        }
        if status == "Failed":
            described["FailureReason"] = "ping health check failed"
        stub.add_response("describe_endpoint", described, {"EndpointName": name})
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": name,
            "EndpointConfigArn": arn("endpoint-config", name),
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model}],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": name},
    )
    stub.add_response("delete_endpoint", {}, {"EndpointName": name})
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": name})
    stub.add_response("delete_model", {}, {"ModelName": model})


class StubbedAccount:
    """Opens each configuration with a stubbed client of its own, as the session's opener
    does with a real one; fails the deploys named in `failing`."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.stubbers: list[Stubber] = []
        self.opened: list[str] = []
        self._lock = threading.Lock()  # boto3's default session is not thread-safe

    @contextlib.contextmanager
    def open(self, config: DeploymentSettings) -> Iterator[EndpointRecord]:
        settings = config.settings
        assert settings.endpoint_name and settings.model_name
        with self._lock:
            client = boto3.client(
                "sagemaker",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="x",
            )
            stub = Stubber(client)
            self.stubbers.append(stub)
            self.opened.append(settings.endpoint_name)
        final = "Failed" if settings.endpoint_name in self.failing else "InService"
        stub_lifecycle(stub, settings.endpoint_name, settings.model_name, final=final)
        lifecycle = Lifecycle(
            client,
            region="us-east-1",
            backend="aws",
            backoff=Backoff(first=POLL_SECONDS, factor=1.0, ceiling=POLL_SECONDS),
            sleep=time.sleep,  # sleep-ok: a real Creating phase, stubbed, no network
        )
        plan = EndpointPlan(
            endpoint_name=settings.endpoint_name,
            config_name=settings.endpoint_name,
            model_name=settings.model_name,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
        )
        with stub, lifecycle.deployed(MODEL, plan) as record:
            yield record

    def assert_all_answered(self) -> None:
        for stub in self.stubbers:
            stub.assert_no_pending_responses()


def make_factory(account: StubbedAccount, tmp_path: Path) -> EndpointFactory:
    return EndpointFactory(
        Settings(),
        account.open,
        name_base="ep",
        base_dir=tmp_path,
        default_model=lambda: MODEL,
    )


def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_two_endpoints_deploy_in_about_the_time_of_one(tmp_path: Path) -> None:
    account = StubbedAccount()
    with make_factory(account, tmp_path) as factory:
        single, one = timed(lambda: factory(instance_type="ml.m5.large"))
        pair, two = timed(
            lambda: factory.many([{"instance_type": "ml.c5.xlarge"}, {"instance_count": 2}])
        )
    assert one >= CREATING_POLLS * POLL_SECONDS  # the Creating phase really took its time
    # One after another would take at least twice the Creating phase; together, about once
    # (measured against the sleeps, not against `one`, so CPU noise on a loaded machine
    # does not decide the outcome).
    creating = CREATING_POLLS * POLL_SECONDS
    assert two < 1.5 * creating, f"two endpoints took {two:.2f} s, one took {one:.2f} s"
    assert [record.name for record in [single, *pair]] == ["ep-2", "ep-3", "ep-4"]
    assert [record.instance_type for record in pair] == ["ml.c5.xlarge", "ml.m5.large"]
    assert [record.instance_count for record in pair] == [1, 2]
    assert all(record.teardown == "deleted" for record in [single, *pair])
    account.assert_all_answered()


def test_one_after_another_takes_the_sum_of_the_deploys(tmp_path: Path) -> None:
    """What the concurrent figure is measured against: the check above could fail."""
    account = StubbedAccount()
    with make_factory(account, tmp_path) as factory:
        _, sequential = timed(
            lambda: [factory(instance_count=count) for count in (1, 2)]  # one at a time
        )
    assert sequential >= 2 * CREATING_POLLS * POLL_SECONDS
    account.assert_all_answered()


def test_failed_deploy_is_raised_and_the_others_are_still_torn_down(tmp_path: Path) -> None:
    account = StubbedAccount(failing=("ep-3",))
    factory = make_factory(account, tmp_path)
    with pytest.raises(DeployError, match=r"endpoint 'ep-3' ended Failed: ping health check"):
        factory.many([{"instance_count": 1}, {"instance_count": 2}, {"instance_count": 3}])
    survivors = [factory(instance_count=1), factory(instance_count=3)]  # cached, not redeployed
    factory.close()
    assert [record.teardown for record in survivors] == ["deleted", "deleted"]
    assert account.opened == ["ep-2", "ep-3", "ep-4"]
    account.assert_all_answered()


def test_same_configuration_is_deployed_once(tmp_path: Path) -> None:
    account = StubbedAccount()
    with make_factory(account, tmp_path) as factory:
        first = factory.deploy(instance_count=2, env={"A": "1"})
        again = factory.deploy(env={"A": "1"}, instance_count="2")  # the same, once checked
        assert first is again
        assert factory.many([{"instance_count": 2, "env": {"A": "1"}}]) == [first.result()]
    assert account.opened == ["ep-2"]
    account.assert_all_answered()


def test_closed_factory_refuses_new_deploys(tmp_path: Path) -> None:
    factory = make_factory(StubbedAccount(), tmp_path)
    factory.close()
    with pytest.raises(SmEndpointError, match="sm_endpoint_factory is closed"):
        factory(instance_count=2)
