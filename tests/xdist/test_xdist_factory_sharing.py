"""pytest-xdist: factory and marker endpoints are shared like the session's own: named from their
configuration (the same in every worker), deployed by one worker, deleted once by the
controller, and reported once with every worker's invocations added up."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path
from types import MappingProxyType

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS, SKLEARN_IMAGE

from pytest_smendpoint.aws.records import EndpointRecord
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.endpoints.factory import EndpointFactory
from pytest_smendpoint.endpoints.overrides import DeploymentSettings
from pytest_smendpoint.endpoints.xdist.worker import configuration_suffix
from pytest_smendpoint.settings.options import Settings

pytestmark = pytest.mark.slow  # pytest -n subprocess runs
ROLE = "arn:aws:iam::123456789012:role/ci"

# Records `<operation> <resource name>` for every create/delete, in every process of the run.
RECORDING_CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

NAMES = {"Endpoint": "EndpointName", "EndpointConfig": "EndpointConfigName", "Model": "ModelName"}

def _record(operation, parameter):
    def handler(params, **kwargs):
        with open(os.environ["SM_CALLS_FILE"], "a") as out:
            out.write(f"{operation} {params[parameter]}\\n")
    return handler

for _kind, _parameter in NAMES.items():
    for _verb in ("Create", "Delete"):
        _operation = _verb + _kind
        BUILTIN_HANDLERS.append(
            (f"before-parameter-build.sagemaker.{_operation}", _record(_operation, _parameter)))
"""

# Run on both workers (--dist each): every configuration is asked for in every worker.
SHARED_TESTS = """
import dataclasses
import os

import boto3
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from pytest_smendpoint import ModelSpec

FEATURES = load_iris(return_X_y=True)[0]
EXPECTED = joblib.load(os.environ["SM_MODEL_FILE"]).predict(FEATURES).astype(float).tolist()

def note(kind, name):
    with open(os.environ["SM_NAMES_FILE"], "a") as out:
        out.write(f"{os.environ['PYTEST_XDIST_WORKER']} {kind} {name}\\n")

def predict(name):
    body = pd.DataFrame(FEATURES).to_csv(header=False, index=False)
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Accept="text/csv", Body=body)
    return [float(x) for x in answer["Body"].read().decode().split()]

def test_factory_instance_type(sm_endpoint_factory):
    bigger = sm_endpoint_factory(instance_type="ml.c5.xlarge")
    note("factory", bigger.name)
    assert predict(bigger.name) == EXPECTED

def test_factory_model_object(sm_endpoint_factory, sm_model):
    # A new Python object in every worker: only its resolved ModelSpec can key it.
    spec = ModelSpec(image_uri=sm_model.image_uri, role_arn=sm_model.role_arn,
                     model_data_url=sm_model.model_data_url,
                     environment={**sm_model.environment, "FLAVOUR": "object"})
    endpoint = sm_endpoint_factory(model=spec)
    note("object", endpoint.name)
    assert predict(endpoint.name) == EXPECTED

@pytest.mark.sm_endpoint(instance_count=2, env={"FLAVOUR": "marked"})
@pytest.mark.parametrize("n", range(2))
def test_marker(sm_endpoint, sm_invoke, n):
    note("marker", sm_endpoint.name)
    assert np.asarray(sm_invoke(pd.DataFrame(FEATURES)), dtype=float).tolist() == EXPECTED
"""


