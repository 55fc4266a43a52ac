"""The sagemaker-xgboost container in algorithm mode (no SAGEMAKER_PROGRAM: the built-in XGBoost
algorithm), reproduced inside the model process: the model directory loaded as serve_utils loads
it, and each request answered as the image's Flask app (algorithm_mode/serve.py) answers it:
same steps in the same order, same statuses, bodies and content types.

algorithm_mode/serve.py is the same in the 1.7-1, 3.0-5 and 3.2-0 images; their serve_utils
differ (`serving_version`): 1.7-1 predicts an early-stopped model with its best iteration's trees
(`best_ntree_limit`), 3.x with all of them (xgboost 3 has no such attribute); 3.2-0 shifts
1-based libsvm indices to 0-based; 3.2-0's Flask 3 words its generic 500 page differently. Each
image's own xgboost runs it (serving/runtimes). Where a newer xgboost than 1.7 serves a 1.7-1
model (--sm-image-packages=test-env), the model is adjusted to give 1.7's numbers.
Not emulated: recordio-protobuf requests and answers, multi-model endpoints, MAX_CONTENT_LENGTH.

    model = load(model_dir, environment)          # ModelLoadError: the container would not start
    body, content_type = model.invoke(body, content_type, accept)   # InvocationError(status, text)
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError
from pytest_smendpoint.serving.profiles import flask_responses, toolkit_codecs
from pytest_smendpoint.serving.profiles.base import CONTAINER_MODEL_DIR, Reply, Request
from pytest_smendpoint.serving.profiles.xgboost import codecs, selectable

logger = logging.getLogger("pytest_smendpoint.serving")

# The serving code followed for an image whose tag names no recorded version.
CONTAINER_VERSION = "1.7-1"
# serve_utils versions that predict with `ntree_limit=best_ntree_limit` (xgboost 1.x).
BEST_NTREE_LIMIT_VERSIONS = ("1.5-1", "1.7-1")
# serve_utils versions that shift 1-based libsvm indices to 0-based.
LIBSVM_SHIFT_VERSIONS = ("3.2-0",)
# The objectives xgboost 1.7 knows (measured): a model trained with another one, by a newer
# xgboost, fails to load in the image ("Unknown objective function").
XGBOOST_1_7_OBJECTIVES = frozenset(
    {
        "reg:squarederror",
        "reg:squaredlogerror",
        "reg:logistic",
        "reg:pseudohubererror",
        "reg:absoluteerror",
        "reg:linear",
        "reg:gamma",
        "reg:tweedie",
        "binary:logistic",
        "binary:logitraw",
        "binary:hinge",
        "count:poisson",
        "survival:cox",
        "survival:aft",
        "multi:softmax",
        "multi:softprob",
        "rank:pairwise",
        "rank:ndcg",
        "rank:map",
    }
)
INSTALL = 'pip install "pytest-smendpoint[xgboost]"'
PKL_FORMAT = "pkl_format"
XGB_FORMAT = "xgb_format"
# serving.serving_entrypoint sets OMP_NUM_THREADS=1 (DMatrix's default thread count then), and
# each worker's booster nthread=1. Same numbers with more threads; starting them costs ~20 ms.
OMP_NUM_THREADS = 1
# Flask's default for `flask.Response(response=str(e), status=...)`: every error body is this.
ERROR_CONTENT_TYPE = flask_responses.content_type(flask_responses.HTML)
RECORDIO = "application/x-recordio-protobuf"
# What xgboost 1.x's save_model writes first for a file without a .json or .ubj extension.
LEGACY_BINARY_MAGIC = b"binf"
NOT_EMULATED = (
    "pytest-smendpoint does not emulate application/x-recordio-protobuf {what} of the "
    "sagemaker-xgboost container; use text/csv or text/libsvm requests and CSV or JSON answers."
)
# xgboost >= 3.1 writes base_score as a vector, `"base_score":"[4.2E-1]"` (JSON, UBJSON and
# pickles alike). xgboost 1.7 does not parse it and predicts with its default, 0.5.
_VECTOR_BASE_SCORE = re.compile(rb'base_score(?:"\s*:\s*"|S(?:[Ui].|I..|l.{4}|L.{8}))\[', re.DOTALL)


@dataclass(frozen=True)
class AlgorithmSettings:
    """The container variables algorithm mode reads, from the model's environment."""

    default_accept: str = codecs.DEFAULT_ACCEPT
    selected_keys: tuple[str, ...] | None = None
    ensemble: bool = True
    batch: bool = False
    serving_version: str = CONTAINER_VERSION  # the image version whose serve_utils runs
    werkzeug: int = 0  # the image's Werkzeug major version (its generic 500 page)

    @property
    def best_ntree_limit(self) -> bool:
        return self.serving_version in BEST_NTREE_LIMIT_VERSIONS

    @classmethod
    def from_environment(
        cls,
        environment: Mapping[str, str],
        serving_version: str = CONTAINER_VERSION,
        werkzeug: int = 0,
    ) -> AlgorithmSettings:
        output = environment.get("SAGEMAKER_INFERENCE_OUTPUT")
        return cls(
            serving_version=serving_version,
            werkzeug=werkzeug,
            # Returned as set, unchecked: a value the encoder lacks fails at encoding (500).
            default_accept=environment.get(
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", codecs.DEFAULT_ACCEPT
            ),
            # Present at all (even empty) turns selectable output on.
            selected_keys=None if output is None else tuple(selectable.selected_keys(output)),
            # Unset or exactly "true" (nothing else): every top-level file is a model, and
            # their predictions are averaged.
            ensemble=environment.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true") == "true",
            # Any non-empty value, as `if SAGEMAKER_BATCH:` reads it (batch transform sets it).
            batch=bool(environment.get("SAGEMAKER_BATCH")),
        )


