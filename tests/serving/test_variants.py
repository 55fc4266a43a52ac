"""Production variants served as SageMaker serves them: each variant with its own model, calls
spread by weight reproducibly, TargetVariant honoured, InvokedProductionVariant right; and a model
that cannot load makes the endpoint Failed at CreateEndpoint, however the endpoint was created."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers.localsupport import ACCOUNT, BUCKET, REGION, ROLE, loaded_variants, pack

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving.variants import ROUTING_SEED, VariantPicker

# A realistic scikit-learn framework image, with the entry script inside model.tar.gz as the
# container finds it: SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code.
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ENTRY = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
# Each variant's own model is the answer it gives, read from its own model data.
ANSWERING = """
    import os

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "answer.txt")) as handle:
            return handle.read()

    def predict_fn(data, model):
        return [model]
"""
BROKEN = """
    def model_fn(model_dir):
        raise OSError("no weights in this model")
"""
ROW = b"1,2,3\n"

_NAMES = itertools.count(1)


def answering(answer: str) -> dict[str, str]:
    return {"answer.txt": answer, "code/inference.py": ANSWERING}


def broken() -> dict[str, str]:
    return {"code/inference.py": BROKEN}


def create_endpoint(
    sagemaker: Any, s3: Any, variants: Mapping[str, tuple[Mapping[str, Any], float | None]]
) -> str:
    """Models, a config with one production variant per entry ({name: (files, weight)}) and
    the endpoint, all with plain boto3 calls; returns the endpoint's name."""
    number = next(_NAMES)
    production_variants = []
    for variant, (files, weight) in variants.items():
        key = f"variants{number}/{variant}/model.tar.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=pack(files))
        model = f"variants{number}-{variant}"
        sagemaker.create_model(
            ModelName=model,
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": f"s3://{BUCKET}/{key}",
                "Environment": ENTRY,
            },
            ExecutionRoleArn=ROLE,
        )
        spec: dict[str, Any] = {
            "VariantName": variant,
            "ModelName": model,
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
        }
        if weight is not None:
            spec["InitialVariantWeight"] = weight
        production_variants.append(spec)
    name = f"variants-{number}"
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=production_variants
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def call(runtime: Any, name: str, **kwargs: Any) -> tuple[str, list[str]]:
    """(InvokedProductionVariant, the answer) of one call."""
    response = runtime.invoke_endpoint(
        EndpointName=name, Body=ROW, ContentType="text/csv", Accept="application/json", **kwargs
    )
    return response["InvokedProductionVariant"], json.loads(response["Body"].read())


def expected_routing(weights: Mapping[str, float], calls: int) -> list[str]:
    """The documented routing: one draw of random.Random(ROUTING_SEED) per untargeted call,
    scaled by the total weight, lands in a variant's share (in the config's order)."""
    rng = random.Random(ROUTING_SEED)
    total = sum(weights.values())
    sequence = []
    for _ in range(calls):
        draw, bound = rng.random() * total, 0.0
        for variant, weight in weights.items():
            bound += weight
            if draw < bound:
                sequence.append(variant)
                break
    return sequence


def test_picker_never_picks_a_zero_weight_and_gives_none_when_all_are_zero() -> None:
    picker = VariantPicker()
    assert {picker.pick([0.0, 1.0, 0.0]) for _ in range(200)} == {1}
    assert picker.pick([0.0, 0.0]) is None
    assert picker.pick([0.0]) is None
    assert picker.pick([2.0]) == 0


def test_picker_draws_are_the_seeded_sequence() -> None:
    picker, rng = VariantPicker(), random.Random(ROUTING_SEED)
    picks = [picker.pick([1.0, 1.0]) for _ in range(50)]
    assert picks == [0 if rng.random() * 2 < 1 else 1 for _ in range(50)]


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


def test_calls_are_spread_by_weight_reproducibly_and_each_variant_answers_with_its_own_model(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    weights = {"A": 3.0, "B": 1.0}
    variants = {"A": (answering("a"), 3.0), "B": (answering("b"), 1.0)}
    first, second = (create_endpoint(sagemaker, s3, variants) for _ in range(2))
    runs = []
    for name in (first, second):
        calls = [call(runtime, name) for _ in range(400)]
        assert all(answer == [variant.lower()] for variant, answer in calls)
        runs.append([variant for variant, _ in calls])
    # Reproducible: every endpoint starts the same sequence, whatever its name, on every run.
    assert runs[0] == runs[1] == expected_routing(weights, 400)
    # And spread by weight: 300 of 400 expected for A; 35 is four standard deviations.
    assert abs(Counter(runs[0])["A"] - 300) <= 35
    assert set(runs[0]) == {"A", "B"}


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_target_variant_is_answered_by_that_variant_without_shifting_the_weighted_sequence(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 3.0), "B": (answering("b"), 1.0)})
    routed = []
    for _ in range(20):
        assert call(runtime, name, TargetVariant="B") == ("B", ["b"])
        assert call(runtime, name, TargetVariant="A") == ("A", ["a"])
        routed.append(call(runtime, name)[0])
    assert routed == expected_routing({"A": 3.0, "B": 1.0}, 20)