def test_factory_and_marker_endpoints_are_deployed_once_per_run_and_reported_once(
    pytester: pytest.Pytester, sklearn_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SM_MODEL_FILE", str(sklearn_model_dir / "model.joblib"))
    monkeypatch.setenv("SM_CALLS_FILE", str(pytester.path / "calls.txt"))
    monkeypatch.setenv("SM_NAMES_FILE", str(pytester.path / "names.txt"))
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_shared=SHARED_TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "each", "-p", "no:cacheprovider",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS,
    )  # fmt: skip
    result.assert_outcomes(passed=8)  # 4 tests on each of the 2 workers

    seen: dict[str, dict[str, set[str]]] = {}
    for line in (pytester.path / "names.txt").read_text().splitlines():
        worker, kind, name = line.split()
        seen.setdefault(kind, {}).setdefault(name, set()).add(worker)
    # Each configuration has one name, the same in both workers, ending in a configuration hash.
    assert {kind: len(names) for kind, names in seen.items()} == {
        "factory": 1,
        "object": 1,
        "marker": 1,
    }
    names = {kind: next(iter(by_name)) for kind, by_name in seen.items()}
    assert all(workers == {"gw0", "gw1"} for by in seen.values() for workers in by.values())
    hashed = r"pytest-sm-[0-9-]+-[0-9a-f]{6}-[0-9a-f]{8}"  # not `-gw0-2`: no worker, no counter
    assert all(re.fullmatch(hashed, name) for name in names.values()), names

    # One worker created each endpoint, config and model; the controller deleted each once.
    calls = Counter((pytester.path / "calls.txt").read_text().splitlines())
    for name in names.values():
        model = f"{name}-model"
        for operation, resource in (
            ("Endpoint", name), ("EndpointConfig", name), ("Model", model),
        ):  # fmt: skip
            assert calls[f"Create{operation} {resource}"] == 1, (operation, resource, calls)
            assert calls[f"Delete{operation} {resource}"] == 1, (operation, resource, calls)
    assert sum(calls.values()) == 6 * 3  # nothing else was created (or deleted)

    # The summary shows each shared endpoint once, with both workers' sm_invoke counts added.
    summary = result.stdout.str()
    for name in names.values():
        assert len(re.findall(rf"^{name} \(moto, us-east-1\): deployed in .* teardown deleted$",
                              summary, flags=re.M)) == 1, summary  # fmt: skip
    result.stdout.fnmatch_lines(
        [
            f"{names['marker']} (moto, us-east-1): deployed in *teardown deleted",
            "  model: *; instances: ml.m5.large x 2",
            "  sm_invoke: 4 requests, 600 rows, *",
        ]
    )


def test_configuration_suffix_is_equal_for_equal_configurations_even_for_new_model_objects(
    tmp_path: Path,
) -> None:
    """What lets workers agree on a name: model objects are keyed by their resolved ModelSpec,
    never by identity, and a mapping's order does not matter."""
    import boto3

    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.lifecycle import NoServing
    from pytest_smendpoint.settings.naming import SessionIdentity

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    suffix = configuration_suffix(
        Backend("moto", "us-east-1", session, NoServing()), SessionIdentity.new()
    )

    def never_opened(config: DeploymentSettings) -> AbstractContextManager[EndpointRecord]:
        raise AssertionError("only configurations are named here: nothing is deployed")

    factory = EndpointFactory(Settings(), never_opened, name_base="ep", base_dir=tmp_path)

    def of(**overrides: object) -> str:
        return suffix(factory.configure(overrides))

    def spec(flavour: str) -> ModelSpec:
        environment = MappingProxyType({"FLAVOUR": flavour})
        return ModelSpec(image_uri="img", role_arn=ROLE, model_data_url="s3://b/m.tar.gz",
                         environment=environment)  # fmt: skip

    assert re.fullmatch(r"-[0-9a-f]{8}", of(model=spec("a")))
    assert of(model=spec("a")) == of(model=spec("a")) != of(model=spec("b"))
    assert of(instance_type="ml.c5.xlarge", env={"A": "1", "B": "2"}) == of(
        env={"B": "2", "A": "1"}, instance_type="ml.c5.xlarge"
    )
    assert of(instance_type="ml.c5.xlarge") != of(instance_type="ml.c5.2xlarge")
    try:
        import sagemaker
        from sagemaker.model import Model
    except ImportError:
        return  # SDK v3 has no Model objects for sm_model to return

    def sdk_model() -> Model:
        return Model(image_uri="img", model_data="s3://b/m.tar.gz", role=ROLE, env={"A": "1"},
                     sagemaker_session=sagemaker.Session(boto_session=session))  # fmt: skip

    assert of(model=sdk_model()) == of(model=sdk_model()) != of(model=spec("a"))
