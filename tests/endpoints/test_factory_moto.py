"""`sm_endpoint_factory` on the embedded default: further endpoints with other settings or
another model, each answering with its own model's real predictions, all deleted at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
# Iris rows whose classes are 0 and 2; the constant model answers 1 for every row.
PREDICT = """
import boto3

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

def predict(name):
    body = "\\n".join(",".join(map(str, row)) for row in ROWS)
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Accept="text/csv", Body=body)
    return [float(x) for x in answer["Body"].read().decode().split()]
"""


def test_factory_deploys_other_settings_and_models_and_deletes_them(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, constant_model_dir: Path
) -> None:
    pytester.makepyfile(
        PREDICT
        + f"""
def test_factory(sm_endpoint, sm_endpoint_factory):
    bigger = sm_endpoint_factory(
        instance_type="ml.c5.xlarge", instance_count=2, env={{"FLAVOUR": "big"}})
    constant = sm_endpoint_factory(model_data={str(constant_model_dir)!r})
    assert len({{sm_endpoint.name, bigger.name, constant.name}}) == 3
    assert bigger.name == sm_endpoint.name + "-2" and constant.name == sm_endpoint.name + "-3"
    assert predict(sm_endpoint.name) == [0.0, 2.0]
    assert predict(bigger.name) == [0.0, 2.0]
    assert predict(constant.name) == [1.0, 1.0]
    sm = boto3.client("sagemaker")
    config = sm.describe_endpoint_config(EndpointConfigName=bigger.config_name)
    variant = config["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 2)
    model = sm.describe_model(ModelName=bigger.model_names[0])
    assert model["PrimaryContainer"]["Environment"]["FLAVOUR"] == "big"
    assert bigger.model_names == (bigger.name + "-model",)
    assert bigger.owned and constant.owned
    again = sm_endpoint_factory(
        env={{"FLAVOUR": "big"}}, instance_count=2, instance_type="ml.c5.xlarge")
    assert again is bigger

def test_later_tests_see_the_same_endpoints(sm_endpoint_factory):
    listed = boto3.client("sagemaker").list_endpoints()["Endpoints"]
    assert len(listed) == 3
"""
    )
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*(moto, us-east-1): deployed in *teardown deleted"] * 3)
    assert audit().empty


def test_many_deploys_concurrently_with_a_model_object_and_needs_no_session_source(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path, constant_model_dir: Path
) -> None:
    """No model source is configured: the factory's own sources are enough."""
    pytester.makepyfile(
        PREDICT
        + f"""
import threading
from pytest_smendpoint import ModelSpec

def test_many(sm_endpoint_factory, sm_backend):
    iris = sm_endpoint_factory(model_data={str(sklearn_model_dir)!r}, image_uri={IMAGE!r},
                               env={SKLEARN_ENV!r})
    url = boto3.client("sagemaker").describe_model(
        ModelName=iris.model_names[0])["PrimaryContainer"]["ModelDataUrl"]
    spec = ModelSpec(image_uri={IMAGE!r}, role_arn="arn:aws:iam::123456789012:role/r",
                     model_data_url=url, name="my-own-model",
                     environment={SKLEARN_ENV!r})
    seen = []
    original = sm_backend.serving.endpoint_created
    def created(name):
        seen.append(threading.current_thread().name)
        original(name)
    sm_backend.serving.endpoint_created = created
    from_spec, constant = sm_endpoint_factory.many([
        {{"model": spec, "instance_count": 2}},
        {{"model_data": {str(constant_model_dir)!r}, "image_uri": {IMAGE!r},
          "env": {SKLEARN_ENV!r}}},
    ])
    assert from_spec.model_names == ("my-own-model",)
    assert predict(from_spec.name) == [0.0, 2.0]
    assert predict(constant.name) == [1.0, 1.0]
    assert len(seen) == 2 and all(n.startswith("smendpoint-deploy") for n in seen)
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*(moto, us-east-1): deployed in *teardown deleted"] * 3)
    assert audit().empty


def test_factory_endpoints_are_deleted_when_a_test_fails(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(
        """
        def test_fails(sm_endpoint_factory):
            sm_endpoint_factory(instance_count=3)
            raise AssertionError("the candidate is worse")
        """
    )
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["pytest-sm-*-2 (moto, us-east-1): deployed in *teardown deleted"])
    assert audit().empty