def execution_parameters() -> Reply:
    """GET /execution-parameters as algorithm_mode/serve.py answers it (1.7-1 to 3.2-0): one
    concurrent transform per CPU it sees (this machine's, offline; the instance's on SageMaker),
    MULTI_RECORD, and MAX_CONTENT_LENGTH (default 6 MiB) in MiB."""
    limit = int(os.environ.get("MAX_CONTENT_LENGTH", "6291456"))
    parameters = {
        "MaxConcurrentTransforms": os.cpu_count() or 1,  # multiprocessing.cpu_count()
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": int(limit / (1024**2)),
    }
    return Reply(200, json.dumps(parameters).encode("utf-8"), "application/json")


def is_algorithm_mode(environment: Mapping[str, str]) -> bool:
    """The image serves the built-in algorithm when SAGEMAKER_PROGRAM is not set at all (any
    value, even empty, means script mode)."""
    return "SAGEMAKER_PROGRAM" not in environment


@dataclass(frozen=True)
class LoadedBooster:
    """One model file as the container holds it, and the trees its predict call uses."""

    name: str
    booster: Any
    model_format: str
    iteration_range: tuple[int, int] | None
    objective: str
    num_class: str


def load(
    model_dir: str | os.PathLike[str],
    environment: Mapping[str, str] | None = None,
    *,
    container_model_dir: str = CONTAINER_MODEL_DIR,
    serving_version: str = CONTAINER_VERSION,
    werkzeug: int = 0,
) -> XGBoostAlgorithmModel:
    """What each gunicorn worker does at boot (serve.load_model): every regular, non-dot file at
    the top of the model directory, in os.listdir order, loaded as a pickle, else as a saved
    Booster; only the first unless ensembles are on (the default). Raises ModelLoadError with
    the error the worker dies of (the endpoint would never pass /ping) and what to change."""
    xgb = import_xgboost()
    settings = AlgorithmSettings.from_environment(environment or {}, serving_version, werkzeug)
    directory = Path(model_dir)
    try:
        boosters = _load_boosters(xgb, directory, settings, container_model_dir)
    except Exception as error:
        raise ModelLoadError(_load_failure(error, xgb, directory, serving_version)) from error
    return XGBoostAlgorithmModel(boosters=boosters, settings=settings, xgb=xgb)


def import_xgboost() -> Any:
    """xgboost is an optional extra: without it the model cannot start, and the reason says
    what to install."""
    try:
        import xgboost
    except ImportError as error:
        raise ModelLoadError(
            "Serving a sagemaker-xgboost model locally needs the xgboost package, which is not "
            f"installed: {INSTALL}"
        ) from error
    return xgboost


