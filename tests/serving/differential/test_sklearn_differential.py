"""The scikit-learn profile against the container's own code: sagemaker-containers 2.8.6's
decoders and encoders behind serving.py's default input_fn, and whole requests through its
Transformer and Flask worker. Same dtype, shape and values; same body; same status and content
type; or a difference docs/fidelity.md states.

sagemaker-containers pins Flask 1.1.1, which cannot be installed beside moto's Flask 3, so the
reference runs in another interpreter: this one if it can import sagemaker_containers (e.g.
`pip install --no-deps sagemaker-containers==2.8.6`), else $SMENDPOINT_ORACLE_PYTHON. Whole
requests also need Flask 1.1.1 and the container's serving.py (sagemaker_sklearn_container)
importable there."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.localsupport import CLASSES, FEATURES
from sklearn.linear_model import LinearRegression, LogisticRegression

from pytest_smendpoint.serving.profiles import containers_codecs, scikit_learn
from pytest_smendpoint.serving.profiles.base import Request

ORACLE = Path(__file__).with_name("oracle_sklearn.py")
ORACLE_VARIABLE = "SMENDPOINT_ORACLE_PYTHON"
RNG = np.random.default_rng(11)
BIG_FLOATS = RNG.normal(size=(3000, 6)) * 1e3  # past FAST_CSV_BYTES: the pyarrow path
BIG_INTS = RNG.integers(-(10**12), 10**12, size=(3000, 5))


def _csv(values: np.ndarray) -> str:
    return "".join(",".join(repr(v) for v in row) + "\n" for row in values.tolist())


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
DECODE_CASES: dict[str, tuple[bytes, str]] = {
    "csv-2d": (b"1,2,3\n4,5,6\n", CSV),
    "csv-2d-no-newline": (b"1,2,3\n4,5,6", CSV),
    "csv-one-row": (b"1,2,3", CSV),
    "csv-one-row-newline": (b"1,2,3\n", CSV),
    "csv-one-column": (b"1\n2\n3\n", CSV),
    "csv-one-value": (b"7", CSV),
    "csv-empty": (b"", CSV),
    "csv-blank-line": (b"1,2\n\n3,4\n", CSV),
    "csv-ragged": (b"1,2\n3\n", CSV),
    "csv-text-field": (b"0,a,0\n1,2,3\n", CSV),
    "csv-header": (b"x,y\n1,2\n", CSV),
    "csv-empty-field": (b"1,,3\n4,5,6\n", CSV),
    "csv-quoted": (b'"1","2"\n"3","4"\n', CSV),
    "csv-spaces": (b" 1, 2\n3,4\n", CSV),
    "csv-overflow": (b"1e400,2\n3,4\n", CSV),
    "csv-crlf": (b"1,2\r\n3,4\r\n", CSV),
    "csv-precision": (b"0.1,0.30000000000000004,1e-45\n3.4028235e38,-0.0,123456789.123\n", CSV),
    "csv-not-utf8": (b"1,2\n3,\xff\n", CSV),
    "csv-big-floats": (_csv(BIG_FLOATS).encode(), CSV),
    "csv-big-ints": (_csv(BIG_INTS).encode(), CSV),
    "csv-big-one-column": (_csv(BIG_FLOATS[:, :1]).encode(), CSV),
    "csv-big-with-text": ((_csv(BIG_FLOATS) + "1,2,3,4,5,x\n").encode(), CSV),
    "csv-big-blank-line": ((_csv(BIG_FLOATS) + "\n" + _csv(BIG_FLOATS[:2])).encode(), CSV),
    "csv-big-empty-field": ((_csv(BIG_FLOATS) + "1,2,,4,5,6\n").encode(), CSV),
    "csv-charset": (b"1,2\n3,4\n", "text/csv; charset=utf-8"),
    "csv-upper-case": (b"1,2\n3,4\n", "TEXT/CSV"),
    "json-2d": (b"[[1, 2], [3, 4]]", JSON),
    "json-1d": (b"[1, 2, 3]", JSON),
    "json-numeric-strings": (b'["42", "6"]', JSON),
    "json-dict": (b'{"instances": [1]}', JSON),
    "json-null": (b"null", JSON),
    "json-ragged": (b"[[1, 2], [3]]", JSON),
    "json-scalar": (b"3.5", JSON),
    "json-invalid": (b"[1, 2", JSON),
    "npy-int64": (_npy(np.arange(6).reshape(2, 3)), NPY),
    "npy-float64": (_npy(FEATURES), NPY),
    "octet-stream": (b"\x00\x01", "application/octet-stream"),
    "text-plain": (b"1,2", "text/plain"),
}
PREDICTIONS: dict[str, Any] = {
    "floats-1d": np.array([0.1, 0.5, 1e-7, 123456789.123, 2.0]),
    "floats-2d": np.array([[0.1, 0.9], [0.25, 0.75]]),
    "float32": np.array([0.1, 1 / 3], dtype=np.float32),
    "ints": np.array([0, 1, 7]),
    "bools": np.array([True, False]),
    "nan-inf": np.array([np.nan, np.inf, -np.inf]),
    "list": [1, 2.5],
    "nested-list": [[1, 2], [3, 4]],
    "dict": {"a": 1, "b": [1.5]},
    "scalar": 3.5,
    "numpy-scalar": np.float64(2.0),
    "string": "hello",
    "none": None,
    "strings": np.array(["dog, big", 'q"t']),
    "3d": np.zeros((1, 2, 2)),
    "empty": np.array([]),
    "big-floats": BIG_FLOATS[:, 0],
    "big-ints-2d": BIG_INTS,
}
ACCEPTS = (JSON, CSV, NPY, "text/plain", "text/csv; charset=utf-8")


def _oracle_python() -> str:
    if importlib.util.find_spec("sagemaker_containers") is not None:
        return sys.executable
    configured = os.environ.get(ORACLE_VARIABLE)
    if configured:
        return configured
    pytest.skip(
        "the reference needs sagemaker-containers 2.8.6: `pip install --no-deps "
        f"sagemaker-containers==2.8.6` here, or set {ORACLE_VARIABLE} to a Python that has it"
    )


def _ask(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    environment = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [_oracle_python(), str(ORACLE)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _summary(value: Any) -> dict[str, Any]:
    if isinstance(value, np.ndarray):
        return {
            "type": "ndarray",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "values": repr(value.tolist()),
        }
    return {"type": type(value).__name__, "values": repr(value)}


@pytest.fixture(scope="module")
def decoded_by_the_container() -> dict[str, dict[str, Any]]:
    cases = [
        {"op": "decode", "body": base64.b64encode(body).decode(), "content_type": content_type}
        for body, content_type in DECODE_CASES.values()
    ]
    return dict(zip(DECODE_CASES, _ask(cases), strict=True))


@pytest.fixture(scope="module")
def encoded_by_the_container() -> dict[tuple[str, str], dict[str, Any]]:
    keys = [(name, accept) for name in PREDICTIONS for accept in ACCEPTS]
    cases = [
        {
            "op": "encode",
            "prediction": base64.b64encode(pickle.dumps(PREDICTIONS[name])).decode(),
            "accept": accept,
        }
        for name, accept in keys
    ]
    return dict(zip(keys, _ask(cases), strict=True))


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_default_input_fn_decodes_as_the_container(
    case: str, decoded_by_the_container: dict[str, dict[str, Any]]
) -> None:
    body, content_type = DECODE_CASES[case]
    content: Any = body
    if content_type in containers_codecs.UTF8_TYPES:
        content = body.decode("utf-8", "replace")  # werkzeug's get_data(as_text=True)
    try:
        ours = _summary(scikit_learn.default_input_fn(content, content_type))
    except Exception as error:
        ours = {"error": type(error).__name__, "message": str(error)}
    assert ours == decoded_by_the_container[case]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("prediction", list(PREDICTIONS))
def test_encoder_writes_what_the_container_writes(
    prediction: str,
    accept: str,
    encoded_by_the_container: dict[tuple[str, str], dict[str, Any]],
) -> None:
    try:
        body = containers_codecs.encode(PREDICTIONS[prediction], accept)
        raw = body.encode("utf-8") if isinstance(body, str) else body
        ours: dict[str, Any] = {"body": base64.b64encode(raw).decode()}
    except Exception as error:
        ours = {"error": type(error).__name__, "message": str(error)}
    assert ours == encoded_by_the_container[(prediction, accept)]


# Whole requests: (model, entry-script handlers, body, Content-Type, Accept).
CLASSIFIER = LogisticRegression().fit(FEATURES, CLASSES)
REGRESSOR = LinearRegression().fit(FEATURES, FEATURES @ np.array([0.3, -1.7, 2.9]) + 0.1234)
TWO_ROWS = _csv(FEATURES[:2]).encode()
PROBABILITY = "def predict_fn(data, model):\n    return model.predict_proba(data)[:, 1]\n"
REQUESTS: dict[str, tuple[Any, str, bytes, str | None, str | None]] = {
    "csv-to-json": (REGRESSOR, "", _csv(FEATURES).encode(), CSV, JSON),
    "csv-to-csv": (REGRESSOR, "", _csv(FEATURES).encode(), CSV, CSV),
    "csv-to-npy": (REGRESSOR, "", _csv(FEATURES).encode(), CSV, NPY),
    "json-to-csv": (REGRESSOR, "", json.dumps(FEATURES.tolist()).encode(), JSON, CSV),
    "npy-to-json": (REGRESSOR, "", _npy(FEATURES), NPY, JSON),
    "no-accept": (CLASSIFIER, "", TWO_ROWS, CSV, None),
    "any-accept": (CLASSIFIER, "", TWO_ROWS, CSV, "*/*"),
    "no-content-type-is-json": (CLASSIFIER, "", b"[[1, 2, 3], [4, 5, 6]]", None, JSON),
    "one-row": (CLASSIFIER, "", b"1,2,3", CSV, JSON),
    "accept-list": (CLASSIFIER, "", TWO_ROWS, CSV, "text/csv, application/json"),
    "accept-charset": (CLASSIFIER, "", TWO_ROWS, CSV, "text/csv; charset=utf-8"),
    "content-type-charset": (CLASSIFIER, "", TWO_ROWS, "text/csv; charset=utf-8", JSON),
    "content-type-upper": (CLASSIFIER, "", TWO_ROWS, "TEXT/CSV", JSON),
    "unknown-content-type": (CLASSIFIER, "", TWO_ROWS, "image/png", JSON),
    "predict-proba-csv": (CLASSIFIER, PROBABILITY, TWO_ROWS, CSV, CSV),
    "dict-as-csv": (CLASSIFIER, "def predict_fn(d, m):\n    return {'a': 1}\n", TWO_ROWS, CSV, CSV),
    "none-as-json": (CLASSIFIER, "def predict_fn(d, m):\n    return None\n", TWO_ROWS, CSV, JSON),
    "string-as-npy": (CLASSIFIER, "def predict_fn(d, m):\n    return 'x'\n", TWO_ROWS, CSV, NPY),
    "handler-raises": (
        CLASSIFIER,
        "def predict_fn(d, m):\n    raise ValueError('bad')\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "output-tuple": (
        CLASSIFIER,
        "def output_fn(p, accept):\n    return 'x', 'text/plain'\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "output-tuple-binary": (
        CLASSIFIER,
        "def output_fn(p, accept):\n    return b'x', 'application/x-custom'\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "output-str": (CLASSIFIER, "def output_fn(p, accept):\n    return 'x'\n", TWO_ROWS, CSV, JSON),
    "output-dict": (
        CLASSIFIER,
        "def output_fn(p, accept):\n    return {'b': 1, 'a': [1, 2]}\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "output-none": (
        CLASSIFIER,
        "def output_fn(p, accept):\n    return None\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "transform-fn": (
        CLASSIFIER,
        "def transform_fn(model, body, content_type, accept):\n"
        "    return f'{type(body).__name__}|{content_type}|{accept}', 'text/plain'\n",
        b"\x00\x01",
        "application/octet-stream",
        "text/plain",
    ),
    "handler-with-context": (
        CLASSIFIER,
        "def input_fn(body, content_type, context):\n    return body\n",
        TWO_ROWS,
        CSV,
        JSON,
    ),
    "not-utf8-json": (
        CLASSIFIER,
        "def input_fn(b, c):\n    return [[len(b)] * 3] * 2\n",
        b"\xff",
        JSON,
        JSON,
    ),
}


@pytest.fixture(scope="module")
def answered_by_the_container() -> dict[str, dict[str, Any]]:
    cases = [
        {
            "op": "request",
            "model": base64.b64encode(pickle.dumps(model)).decode(),
            "script": script,
            "body": base64.b64encode(body).decode(),
            "content_type": content_type,
            "accept": accept,
        }
        for model, script, body, content_type, accept in REQUESTS.values()
    ]
    try:
        answers = _ask(cases)
    except AssertionError as error:
        if "No module named 'sagemaker_sklearn_container'" in str(error) or "flask" in str(error):
            pytest.skip("the reference interpreter lacks the container's serving.py or Flask 1.1.1")
        raise
    return dict(zip(REQUESTS, answers, strict=True))


@pytest.mark.parametrize("case", list(REQUESTS))
def test_a_request_gets_the_containers_status_content_type_and_body(
    case: str, answered_by_the_container: dict[str, dict[str, Any]]
) -> None:
    model, script, body, content_type, accept = REQUESTS[case]
    namespace: dict[str, Any] = {}
    exec(script, namespace)
    defaults = (
        scikit_learn.default_input_fn,
        scikit_learn.default_predict_fn,
        scikit_learn.default_output_fn,
    )
    transform = namespace.get("transform_fn")
    functions = (
        namespace.get("input_fn") or defaults[0],
        namespace.get("predict_fn") or defaults[1],
        namespace.get("output_fn") or defaults[2],
    )
    server = scikit_learn.SklearnServer(model, transform, functions)
    reply = server(Request(body=body, content_type=content_type, accept=accept))
    ours = {
        "status": reply.status,
        "content_type": reply.content_type,
        "body": base64.b64encode(reply.body).decode(),
    }
    assert ours == answered_by_the_container[case]
