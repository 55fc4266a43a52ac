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
    # The container decodes CSV into a C-ordered array; a DataFrame's values are Fortran-ordered,
    # which changes BLAS's summation order in the last bit. Same layout, same bits.
    features = np.ascontiguousarray(holdout_df.drop(columns="label").to_numpy())
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
    row = ",".join(repr(float(v)) for v in holdout_df.drop(columns="label").iloc[0])
    response = runtime.invoke_endpoint(
        EndpointName=sm_endpoint.name, ContentType="text/csv", Accept="text/csv", Body=row
    )
    assert 0.0 <= float(response["Body"].read()) <= 1.0
