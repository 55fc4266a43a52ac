"""The sagemaker-xgboost container's selectable inference output (`SAGEMAKER_INFERENCE_OUTPUT`,
serve_utils `get_selected_predictions` and its helpers): per row, the keys the model's
environment asks for, computed from the raw prediction as the objective allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BINARY_LOG = "binary:logistic"
BINARY_LOGRAW = "binary:logitraw"
BINARY_HINGE = "binary:hinge"
MULTI_SOFTMAX = "multi:softmax"
MULTI_SOFTPROB = "multi:softprob"
PREDICTED_LABEL = "predicted_label"
LABELS = "labels"
PROBABILITY = "probability"
PROBABILITIES = "probabilities"
RAW_SCORE = "raw_score"
RAW_SCORES = "raw_scores"
PREDICTED_SCORE = "predicted_score"
_CLASSIFICATION = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES]
_LABEL_AND_SCORES = [PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES]
VALID_OBJECTIVES: dict[str, list[str]] = {
    "reg:squarederror": [PREDICTED_SCORE],
    "reg:logistic": [PREDICTED_SCORE],
    "reg:gamma": [PREDICTED_SCORE],
    "reg:absoluteerror": [PREDICTED_SCORE],
    "reg:tweedie": [PREDICTED_SCORE],
    BINARY_LOG: _CLASSIFICATION,
    BINARY_LOGRAW: _LABEL_AND_SCORES,
    BINARY_HINGE: _LABEL_AND_SCORES,
    MULTI_SOFTMAX: _LABEL_AND_SCORES,
    MULTI_SOFTPROB: _CLASSIFICATION,
}
# The keys computed from the prediction, in the order the container adds them to each row.
_ORDER = [*_CLASSIFICATION, PREDICTED_SCORE]


def selected_keys(value: str) -> list[str]:
    """serve_utils.get_selected_output_keys: spaces removed, lower-cased, split on commas."""
    return value.replace(" ", "").lower().split(",")


def selected_predictions(
    raw_predictions: Any, keys: Sequence[str], objective: str, num_class: str = ""
) -> list[dict[str, Any]]:
    """serve_utils.get_selected_predictions: one dict per row, the valid keys in the container's
    order, then each key the objective cannot give with NaN (in the order asked; the container
    iterates a set there, so its order of those varies between processes)."""
    if objective not in VALID_OBJECTIVES:
        raise ValueError(
            f"Objective `{objective}` unsupported for selectable inference predictions."
        )
    valid = [key for key in _ORDER if key in keys and key in VALID_OBJECTIVES[objective]]
    invalid = list(dict.fromkeys(key for key in keys if key not in VALID_OBJECTIVES[objective]))
    rows = []
    for raw in raw_predictions:
        row: dict[str, Any] = {key: _VALUE[key](objective, raw, num_class) for key in valid}
        row.update((key, np.nan) for key in invalid)
        rows.append(row)
    return rows


def _labels(objective: str, raw: Any, num_class: str) -> Any:
    if "binary:" in objective:
        return [0, 1]
    if "multi:" in objective and num_class:
        return list(range(int(num_class)))
    return np.nan


def _predicted_label(objective: str, raw: Any, num_class: str) -> Any:
    if objective in (BINARY_HINGE, MULTI_SOFTMAX):
        return raw.item()
    if objective == BINARY_LOG:
        return int(raw > 0.5)
    if objective == BINARY_LOGRAW:
        return int(raw > 0)
    if objective == MULTI_SOFTPROB:
        return np.argmax(raw).item()
    return np.nan


def _probability(objective: str, raw: Any, num_class: str) -> Any:
    if objective == MULTI_SOFTPROB:
        return max(raw).item()
    if objective == BINARY_LOG:
        return raw.item()
    return np.nan


def _probabilities(objective: str, raw: Any, num_class: str) -> Any:
    if objective == MULTI_SOFTPROB:
        return raw.tolist()
    if objective == BINARY_LOG:
        return [1.0 - raw.item(), raw.item()]
    return np.nan


def _raw_score(objective: str, raw: Any, num_class: str) -> Any:
    if objective == MULTI_SOFTPROB:
        return max(raw).item()
    if objective in (BINARY_LOGRAW, BINARY_HINGE, BINARY_LOG, MULTI_SOFTMAX):
        return raw.item()
    return np.nan


def _raw_scores(objective: str, raw: Any, num_class: str) -> Any:
    if objective == MULTI_SOFTPROB:
        return raw.tolist()
    if objective in (BINARY_LOGRAW, BINARY_HINGE, BINARY_LOG, MULTI_SOFTMAX):
        return [1.0 - raw.item(), raw.item()]
    return np.nan


def _predicted_score(objective: str, raw: Any, num_class: str) -> Any:
    return raw.item()


_VALUE = {
    PREDICTED_LABEL: _predicted_label,
    LABELS: _labels,
    PROBABILITY: _probability,
    PROBABILITIES: _probabilities,
    RAW_SCORE: _raw_score,
    RAW_SCORES: _raw_scores,
    PREDICTED_SCORE: _predicted_score,
}
