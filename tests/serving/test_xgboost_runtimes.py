"""The XGBoost images' serving code and library follow the tag: 1.7-1 (xgboost 1.7.4) predicts an
early-stopped model with its best iteration's trees, 3.0-5 (xgboost 3.0.5) with all of them, as
their serve_utils do. Each test installs its image's runtime once per machine (about a minute)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.localsupport import FEATURES, csv_predictions, csv_rows

xgb = pytest.importorskip("xgboost")

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
BEST_TREES = 2


def early_stopped_model(tmp_path: Path) -> tuple[Any, bytes]:
    """A booster whose training stopped improving after BEST_TREES rounds, saved as xgboost 1.x
    marks it (the `best_ntree_limit` attribute, which 1.x's early stopping writes)."""
    features = np.random.default_rng(0).uniform(0, 4, size=(200, FEATURES.shape[1]))
    labels = features[:, 0] * 2 - features[:, 1]
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 3, "eta": 0.3},
        xgb.DMatrix(features, label=labels),
        8,
    )
    booster.set_attr(best_ntree_limit=str(BEST_TREES), best_iteration=str(BEST_TREES - 1))
    booster.save_model(str(tmp_path / "xgboost-model.json"))
    return booster, (tmp_path / "xgboost-model.json").read_bytes()


def served_predictions(deploy: Any, runtime: Any, image: str, model: bytes) -> list[float]:
    endpoint = deploy({"xgboost-model": model}, image=image, base_env={})
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=csv_rows(FEATURES).strip(), ContentType="text/csv"
    )["Body"].read()
    return csv_predictions(answer)


@pytest.mark.slow
def test_3_0_5_predicts_an_early_stopped_model_with_all_its_trees(
    serving: Any, runtime: Any, deploy: Any, tmp_path: Path
) -> None:
    booster, model = early_stopped_model(tmp_path)
    served = served_predictions(deploy, runtime, f"{ECR}/sagemaker-xgboost:3.0-5", model)
    matrix = xgb.DMatrix(FEATURES.astype(np.float32))
    all_trees = booster.predict(matrix, iteration_range=(0, 0))
    best_only = booster.predict(matrix, iteration_range=(0, BEST_TREES))
    np.testing.assert_allclose(served, all_trees, rtol=1e-6)
    assert not np.allclose(served, best_only, rtol=1e-3)


@pytest.mark.slow
def test_1_7_1_predicts_it_with_its_best_iterations_trees(
    serving: Any, runtime: Any, deploy: Any, tmp_path: Path
) -> None:
    booster, model = early_stopped_model(tmp_path)
    served = served_predictions(deploy, runtime, f"{ECR}/sagemaker-xgboost:1.7-1", model)
    matrix = xgb.DMatrix(FEATURES.astype(np.float32))
    best_only = booster.predict(matrix, iteration_range=(0, BEST_TREES))
    np.testing.assert_allclose(served, best_only, rtol=1e-6)
    described = serving.runtime_description(serving_endpoint_name(serving))
    assert described is not None and "xgboost 1.7.4, numpy 1.24.1" in described


def serving_endpoint_name(serving: Any) -> str:
    [(_, name)] = list(serving._slots)
    return str(name)
