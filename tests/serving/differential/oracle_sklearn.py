"""The reference side of the scikit-learn differential tests, run by an interpreter that has
sagemaker-containers 2.8.6 (its Flask 1.1.1 pin cannot live beside moto's Flask 3, so it runs in
its own process). Reads a JSON list of cases on stdin, writes one JSON answer per case.

Cases: {"op": "decode", "body", "content_type"} runs the container's default input_fn (serving.py:
`encoders.decode`, then float32 for CSV and JSON); {"op": "encode", "prediction", "accept"} its
encoder; {"op": "request", ...} a whole POST /invocations through the container's Transformer and
Flask worker (only when its serving.py and Flask are importable too)."""

from __future__ import annotations

import base64
import collections
import collections.abc
import io
import json
import os
import pickle
import sys
import tempfile
from typing import Any

import numpy as np

os.environ.setdefault("SAGEMAKER_BASE_DIR", tempfile.mkdtemp())
# sagemaker-containers 2.8.6 still reads collections.Mapping, which Python 3.10 removed (its
# 1.4-2 and later images patch the same line in their Dockerfile): the aliases it needs.
for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable"):
    setattr(collections, _name, getattr(collections.abc, _name))


def summary(value: object) -> dict[str, Any]:
    """What the tests compare: type, dtype, shape, and every value as repr."""
    if isinstance(value, np.ndarray):
        return {
            "type": "ndarray",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "values": repr(value.tolist()),
        }
    return {"type": type(value).__name__, "values": repr(value)}


def failure(error: BaseException) -> dict[str, str]:
    return {"error": type(error).__name__, "message": str(error)}


def decode(case: dict[str, Any]) -> dict[str, Any]:
    from sagemaker_containers import _content_types, _encoders

    data = base64.b64decode(case["body"])
    content_type = case["content_type"]
    content = data.decode("utf-8", "replace") if content_type in _content_types.UTF8_TYPES else data
    try:
        array = _encoders.decode(content, content_type)
        # serving.py's default_input_fn, verbatim.
        result = array.astype(np.float32) if content_type in _content_types.UTF8_TYPES else array
    except Exception as error:
        return failure(error)
    return summary(result)


def encode(case: dict[str, Any]) -> dict[str, Any]:
    from sagemaker_containers import _encoders

    prediction = pickle.loads(base64.b64decode(case["prediction"]))
    try:
        body = _encoders.encode(prediction, case["accept"])
    except Exception as error:
        return failure(error)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return {"body": base64.b64encode(raw).decode()}


def request(case: dict[str, Any]) -> dict[str, Any]:
    """One POST /invocations to the container's own Flask worker (Transformer + serving.py)."""
    import types

    from sagemaker_containers import _worker
    from sagemaker_sklearn_container import serving

    model = pickle.loads(base64.b64decode(case["model"]))
    module = types.ModuleType("inference")
    module.__dict__["model_fn"] = lambda model_dir: model
    exec(case.get("script", ""), module.__dict__)  # the entry script's other handlers
    transformer = serving._user_module_transformer(module)
    transformer.initialize()
    app = _worker.Worker(transform_fn=transformer.transform, module_name="inference")
    headers: dict[str, str] = {}
    if case.get("content_type") is not None:
        headers["Content-Type"] = case["content_type"]
    if case.get("accept") is not None:
        headers["Accept"] = case["accept"]
    response = app.test_client().post(
        "/invocations", data=base64.b64decode(case["body"]), headers=headers
    )
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "body": base64.b64encode(response.get_data()).decode(),
    }


def main() -> None:
    cases = json.load(sys.stdin)
    operations = {"decode": decode, "encode": encode, "request": request}
    out = io.StringIO()
    json.dump([operations[case["op"]](case) for case in cases], out)
    sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
