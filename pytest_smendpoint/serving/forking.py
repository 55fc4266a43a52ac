"""The test process's side of the zygote (zygote.py): start it once, ask it for model processes,
and watch them as if they were our own children (they are the zygote's, which reports each one's
exit status: a reader thread keeps them)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

ZYGOTE_STARTUP_TIMEOUT = 120.0
# The exit code of a forked process whose zygote is gone: it ended, nobody knows how (not -1,
# which would read as SIGHUP).
EXIT_UNKNOWN = -1000
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
    """What model_process needs of a Popen, for a process the zygote forked: its exit status is
    the zygote's report; with the zygote gone (the process is then init's), only whether it
    still runs is known (EXIT_UNKNOWN)."""

    def __init__(self, pid: int, zygote: Zygote) -> None:
        self.pid = pid
        self.zygote = zygote
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        reported = self.zygote.exit_status(self.pid)
        if reported is not None:
            self.returncode = reported
            return reported
        if self.zygote.alive:
            return None  # a zombie until the zygote reaps it: wait for its report
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self.returncode = EXIT_UNKNOWN
            return EXIT_UNKNOWN
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
    thread-safe. A reader thread takes its answers: fork replies, and children's exit statuses."""

    def __init__(self, environment: Mapping[str, str], python: str = sys.executable) -> None:
        self.environment = dict(environment)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket = ours
        self._lock = threading.Lock()
        self._replies: queue.SimpleQueue[dict[str, object] | None] = queue.SimpleQueue()
        self._exits: dict[int, int] = {}
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
        threading.Thread(target=self._read, name="smendpoint-zygote", daemon=True).start()
        self._reply(ZYGOTE_STARTUP_TIMEOUT)

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self._socket.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self._replies.put(None)
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                message = json.loads(line)
                if "exited" in message:
                    self._exits[int(message["exited"])] = int(message["status"])
                else:
                    self._replies.put(message)

    def _reply(self, timeout: float) -> dict[str, object]:
        try:
            message = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the zygote did not answer") from None
        if message is None:
            self._replies.put(None)  # every later reader learns it too
            raise ConnectionError("the zygote exited")
        return message

    def exit_status(self, pid: int) -> int | None:
        """The Popen-style exit code the zygote reported for `pid`, if it has."""
        return self._exits.get(pid)

    def fork(
        self, environment: Mapping[str, str], cwd: str, fds: tuple[int, int, int]
    ) -> ForkedProcess:
        request = json.dumps({"environment": dict(environment), "cwd": cwd}).encode()
        with self._lock:
            socket.send_fds(self._socket, [request], list(fds))
            answer = self._reply(30.0)
        return ForkedProcess(int(answer["pid"]), self)  # type: ignore[call-overload]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
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
                # The plugin is imported through a link to its installed folder: its bytecode
                # for the image's Python goes beside the link, not into that site-packages.
                started["PYTHONPYCACHEPREFIX"] = plugin_path[0] + "-pycache"
            try:
                zygote = Zygote(started, python)
            except (OSError, TimeoutError, ConnectionError, ValueError):
                return None
            _ZYGOTES[python] = zygote
            atexit.register(zygote.close)  # it would go anyway (EOF); this reaps it
        return zygote