class XGBoostAlgorithmModel:
    """A loaded model answering requests as one container worker does. `invoke` raises
    InvocationError for an error answer; `reply` returns every answer with its status."""

    def __init__(
        self, boosters: tuple[LoadedBooster, ...], settings: AlgorithmSettings, xgb: Any
    ) -> None:
        self.boosters = boosters
        # serve.load_model keeps the first booster's objective and num_class.
        self.objective = boosters[0].objective
        self.num_class = boosters[0].num_class
        self.settings = settings
        self._xgb = xgb
        # xgboost's predict is not thread-safe (why the container loads one model per worker).
        self._lock = threading.Lock()

    @property
    def model_format(self) -> str:
        """`pkl_format` or `xgb_format`, of the first file (the one the feature check reads)."""
        return self.boosters[0].model_format

    def __call__(self, request: Request) -> Reply:
        """The profiles' Handler protocol (base.Handler)."""
        return self.reply(request.body, request.content_type, request.accept)

    def invoke(
        self, body: bytes | str, content_type: str | None, accept: str | None
    ) -> tuple[bytes, str]:
        """The answer's body and Content-Type (an empty request body gets an empty 204 answer);
        InvocationError(status, the container's body text) for a 4xx or 5xx answer."""
        reply = self.reply(body, content_type, accept)
        if reply.status >= 400:
            raise InvocationError(reply.status, reply.body.decode("utf-8", "replace"))
        return reply.body, reply.content_type

    def reply(self, body: bytes | str, content_type: str | None, accept: str | None) -> Reply:
        """serve.invocations, step by step: 204 for no body, 415 if it cannot be read, 400 if
        it cannot be predicted, then 406 for an Accept it does not know, then the encoding."""
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if len(payload) == 0:
            return Reply(204, b"", ERROR_CONTENT_TYPE)
        try:
            dtest, kind = self._decode(payload, content_type)
        except Exception as error:
            return _error_reply(415, str(error), error)
        try:
            predictions = self._predict(dtest, kind)
        except Exception as error:
            return _error_reply(400, f"Unable to evaluate payload provided: {error}", error)
        try:
            accept_type = codecs.parse_accept(accept, self.settings.default_accept)
        except Exception as error:
            return _error_reply(406, str(error), error)
        if self.settings.selected_keys is not None:
            return self._selected_reply(predictions, accept_type, self.settings.selected_keys)
        return self._encoded_reply(predictions, accept_type)

    def _decode(self, payload: bytes, content_type: str | None) -> tuple[Any, str]:
        """serve_utils.parse_content_data: the body stripped of outer whitespace, UTF-8."""
        kind = codecs.content_kind(content_type)
        if kind == codecs.CSV:
            try:
                matrix = codecs.csv_matrix(payload.strip().decode("utf-8"))
                return self._xgb.DMatrix(matrix, nthread=OMP_NUM_THREADS), kind
            except Exception as error:
                raise RuntimeError(
                    "Loading csv data failed with Exception, please ensure data is in csv "
                    f"format:\n {type(error)}\n {error}"
                ) from error
        if kind == codecs.LIBSVM:
            try:
                matrix = codecs.libsvm_matrix(
                    payload.strip().decode("utf-8"),
                    one_based_shift=self.settings.serving_version in LIBSVM_SHIFT_VERSIONS,
                )
                return self._xgb.DMatrix(matrix, nthread=OMP_NUM_THREADS), kind
            except Exception as error:
                raise RuntimeError(
                    "Loading libsvm data failed with Exception, please ensure data is in libsvm "
                    f"format:\n {type(error)}\n {error}"
                ) from error
        if kind == codecs.RECORDIO_PROTOBUF:
            raise RuntimeError(NOT_EMULATED.format(what="requests"))
        raise RuntimeError(f"Content-type {content_type} is not supported.")

    def _predict(self, dtest: Any, kind: str) -> Any:
        """serve_utils.predict: the feature-count check (pickled models only), each booster's
        predict with validate_features=False, an ensemble's mean (or vote, for class outputs)."""
        first = self.boosters[0]
        if first.model_format == PKL_FORMAT:
            x = first.booster.num_features()
            y = len(dtest.feature_names) if dtest.feature_names is not None else dtest.num_col()
            if kind == codecs.LIBSVM:
                if y > x + 1:
                    raise ValueError(
                        f"Feature size of libsvm inference data {y} is larger than feature size "
                        f"of trained model {x}."
                    )
            elif not (x == y or x == y + 1):
                raise ValueError(
                    f"Feature size of {kind} inference data {y} is not consistent with feature "
                    f"size of trained model {x}."
                )
        with self._lock:
            outputs = [_predict_one(entry, dtest) for entry in self.boosters]
        if len(outputs) == 1:
            return outputs[0]
        if self.objective in (selectable.MULTI_SOFTMAX, selectable.BINARY_HINGE):
            return _vote(outputs)
        return np.mean(outputs, axis=0)

    def _encoded_reply(self, predictions: Any, accept: str) -> Reply:
        """The plain answer: JSON `{"predictions": [{"score": p}]}`, otherwise the inference
        toolkit's encoder (CSV one prediction per line; NPY if the default Accept says so)."""
        values = predictions.tolist()
        if self.settings.batch:
            return Reply(200, codecs.batch_body(values), flask_responses.content_type(accept))
        if accept == codecs.JSON:
            return Reply(200, codecs.json_body(values), flask_responses.content_type(accept))
        try:
            body = codecs.toolkit_body(values, accept)
        except toolkit_codecs.UnsupportedFormatError as error:
            # Raised outside any try in serve.invocations: Flask's own 500 page.
            page, media = flask_responses.internal_server_error(self.settings.werkzeug)
            return Reply(500, page, media, log=f"UnsupportedFormatError: {error}")
        return Reply(200, body, flask_responses.content_type(accept))

    def _selected_reply(self, predictions: Any, accept: str, keys: tuple[str, ...]) -> Reply:
        """serve._handle_selectable_inference_response: any error is a 500 with its text."""
        try:
            rows = selectable.selected_predictions(
                predictions, keys, self.objective, num_class=self.num_class
            )
            if accept == codecs.JSON:
                body = codecs.selected_json(rows)
            elif accept == codecs.JSONLINES:
                body = codecs.selected_jsonlines(rows)
            elif accept == "text/csv":
                body = codecs.selected_csv(rows, keys, self.settings.batch)
            elif accept == RECORDIO:
                raise RuntimeError(NOT_EMULATED.format(what="answers"))
            else:
                raise RuntimeError(
                    f"Cannot encode selected predictions into accept type '{accept}'."
                )
        except Exception as error:
            return _error_reply(500, str(error), error)
        return Reply(200, body, flask_responses.content_type(accept))


