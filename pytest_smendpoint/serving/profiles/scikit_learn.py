"""SageMaker's scikit-learn container (`sagemaker-scikit-learn:*`), as its serving.py runs on
sagemaker-containers 2.8.6 (the stack of the 1.2-1 images).

`stage` runs in the test process (code folder, requirements); `serve` runs in the model process
(import the entry script, model_fn, answer requests)."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from pytest_smendpoint.serving.profiles import containers_codecs as codecs
from pytest_smendpoint.serving.profiles import flask_responses
from pytest_smendpoint.serving.profiles.base import (
    CONTAINER_CODE_DIR,
    CONTAINER_MODEL_DIR,
    EXECUTION_PARAMETERS,
    Reply,
    Request,
    Staged,
    StageInput,
    StartupFailure,
    module_name,
)

NAME = "scikit-learn"
# What its model process imports anyway, imported once by the zygote (zygote.py) before forking.
PRELOAD = ("numpy", "scipy.sparse", "joblib", "sklearn.base", "sklearn.linear_model", "pandas")
# An image whose tag names no recorded version (served with --sm-image-packages=test-env): the
# 1.2-1 image's rules.
DEFAULT_VERSION = "1.2-1"
DEFAULT_WERKZEUG = 2
# What the images' Dockerfiles set (SM_MODEL_DIR is pointed at the real model folder;
# SAGEMAKER_SKLEARN_VERSION is the image's version).
IMAGE_ENVIRONMENT = MappingProxyType(
    {
        "SAGEMAKER_SERVING_MODULE": "sagemaker_sklearn_container.serving:main",
        "SAGEMAKER_TRAINING_MODULE": "sagemaker_sklearn_container.training:main",
        "SM_INPUT": "/opt/ml/input",
        "PIP_ROOT_USER_ACTION": "ignore",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "UTF-8",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
)
# SageMaker's FailureReason for a container whose /ping never answers 200.
PING_FAILED = (
    "The primary container for production variant {variant} did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)
MODEL_FN_MISSING = (
    "NotImplementedError: Please provide a model_fn implementation. See documentation for "
    "model_fn at https://github.com/aws/sagemaker-python-sdk"
)
FIX_CODE = (
    "set SAGEMAKER_PROGRAM=inference.py (a script defining model_fn) and "
    "SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code (the script in code/ inside model.tar.gz) "
    "or an s3://.../sourcedir.tar.gz holding it"
)


def stage(given: StageInput, worker_module: str = __name__) -> Staged:
    """Lay out /opt/ml/code as sagemaker-containers' `_modules.import_module` would: only when
    SAGEMAKER_PROGRAM is set does it fetch the submit directory and install requirements.txt.
    (The XGBoost image's script mode runs the same code, with its own worker module.)"""
    from pytest_smendpoint.serving.profiles.code_folder import submit_directory
    from pytest_smendpoint.serving.runtimes.catalog import recorded

    environment = given.environment
    code_dir = given.workdir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    requirements = None
    if environment.get("SAGEMAKER_PROGRAM"):
        submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        try:
            submit_directory(submit, given.model_dir, code_dir, given.s3)
        except StartupFailure as failure:
            ping_failed = PING_FAILED.format(variant=given.variant_name)
            raise StartupFailure(f"{ping_failed} {failure}") from None
        found = code_dir / "requirements.txt"
        requirements = found if found.is_file() else None
    image = recorded(given.image)
    version = image.version if image is not None else DEFAULT_VERSION
    return Staged(
        worker_module=worker_module,
        settings={
            "variant": given.variant_name,
            "code_in_model": (given.model_dir / "code").is_dir(),
            # The web stack's Werkzeug major version: its 500 page.
            "werkzeug": image.werkzeug if image is not None else DEFAULT_WERKZEUG,
        },
        code_dir=code_dir,
        requirements=requirements,
        image_environment={
            **IMAGE_ENVIRONMENT,
            "SAGEMAKER_SKLEARN_VERSION": version,
            "SM_MODEL_DIR": str(given.model_dir),
        },
    )


# -- in the model process -------------------------------------------------------------------


def default_input_fn(input_data: Any, content_type: str) -> Any:
    """serving.py: the toolkit decoder, then float32 for CSV and JSON."""
    array = codecs.decode(input_data, content_type)
    return array.astype("float32") if content_type in codecs.UTF8_TYPES else array


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data)


