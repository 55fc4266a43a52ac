"""`sm_compare` against two real local models on the moto default: the iris classifier as the
candidate, and as production the same classifier altered on chosen rows (sepal length >= 7.5
answers class 0), so the rows that must disagree are known in advance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS
from helpers.localsupport import FLASK_3_500
from helpers.markdown_tables import parse_markdown_tables

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/production"

# Production's entry script: the iris model, except on the chosen rows; and it refuses rows
# with a negative measurement (the candidate takes them).
PRODUCTION_SCRIPT = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    if (data < 0).any():
        raise ValueError("production refuses negative measurements")
    labels = model.predict(data)
    labels[data[:, 0] >= 7.5] = 0
    return labels
"""

PRODUCTION_CONFTEST = """
import pytest


@pytest.fixture(scope="session", autouse=True)
def production(sm_backend):
    session = sm_backend.boto_session
    session.client("s3").create_bucket(Bucket="prod-models")
    session.client("s3").upload_file({archive!r}, "prod-models", "iris/model.tar.gz")
    sm = session.client("sagemaker")
    sm.create_model(ModelName="production-model", ExecutionRoleArn={role!r},
                    PrimaryContainer={{"Image": {image!r}, "Environment": {env!r},
                                      "ModelDataUrl": "s3://prod-models/iris/model.tar.gz"}})
    sm.create_endpoint_config(EndpointConfigName="production-config", ProductionVariants=[{{
        "VariantName": "AllTraffic", "ModelName": "production-model",
        "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}])
    sm.create_endpoint(EndpointName="production", EndpointConfigName="production-config")
"""

COMPARING_TESTS = """
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from pytest_smendpoint.invoke.compare import ComparisonError


def holdout():
    features, labels = load_iris(return_X_y=True, as_frame=True)
    frame = features.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["label"] = labels
    frame.index = [f"flower-{n}" for n in range(len(frame))]
    return frame


def test_compare(sm_compare, sm_invoke, sm_metrics):
    frame = holdout()
    chosen = frame.index[frame["sepal_length"] >= 7.5]
    result = sm_compare(frame, name="holdout", max_rows_per_request=40)
    assert list(result.agree.index) == list(frame.index)
    assert sorted(result.agree.index[~result.agree]) == sorted(chosen)
    assert result.disagreements == len(chosen) == 6
    assert result.agreement == 1 - 6 / 150
    assert (result.baseline_labels.loc[chosen] == 0).all()
    expected_baseline = result.candidate.copy()
    expected_baseline.loc[chosen] = 0
    assert list(result.baseline) == list(expected_baseline)
    truth = frame["label"]
    candidate_accuracy = float((result.candidate == truth).mean())
    baseline_accuracy = float((expected_baseline == truth).mean())
    assert result.candidate_metric == candidate_accuracy
    assert result.baseline_metric == baseline_accuracy
    assert result.metric_delta == candidate_accuracy - baseline_accuracy > 0
    # The rows that disagree most: exactly the chosen ones, features included.
    assert sorted(result.worst.index) == sorted(chosen)
    assert list(result.worst.columns) == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "label",
        "candidate", "baseline", "abs_diff",
    ]
    assert (result.worst["baseline"] == 0).all() and (result.worst["abs_diff"] == 2).all()
    assert result.score_diff.max == 2.0 and result.score_diff.p99 == 2.0
    # Same batches to both endpoints: 150 rows at 40 a request is 4 requests each.
    assert sm_invoke.stats.requests == 4
    with open("figures.json", "w") as handle:
        json.dump(result.figures(), handle)


def test_rows_production_rejects(sm_compare):
    frame = holdout().head(3)
    frame.iloc[1, 0] = -1.0
    with pytest.raises(ComparisonError) as caught:
        sm_compare(frame)
    with open("rejected.txt", "w") as handle:
        handle.write(str(caught.value))
"""


@pytest.fixture(scope="module")
def production_archive(tmp_path_factory: pytest.TempPathFactory, sklearn_model_dir: Path) -> str:
    folder = tmp_path_factory.mktemp("production") / "model"
    shutil.copytree(sklearn_model_dir, folder)
    (folder / "code" / "inference.py").write_text(PRODUCTION_SCRIPT)
    return shutil.make_archive(str(folder.parent / "production"), "gztar", folder)


def _project(pytester: pytest.Pytester, archive: str) -> None:
    pytester.makeconftest(
        PRODUCTION_CONFTEST.format(archive=archive, role=ROLE, image=IMAGE, env=SKLEARN_ENV)
    )
    pytester.makepyfile(test_candidate_vs_production=COMPARING_TESTS)


