"""What a model's processes start ends with them (setsid children, double forks, pip and its
build backends, also after kill -9 of pytest); pip sees the container's environment only; and
the instance type's memory bounds the model as the instance's RAM bounds the container."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.localsupport import Deployed, with_model
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving import instance_memory, reaping, requirements, tethered_run

STARTS_CHILDREN = """
import os, subprocess, sys

def output_fn(prediction, accept):
    detached = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],  # sleep-ok: a detached child
        start_new_session=True,
    )
    reader, writer = os.pipe()
    if os.fork() == 0:  # a daemon's double fork: the grandchild is orphaned at once
        os.setsid()
        sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]  # sleep-ok: an orphan
        grandchild = subprocess.Popen(sleeper)
        os.write(writer, str(grandchild.pid).encode())
        os._exit(0)
    os.close(writer)
    orphan = int(os.read(reader, 64))
    return f"{detached.pid} {orphan}"
"""
GREEDY = """
import numpy as np

def predict_fn(data, model):
    if float(data[0][0]) < 0:
        held = np.empty(10 * 2**30, dtype=np.uint8)  # 10 GiB: more than an ml.m5.large has
        held[::4096] = 1
    return model.predict(data)
"""


def gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)  # sleep-ok: waiting for other processes to end, not moto


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def test_setsid_children_and_orphans_end_with_the_endpoint(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, STARTS_CHILDREN))
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=b"1,2,3\n4,5,6\n", ContentType="text/csv"
    )["Body"].read()
    pids = [int(p) for p in answer.split()]
    assert gone_within(pids, 0) == pids  # running while the endpoint is
    sagemaker.delete_endpoint(EndpointName=endpoint.name)
    assert gone_within(pids, 10) == []


def test_a_predict_fn_over_the_instance_memory_fails_as_on_the_instance(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier, GREEDY))  # ml.m5.large: 8 GiB
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        runtime.invoke_endpoint(
            EndpointName=endpoint.name, Body=b"-1,0,0\n-1,0,0\n", ContentType="text/csv"
        )
    message = raised.value.response["OriginalMessage"]
    assert raised.value.response["OriginalStatusCode"] == 500
    assert "the model process was killed by SIGKILL during the call" in message
    assert "out of memory" in message
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=b"1,0,0\n1,0,0\n", ContentType="text/csv"
    )
    assert answer["Body"].read()  # a new worker serves on


def test_instance_memory_is_the_documented_size_and_unknown_types_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert instance_memory.bound("ml.m5.large", "e") == 8 * 2**30
    assert instance_memory.bound("ml.c5.large", "e") == 4 * 2**30
    assert instance_memory.bound("ml.t2.medium", "e") == 4 * 2**30
    with caplog.at_level(logging.WARNING, "pytest_smendpoint.serving"):
        assert instance_memory.bound("ml.x99.huge", "e") is None
    assert "instance type ml.x99.huge is not known here" in caplog.text


@pytest.fixture
def silent_index() -> Iterator[socket.socket]:
    """A package index that accepts connections and never answers: pip hangs on it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def hanging_requirements(folder: Path, server: socket.socket) -> Path:
    path = folder / "requirements.txt"
    path.write_text(
        f"--index-url http://127.0.0.1:{server.getsockname()[1]}/simple\n"
        f"smendpoint-never-published-{time.monotonic_ns()}==1.0\n"
    )
    return path


def pip_processes() -> list[int]:
    return [p for p in reaping.descendants(os.getpid()) if b"pip" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_pip_runs_with_the_containers_environment_and_within_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_index: socket.socket
) -> None:
    monkeypatch.setenv("PYTEST_SMENDPOINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SMENDPOINT_ONLY_IN_PYTEST", "secret")
    server = silent_index
    path = hanging_requirements(tmp_path, server)
    failure: list[BaseException] = []

    def install() -> None:
        try:
            requirements.install(
                path, "/opt/ml/model/code/requirements.txt", sys.executable,
                {"PATH": os.environ["PATH"], "MODEL_SETTING": "blue"},
                deadline=time.monotonic() + 3,
            )  # fmt: skip
        except BaseException as error:
            failure.append(error)

    started = time.monotonic()
    thread = threading.Thread(target=install)
    thread.start()
    server.settimeout(60)
    connection, _ = server.accept()
    [pip, *_] = [p for p in pip_processes() if b"install" in _cmdline(p)]
    environment = Path(f"/proc/{pip}/environ").read_bytes().split(b"\0")
    assert b"MODEL_SETTING=blue" in environment
    assert not [v for v in environment if v.startswith(b"SMENDPOINT_ONLY_IN_PYTEST")]
    assert os.getpgid(pip) != os.getpgid(0)  # a group of its own: killed whole
    thread.join(30)
    assert time.monotonic() - started < 10
    assert "did not finish within the container's start-up health check timeout" in str(failure[0])
    assert gone_within([pip], 5) == []
    connection.close()


KILLED_DURING_INSTALL = """
import sys, time
from pathlib import Path
from pytest_smendpoint.serving import requirements
requirements.install(Path(sys.argv[1]), "requirements.txt", sys.executable, {})
"""


def test_pip_ends_within_a_second_or_so_of_a_kill_9_of_pytest(
    tmp_path: Path, silent_index: socket.socket
) -> None:
    server = silent_index
    path = hanging_requirements(tmp_path, server)
    env = {**os.environ, "PYTEST_SMENDPOINT_CACHE": str(tmp_path / "cache")}
    session = subprocess.Popen([sys.executable, "-c", KILLED_DURING_INSTALL, str(path)], env=env)
    try:
        server.settimeout(60)
        connection, _ = server.accept()  # pip is installing
        session.send_signal(signal.SIGKILL)
        session.wait(5)
        connection.settimeout(4)
        while connection.recv(65536):  # pip's request, then EOF when pip is gone
            continue
    finally:
        if session.poll() is None:
            session.kill()


def test_a_tethered_run_is_bounded_and_kills_its_group(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(tethered_run.DeadlineExceeded):
        tethered_run.run(
            ["sh", "-c", "sleep 600 & sleep 600"], cwd=tmp_path,
            environment={"PATH": os.environ["PATH"]}, deadline=time.monotonic() + 0.5,
        )  # fmt: skip
    assert time.monotonic() - started < 5
    assert [p for p in reaping.descendants(os.getpid()) if b"sleep" in _cmdline(p)] == []
