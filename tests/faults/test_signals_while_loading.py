"""A stop signal while a model loads inside CreateEndpoint (pip installing its requirements,
model_fn blocking, a bring-your-own server not yet answering /ping) ends the session within
seconds, exit 128 + N, with nothing left: not after the load's own bound."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS
from helpers.faultkit import wait_for

pytestmark = pytest.mark.slow  # real signals to pytest subprocesses
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
# Stopped within this many seconds of the signal, whatever was loading (teardown included).
PROMPT = 15.0

INNER_CONFTEST = r"""
import json, os
import pytest

@pytest.fixture(scope="session", autouse=True)
def _left_behind(sm_backend):
    yield
    sm = sm_backend.boto_session.client("sagemaker")
    left = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    left += [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    left += [m["ModelName"] for m in sm.list_models()["Models"]]
    with open(os.path.join(os.environ["SM_MARK_DIR"], "left.json"), "w") as handle:
        json.dump(left, handle)
"""
INNER_TEST = "def test_served(sm_endpoint):\n    pass\n"
BLOCKING_MODEL_FN = """\
import os, time

def model_fn(model_dir):
    open(os.path.join(os.environ["SM_MARK_DIR"], "loading"), "w").close()
    time.sleep(600)  # sleep-ok: a model_fn that blocks
"""
SILENT_SERVER = (
    "{python} -c \"import os, time; open(os.path.join(os.environ['SM_MARK_DIR'], 'loading'), "
    "'w').close(); time.sleep(600)\""  # sleep-ok: a BYO server that never answers
)


@pytest.fixture
def silent_index() -> Iterator[socket.socket]:
    """A package index that accepts connections and never answers: pip hangs on it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def start(pytester: pytest.Pytester, model: Path, *extra: str) -> subprocess.Popen[str]:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    marks = pytester.path / "marks"
    marks.mkdir(exist_ok=True)
    env = {**os.environ, "SM_MARK_DIR": str(marks)}
    return subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s",
            f"--sm-model-data={model}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS,
            f"--sm-env=SM_MARK_DIR={marks}", *extra,
        ],
        cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stopped_promptly(
    process: subprocess.Popen[str], marks: Path, signum: int, code: int | None = None
) -> str:
    """Send `signum`; the run must end with `code` (128 + N unless given) within PROMPT s."""
    process.send_signal(signum)
    sent = time.monotonic()
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    took = time.monotonic() - sent
    assert process.returncode == (128 + signum if code is None else code), output[-3000:]
    assert took < PROMPT, f"exited {took:.1f} s after the signal\n{output[-3000:]}"
    assert json.loads((marks / "left.json").read_text()) == [], output[-3000:]
    return output


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 143), (signal.SIGINT, pytest.ExitCode.INTERRUPTED)],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_while_model_fn_blocks_stops_the_session(
    pytester: pytest.Pytester, sklearn_model_dir: Path, signum: int, code: int
) -> None:
    model = pytester.path / "model"
    shutil.copytree(sklearn_model_dir, model)
    (model / "code" / "inference.py").write_text(BLOCKING_MODEL_FN)
    process = start(pytester, model)
    marks = pytester.path / "marks"
    wait_for((marks / "loading").exists, process)
    stopped_promptly(process, marks, signum, code)


def test_sigterm_while_pip_installs_stops_the_session_and_pip(
    pytester: pytest.Pytester, sklearn_model_dir: Path, silent_index: socket.socket
) -> None:
    model = pytester.path / "model"
    shutil.copytree(sklearn_model_dir, model)
    port = silent_index.getsockname()[1]
    (model / "code" / "requirements.txt").write_text(
        f"--index-url http://127.0.0.1:{port}/simple\nsmendpoint-never-published==1.0\n"
    )
    process = start(pytester, model)
    silent_index.settimeout(120)
    connection, _ = silent_index.accept()  # pip is installing now
    stopped_promptly(process, pytester.path / "marks", signal.SIGTERM)
    connection.settimeout(5)
    while connection.recv(65536):  # pip's request, then EOF: pip is gone (a timeout if not)
        continue


def test_sighup_while_a_byo_server_starts_stops_the_session(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    process = start(pytester, sklearn_model_dir, f"--sm-serve-command={SILENT_SERVER}")
    marks = pytester.path / "marks"
    wait_for((marks / "loading").exists, process)
    stopped_promptly(process, marks, signal.SIGHUP)
