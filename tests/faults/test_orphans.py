"""kill -9 of pytest leaves no serving process behind: a bring-your-own server runs tethered to
the pytest process that started it (issue 12, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.container_setup import SKLEARN_IMAGE

pytestmark = pytest.mark.slow  # a real pytest process, killed

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo" / "serve.py"
# The serve command records its own pid, then runs the example server.
SERVE = (
    "{python} -c \"import os, runpy, sys; open(os.environ['SM_PID_FILE'], 'w').write("
    f"str(os.getpid())); sys.argv = ['serve.py'] + sys.argv[1:]; runpy.run_path(r'{EXAMPLE}', "
    "run_name='__main__')\" --port {port} --model-dir {model_dir}"
)
INNER_TEST = """
import os, time

def test_waits_to_be_killed(sm_endpoint):
    open(os.environ["SM_MARK_FILE"], "w").close()
    time.sleep(120)  # sleep-ok: killed long before this ends
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent has not reaped it yet).
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)  # sleep-ok: polling processes and files, not moto
    return condition()


def test_a_byo_server_dies_with_a_killed_pytest(tmp_path: Path, sklearn_model_dir: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pid_file, mark_file = tmp_path / "serve.pid", tmp_path / "mark"
    environment = {
        **os.environ,
        "SM_PID_FILE": str(pid_file),
        "SM_MARK_FILE": str(mark_file),
        "PYTEST_ADDOPTS": "",
    }
    environment.pop("PYTEST_XDIST_WORKER", None)
    # The serve command sees the container's environment only: pass the pid file through it.
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
        f"--sm-model-data={sklearn_model_dir}", f"--sm-image-uri={SKLEARN_IMAGE}",
        f"--sm-env=SM_PID_FILE={pid_file}", f"--sm-serve-command={SERVE}",
    ]  # fmt: skip
    inner = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert _wait_for(mark_file.exists, 60), "the inner test never started"
        server = int(pid_file.read_text())
        assert _alive(server)
        inner.send_signal(signal.SIGKILL)
        inner.wait(10)
        assert _wait_for(lambda: not _alive(server), 10), "the BYO server outlived pytest"
    finally:
        if inner.poll() is None:
            inner.kill()
