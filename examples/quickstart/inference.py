"""Inference handlers, as SageMaker's scikit-learn container calls them.

input_fn and output_fn are left to the container's defaults (CSV in; CSV or JSON out).
"""

from __future__ import annotations

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    """The probability of the positive class, one value per row."""
    return model.predict_proba(data)[:, 1]
