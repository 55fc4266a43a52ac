"""The inference-handler contract: default handlers, the user's entry-script functions, and how
the entry script is found, all checked against the model's own predict()."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from localsupport import BUCKET, FEATURES, REGION, csv_predictions, csv_rows, pack


def invoke(
    runtime: Any, name: str, body: bytes, content_type: str = "text/csv", accept: str | None = None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"EndpointName": name, "Body": body, "ContentType": content_type}
    if accept is not None:
        kwargs["Accept"] = accept
    response = runtime.invoke_endpoint(**kwargs)
    response["Payload"] = response["Body"].read()
    return response


def test_csv_rows_get_the_models_real_predictions(serving, runtime, deploy, regressor):
    endpoint = deploy({"model.joblib": regressor})
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == regressor.predict(FEATURES).tolist()
    assert response["ContentType"] == "text/csv"
    assert response["InvokedProductionVariant"] == "AllTraffic"


def test_missing_accept_answers_json_as_the_toolkit_does(serving, runtime, deploy, classifier):
    endpoint = deploy({"model.joblib": classifier})
    serving.endpoint_created(endpoint.name)
    for accept in (None, "*/*"):
        response = invoke(runtime, endpoint.name, csv_rows(FEATURES[:3]), accept=accept)
        assert response["ContentType"] == "application/json"
        assert json.loads(response["Payload"]) == classifier.predict(FEATURES[:3]).tolist()


def test_default_accept_comes_from_sagemaker_default_invocations_accept(
    serving, runtime, deploy, classifier
):
    endpoint = deploy(
        {"model.joblib": classifier}, env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}
    )
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))
    assert response["ContentType"] == "text/csv"


@pytest.mark.parametrize("content_type", ["text/csv", "application/json", "application/x-npy"])
@pytest.mark.parametrize("accept", ["text/csv", "application/json", "application/x-npy"])
def test_every_default_content_type_and_accept_round_trips_exactly(
    serving, runtime, deploy, regressor, content_type, accept
):
    endpoint = deploy({"model.pkl": regressor})
    serving.endpoint_created(endpoint.name)
    if content_type == "text/csv":
        body = csv_rows(FEATURES)
    elif content_type == "application/json":
        body = json.dumps(FEATURES.tolist()).encode()
    else:
        buffer = io.BytesIO()
        np.save(buffer, FEATURES)
        body = buffer.getvalue()
    response = invoke(runtime, endpoint.name, body, content_type, accept)
    assert response["ContentType"] == accept
    payload = response["Payload"]
    if accept == "text/csv":
        got = csv_predictions(payload)
    elif accept == "application/json":
        got = json.loads(payload)
    else:
        got = np.load(io.BytesIO(payload)).tolist()
    assert got == regressor.predict(FEATURES).tolist()


def test_first_supported_type_of_an_accept_list_is_used(serving, runtime, deploy, classifier):
    endpoint = deploy({"model.joblib": classifier})
    serving.endpoint_created(endpoint.name)
    response = invoke(
        runtime, endpoint.name, csv_rows(FEATURES[:2]), accept="image/png, text/csv;q=0.9"
    )
    assert response["ContentType"] == "text/csv"


@pytest.mark.parametrize(
    ("content_type", "accept", "status", "named"),
    [
        ("image/png", "application/json", 415, "image/png"),
        ("text/csv", "image/png", 406, "image/png"),
    ],
)
def test_unsupported_media_type_is_a_model_error_with_the_toolkits_status(
    serving, runtime, deploy, classifier, content_type, accept, status, named
):
    endpoint = deploy({"model.joblib": classifier})
    serving.endpoint_created(endpoint.name)
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]), content_type, accept)
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == status
    assert f"Content type {named} is not supported by this framework" in error["OriginalMessage"]
    assert f"Received client error ({status})" in error["Error"]["Message"]


INFERENCE_ALL_FOUR = """
    import json
    import os
    import joblib

    def model_fn(model_dir):
        return {"model": joblib.load(os.path.join(model_dir, "weights.bin")), "scale": 10}

    def input_fn(body, content_type):
        assert isinstance(body, str), type(body)  # the toolkit decodes JSON bodies to str
        return json.loads(body)["rows"]

    def predict_fn(data, model):
        return [model["scale"] * p for p in model["model"].predict(data).tolist()]

    def output_fn(prediction, accept):
        return json.dumps({"scaled": prediction, "accept": accept}), "application/vnd.scaled"