@pytest.mark.slow
def test_compare_finds_the_chosen_rows_and_its_figures_reach_report_gates_and_summary(
    pytester: pytest.Pytester,
    sklearn_model_dir: Path,
    production_archive: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _project(pytester, production_archive)
    step_summary = pytester.path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    result = pytester.runpytest(
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-baseline-endpoint=production",
        "--sm-report=report.json",
        "--sm-summary-md=summary.md",
        "--sm-gate=agreement>=0.98",
        "--sm-gate=accuracy_delta>=-0.005",
        "--sm-gate=disagreements<=6",
    )
    result.assert_outcomes(passed=2)
    assert result.ret == 1  # agreement 0.96 misses its gate
    figures = json.loads((pytester.path / "figures.json").read_text())
    assert figures["agreement"] == 0.96 and figures["disagreements"] == 6.0
    assert figures["accuracy_delta"] > 0
    result.stdout.fnmatch_lines(
        [
            "comparison holdout: pytest-sm-* (candidate) vs production (baseline)",
            "  agreement 0.9600 (6 of 150 rows differ)",
            "  score diff: max 2, mean 0.08, p99 2; relative: max 1, mean 0.04, p99 1",
            "  accuracy: candidate 0.9*, baseline 0.9*, delta +0.0*",
            "gates: 1 of 3 MISSED: the session fails",
            "  MISSED agreement>=0.98: agreement = 0.96 (comparison holdout)",
            "  met    accuracy_delta>=-0.005: accuracy_delta = 0.0* (comparison holdout)",
            "  met    disagreements<=6: disagreements = 6 (comparison holdout)",
        ]
    )
    # The scikit-learn container answers a handler's exception with Flask's generic 500 page.
    assert (pytester.path / "rejected.txt").read_text() == (
        "sm_compare: the baseline (endpoint 'production') could not predict the frame: "
        "InvokeEndpoint failed for endpoint 'production', rows 0-2 (index 'flower-0' to "
        "'flower-2'): ModelError (the container answered 500): " + FLASK_3_500 + " (log stream "
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/production)"
    )
    data = json.loads((pytester.path / "report.json").read_text())
    [comparison] = [c for c in data["comparisons"] if c["name"] == "holdout"]
    assert comparison["baseline"] == "production" and comparison["rows"] == 150
    assert comparison["figures"] == figures
    assert sorted(row["index"] for row in comparison["worst_rows"]) == [
        f"flower-{n}" for n in (105, 117, 118, 122, 131, 135)
    ]
    assert comparison["worst_rows"][0]["features"]["label"] == 2
    assert [g["gate"] for g in data["gates"] if not g["met"]] == ["agreement>=0.98"]
    # The Markdown summary: written to the path, appended to the job summary.
    summary = (pytester.path / "summary.md").read_text()
    assert step_summary.read_text() == "earlier step\n" + summary
    tables = parse_markdown_tables(summary)
    gates = tables["Gates"]
    assert gates[0] == {
        "result": "MISSED",
        "gate": "agreement>=0.98",
        "value": "0.96",
        "detail": "agreement = 0.96 (comparison holdout)",
    }
    assert [row["result"] for row in gates] == ["MISSED", "met", "met"]
    [compared] = [
        rows for heading, rows in tables.items() if heading.startswith("Comparison holdout")
    ]
    assert {row["figure"]: row["value"] for row in compared}["disagreements"] == "6"
    worst = tables["Rows that differ most in comparison holdout"]
    assert sorted(row["index"] for row in worst) == sorted(
        f"flower-{n}" for n in (105, 117, 118, 122, 131, 135)
    )
    assert {row["baseline"] for row in worst} == {"0"}
    labels = tables["Labels of comparison holdout"]
    assert {(r["candidate label"], r["baseline label"]): r["rows"] for r in labels}[
        ("2", "0")
    ] == "6"


def test_compare_without_a_baseline_stops_at_start_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_compare(sm_compare): pass")
    result = pytester.runpytest("--sm-model-data=.", "--sm-image-uri=x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: test_compare_without_a_baseline_stops_at_start_up.py::test_compare uses "
            "sm_compare, but no baseline endpoint is configured: give --sm-baseline-endpoint NAME "
            "(or the sm_baseline_endpoint ini key), the existing endpoint to compare against"
        ]
    )
