"""The sagemaker-xgboost container's algorithm-mode request path (1.7-1 image), transcribed from
its public source (aws/sagemaker-xgboost-container) for the differential tests, on the xgboost,
numpy and scipy installed here:

- algorithm_mode/serve.py: `invocations`, `_parse_accept`
- algorithm_mode/serve_utils.py: `get_loaded_booster`, `parse_content_data`,
  `_get_sparse_matrix_from_libsvm`, `predict`, `encode_predictions_as_json`
- data_utils.py: `get_content_type`; encoder.py: `csv_to_dmatrix`, `_clean_csv_string`
- sagemaker-inference 1.5.5 encoder.py: `encode` (`_array_to_csv`, `_array_to_npy`)
- Flask 1.1.1 / Werkzeug 0.15.6: a Response's Content-Type, the 500 page of an uncaught error

Changed only where current libraries removed what the image uses: `np.float`/`np.int` are the
builtins they aliased; xgboost >= 2 has no `ntree_limit`, so xgboost 1.7's own translation of it
(`_convert_ntree_limit`, and `Booster.load_model` setting `best_ntree_limit`) is spelled out."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle as pkl
import warnings
from typing import Any

import numpy as np
import xgboost as xgb
from scipy.sparse import csr_matrix

from pytest_smendpoint.serving.profiles.xgboost import codecs as xgboost_codecs

try:  # the image's Python 3.8 has cgi; 3.13 removed it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from cgi import parse_header
except ImportError:  # pragma: no cover - Python >= 3.13
    parse_header = xgboost_codecs.parse_header  # checked against cgi where cgi exists

CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF = "csv", "libsvm", "parquet", "recordio-protobuf"
# serving.serving_entrypoint sets OMP_NUM_THREADS=1, which is what DMatrix's default then uses.
OMP_NUM_THREADS = 1
VALID_CONTENT_TYPES = [
    CSV,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
]
SUPPORTED_ACCEPTS = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
]
FLASK_500 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application.</p>\n"
)


class UserError(Exception):
    """sagemaker_algorithm_toolkit.exceptions.UserError (its str is the message)."""


class UnsupportedFormatError(Exception):
    """sagemaker_inference.errors.UnsupportedFormatError."""


def get_content_type(content_type_cfg_val: str | None) -> str:
    if content_type_cfg_val is None:
        return LIBSVM
    content_type, params = parse_header(content_type_cfg_val.lower())
    if content_type in [CSV, "text/csv"]:
        if params and "label_size" in params and params["label_size"] != "1":
            msg = (
                f"{content_type_cfg_val} is not an accepted csv ContentType. "
                "Optional parameter label_size must be equal to 1"
            )
            raise UserError(msg)
        return CSV
    elif content_type in [LIBSVM, "text/libsvm", "text/x-libsvm"]:
        return LIBSVM
    elif content_type in [PARQUET, "application/x-parquet"]:
        return PARQUET
    elif content_type in [RECORDIO_PROTOBUF, "application/x-recordio-protobuf"]:
        return RECORDIO_PROTOBUF
    raise UserError(
        f"{content_type_cfg_val} is not an accepted ContentType: "
        + ", ".join(VALID_CONTENT_TYPES)
        + "."
    )


def _clean_csv_string(csv_string: str, delimiter: str) -> list[str]:
    return ["nan" if x == "" else x for x in csv_string.split(delimiter)]


def csv_to_dmatrix(input: str | bytes, dtype: Any = None) -> Any:
    csv_string = input.decode() if isinstance(input, bytes) else input
    sniff_delimiter = csv.Sniffer().sniff(csv_string.split("\n")[0][:512]).delimiter
    delimiter = "," if sniff_delimiter.isalnum() else sniff_delimiter
    np_payload = np.array(
        list(map(lambda x: _clean_csv_string(x, delimiter), csv_string.split("\n")))
    ).astype(dtype)
    return xgb.DMatrix(np_payload, nthread=OMP_NUM_THREADS)


def _get_sparse_matrix_from_libsvm(payload: str) -> Any:
    pylist = map(lambda x: x.split(" "), payload.split("\n"))
    colon = ":"
    row, col, data = [], [], []
    for row_idx, line in enumerate(pylist):
        for item in line:
            if colon in item:
                col_idx = item.split(colon)[0]
                val = item.split(colon)[1]
                row.append(row_idx)
                col.append(col_idx)
                data.append(val)
    row_array = np.array(row)
    col_array = np.array(col).astype(int)  # np.int
    data_array = np.array(data).astype(float)  # np.float
    if not (len(row_array) == len(col_array) and len(col_array) == len(data_array)):
        raise RuntimeError("Dimension checking failed when transforming sparse matrix.")
    return csr_matrix((data_array, (row_array, col_array)))


def parse_content_data(input_data: bytes, input_content_type: str | None) -> tuple[Any, str]:
    dtest = None
    content_type = get_content_type(input_content_type)
    payload = input_data
    if content_type == CSV:
        try:
            decoded_payload = payload.strip().decode("utf-8")
            dtest = csv_to_dmatrix(decoded_payload, dtype=float)  # np.float
        except Exception as e:
            raise RuntimeError(
                "Loading csv data failed with Exception, "
                f"please ensure data is in csv format:\n {type(e)}\n {e}"
            ) from e
    elif content_type == LIBSVM:
        try:
            decoded_payload = payload.strip().decode("utf-8")
            dtest = xgb.DMatrix(
                _get_sparse_matrix_from_libsvm(decoded_payload), nthread=OMP_NUM_THREADS
            )
        except Exception as e:
            raise RuntimeError(
                "Loading libsvm data failed with Exception, "
                f"please ensure data is in libsvm format:\n {type(e)}\n {e}"
            ) from e
    elif content_type == RECORDIO_PROTOBUF:
        raise NotImplementedError("recordio-protobuf (mlio) is not part of this reference")
    else:
        raise RuntimeError(f"Content-type {input_content_type} is not supported.")
    return dtest, content_type


def _load_model_as_1_7(path: str) -> Any:
    """xgb.Booster(); booster.load_model(path) as xgboost 1.7 does it: its load_model also
    sets the Python attribute best_ntree_limit from the model's attribute."""
    booster = xgb.Booster()
    booster.load_model(path)
    if booster.attr("best_ntree_limit") is not None:
        booster.best_ntree_limit = int(booster.attr("best_ntree_limit"))
    return booster


