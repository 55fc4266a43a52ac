"""The scikit-learn container's handler contract (sagemaker-scikit-learn:1.2-1 on
sagemaker-containers 2.8.6): default handlers, the entry script's functions, and how the entry
script is found, all checked against the model's own predict() on what the container decodes
(CSV and JSON become float32)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from helpers.container_setup import MODEL_FN
from helpers.localsupport import (
    BUCKET,
    FEATURES,
    FLASK_3_500,
    REGION,
    Deployed,
    csv_predictions,
    csv_rows,
    loaded_variants,
    model_processes,
    pack,
    with_model,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing

FLOAT32 = FEATURES.astype(np.float32)
CSV_ANSWER = "text/csv; charset=utf-8"  # Werkzeug appends the charset to text/* mimetypes


def invoke(
    runtime: Any, name: str, body: bytes, content_type: str = "text/csv", accept: str | None = None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"EndpointName": name, "Body": body, "ContentType": content_type}
    if accept is not None:
        kwargs["Accept"] = accept
    response: dict[str, Any] = runtime.invoke_endpoint(**kwargs)
    response["Payload"] = response["Body"].read()
    return response


def test_csv_rows_get_the_models_real_predictions(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
) -> None:
    endpoint = deploy(with_model(regressor))
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == regressor.predict(FLOAT32).tolist()
    assert response["ContentType"] == CSV_ANSWER
    assert response["InvokedProductionVariant"] == "AllTraffic"


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_missing_accept_answers_json_as_the_toolkit_does(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    for accept in (None, "*/*"):
        response = invoke(runtime, endpoint.name, csv_rows(FEATURES[:3]), accept=accept)
        assert response["ContentType"] == "application/json"
        assert json.loads(response["Payload"]) == classifier.predict(FLOAT32[:3]).tolist()


def test_default_accept_comes_from_sagemaker_default_invocations_accept(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(
        with_model(classifier), env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}
    )
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))
    assert response["ContentType"] == CSV_ANSWER


@pytest.mark.slow  # over 1.5 s: not in the quick loop
@pytest.mark.parametrize("content_type", ["text/csv", "application/json", "application/x-npy"])
@pytest.mark.parametrize("accept", ["text/csv", "application/json", "application/x-npy"])
def test_every_default_content_type_and_accept_round_trips_exactly(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
    content_type: str,
    accept: str,
) -> None:
    endpoint = deploy(with_model(regressor))
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
    assert response["ContentType"] == (CSV_ANSWER if accept == "text/csv" else accept)
    payload = response["Payload"]
    if accept == "text/csv":
        got = csv_predictions(payload)
    elif accept == "application/json":
        got = json.loads(payload)
    else:
        got = np.load(io.BytesIO(payload)).tolist()
    # The container casts CSV and JSON to float32; NPY keeps the sender's dtype.
    sent = FEATURES if content_type == "application/x-npy" else FLOAT32
    assert got == regressor.predict(sent).tolist()


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_an_accept_list_is_not_parsed_and_answers_500(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]), accept="image/png, text/csv;q=0.9")
    assert raised.value.response["OriginalStatusCode"] == 500


@pytest.mark.parametrize(
    ("content_type", "accept", "named"),
    [
        ("image/png", "application/json", "image/png"),
        ("text/csv", "image/png", "image/png"),
        ("text/csv; charset=utf-8", "application/json", "text/csv; charset=utf-8"),
        ("TEXT/CSV", "application/json", "TEXT/CSV"),
    ],
)
@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_unsupported_media_type_is_flasks_500_and_the_reason_is_logged(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    content_type: str,
    accept: str,
    named: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]), content_type, accept)
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 500
    assert error["OriginalMessage"] == FLASK_3_500  # the 1.9-0 image's Flask 3
    assert "Received server error (500)" in error["Error"]["Message"]
    assert f"Content type {named} is not supported by this framework" in caplog.text


def test_one_csv_row_is_decoded_1d_and_the_model_refuses_it(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    for body in (b"1,2,3", b"1,2,3\n"):
        with pytest.raises(ClientError) as raised:
            invoke(runtime, endpoint.name, body)
        assert raised.value.response["OriginalStatusCode"] == 500
    assert "Expected 2D array, got 1D array instead" in caplog.text


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
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
) -> None:
    endpoint = deploy({"weights.bin": regressor, "code/inference.py": INFERENCE_ALL_FOUR})
    serving.endpoint_created(endpoint.name)
    assert not serving.reads_csv_as_float32(endpoint.name)  # its own input_fn: not known
    body = json.dumps({"rows": FEATURES[:3].tolist()}).encode()
    response = invoke(runtime, endpoint.name, body, "application/json", "application/json")
    assert response["ContentType"] == "application/vnd.scaled"
    expected = [10 * p for p in regressor.predict(FEATURES[:3]).tolist()]
    assert json.loads(response["Payload"]) == {"scaled": expected, "accept": "application/json"}


def test_only_predict_fn_defined_keeps_default_input_and_output(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = """
        def predict_fn(data, model):
            return model.predict_proba(data)[:, 1]
    """
    endpoint = deploy(with_model(classifier, script))
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == classifier.predict_proba(FLOAT32)[:, 1].tolist()
    assert serving.reads_csv_as_float32(endpoint.name)  # serving.py's input_fn: float32


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_transform_fn_gets_the_raw_request(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = """
        def transform_fn(model, body, content_type, accept):
            return f"{type(model).__name__}|{len(body)}|{content_type}|{accept}"
    """
    endpoint = deploy(with_model(classifier, script))
    serving.endpoint_created(endpoint.name)
    assert not serving.reads_csv_as_float32(endpoint.name)  # transform_fn reads its own way
    response = invoke(
        runtime, endpoint.name, b"\x00\x01\x02", "application/octet-stream", "text/plain"
    )
    assert response["Payload"] == b"LogisticRegression|3|application/octet-stream|text/plain"
    # A str returned without a content type is Flask's default response: HTML.
    assert response["ContentType"] == "text/html; charset=utf-8"


def test_transform_fn_with_input_fn_fails_the_endpoint(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    script = """
        def transform_fn(model, body, content_type, accept):
            return body
        def input_fn(body, content_type):
            return body
    """
    endpoint = deploy(with_model(classifier, script))
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert (
        "UserError: Cannot use transform_fn implementation with input_fn, predict_fn, and/or "
        "output_fn" in described["FailureReason"]
    )


def test_sagemaker_program_names_another_script_in_code(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    files = {
        "model.joblib": classifier,
        "code/inference.py": "def predict_fn(data, model):\n    raise AssertionError('wrong')\n",
        "code/serve_me.py": MODEL_FN + "from helper import TAG\n"
        "def output_fn(prediction, accept):\n    return TAG\n",
        "code/helper.py": "TAG = 'from serve_me'\n",
    }
    endpoint = deploy(files, env={"SAGEMAKER_PROGRAM": "serve_me.py"})
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))["Payload"] == b"from serve_me"


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_submit_directory_in_s3_holds_the_entry_script(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET,
        Key="code/sourcedir.tar.gz",
        Body=pack(
            {"entry.py": MODEL_FN + "def output_fn(prediction, accept):\n    return 'from s3'\n"}
        ),
    )
    endpoint = deploy(
        {"model.joblib": classifier},
        env={
            "SAGEMAKER_PROGRAM": "entry.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz",
        },
    )
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))["Payload"] == b"from s3"


def test_submit_directory_opt_ml_model_code_is_the_unpacked_model(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(
        {
            "model.joblib": classifier,
            "code/entry.py": MODEL_FN + "def output_fn(p, a):\n    return 'ok'\n",
        },
        env={"SAGEMAKER_PROGRAM": "entry.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
    )
    serving.endpoint_created(endpoint.name)
    assert invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))["Payload"] == b"ok"


def test_two_endpoints_with_same_helper_module_do_not_share_it(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    names = []
    for tag in ("first", "second"):
        endpoint = deploy(
            with_model(
                classifier,
                "import helper\ndef output_fn(p, a):\n    return helper.TAG\n",
                **{"code/helper.py": f"TAG = {tag!r}\n"},
            )
        )
        serving.endpoint_created(endpoint.name)
        names.append(endpoint.name)
    answers = [invoke(runtime, n, csv_rows(FEATURES[:2]))["Payload"] for n in names]
    assert answers == [b"first", b"second"]
    assert "helper" not in sys.modules
    assert "inference" not in sys.modules


def test_handlers_are_called_without_a_context_argument(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = """
        def output_fn(prediction, accept, context):
            return "never"
    """
    endpoint = deploy(with_model(classifier, script))
    serving.endpoint_created(endpoint.name)
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:2]))
    assert raised.value.response["OriginalStatusCode"] == 500
    assert "output_fn() missing 1 required positional argument: 'context'" in caplog.text


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_no_custom_attributes_come_back_unless_the_script_sets_them(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name,
        Body=csv_rows(FEATURES[:2]),
        ContentType="text/csv",
        CustomAttributes="trace=42",
    )
    assert "CustomAttributes" not in response


def test_model_fn_raising_marks_the_endpoint_failed_with_its_error(
    serving: LocalServing, runtime: Any, deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    script = "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
    endpoint = deploy({"code/inference.py": script})
    serving.endpoint_created(endpoint.name)  # must not raise
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "RuntimeError: weights are corrupt" in described["FailureReason"]
    assert "did not pass the ping health check" in described["FailureReason"]
    with pytest.raises(ClientError, match="weights are corrupt"):
        invoke(runtime, endpoint.name, csv_rows(FEATURES[:1]))


def test_entry_script_without_model_fn_fails_with_the_containers_message(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(
        {"model.joblib": classifier, "code/inference.py": "def predict_fn(d, m):\n    return d\n"}
    )
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert (
        "NotImplementedError: Please provide a model_fn implementation. See documentation for "
        "model_fn at https://github.com/aws/sagemaker-python-sdk" in described["FailureReason"]
    )
    assert "To fix: define model_fn(model_dir) in inference.py" in described["FailureReason"]


def test_missing_sagemaker_program_fails_the_endpoint(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), env={"SAGEMAKER_PROGRAM": "nope.py"})
    serving.endpoint_created(endpoint.name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert described["EndpointStatus"] == "Failed"
    assert "No module named 'nope'" in described["FailureReason"]
    assert "SAGEMAKER_PROGRAM=nope.py not found in /opt/ml/model/code" in described["FailureReason"]


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_model_from_containers_list_is_served(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), containers=True)
    serving.endpoint_created(endpoint.name)
    response = invoke(runtime, endpoint.name, csv_rows(FEATURES), accept="text/csv")
    assert csv_predictions(response["Payload"]) == classifier.predict(FLOAT32).tolist()


def test_model_directory_is_removed_when_the_endpoint_is_deleted(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    tmp_path: Path,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    loaded = loaded_variants(serving, endpoint.name)[0]
    workdir = loaded.workdir
    processes = [w.process for w in model_processes(loaded)._all]
    assert (workdir / "model" / "model.joblib").is_file()
    assert all(p.poll() is None for p in processes)
    serving.endpoint_deleted(endpoint.name)
    assert not workdir.exists()
    assert all(p.poll() is not None for p in processes)


def test_large_csv_invoke_is_exact(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    regressor: LinearRegression,
) -> None:
    # Past containers_codecs.FAST_CSV_BYTES: decoded by pyarrow, to the container's values.
    rows = np.random.default_rng(1).normal(size=(20000, 3))
    endpoint = deploy(with_model(regressor))
    answer = invoke(runtime, endpoint.name, csv_rows(rows), accept="text/csv")["Payload"]
    assert csv_predictions(answer) == regressor.predict(rows.astype(np.float32)).tolist()
