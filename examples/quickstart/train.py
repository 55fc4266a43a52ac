"""Train the quickstart model and pack it the way SageMaker's scikit-learn container expects.

Writes build/model.tar.gz (model.joblib + code/inference.py) and build/holdout.csv (features
plus the `label` column). Uses the breast-cancer data set scikit-learn ships: 30 numeric
features, nothing downloaded.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import joblib
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).parent
BUILD = HERE / "build"


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    features = data.data
    train_x, holdout_x, train_y, holdout_y = train_test_split(
        features, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train_x.to_numpy(), train_y.to_numpy())

    shutil.rmtree(BUILD, ignore_errors=True)
    staging = BUILD / "model"
    (staging / "code").mkdir(parents=True)
    joblib.dump(model, staging / "model.joblib")
    shutil.copy(HERE / "inference.py", staging / "code" / "inference.py")
    with tarfile.open(BUILD / "model.tar.gz", "w:gz") as archive:
        for child in sorted(staging.iterdir()):
            archive.add(child, arcname=child.name)

    holdout = holdout_x.assign(label=holdout_y.to_numpy())
    holdout.to_csv(BUILD / "holdout.csv", index=False)
    print(f"wrote {BUILD / 'model.tar.gz'} and {BUILD / 'holdout.csv'} ({len(holdout)} rows)")


if __name__ == "__main__":
    main()
