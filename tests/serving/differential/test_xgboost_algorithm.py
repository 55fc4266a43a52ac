"""Differential tests: the sagemaker-xgboost algorithm-mode emulation against the container's own
request path (xgboost_container_reference, transcribed from its source), request by request:
same status, body and Content-Type, for saved-Booster and pickled models of three objectives.

One deliberate difference: run on the numpy and scipy installed here, the reference words some
errors as they do now (`np.str_('a')`, "inhomogeneous shape", "negative axis 1 index"). The
image has numpy 1.21 and scipy 1.6, and the emulation gives their wording; `image_wording`
maps the reference's text back before comparing (test_xgboost_algorithm_pinned.py holds texts
measured on the image's stack)."""

from __future__ import annotations

import itertools
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

from helpers import xgboost_container_reference as reference  # noqa: E402

from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm  # noqa: E402
from pytest_smendpoint.serving.profiles.xgboost import codecs as xgboost_codecs  # noqa: E402

FEATURES = 3
OBJECTIVES: dict[str, dict[str, str | int]] = {
    "binary": {"objective": "binary:logistic"},
    "regression": {"objective": "reg:squarederror"},
    "softprob": {"objective": "multi:softprob", "num_class": 3},
}
CSV_BODIES = [
    b"0.1,0.2,0.3",  # one row, no newline: still 2-D here (unlike sklearn's container)
    b"0.1,0.2,0.3\n",
    b"\n0.1,0.2,0.3\n\n",
    b"0.1,0.2,0.3\n0.9,0.8,0.7\n0.5,0.5,0.5\n1,1,1\n0,0,0\n",
    b"0.1,0.2,0.3\r\n0.9,0.8,0.7\r\n",
    b"0.1,0.2,0.3\n\n0.9,0.8,0.7",  # blank line inside: ragged
    b"0.1,0.2,0.3\n0.1,0.2",  # ragged
    b"0.1,,0.3",  # empty field: missing value
    b",0.2,0.3",
    b"0.1, 0.2, 0.3",
    b"0.1 ,0.2,0.3",
    b"a,b,c\n0.1,0.2,0.3",  # header
    b"0.1,0.2,abc",
    b'"0.1","0.2","0.3"',
    b"0.5",  # one column
    b"0.1,0.2",  # one feature fewer
    b"0.1,0.2,0.3,0.4",  # one feature more
    b"0.1,0.2,0.3,",
    b"0.1;0.2;0.3",
    b"0.1\t0.2\t0.3",
    b"1 2 3",
    b"0.1|0.2|0.3",
    b"nan,1,2",
    b"1e-3,2E2,+4",
    b"1_0,2,3",
    b"1.5e400,1,2",  # inf: xgboost refuses it
    b"\xff\xfe",
    b" ",
    b"\n\n",
    b"",
]
LIBSVM_BODIES = [
    b"0:0.1 1:0.2 2:0.3",
    b"1 0:0.1 1:0.2 2:0.3\n0 0:0.9 2:0.7",
    b"1:0.2",
    b"0:0.1 1:0.2 2:0.3 3:0.4",
    b"0:0.1 1:0.2 2:0.3 3:0.4 4:1",
    b"0:1 0:2",
    b"0:1\n\n2:3",
    b"0:0.1 1:0.2 2:0.3\n1",
    b"0:1:2",
    b"0:nan 1:1",
    b"x:1",
    b"0:abc",
    b"-1:0.5",
    b"-2:0.5",
    b"1\t0:1",
    b"qid:3 0:1",
    b"99999999999999999999:1",
    b"1 2 3",
    b"\n",
]
CONTENT_TYPES = [
    "text/csv",
    "text/csv; charset=utf-8",
    "TEXT/CSV",
    "csv",
    "text/csv;label_size = 1",
    "text/csv; label_size=0",
    "text/csv; label_size=1=1",
    "label_size=1; text/csv",
    "text/csvx",
    "application/json",
    "application/jsonlines",
    "text/plain",
    "application/octet-stream",
    "application/x-parquet",
    "text/x-libsvm",
    "Text/LibSVM; charset=utf-8",
    "",
    None,
]
ACCEPTS = [
    None,
    "",
    "*/*",
    "text/csv",
    "text/csv; charset=utf-8",
    "application/json",
    "application/json; verbose=True",
    "APPLICATION/JSON",
    "application/json, text/csv",
    "application/jsonlines",
    "application/x-npy",
    "text/plain",
]
ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"},
    {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-npy"},
    {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv; charset=utf-8"},
    {"SAGEMAKER_BATCH": "true"},
]
MODELS = [f"{objective}-{kind}" for objective in OBJECTIVES for kind in ("booster", "pickle")]
# Newer numpy and scipy wording -> numpy 1.21 / scipy 1.6 wording (the image's).
_NEWER_WORDING = [
    (re.compile(r"np\.str_\(('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)"), r"\1"),
    (re.compile(r"negative axis 1 index: -?\d+"), "negative column index found"),
]


def image_wording(text: str) -> str:
    for pattern, replacement in _NEWER_WORDING:
        text = pattern.sub(replacement, text)
    return text


def without_timestamps(text: str) -> str:
    """xgboost's own errors start with the time of day."""
    return re.sub(r"\[\d\d:\d\d:\d\d\] ", "[..] ", text)


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models of each objective, saved as a Booster (`xgboost-model`, no extension) and
    pickled, each alone in a model directory as model.tar.gz unpacks."""
    rng = np.random.RandomState(0)
    features = rng.rand(200, FEATURES)
    labels = {
        "binary": (features[:, 0] + 0.3 * rng.rand(200) > 0.7).astype(int),
        "regression": features @ np.array([3.0, -1.0, 2.0]) + 0.5,
        "softprob": (features[:, 0] * 3).astype(int),
    }
    dirs = {}
    for objective, params in OBJECTIVES.items():
        booster = xgb.train(
            {**params, "max_depth": 2, "seed": 0, "nthread": 1},
            xgb.DMatrix(features, label=labels[objective]),
            num_boost_round=4,
        )
        saved = tmp_path_factory.mktemp(f"{objective}-booster")
        with warnings.catch_warnings():  # "Saving model in the UBJSON format as default"
            warnings.simplefilter("ignore", UserWarning)
            booster.save_model(str(saved / "xgboost-model"))
        pickled = tmp_path_factory.mktemp(f"{objective}-pickle")
        (pickled / "xgboost-model").write_bytes(pickle.dumps(booster))
        dirs[f"{objective}-booster"] = saved
        dirs[f"{objective}-pickle"] = pickled
    return dirs


# What emulated() and referenced() take: model folder, body, Content-Type, Accept, environment.
Call = tuple[Path, bytes, str | None, str | None, dict[str, str]]

_LOADED: dict[
    tuple[Path, tuple[tuple[str, str], ...]], xgboost_algorithm.XGBoostAlgorithmModel
] = {}


def emulated(
    model_dir: Path, body: bytes, content_type: str | None, accept: str | None, env: dict[str, str]
) -> tuple[int, bytes, str]:
    key = (model_dir, tuple(sorted(env.items())))
    if key not in _LOADED:
        _LOADED[key] = xgboost_algorithm.load(model_dir, env)
    reply = _LOADED[key].reply(body, content_type, accept)
    answer = reply.body
    if reply.status >= 400:
        answer = without_timestamps(answer.decode()).encode()
    return reply.status, answer, reply.content_type


def referenced(
    model_dir: Path, body: bytes, content_type: str | None, accept: str | None, env: dict[str, str]
) -> tuple[int, bytes, str]:
    status, answer, answer_type = reference.invocations(
        str(model_dir), body, content_type, accept, env
    )
    if status >= 400:
        answer = image_wording(without_timestamps(answer.decode())).encode()
    return status, answer, answer_type


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body", CSV_BODIES, ids=repr)
def test_csv_bodies_answer_as_the_container(
    model_dirs: dict[str, Path], model: str, body: bytes
) -> None:
    args: Call = (model_dirs[model], body, "text/csv", "text/csv", {})
    assert emulated(*args) == referenced(*args)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("body", LIBSVM_BODIES, ids=repr)
def test_libsvm_bodies_answer_as_the_container(
    model_dirs: dict[str, Path], model: str, body: bytes
) -> None:
    args: Call = (model_dirs[model], body, "text/libsvm", "application/json", {})
    assert emulated(*args) == referenced(*args)


@pytest.mark.parametrize("model", ["binary-booster", "softprob-pickle"])
@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=repr)
def test_content_types_match_as_in_the_container(
    model_dirs: dict[str, Path], model: str, content_type: str | None
) -> None:
    args: Call = (model_dirs[model], b"0.1,0.2,0.3", content_type, "text/csv", {})
    assert emulated(*args) == referenced(*args)


@pytest.mark.parametrize(
    ("model", "accept", "env"),
    list(itertools.product(["binary-booster", "softprob-pickle"], ACCEPTS, ENVIRONMENTS)),
    ids=repr,
)
def test_accept_and_environment_encode_as_in_the_container(
    model_dirs: dict[str, Path], model: str, accept: str | None, env: dict[str, str]
) -> None:
    args: Call = (model_dirs[model], b"0.1,0.2,0.3\n0.9,0.8,0.7", "text/csv", accept, env)
    assert emulated(*args) == referenced(*args)


def test_an_ensemble_answers_the_mean_as_in_the_container(
    model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("binary-booster", "binary-pickle"):
        (tmp_path / f"{name}-model").write_bytes((model_dirs[name] / "xgboost-model").read_bytes())
    args: Call = (tmp_path, b"0.1,0.2,0.3\n0.9,0.8,0.7", "text/csv", "application/json", {})
    assert emulated(*args) == referenced(*args)


def test_reference_wording_is_mapped_only_where_numpy_or_scipy_changed_it() -> None:
    """The mapping is the whole of the deliberate difference: it leaves image texts alone."""
    image = "could not convert string to float: 'abc'"
    assert image_wording("could not convert string to float: np.str_('abc')") == image
    assert image_wording(image) == image
    assert image_wording("negative axis 1 index: -1") == "negative column index found"


@pytest.mark.parametrize(
    "header",
    [
        "text/csv",
        " text/csv ; charset=utf-8",
        'text/csv; label_size="1"; x="a;b"',
        "text/csv;label_size = 1;;",
        "label_size=1; text/csv",
        "application/json, text/csv",
        "text/csv; flag",
        "",
    ],
)
def test_parse_header_is_cgis(header: str) -> None:
    cgi = pytest.importorskip("cgi")  # gone in Python 3.13: the module keeps its own copy
    assert xgboost_codecs.parse_header(header) == cgi.parse_header(header)


@pytest.mark.parametrize("model", ["binary-booster", "softprob-pickle"])
def test_large_numeric_bodies_parse_to_the_containers_numbers(
    model_dirs: dict[str, Path], model: str
) -> None:
    """Past 64 KiB a body of plain numbers takes pyarrow's parser: same float64 bits as the
    container's float() per field, signed zeros, subnormals and huge integers included."""
    tokens = ["-0", "0", "+1", "1.", ".5", "-.5", "9007199254740993", "1E+5", "4.9e-324"]
    tokens += ["2.2250738585072014e-308", "0.1", "00012", "1.7976931348623157e308", "-3e-5"]
    rng = np.random.RandomState(1)
    rows = [",".join(rng.choice(tokens, FEATURES)) for _ in range(8000)]
    text = "\n".join(rows)
    assert len(text) > xgboost_codecs.FAST_CSV_CHARS
    assert xgboost_codecs._plain_numbers(text) is not None  # pyarrow's path, not a fallback
    containers = np.array([row.split(",") for row in rows]).astype(float)
    assert xgboost_codecs.csv_matrix(text).tobytes() == containers.tobytes()
    args: Call = (model_dirs[model], text.encode(), "text/csv", "application/json", {})
    assert emulated(*args) == referenced(*args)