@dataclass(frozen=True)
class _Encoded:
    """serving.py's default_output_fn answer: worker.Response(body, mimetype=accept)."""

    body: Any
    mimetype: str


def default_output_fn(prediction: Any, accept: str) -> _Encoded:
    return _Encoded(codecs.encode(prediction, accept), accept)


def serve(model_dir: str, code_dir: str | None, settings: Mapping[str, Any]) -> SklearnServer:
    """Import the entry script and run model_fn, as the first /ping does in each worker."""
    program = os.environ.get("SAGEMAKER_PROGRAM")
    ping_failed = PING_FAILED.format(variant=settings.get("variant", "AllTraffic"))
    if not program:
        raise StartupFailure(
            f"{ping_failed} The container has no entry script (SAGEMAKER_PROGRAM is not set), "
            f"so /ping answers 500 with {MODEL_FN_MISSING}. To fix: {FIX_CODE}."
        )
    module = import_entry_script(code_dir, settings)
    server = SklearnServer.load(module, model_dir, ping_failed)
    server.werkzeug = int(settings.get("werkzeug", DEFAULT_WERKZEUG))
    return server


def import_entry_script(code_dir: str | None, settings: Mapping[str, Any]) -> ModuleType:
    """The entry script as sagemaker-containers imports it (SAGEMAKER_PROGRAM from the code
    folder); StartupFailure with the container's complaint and the fix when it cannot."""
    program = os.environ.get("SAGEMAKER_PROGRAM") or ""
    ping_failed = PING_FAILED.format(variant=settings.get("variant", "AllTraffic"))
    name = module_name(program)
    if code_dir:
        sys.path.insert(0, code_dir)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise StartupFailure(f"{ping_failed} {_import_failure(error)}") from None
        raise StartupFailure(
            f"{ping_failed} The container exits at start: No module named '{name}'. "
            + _where_is_the_script(program, settings)
        ) from None
    except Exception as error:
        raise StartupFailure(f"{ping_failed} {_import_failure(error)}") from None
    except SystemExit as error:  # not a crash to show as a bare `SystemExit: 3`
        raise StartupFailure(
            f"{ping_failed} The entry script {program} called sys.exit({error.code!r}) while it "
            "was imported, so the container's workers exit and /ping never answers. To fix: "
            "do not exit at import time (raise an exception from model_fn instead)."
        ) from None


def _where_is_the_script(program: str, settings: Mapping[str, Any]) -> str:
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY") or CONTAINER_CODE_DIR
    text = f"SAGEMAKER_PROGRAM={program} not found in {submit}."
    if submit.rstrip("/") == CONTAINER_CODE_DIR and settings.get("code_in_model"):
        return (
            f"{text} SAGEMAKER_SUBMIT_DIRECTORY defaults to {CONTAINER_CODE_DIR}, which is not "
            f"inside the model, so code/{program} in model.tar.gz is not found. To fix: set "
            f"SAGEMAKER_SUBMIT_DIRECTORY={CONTAINER_MODEL_DIR}/code."
        )
    return f"{text} To fix: {FIX_CODE}."


def _import_failure(error: BaseException) -> str:
    return (
        f"The entry script failed to import (ImportModuleError): {type(error).__name__}: "
        f"{error}. To fix: make the script importable (its imports must be installed in the "
        "image or listed in requirements.txt beside it)."
    )


