"""Fault injection for pytester runs: an inner conftest whose session fixture registers
`before-send` handlers on the plugin's boto3 session (so every client the plugin makes sees
them), and the fault table the matrix runs.

A `before-send` handler that returns a response stops botocore from sending the request; one
that raises stands for a dropped connection. Either way botocore's retry handler sees it as it
would see AWS's answer, so throttling is retried for real (Stubber answers before that loop).
"""

from __future__ import annotations

import io
from typing import Any

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/ci-sagemaker"

# stage -> the operation whose first call is the injection point (None: in the test body)
STAGES = {
    "model": "CreateEndpointConfig",  # the model exists, nothing else does
    "config": "CreateEndpoint",  # model and config exist
    "wait": "DescribeEndpoint",  # the first poll of the wait for InService
    "tests": None,
    "teardown": "DeleteEndpoint",
}
FAULTS = (
    "exception",
    "fixture",
    "interrupt",
    "sigterm",
    "failed",
    "timeout",
    "throttle",
    "delete_once",
)


class RawBody(io.BytesIO):
    """A body botocore can read (urllib3's stream()), as moto's own responses are."""

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Any:
        yield self.read()


INNER_CONFTEST = r'''
import io, json, os, signal
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

FAULT, STAGE = os.environ["SM_FAULT"].split(":")
POINTS = {"model": "CreateEndpointConfig", "config": "CreateEndpoint",
          "wait": "DescribeEndpoint", "teardown": "DeleteEndpoint"}
FIRED = set()


class RawBody(io.BytesIO):
    def stream(self, amt=None, decode_content=None):
        yield self.read()


def answer(request, status, body):
    return AWSResponse(request.url, status, {}, RawBody(json.dumps(body).encode()))


def error(request, status, code, message):
    return answer(request, status, {"__type": code, "message": message})


def described(request, status):
    name = json.loads(request.body)["EndpointName"]
    return answer(request, 200, {
        "EndpointName": name, "EndpointConfigName": name, "EndpointStatus": status,
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + name,
        "FailureReason": "injected: the container did not pass the ping health check",
        "CreationTime": 0, "LastModifiedTime": 0})


def once(key):
    if key in FIRED:
        return False
    FIRED.add(key)
    return True


def act(request, operation):
    """The fault, at its injection point inside one of the plugin's AWS calls."""
    if FAULT == "exception":
        raise RuntimeError("injected: connection dropped")
    if FAULT == "fixture" and STAGE != "teardown":  # teardown: user_session_fixture fails
        # What pytest.fail() raises in a fixture (and pytest-timeout): a BaseException.
        raise pytest.fail.Exception("injected: a fixture failed")
    if FAULT == "interrupt":
        os.kill(os.getpid(), signal.SIGINT)
    if FAULT == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    if FAULT == "failed":
        if operation == "DescribeEndpoint":
            return described(request, "Failed")
        return error(request, 400, "ValidationException", "injected: refused")
    if FAULT == "timeout":
        if operation == "DescribeEndpoint":  # stays Creating past --sm-deploy-timeout
            FIRED.discard(operation)
            return described(request, "Creating")
        if operation == "DeleteEndpoint":  # times out once, then botocore retries
            raise ReadTimeoutError(endpoint_url=request.url)
        FIRED.discard(operation)  # a create that never answers: every attempt times out
        raise ReadTimeoutError(endpoint_url=request.url)
    if FAULT == "throttle":
        return error(request, 400, "ThrottlingException", "Rate exceeded")
    if FAULT == "delete_once" and operation != "DeleteEndpoint":
        raise RuntimeError("injected: the stage fails")
    return None


def handler(request, event_name, **kwargs):
    operation = event_name.rsplit(".", 1)[-1]
    if FAULT == "delete_once" and operation.startswith("Delete") and once("del:" + operation):
        raise RuntimeError("injected: connection reset on " + operation)
    if FAULT == "throttle" and once("throttle:" + operation):
        return error(request, 400, "ThrottlingException", "Rate exceeded")
    if POINTS.get(STAGE) == operation and once(operation):
        return act(request, operation)
    return None


@pytest.fixture(scope="session", autouse=True)
def _inject_faults(sm_backend):
    """Before sm_endpoint makes its clients: they copy the session's handlers."""
    sm_backend.boto_session.events.register_first("before-send.sagemaker", handler)
    yield


@pytest.fixture(scope="session")
def user_session_fixture(sm_endpoint):
    yield
    if (FAULT, STAGE) == ("fixture", "teardown"):
        raise RuntimeError("injected: a user fixture failed in its teardown")


@pytest.fixture
def user_fixture(sm_endpoint):
    if (FAULT, STAGE) == ("fixture", "tests"):
        raise RuntimeError("injected: a user fixture failed")
'''

