"""Serving faults under pytest -n 2, where the controller's shared moto server loads and serves
the models: a crashed worker is replaced while the session serves on, and a stop signal while a
model loads ends the run within seconds, its model processes with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS
from helpers.faultkit import wait_for

pytestmark = pytest.mark.slow  # pytest -n 2 in subprocesses, real signals
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
PROMPT = 20.0  # xdist's own shutdown takes a few seconds of it

CRASHING_ONCE = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    mark = os.path.join(os.environ["SM_MARK_DIR"], "crashed")
    if not os.path.exists(mark):
        open(mark, "w").close()
        os._exit(1)  # the first request kills its worker
    return model.predict(data)
"""
CALLS = """
import boto3, pytest
from botocore.exceptions import ClientError

BODY = "5.1,3.5,1.4,0.2\\n6.2,2.9,4.3,1.3\\n"

def test_first_call_meets_the_crash(sm_endpoint):
    runtime = boto3.client("sagemaker-runtime")
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=sm_endpoint.name, ContentType="text/csv", Body=BODY)
    assert "exited with code 1" in str(raised.value)
    answer = runtime.invoke_endpoint(EndpointName=sm_endpoint.name, ContentType="text/csv",
                                     Body=BODY)["Body"].read()
    assert len(answer.split()) == 2
"""
BLOCKING_MODEL_FN = """\
import os, time

def model_fn(model_dir):
    path = os.path.join(os.environ["SM_MARK_DIR"], "loading")
    with open(path + ".part", "w") as handle:  # whole before it exists: the pid is read at once
        handle.write(str(os.getpid()))
    os.replace(path + ".part", path)
    time.sleep(600)  # sleep-ok: a model_fn that blocks
"""


def run(pytester: pytest.Pytester, model: Path, marks: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider",
            f"--sm-model-data={model}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS,
            f"--sm-env=SM_MARK_DIR={marks}",
        ],
        cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def model_copy(pytester: pytest.Pytester, source: Path, script: str) -> tuple[Path, Path]:
    model = pytester.path / "model"
    shutil.copytree(source, model)
    (model / "code" / "inference.py").write_text(script)
    marks = pytester.path / "marks"
    marks.mkdir()
    return model, marks


def test_a_crashed_worker_is_replaced_and_the_session_serves_on(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    model, marks = model_copy(pytester, sklearn_model_dir, CRASHING_ONCE)
    pytester.makepyfile(test_calls=CALLS)
    process = run(pytester, model, marks)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    assert "1 passed" in output


def test_sigterm_while_the_shared_server_loads_stops_the_run_and_the_model(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    model, marks = model_copy(pytester, sklearn_model_dir, BLOCKING_MODEL_FN)
    pytester.makepyfile(test_inner="def test_served(sm_endpoint):\n    pass\n")
    process = run(pytester, model, marks)
    wait_for((marks / "loading").exists, process, 180)
    time.sleep(0.2)  # sleep-ok: the pid is written
    model_pid = int((marks / "loading").read_text())
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    took = time.monotonic() - sent
    assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert took < PROMPT, f"exited {took:.1f} s after the signal\n{output[-3000:]}"
    gone = time.monotonic() + 5
    while _running(model_pid) and time.monotonic() < gone:
        time.sleep(0.05)  # sleep-ok: the model process dies with its watched parent
    assert not _running(model_pid), "the loading model process outlived the run"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False
