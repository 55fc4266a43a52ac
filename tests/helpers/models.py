"""Small real models saved as SageMaker expects them."""

from __future__ import annotations

from pathlib import Path


def build_sklearn_model(folder: Path, *, inference_script: str | None = None) -> Path:
    """A small real model (LogisticRegression on iris) saved as SageMaker expects it, with
    code/inference.py (container_setup.MODEL_FN unless another script is given): serve it with
    container_setup.SKLEARN_ENV, as the scikit-learn container needs."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from helpers.container_setup import MODEL_FN

    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib")
    (folder / "code").mkdir(exist_ok=True)
    (folder / "code" / "inference.py").write_text(inference_script or MODEL_FN)
    return folder
