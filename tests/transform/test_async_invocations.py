"""InvokeEndpointAsync behind moto, with plain boto3 calls as a user makes them: the model runs
for real and its answer is the output object `{S3OutputPath}/{InferenceId}.out`, its error the
failure object `{S3FailurePath}/{InferenceId}-error.out`; what SageMaker refuses is refused with
a ValidationError. The end of a request is awaited on the adapter's own event, no polling.
(Beside the transform jobs: the same account helper, the same second front end's shape.)"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from helpers.transform_jobs import BUCKET, ROWS, Account, csv_of, expected

from pytest_smendpoint.settings.limits import ASYNC_PAYLOAD_CEILING_BYTES

DEADLINE = 240.0
OUTPUT = f"s3://{BUCKET}/async/output"
FAILURES = f"s3://{BUCKET}/async/failures/"


def endpoint(account: Account, model: str, name: str, **async_config: Any) -> str:
    config: dict[str, Any] = {"OutputConfig": {"S3OutputPath": OUTPUT, "S3FailurePath": FAILURES}}
    config.update(async_config)
    account.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        AsyncInferenceConfig=config,
    )
    account.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def invoke(account: Account, name: str, body: bytes, **extra: Any) -> dict[str, Any]:
    account.s3.put_object(Bucket=BUCKET, Key="async/input/rows.csv", Body=body)
    runtime = account.backend.client("sagemaker-runtime")
    response = runtime.invoke_endpoint_async(
        EndpointName=name,
        InputLocation=f"s3://{BUCKET}/async/input/rows.csv",
        ContentType="text/csv",
        Accept="application/json",
        **extra,
    )
    ended = account.backend.serving.inference_ended(response["InferenceId"], DEADLINE)
    assert ended, f"no answer within {DEADLINE:g} s"
    return dict(response)


@pytest.mark.slow  # over 1.5 s (loads the model)
def test_the_answer_is_the_output_object_named_for_the_inference_id(
    account: Account, model_folder: Path
) -> None:
    name = endpoint(account, account.model(model_folder), "async-answer")
    response = invoke(account, name, csv_of(ROWS[:5]))
    inference_id = response["InferenceId"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["OutputLocation"] == f"{OUTPUT}/{inference_id}.out"
    assert response["FailureLocation"] == f"{FAILURES}{inference_id}-error.out"
    got = account.s3.get_object(Bucket=BUCKET, Key=f"async/output/{inference_id}.out")
    assert got["ContentType"] == "application/json"
    assert [int(v) for v in json.loads(got["Body"].read())] == expected(model_folder, ROWS[:5])
    assert account.keys("async/failures/") == []


@pytest.mark.slow  # over 1.5 s (loads the model)
def test_a_given_inference_id_names_the_objects(account: Account, model_folder: Path) -> None:
    name = endpoint(account, account.model(model_folder), "async-named")
    response = invoke(account, name, csv_of(ROWS[:2]), InferenceId="my-request-1")
    assert response["InferenceId"] == "my-request-1"
    assert account.keys("async/output/") == ["async/output/my-request-1.out"]


def test_the_containers_error_is_the_failure_object(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    from helpers.container_setup import MODEL_FN

    folder = scripted_model(
        MODEL_FN + "\n\ndef predict_fn(data, model):\n    raise ValueError('no')\n"
    )
    name = endpoint(account, account.model(folder), "async-failing")
    response = invoke(account, name, csv_of(ROWS[:2]))
    assert account.keys("async/output/") == []
    failure = account.read(f"async/failures/{response['InferenceId']}-error.out")
    assert b"500 Internal Server Error" in failure  # what the container answered


@pytest.mark.slow  # over 1.5 s (loads the model)
def test_the_invocation_timeout_bounds_a_hanging_model(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    from helpers.container_setup import MODEL_FN

    hanging = (
        MODEL_FN
        + "\n\ndef predict_fn(data, model):\n"
        + "    import threading\n    threading.Event().wait()  # sleep-ok: in the model process\n"
    )
    name = endpoint(account, account.model(scripted_model(hanging)), "async-hanging")
    response = invoke(account, name, csv_of(ROWS[:2]), InvocationTimeoutSeconds=1)
    failure = account.read(f"async/failures/{response['InferenceId']}-error.out")
    assert b"did not answer within 1 s" in failure
    assert account.keys("async/output/") == []


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("no input", "Could not read InputLocation s3://transform-bucket/async/input/none.csv"),
        ("real-time", "is not an asynchronous inference endpoint"),
        ("no endpoint", "Endpoint async-missing of account 123456789012 not found."),
    ],
)
def test_what_sagemaker_refuses_is_a_validation_error(
    account: Account, model_folder: Path, case: str, words: str
) -> None:
    model = account.model(model_folder)
    name = "async-missing"
    if case == "no input":
        name = endpoint(account, model, "async-no-input")
    elif case == "real-time":
        account.sagemaker.create_endpoint_config(
            EndpointConfigName="real-time",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        account.sagemaker.create_endpoint(EndpointName="real-time", EndpointConfigName="real-time")
        name = "real-time"
        account.s3.put_object(Bucket=BUCKET, Key="async/input/none.csv", Body=b"1,2,3,4\n")
    runtime = account.backend.client("sagemaker-runtime")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint_async(
            EndpointName=name,
            InputLocation=f"s3://{BUCKET}/async/input/none.csv",
            ContentType="text/csv",
        )
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert words in caught.value.response["Error"]["Message"]


def test_the_limit_is_one_gigabyte() -> None:
    assert ASYNC_PAYLOAD_CEILING_BYTES == 1_000_000_000


TIMED_SCRIPT = """
import os, time

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    started = time.time()
    time.sleep(0.5)  # sleep-ok: in the model process, so that requests could overlap
    with open(os.environ["TIMES_FILE"], "a") as out:
        out.write(f"{started} {time.time()}\\n")
    return model.predict(data)
