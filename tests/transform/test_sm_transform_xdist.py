"""sm_transform under pytest-xdist: every worker runs its own jobs (names apart), creates the
jobs' model once and deletes it, deletes its data; the controller reports every worker's jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS, SKLEARN_IMAGE

pytestmark = pytest.mark.slow  # pytest -n subprocess runs

COUNTING_CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

def _count(operation):
    def handler(params, **kwargs):
        name = params.get("TransformJobName") or params.get("ModelName") or "-"
        with open(os.environ["SM_CALLS_FILE"], "a") as out:
            out.write(operation + " " + name + "\\n")
    return handler

for _operation in ("CreateModel", "DeleteModel", "CreateTransformJob", "CreateEndpoint"):
    BUILTIN_HANDLERS.append((f"before-parameter-build.sagemaker.{_operation}", _count(_operation)))
"""

TESTS = """
import boto3, os, joblib, pytest
from sklearn.datasets import load_iris

@pytest.mark.parametrize("n", range(4))
def test_transform(sm_transform, n):
    features, _ = load_iris(return_X_y=True, as_frame=True)
    model = joblib.load(os.environ["SM_MODEL_FILE"])
    got = sm_transform(features.iloc[n * 10 :])
    assert (got.to_numpy() == model.predict(features.iloc[n * 10 :].to_numpy("float32"))).all()
"""


def test_workers_run_their_own_jobs_and_clean_up(
    pytester: pytest.Pytester, sklearn_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = pytester.path / "calls.txt"
    monkeypatch.setenv("SM_CALLS_FILE", str(calls))
    monkeypatch.setenv("SM_MODEL_FILE", str(sklearn_model_dir / "model.joblib"))
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_jobs=TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--sm-report=report.json",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS,
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    lines = [line.split() for line in calls.read_text().splitlines()]
    created = sorted(name for op, name in lines if op == "CreateModel")
    deleted = sorted(name for op, name in lines if op == "DeleteModel")
    jobs = [name for op, name in lines if op == "CreateTransformJob"]
    assert created == deleted and len(created) == 2  # one model per worker, each deleted
    assert all("-transform-model-gw" in name for name in created)  # named per worker
    assert len(jobs) == len(set(jobs)) == 4  # no job name used twice across workers
    assert not [op for op, _ in lines if op == "CreateEndpoint"]  # no endpoint for a transform
    report = json.loads((pytester.path / "report.json").read_text())
    assert sorted(job["job_name"] for job in report["transforms"]) == sorted(jobs)
    assert {job["status"] for job in report["transforms"]} == {"Completed"}
