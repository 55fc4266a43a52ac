"""The inference-handler contract of SageMaker's framework containers (inference toolkit):
model_fn, input_fn, predict_fn, output_fn or transform_fn from the entry script, else defaults."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pytest_smendpoint.serving import codecs
from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError
from pytest_smendpoint.serving.invocation import InvokeRequest, InvokeResult

logger = logging.getLogger("pytest_smendpoint.serving")

MODEL_FILE_SUFFIXES = (".joblib", ".pkl", ".pickle")
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
# sys.path and sys.modules are process-wide: import one entry script at a time.
_IMPORT_LOCK = threading.Lock()
_MODULE_NUMBERS = itertools.count(1)


@dataclass
class InvocationContext:
    """What a handler taking a `context` argument gets: the request headers, and a place to set
    response headers (the toolkit's MMS context offers the same two methods)."""

    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def custom_attributes(self) -> str | None:
        return self.get_request_header(0, CUSTOM_ATTRIBUTES)

    def get_request_header(self, idx: int, key: str) -> str | None:
        wanted = key.lower()
        return next((v for k, v in self.request_headers.items() if k.lower() == wanted), None)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.response_headers[key] = value


def _default_model_fn(model_dir: str) -> Any:
    """Load the model directory's single *.joblib / *.pkl / *.pickle file."""
    files = sorted(p for p in Path(model_dir).iterdir() if p.suffix in MODEL_FILE_SUFFIXES)
    if len(files) != 1:
        found = ", ".join(p.name for p in files) or "none"
        raise ModelLoadError(
            "default model_fn needs exactly one *.joblib, *.pkl or *.pickle file in the model "
            f"directory, found {len(files)} ({found}); define model_fn in the entry script"
        )
    try:
        import joblib
    except ImportError:  # plain pickles load without joblib
        import pickle

        with files[0].open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - the user's own model artifact
    return joblib.load(files[0])


def _default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


@dataclass(frozen=True)
class _Function:
    """One handler function, and whether it takes the toolkit's optional `context` argument."""

    call: Callable[..., Any]
    takes_context: bool

    @classmethod
    def of(cls, function: Callable[..., Any], arity: int) -> _Function:
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return cls(function, False)
        return cls(function, "context" in parameters or len(parameters) > arity)

    def __call__(self, *args: Any, context: InvocationContext) -> Any:
        if self.takes_context:
            return self.call(*args, context)
        return self.call(*args)


class HandlerModel:
    """A model served in-process through the handler functions; invoke() is thread-safe as long
    as the user's predict is (scikit-learn's is)."""

    def __init__(
        self,
        model: Any,
        functions: Mapping[str, _Function | None],
        environment: Mapping[str, str],
        module_name: str | None,
    ) -> None:
        self.model = model
        self.functions = functions
        self.module_name = module_name
        # The toolkit answers */* or a missing Accept with this (application/json by default).
        self.default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", codecs.JSON)

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        accept = request.accept
        if not accept or accept.strip() == codecs.ANY:
            accept = self.default_accept
        context = InvocationContext(request_headers=_request_headers(request))
        data: bytes | str = request.body
        content_type = request.content_type
        if codecs.media_type(content_type) in codecs.UTF8_TYPES:
            try:
                data = request.body.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvocationError(
                    400, f"request body is not UTF-8 {content_type}: {error}"
                ) from None
        try:
            result = self._run(data, content_type, accept, context)
        except InvocationError:
            raise
        except Exception as error:
            logger.exception("handler of endpoint %s raised", request.endpoint_name)
            raise InvocationError(500, f"{type(error).__name__}: {error}") from error
        # The toolkit accepts (body, content_type) from output_fn/transform_fn for compatibility.
        body, response_type = result if isinstance(result, tuple) else (result, accept)
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray, memoryview)):
            raise InvocationError(
                500, f"output_fn/transform_fn returned {type(body).__name__}, not bytes or str"
            )
        return InvokeResult(
            body=bytes(body),
            content_type=str(response_type),
            custom_attributes=context.response_headers.get(CUSTOM_ATTRIBUTES)
            or next(
                (
                    v
                    for k, v in context.response_headers.items()
                    if k.lower() == CUSTOM_ATTRIBUTES.lower()
                ),
                None,
            ),
        )

    def _run(
        self, data: bytes | str, content_type: str | None, accept: str, context: InvocationContext
    ) -> Any:
        transform = self.functions.get("transform_fn")
        if transform is not None:
            return transform(self.model, data, content_type, accept, context=context)
        input_fn = self.functions.get("input_fn")
        predict_fn = self.functions.get("predict_fn")
        output_fn = self.functions.get("output_fn")
        decoded = (
            input_fn(data, content_type, context=context)
            if input_fn
            else codecs.decode(data, content_type)
        )
        prediction = (
            predict_fn(decoded, self.model, context=context)
            if predict_fn
            else _default_predict_fn(decoded, self.model)
        )
        if output_fn:
            return output_fn(prediction, accept, context=context)
        return codecs.encode(prediction, accept)

    def close(self) -> None:
        self.model = None


