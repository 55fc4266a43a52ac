"""The generic inference-toolkit profile against sagemaker-inference 1.10.1 itself (a test
dependency): its decoder and encoder, and whole requests through its Transformer with a Multi
Model Server-like context. Same arrays, bodies, statuses and content types; an error's body is
its message and the traceback, which names different files, so the message part is compared."""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import sys
from typing import Any

import numpy as np
import pytest
from helpers.localsupport import FEATURES

from pytest_smendpoint.serving.profiles import inference_toolkit, toolkit_codecs
from pytest_smendpoint.serving.profiles.base import Request

sagemaker_inference = pytest.importorskip("sagemaker_inference")
from sagemaker_inference import decoder, transformer  # noqa: E402

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


DECODE_CASES: dict[str, tuple[Any, str | None]] = {
    "csv-ints": ("1,2,3\n4,5,6\n", CSV),
    "csv-one-row": ("1,2,3", CSV),
    "csv-floats": ("0.1,0.2\n0.3,0.4", CSV),
    "csv-mixed": ("1,a\n2,b", CSV),
    "csv-empty-field": ("1,,3\n4,5,6", CSV),
    "csv-blank-line": ("1,2\n\n3,4", CSV),
    "csv-ragged": ("1,2\n3", CSV),
    "csv-quoted": ('"1",2\n3,4', CSV),
    "json-2d": ("[[1, 2], [3, 4]]", JSON),
    "json-dict": ('{"a": 1}', JSON),
    "npy": (_npy(FEATURES), NPY),
    "charset": ("1,2", "text/csv; charset=utf-8"),
    "none": ("1,2", None),
}
PREDICTIONS: dict[str, Any] = {
    "floats": np.array([0.1, 0.5]),
    "floats-2d": np.array([[0.1, 0.9], [0.25, 0.75]]),
    "float32": np.array([0.1], dtype=np.float32),
    "ints": np.array([1, 2]),
    "list": [1, 2.5],
    "dict": {"a": 1},
    "scalar": 3.5,
    "string": "hello",
    "none": None,
    "strings": np.array(["dog, big", 'q"t']),
    "3d": np.zeros((1, 2, 2)),
}
ACCEPTS = (
    JSON,
    CSV,
    NPY,
    "text/plain",
    "text/plain, text/csv",
    "text/csv;q=0.9",
    "text/csv; charset=utf-8",
)


def _outcome(call: Any) -> dict[str, Any]:
    try:
        value = call()
    except Exception as error:
        return {"error": type(error).__name__, "message": str(error)}
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": value.shape, "values": repr(value.tolist())}
    return {"value": value}


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_decoder_decodes_as_the_toolkit(case: str) -> None:
    data, content_type = DECODE_CASES[case]
    assert _outcome(lambda: toolkit_codecs.decode(data, content_type)) == _outcome(
        lambda: decoder.decode(data, content_type)
    )


@pytest.mark.parametrize(("prediction", "accept"), itertools.product(PREDICTIONS, ACCEPTS))
def test_default_output_encodes_as_the_toolkit(prediction: str, accept: str) -> None:
    value = PREDICTIONS[prediction]
    handler = sagemaker_inference.default_inference_handler.DefaultInferenceHandler()
    assert _outcome(lambda: toolkit_codecs.default_output(value, accept)) == _outcome(
        lambda: handler.default_output_fn(value, accept)
    )


class _Processor:
    def __init__(self, properties: dict[str, str]) -> None:
        self.properties = properties

    def get_request_properties(self) -> dict[str, str]:
        return self.properties


class _MmsContext:
    """What Multi Model Server hands the toolkit's Transformer."""

    def __init__(self, properties: dict[str, str]) -> None:
        self.system_properties = {"model_dir": "/opt/ml/model"}
        self.request_processor = [_Processor(properties)]
        self.status = (200, "OK")
        self.content_type: str | None = None
        self.headers: dict[str, str] = {}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.status = (code, phrase)

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_type = value

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_processor[0].properties.get(key)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.headers[key] = value


