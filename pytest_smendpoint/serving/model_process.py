"""The model's own processes, as a container's model-server workers: SAGEMAKER_MODEL_SERVER_WORKERS
of them (default 1), each loading the model and answering one request at a time over its pipes
(see frames.py for why pipes). Calls from many threads queue for a free worker."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving import forking
from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError
from pytest_smendpoint.serving.forking import ForkedProcess
from pytest_smendpoint.serving.frames import PipeClosed, read_frame, write_frame
from pytest_smendpoint.serving.invocation import InvokeRequest, InvokeResult
from pytest_smendpoint.settings.limits import INVOCATION_TIMEOUT_SECONDS

logger = logging.getLogger("pytest_smendpoint.serving")

WORKERS_VARIABLE = "SAGEMAKER_MODEL_SERVER_WORKERS"
# SageMaker gives a container 60 s to answer an invocation.
INVOKE_TIMEOUT = INVOCATION_TIMEOUT_SECONDS
STOP_GRACE = 5.0
LOG_TAIL_LINES = 20
# What the model process inherits from the test process: what finding programs, files and
# native libraries needs, and the locale. Nothing else (no AWS_*, no test settings).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "LD_LIBRARY_PATH")
# No real AWS from the model's code: fake credentials, and every client pointed at a closed
# loopback port (the discard port) so a call fails at once instead of leaving the machine.
AWS_ISOLATION = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Launch:
    """Everything one model process needs to start."""

    endpoint_name: str
    worker_module: str
    model_dir: Path
    code_dir: Path | None
    settings: Mapping[str, Any]
    environment: Mapping[str, str]
    cwd: Path
    log_path: Path
    startup_timeout: float
    # False when the model installs its own packages (requirements.txt): the zygote's
    # already-imported libraries would shadow them, so the process starts fresh.
    forkable: bool = True
    # The interpreter of the image's runtime (runtimes/), and what it needs on PYTHONPATH to
    # import the plugin's serving code (the model's own PYTHONPATH already ends with it).
    python: str = sys.executable
    plugin_path: tuple[str, ...] = ()


def worker_count(environment: Mapping[str, str]) -> int:
    """SAGEMAKER_MODEL_SERVER_WORKERS, default 1; the container cannot start with a bad value."""
    raw = environment.get(WORKERS_VARIABLE)
    if raw is None or raw == "":
        return 1
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise ModelLoadError(
            f"{WORKERS_VARIABLE}={raw!r} is not a positive whole number: the model server "
            f"cannot start. To fix: set {WORKERS_VARIABLE} to 1 or more, or leave it unset."
        )
    return count


def readable(fd: int, timeout: float) -> bool:
    """Whether `fd` has data (or EOF) within `timeout` s: poll, not select, which fails for
    descriptors past 1024 (a session with many endpoints has many pipes)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0) * 1000))


def inherited_environment() -> dict[str, str]:
    return {k: os.environ[k] for k in INHERITED if k in os.environ}


