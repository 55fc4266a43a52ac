"""Images built on the generic SageMaker inference toolkit (sagemaker-inference 1.10.1 with its
default handler service under Multi Model Server): its Transformer and bare default handlers.

The code folder is /opt/ml/model/code (no SAGEMAKER_SUBMIT_DIRECTORY), the entry script is
SAGEMAKER_PROGRAM (default inference.py), model_fn and predict_fn have no defaults, handlers may
take a trailing `context`, and an error's status is 500 unless it is the toolkit's own
BaseInferenceToolkitError (e.g. GenericInferenceToolkitError(400)), which keeps its status."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pytest_smendpoint.serving.profiles import toolkit_codecs as codecs
from pytest_smendpoint.serving.profiles.base import (
    CUSTOM_ATTRIBUTES,
    EXECUTION_PARAMETERS,
    Reply,
    Request,
    Staged,
    StageInput,
    StartupFailure,
    module_name,
)

NAME = "inference-toolkit"
# What its model process imports anyway, imported once by the zygote (zygote.py) before forking.
PRELOAD = ("numpy",)
IMAGE_ENVIRONMENT = MappingProxyType({"PYTHONUNBUFFERED": "1"})
# Multi Model Server's answer to a path it does not serve (it has no /execution-parameters
# unless a plugin adds one).
MMS_NOT_FOUND = (
    b'{\n  "code": 404,\n  "type": "ResourceNotFoundException",\n  "message": "Requested '
    b'resource is not found, please refer to API document."\n}\n'
)
PING_FAILED = (
    "The primary container for production variant {variant} did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)


def stage(given: StageInput) -> Staged:
    """model_server.start_model_server: code/ of the model is the code folder, and its
    requirements.txt is pip-installed before the model server starts."""
    code_dir = given.model_dir / "code"
    found = code_dir / "requirements.txt"
    return Staged(
        worker_module=__name__,
        settings={"variant": given.variant_name},
        code_dir=code_dir,
        requirements=found if found.is_file() else None,
        image_environment=IMAGE_ENVIRONMENT,
    )


# -- in the model process -------------------------------------------------------------------


@dataclass
class _RequestProcessor:
    request_properties: dict[str, str]

    def get_request_properties(self) -> dict[str, str]:
        return self.request_properties


@dataclass
class Context:
    """The parts of Multi Model Server's `Context` handlers use: request headers, response
    headers, content type and status, and system_properties["model_dir"]."""

    system_properties: dict[str, Any]
    request_properties: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_status: tuple[int, str] = (200, "OK")

    @property
    def request_processor(self) -> list[_RequestProcessor]:
        return [_RequestProcessor(self.request_properties)]

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_properties.get(key)

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return dict(self.request_properties)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.response_headers[key] = value

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.response_headers["Content-Type"] = value

    def get_response_content_type(self, idx: int) -> str | None:
        return self.response_headers.get("Content-Type")

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.response_status = (code, phrase)


def _default_model_fn(model_dir: str, context: Any = None) -> Any:
    raise NotImplementedError(
        "\nPlease provide a model_fn implementation.\n"
        "See documentation for model_fn at https://sagemaker.readthedocs.io/en/stable/\n"
    )


def _default_input_fn(input_data: Any, content_type: Any, context: Any = None) -> Any:
    return codecs.decode(input_data, content_type)


def _default_predict_fn(data: Any, model: Any, context: Any = None) -> Any:
    raise NotImplementedError(
        "\nPlease provide a predict_fn implementation.\n"
        "See documentation for predict_fn at https://sagemaker.readthedocs.io/en/stable/\n"
    )


def _default_output_fn(prediction: Any, accept: str, context: Any = None) -> Any:
    return codecs.default_output(prediction, accept)


def serve(model_dir: str, code_dir: str | None, settings: Mapping[str, Any]) -> ToolkitServer:
    """HandlerService.initialize: validate the user module and run model_fn."""
    ping_failed = PING_FAILED.format(variant=settings.get("variant", "AllTraffic"))
    name = module_name(os.environ.get("SAGEMAKER_PROGRAM", "inference.py"))
    if code_dir:
        sys.path.insert(0, code_dir)  # model_server._set_python_path
    functions: dict[str, Callable[..., Any] | None] = {}
    try:
        found = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        try:
            module = importlib.import_module(name)
        except Exception as error:
            raise StartupFailure(
                f"{ping_failed} The entry script failed to import: {type(error).__name__}: "
                f"{error}. To fix: make code/{name}.py importable (list its packages in "
                "code/requirements.txt)."
            ) from None
        for handler in ("model_fn", "transform_fn", "input_fn", "predict_fn", "output_fn"):
            functions[handler] = getattr(module, handler, None)
        if functions["transform_fn"] and any(
            functions[n] for n in ("input_fn", "predict_fn", "output_fn")
        ):
            raise StartupFailure(
                f"{ping_failed} ValueError: Cannot use transform_fn implementation in "
                "conjunction with input_fn, predict_fn, and/or output_fn implementation. "
                "To fix: define either transform_fn or the other three."
            )
    server = ToolkitServer(
        model_dir,
        model_fn=functions.get("model_fn") or _default_model_fn,
        transform_fn=functions.get("transform_fn"),
        input_fn=functions.get("input_fn") or _default_input_fn,
        predict_fn=functions.get("predict_fn") or _default_predict_fn,
        output_fn=functions.get("output_fn") or _default_output_fn,
    )
    try:
        server.initialize()
    except Exception as error:
        text = str(error).strip().replace("\n", " ")
        fix = (
            f" To fix: define model_fn(model_dir) in code/{name}.py (and "
            "SAGEMAKER_PROGRAM if the script has another name)."
            if functions.get("model_fn") is None
            else ""
        )
        raise StartupFailure(
            f"{ping_failed} model_fn raised {type(error).__name__}: {text}.{fix}"
        ) from None
    return server


class ToolkitServer:
    """sagemaker_inference.transformer.Transformer, one request at a time."""

    def __init__(
        self,
        model_dir: str,
        *,
        model_fn: Callable[..., Any],
        transform_fn: Callable[..., Any] | None,
        input_fn: Callable[..., Any],
        predict_fn: Callable[..., Any],
        output_fn: Callable[..., Any],
    ) -> None:
        self.model_dir = model_dir
        self.model_fn = model_fn
        self.transform_fn = transform_fn
        self.input_fn, self.predict_fn, self.output_fn = input_fn, predict_fn, output_fn
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", codecs.JSON)
        self.model: Any = None
        self.context = Context(system_properties={"model_dir": model_dir, "gpu_id": None})

    def initialize(self) -> None:
        self.model = self._run(self.model_fn, self.model_dir)

    def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        """_run_handler_function: a handler taking one more parameter gets the context."""
        count = len(inspect.signature(function).parameters)
        if count == len(args):
            return function(*args)
        if count == len(args) + 1:
            return function(*args, self.context)
        raise TypeError(f"{function.__name__} takes {count} arguments but {len(args)} were given.")

    def _default_transform(self, model: Any, data: Any, content_type: Any, accept: str) -> Any:
        decoded = self._run(self.input_fn, data, content_type)
        prediction = self._run(self.predict_fn, decoded, model)
        return self._run(self.output_fn, prediction, accept)

    def __call__(self, request: Request) -> Reply:
        if request.path == EXECUTION_PARAMETERS:
            return Reply(404, MMS_NOT_FOUND, "application/json")
        properties: dict[str, str] = {}
        if request.content_type is not None:
            properties["Content-Type"] = request.content_type
        if request.accept is not None:
            properties["Accept"] = request.accept
        if request.custom_attributes is not None:
            properties[CUSTOM_ATTRIBUTES] = request.custom_attributes
        # One Context per request here (MMS reuses one per worker; batch size 1 makes them
        # equivalent), so headers set on one request never leak into the next.
        self.context = Context(
            system_properties=self.context.system_properties, request_properties=properties
        )
        try:
            content_type = request.content_type
            accept = request.accept
            if not accept or accept == codecs.ANY:
                accept = self.default_accept
            data: Any = request.body
            if content_type in codecs.UTF8_TYPES:
                data = request.body.decode("utf-8")
            transform = self.transform_fn or self._default_transform
            result = self._run(transform, self.model, data, content_type, accept)
            response, response_type = result, accept
            if isinstance(result, tuple):
                response, response_type = result[0], result[1]
        except Exception as error:
            trace = traceback.format_exc()
            status, message = _error_status(error)
            return Reply(status, f"{message}\n{trace}".encode(), "text/plain", log=trace)
        body, media = _mms_body(response, response_type)
        return Reply(200, body, media, self.context.response_headers.get(CUSTOM_ATTRIBUTES))


def _error_status(error: Exception) -> tuple[int, str]:
    """BaseInferenceToolkitError keeps its status and message; anything else is a 500."""
    if any(k.__name__ == "BaseInferenceToolkitError" for k in type(error).__mro__) and hasattr(
        error, "status_code"
    ):
        return int(error.status_code), str(getattr(error, "message", error))
    # GenericInferenceToolkitError(500, str(e)): an empty text becomes its default message.
    return 500, str(error) or "Invalid Request"


def _mms_body(response: Any, content_type: Any) -> tuple[bytes, str]:
    """Multi Model Server's encoding of a handler's answer: str as UTF-8, bytes as they are,
    anything else as indented JSON."""
    media = str(content_type)
    if isinstance(response, str):
        return response.encode("utf-8"), media
    if isinstance(response, (bytes, bytearray)):
        return bytes(response), media
    return json.dumps(response, indent=2).encode("utf-8"), media