def _request_headers(request: InvokeRequest) -> dict[str, str]:
    headers = {}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    if request.accept is not None:
        headers["Accept"] = request.accept
    if request.custom_attributes is not None:
        headers[CUSTOM_ATTRIBUTES] = request.custom_attributes
    return headers


def find_entry_script(
    model_dir: Path, code_dir: Path, environment: Mapping[str, str]
) -> Path | None:
    """SAGEMAKER_PROGRAM in the code directory, else code/inference.py when present, else none."""
    program = environment.get("SAGEMAKER_PROGRAM")
    if program:
        script = code_dir / program
        if not script.is_file():
            raise ModelLoadError(
                f"SAGEMAKER_PROGRAM={program} not found in {_shown(code_dir, model_dir)}"
            )
        return script
    default = model_dir / "code" / "inference.py"
    return default if default.is_file() else None


def _shown(path: Path, model_dir: Path) -> str:
    """A path as the container would print it (/opt/ml/model/...), for messages."""
    try:
        return "/opt/ml/model/" + str(path.relative_to(model_dir))
    except ValueError:
        return str(path)


def load_handler_model(
    model_dir: Path, code_dir: Path, environment: Mapping[str, str]
) -> HandlerModel:
    """Import the entry script (if any) and run model_fn, as the container does at start-up."""
    script = find_entry_script(model_dir, code_dir, environment)
    module: ModuleType | None = None
    with _IMPORT_LOCK:
        added = _ImportScope(script.parent if script else None)
        with added:
            if script is not None:
                module = _import_script(script)
            functions = _functions(module)
            model_fn = functions.pop("model_fn")
            try:
                if model_fn is not None:
                    model = model_fn(str(model_dir), context=InvocationContext())
                else:
                    model = _default_model_fn(str(model_dir))
            except ModelLoadError:
                raise
            except Exception as error:
                logger.exception("model_fn failed for %s", model_dir)
                raise ModelLoadError(f"model_fn raised {type(error).__name__}: {error}") from error
    return HandlerModel(model, functions, environment, module.__name__ if module else None)


def _functions(module: ModuleType | None) -> dict[str, _Function | None]:
    arities = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}
    found: dict[str, _Function | None] = {}
    for name, arity in arities.items():
        function = getattr(module, name, None) if module is not None else None
        found[name] = _Function.of(function, arity) if callable(function) else None
    if found["transform_fn"] and any(found[n] for n in ("input_fn", "predict_fn", "output_fn")):
        # The toolkit refuses this mix at start-up with the same complaint.
        raise ModelLoadError(
            "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
            "and/or output_fn implementation"
        )
    return found


def _import_script(script: Path) -> ModuleType:
    """Import under a unique name, so two endpoints' inference.py never share a module."""
    name = f"_smendpoint_entry_{next(_MODULE_NUMBERS)}_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import entry script {script}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while it runs: dataclasses and pickle look themselves up here
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        logger.exception("entry script %s failed to import", script)
        raise ModelLoadError(
            f"entry script {script.name} failed to import: {type(error).__name__}: {error}"
        ) from error
    return module


class _ImportScope:
    """Puts the code directory on sys.path while the script is imported and model_fn runs, then
    drops it and every module loaded from it from sys.modules: the script keeps its references,
    and the next endpoint's `import utils` finds its own utils.py, not this one's."""

    def __init__(self, code_dir: Path | None) -> None:
        self.code_dir = str(code_dir.resolve()) if code_dir else None
        self.before: set[str] = set()

    def __enter__(self) -> _ImportScope:
        self.before = set(sys.modules)
        if self.code_dir:
            sys.path.insert(0, self.code_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.code_dir and self.code_dir in sys.path:
            sys.path.remove(self.code_dir)
        for name in set(sys.modules) - self.before:
            module = sys.modules.get(name)
            origin = getattr(module, "__file__", None) or ""
            if name.startswith("_smendpoint_entry_") or (
                self.code_dir and os.path.abspath(origin).startswith(self.code_dir + os.sep)
            ):
                sys.modules.pop(name, None)