def get_loaded_booster(model_dir: str, ensemble: bool = False) -> tuple[Any, Any]:
    full_model_paths = [
        os.path.join(model_dir, f)
        for f in os.listdir(model_dir)
        if os.path.isfile(os.path.join(model_dir, f)) and not f.startswith(".")
    ]
    model_paths = full_model_paths if ensemble else full_model_paths[0:1]
    models, formats = [], []
    for path in model_paths:
        try:
            with open(path, "rb") as file:
                booster = pkl.load(file)
            model_format = "pkl_format"
        except Exception as exp_pkl:
            try:
                booster = _load_model_as_1_7(path)
                model_format = "xgb_format"
            except Exception as exp_xgb:
                raise RuntimeError(
                    f"Model {path} cannot be loaded:\nPickle load error={exp_pkl}\n"
                    f"XGB load model error={exp_xgb}"
                ) from exp_xgb
        booster.set_param("nthread", 1)
        models.append(booster)
        formats.append(model_format)
    return (models, formats) if ensemble and len(models) > 1 else (models[0], formats[0])


def _predict_1_7(booster: Any, dtest: Any, ntree_limit: int) -> Any:
    """booster.predict(dtest, ntree_limit=..., validate_features=False) in xgboost 1.7
    (`_convert_ntree_limit` with `_get_booster_layer_trees`)."""
    if not ntree_limit:
        return booster.predict(dtest, validate_features=False)
    config = json.loads(booster.save_config())["learner"]["gradient_booster"]
    if config["name"] == "gblinear":
        num_parallel_tree = 0
    elif config["name"] == "dart":
        num_parallel_tree = int(config["gbtree"]["gbtree_model_param"]["num_parallel_tree"])
    else:
        num_parallel_tree = int(config["gbtree_model_param"]["num_parallel_tree"])
    iteration_range = (0, ntree_limit // max(num_parallel_tree, 1))
    return booster.predict(dtest, validate_features=False, iteration_range=iteration_range)


def predict(model: Any, model_format: Any, dtest: Any, input_content_type: str) -> Any:
    bst, bst_format = (model[0], model_format[0]) if type(model) is list else (model, model_format)
    if bst_format == "pkl_format":
        x = bst.num_features()
        y = len(dtest.feature_names) if dtest.feature_names is not None else dtest.num_col()
        content_type = get_content_type(input_content_type)
        if content_type == LIBSVM:
            if y > x + 1:
                raise ValueError(
                    f"Feature size of libsvm inference data {y} is larger than "
                    f"feature size of trained model {x}."
                )
        elif content_type in [CSV, RECORDIO_PROTOBUF] and not ((x == y) or (x == y + 1)):
            raise ValueError(
                f"Feature size of {content_type} inference data {y} is not consistent "
                f"with feature size of trained model {x}."
            )
    if type(model) is list:
        ensemble = [_predict_1_7(b, dtest, getattr(b, "best_ntree_limit", 0)) for b in model]
        return np.mean(ensemble, axis=0)  # (multi:softmax / binary:hinge vote not used here)
    return _predict_1_7(model, dtest, getattr(model, "best_ntree_limit", 0))


def encode_predictions_as_json(predictions: list[Any]) -> str:
    preds_list_of_dict = []
    for pred in predictions:
        preds_list_of_dict.append({"score": pred})
    return json.dumps({"predictions": preds_list_of_dict})


def encode(array_like: Any, content_type: str) -> Any:
    """sagemaker_inference.encoder.encode."""
    if content_type == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    if content_type == "text/csv":
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    if content_type == "application/json":
        return json.dumps(array_like)
    raise UnsupportedFormatError(content_type)


def _parse_accept(accept_header: str | None, environment: dict[str, str]) -> str:
    accept, _ = parse_header(accept_header or "")
    if not accept or accept == "*/*":
        return environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    if accept.lower() not in SUPPORTED_ACCEPTS:
        raise ValueError(
            f"Accept type {accept} is not supported. "
            f"Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return accept.lower()


def flask_content_type(mimetype: str) -> str:
    """werkzeug's get_content_type for the mimetypes these answers use."""
    return mimetype + "; charset=utf-8" if mimetype.startswith("text/") else mimetype


_LOADED: dict[tuple[str, bool], tuple[Any, Any]] = {}


def invocations(
    model_dir: str,
    payload: bytes,
    content_type: str | None,
    accept: str | None,
    environment: dict[str, str],
) -> tuple[int, bytes, str]:
    """serve.invocations (no selectable output): (status, body, Content-Type)."""
    error_type = flask_content_type("text/html")
    if len(payload) == 0:
        return 204, b"", error_type
    try:
        dtest, parsed_type = parse_content_data(payload, content_type)
    except Exception as e:
        return 415, str(e).encode(), error_type
    ensemble = environment.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true") == "true"
    # ScoringService.load_model: loaded once per worker, then kept.
    if (model_dir, ensemble) not in _LOADED:
        _LOADED[model_dir, ensemble] = get_loaded_booster(model_dir, ensemble)
    model, model_format = _LOADED[model_dir, ensemble]
    try:
        preds = predict(model, model_format, dtest, parsed_type)
    except Exception as e:
        return 400, (f"Unable to evaluate payload provided: {e}").encode(), error_type
    try:
        accept_type = _parse_accept(accept, environment)
    except Exception as e:
        return 406, str(e).encode(), error_type
    if environment.get("SAGEMAKER_BATCH"):
        return_data: Any = "\n".join(map(str, preds.tolist())) + "\n"
    elif accept_type == "application/json":
        return_data = encode_predictions_as_json(preds.tolist())
    else:
        try:
            return_data = encode(preds.tolist(), accept_type)
        except UnsupportedFormatError:
            return 500, FLASK_500.encode(), "text/html"
    body = return_data.encode("utf-8") if isinstance(return_data, str) else return_data
    return 200, body, flask_content_type(accept_type)
