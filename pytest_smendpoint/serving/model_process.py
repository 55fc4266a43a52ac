"""The model's own processes, as a container's model-server workers: SAGEMAKER_MODEL_SERVER_WORKERS
of them (default: one per vCPU of the instance, up to this machine's cores; instance_cpus.py),
each loading the model and answering one request at a time over its pipes (see frames.py for
why pipes). Calls from many threads queue for a free worker.

Supervised as gunicorn supervises the container's workers: one that dies (an exit, a signal, or
killed at the 60 s bound) is replaced by a new one that loads the model again; the request it
held gets a 500 saying how it died. A replacement that cannot load stops the model server, and
every later call fails with that reason. The 60 s bound counts from the request's arrival, as
SageMaker's does: time queued for a free worker counts."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving import forking, frames, interrupt, reaping
from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError
from pytest_smendpoint.serving.forking import EXIT_UNKNOWN, ForkedProcess
from pytest_smendpoint.serving.frames import PipeClosed, read_frame, write_frame
from pytest_smendpoint.serving.invocation import INVOCATIONS_PATH, InvokeRequest, InvokeResult
from pytest_smendpoint.settings.limits import INVOCATION_TIMEOUT_SECONDS

logger = logging.getLogger("pytest_smendpoint.serving")

WORKERS_VARIABLE = "SAGEMAKER_MODEL_SERVER_WORKERS"
# SageMaker gives a container 60 s to answer an invocation.
INVOKE_TIMEOUT = INVOCATION_TIMEOUT_SECONDS
STOP_GRACE = 5.0
LOG_TAIL_LINES = 20
# How long a dead worker's exit status is waited for (a forked one's comes from the zygote).
EXIT_STATUS_WAIT = 2.0
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
    # The instance type's memory in bytes (instance_memory.py), None when unknown.
    memory_limit: int | None = None
    # Whose memory that is, for the out-of-memory line ("the instance (ml.m5.large) has ...").
    memory_text: str = ""
    # When the container started (time.monotonic()): the start-up bound counts from there, so
    # a requirements install before the processes start counts too. None: from start().
    started: float | None = None


def worker_count(environment: Mapping[str, str], default: int = 1) -> int:
    """SAGEMAKER_MODEL_SERVER_WORKERS, else `default` (instance_cpus.default_workers); the
    container cannot start with a bad value."""
    raw = environment.get(WORKERS_VARIABLE)
    if raw is None or raw == "":
        return default
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
        # The request pipe carries the bodies (a reply is a fraction of its request's size).
        self.widened = frames.widen(self.request_fd)
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
            "memory_limit": launch.memory_limit,
            "memory_text": launch.memory_text,
        }
        write_frame(self.request_fd, header)

    def wait_ready(self, deadline: float, stopping: threading.Event) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if stopping.is_set():
                raise ModelLoadError("local serving closed while the model was loading")
            interrupt.check()
            if readable(self.reply_fd, min(remaining, interrupt.POLL_SECONDS)):
                return read_frame(self.reply_fd).header

    def call(
        self, header: dict[str, Any], body: bytes, deadline: float
    ) -> tuple[dict[str, Any], bytes]:
        write_frame(self.request_fd, header, body)
        if not readable(self.reply_fd, deadline - time.monotonic()):
            raise TimeoutError
        frame = read_frame(self.reply_fd)
        return frame.header, frame.body

    def kill(self) -> None:
        """SIGKILL it, its group and everything below it (setsid children too)."""
        below = reaping.descendants(self.process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        reaping.kill_all(below)

    def stop(self) -> None:
        """Close its request pipe (the process exits on EOF), then terminate, then kill."""
        for fd in (self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.widened:
            self.widened = False
            frames.narrowed()
        process = self.process
        below = reaping.descendants(process.pid)  # it kills them itself when it can
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_GRACE if not self.dead else 0.5)
        reaping.kill_all(below)
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
    """A ServedModel: the model's worker processes; start() returns once `at_start` of them (all,
    unless fewer are asked) have loaded it. The rest start when a request finds every started
    worker busy, one at a time, in the background (the request takes whichever is free first):
    a default of one worker per vCPU then costs a deploy no more than one worker does, and a
    test that never sends two requests at once never pays for the second."""

    def __init__(self, launch: Launch, workers: int, at_start: int | None = None) -> None:
        self.launch = launch
        self.workers = workers
        self.at_start = workers if at_start is None else max(1, min(at_start, workers))
        self._starting = 0  # workers being started in the background (added or replacing)
        self._threads: list[threading.Thread] = []  # those starting them
        self._all: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._ready = threading.Condition()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # Why the model server stopped (a replacement worker could not load), once it has.
        self._broken: str | None = None
        # Whether the loaded model reads CSV numbers as float32 (every worker said so).
        self.csv_float32 = False

    def start(self) -> None:
        try:
            for number in range(self.at_start):
                worker = _Worker(self.launch, number)
                self._all.append(worker)
                worker.send_start()
            began = self.launch.started if self.launch.started is not None else time.monotonic()
            deadline = began + self.launch.startup_timeout
            said = [self._await_ready(worker, deadline) for worker in self._all]
            self.csv_float32 = bool(said) and all(said)
        except BaseException:
            self.close()
            raise
        with self._ready:
            self._idle.extend(self._all)

    def _await_ready(self, worker: _Worker, deadline: float) -> bool:
        """Wait for the worker's model; whether it reads CSV numbers as float32."""
        try:
            answer = worker.wait_ready(deadline, self._stopping)
        except TimeoutError:
            raise ModelLoadError(
                f"the model did not load within {self.launch.startup_timeout:g} s (the "
                "container's start-up health check timeout)" + self.log_tail()
            ) from None
        except (PipeClosed, OSError):
            code = _exit_status(worker)
            raise ModelLoadError(
                f"the model process {how_it_ended(code)} while loading" + self.log_tail()
            ) from None
        if not answer.get("ready"):
            error = str(answer.get("error"))
            if answer.get("internal"):
                raise ModelLoadError(f"the model process failed: {error}" + self.log_tail())
            raise ModelLoadError(error)
        return answer.get("csv_float32") is True

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        arrived = time.monotonic()
        limit = INVOKE_TIMEOUT if request.timeout is None else request.timeout
        deadline = arrived + limit  # SageMaker's bound counts from arrival
        worker = self._take(arrived, deadline, limit)
        taken = time.monotonic()
        header = {
            "content_type": request.content_type,
            "accept": request.accept,
            "custom_attributes": request.custom_attributes,
            "path": request.path,
        }
        try:
            reply, body = worker.call(header, request.body, deadline)
        except TimeoutError:
            worker.kill()
            self._replace(worker, f"was stopped at the {limit:g} s invocation limit")
            raise InvocationError(
                500,
                f"the model did not answer within {limit:g} s" + _queued(taken - arrived),
            ) from None
        except (PipeClosed, OSError):
            how = how_it_ended(_exit_status(worker))
            tail = self.log_tail()
            self._replace(worker, how)
            raise InvocationError(500, f"the model process {how} during the call" + tail) from None
        with self._ready:
            self._idle.append(worker)
            self._ready.notify()
        status = int(reply.get("status", 500))
        if status >= 400:
            log = reply.get("log")
            if request.path == INVOCATIONS_PATH:  # a transform agent's probe's 404 is no news
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

    def _take(self, arrived: float, deadline: float, limit: float = INVOKE_TIMEOUT) -> _Worker:
        """A free worker, waiting in line until `deadline` at most."""
        with self._ready:
            while True:
                if self._broken is not None:
                    raise InvocationError(500, self._broken)
                if self._stopping.is_set():
                    raise InvocationError(500, "the model server is shutting down")
                if self._idle:
                    return self._idle.popleft()
                if len(self._all) + self._starting < self.workers:
                    self._grow()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InvocationError(
                        500,
                        f"the model did not answer within {limit:g} s: the request "
                        "waited that long for a free model process (SageMaker counts the "
                        "limit from the request's arrival)",
                    )
                self._ready.wait(remaining)

    def _replace(self, dead: _Worker, how: str) -> None:
        """Say how `dead` ended, then start a new worker in its place (in the background, as
        gunicorn's arbiter does; requests queue meanwhile)."""
        dead.dead = True
        logger.error(
            "model process %s of endpoint %s %s; starting a new one%s",
            dead.number,
            self.launch.endpoint_name,
            how,
            self.log_tail(),
        )
        with self._ready:
            self._starting += 1  # first: a waiting request never sees a free place meanwhile
        with self._lock:
            if dead in self._all:
                self._all.remove(dead)
        self._background(self._restart, (dead, how), "smendpoint-restart")

    def _grow(self) -> None:
        """One more worker, started in the background (called with `_ready` held)."""
        number = len(self._all) + self._starting
        self._starting += 1
        self._background(self._add, (number,), "smendpoint-grow")

    def _background(self, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        """A worker started on a thread of its own, which close() waits for."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _add(self, number: int) -> None:
        try:
            self._start_worker(
                number,
                lambda why: self._fail_reason(
                    f"the model server stopped: model process {number} could not load the "
                    f"model: {why}"
                ),
            )
        finally:
            with self._ready:
                self._starting -= 1

    def _restart(self, dead: _Worker, how: str) -> None:
        try:
            dead.stop()
            if self._stopping.is_set():
                return
            self._start_worker(dead.number, lambda why: self._fail(dead, how, why))
        finally:
            with self._ready:
                self._starting -= 1

    def _start_worker(self, number: int, failed: Callable[[str], None]) -> None:
        """A new worker loads the model and joins the idle ones; `failed(why)` if it cannot."""
        try:
            worker = _Worker(self.launch, number)
        except ModelLoadError as error:
            failed(str(error))
            return
        try:
            worker.send_start()
            self._await_ready(worker, time.monotonic() + self.launch.startup_timeout)
        except (ModelLoadError, PipeClosed, OSError) as error:
            # PipeClosed: the new process died before it read its start frame (or the serving
            # closed meanwhile, which stopped it): a failed start either way, never a crash
            # of this thread.
            worker.dead = True
            worker.stop()
            if not self._stopping.is_set():
                failed(str(error) or type(error).__name__)
            return
        with self._lock:
            closed = self._stopping.is_set()
            if not closed:
                self._all.append(worker)
        if closed:
            worker.stop()
            return
        with self._ready:
            self._idle.append(worker)
            self._ready.notify()

    def _fail(self, dead: _Worker, how: str, why: str) -> None:
        self._fail_reason(
            f"the model server stopped: model process {dead.number} {how}, and a new one could "
            f"not load the model: {why}"
        )

    def _fail_reason(self, reason: str) -> None:
        """Every later call fails with `reason`, as gunicorn halts when a worker cannot boot."""
        logger.error("endpoint %s: %s", self.launch.endpoint_name, reason)
        with self._ready:
            self._broken = reason
            self._ready.notify_all()

    def log_tail(self) -> str:
        try:
            text = self.launch.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        lines = text.splitlines()[-LOG_TAIL_LINES:]
        return ("\nlast output:\n" + "\n".join(lines)) if lines else ""

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all]

    def close(self) -> None:
        """Stop every worker; idempotent."""
        self._stopping.set()
        with self._ready:
            self._ready.notify_all()
        with self._lock:
            workers, self._all = self._all, []
            threads, self._threads = self._threads, []
        for worker in workers:
            worker.stop()
        # A worker still starting sees the stop and stops its process: wait for that, so that
        # no model process outlives close().
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(STOP_GRACE + 1.0)


def _exit_status(worker: _Worker) -> int | None:
    try:
        return worker.process.wait(EXIT_STATUS_WAIT)
    except subprocess.TimeoutExpired:
        return None


def how_it_ended(code: int | None) -> str:
    """`exited with code 1`, `was killed by SIGSEGV`: the words the model server's log uses."""
    if code is None:
        return "stopped answering"
    if code == EXIT_UNKNOWN:
        return "exited (its exit status is unknown: the fork server is gone)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def _queued(waited: float) -> str:
    """How much of the bound the request spent waiting for a free worker, when it did."""
    if waited < 0.05:
        return ""
    return f" ({waited:.1f} s of it waiting for a free model process)"