"""


@pytest.mark.slow  # over 1.5 s (requests of 0.5 s each, queued)
@pytest.mark.parametrize(("per_instance", "overlap"), [(1, False), (3, True)])
def test_max_concurrent_invocations_per_instance_queues_requests(
    account: Account,
    scripted_model: Callable[[str], Path],
    tmp_path: Path,
    per_instance: int,
    overlap: bool,
) -> None:
    from helpers.container_setup import SKLEARN_ENV

    times = tmp_path / "times.txt"
    environment = {**SKLEARN_ENV, "SAGEMAKER_MODEL_SERVER_WORKERS": "3", "TIMES_FILE": str(times)}
    model = account.model(scripted_model(TIMED_SCRIPT), environment)
    name = endpoint(
        account,
        model,
        f"async-queue-{per_instance}",
        ClientConfig={"MaxConcurrentInvocationsPerInstance": per_instance},
    )
    account.s3.put_object(Bucket=BUCKET, Key="async/input/rows.csv", Body=csv_of(ROWS[:2]))
    runtime = account.backend.client("sagemaker-runtime")
    ids = [
        runtime.invoke_endpoint_async(
            EndpointName=name,
            InputLocation=f"s3://{BUCKET}/async/input/rows.csv",
            ContentType="text/csv",
        )["InferenceId"]
        for _ in range(3)
    ]
    for inference_id in ids:  # every one is answered: queued, never refused
        assert account.backend.serving.inference_ended(inference_id, DEADLINE)
    assert sorted(account.keys("async/output/")) == sorted(f"async/output/{i}.out" for i in ids)
    spans = sorted(tuple(map(float, line.split())) for line in times.read_text().splitlines())
    overlapped = any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
    assert overlapped == overlap


@pytest.mark.slow  # over 1.5 s (loads the model)
def test_the_xgboost_container_answers_an_asynchronous_request(
    account: Account, tmp_path: Path
) -> None:
    """The same container profiles as InvokeEndpoint: the XGBoost algorithm image too."""
    xgb = pytest.importorskip("xgboost")
    import numpy as np

    rng = np.random.default_rng(0)
    features = rng.uniform(0, 4, size=(50, 3))
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 3},
        xgb.DMatrix(features, label=features[:, 0] * 2 - features[:, 1]),
        5,
    )
    folder = tmp_path / "model"
    folder.mkdir()
    booster.save_model(str(tmp_path / "saved.json"))
    (folder / "xgboost-model").write_bytes((tmp_path / "saved.json").read_bytes())
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    name = endpoint(account, account.model(folder, environment={}, image=image), "async-xgb")
    account.s3.put_object(Bucket=BUCKET, Key="async/input/rows.csv", Body=csv_of(features))
    runtime = account.backend.client("sagemaker-runtime")
    response = runtime.invoke_endpoint_async(
        EndpointName=name,
        InputLocation=f"s3://{BUCKET}/async/input/rows.csv",
        ContentType="text/csv",
        Accept="text/csv",
    )
    assert account.backend.serving.inference_ended(response["InferenceId"], DEADLINE)
    got = account.s3.get_object(Bucket=BUCKET, Key=f"async/output/{response['InferenceId']}.out")
    served = [float(v) for v in got["Body"].read().decode().split()]
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(features)), rtol=1e-5)


def test_invoke_endpoint_on_an_asynchronous_endpoint_is_refused(
    account: Account, model_folder: Path
) -> None:
    """SageMaker answers a real-time InvokeEndpoint on an asynchronous endpoint with a
    ValidationError: a test that does so offline must fail here too."""
    name = endpoint(account, account.model(model_folder), "async-only")
    runtime = account.backend.client("sagemaker-runtime")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=name, Body=csv_of(ROWS[:2]), ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == (
        "Endpoint async-only of account 123456789012 is an asynchronous inference endpoint: "
        "InvokeEndpoint is refused, call InvokeEndpointAsync (SageMaker answers ValidationError "
        "here; these words are pytest-smendpoint's)"
    )
