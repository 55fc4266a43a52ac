"""A fork server for model processes: `python -m pytest_smendpoint.serving.zygote CONTROL_FD`.

Starting a model process means importing numpy and scikit-learn again (over a second each); a
zygote imports what the registered profiles declare as their PRELOAD once, then forks a model
process per request in a few milliseconds. The forked process gets the container's environment,
working directory and PYTHONPATH as a fresh interpreter would (see `_become`),
then runs model_worker.

Only for models whose environment and packages match what the zygote preloaded: a model with a
requirements.txt, or with variables numpy, BLAS or Python read at import (OMP_NUM_THREADS...),
is started as a fresh interpreter instead (model_process decides). The zygote exits when the
test process closes the control socket, or dies, or after IDLE_EXIT_SECONDS without work
when none of its model processes runs any more.

It reaps its children itself and reports each one's exit status to the test process
(`{"exited": pid, "status": code}`, a Popen-style code: negative for a signal), which is how a
worker's death by SIGSEGV reaches the user; the forked processes watch the test process, not the
zygote, so a killed zygote leaves them serving."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import socket
import sys
import time
from typing import Any

MAX_FDS = 3
MESSAGE_BYTES = 1 << 20
# A zygote with nothing to do and no model process left goes away (a test process may hold
# several over a session: pytester runs re-import the module that keeps it).
IDLE_EXIT_SECONDS = 30.0
# How often dead children are reaped and reported while no request arrives.
REAP_SECONDS = 0.05


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))
    # What the registered profiles' model processes import, imported once here (each if installed).
    from pytest_smendpoint.serving.profiles import preloads

    for name in preloads():
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    importlib.import_module("pytest_smendpoint.serving.model_worker")
    test_process = os.getppid()  # what the forked processes watch (model_worker)
    control.sendall(b'{"ready": true}\n')
    children: set[int] = set()
    idle_since = time.monotonic()
    while True:
        _report_exits(control, children)
        if not _readable(control, REAP_SECONDS):
            if children:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE_EXIT_SECONDS:
                return 0  # idle, nothing forked still runs: the next model starts a new zygote
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, MAX_FDS)
        except OSError:
            return 0
        if not message:
            return 0  # the test process is gone or done
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            control.close()
            code = 1
            try:
                code = _become(request, fds, test_process)
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        idle_since = time.monotonic()
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _report_exits(control: socket.socket, children: set[int]) -> None:
    """Reap every child that ended and tell the test process how (exit code or signal)."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            control.sendall(json.dumps({"exited": pid, "status": code}).encode() + b"\n")


def _readable(control: socket.socket, timeout: float) -> bool:
    poller = select.poll()
    poller.register(control, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def _become(request: dict[str, Any], fds: list[int], test_process: int) -> int:
    """In the forked process: what `Popen(cwd=..., env=..., start_new_session=True)` of
    `python -m pytest_smendpoint.serving.model_worker` would have set up."""
    request_fd, reply_fd, log_fd = fds
    os.setsid()
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environment"])
    # `-m` puts the working directory first, then PYTHONPATH, then the interpreter's own paths.
    paths = [p for p in request["environment"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:1] = [os.getcwd(), *paths]
    environment = request["environment"]
    sys.dont_write_bytecode = bool(environment.get("PYTHONDONTWRITEBYTECODE"))
    if environment.get("PYTHONUNBUFFERED"):
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    sys.argv = ["model_worker", str(request_fd), str(reply_fd)]
    from pytest_smendpoint.serving import model_worker

    return model_worker.main([str(request_fd), str(reply_fd)], watch=test_process)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
