"""How InvokeEndpoint reaches the local model: which clients, which errors, and that moto never
parses an answered request."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from helpers.localsupport import (
    ACCOUNT,
    FEATURES,
    FLASK_3_500,
    REGION,
    TOOLKIT_IMAGE,
    Deployed,
    csv_predictions,
    csv_rows,
    with_model,
)
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_smendpoint.aws.backends.moto.routing import _DISPATCHER, EVENT
from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving import LocalServingError

# Two rows: the scikit-learn container decodes a single CSV row to a 1-D array, which the
# model refuses.
ROWS = b"1,2,3\n4,5,6\n"


def test_unknown_endpoint_is_sagemakers_validation_error(runtime: Any) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="nope", Body=b"1", ContentType="text/csv")
    error = raised.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == f"Endpoint nope of account {ACCOUNT} not found."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_deleted_endpoint_is_not_found_even_without_endpoint_deleted(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    runtime.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")
    sagemaker.delete_endpoint(EndpointName=endpoint.name)  # straight to moto, no hook
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        f"Endpoint {endpoint.name} of account {ACCOUNT} not found."
    )
    assert (REGION, endpoint.name) not in serving._slots  # unloaded on the way


def test_endpoint_deleted_hook_unloads_and_invoke_says_not_found(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    sagemaker.delete_endpoint(EndpointName=endpoint.name)
    serving.endpoint_deleted(endpoint.name)
    assert serving._slots == {}
    with pytest.raises(ClientError, match="not found"):
        runtime.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")


def test_handler_exception_is_a_model_error_with_the_original_message(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = "def predict_fn(data, model):\n    raise ValueError('bad row 7')\n"
    endpoint = deploy(with_model(classifier, script))
    serving.endpoint_created(endpoint.name)
    with (
        caplog.at_level(logging.ERROR, logger="pytest_smendpoint.serving"),
        pytest.raises(ClientError) as raised,
    ):
        runtime.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 500
    # The scikit-learn container answers Flask's 500 page (1.9-0: Flask 3's); the exception goes
    # to its log.
    assert error["OriginalMessage"] == FLASK_3_500
    assert "Received server error (500) from primary" in error["Error"]["Message"]
    assert endpoint.name in error["LogStreamArn"]
    logged = [r for r in caplog.records if r.name == "pytest_smendpoint.serving"]
    assert logged and "ValueError: bad row 7" in logged[0].getMessage()


def test_streaming_invocations_are_refused_clearly(runtime: Any) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint_with_response_stream(EndpointName="any", Body=b"1")
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "is not served locally by pytest-smendpoint" in str(raised.value)


def test_async_invocations_are_served_and_say_what_sagemaker_says(runtime: Any) -> None:
    """InvokeEndpointAsync is answered (aws/backends/moto/async_invocations.py): a missing
    endpoint gets SageMaker's own words, as InvokeEndpoint's."""
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint_async(EndpointName="any", InputLocation="s3://bucket/in.csv")
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"].startswith("Endpoint any of account ")
    assert raised.value.response["Error"]["Message"].endswith(" not found.")


def test_variant_name_and_custom_attributes_come_back(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    # Handlers taking a context: an image built on the generic inference toolkit.
    script = """
        def predict_fn(data, model):
            return data

        def output_fn(prediction, accept, context):
            context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "from-model")
            return "x", "text/plain"
    """
    endpoint = deploy(
        with_model(classifier, script), variant="Blue", image=TOOLKIT_IMAGE, base_env={}
    )
    serving.endpoint_created(endpoint.name)
    response = runtime.invoke_endpoint(
        EndpointName=endpoint.name,
        Body=ROWS,
        ContentType="text/csv",
        Accept="text/plain",
        CustomAttributes="c=1",
    )
    assert response["InvokedProductionVariant"] == "Blue"
    assert response["CustomAttributes"] == "from-model"
    assert response["ContentType"] == "text/plain"


def test_custom_attributes_over_1024_characters_are_the_apis_validation_error(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.name,
            Body=ROWS,
            ContentType="text/csv",
            CustomAttributes="a" * 1025,
        )
    assert raised.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value at 'customAttributes' failed to satisfy "
        "constraint: Member must have length less than or equal to 1024",
    }
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv", CustomAttributes="a" * 1024
    )
    assert answer["Body"].read()


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_endpoint_created_by_user_code_is_loaded_on_first_invoke(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier))  # no endpoint_created call
    body = runtime.invoke_endpoint(
        EndpointName=endpoint.name,
        Body=csv_rows(FEATURES),
        ContentType="text/csv",
        Accept="text/csv",
    )["Body"].read()
    assert csv_predictions(body) == classifier.predict(FEATURES).tolist()


def test_lazy_load_failure_marks_failed_and_answers_with_the_reason(
    serving: LocalServing, runtime: Any, deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    endpoint = deploy({"code/inference.py": "def model_fn(d):\n    raise OSError('no gpu')\n"})
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=endpoint.name, Body=b"1", ContentType="text/csv")
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "no gpu" in raised.value.response["Error"]["Message"]
    described = sagemaker.describe_endpoint(EndpointName=endpoint.name)
    assert (described["EndpointStatus"], "no gpu" in described["FailureReason"]) == ("Failed", True)


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_clients_from_new_sessions_and_default_session_are_served(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    boto3.setup_default_session(region_name=REGION)
    clients = [
        boto3.client("sagemaker-runtime"),
        boto3.Session(region_name=REGION).client("sagemaker-runtime"),
        botocore.session.get_session().create_client("sagemaker-runtime", region_name=REGION),
    ]
    for client in clients:
        body = client.invoke_endpoint(
            EndpointName=endpoint.name,
            Body=csv_rows(FEATURES[:2]),
            ContentType="text/csv",
            Accept="text/csv",
        )["Body"].read()
        assert csv_predictions(body) == classifier.predict(FEATURES[:2]).tolist()


def test_default_session_made_before_install_is_served(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    boto3.setup_default_session(region_name=REGION)
    before = boto3.DEFAULT_SESSION
    serving = make_serving()
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    assert boto3.DEFAULT_SESSION is before
    body = (
        boto3.client("sagemaker-runtime")
        .invoke_endpoint(
            EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv", Accept="text/csv"
        )["Body"]
        .read()
    )
    assert csv_predictions(body) == classifier.predict([[1, 2, 3], [4, 5, 6]]).tolist()


def test_client_without_the_handler_gets_motos_canned_answer_not_the_network(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    session = botocore.session.get_session()
    session.unregister(EVENT, _DISPATCHER)  # as if made before the dispatcher existed
    client = session.create_client("sagemaker-runtime", region_name=REGION)
    response = client.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")
    assert response["Body"].read() == b"body"  # moto's canned answer


def test_after_close_clients_get_motos_canned_answer(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    serving = make_serving()
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    serving.close()
    serving.close()  # idempotent
    client = boto3.client("sagemaker-runtime", region_name=REGION)
    assert (
        client.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")[
            "Body"
        ].read()
        == b"body"
    )


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_moto_never_parses_a_request_that_was_answered(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    calls: list[int] = []

    def invoke_endpoint(self: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
        calls.append(1)
        return 200, {}, "body"

    monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    runtime.invoke_endpoint(EndpointName=endpoint.name, Body=ROWS, ContentType="text/csv")
    with pytest.raises(ClientError):
        runtime.invoke_endpoint(EndpointName="missing", Body=b"1", ContentType="text/csv")
    assert calls == []


def test_a_second_installed_serving_is_refused(make_serving: Callable[..., LocalServing]) -> None:
    make_serving()
    with pytest.raises(LocalServingError, match="another LocalServing is installed"):
        make_serving()


def test_dispatcher_is_registered_once_however_often_installed(
    make_serving: Callable[..., LocalServing],
) -> None:
    from botocore.handlers import BUILTIN_HANDLERS

    for _ in range(3):
        make_serving().close()
    assert sum(1 for spec in BUILTIN_HANDLERS if spec[1] is _DISPATCHER) == 1


def test_concurrent_invocations_from_many_threads_all_get_right_answers(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    regressor: LinearRegression,
) -> None:
    # Two endpoints created before the serving exists: the first calls race on the lazy load.
    endpoints = [deploy(with_model(classifier)), deploy(with_model(regressor))]
    serving = make_serving()
    models = [classifier, regressor]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        client = boto3.client("sagemaker-runtime", region_name=REGION)
        start.wait()
        try:
            for call in range(20):
                which = (index + call) % 2
                rows = FEATURES[call % 7 : call % 7 + 2 + index % 3]  # one row would be 1-D
                body = client.invoke_endpoint(
                    EndpointName=endpoints[which].name,
                    Body=csv_rows(rows),
                    ContentType="text/csv",
                    Accept="text/csv",
                )["Body"].read()
                # The container decodes CSV to float32.
                expected = models[which].predict(rows.astype("float32")).tolist()
                assert csv_predictions(body) == expected
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert all(serving._slots[(REGION, e.name)].variants is not None for e in endpoints)


def test_endpoint_created_loads_once_per_endpoint(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    first = serving._slots[(REGION, endpoint.name)].variants
    serving.endpoint_created(endpoint.name)
    assert serving._slots[(REGION, endpoint.name)].variants is first


def test_endpoint_created_for_a_missing_endpoint_raises(serving: LocalServing) -> None:
    with pytest.raises(LocalServingError, match="Endpoint ghost of account"):
        serving.endpoint_created("ghost")


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_sdk_v2_predictor_gets_real_predictions(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    sagemaker = pytest.importorskip("sagemaker")
    if not hasattr(sagemaker, "predictor"):
        pytest.skip("SageMaker SDK v3 installed")
    import pandas as pd
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    session = sagemaker.Session(boto3.Session(region_name=REGION))
    frame = pd.DataFrame(FEATURES)
    predictor = Predictor(endpoint.name, sagemaker_session=session, serializer=CSVSerializer())
    expected = classifier.predict(FEATURES).tolist()
    # BytesDeserializer sends Accept */*: the toolkit answers JSON.
    assert json.loads(predictor.predict(frame.values).decode("utf-8")) == expected
    got = predictor.predict(frame.values, initial_args={"Accept": "text/csv"}).decode("utf-8")
    assert [float(v) for v in got.splitlines()] == expected


def test_sdk_v3_endpoint_invoke_gets_real_predictions(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    pytest.importorskip("sagemaker.core.resources")
    from sagemaker.core.resources import Endpoint

    endpoint = deploy(with_model(classifier))
    serving.endpoint_created(endpoint.name)
    # Endpoint.get() trips on moto's empty DataCaptureConfig (SDK v3's pydantic): build it.
    handle = Endpoint(endpoint_name=endpoint.name)
    response = handle.invoke(
        body=csv_rows(FEATURES),
        content_type="text/csv",
        accept="text/csv",
        session=boto3.Session(region_name=REGION),
        region=REGION,
    )
    assert csv_predictions(response.body.read()) == classifier.predict(FEATURES).tolist()


def test_serving_is_a_local_serving_of_the_configured_account(serving: LocalServing) -> None:
    assert isinstance(serving, LocalServing)
    assert (serving.region, serving.account_id) == (REGION, ACCOUNT)
