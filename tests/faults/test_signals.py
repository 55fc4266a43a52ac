"""Real signals sent to a real pytest process on the moto default: SIGTERM and SIGHUP stop the
session in order (exit 128 + N), a second signal does not cut teardown short, Ctrl-C during the
deploy wait deletes what was created. The inner conftest writes what is left to a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS

pytestmark = pytest.mark.slow  # real signals to pytest subprocesses
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"

INNER_CONFTEST = r'''
import io, json, os, time
import pytest
from botocore.awsrequest import AWSResponse

MARKS = os.environ["SM_MARK_DIR"]
STALL = os.environ.get("SM_STALL") == "1"


def mark(name):
    with open(os.path.join(MARKS, name), "w"):
        pass


class RawBody(io.BytesIO):
    def stream(self, amt=None, decode_content=None):
        yield self.read()


def creating(request, **kwargs):
    """The endpoint stays Creating (moto's is InService at once), as a real deploy does."""
    mark("waiting")
    name = json.loads(request.body)["EndpointName"]
    body = {"EndpointName": name, "EndpointConfigName": name, "EndpointStatus": "Creating",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + name,
            "CreationTime": 0, "LastModifiedTime": 0}
    return AWSResponse(request.url, 200, {}, RawBody(json.dumps(body).encode()))


def slow_delete(request, **kwargs):
    mark("deleting")
    time.sleep(1.5)  # sleep-ok: holds teardown open while the test sends a second signal
    return None


@pytest.fixture(scope="session", autouse=True)
def _left_behind(sm_backend):
    events = sm_backend.boto_session.events
    if STALL:
        events.register_first("before-send.sagemaker.DescribeEndpoint", creating)
    events.register_first("before-send.sagemaker.DeleteEndpoint", slow_delete)
    yield
    sm = sm_backend.boto_session.client("sagemaker")
    left = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    left += [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    left += [m["ModelName"] for m in sm.list_models()["Models"]]
    with open(os.path.join(MARKS, "left.json"), "w") as handle:
        json.dump(left, handle)
'''

INNER_TEST = r"""
import os, time

def test_long(sm_endpoint):
    with open(os.path.join(os.environ["SM_MARK_DIR"], "testing"), "w"):
        pass
    time.sleep(20)  # sleep-ok: the outer test signals the process meanwhile
"""


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)  # sleep-ok: polling a file the child writes


@pytest.fixture
def run(pytester: pytest.Pytester, sklearn_model_dir: Path) -> Any:
    """Start the inner session in its own process; returns (process, marks folder)."""
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    marks = pytester.path / "marks"
    marks.mkdir()
    started: list[subprocess.Popen[str]] = []

    def start(stall: bool, *options: str) -> tuple[subprocess.Popen[str], Path]:
        env = {**os.environ, "SM_MARK_DIR": str(marks), "SM_STALL": "1" if stall else "0"}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-s",
                f"--sm-model-data={sklearn_model_dir}",
                f"--sm-image-uri={IMAGE}",
                *SKLEARN_ENV_ARGS,
                *options,
            ],
            cwd=pytester.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process, marks

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def left_behind(marks: Path) -> list[str]:
    left: list[str] = json.loads((marks / "left.json").read_text())
    return left


def test_sigterm_during_the_wait_tears_down_and_a_second_one_does_not_abort_it(run: Any) -> None:
    process, marks = run(stall=True)
    wait_for(marks / "waiting", process)
    process.send_signal(signal.SIGTERM)
    wait_for(marks / "deleting", process)
    process.send_signal(signal.SIGTERM)  # during teardown: recorded, not obeyed
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "SIGTERM received: pytest-smendpoint stops the session" in output
    assert left_behind(marks) == [], output


def test_ctrl_c_during_the_wait_deletes_what_was_created(run: Any) -> None:
    process, marks = run(stall=True)
    wait_for(marks / "waiting", process)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert left_behind(marks) == [], output


def test_sighup_during_the_tests_stops_with_exit_code_129(run: Any) -> None:
    process, marks = run(stall=False)
    wait_for(marks / "testing", process)
    process.send_signal(signal.SIGHUP)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGHUP, output
    assert "teardown deleted" in output
    assert left_behind(marks) == [], output


def test_sigterm_during_the_tests_of_a_serverless_session_deletes_its_endpoint(run: Any) -> None:
    process, marks = run(False, "--sm-serverless-memory-mb=2048")
    wait_for(marks / "testing", process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "endpoint: serverless 2048 MB, max concurrency 5" in output
    assert "teardown deleted" in output
    assert left_behind(marks) == [], output
