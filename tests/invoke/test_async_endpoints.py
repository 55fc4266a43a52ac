"""sm_invoke on an asynchronous endpoint, as users run it (pytester, the moto default): each
payload goes through S3 and InvokeEndpointAsync, the model runs for real, and the predictions
are the real-time endpoint's; a failing model's error comes back from the failure object with
the container's own words; nothing is left in the account or under the session's prefix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers.aws_path import BUCKET, aws_args
from helpers.container_setup import MODEL_FN, SKLEARN_ENV_ARGS, SKLEARN_IMAGE
from helpers.models import build_sklearn_model

from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

HELPERS = """
import boto3, json, pandas as pd
from sklearn.datasets import load_iris

def holdout():
    features, labels = load_iris(return_X_y=True, as_frame=True)
    frame = features.assign(label=labels)
    frame.index = frame.index + 500
    return frame

def session_objects():
    s3 = boto3.client("s3")
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        keys += [item["Key"] for item in listed if "/async/" in item["Key"]]
    return keys
"""

PREDICT = """
import json
from helpers_async import holdout, session_objects

def test_predictions(sm_invoke, sm_endpoint, sm_backend):
    frame = holdout()
    predictions = sm_invoke(frame, max_payload_bytes=2000)  # several requests, side by side
    assert list(predictions.index) == list(frame.index)
    with open("predictions.json", "w") as handle:
        json.dump([float(value) for value in predictions], handle)
    config = sm_backend.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=sm_endpoint.config_name
    )
    with open("config.json", "w") as handle:
        json.dump(config.get("AsyncInferenceConfig"), handle)
    assert session_objects() == []  # each request deleted its input and output
    assert sm_backend.uploads == [uri for uri in sm_backend.uploads if "/async/" not in uri]
"""


def run(pytester: pytest.Pytester, model_dir: Path, code: str, *args: str) -> Any:
    pytester.makepyfile(helpers_async=HELPERS)
    pytester.makepyfile(code)
    return pytester.runpytest(
        f"--sm-model-data={model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}",
        *SKLEARN_ENV_ARGS,
        "-p",
        "no:cacheprovider",
        *args,
    )


def test_async_predictions_equal_the_real_time_endpoints_and_nothing_is_left(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    result = run(pytester, sklearn_model_dir, PREDICT)
    result.assert_outcomes(passed=1)
    real_time = json.loads((pytester.path / "predictions.json").read_text())
    assert json.loads((pytester.path / "config.json").read_text()) is None

    result = run(pytester, sklearn_model_dir, PREDICT, "--sm-async")
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "predictions.json").read_text()) == real_time
    config = json.loads((pytester.path / "config.json").read_text())
    output, failure = (
        config["OutputConfig"]["S3OutputPath"],
        config["OutputConfig"]["S3FailurePath"],
    )
    assert output.startswith("s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/")
    assert output.endswith("/async/" + output.split("/async/")[1].split("/")[0] + "/output/")
    assert failure == output.replace("/output/", "/failures/")
    assert audit().empty


FAILING_SCRIPT = (
    MODEL_FN
    + """

def predict_fn(data, model):
    raise ValueError("the model refuses these rows: feature 3 is out of range")
"""
)

FAILING = """
import pytest
from pytest_smendpoint.invoke.errors import EndpointInvocationError
from helpers_async import holdout, session_objects

def test_error(sm_invoke, sm_endpoint):
    with pytest.raises(EndpointInvocationError) as caught:
        sm_invoke(holdout())
    text = str(caught.value)
    with open("error.txt", "w") as handle:
        handle.write(text)
    assert caught.value.endpoint_name == sm_endpoint.name
    assert session_objects() == []  # the input and the failure object are gone too
"""


@pytest.mark.slow  # over 1.5 s (two runs)
def test_a_failing_model_gives_the_containers_error_from_the_failure_object(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model_dir = build_sklearn_model(tmp_path / "failing", inference_script=FAILING_SCRIPT)
    result = run(pytester, model_dir, FAILING)
    result.assert_outcomes(passed=1)
    real_time = (pytester.path / "error.txt").read_text()
    result = run(pytester, model_dir, FAILING, "--sm-async")
    result.assert_outcomes(passed=1)
    asynchronous = (pytester.path / "error.txt").read_text()
    # The container's own answer (the scikit-learn container's Flask 500 page; its traceback
    # goes to the log), as the real-time ModelError carries it and the failure object holds it.
    answered = real_time.split("ModelError (the container answered 500): ")[1]
    answered = answered.split(" (log stream ")[0]
    assert "The server encountered an internal error" in answered
    assert f"AsyncInferenceFailure: {answered} (failure object " in asynchronous
    assert asynchronous.startswith("InvokeEndpointAsync")
    assert "rows 0-149 (index 500 to 649)" in asynchronous
    assert "failure object s3://sagemaker-us-east-1-123456789012/pytest-smendpoint/" in asynchronous
    assert "-error.out" in asynchronous
    assert audit().empty


HANGING_SCRIPT = (
    MODEL_FN
    + """

