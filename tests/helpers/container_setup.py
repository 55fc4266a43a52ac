"""How the tests configure the scikit-learn container the way it works on SageMaker: the image,
and the environment that makes it find code/inference.py inside model.tar.gz (its code folder
defaults to /opt/ml/code, outside the model, and it has no default model_fn)."""

from __future__ import annotations

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
SKLEARN_ENV = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}
# The same as command-line options of a pytester run.
SKLEARN_ENV_ARGS = tuple(f"--sm-env={name}={value}" for name, value in SKLEARN_ENV.items())
# The entry script every test model carries: the container calls model_fn to load the model.
MODEL_FN = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""
# sm_invoke.rows sends one CSV row per request, which the scikit-learn container's default
# input_fn squeezes to a 1-D array (scikit-learn then refuses it): an entry script whose input_fn
# keeps rows 2-D, decoded as the default does (float64, then float32).
ROW_KEEPING_SCRIPT = (
    MODEL_FN
    + """
import csv
import io

import numpy as np


def input_fn(body, content_type):
    rows = list(csv.reader(io.StringIO(body)))
    return np.array(rows, dtype=np.float64).astype(np.float32)
"""
)