def _error_reply(status: int, text: str, error: BaseException) -> Reply:
    return Reply(
        status, text.encode("utf-8"), ERROR_CONTENT_TYPE, log=f"{type(error).__name__}: {error}"
    )


def _predict_one(entry: LoadedBooster, dtest: Any) -> Any:
    if entry.iteration_range is None:
        return entry.booster.predict(dtest, validate_features=False)
    return entry.booster.predict(
        dtest, validate_features=False, iteration_range=entry.iteration_range
    )


def _vote(outputs: list[Any]) -> Any:
    """scipy 1.6's `stats.mode(ensemble).mode[0]`: per row the most frequent prediction, the
    smallest on a tie (newer scipy drops the axis that `[0]` indexes)."""
    stacked = np.asarray(outputs)
    voted = np.empty(stacked.shape[1:], dtype=stacked.dtype)
    for index in np.ndindex(*stacked.shape[1:]):
        values, counts = np.unique(stacked[(slice(None),) + index], return_counts=True)
        voted[index] = values[np.argmax(counts)]
    return voted


def _load_boosters(
    xgb: Any, directory: Path, settings: AlgorithmSettings, container_model_dir: str
) -> tuple[LoadedBooster, ...]:
    """serve_utils.get_loaded_booster."""
    names = []
    for name in os.listdir(directory):
        if not (directory / name).is_file():
            continue
        if name.startswith("."):
            logger.warning(
                "Ignoring dotfile '%s' found in model directory - please exclude dotfiles from "
                "model archives",
                f"{container_model_dir}/{name}",
            )
            continue
        names.append(name)
    if not settings.ensemble:
        names = names[:1]
    loaded = tuple(
        _load_file(xgb, directory / name, f"{container_model_dir}/{name}", settings)
        for name in names
    )
    if not loaded:
        raise IndexError("list index out of range")  # models[0] of an empty list
    return loaded


def _load_file(xgb: Any, path: Path, shown: str, settings: AlgorithmSettings) -> LoadedBooster:
    try:
        with path.open("rb") as file:
            booster = pickle.load(file)
        model_format = PKL_FORMAT
    except Exception as pickle_error:
        try:
            booster = xgb.Booster()
            booster.load_model(str(path))
            model_format = XGB_FORMAT
        except Exception as xgb_error:
            xgb_text = _without_stack_trace(str(xgb_error)).replace(str(path), shown)
            raise RuntimeError(
                f"Model {shown} cannot be loaded:\nPickle load error={pickle_error}\n"
                f"XGB load model error={xgb_text}"
            ) from xgb_error
    booster.set_param("nthread", 1)
    # What xgboost 1.x reads of a newer model, where a newer xgboost stands in for 1.7.4.
    as_1_7 = settings.best_ntree_limit and _version(xgb.__version__) >= (2, 0)
    if as_1_7 and _VECTOR_BASE_SCORE.search(path.read_bytes()):
        booster.set_param("base_score", 0.5)
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    if as_1_7 and objective not in XGBOOST_1_7_OBJECTIVES:
        raise RuntimeError(
            f"Model {shown} cannot be loaded by xgboost 1.7: Unknown objective function: "
            f"`{objective}`"
        )
    if as_1_7 and learner["learner_model_param"].get("num_target", "1") != "1":
        raise RuntimeError(
            f"Model {shown} cannot be loaded by xgboost 1.7: it has "
            f"{learner['learner_model_param']['num_target']} targets (multi-output trees)"
        )
    return LoadedBooster(
        name=path.name,
        booster=booster,
        model_format=model_format,
        iteration_range=(
            _iteration_range(booster, model_format) if settings.best_ntree_limit else None
        ),
        objective=objective,
        num_class=learner["learner_model_param"].get("num_class", ""),
    )


