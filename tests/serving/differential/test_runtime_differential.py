"""The scikit-learn profile's decoders and encoders against sagemaker-containers 2.8.6 inside each
scikit-learn image's own runtime (numpy 1.24.1 on Python 3.9 for 1.2-1, numpy 2.5.1 on Python
3.12 for 1.9-0): numpy 1 and 2 differ in repr and dtype rules, and both sides run there.

The reference is pip-installed (without its Flask pin) into a folder beside the runtime, once."""

from __future__ import annotations

import base64
import io
import pickle
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.runtime_side import ask, faithful_runtime
from test_sklearn_differential import ACCEPTS, DECODE_CASES, PREDICTIONS

from pytest_smendpoint.serving.runtimes.install import runtimes_root
from pytest_smendpoint.serving.runtimes.selection import ServingRuntime

HERE = Path(__file__).parent
ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
IMAGES = {
    "1.2-1": f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3",
    "1.9-0": f"{ECR}/sagemaker-scikit-learn:1.9-0-cpu-py3",
}
REFERENCE = ("sagemaker-containers==2.8.6", "six", "protobuf")


def reference_folder(runtime: ServingRuntime) -> Path:
    """sagemaker-containers for the runtime's interpreter, installed once beside the runtime."""
    from filelock import FileLock

    folder = runtimes_root() / f"reference-{Path(runtime.python).parents[1].name}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".complete").is_file():
            done = subprocess.run(
                [runtime.python, "-m", "pip", "install", "--quiet", "--no-deps",
                 "--disable-pip-version-check", "--target", str(folder), *REFERENCE],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            (folder / ".complete").write_text("")
    return folder


def portable(value: Any) -> dict[str, str]:
    if isinstance(value, (np.ndarray, np.generic)):
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        kind = "npy" if isinstance(value, np.ndarray) else "npy-scalar"
        return {"kind": kind, "data": base64.b64encode(buffer.getvalue()).decode()}
    return {"kind": "pickle", "data": base64.b64encode(pickle.dumps(value, protocol=2)).decode()}


def cases() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"op": "decode", "body": base64.b64encode(body).decode(), "content_type": content_type}
        for body, content_type in DECODE_CASES.values()
    ]
    found += [
        {"op": "encode", "accept": accept, **portable(PREDICTIONS[name])}
        for name in PREDICTIONS
        for accept in ACCEPTS
    ]
    return found


CASE_IDS = [f"decode-{name}" for name in DECODE_CASES] + [
    f"encode-{name}-{accept}" for name in PREDICTIONS for accept in ACCEPTS
]


@pytest.fixture(scope="module", params=sorted(IMAGES))
def answers(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    runtime = faithful_runtime(IMAGES[request.param])
    folder = reference_folder(runtime)
    return ask(
        runtime,
        HERE / "runtime_side.py",
        cases(),
        [folder, HERE],
        PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python",
    )


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASE_IDS)), ids=CASE_IDS)
def test_codecs_match_the_container_under_the_images_numpy(
    answers: list[dict[str, Any]], index: int
) -> None:
    assert answers[index]["ours"] == answers[index]["theirs"]
