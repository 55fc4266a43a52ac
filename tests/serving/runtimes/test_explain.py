"""The explanation added to a load failure, read from the model's own files."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.serving.runtimes import explain
from pytest_smendpoint.serving.runtimes.catalog import BY_TAG


@pytest.fixture
def trained() -> LogisticRegression:
    return LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])


@pytest.mark.parametrize("compress", [0, 3])
def test_a_joblib_file_names_its_scikit_learn_and_numpy(
    tmp_path: Path, trained: LogisticRegression, compress: int
) -> None:
    # A numpy scalar pickles as numpy._core.multiarray.scalar under numpy 2 (arrays in a
    # joblib file are written beside the pickle, with no module name).
    trained.score_ = np.float64(0.5)
    joblib.dump(trained, tmp_path / "model.joblib", compress=compress)
    found = explain.read(tmp_path)
    assert found == [
        explain.Provenance(
            "model.joblib", sklearn.__version__, np.__version__.startswith("2."), None
        )
    ]


def test_the_hint_names_both_sides_and_the_fix(tmp_path: Path, trained: LogisticRegression) -> None:
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(trained, protocol=4))
    runtime = BY_TAG["sagemaker-scikit-learn:1.2-1"]
    hint = explain.hint(tmp_path, runtime)
    numpy_2 = np.__version__.startswith("2.")
    wrote = f"scikit-learn {sklearn.__version__}" + (
        " / numpy 2 (it refers to numpy._core)" if numpy_2 else ""
    )
    has = "scikit-learn 1.2.1" + (" / numpy 1.24.1" if numpy_2 else "")
    assert hint.startswith(
        f"model.pkl was written with {wrote}; the sagemaker-scikit-learn:1.2-1 image has {has}. "
        "To fix: "
    )
    assert hint.endswith(
        "train with the image's packages (scikit-learn 1.2.1, numpy 1.24.1, scipy 1.8.0, "
        "pandas 1.1.3, pyarrow 14.0.1)."
    )


def test_a_model_of_the_images_own_versions_needs_no_hint(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no model here")
    assert explain.hint(tmp_path, BY_TAG["sagemaker-scikit-learn:1.9-0"]) == ""


def test_an_xgboost_json_model_names_its_version(tmp_path: Path) -> None:
    (tmp_path / "xgboost-model").write_bytes(b'{"learner": {}, "version": [3, 0, 5]}')
    hint = explain.hint(tmp_path, BY_TAG["sagemaker-xgboost:1.7-1"])
    assert hint.startswith(
        "xgboost-model was written with xgboost 3.0.5; the sagemaker-xgboost:1.7-1 image has "
        "xgboost 1.7.4. To fix: use the sagemaker-xgboost:3.0-5 image, or train with"
    )
