"""Both sides of the scikit-learn codec comparison inside an image runtime's interpreter (its
numpy, its Python): this plugin's profile and sagemaker-containers 2.8.6 (oracle_sklearn.py).
Reads a JSON list of cases on stdin, writes [{"ours": ..., "theirs": ...}] on stdout.

Predictions cross as .npy bytes (portable between numpy 1 and 2, unlike a pickle of an array)
or, for plain Python values, as a pickle."""

from __future__ import annotations

import base64
import io
import json
import pickle
import sys
from typing import Any

import numpy as np
import oracle_sklearn

from pytest_smendpoint.serving.profiles import containers_codecs, scikit_learn


def prediction(case: dict[str, Any]) -> Any:
    kind, data = case["kind"], base64.b64decode(case["data"])
    if kind == "pickle":
        return pickle.loads(data)
    array = np.load(io.BytesIO(data), allow_pickle=False)
    return array[()] if kind == "npy-scalar" else array


def ours_decode(case: dict[str, Any]) -> dict[str, Any]:
    body, content_type = base64.b64decode(case["body"]), case["content_type"]
    content: bytes | str = body
    if content_type in containers_codecs.UTF8_TYPES:
        content = body.decode("utf-8", "replace")
    try:
        return oracle_sklearn.summary(scikit_learn.default_input_fn(content, content_type))
    except Exception as error:
        return oracle_sklearn.failure(error)


def ours_encode(value: object, accept: str) -> dict[str, Any]:
    try:
        body = containers_codecs.encode(value, accept)
    except Exception as error:
        return oracle_sklearn.failure(error)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return {"body": base64.b64encode(raw).decode()}


def answer(case: dict[str, Any]) -> dict[str, Any]:
    if case["op"] == "decode":
        return {"ours": ours_decode(case), "theirs": oracle_sklearn.decode(case)}
    value = prediction(case)
    pickled = base64.b64encode(pickle.dumps(value)).decode()
    theirs = oracle_sklearn.encode({"prediction": pickled, "accept": case["accept"]})
    return {"ours": ours_encode(value, case["accept"]), "theirs": theirs}


def main() -> None:
    cases = json.load(sys.stdin)
    json.dump([answer(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
