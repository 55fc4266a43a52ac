"""Models are served by their image's own Python and packages (a cached virtual environment per
image version), so a model that would not load or run on SageMaker does not pass here either,
and every report says what served it.

The first test of each image version installs its runtime (about 30 s, once per machine)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sklearn
from helpers.container_setup import SKLEARN_ENV_ARGS
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.serving.runtimes import interpreters

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
IMAGE_1_2 = f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3"
IMAGE_1_9 = f"{ECR}/sagemaker-scikit-learn:1.9-0-cpu-py3"
NUMPY_2 = np.__version__.startswith("2.")
# What the model process reports about itself (predict_fn's answer, as JSON).
INTROSPECTING_SCRIPT = """
import json, os, pickle, sys

def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as handle:
        return pickle.load(handle)

def predict_fn(data, model):
    import numpy, sklearn
    try:
        import moto  # the test environment's: must not be visible to the model
        moto_visible = True
    except ImportError:
        moto_visible = False
    return {
        "python": "%d.%d" % sys.version_info[:2],
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "moto_visible": moto_visible,
        "predictions": model.predict(data).tolist(),
    }

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


def pickled_model(folder: Path, script: str = INTROSPECTING_SCRIPT) -> Path:
    """A LogisticRegression pickled by this environment (pickle, not joblib: its arrays then
    name numpy's modules, numpy._core under numpy 2), with an entry script."""
    features = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    (folder / "code").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(pickle.dumps(model, protocol=4))
    (folder / "code" / "inference.py").write_text(script)
    return folder


INVOKING_TEST = """
import json, boto3

def test_answer(sm_endpoint):
    runtime = boto3.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName=sm_endpoint.name, ContentType="text/csv",
                                     Body="0.5,0.5\\n2.5,2.5\\n")["Body"].read()
    with open("answer.json", "wb") as handle:
        handle.write(answer)
"""


def has_python(minor: str) -> bool:
    return interpreters.find(minor) is not None


@pytest.mark.slow
def test_the_model_runs_in_the_images_python_with_its_packages_only(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    if not has_python("3.12"):
        pytest.fail("these tests need Python 3.12 here (pyenv install 3.12): the 1.9-0 image's")
    model = pickled_model(tmp_path / "model")
    pytester.makepyfile(INVOKING_TEST)
    result = pytester.runpytest(
        f"--sm-model-data={model}",
        f"--sm-image-uri={IMAGE_1_9}",
        *SKLEARN_ENV_ARGS,
        "--sm-report=report.json",
    )
    result.assert_outcomes(passed=1)
    answer = json.loads((pytester.path / "answer.json").read_text())
    assert answer == {
        "python": "3.12",
        "numpy": "2.5.1",
        "sklearn": "1.9.0",
        "moto_visible": False,
        "predictions": [0, 1],
    }
    result.stdout.fnmatch_lines(
        [
            "  served by: image sagemaker-scikit-learn:1.9-0: Python 3.12.*, scikit-learn 1.9.0, "
            "numpy 2.5.1, scipy 1.18.0, pandas 2.2.3"
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["image_packages"] == "image"
    assert report["endpoints"][0]["serving_runtime"].startswith(
        "image sagemaker-scikit-learn:1.9-0: Python 3.12."
    )
    assert audit().empty


@pytest.mark.slow
@pytest.mark.skipif(not NUMPY_2, reason="the model must be pickled by numpy 2")
def test_a_numpy_2_pickle_fails_on_the_1_2_1_image_as_on_sagemaker_with_the_fix(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model = pickled_model(tmp_path / "model")
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={IMAGE_1_2}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*DeployError: endpoint 'pytest-sm-*' ended Failed: Local serving could not load the "
            "model: The primary container for production variant AllTraffic did not pass the "
            "ping health check. * /ping answers 500: model_fn raised ModuleNotFoundError: No "
            "module named 'numpy._core'",
            f"* model.pkl was written with scikit-learn {sklearn.__version__} / numpy 2 (it "
            "refers to numpy._core); the sagemaker-scikit-learn:1.2-1 image has scikit-learn "
            "1.2.1 / numpy 1.24.1. To fix: *train with the image's packages (scikit-learn 1.2.1, "
            "numpy 1.24.1, scipy 1.8.0, pandas 1.1.3, pyarrow 14.0.1).",
        ]
    )
    assert audit().empty


@pytest.mark.slow
def test_syntax_of_a_newer_python_fails_on_the_images_python(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    """`str | None` in a signature: fine on the test environment's Python, a TypeError at import
    on the 1.2-1 image's Python 3.9."""
    script = "def model_fn(model_dir: str | None = None):\n    return None\n"
    model = tmp_path / "model"
    (model / "code").mkdir(parents=True)
    (model / "code" / "inference.py").write_text(script)
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={IMAGE_1_2}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ended Failed: *The entry script failed to import (ImportModuleError): TypeError: "
            "unsupported operand type(s) for |: 'type' and 'NoneType'*"
        ]
    )
    served = pytester.runpytest(
        f"--sm-model-data={model}",
        f"--sm-image-uri={IMAGE_1_2}",
        *SKLEARN_ENV_ARGS,
        "--sm-image-packages=test-env",
    )
    served.assert_outcomes(passed=1)
    assert audit().empty


def test_an_unknown_image_version_fails_the_endpoint_listing_the_known_ones(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model = pickled_model(tmp_path / "model")
    image = f"{ECR}/sagemaker-scikit-learn:2.0-1-cpu-py3"
    pytester.makepyfile("def test_one(sm_endpoint): pass")
    result = pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={image}", *SKLEARN_ENV_ARGS
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*ended Failed: Local serving could not load the model of production variant "
            f"AllTraffic: Image {image}: sagemaker-scikit-learn with tag 2.0-1-cpu-py3 is not an "
            "image version pytest-smendpoint knows the Python and packages of*Known versions: "
            "1.2-1, 1.4-2-py312, 1.9-0*"
        ]
    )
    assert audit().empty