INNER_TEST = r"""
import os, signal
from botocore.exceptions import ReadTimeoutError

FAULT, STAGE = os.environ["SM_FAULT"].split(":")


def test_endpoint(sm_endpoint, sm_boto_session, user_fixture, user_session_fixture):
    sm = sm_boto_session.client("sagemaker")
    if STAGE == "tests":
        fired = []

        def once(request, **kwargs):
            if fired:
                return None
            fired.append(1)
            if FAULT == "timeout":
                raise ReadTimeoutError(endpoint_url=request.url)
            from conftest import described, error
            if FAULT == "failed":
                return described(request, "Failed")
            return error(request, 400, "ThrottlingException", "Rate exceeded")

        if FAULT == "exception":
            raise RuntimeError("injected: the test failed")
        if FAULT == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
        if FAULT == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        if FAULT == "delete_once":
            raise AssertionError("injected: the model is wrong")
        if FAULT in ("timeout", "failed", "throttle"):
            sm.meta.events.register_first("before-send.sagemaker.DescribeEndpoint", once)
    assert sm.describe_endpoint(EndpointName=sm_endpoint.name)["EndpointStatus"] == "InService"
"""

# (fault, stage) -> the run's exit code. 1: tests failed or errored; 2: pytest's Ctrl-C;
# 143 / 130: 128 + SIGTERM / SIGINT (a signal that arrived during session-end teardown waits).
EXPECTED_EXIT = {
    **{(fault, stage): 1 for fault in FAULTS for stage in STAGES},
    **{("sigterm", stage): 143 for stage in STAGES},
    **{("interrupt", stage): 2 for stage in STAGES},
    ("interrupt", "teardown"): 130,
    **{("throttle", stage): 0 for stage in STAGES},
    ("timeout", "tests"): 0,  # the test's own call times out once: retried
    ("timeout", "teardown"): 0,  # DeleteEndpoint times out once: retried
    ("exception", "teardown"): 0,  # DeleteEndpoint fails once: the lifecycle tries again
    ("failed", "teardown"): 0,  # DeleteEndpoint refused once: the lifecycle tries again
    ("delete_once", "teardown"): 0,
}


def preexisting(server: Any) -> dict[str, Any]:
    """An untagged endpoint, config and model that are not the plugin's: never to be touched."""
    sm = server.client("sagemaker")
    sm.create_model(
        ModelName="production", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
    )
    sm.create_endpoint_config(
        EndpointConfigName="production",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "production",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName="production", EndpointConfigName="production")
    return described(server)


def described(server: Any) -> dict[str, Any]:
    sm = server.client("sagemaker")
    state = {
        "endpoint": sm.describe_endpoint(EndpointName="production"),
        "config": sm.describe_endpoint_config(EndpointConfigName="production"),
        "model": sm.describe_model(ModelName="production"),
    }
    for value in state.values():
        value.pop("ResponseMetadata", None)
    return state


# The options every fault run deploys with: the aws path, a model in S3, a 1 s deploy bound.
RUN_ARGS = (
    "--sm-backend=aws",
    f"--sm-image-uri={IMAGE}",
    f"--sm-role={ROLE}",
    "--sm-model-data=s3://bucket/model.tar.gz",
    "--sm-deploy-timeout=1",
)


def assert_only_preexisting_left(server: Any, before: dict[str, Any], output: str) -> None:
    """Nothing the run created is left, and what was there before is exactly as it was."""
    inventory = server.inventory()
    assert (inventory.endpoints, inventory.configs, inventory.models) == (
        ("production",),
        ("production",),
        ("production",),
    ), output
    assert described(server) == before


def wait_for(check: Any, process: Any, seconds: float = 120) -> None:
    """Poll `check()` until true while `process` (a Popen) still runs: what a child does,
    not moto."""
    import time

    deadline = time.monotonic() + seconds
    while not check():
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.05)  # sleep-ok: polling what the child does, not moto