"""


def test_user_model_input_predict_and_output_fns_replace_the_defaults(
    serving, runtime, deploy, regressor
):
    endpoint = deploy({"weights.bin": regressor, "code/inference.py": INFERENCE_ALL_FOUR})
    serving.endpoint_created(endpoint.name)
    body = json.dumps({"rows": FEATURES[:3].tolist()}).encode()
    response = invoke(runtime, endpoint.name, body, "application/json", "application/json")
    assert response["ContentType"] == "application/vnd.scaled"
    expected = [10 * p for p in regressor.predict(FEATURES[:3]).tolist()]
    assert json.loads(response["Payload"]) == {"scaled": expected, "accept": "application/json"}


def test_only_predict_fn_defined_keeps_default_input_and_output(
    serving, runtime, deploy, classifier
):
    script = """
        def predict_fn(data, model):
            return model.predict_proba(data)[:, 1]
    """
    endpoint = deploy({"model.joblib": classifier, "code/inference.py": script})
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == classifier.predict_proba(FEATURES)[:, 1].tolist()


def test_transform_fn_gets_the_raw_request(serving, runtime, deploy, classifier):
    script = """
        def transform_fn(model, body, content_type, accept):
            return f"{type(model).__name__}|{len(body)}|{content_type}|{accept}"
    """
    endpoint = deploy({"model.joblib": classifier, "code/inference.py": script})
    serving.endpoint_created(endpoint.name)
    response = invoke(
        runtime, endpoint.name, b"\x00\x01\x02", "application/octet-stream", "text/plain"
    )
    assert response["Payload"] == b"LogisticRegression|3|application/octet-stream|text/plain"
    assert response["ContentType"] == "text/plain"


def test_transform_fn_with_input_fn_fails_the_endpoint(serving, deploy, sagemaker, classifier):
    script = """
        def transform_fn(model, body, content_type, accept):
            return body
        def input_fn(body, content_type):
            return body
    """
    endpoint = deploy({"model.joblib": classifier, "code/inference.py": script})
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "Cannot use transform_fn implementation in conjunction" in described["FailureReason"]


def test_sagemaker_program_names_another_script_in_code(serving, runtime, deploy, classifier):
    files = {
        "model.joblib": classifier,
        "code/inference.py": "def predict_fn(data, model):\n    raise AssertionError('wrong')\n",
        "code/serve_me.py": "from helper import TAG\n"
        "def output_fn(prediction, accept):\n    return TAG\n",
        "code/helper.py": "TAG = 'from serve_me'\n",
    }
    endpoint = deploy(files, env={"SAGEMAKER_PROGRAM": "serve_me.py"})
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]))["Payload"] == b"from serve_me"


def test_submit_directory_in_s3_holds_the_entry_script(serving, runtime, deploy, classifier):

    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET,
        Key="code/sourcedir.tar.gz",
        Body=pack({"entry.py": "def output_fn(prediction, accept):\n    return 'from s3'\n"}),
    )
    endpoint = deploy(
        {"model.joblib": classifier},
        env={
            "SAGEMAKER_PROGRAM": "entry.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz",
        },
    )
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]))["Payload"] == b"from s3"


def test_submit_directory_opt_ml_model_code_is_the_unpacked_model(
    serving, runtime, deploy, classifier
):
    endpoint = deploy(
        {"model.joblib": classifier, "code/entry.py": "def output_fn(p, a):\n    return 'ok'\n"},
        env={"SAGEMAKER_PROGRAM": "entry.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    )
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]))["Payload"] == b"ok"


def test_two_endpoints_with_same_helper_module_do_not_share_it(
    serving, runtime, deploy, classifier
):
    names = []
    for tag in ("first", "second"):
        endpoint = deploy(
            {
                "model.joblib": classifier,
                "code/inference.py": "import helper\ndef output_fn(p, a):\n    return helper.TAG\n",
                "code/helper.py": f"TAG = {tag!r}\n",
            }
        )
        serving.endpoint_created(endpoint.name)
        names.append(endpoint.name)
    answers = [invoke(runtime, n, csv_rows(FEATURES[:1]))["Payload"] for n in names]
    assert answers == [b"first", b"second"]
    assert "helper" not in sys.modules
    assert not [m for m in sys.modules if m.startswith("_smendpoint_entry_")]


def test_context_argument_reads_and_sets_custom_attributes(serving, runtime, deploy, classifier):
    script = """
        def output_fn(prediction, accept, context):
            seen = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
            context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", f"seen={seen}")
            return "ok"
    """
    endpoint = deploy({"model.joblib": classifier, "code/inference.py": script})
    serving.endpoint_created(endpoint.name)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name,
        Body=csv_rows(FEATURES[:1]),
        ContentType="text/csv",
        CustomAttributes="trace=42",
    )
    assert response["CustomAttributes"] == "seen=trace=42"


def test_no_custom_attributes_come_back_unless_the_script_sets_them(
    serving, runtime, deploy, classifier
):
    endpoint = deploy({"model.joblib": classifier})
    serving.endpoint_created(endpoint.name)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name,
        Body=csv_rows(FEATURES[:1]),
        ContentType="text/csv",
        CustomAttributes="trace=42",
    )
    assert "CustomAttributes" not in response


def test_model_fn_raising_marks_the_endpoint_failed_with_its_error(
    serving, runtime, deploy, sagemaker
):
    script = "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
    endpoint = deploy({"code/inference.py": script})
    serving.endpoint_created(endpoint.name)  # must not raise
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "RuntimeError: weights are corrupt" in described["FailureReason"]
    with pytest.raises(ClientError, match="weights are corrupt"):
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]))


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({"readme.txt": "no model here"}, "found 0 (none)"),
        ({"a.joblib": b"x", "b.pkl": b"y"}, "found 2 (a.joblib, b.pkl)"),
    ],
)
def test_default_model_fn_needs_exactly_one_model_file(serving, deploy, sagemaker, files, named):
    endpoint = deploy(files)
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert named in described["FailureReason"]


def test_missing_sagemaker_program_fails_the_endpoint(serving, deploy, sagemaker, classifier):
    endpoint = deploy({"model.joblib": classifier}, env={"SAGEMAKER_PROGRAM": "nope.py"})
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "SAGEMAKER_PROGRAM=nope.py not found in /opt/ml/model/code" in described["FailureReason"]


def test_model_from_containers_list_is_served(serving, runtime, deploy, classifier):
    endpoint = deploy({"model.joblib": classifier}, containers=True)
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == classifier.predict(FEATURES).tolist()


def test_model_directory_is_removed_when_the_endpoint_is_deleted(
    serving, deploy, classifier, tmp_path
):
    endpoint = deploy({"model.joblib": classifier})
    serving.endpoint_created(endpoint.name)
    workdir = serving._slots[(REGION, endpoint.name)].loaded.workdir
    assert (workdir / "model" / "model.joblib").is_file()
    serving.endpoint_deleted(endpoint.name)
    assert not workdir.exists()