def process_environment(
    model_environment: Mapping[str, str],
    image_environment: Mapping[str, str],
    python_path: list[Path],
    region: str,
) -> dict[str, str]:
    """The container's variables: inherited basics, the image's own, the model's Environment
    (which wins, as in SageMaker), and PYTHONPATH for installed requirements and the code."""
    environment = inherited_environment()
    environment.update(AWS_ISOLATION)
    environment.update({"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
    environment.update(image_environment)
    environment.update(model_environment)
    paths = [str(p) for p in python_path]
    if environment.get("PYTHONPATH"):
        paths.append(environment["PYTHONPATH"])
    if paths:
        environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment


class _Worker:
    """One model process and its two pipes: forked from the zygote when that is the same as a
    fresh interpreter for this model (forking.forkable), else started fresh."""

    def __init__(self, launch: Launch, number: int) -> None:
        self.launch = launch
        self.number = number
        self.dead = False
        request_read, self.request_fd = os.pipe()
        self.reply_fd, reply_write = os.pipe()
        try:
            self.process = self._forked(request_read, reply_write) or self._spawned(
                request_read, reply_write
            )
        except OSError as error:
            os.close(self.request_fd)
            os.close(self.reply_fd)
            raise ModelLoadError(f"the model process could not start: {error}") from None
        finally:
            os.close(request_read)
            os.close(reply_write)

    def _forked(self, request_read: int, reply_write: int) -> ForkedProcess | None:
        launch = self.launch
        if not launch.forkable:
            return None
        base = inherited_environment()
        if not forking.forkable(launch.environment, base):
            return None
        zygote = forking.shared_zygote(launch.python, base, launch.plugin_path)
        if zygote is None:
            return None
        log = os.open(launch.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            return zygote.fork(
                launch.environment, str(launch.cwd), (request_read, reply_write, log)
            )
        except (OSError, TimeoutError, ConnectionError, ValueError):
            return None  # the zygote is gone: start this one fresh
        finally:
            os.close(log)

    def _spawned(self, request_read: int, reply_write: int) -> subprocess.Popen[bytes]:
        launch = self.launch
        with launch.log_path.open("ab") as log:
            return subprocess.Popen(
                [
                    launch.python,
                    "-m",
                    "pytest_smendpoint.serving.model_worker",
                    str(request_read),
                    str(reply_write),
                ],
                env=dict(launch.environment),
                cwd=launch.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, reply_write),
                start_new_session=True,  # stop whatever the model's code starts, too
            )

    def send_start(self) -> None:
        launch = self.launch
        header = {
            "worker_module": launch.worker_module,
            "model_dir": str(launch.model_dir),
            "code_dir": str(launch.code_dir) if launch.code_dir else None,
            "settings": dict(launch.settings),
        }
        write_frame(self.request_fd, header)

    def wait_ready(self, deadline: float, stopping: threading.Event) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if stopping.is_set():
                raise ModelLoadError("local serving closed while the model was loading")
            if readable(self.reply_fd, min(remaining, 0.25)):
                return read_frame(self.reply_fd).header

    def call(self, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        write_frame(self.request_fd, header, body)
        if not readable(self.reply_fd, INVOKE_TIMEOUT):
            raise TimeoutError
        frame = read_frame(self.reply_fd)
        return frame.header, frame.body

    def stop(self) -> None:
        """Close its request pipe (the process exits on EOF), then terminate, then kill."""
        for fd in (self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        process = self.process
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_GRACE if not self.dead else 0.5)
        # Then the whole process group: whatever the model's code started goes too.
        for sent in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sent)
            try:
                process.wait(STOP_GRACE)
                break
            except subprocess.TimeoutExpired:
                continue


class ModelProcesses:
    """A ServedModel: the model's worker processes; start() returns once all have loaded it."""

    def __init__(self, launch: Launch, workers: int) -> None:
        self.launch = launch
        self.workers = workers
        self._all: list[_Worker] = []
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        try:
            for number in range(self.workers):
                worker = _Worker(self.launch, number)
                self._all.append(worker)
                worker.send_start()
            deadline = time.monotonic() + self.launch.startup_timeout
            for worker in self._all:
                self._await_ready(worker, deadline)
        except BaseException:
            self.close()
            raise
        for worker in self._all:
            self._idle.put(worker)

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        try:
            answer = worker.wait_ready(deadline, self._stopping)
        except TimeoutError:
            raise ModelLoadError(
                f"the model did not load within {self.launch.startup_timeout:g} s (the "
                "container's start-up health check timeout)" + self.log_tail()
            ) from None
        except (PipeClosed, OSError):
            code = worker.process.wait()
            raise ModelLoadError(
                f"the model process exited{_with_code(code)} while loading" + self.log_tail()
            ) from None
        if not answer.get("ready"):
            error = str(answer.get("error"))
            if answer.get("internal"):
                raise ModelLoadError(f"the model process failed: {error}" + self.log_tail())
            raise ModelLoadError(error)

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        worker = self._idle.get()
        try:
            if worker.dead:
                raise InvocationError(500, "the model process is no longer running")
            header = {
                "content_type": request.content_type,
                "accept": request.accept,
                "custom_attributes": request.custom_attributes,
            }
            try:
                reply, body = worker.call(header, request.body)
            except TimeoutError:
                worker.dead = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.process.pid, signal.SIGKILL)
                raise InvocationError(
                    500, f"the model did not answer within {INVOKE_TIMEOUT:g} s"
                ) from None
            except (PipeClosed, OSError):
                worker.dead = True
                code = worker.process.poll()
                raise InvocationError(
                    500,
                    f"the model process exited{_with_code(code)} during the call" + self.log_tail(),
                ) from None
        finally:
            self._idle.put(worker)
        status = int(reply.get("status", 500))
        if status >= 400:
            log = reply.get("log")
            logger.error(
                "model of endpoint %s answered %s%s",
                self.launch.endpoint_name,
                status,
                f":\n{log}" if log else "",
            )
            raise InvocationError(status, body.decode("utf-8", "replace"))
        return InvokeResult(
            body=body,
            content_type=str(reply.get("content_type") or "application/octet-stream"),
            custom_attributes=reply.get("custom_attributes"),
        )

    def log_tail(self) -> str:
        try:
            text = self.launch.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        lines = text.splitlines()[-LOG_TAIL_LINES:]
        return ("\nlast output:\n" + "\n".join(lines)) if lines else ""

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all]

    def close(self) -> None:
        """Stop every worker; idempotent."""
        self._stopping.set()
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()


def _with_code(code: int | None) -> str:
    """A forked process's exit code is not known here (-1)."""
    return f" with code {code}" if code is not None and code >= 0 else ""