class SklearnServer:
    """The Transformer of sagemaker-containers with serving.py's defaults: every handler is
    called without a context argument, and any exception is Flask's 500 page."""

    def __init__(
        self,
        model: Any,
        transform_fn: Callable[..., Any] | None,
        functions: tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]],
    ) -> None:
        self.model = model
        self.transform_fn = transform_fn
        self.input_fn, self.predict_fn, self.output_fn = functions
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", codecs.JSON)
        self.werkzeug = DEFAULT_WERKZEUG  # the image's Werkzeug major version (its 500 page)
        # The entry script's execution_parameters_fn (serving.py's
        # _user_module_execution_parameters_fn): the view of GET /execution-parameters.
        self.execution_parameters_fn: Callable[[], Any] | None = None
        # Whether CSV numbers reach the model as float32 (base.handler_reads_float32).
        self.csv_float32 = False

    @classmethod
    def load(
        cls,
        module: ModuleType,
        model_dir: str,
        ping_failed: str,
        defaults: tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]] | None = None,
    ) -> SklearnServer:
        """`_user_module_transformer` + `initialize()`: the script's functions over `defaults`
        (serving.py's input, predict and output functions unless another image's are given)."""
        model_fn = getattr(module, "model_fn", None)
        input_fn = getattr(module, "input_fn", None)
        predict_fn = getattr(module, "predict_fn", None)
        output_fn = getattr(module, "output_fn", None)
        transform_fn = getattr(module, "transform_fn", None)
        if transform_fn and (input_fn or predict_fn or output_fn):
            raise StartupFailure(
                f"{ping_failed} UserError: Cannot use transform_fn implementation with "
                "input_fn, predict_fn, and/or output_fn. To fix: define either transform_fn "
                "or the other three."
            )
        if model_fn is None:
            raise StartupFailure(
                f"{ping_failed} /ping answers 500: {MODEL_FN_MISSING}. To fix: define "
                f"model_fn(model_dir) in {module.__name__}.py; the container has no default "
                "model loader."
            )
        try:
            model = model_fn(model_dir)
        except Exception as error:
            raise StartupFailure(
                f"{ping_failed} /ping answers 500: model_fn raised {type(error).__name__}: "
                f"{error}\n{traceback.format_exc(limit=-8)}"
            ) from None
        default = defaults or (default_input_fn, default_predict_fn, default_output_fn)
        functions = (input_fn or default[0], predict_fn or default[1], output_fn or default[2])
        server = cls(model, transform_fn, functions)
        server.execution_parameters_fn = getattr(module, "execution_parameters_fn", None)
        # The image's input_fn reads CSV as float32 (serving.py's astype, or XGBoost's DMatrix,
        # which stores float32); an entry script's own input_fn or transform_fn may not.
        server.csv_float32 = transform_fn is None and input_fn is None
        return server

    def __call__(self, request: Request) -> Reply:
        if request.path == EXECUTION_PARAMETERS:
            return self._execution_parameters()
        # worker.Request: ContentType defaults to JSON; Accept */* or none is the default.
        content_type = request.content_type or codecs.JSON
        accept = request.accept
        if not accept or accept == codecs.ANY:
            accept = self.default_accept
        content: Any = request.body
        if content_type in codecs.UTF8_TYPES:
            content = request.body.decode("utf-8", "replace")  # werkzeug's get_data(as_text)
        try:
            status, body, media = self._transform(content, content_type, accept)
        except Exception:
            body, media = flask_responses.internal_server_error(self.werkzeug)
            return Reply(500, body, media, log=traceback.format_exc())
        return Reply(status, body, media)

    def _execution_parameters(self) -> Reply:
        """sagemaker-containers' Worker adds the route only for an execution_parameters_fn:
        without one, Flask's 404 (the transform agent then uses its defaults)."""
        if self.execution_parameters_fn is None:
            body, media = flask_responses.not_found(self.werkzeug)
            return Reply(404, body, media)
        try:
            status, body, media = flask_responses.make_response(self.execution_parameters_fn())
        except Exception:
            body, media = flask_responses.internal_server_error(self.werkzeug)
            return Reply(500, body, media, log=traceback.format_exc())
        return Reply(status, body, media)

    def _transform(self, content: Any, content_type: str, accept: str) -> tuple[int, bytes, str]:
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, content, content_type, accept)
        else:
            data = self.input_fn(content, content_type)
            prediction = self.predict_fn(data, self.model)
            result = self.output_fn(prediction, accept)
        if isinstance(result, _Encoded):
            body = flask_responses.response_body(result.body)
            return 200, body, flask_responses.content_type(result.mimetype)
        if isinstance(result, tuple):
            # Transformer.transform: worker.Response(response=result[0], mimetype=result[1]),
            # whose default mimetype is JSON.
            mimetype = result[1] if len(result) > 1 and result[1] else codecs.JSON
            body = flask_responses.response_body(result[0])
            return 200, body, flask_responses.content_type(str(mimetype))
        return flask_responses.make_response(result)
