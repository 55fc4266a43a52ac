"""The XGBoost algorithm container in a transform job: it answers /execution-parameters (its CPU
count, MULTI_RECORD, 6 MiB), and with SAGEMAKER_BATCH set writes one prediction per line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers.transform_jobs import BUCKET, Account, csv_of

xgb = pytest.importorskip("xgboost")

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"


@pytest.mark.slow  # over 1.5 s
def test_xgboost_algorithm_offers_its_parameters_and_answers_line_by_line(
    account: Account, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 4, size=(300, 3))
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 3},
        xgb.DMatrix(features, label=features[:, 0] * 2 - features[:, 1]),
        5,
    )
    folder = tmp_path / "model"
    folder.mkdir()
    booster.save_model(str(tmp_path / "saved.json"))
    (folder / "xgboost-model").write_bytes((tmp_path / "saved.json").read_bytes())
    account.s3.put_object(Bucket=BUCKET, Key="xgb/rows.csv", Body=csv_of(features))
    model = account.model(folder, environment={}, image=IMAGE)
    job = account.transform(model, "xgb", TransformOutput={"Accept": "text/csv"})
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    lines = account.read("out/rows.csv.out").decode().split("\n")
    # One request: a prediction per line, the container's own trailing newline, then
    # AssembleWith=Line's.
    assert lines[-2:] == ["", ""]
    served = [float(v) for v in lines[:-2]]
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(features)), rtol=1e-5)
    # The job set none of the three: the container's answer (multiprocessing.cpu_count()).
    assert account.data_log(job)[0].endswith(
        f"MaxConcurrentTransforms={os.cpu_count()}, MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD"
    )
