"""The test process's side of the zygote (zygote.py): start it once, ask it for model processes,
and watch them as if they were our own children (they are the zygote's)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

ZYGOTE_STARTUP_TIMEOUT = 120.0
# Variables a library reads once, at import (thread pools, allocators, hash seeds...): a model
# that sets one must get a fresh interpreter, not the zygote's already-imported libraries.
IMPORT_TIME_PREFIXES = (
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "GOTO_",
    "VECLIB_",
    "KMP_",
    "NUMEXPR_",
    "NPY_",
    "SKLEARN_",
    "JOBLIB_",
    "LD_",
    "MALLOC",
    "PYTHON",
)
# PYTHON* variables the forked process applies itself (zygote._become).
APPLIED = frozenset(
    {"PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING"}
)


def forkable(environment: Mapping[str, str], zygote_environment: Mapping[str, str]) -> bool:
    """Whether a process forked from the zygote is the same as a fresh one for this model."""
    for key, value in environment.items():
        if key in APPLIED or not key.startswith(IMPORT_TIME_PREFIXES):
            continue
        if zygote_environment.get(key) != value:
            return False
    return not any(
        key.startswith(IMPORT_TIME_PREFIXES) and key not in environment
        for key in zygote_environment
    )


class ForkedProcess:
    """What model_process needs of a Popen, for a process the zygote forked: its exit status
    is the zygote's (the kernel reaps it), so only whether it still runs is known."""

    returncode: int | None = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return -1
        except PermissionError:
            return None
        return None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.005)  # sleep-ok: polling another process's exit, not moto
        return code


class Zygote:
    """One zygote process of interpreter `python`, started with `environment`; fork() is
    thread-safe."""

    def __init__(self, environment: Mapping[str, str], python: str = sys.executable) -> None:
        self.environment = dict(environment)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket = ours
        self._lock = threading.Lock()
        try:
            self.process = subprocess.Popen(
                [python, "-m", "pytest_smendpoint.serving.zygote", str(theirs.fileno())],
                env=self.environment,
                cwd="/",  # nothing importable by accident; the containers' working directory too
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._buffer = b""
        self._read_line(ZYGOTE_STARTUP_TIMEOUT)

    def _read_line(self, timeout: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            poller = select.poll()
            poller.register(self._socket, select.POLLIN)
            if not poller.poll(max(remaining, 0) * 1000):
                raise TimeoutError("the zygote did not answer")
            chunk = self._socket.recv(65536)
            if not chunk:
                raise ConnectionError("the zygote exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)  # type: ignore[no-any-return]

    def fork(
        self, environment: Mapping[str, str], cwd: str, fds: tuple[int, int, int]
    ) -> ForkedProcess:
        request = json.dumps({"environment": dict(environment), "cwd": cwd}).encode()
        with self._lock:
            socket.send_fds(self._socket, [request], list(fds))
            answer = self._read_line(30.0)
        return ForkedProcess(int(answer["pid"]))  # type: ignore[call-overload]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


# One zygote per interpreter: the test environment's, and each image runtime's.
_ZYGOTES: dict[str, Zygote] = {}
_ZYGOTE_LOCK = threading.Lock()


def shared_zygote(
    python: str, environment: Mapping[str, str], plugin_path: tuple[str, ...] = ()
) -> Zygote | None:
    """The process-wide zygote of `python` (started on first use), or None if it cannot start.
    `plugin_path` is what that interpreter needs on PYTHONPATH to import this package."""
    with _ZYGOTE_LOCK:
        zygote = _ZYGOTES.get(python)
        if zygote is not None and not zygote.alive:
            zygote = None
        if zygote is None:
            started = dict(environment)
            if plugin_path:
                started["PYTHONPATH"] = os.pathsep.join(plugin_path)
            try:
                zygote = Zygote(started, python)
            except (OSError, TimeoutError, ConnectionError, ValueError):
                return None
            _ZYGOTES[python] = zygote
            atexit.register(zygote.close)  # it would go anyway (EOF); this reaps it
        return zygote
