"""Models for the several-endpoints tests: the shared iris classifier, and a second model whose
predictions differ from it (a constant classifier), so each endpoint's answers show which
model it serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.container_setup import MODEL_FN


@pytest.fixture(scope="session")
def constant_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Always predicts class 1: not what the iris classifier says for setosa rows."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier

    features, labels = load_iris(return_X_y=True)
    folder = tmp_path_factory.mktemp("constant") / "model"
    folder.mkdir()
    joblib.dump(
        DummyClassifier(strategy="constant", constant=1).fit(features, labels),
        folder / "model.joblib",
    )
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(MODEL_FN)  # the container's model_fn
    return folder
