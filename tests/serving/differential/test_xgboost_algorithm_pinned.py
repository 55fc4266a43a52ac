"""The sagemaker-xgboost algorithm-mode emulation against answers measured on the image's own
stack (Python 3.8, xgboost 1.7.4, numpy 1.21.6, scipy 1.6.2, the container's request path):
numbers for model files written by xgboost 1.7.4 and 3.2.0, error texts, and how loading fails.
The 1.7-1 branch now pins numpy 1.24.1 (Python 3.9, scipy 1.8.0), whose one different text, for
ragged CSV rows, is the one given here (test_xgboost_runtime_differential.py runs that stack)."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError  # noqa: E402
from pytest_smendpoint.serving.profiles.base import Request  # noqa: E402
from pytest_smendpoint.serving.profiles.xgboost import algorithm as xgboost_algorithm  # noqa: E402
from pytest_smendpoint.serving.profiles.xgboost.algorithm import (  # noqa: E402
    AlgorithmSettings,
    load,
)

# xgboost >= 2 warns when it unpickles a Booster pickled by 1.7 (as the test data's is).
pytestmark = pytest.mark.filterwarnings("ignore:.*loading a serialized model:UserWarning")
DATA = Path(__file__).parent / "data"
ROWS = b"0.1,0.2,0.3\n0.9,0.8,0.7\n0.5,0.5,0.5"
TWO_ROWS = b"0.1,0.2,0.3\n0.9,0.8,0.7"
CSV_TYPE = "text/csv; charset=utf-8"
ERROR_TYPE = "text/html; charset=utf-8"
BINARY_CSV = b"0.14542131125926971\n0.8538206815719604\n0.2526217997074127\n"
BINARY_JSON = (
    b'{"predictions": [{"score": 0.14542131125926971}, {"score": 0.8538206815719604}, '
    b'{"score": 0.2526217997074127}]}'
)
SELECTED = "predicted_label,probability,probabilities,labels,raw_score,predicted_score"
MODERN_XGBOOST = tuple(int(n) for n in xgb.__version__.split(".")[:2]) >= (3, 1)


def model_dir(tmp_path: Path, *files: str) -> Path:
    """A model directory as model.tar.gz unpacks: each data file as `xgboost-model` (or under
    its own name when there are several)."""
    directory = tmp_path / "model"
    directory.mkdir(parents=True)
    for name in files:
        target = "xgboost-model" if len(files) == 1 else name
        shutil.copy(DATA / name, directory / target)
    return directory


@pytest.mark.parametrize(
    ("data_file", "accept", "expected"),
    [
        ("xgb174_binary_logistic.json", "text/csv", BINARY_CSV),
        ("xgb174_binary_logistic.json", None, BINARY_CSV),
        ("xgb174_binary_logistic.json", "application/json", BINARY_JSON),
        pytest.param(
            "xgb174_binary_logistic.bin",
            "text/csv",
            BINARY_CSV,
            marks=pytest.mark.skipif(MODERN_XGBOOST, reason="xgboost >= 3.1 cannot read it"),
        ),
        (
            "xgb174_multi_softprob.json",
            "text/csv",
            b"0.7800654172897339,0.11043158173561096,0.10950305312871933\n"
            b"0.10979865491390228,0.1109602227807045,0.779241144657135\n"
            b"0.11013955622911453,0.7798123359680176,0.11004810035228729\n",
        ),
        (
            "xgb174_multi_softprob.json",
            "application/json",
            b'{"predictions": [{"score": [0.7800654172897339, 0.11043158173561096, '
            b'0.10950305312871933]}, {"score": [0.10979865491390228, 0.1109602227807045, '
            b'0.779241144657135]}, {"score": [0.11013955622911453, 0.7798123359680176, '
            b"0.11004810035228729]}]}",
        ),
        (
            "xgb174_regression.pkl",
            "text/csv",
            b"3.080838203430176\n9.177164077758789\n6.4827141761779785\n",
        ),
        # Early stopping left best_ntree_limit=1 of 3 rounds: the container predicts with 1 tree.
        (
            "xgb174_early_stopped.json",
            "text/csv",
            b"0.2762853503227234\n0.7231218218803406\n0.2762853503227234\n",
        ),
        # Written by xgboost 3.2: its `[7.787E0]` base_score is lost on xgboost 1.7 (0.5 used).
        (
            "xgb320_regression.json",
            "text/csv",
            b"-2.393927574157715\n3.641258478164673\n1.0047988891601562\n",
        ),
    ],
)
def test_predictions_are_the_images_to_the_byte(
    tmp_path: Path, data_file: str, accept: str | None, expected: bytes
) -> None:
    model = load(model_dir(tmp_path, data_file), {})
    content_type = CSV_TYPE if expected.endswith(b"\n") else "application/json"
    assert model.invoke(ROWS, "text/csv", accept) == (expected, content_type)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "text"),
    [
        (b"0.1,0.2", "text/csv", 200, "3.080838203430176\n"),
        (
            b"0.1",
            "text/csv",
            400,
            "Unable to evaluate payload provided: Feature size of csv inference data 1 is not "
            "consistent with feature size of trained model 3.",
        ),
        (
            b"0.1,0.2,0.3,0.4",
            "text/csv",
            400,
            "Unable to evaluate payload provided: Feature size of csv inference data 4 is not "
            "consistent with feature size of trained model 3.",
        ),
        (
            b"0:0.1 1:0.2 2:0.3 3:0.4 4:0.5",
            "text/libsvm",
            400,
            "Unable to evaluate payload provided: Feature size of libsvm inference data 5 is "
            "larger than feature size of trained model 3.",
        ),
    ],
)
def test_pickled_models_check_the_feature_count(
    tmp_path: Path, body: bytes, content_type: str, status: int, text: str
) -> None:
    reply = load(model_dir(tmp_path, "xgb174_regression.pkl"), {}).reply(body, content_type, None)
    assert (reply.status, reply.body.decode()) == (status, text)


CSV_FAILED = "Loading csv data failed with Exception, please ensure data is in csv format:\n "
LIBSVM_FAILED = (
    "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n "
)
SUPPORTED = (
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
    "application/x-parquet, application/x-recordio-protobuf."
)


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "text"),
    [
        (b"0.1,0.2,abc", "text/csv", None, 415,
         CSV_FAILED + "<class 'ValueError'>\n could not convert string to float: 'abc'"),
        (b"a,b,c\n0.1,0.2,0.3", "text/csv", None, 415,
         CSV_FAILED + "<class 'ValueError'>\n could not convert string to float: 'a'"),
        (b"0.1,0.2,0.3\n\n0.9,0.8,0.7", "text/csv", None, 415,
         # numpy 1.24.1's words (the 1.7-1 branch's pin; numpy 1.21 stopped at the first sentence)
         CSV_FAILED + "<class 'ValueError'>\n setting an array element with a sequence. The "
         "requested array has an inhomogeneous shape after 1 dimensions. The detected shape was "
         "(3,) + inhomogeneous part."),
        (b" ", "text/csv", None, 415,
         CSV_FAILED + "<class '_csv.Error'>\n Could not determine delimiter"),
        (b"\xff\xfe", "text/csv", None, 415,
         CSV_FAILED + "<class 'UnicodeDecodeError'>\n 'utf-8' codec can't decode byte 0xff in "
         "position 0: invalid start byte"),
        (b"-1:0.5", "text/libsvm", None, 415,
         LIBSVM_FAILED + "<class 'ValueError'>\n negative column index found"),
        (b"x:1", "text/libsvm", None, 415,
         LIBSVM_FAILED + "<class 'ValueError'>\n invalid literal for int() with base 10: 'x'"),
        (b"99999999999999999999:1", "text/libsvm", None, 415,
         LIBSVM_FAILED + "<class 'OverflowError'>\n Python int too large to convert to C long"),
        # No Content-Type at all is libsvm to the container.
        (b"0.1,0.2,0.3", None, None, 415,
         LIBSVM_FAILED + "<class 'ValueError'>\n cannot infer dimensions from zero sized index "
         "arrays"),
        (b"0.1,0.2,0.3", "application/json", None, 415,
         "application/json is not an accepted ContentType: " + SUPPORTED),
        (b"0.1,0.2,0.3", "text/csv; label_size=0", None, 415,
         "text/csv; label_size=0 is not an accepted csv ContentType. Optional parameter "
         "label_size must be equal to 1"),
        (b"0.1,0.2,0.3", "application/x-parquet", None, 415,
         "Content-type application/x-parquet is not supported."),
        (b"0.1,0.2,0.3", "text/csv", "text/plain", 406,
         "Accept type text/plain is not supported. Please use supported accept types: "
         "['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', "
         "'text/csv']."),
    ],
)  # fmt: skip
def test_errors_carry_the_images_status_and_text(
    tmp_path: Path, body: bytes, content_type: str | None, accept: str | None, status: int,
    text: str,
) -> None:  # fmt: skip
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    with pytest.raises(InvocationError) as raised:
        model.invoke(body, content_type, accept)
    assert (raised.value.status, raised.value.message) == (status, text)
    assert model.reply(body, content_type, accept).content_type == ERROR_TYPE


@pytest.mark.parametrize("content_type", ["text/csv; charset=utf-8", "TEXT/CSV", "csv"])
def test_csv_content_types_match_without_case_or_parameters(
    tmp_path: Path, content_type: str
) -> None:
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    assert model.invoke(ROWS, content_type, "text/csv") == (BINARY_CSV, CSV_TYPE)


def test_the_model_is_a_profile_handler(tmp_path: Path) -> None:
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    reply = model(Request(ROWS, "text/csv", "application/json"))
    assert (reply.status, reply.body, reply.content_type) == (200, BINARY_JSON, "application/json")


def test_an_empty_body_gets_an_empty_204(tmp_path: Path) -> None:
    reply = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {}).reply(b"", None, None)
    assert (reply.status, reply.body) == (204, b"")


def test_jsonlines_without_selectable_output_is_flasks_500_page(tmp_path: Path) -> None:
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    reply = model.reply(ROWS, "text/csv", "application/jsonlines")
    assert (reply.status, reply.content_type) == (500, "text/html")
    assert reply.body.startswith(b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n')


def test_default_accept_comes_from_the_model_environment(tmp_path: Path) -> None:
    env = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"}
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), env)
    assert model.invoke(ROWS, "text/csv", "*/*") == (BINARY_JSON, "application/json")
    assert model.invoke(ROWS, "text/csv", "text/csv") == (BINARY_CSV, CSV_TYPE)


@pytest.mark.parametrize(
    ("data_file", "keys", "accept", "expected"),
    [
        (
            "xgb174_binary_logistic.json",
            SELECTED,
            "text/csv",
            '0,0.14542131125926971,"[0.8545786887407303, 0.14542131125926971]","[0, 1]",'
            "0.14542131125926971,nan\n"
            '1,0.8538206815719604,"[0.14617931842803955, 0.8538206815719604]","[0, 1]",'
            "0.8538206815719604,nan",
        ),
        (
            "xgb174_binary_logistic.json",
            SELECTED,
            "application/jsonlines",
            '{"predicted_label": 0, "labels": [0, 1], "probability": 0.14542131125926971, '
            '"probabilities": [0.8545786887407303, 0.14542131125926971], "raw_score": '
            '0.14542131125926971, "predicted_score": NaN}\n'
            '{"predicted_label": 1, "labels": [0, 1], "probability": 0.8538206815719604, '
            '"probabilities": [0.14617931842803955, 0.8538206815719604], "raw_score": '
            '0.8538206815719604, "predicted_score": NaN}\n',
        ),
        (
            "xgb174_multi_softprob.json",
            "predicted_label, PROBABILITIES,probability,labels,raw_scores",
            "text/csv",
            '0,"[0.7800654172897339, 0.11043158173561096, 0.10950305312871933]",'
            '0.7800654172897339,"[0, 1, 2]",'
            '"[0.7800654172897339, 0.11043158173561096, 0.10950305312871933]"\n'
            '2,"[0.10979865491390228, 0.1109602227807045, 0.779241144657135]",'
            '0.779241144657135,"[0, 1, 2]",'
            '"[0.10979865491390228, 0.1109602227807045, 0.779241144657135]"',
        ),
        (
            "xgb174_multi_softprob.json",
            "predicted_label, PROBABILITIES,probability,labels,raw_scores",
            "application/json",
            '{"predictions": [{"predicted_label": 0, "labels": [0, 1, 2], "probability": '
            '0.7800654172897339, "probabilities": [0.7800654172897339, 0.11043158173561096, '
            '0.10950305312871933], "raw_scores": [0.7800654172897339, 0.11043158173561096, '
            '0.10950305312871933]}, {"predicted_label": 2, "labels": [0, 1, 2], "probability": '
            '0.779241144657135, "probabilities": [0.10979865491390228, 0.1109602227807045, '
            '0.779241144657135], "raw_scores": [0.10979865491390228, 0.1109602227807045, '
            "0.779241144657135]}]}",
        ),
    ],
)
def test_selectable_output_is_the_images(
    tmp_path: Path, data_file: str, keys: str, accept: str, expected: str
) -> None:
    model = load(model_dir(tmp_path, data_file), {"SAGEMAKER_INFERENCE_OUTPUT": keys})
    content_type = CSV_TYPE if accept == "text/csv" else accept
    assert model.invoke(TWO_ROWS, "text/csv", accept) == (expected.encode(), content_type)


def test_selectable_output_of_an_objective_without_keys_is_a_500(tmp_path: Path) -> None:
    booster = xgb.train(
        {"objective": "count:poisson", "nthread": 1}, xgb.DMatrix(np.ones((4, 3)), label=[1] * 4)
    )
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(booster))
    model = load(tmp_path, {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_score"})
    with pytest.raises(InvocationError) as raised:
        model.invoke(TWO_ROWS, "text/csv", None)
    assert (raised.value.status, raised.value.message) == (
        500,
        "Objective `count:poisson` unsupported for selectable inference predictions.",
    )


def test_recordio_protobuf_is_refused_as_not_emulated(tmp_path: Path) -> None:
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    with pytest.raises(InvocationError) as raised:
        model.invoke(b"\x0a\xd7\x23\xce", "application/x-recordio-protobuf", None)
    assert raised.value.status == 415
    assert raised.value.message == xgboost_algorithm.NOT_EMULATED.format(what="requests")


def test_settings_read_the_container_variables() -> None:
    assert AlgorithmSettings.from_environment({}) == AlgorithmSettings(
        "text/csv", None, True, False
    )
    assert AlgorithmSettings.from_environment(
        {
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json",
            "SAGEMAKER_INFERENCE_OUTPUT": " Predicted_Label,probability",
            "SAGEMAKER_INFERENCE_ENSEMBLE": "True",  # only "true" keeps ensembles on
            "SAGEMAKER_BATCH": "false",  # any value is on
        }
    ) == AlgorithmSettings("application/json", ("predicted_label", "probability"), False, True)
    assert xgboost_algorithm.is_algorithm_mode({"SAGEMAKER_REGION": "us-east-1"})
    assert not xgboost_algorithm.is_algorithm_mode({"SAGEMAKER_PROGRAM": ""})


def test_an_ensemble_averages_every_top_level_file(tmp_path: Path) -> None:
    names = ("xgb174_binary_logistic.json", "xgb174_early_stopped.json")
    body, _ = load(model_dir(tmp_path, *names), {}).invoke(TWO_ROWS, "text/csv", "text/csv")
    alone = [
        float(value)
        for name in names
        for value in load(model_dir(tmp_path / name, name), {})
        .invoke(TWO_ROWS, "text/csv", None)[0]
        .split()
    ]
    # float32 predictions, averaged in float32 (np.mean of the boosters' outputs).
    mean = np.mean(np.array(alone, dtype=np.float32).reshape(2, 2), axis=0)
    assert body == "".join(f"{value}\n" for value in mean.tolist()).encode()


def test_without_ensembles_only_the_first_listed_file_is_loaded(tmp_path: Path) -> None:
    directory = model_dir(tmp_path, "xgb174_binary_logistic.json", "xgb174_early_stopped.json")
    model = load(directory, {"SAGEMAKER_INFERENCE_ENSEMBLE": "false"})
    assert [b.name for b in model.boosters] == os.listdir(directory)[:1]


def test_class_outputs_of_an_ensemble_are_voted_smallest_on_a_tie() -> None:
    voted = xgboost_algorithm._vote(
        [
            np.array([0, 2, 1], np.float32),
            np.array([0, 1, 2], np.float32),
            np.array([1, 1, 0], np.float32),
        ]
    )
    assert voted.tolist() == [0.0, 1.0, 0.0]
    assert voted.dtype == np.float32


def test_dotfiles_and_folders_in_the_model_directory_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = model_dir(tmp_path, "xgb174_binary_logistic.json")
    (directory / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (directory / "code").mkdir()
    with caplog.at_level(logging.WARNING, logger="pytest_smendpoint.serving"):
        model = load(directory, {})
    assert [b.name for b in model.boosters] == ["xgboost-model"]
    assert (
        "Ignoring dotfile '/opt/ml/model/.DS_Store' found in model directory - please exclude "
        "dotfiles from model archives" in caplog.messages
    )


LOAD_FAILED = (
    "sagemaker-xgboost 1.7-1 (algorithm mode) cannot load the model, so its workers exit and "
    "/ping never answers: "
)


def test_an_empty_model_directory_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path, {})
    assert str(raised.value) == (
        LOAD_FAILED + "IndexError: list index out of range\n"
        "model.tar.gz has no file at its top level: put the model there (as xgboost-model, a "
        "Booster saved with save_model or pickled)."
    )


def test_a_pickled_sklearn_wrapper_cannot_start(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    classifier = xgb.XGBClassifier(n_estimators=2).fit(np.random.rand(20, 3), [0, 1] * 10)
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(classifier))
    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path, {})
    assert str(raised.value) == (
        LOAD_FAILED + "AttributeError: 'XGBClassifier' object has no attribute 'set_param'\n"
        "Algorithm mode serves xgboost.Booster objects only: save the wrapper's booster "
        '(model.get_booster().save_model("xgboost-model")), or serve the wrapper in script mode '
        "with an entry script (SAGEMAKER_PROGRAM)."
    )


def test_a_file_beside_the_model_is_loaded_as_a_model_and_fails(tmp_path: Path) -> None:
    directory = model_dir(tmp_path, "xgb174_binary_logistic.json")
    (directory / "metrics.json").write_text('{"auc": 0.9}')
    with pytest.raises(ModelLoadError) as raised:
        load(directory, {})
    message = str(raised.value)
    assert message.startswith(
        LOAD_FAILED + "RuntimeError: Model /opt/ml/model/metrics.json cannot be loaded:\n"
        "Pickle load error=invalid load key, '{'.\nXGB load model error="
    )
    assert "Stack trace" not in message
    assert message.endswith(
        "\nEvery file at the top level of model.tar.gz is loaded as a model (metrics.json, "
        "xgboost-model; SAGEMAKER_INFERENCE_ENSEMBLE defaults to true): keep only the model there."
    )


def test_an_objective_xgboost_1_7_lacks_cannot_start(tmp_path: Path) -> None:
    booster = xgb.train(
        {"objective": "reg:quantileerror", "quantile_alpha": 0.5},
        xgb.DMatrix(np.random.rand(20, 3), label=np.random.rand(20)),
        num_boost_round=2,
    )
    booster.save_model(str(tmp_path / "model.json"))
    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path, {})
    assert str(raised.value) == (
        LOAD_FAILED + "RuntimeError: Model /opt/ml/model/model.json cannot be loaded by xgboost "
        "1.7: Unknown objective function: `reg:quantileerror`\n"
        "The 1.7-1 image runs xgboost 1.7: train the model with what xgboost 1.7 has "
        "(objective, single-target trees), or serve it with an image of a newer xgboost."
    )


def test_a_legacy_binary_model_unreadable_here_says_which_xgboost_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "xgboost-model").write_bytes(b"binf" + b"\x00" * 12)  # unreadable by any version
    monkeypatch.setattr(xgb, "__version__", "3.1.0")
    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path, {})
    assert str(raised.value).endswith(
        "\nxgboost-model is in xgboost's legacy binary format, which xgboost 1.x writes for a "
        "file without extension (the container's own training does), and xgboost 3.1.0 can no "
        "longer read (removed in 3.1). Install an xgboost that reads it: pip install "
        '"pytest-smendpoint[xgboost]" (xgboost>=1.7,<3.1).'
    )


def test_without_xgboost_the_model_cannot_start_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(ModelLoadError) as raised:
        load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    assert str(raised.value) == (
        "Serving a sagemaker-xgboost model locally needs the xgboost package, which is not "
        'installed: pip install "pytest-smendpoint[xgboost]"'
    )


def test_xgboosts_own_errors_are_worded_by_the_installed_xgboost(tmp_path: Path) -> None:
    """Deliberate difference: an error raised inside xgboost (more columns than a saved Booster
    has, `inf` in the data) keeps the image's status and prefix, but its text is the installed
    xgboost's (the image's says `../src/learner.cc:1510` and prints its own stack)."""
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), {})
    with pytest.raises(InvocationError) as raised:
        model.invoke(b"0.1,0.2,0.3,0.4", "text/csv", None)
    assert raised.value.status == 400
    assert raised.value.message.startswith("Unable to evaluate payload provided: [")
    assert (
        "Check failed: learner_model_param_.num_feature >= p_fmat->Info().num_col_ (3 vs. 4) : "
        "Number of columns does not match number of features in booster." in raised.value.message
    )
    with pytest.raises(InvocationError) as raised:
        model.invoke(b"1.5e400,1,2", "text/csv", None)
    assert raised.value.status == 415
    assert raised.value.message.startswith(CSV_FAILED + "<class 'xgboost.core.XGBoostError'>\n [")


def test_keys_an_objective_cannot_give_follow_in_the_order_asked(tmp_path: Path) -> None:
    """Deliberate difference: the container adds them from a set, so their order in a JSON row
    changes from process to process; here it is the order of SAGEMAKER_INFERENCE_OUTPUT."""
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "zeta,probability,alpha,predicted_score"}
    model = load(model_dir(tmp_path, "xgb174_binary_logistic.json"), env)
    body, _ = model.invoke(b"0.1,0.2,0.3", "text/csv", "application/json")
    assert body == (
        b'{"predictions": [{"probability": 0.14542131125926971, "zeta": NaN, "alpha": NaN, '
        b'"predicted_score": NaN}]}'
    )