MODEL_FN = "def model_fn(model_dir):\n    return {'scale': 10}\n"
PREDICT = "def predict_fn(data, model):\n    return data * model['scale']\n"
REQUESTS: dict[str, tuple[str, bytes, str | None, str | None]] = {
    "csv-json": (MODEL_FN + PREDICT, b"1,2\n3,4", CSV, JSON),
    "csv-csv": (MODEL_FN + PREDICT, b"1,2\n3,4", CSV, CSV),
    "accept-list": (MODEL_FN + PREDICT, b"1,2\n3,4", CSV, "text/plain, text/csv"),
    "no-accept": (MODEL_FN + PREDICT, b"[1, 2]", JSON, None),
    "any-accept": (MODEL_FN + PREDICT, b"[1, 2]", JSON, "*/*"),
    "no-content-type": (MODEL_FN + PREDICT, b"[1, 2]", None, JSON),
    "charset": (MODEL_FN + PREDICT, b"[1, 2]", "application/json; charset=utf-8", JSON),
    "bad-accept": (MODEL_FN + PREDICT, b"[1, 2]", JSON, "image/png"),
    "no-predict-fn": (MODEL_FN, b"[1, 2]", JSON, JSON),
    "not-utf8": (MODEL_FN + PREDICT, b"\xff", JSON, JSON),
    "toolkit-error-400": (
        MODEL_FN
        + "from sagemaker_inference.errors import GenericInferenceToolkitError\n"
        + "def predict_fn(data, model):\n    raise GenericInferenceToolkitError(400, 'no')\n",
        b"[1, 2]",
        JSON,
        JSON,
    ),
    "empty-error": (
        MODEL_FN + "def predict_fn(data, model):\n    raise ValueError()\n",
        b"[1, 2]",
        JSON,
        JSON,
    ),
    "context-argument": (
        MODEL_FN
        + "def predict_fn(data, model, context):\n"
        + "    return context.get_request_header(0, 'X-Amzn-SageMaker-Custom-Attributes')\n"
        + "def output_fn(prediction, accept, context):\n"
        + "    context.set_response_header(0, 'X-Amzn-SageMaker-Custom-Attributes', 'back')\n"
        + "    return prediction, 'text/plain'\n",
        b"[1]",
        JSON,
        JSON,
    ),
    "too-many-arguments": (
        MODEL_FN + "def predict_fn(a, b, c, d):\n    return a\n",
        b"[1]",
        JSON,
        JSON,
    ),
    "transform-fn-answer-not-tuple": (
        MODEL_FN + "def transform_fn(model, body, content_type, accept):\n    return body\n",
        b"raw",
        "application/octet-stream",
        "text/plain, text/csv",
    ),
    "answer-dict": (
        MODEL_FN + "def transform_fn(model, body, content_type, accept):\n    return {'a': 1}\n",
        b"raw",
        "application/octet-stream",
        JSON,
    ),
}
_MODULES = itertools.count(1)


def _reference(
    script: str,
    body: bytes,
    content_type: str | None,
    accept: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    name = f"smendpoint_toolkit_case_{next(_MODULES)}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(script, module.__dict__)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("SAGEMAKER_PROGRAM", name)
    properties = {CUSTOM: "asked"}
    if content_type is not None:
        properties["Content-Type"] = content_type
    if accept is not None:
        properties["Accept"] = accept
    context = _MmsContext(properties)
    [answer] = transformer.Transformer().transform([{"body": body}], context)
    status = context.status[0]
    text = answer.encode() if isinstance(answer, str) else answer
    if not isinstance(text, bytes):
        text = json.dumps(text, indent=2).encode()  # Multi Model Server's encoding
    if status >= 400:
        text = text.split(b"\nTraceback", 1)[0]
    return {
        "status": status,
        "body": text,
        "content_type": context.content_type if status < 400 else None,
        "custom": context.headers.get(CUSTOM),
    }


CUSTOM = "X-Amzn-SageMaker-Custom-Attributes"


def _ours(script: str, body: bytes, content_type: str | None, accept: str | None) -> Any:
    namespace: dict[str, Any] = {}
    exec(script, namespace)
    server = inference_toolkit.ToolkitServer(
        "/opt/ml/model",
        model_fn=namespace["model_fn"],
        transform_fn=namespace.get("transform_fn"),
        input_fn=namespace.get("input_fn") or inference_toolkit._default_input_fn,
        predict_fn=namespace.get("predict_fn") or inference_toolkit._default_predict_fn,
        output_fn=namespace.get("output_fn") or inference_toolkit._default_output_fn,
    )
    server.initialize()
    reply = server(Request(body, content_type, accept, custom_attributes="asked"))
    text = reply.body.split(b"\nTraceback", 1)[0] if reply.status >= 400 else reply.body
    return {
        "status": reply.status,
        "body": text,
        "content_type": reply.content_type if reply.status < 400 else None,
        "custom": reply.custom_attributes,
    }


@pytest.mark.parametrize("case", list(REQUESTS))
def test_a_request_gets_the_toolkits_status_body_and_content_type(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, body, content_type, accept = REQUESTS[case]
    assert _ours(script, body, content_type, accept) == _reference(
        script, body, content_type, accept, monkeypatch
    )