def test_the_escape_hatch_marks_every_report(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    model = pickled_model(tmp_path / "model")
    pytester.makepyfile(INVOKING_TEST)
    result = pytester.runpytest(
        f"--sm-model-data={model}",
        f"--sm-image-uri={IMAGE_1_2}",
        *SKLEARN_ENV_ARGS,
        "--sm-image-packages=test-env",
        "--sm-report=report.json",
        "--sm-summary-md=summary.md",
        "--sm-report-html=report.html",
    )
    result.assert_outcomes(passed=1)
    warning = (
        "NOT the image's packages: models were served with the test environment's Python and "
        "packages (--sm-image-packages=test-env); a model that passes here may fail on SageMaker"
    )
    result.stdout.fnmatch_lines([warning, "  served by: the test environment's Python *"])
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["image_packages"] == "test-env"
    assert report["endpoints"][0]["serving_runtime"].endswith(
        "(--sm-image-packages=test-env): NOT the image's packages"
    )
    assert warning in (pytester.path / "summary.md").read_text().splitlines()[0]
    assert warning.replace("'", "&#x27;") in (pytester.path / "report.html").read_text()
    answer = json.loads((pytester.path / "answer.json").read_text())
    assert (answer["sklearn"], answer["moto_visible"]) == (sklearn.__version__, True)
    assert audit().empty


def test_an_image_python_that_is_not_an_executable_is_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_one(): pass")
    nope = tmp_path / "nope"
    result = pytester.runpytest(f"--sm-image-python=3.9={nope}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --sm-image-python=3.9={nope}*: {nope} is not an executable*"]
    )
    bad = pytester.runpytest("--sm-image-python=python3.9")
    bad.stderr.fnmatch_lines(
        [
            "ERROR: --sm-image-python=python3.9 (command line): 'python3.9' is not X.Y=PATH "
            "(for example 3.9=/usr/bin/python3.9)"
        ]
    )
    choice = pytester.runpytest("--sm-image-packages=mine")
    choice.stderr.fnmatch_lines(
        ["ERROR: --sm-image-packages=mine (command line): choose one of image, test-env"]
    )
