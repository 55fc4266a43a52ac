"""Both sides of the XGBoost algorithm-mode comparison inside an image runtime's interpreter (the
1.7-1 image's xgboost 1.7.4, numpy 1.24.1, scipy 1.8.0): this plugin's profile and the
container's request path as transcribed in helpers/xgboost_container_reference.py. Trains a
small model there, then answers each case {"body", "content_type", "model"} with
{"ours": [status, body, content type], "theirs": [...]} on stdout."""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import sys
import tempfile

import numpy as np
import xgboost as xgb
from helpers import xgboost_container_reference as reference

from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm


def model_dirs() -> dict[str, str]:
    rng = np.random.RandomState(0)
    features = rng.rand(200, 3)
    labels = (features[:, 0] + 0.3 * rng.rand(200) > 0.7).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "seed": 0, "nthread": 1},
        xgb.DMatrix(features, label=labels),
        num_boost_round=4,
    )
    saved, pickled = tempfile.mkdtemp(), tempfile.mkdtemp()
    booster.save_model(os.path.join(saved, "xgboost-model"))
    with open(os.path.join(pickled, "xgboost-model"), "wb") as handle:
        pickle.dump(booster, handle)
    return {"booster": saved, "pickle": pickled}


def without_timestamps(text: bytes) -> str:
    return re.sub(r"\[\d\d:\d\d:\d\d\] ", "[..] ", text.decode("utf-8", "replace"))


def main() -> None:
    cases = json.load(sys.stdin)
    dirs = model_dirs()
    loaded = {name: xgboost_algorithm.load(path, {}) for name, path in dirs.items()}
    answers = []
    for case in cases:
        body = base64.b64decode(case["body"])
        ours = loaded[case["model"]].reply(body, case["content_type"], None)
        status, answer, media = reference.invocations(
            dirs[case["model"]], body, case["content_type"], None, {}
        )
        answers.append(
            {
                "ours": [ours.status, without_timestamps(ours.body), ours.content_type],
                "theirs": [status, without_timestamps(answer), media],
            }
        )
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
