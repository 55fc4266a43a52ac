"""The lifecycle against botocore's Stubber: states moto cannot produce (Creating, Failed,
throttling, failing deletes), with a fake clock so that nothing really sleeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from helpers.fake_clock import FakeClock

from pytest_smendpoint.aws.lifecycle import Lifecycle
from pytest_smendpoint.aws.records import EndpointPlan
from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec
from pytest_smendpoint.aws.waiting import Backoff
from pytest_smendpoint.errors import AwsCallError, DeployError, TeardownError
from pytest_smendpoint.settings.naming import TAG_SESSION

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
ACCOUNT = "123456789012"
MODEL = ModelSpec(
    image_uri="123.dkr.ecr.us-east-1.amazonaws.com/img:1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/r",
    model_data_url="s3://bucket/model.tar.gz",
)
PLAN = EndpointPlan(
    endpoint_name="ep",
    config_name="ep",
    model_name="ep-model",
    deploy_timeout=100,
    session_id="s1",
    tags=({"Key": TAG_SESSION, "Value": "s1"},),
)


@pytest.fixture
def sagemaker() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def stub(sagemaker: Any) -> Any:
    with Stubber(sagemaker) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lifecycle(sagemaker: Any, clock: FakeClock) -> Lifecycle:
    return Lifecycle(
        sagemaker,
        region="us-east-1",
        backend="aws",
        backoff=Backoff(first=1.0, factor=2.0, ceiling=8.0),
        sleep=clock.sleep,
        clock=clock,
    )


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:{kind}/{name}"


def add_creates(stub: Any) -> None:
    stub.add_response(
        "create_model",
        {"ModelArn": arn("model", "ep-model")},
        {
            "ModelName": "ep-model",
            "PrimaryContainer": ANY,
            "ExecutionRoleArn": MODEL.role_arn,
            "Tags": ANY,
        },
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": arn("endpoint-config", "ep")},
        {"EndpointConfigName": "ep", "ProductionVariants": ANY, "Tags": ANY},
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": arn("endpoint", "ep")},
        {"EndpointName": "ep", "EndpointConfigName": "ep", "Tags": ANY},
    )


def described(status: str, reason: str | None = None) -> dict[str, Any]:
    response = {
        "EndpointName": "ep",
        "EndpointArn": arn("endpoint", "ep"),
        "EndpointConfigName": "ep",
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if reason:
        response["FailureReason"] = reason
    return response


def add_config_read(stub: Any, models: tuple[str, ...] = ("ep-model",)) -> None:
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "ep",
            "EndpointConfigArn": arn("endpoint-config", "ep"),
            "ProductionVariants": [
                {"VariantName": f"v{i}", "ModelName": m} for i, m in enumerate(models)
            ],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": "ep"},
    )


def add_deletes(stub: Any, *, models: tuple[str, ...] = ("ep-model",)) -> None:
    stub.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "ep"})
    for model in models:
        stub.add_response("delete_model", {}, {"ModelName": model})


def test_creating_endpoint_is_polled_with_backoff_until_in_service(
    lifecycle: Lifecycle, stub: Any, clock: FakeClock
) -> None:
    add_creates(stub)
    for _ in range(4):
        stub.add_response("describe_endpoint", described("Creating"), {"EndpointName": "ep"})
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    add_config_read(stub)
    add_deletes(stub)
    with lifecycle.deployed(MODEL, PLAN) as record:
        assert record.name == "ep"
        assert record.model_names == ("ep-model",)
        assert record.owned
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert record.teardown == "deleted"
    assert record.deploy_seconds == pytest.approx(15.0)


def test_failed_endpoint_raises_failure_reason_and_deletes_everything(
    lifecycle: Lifecycle, stub: Any
) -> None:
    add_creates(stub)
    stub.add_response("describe_endpoint", described("Creating"), {"EndpointName": "ep"})
    stub.add_response(
        "describe_endpoint",
        described(
            "Failed",
            "The primary container for production variant AllTraffic did not "
            "pass the ping health check.",
        ),
        {"EndpointName": "ep"},
    )
    add_config_read(stub)
    add_deletes(stub)
    with pytest.raises(DeployError) as caught, lifecycle.deployed(MODEL, PLAN):
        pytest.fail("the body must not run")
    message = str(caught.value)
    assert message.startswith(
        "endpoint 'ep' ended Failed: The primary container for production variant AllTraffic "
        "did not pass the ping health check."
    )
    assert "Cleaned up: endpoint ep, endpoint config ep, model ep-model" in message


def test_deploy_timeout_names_the_option_and_cleans_up(lifecycle: Lifecycle, stub: Any) -> None:
    plan = PLAN.__class__(**{**PLAN.__dict__, "deploy_timeout": 5})
    add_creates(stub)
    for _ in range(4):  # at 0, 1, 3 and 5 s: the last sleep is cut to the deadline
        stub.add_response("describe_endpoint", described("Creating"), {"EndpointName": "ep"})
    add_config_read(stub)
    add_deletes(stub)
    with pytest.raises(DeployError, match=r"still Creating after 5 s \(--sm-deploy-timeout=5\)"):
        with lifecycle.deployed(MODEL, plan):
            pass


def test_half_way_failure_deletes_only_what_was_created(lifecycle: Lifecycle, stub: Any) -> None:
    stub.add_response("create_model", {"ModelArn": arn("model", "ep-model")})
    stub.add_client_error(
        "create_endpoint_config",
        service_error_code="ResourceLimitExceeded",
        service_message="The account-level service limit 'ml.m5.large for endpoint usage' is 0",
        http_status_code=400,
    )
    stub.add_response("delete_model", {}, {"ModelName": "ep-model"})
    with pytest.raises(AwsCallError) as caught, lifecycle.deployed(MODEL, PLAN):
        pass
    assert str(caught.value) == (
        "CreateEndpointConfig failed for endpoint config ep: ResourceLimitExceeded: The "
        "account-level service limit 'ml.m5.large for endpoint usage' is 0"
    )


def test_interrupt_during_wait_deletes_what_was_created(
    sagemaker: Any, stub: Any, clock: FakeClock
) -> None:
    def interrupted_sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    lifecycle = Lifecycle(
        sagemaker, region="us-east-1", backend="aws", sleep=interrupted_sleep, clock=clock
    )
    add_creates(stub)
    stub.add_response("describe_endpoint", described("Creating"), {"EndpointName": "ep"})
    add_config_read(stub)
    add_deletes(stub)
    with pytest.raises(KeyboardInterrupt), lifecycle.deployed(MODEL, PLAN):
        pass


def test_teardown_tries_every_delete_and_reports_commands(lifecycle: Lifecycle, stub: Any) -> None:
    add_creates(stub)
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    add_config_read(stub)
    stub.add_client_error("delete_endpoint", "InternalFailure", "try again", 500)
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "ep"})
    stub.add_client_error("delete_model", "AccessDeniedException", "not allowed", 400)
    with pytest.raises(TeardownError) as caught, lifecycle.deployed(MODEL, PLAN) as record:
        pass
    assert record.teardown == "failed"
    assert caught.value.commands == [
        "aws sagemaker delete-endpoint --endpoint-name ep --region us-east-1",
        "aws sagemaker delete-model --model-name ep-model --region us-east-1",
    ]
    assert "DeleteEndpoint endpoint ep: InternalFailure: try again" in str(caught.value)
    assert "DeleteModel model ep-model: AccessDeniedException: not allowed" in str(caught.value)


def test_already_deleted_resources_count_as_deleted(lifecycle: Lifecycle, stub: Any) -> None:
    add_creates(stub)
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    add_config_read(stub)
    gone = 'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".'
    stub.add_client_error("delete_endpoint", "ValidationException", gone, 400)
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "ep"})
    stub.add_response("delete_model", {}, {"ModelName": "ep-model"})
    with lifecycle.deployed(MODEL, PLAN) as record:
        pass
    assert record.teardown == "deleted"


def test_models_another_party_added_are_deleted_only_with_this_sessions_tag(
    lifecycle: Lifecycle, stub: Any
) -> None:
    add_creates(stub)
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    add_config_read(stub, models=("ep-model", "ours-too", "someone-elses"))
    for name, session in (("ours-too", "s1"), ("someone-elses", "other")):
        stub.add_response(
            "describe_model",
            {
                "ModelName": name,
                "ModelArn": arn("model", name),
                "CreationTime": NOW,
                "ExecutionRoleArn": MODEL.role_arn,
            },
            {"ModelName": name},
        )
        stub.add_response(
            "list_tags",
            {"Tags": [{"Key": TAG_SESSION, "Value": session}]},
            {"ResourceArn": arn("model", name)},
        )
    add_deletes(stub, models=("ep-model", "ours-too"))
    with lifecycle.deployed(MODEL, PLAN):
        pass


def test_keep_endpoint_deletes_nothing_and_lists_the_commands(
    lifecycle: Lifecycle, stub: Any
) -> None:
    add_creates(stub)
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    with lifecycle.deployed(MODEL, PLAN, keep=True) as record:
        pass
    assert record.teardown == "kept"
    assert record.manual_commands == [
        "aws sagemaker delete-endpoint --endpoint-name ep --region us-east-1",
        "aws sagemaker delete-endpoint-config --endpoint-config-name ep --region us-east-1",
        "aws sagemaker delete-model --model-name ep-model --region us-east-1",
    ]


def test_existing_endpoint_is_read_and_never_changed(lifecycle: Lifecycle, stub: Any) -> None:
    stub.add_response("describe_endpoint", described("InService"), {"EndpointName": "ep"})
    add_config_read(stub)
    with lifecycle.attached(ExistingEndpoint("ep")) as record:
        assert not record.owned
        assert record.model_names == ("ep-model",)
    assert record.teardown == "not owned"
    # The Stubber would raise on any further call: none was made after the reads.


def test_existing_endpoint_not_in_service_is_refused(lifecycle: Lifecycle, stub: Any) -> None:
    stub.add_response("describe_endpoint", described("Updating"), {"EndpointName": "ep"})
    with pytest.raises(DeployError, match="the existing endpoint is not InService"):
        with lifecycle.attached(ExistingEndpoint("ep")):
            pass


def test_throttling_that_outlasts_retries_names_operation_and_reason(clock: FakeClock) -> None:
    from botocore.config import Config

    client = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    lifecycle = Lifecycle(client, region="us-east-1", backend="aws", sleep=clock.sleep, clock=clock)
    with Stubber(client) as stub:
        add_creates(stub)
        stub.add_client_error("describe_endpoint", "ThrottlingException", "Rate exceeded", 400)
        add_config_read(stub)
        add_deletes(stub)
        # Stubber answers before retries apply, so the throttle surfaces here: the lifecycle
        # must name the operation and the reason, not swallow it.
        with pytest.raises(
            AwsCallError,
            match="DescribeEndpoint failed for endpoint ep: ThrottlingException: Rate exceeded",
        ):
            with lifecycle.deployed(MODEL, PLAN):
                pass
