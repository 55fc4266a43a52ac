"""Serverless endpoints as users deploy them: a serverless candidate beside an instance-backed
one in one session (factory and marker), a serverless session with an instance-backed
exception, each answering with its model's real predictions, reported by its serverless
configuration, and nothing left in the mocked account afterwards (also under pytest-xdist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
PREDICT = """
import boto3

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]

def predict(name):
    body = "\\n".join(",".join(map(str, row)) for row in ROWS)
    answer = boto3.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=name, ContentType="text/csv", Accept="text/csv", Body=body)
    return [float(x) for x in answer["Body"].read().decode().split()]

def variant(config_name):
    config = boto3.client("sagemaker").describe_endpoint_config(EndpointConfigName=config_name)
    return config["ProductionVariants"][0]
"""
SERVERLESS_LINE = "*endpoint: serverless 2048 MB, max concurrency 2, no provisioned concurrency"


def model_args(model_dir: Path) -> list[str]:
    return [f"--sm-model-data={model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS]


def test_one_session_compares_a_serverless_candidate_with_an_instance_backed_endpoint(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(
        PREDICT
        + """
import pytest

def test_factory(sm_endpoint, sm_endpoint_factory):
    candidate = sm_endpoint_factory(serverless_memory_mb=2048, serverless_max_concurrency=2)
    assert predict(sm_endpoint.name) == predict(candidate.name) == [0.0, 2.0]
    serverless = variant(candidate.config_name)
    assert "InstanceType" not in serverless and "InitialInstanceCount" not in serverless
    assert serverless["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 2}
    assert variant(sm_endpoint.config_name)["InstanceType"] == "ml.m5.large"
    assert (candidate.kind, candidate.instance_type) == ("serverless", None)
    assert sm_endpoint.kind == "real-time"

@pytest.mark.sm_endpoint(serverless_memory_mb=1024)
def test_marker(sm_endpoint):
    assert variant(sm_endpoint.config_name)["ServerlessConfig"]["MemorySizeInMB"] == 1024
    assert predict(sm_endpoint.name) == [0.0, 2.0]
"""
    )
    report = pytester.path / "report.json"
    result = pytester.runpytest(*model_args(sklearn_model_dir), f"--sm-report={report}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*(moto, us-east-1): deployed in *teardown deleted"] * 3)
    result.stdout.fnmatch_lines(["*; instances: ml.m5.large x 1", SERVERLESS_LINE])
    result.stdout.fnmatch_lines(
        ["*endpoint: serverless 1024 MB, max concurrency 5, no provisioned concurrency"]
    )
    kinds = {e["kind"]: e for e in json.loads(report.read_text())["endpoints"]}
    assert kinds["serverless"]["instance_type"] is None
    assert kinds["real-time"]["serverless"] is None
    assert audit().empty


SERVERLESS_SESSION = (
    PREDICT
    + """
def test_serverless(sm_endpoint, sm_invoke):
    assert "ServerlessConfig" in variant(sm_endpoint.config_name)
    assert predict(sm_endpoint.name) == [0.0, 2.0]
    import pandas as pd
    frame = pd.DataFrame(ROWS * 50, columns=["a", "b", "c", "d"])
    assert sm_invoke(frame).tolist() == [0.0, 2.0] * 50
    assert sm_invoke.serverless.max_concurrency == 2  # its budgets follow the endpoint

def test_back_to_instances(sm_endpoint_factory):
    instances = sm_endpoint_factory(endpoint_kind="real-time", instance_count=2)
    assert variant(instances.config_name)["InitialInstanceCount"] == 2
    assert "ServerlessConfig" not in variant(instances.config_name)
    assert predict(instances.name) == [0.0, 2.0]
"""
)


def test_a_serverless_session_leaves_nothing_behind(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(SERVERLESS_SESSION)
    result = pytester.runpytest(
        *model_args(sklearn_model_dir),
        "--sm-serverless-memory-mb=2048",
        "--sm-serverless-max-concurrency=2",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["smendpoint: *endpoint=serverless 2048 MB*"])
    result.stdout.fnmatch_lines([SERVERLESS_LINE])
    assert audit().empty


# Every process of an xdist run (controller and workers) notes its SageMaker creates and deletes:
# the controller deletes after the workers' sessions end, so no worker can audit the account.
COUNTING_CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

def _count(operation):
    def handler(**kwargs):
        with open(os.environ["SM_CALLS_FILE"], "a") as out:
            out.write(operation + "\\n")
    return handler

for _kind in ("Endpoint", "EndpointConfig", "Model"):
    for _verb in ("Create", "Delete"):
        BUILTIN_HANDLERS.append(
            (f"after-call.sagemaker.{_verb}{_kind}", _count(_verb + " " + _kind)))
"""


@pytest.mark.slow  # pytest-xdist: not in the quick loop
def test_a_serverless_session_under_xdist_deletes_what_it_created(
    pytester: pytest.Pytester, sklearn_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = pytester.path / "calls.txt"
    monkeypatch.setenv("SM_CALLS_FILE", str(calls))
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(SERVERLESS_SESSION)
    result = pytester.runpytest_subprocess(
        *model_args(sklearn_model_dir),
        "--sm-serverless-memory-mb=2048",
        "--sm-serverless-max-concurrency=2",
        "-n",
        "2",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([SERVERLESS_LINE])
    result.stdout.fnmatch_lines(["smendpoint: deletion of * confirmed*"] * 2)
    made = sorted(calls.read_text().split("\n"))
    for kind in ("Endpoint", "EndpointConfig", "Model"):
        assert made.count(f"Create {kind}") == made.count(f"Delete {kind}") == 2, made