def test_unknown_target_variant_is_sagemakers_validation_error(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 1.0)})
    with pytest.raises(ClientError) as raised:
        call(runtime, name, TargetVariant="Nope")
    error = raised.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == (
        f"Variant Nope of endpoint {name} of account {ACCOUNT} not found."
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_variant_without_weight_has_weight_one(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), None), "B": (answering("b"), 1.0)})
    routed = [call(runtime, name)[0] for _ in range(40)]
    assert routed == expected_routing({"A": 1.0, "B": 1.0}, 40)


def test_weight_zero_variant_gets_no_traffic_but_answers_when_targeted(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    # moto drops a weight of 0 from the endpoint's CurrentWeight: the config's 0 must still hold.
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 0.0), "B": (answering("b"), 2.0)})
    assert {call(runtime, name)[0] for _ in range(30)} == {"B"}
    assert call(runtime, name, TargetVariant="A") == ("A", ["a"])


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_all_weights_zero_refuses_untargeted_calls(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 0.0), "B": (answering("b"), 0.0)})
    with pytest.raises(ClientError) as raised:
        call(runtime, name)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        f"Endpoint {name} has no production variant with a weight above 0: set TargetVariant, "
        "or raise a variant's weight (UpdateEndpointWeightsAndCapacities)."
    )
    assert call(runtime, name, TargetVariant="B") == ("B", ["b"])


def test_update_endpoint_weights_moves_the_traffic(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 1.0), "B": (answering("b"), 0.0)})
    assert {call(runtime, name)[0] for _ in range(10)} == {"A"}
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": "A", "DesiredWeight": 0.0},
            {"VariantName": "B", "DesiredWeight": 5.0},
        ],
    )
    assert {call(runtime, name)[0] for _ in range(10)} == {"B"}


def test_one_variant_that_cannot_load_fails_the_endpoint_at_create_naming_it(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 1.0), "B": (broken(), 1.0)})
    # Right after CreateEndpoint: no endpoint_created, no call made.
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert "production variant B" in reason and "production variant A" not in reason
    assert "no weights in this model" in reason
    # Variant A, which did load, was unloaded: nothing is left running for a Failed endpoint.
    slot = serving._slots[(REGION, name)]
    assert slot.variants is None
    with pytest.raises(ClientError) as raised:
        call(runtime, name, TargetVariant="A")
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        f"Endpoint {name} of account {ACCOUNT} is not in service: {reason}"
    )


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_plain_boto3_endpoint_whose_model_cannot_load_is_failed_right_after_create(
    serving: LocalServing, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"AllTraffic": (broken(), None)})
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    assert "production variant AllTraffic" in described["FailureReason"]
    assert "no weights in this model" in described["FailureReason"]


def test_endpoint_in_another_region_is_loaded_at_create_too(serving: LocalServing, s3: Any) -> None:
    west = boto3.client("sagemaker", region_name="us-west-2")
    name = create_endpoint(west, s3, {"AllTraffic": (broken(), None)})
    assert west.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Failed"


def test_plain_boto3_delete_unloads_at_once(
    serving: LocalServing, runtime: Any, sagemaker: Any, s3: Any
) -> None:
    name = create_endpoint(sagemaker, s3, {"A": (answering("a"), 1.0), "B": (answering("b"), 1.0)})
    workdirs = [item.workdir for item in loaded_variants(serving, name)]
    assert all(path.is_dir() for path in workdirs)
    sagemaker.delete_endpoint(EndpointName=name)  # no endpoint_deleted, no call
    assert (REGION, name) not in serving._slots
    assert not any(path.exists() for path in workdirs)


def test_close_restores_motos_create_endpoint(
    make_serving: Callable[..., LocalServing], sagemaker: Any, s3: Any
) -> None:
    from moto.sagemaker.models import SageMakerModelBackend

    original = SageMakerModelBackend.create_endpoint
    serving = make_serving()
    assert SageMakerModelBackend.create_endpoint is not original
    serving.close()
    assert SageMakerModelBackend.create_endpoint is original
    name = create_endpoint(sagemaker, s3, {"AllTraffic": (broken(), None)})
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"


def test_shared_moto_server_routes_variants_and_fails_a_broken_model_at_create() -> None:
    """Through the moto server pytest-xdist shares: plain boto3 clients on its URL."""
    from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

    server = SharedMotoServer(REGION, ACCOUNT)
    url = server.start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        s3 = session.client("s3", endpoint_url=url)
        sagemaker = session.client("sagemaker", endpoint_url=url)
        runtime = session.client("sagemaker-runtime", endpoint_url=url)
        s3.create_bucket(Bucket=BUCKET)

        failed = create_endpoint(sagemaker, s3, {"AllTraffic": (broken(), None)})
        described = sagemaker.describe_endpoint(EndpointName=failed)
        assert described["EndpointStatus"] == "Failed"
        assert "production variant AllTraffic" in described["FailureReason"]
        assert "no weights in this model" in described["FailureReason"]

        name = create_endpoint(
            sagemaker, s3, {"A": (answering("a"), 3.0), "B": (answering("b"), 1.0)}
        )
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        assert call(runtime, name, TargetVariant="B") == ("B", ["b"])
        routed = [call(runtime, name)[0] for _ in range(40)]
        assert routed == expected_routing({"A": 3.0, "B": 1.0}, 40)
        with pytest.raises(ClientError) as raised:
            call(runtime, name, TargetVariant="Nope")
        assert raised.value.response["Error"]["Code"] == "ValidationError"
        assert raised.value.response["Error"]["Message"] == (
            f"Variant Nope of endpoint {name} of account {ACCOUNT} not found."
        )
    finally:
        server.stop()
