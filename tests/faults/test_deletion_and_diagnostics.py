"""Deletion that is checked and waits out a Creating endpoint; failure diagnostics in the
DeployError; a failed delete fails the session. Stubber for states moto cannot produce."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from helpers.container_setup import MODEL_FN, SKLEARN_ENV_ARGS
from helpers.fake_clock import FakeClock

from pytest_smendpoint.aws.diagnostics import deploy_diagnostics, last_log_lines
from pytest_smendpoint.aws.lifecycle import Lifecycle
from pytest_smendpoint.aws.records import EndpointPlan
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.errors import DeployError, TeardownError

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
MODEL = ModelSpec(image_uri=IMAGE, role_arn="arn:aws:iam::1:role/r", model_data_url="s3://b/m")
PLAN = EndpointPlan(endpoint_name="ep", config_name="ep", model_name="ep-model", deploy_timeout=5)
GROUP = "/aws/sagemaker/Endpoints/ep"


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def described(status: str, reason: str | None = None) -> dict[str, Any]:
    answer = {
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/ep",
        "EndpointConfigName": "ep",
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if reason:
        answer["FailureReason"] = reason
    return answer


def add_creates(stub: Stubber) -> None:
    stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-east-1:1:model/ep-model"})
    stub.add_response(
        "create_endpoint_config", {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:e/ep"}
    )
    stub.add_response("create_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:e/ep"})


def add_config_read(stub: Stubber) -> None:
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "ep",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/ep",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "ep-model"}],
            "CreationTime": NOW,
        },
    )


GONE = 'Could not find endpoint "arn:aws:sagemaker:us-east-1:1:endpoint/ep".'


def test_teardown_confirms_the_endpoint_is_gone() -> None:
    sm = client("sagemaker")
    with Stubber(sm) as stub:
        add_creates(stub)
        stub.add_response("describe_endpoint", described("InService"))
        add_config_read(stub)
        stub.add_response("delete_endpoint", {})
        stub.add_response("delete_endpoint_config", {})
        stub.add_response("delete_model", {})
        stub.add_client_error("describe_endpoint", "ValidationException", GONE, 400)
        with Lifecycle(sm, region="us-east-1", backend="aws").deployed(MODEL, PLAN) as record:
            pass
    assert (record.teardown, record.deletion_confirmed) == ("deleted", True)


def test_endpoint_still_creating_is_deleted_once_it_turns_failed() -> None:
    sm, clock = client("sagemaker"), FakeClock()
    lifecycle = Lifecycle(
        sm, region="us-east-1", backend="aws", sleep=clock.sleep, clock=clock, deletable_wait=60
    )
    refused = "Cannot update in-progress endpoint"
    with Stubber(sm) as stub:
        add_creates(stub)
        stub.add_response("describe_endpoint", described("InService"))
        add_config_read(stub)
        stub.add_client_error("delete_endpoint", "ValidationException", refused, 400)
        stub.add_response("describe_endpoint", described("Creating"))
        stub.add_response("describe_endpoint", described("Creating"))
        stub.add_response("describe_endpoint", described("Failed", "interrupted"))
        stub.add_response("delete_endpoint", {}, {"EndpointName": "ep"})
        stub.add_response("delete_endpoint_config", {})
        stub.add_response("delete_model", {})
        stub.add_response("describe_endpoint", described("Deleting"))
        with lifecycle.deployed(MODEL, PLAN) as record:
            pass
    assert clock.sleeps == [2.0, 3.0]
    assert (record.teardown, record.deletion_confirmed) == ("deleted", True)


def test_endpoint_creating_past_the_bound_is_reported_with_its_command() -> None:
    sm, clock = client("sagemaker"), FakeClock()
    lifecycle = Lifecycle(
        sm, region="us-east-1", backend="aws", sleep=clock.sleep, clock=clock, deletable_wait=4
    )
    refused = "Cannot update in-progress endpoint"
    with Stubber(sm) as stub:
        add_creates(stub)
        stub.add_response("describe_endpoint", described("InService"))
        add_config_read(stub)
        for _attempt in range(2):  # the lifecycle tries a failed delete twice
            stub.add_client_error("delete_endpoint", "ValidationException", refused, 400)
            for _ in range(3):  # at 0, 2 and 4 s
                stub.add_response("describe_endpoint", described("Creating"))
        stub.add_response("delete_endpoint_config", {})
        stub.add_response("delete_model", {})
        with pytest.raises(TeardownError) as caught:
            with lifecycle.deployed(MODEL, PLAN) as record:
                pass
    assert record.teardown == "failed"
    assert (
        "DeleteEndpoint endpoint ep: ValidationException: Cannot update in-progress endpoint "
        "(still Creating after 4 s; SageMaker deletes it only once it turns Failed or "
        "InService: run the command below then)"
    ) in str(caught.value)
    assert caught.value.commands == [
        "aws sagemaker delete-endpoint --endpoint-name ep --region us-east-1"
    ]


def test_failed_deploy_error_shows_reason_logs_instance_image_and_cleanup() -> None:
    sm, logs = client("sagemaker"), client("logs")
    with Stubber(sm) as stub, Stubber(logs) as log_stub:
        add_creates(stub)
        stub.add_response("describe_endpoint", described("Failed", "ping health check failed"))
        log_stub.add_response(
            "describe_log_streams",
            {"logStreams": [{"logStreamName": "AllTraffic/i-0abc"}]},
            {"logGroupName": GROUP, "orderBy": "LastEventTime", "descending": True, "limit": 1},
        )
        log_stub.add_response(
            "get_log_events",
            {
                "events": [
                    {"message": "Traceback (most recent call last):"},
                    {"message": "ModuleNotFoundError: No module named 'xgboost'\n"},
                ]
            },
            {
                "logGroupName": GROUP,
                "logStreamName": "AllTraffic/i-0abc",
                "limit": 20,
                "startFromHead": False,
            },
        )
        add_config_read(stub)
        stub.add_response("delete_endpoint", {})
        stub.add_response("delete_endpoint_config", {})
        stub.add_response("delete_model", {})
        lifecycle = Lifecycle(
            sm, region="us-east-1", backend="aws", diagnose=deploy_diagnostics(lambda: logs)
        )
        with pytest.raises(DeployError) as caught, lifecycle.deployed(MODEL, PLAN):
            pass
    assert str(caught.value).splitlines() == [
        "endpoint 'ep' ended Failed: ping health check failed",
        f"instance: ml.m5.large x 1; image: {IMAGE}",
        f"CloudWatch {GROUP}, stream AllTraffic/i-0abc (last 2 lines):",
        "  | Traceback (most recent call last):",
        "  | ModuleNotFoundError: No module named 'xgboost'",
        "Cleaned up: endpoint ep, endpoint config ep, model ep-model",
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "not authorized to perform: logs:DescribeLogStreams"),
        ("ResourceNotFoundException", "The specified log group does not exist."),
    ],
)
def test_unreadable_logs_are_said_so_in_one_line(code: str, message: str) -> None:
    logs = client("logs")
    with Stubber(logs) as stub:
        stub.add_client_error("describe_log_streams", code, message, 400)
        lines = last_log_lines(logs, "ep")
    assert lines == [f"CloudWatch {GROUP}: (logs not readable: {code}: {message})"]


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_deploy_timeout_error_has_the_diagnostics_on_the_moto_default(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    pytester.makeconftest(
        """
        import io, json
        import pytest
        from botocore.awsrequest import AWSResponse

        class RawBody(io.BytesIO):
            def stream(self, amt=None, decode_content=None):
                yield self.read()

        def creating(request, **kwargs):
            name = json.loads(request.body)["EndpointName"]
            body = {"EndpointName": name, "EndpointConfigName": name,
                    "EndpointStatus": "Creating", "CreationTime": 0, "LastModifiedTime": 0,
                    "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + name}
            return AWSResponse(request.url, 200, {}, RawBody(json.dumps(body).encode()))

        @pytest.fixture(scope="session", autouse=True)
        def _stuck(sm_backend):
            sm_backend.boto_session.events.register_first(
                "before-send.sagemaker.DescribeEndpoint", creating)
        """
    )
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-deploy-timeout=1",
        "--sm-instance-type=ml.c5.xlarge",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*DeployError: endpoint 'pytest-sm-*' ended Creating: still Creating after 1 s "
            "(--sm-deploy-timeout=1)",
            f"E*instance: ml.c5.xlarge x 1; image: {IMAGE}",
            "E*CloudWatch /aws/sagemaker/Endpoints/pytest-sm-*: (logs not readable: "
            "ResourceNotFoundException: *",
            "E*Cleaned up: endpoint pytest-sm-*, endpoint config pytest-sm-*, model pytest-sm-*",
        ]
    )


def test_model_error_names_the_containers_message_and_the_log_stream(
    pytester: pytest.Pytester, tmp_path: Path, sklearn_model_dir: Path
) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(sklearn_model_dir, model)
    (model / "code").mkdir(exist_ok=True)
    (model / "code" / "inference.py").write_text(
        MODEL_FN
        + "def predict_fn(data, model):\n    raise ValueError('feature 3 is out of range')\n"
    )
    pytester.makepyfile(
        """
        import pandas as pd
        def test_invoke(sm_invoke):
            sm_invoke(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}))
        """
    )
    result = pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(failed=1)
    # The scikit-learn container answers Flask's 500 page; the exception is in its log, which
    # the failing test shows (logger pytest_smendpoint.serving).
    result.stdout.fnmatch_lines(
        [
            "*EndpointInvocationError: InvokeEndpoint failed for endpoint 'pytest-sm-*', row 0: "
            "ModelError (the container answered 500): <!doctype html>",
            "*<h1>Internal Server Error</h1>",
            "*error in the application.</p>",
            "*(log stream arn:aws:logs:us-east-1:123456789012:log-group:"
            "/aws/sagemaker/Endpoints/pytest-sm-*)",
        ]
    )
    result.stdout.fnmatch_lines(["*ValueError: feature 3 is out of range*"])


def test_a_delete_that_keeps_failing_makes_the_exit_status_non_zero(
    pytester: pytest.Pytester, moto_server: Any
) -> None:
    pytester.makeconftest(
        """
        import io, json
        import pytest
        from botocore.awsrequest import AWSResponse

        class RawBody(io.BytesIO):
            def stream(self, amt=None, decode_content=None):
                yield self.read()

        def refuse(request, **kwargs):
            body = {"__type": "AccessDeniedException", "message": "no sagemaker:DeleteModel"}
            return AWSResponse(request.url, 400, {}, RawBody(json.dumps(body).encode()))

        @pytest.fixture(scope="session", autouse=True)
        def _refuse(sm_backend):
            sm_backend.boto_session.events.register_first(
                "before-send.sagemaker.DeleteModel", refuse)
        """
    )
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        "--sm-backend=aws",
        f"--sm-image-uri={IMAGE}",
        "--sm-role=arn:aws:iam::123456789012:role/r",
        "--sm-model-data=s3://bucket/model.tar.gz",
        "--sm-model-name=stuck-model",
    )
    assert result.ret != 0
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*DeleteModel model stuck-model: AccessDeniedException: no sagemaker:DeleteModel",
            "*aws sagemaker delete-model --model-name stuck-model --region us-east-1",
        ]
    )
    assert moto_server.inventory().models == ("stuck-model",)
    assert moto_server.inventory().endpoints == ()


def test_summary_says_the_deletion_was_confirmed(
    pytester: pytest.Pytester, moto_server: Any
) -> None:
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        "--sm-backend=aws",
        f"--sm-image-uri={IMAGE}",
        "--sm-role=arn:aws:iam::123456789012:role/r",
        "--sm-model-data=s3://bucket/model.tar.gz",
        "--sm-endpoint-name=checked",
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "checked (aws, us-east-1): deployed in *teardown deleted",
            "smendpoint: deletion of checked confirmed (DescribeEndpoint: not found or Deleting)",
        ]
    )