def _without_stack_trace(text: str) -> str:
    """xgboost's errors end with the local library's stack trace: noise in a FailureReason."""
    return text.split("\nStack trace:", 1)[0].rstrip()


def _iteration_range(booster: Any, model_format: str) -> tuple[int, int] | None:
    """The container predicts with `ntree_limit=getattr(booster, "best_ntree_limit", 0)`.
    xgboost 1.7 sets that attribute on load from the model's `best_ntree_limit` attribute
    (which 1.7's training always writes, and early stopping lowers); a pickle keeps the Python
    attribute of the object pickled. xgboost >= 2 has no ntree_limit: 1.7 turns it into this
    iteration range."""
    if model_format == PKL_FORMAT:
        limit = getattr(booster, "best_ntree_limit", 0)
    else:
        stored = booster.attr("best_ntree_limit")
        limit = int(stored) if stored is not None else 0
    if not limit:
        return None
    return (0, int(limit) // max(_parallel_trees(booster), 1))


def _parallel_trees(booster: Any) -> int:
    """xgboost 1.7's `_get_booster_layer_trees`: trees per iteration (0 for gblinear)."""
    try:
        gradient_booster = json.loads(booster.save_config())["learner"]["gradient_booster"]
        if gradient_booster["name"] == "gblinear":
            return 0
        if gradient_booster["name"] == "dart":
            gradient_booster = gradient_booster["gbtree"]
        params = (
            gradient_booster.get("gbtree_model_param") or gradient_booster["gbtree_train_param"]
        )
        return int(params["num_parallel_tree"])
    except (KeyError, TypeError, ValueError):
        return 1


def _load_failure(
    error: Exception, xgb: Any, directory: Path, serving_version: str = CONTAINER_VERSION
) -> str:
    """The worker's fatal error, and the change that lets the model load."""
    text = (
        f"sagemaker-xgboost {serving_version} (algorithm mode) cannot load the model, so its "
        f"workers exit and /ping never answers: {type(error).__name__}: {error}"
    )
    hint = _load_hint(error, xgb, directory)
    return f"{text}\n{hint}" if hint else text


def _load_hint(error: Exception, xgb: Any, directory: Path) -> str:
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name[:1] != ".")
    if isinstance(error, IndexError):
        return (
            "model.tar.gz has no file at its top level: put the model there (as xgboost-model, "
            "a Booster saved with save_model or pickled)."
        )
    if "cannot be loaded by xgboost 1.7" in str(error):
        return (
            f"The {CONTAINER_VERSION} image runs xgboost 1.7: train the model with what xgboost "
            "1.7 has (objective, single-target trees), or serve it with an image of a newer "
            "xgboost."
        )
    if isinstance(error, AttributeError) and "set_param" in str(error):
        return (
            "Algorithm mode serves xgboost.Booster objects only: save the wrapper's booster "
            '(model.get_booster().save_model("xgboost-model")), or serve the wrapper in script '
            "mode with an entry script (SAGEMAKER_PROGRAM)."
        )
    legacy = [name for name in files if _head(directory / name) == LEGACY_BINARY_MAGIC]
    if legacy and _version(xgb.__version__) >= (3, 1):
        return (
            f"{legacy[0]} is in xgboost's legacy binary format, which xgboost 1.x writes for a "
            "file without extension (the container's own training does), and xgboost "
            f"{xgb.__version__} can no longer read (removed in 3.1). Install an xgboost that "
            f"reads it: {INSTALL} (xgboost>=1.7,<3.1)."
        )
    if len(files) > 1:
        return (
            f"Every file at the top level of model.tar.gz is loaded as a model ({', '.join(files)};"
            " SAGEMAKER_INFERENCE_ENSEMBLE defaults to true): keep only the model there."
        )
    return ""


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(LEGACY_BINARY_MAGIC))


def _version(version: str) -> tuple[int, int]:
    numbers = re.findall(r"\d+", version)[:2]
    return (int(numbers[0]), int(numbers[1])) if len(numbers) == 2 else (0, 0)