def predict_fn(data, model):
    import threading

    threading.Event().wait()  # sleep-ok: in the model process, until it is stopped
"""
)

HANGING = """
import pytest
from pytest_smendpoint.invoke.errors import EndpointInvocationError
from helpers_async import holdout, session_objects

def test_bounded(sm_invoke):
    with pytest.raises(EndpointInvocationError, match="did not answer within 1 s"):
        sm_invoke(holdout())
    assert session_objects() == []
    assert sm_invoke.stats.timeouts == 1
"""


@pytest.mark.slow  # over 1.5 s (a real 1 s timeout)
def test_a_hanging_model_is_bounded_by_the_invocation_timeout_and_leaves_nothing(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model_dir = build_sklearn_model(tmp_path / "hanging", inference_script=HANGING_SCRIPT)
    result = run(pytester, model_dir, HANGING, "--sm-async", "--sm-async-invocation-timeout=1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*sm_invoke: 1 requests, 0 rows, * 1 errors, 0 retries, 1 timeouts*"]
    )
    assert audit().empty


def account_state(server: SharedMotoServer) -> tuple[set[str], set[str]]:
    """The SageMaker resources (every kind) and the objects under the plugin's prefix. moto's
    state is one per process: other tests' leftovers may be there, so runs compare with it."""
    sagemaker = boto3.client("sagemaker", endpoint_url=server.url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
    resources = {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
    resources |= {
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    }
    resources |= {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    objects = set()
    if BUCKET in buckets:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="pytest-smendpoint/")
        objects = {item["Key"] for item in listed.get("Contents", [])}
    return resources, objects


@pytest.fixture
def plugin_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SharedMotoServer]:
    """The plugin's own moto server (models served behind it) standing in for AWS."""
    server = SharedMotoServer("us-east-1", "123456789012")
    url = server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow  # over 1.5 s (a moto server in this process)
def test_the_aws_code_path_gives_the_same_predictions_and_leaves_nothing(
    pytester: pytest.Pytester, plugin_server: SharedMotoServer, sklearn_model_dir: Path
) -> None:
    """--sm-backend=aws against a server over HTTP: the calls a real account gets, the answer
    polled with real pauses (nothing tells this side when it is written)."""
    result = run(pytester, sklearn_model_dir, PREDICT)
    result.assert_outcomes(passed=1)
    real_time = json.loads((pytester.path / "predictions.json").read_text())

    before = account_state(plugin_server)
    result = run(pytester, sklearn_model_dir, PREDICT, *aws_args("--sm-async"))
    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "predictions.json").read_text()) == real_time
    # The inputs, outputs, the model upload and every resource are gone.
    assert account_state(plugin_server) == before


XDIST_TESTS = """
import joblib, numpy as np, os, pandas as pd, pytest
from sklearn.datasets import load_iris

@pytest.mark.parametrize("n", range(4))
def test_real_predictions(sm_invoke, n):
    features, _ = load_iris(return_X_y=True)
    model = joblib.load(os.environ["SM_MODEL_FILE"])
    got = sm_invoke(pd.DataFrame(features), max_payload_bytes=3000)
    assert np.asarray(got, dtype=float).tolist() == model.predict(features).astype(float).tolist()

def test_another_client_writes_under_the_default_output_path(sm_endpoint, sm_backend):
    # As the SDK's AsyncPredictor's answers do: the controller deletes them at the end.
    config = sm_backend.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=sm_endpoint.config_name
    )["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"]
    bucket, _, key = config.removeprefix("s3://").partition("/")
    sm_backend.client("s3").put_object(Bucket=bucket, Key=key + "by-someone.out", Body=b"1")
"""


@pytest.mark.slow  # pytest -n subprocess runs
@pytest.mark.parametrize("backend", ["moto", "aws"])
def test_two_xdist_workers_share_an_async_endpoint_and_leave_nothing(
    pytester: pytest.Pytester,
    plugin_server: SharedMotoServer,
    sklearn_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    monkeypatch.setenv("SM_MODEL_FILE", str(sklearn_model_dir / "model.joblib"))
    pytester.makepyfile(test_shared=XDIST_TESTS)
    extra = aws_args() if backend == "aws" else []
    before = account_state(plugin_server)
    if backend == "moto":  # the controller's own server, not the one standing in for AWS
        monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--sm-async",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS, *extra,
    )  # fmt: skip
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*pytest-sm-* (*, us-east-1): deployed in *teardown deleted"])
    if backend == "aws":  # the account outlives the run: look into it
        assert account_state(plugin_server) == before


