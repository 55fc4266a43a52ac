"""SageMaker's XGBoost container (`sagemaker-xgboost:*`: 1.7-1, 3.0-5, 3.2-0): the built-in
algorithm when the model sets no SAGEMAKER_PROGRAM (algorithm.py reproduces it), else
script mode, which runs the scikit-learn container's sagemaker-containers code with XGBoost's
default handlers.

Served with the test environment's packages (--sm-image-packages=test-env), xgboost is an
optional extra there: without it the endpoint ends Failed, saying what to install."""

from __future__ import annotations

import csv
import importlib.util
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.profiles import containers_codecs, scikit_learn
from pytest_smendpoint.serving.profiles.base import (
    EXECUTION_PARAMETERS,
    Handler,
    Reply,
    Request,
    Staged,
    StageInput,
    StartupFailure,
)

NAME = "xgboost"
# What its model process imports anyway, imported once by the zygote (zygote.py) before forking.
PRELOAD = ("numpy", "scipy.sparse", "pandas")
# The image's serving_entrypoint sets OMP_NUM_THREADS to one thread when it is unset.
IMAGE_ENVIRONMENT = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def stage(given: StageInput) -> Staged:
    from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm
    from pytest_smendpoint.serving.runtimes.catalog import recorded
    from pytest_smendpoint.serving.runtimes.selection import TEST_ENVIRONMENT

    # An image runtime installs the image's xgboost; the test environment may lack it.
    if given.packages == TEST_ENVIRONMENT and importlib.util.find_spec("xgboost") is None:
        raise StartupFailure(
            "Serving a sagemaker-xgboost model locally needs the xgboost package, which is not "
            f"installed: {xgboost_algorithm.INSTALL}"
        )
    environment = {**IMAGE_ENVIRONMENT, "OMP_NUM_THREADS": "1"}
    image = recorded(given.image)
    version = image.version if image is not None else xgboost_algorithm.CONTAINER_VERSION
    if xgboost_algorithm.is_algorithm_mode(given.environment):
        return Staged(
            worker_module=__name__,
            settings={
                "variant": given.variant_name,
                "mode": "algorithm",
                "serving_version": version,
                "werkzeug": image.werkzeug if image is not None else 0,
            },
            image_environment=environment,
        )
    staged = scikit_learn.stage(given, worker_module=__name__)
    return Staged(
        worker_module=__name__,
        settings={**staged.settings, "mode": "script"},
        code_dir=staged.code_dir,
        requirements=staged.requirements,
        image_environment={**environment, "SM_MODEL_DIR": str(given.model_dir)},
    )


def reads_csv_as_float32(image: str, environment: Mapping[str, str]) -> bool:
    """The built-in algorithm of a recorded image version reads CSV into a DMatrix (float32,
    encoder.csv_to_dmatrix in 1.7-1 and 3.0-5): known without seeing the model. Script mode runs
    an entry script, whose own input_fn may read CSV otherwise."""
    from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm
    from pytest_smendpoint.serving.runtimes.catalog import recorded

    return xgboost_algorithm.is_algorithm_mode(environment) and recorded(image) is not None


# -- in the model process -------------------------------------------------------------------


def serve(model_dir: str, code_dir: str | None, settings: Mapping[str, Any]) -> Handler:
    ping_failed = scikit_learn.PING_FAILED.format(variant=settings.get("variant", "AllTraffic"))
    if settings.get("mode") == "algorithm":
        from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm

        try:
            model = xgboost_algorithm.load(
                model_dir,
                os.environ,
                serving_version=str(settings.get("serving_version", "1.7-1")),
                werkzeug=int(settings.get("werkzeug", 0)),
            )
        except ModelLoadError as error:
            raise StartupFailure(f"{ping_failed} {error}") from None

        return _AlgorithmHandler(model)
    module = scikit_learn.import_entry_script(code_dir, settings)
    defaults = (default_input_fn, default_predict_fn, scikit_learn.default_output_fn)
    server = scikit_learn.SklearnServer.load(module, model_dir, ping_failed, defaults)
    server.werkzeug = int(settings.get("werkzeug", 0))
    # serving.main builds its Worker without an execution_parameters_fn: always a 404.
    server.execution_parameters_fn = None
    return server


class _AlgorithmHandler:
    """The built-in algorithm's requests; its CSV becomes a DMatrix, which holds float32."""

    csv_float32 = True

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, request: Request) -> Reply:
        from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm

        if request.path == EXECUTION_PARAMETERS:
            return xgboost_algorithm.execution_parameters()
        reply: Reply = self.model.reply(request.body, request.content_type, request.accept)
        return reply


def default_input_fn(input_data: Any, content_type: str) -> Any:
    """Script mode's default: sagemaker_xgboost_container's encoder.decode, a DMatrix."""
    import xgboost

    media = content_type.split(";", 1)[0].strip()  # cgi.parse_header(content_type)[0]
    if media == "text/csv":
        return xgboost.DMatrix(_csv_array(input_data))
    if media in ("text/libsvm", "text/x-libsvm"):
        text = input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data
        with tempfile.NamedTemporaryFile("w", suffix=".libsvm", delete=False) as handle:
            handle.write(text)
        try:
            return xgboost.DMatrix(f"{handle.name}?format=libsvm")
        finally:
            os.unlink(handle.name)
    raise containers_codecs.UnsupportedFormatError(content_type)


def _csv_array(text: Any) -> Any:
    """encoder.csv_to_dmatrix's array: the first line's delimiter, every line split on it,
    empty fields as nan, float64. No strip: a trailing newline is an empty last row, and the
    ragged array fails, as in the container."""
    import numpy as np

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if x == "" else x for x in line.split(delimiter)] for line in text.split("\n")]
    return np.array(rows).astype(np.float64)


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data, validate_features=False)
