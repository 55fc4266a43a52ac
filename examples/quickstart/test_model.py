"""What a release gate checks: the deployed endpoint's real predictions on a holdout set."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import joblib
import numpy as np


def test_accuracy_on_holdout(sm_invoke, sm_metrics, holdout_df):
    probabilities = sm_invoke(holdout_df)  # the label column is dropped, feature order kept
    accuracy = ((probabilities > 0.5).astype(int) == holdout_df["label"]).mean()
    sm_metrics.record("accuracy", accuracy)  # for the report and for --sm-gate "accuracy>=..."
    assert accuracy >= 0.95


def test_endpoint_serves_exactly_the_trained_model(sm_invoke, holdout_df, tmp_path):
    import tarfile

    with tarfile.open(Path(__file__).parent / "build" / "model.tar.gz") as archive:
        archive.extract("model.joblib", tmp_path)
    model = joblib.load(tmp_path / "model.joblib")
    # What the container computes: it decodes CSV into a C-ordered float32 array (a DataFrame's
    # values are Fortran-ordered float64, which changes the result in the last bits).
    features = np.ascontiguousarray(holdout_df.drop(columns="label").to_numpy(), dtype=np.float32)
    expected = model.predict_proba(features)[:, 1]
    np.testing.assert_array_equal(sm_invoke(holdout_df).to_numpy(), expected)


def test_sdk_predictor_seed_style(sm_predictor, holdout_df):
    rows = holdout_df.drop(columns="label").values[:5]
    if hasattr(sm_predictor, "predict"):  # SageMaker SDK v2 Predictor with a CSVSerializer
        # The SDK's default deserializer accepts */*, which the container answers in JSON.
        answer = json.loads(sm_predictor.predict(rows).decode("utf-8"))
    else:  # SDK v3 sagemaker.core.resources.Endpoint
        body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows)
        response = sm_predictor.invoke(
            body=body, content_type="text/csv", accept="application/json"
        )
        answer = json.loads(response.body.read().decode("utf-8"))
    assert len(answer) == 5 and all(0.0 <= p <= 1.0 for p in answer)


def test_plain_boto3_client(sm_endpoint, holdout_df):
    runtime = boto3.client("sagemaker-runtime")  # any client of the test process is served
    # Two rows: the container decodes a single CSV row to a 1-D array, which scikit-learn
    # refuses ("Expected 2D array"), on SageMaker as here.
    rows = holdout_df.drop(columns="label").iloc[:2].to_numpy()
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)
    response = runtime.invoke_endpoint(
        EndpointName=sm_endpoint.name, ContentType="text/csv", Accept="text/csv", Body=body
    )
    assert response["ContentType"] == "text/csv; charset=utf-8"
    answers = [float(v) for v in response["Body"].read().split()]
    assert len(answers) == 2 and all(0.0 <= p <= 1.0 for p in answers)
