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


ASYNC_CONFTEST = INNER_CONFTEST.replace(
    """    with open(os.path.join(MARKS, "left.json"), "w") as handle:
        json.dump(left, handle)""",
    """    with open(os.path.join(MARKS, "left.json"), "w") as handle:
        json.dump(left, handle)
    s3 = sm_backend.boto_session.client("s3")
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        keys += ["s3://" + bucket["Name"] + "/" + i["Key"] for i in listed if "/async/" in i["Key"]]
    with open(os.path.join(MARKS, "async.json"), "w") as handle:
        json.dump({"objects": keys, "uploads": list(sm_backend.uploads)}, handle)""",
)
ASYNC_TEST = r"""
import os
import pandas as pd

def test_waiting(sm_invoke):
    with open(os.path.join(os.environ["SM_MARK_DIR"], "testing"), "w"):
        pass
    sm_invoke(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}))
"""
HANGING_SCRIPT = """
import os, threading

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    threading.Event().wait()  # sleep-ok: in the model process, until it is stopped
"""


def test_sigterm_while_an_async_request_waits_ends_it_and_leaves_only_what_teardown_deletes(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """The request stops waiting at once; its input is deleted then, its output and failure
    locations go on the session's uploads (deleted after the endpoint), the endpoint is deleted."""
    from helpers.models import build_sklearn_model

    model_dir = build_sklearn_model(tmp_path / "hanging", inference_script=HANGING_SCRIPT)
    pytester.makeconftest(ASYNC_CONFTEST)
    pytester.makepyfile(test_inner=ASYNC_TEST)
    marks = pytester.path / "marks"
    marks.mkdir()
    env = {**os.environ, "SM_MARK_DIR": str(marks), "SM_STALL": "0"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s",
            f"--sm-model-data={model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS,
            "--sm-async", "--sm-async-invocation-timeout=600",
        ],
        cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for(marks / "testing", process)
        time.sleep(1.0)  # sleep-ok: the request is sent and waiting (the model never answers)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "teardown deleted" in output
    assert left_behind(marks) == [], output
    left = json.loads((marks / "async.json").read_text())
    assert not any(uri.endswith(".csv") for uri in left["objects"]), left  # the input went
    assert set(left["objects"]) <= set(left["uploads"]), left
    # The request was in flight: its locations wait for the session's end, to be deleted.
    assert any(uri.endswith("-error.out") for uri in left["uploads"]), left