PREDICTOR = """
import json
import numpy as np
from sagemaker.predictor_async import AsyncPredictor
from helpers_async import holdout

def test_predictor(sm_predictor, sm_backend, sm_invoke):
    assert isinstance(sm_predictor, AsyncPredictor)
    frame = holdout().drop(columns="label")
    # The SDK's AsyncPredictor sends no ContentType (its serializer's goes on the S3 object):
    # the container would get none and take the body for JSON; name it, as on AWS.
    response = sm_predictor.predict_async(
        frame.to_numpy(), initial_args={"ContentType": "text/csv"}
    )
    inference_id = response.output_path.rsplit("/", 1)[1].removesuffix(".out")
    # The answer is awaited on the mocked account's own event, not the SDK's 15 s waiter.
    assert sm_backend.serving.inference_ended(inference_id, 120)
    answer = json.loads(response.get_result())
    assert answer == sm_invoke(frame).tolist()
"""


@pytest.mark.slow  # over 1.5 s (imports SDK v2)
def test_sm_predictor_is_the_sdks_async_predictor(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytest.importorskip("sagemaker.predictor_async", reason="SDK v2's AsyncPredictor")
    result = run(
        pytester, sklearn_model_dir, PREDICTOR, "--sm-async", "--sm-accept=application/json"
    )
    result.assert_outcomes(passed=1)
    assert audit().empty


MARKED = """
import json, pytest
from helpers_async import holdout

def make_config():
    try:
        from sagemaker.async_inference import AsyncInferenceConfig
    except ImportError:  # SDK v3
        from sagemaker.core.shapes import (
            AsyncInferenceClientConfig,
            AsyncInferenceConfig,
            AsyncInferenceOutputConfig,
        )

        return AsyncInferenceConfig(
            output_config=AsyncInferenceOutputConfig(),
            client_config=AsyncInferenceClientConfig(max_concurrent_invocations_per_instance=2),
        )
    return AsyncInferenceConfig(max_concurrent_invocations_per_instance=2)

def test_real_time(sm_invoke):
    with open("real_time.json", "w") as handle:
        json.dump(sm_invoke(holdout()).tolist(), handle)

@pytest.mark.sm_endpoint(async_inference_config=make_config())
def test_async(sm_invoke, sm_endpoint, sm_backend):
    config = sm_backend.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=sm_endpoint.config_name
    )["AsyncInferenceConfig"]
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 2}
    assert config["OutputConfig"]["S3OutputPath"].endswith("/output/")
    with open("real_time.json") as handle:
        assert sm_invoke(holdout(), max_payload_bytes=2000).tolist() == json.load(handle)
"""


@pytest.mark.slow  # over 1.5 s (two endpoints)
def test_an_sdk_async_inference_config_makes_that_endpoint_asynchronous(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    """One session, a real-time endpoint and an asynchronous one from the SDK's own config
    (the marker's `async_inference_config=`), the same predictions."""
    pytest.importorskip("sagemaker")
    result = run(pytester, sklearn_model_dir, MARKED)
    result.assert_outcomes(passed=2)
    assert audit().empty


V3_ENDPOINT = """
import json
from helpers_async import holdout

def test_v3(sm_predictor, sm_backend, sm_invoke):
    frame = holdout().drop(columns="label")
    s3 = sm_backend.client("s3")
    bucket = "sagemaker-us-east-1-123456789012"
    key = "pytest-smendpoint/by-the-test/rows.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=frame.to_csv(header=False, index=False).encode())
    answered = sm_predictor.invoke_async(
        input_location=f"s3://{bucket}/{key}",
        content_type="text/csv",
        accept="application/json",
        session=sm_backend.boto_session,
        region=sm_backend.region,
    )
    assert sm_backend.serving.inference_ended(answered.inference_id, 120)
    output = answered.output_location.split(f"{bucket}/")[1]
    assert json.loads(s3.get_object(Bucket=bucket, Key=output)["Body"].read()) == (
        sm_invoke(frame).tolist()
    )
    s3.delete_object(Bucket=bucket, Key=key)
"""


@pytest.mark.slow  # over 1.5 s (imports SDK v3)
def test_sdk_v3s_endpoint_invokes_asynchronously(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytest.importorskip("sagemaker.core.resources", reason="SDK v3's Endpoint")
    result = run(
        pytester, sklearn_model_dir, V3_ENDPOINT, "--sm-async", "--sm-accept=application/json"
    )
    result.assert_outcomes(passed=1)
    assert audit().empty
