"""The bring-your-own serving mode (--sm-serve-command): run the serve command as SageMaker runs
an image's `serve`, wait for GET /ping, and forward InvokeEndpoint to POST /invocations on
127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving import interrupt
from pytest_smendpoint.serving.errors import InvocationError, ModelLoadError
from pytest_smendpoint.serving.invocation import (
    EXECUTION_PARAMETERS_PATH,
    ContainerSpec,
    InvokeRequest,
    InvokeResult,
    ServedModel,
)
from pytest_smendpoint.serving.model_process import AWS_ISOLATION, inherited_environment
from pytest_smendpoint.serving.modes import LoadOptions

logger = logging.getLogger("pytest_smendpoint.serving")

LOOPBACK = "127.0.0.1"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
# SageMaker gives a container 60 s to answer an invocation.
INVOKE_TIMEOUT = 60.0
STOP_GRACE = 5.0
LOG_TAIL_LINES = 20


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def command_line(template: str, port: int, model_dir: Path) -> list[str]:
    """Substitute {port}, {model_dir} and {python} (this interpreter, so a command works the same
    inside a virtualenv); str.replace, because a command may hold other braces."""
    text = (
        template.replace("{port}", str(port))
        .replace("{model_dir}", shlex.quote(str(model_dir)))
        .replace("{python}", shlex.quote(sys.executable))
    )
    return shlex.split(text)


class ByoServer:
    """One serving process for one endpoint; start() returns once /ping answers 200."""

    def __init__(
        self,
        endpoint_name: str,
        command: str,
        model_dir: Path,
        log_path: Path,
        environment: Mapping[str, str],
        startup_timeout: float,
        cwd: Path | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.command = command
        self.model_dir = model_dir
        self.log_path = log_path
        self.environment = environment
        self.startup_timeout = startup_timeout
        self.cwd = cwd or model_dir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()  # set by close(): ends a health wait at once

    def start(self) -> None:
        self.port = free_port()
        argv = command_line(self.command, self.port, self.model_dir)
        # Run under the tether: the server stops when this process is gone, even after SIGKILL.
        tethered = [sys.executable, "-m", "pytest_smendpoint.serving.tethered", str(os.getpid())]
        # The container's environment only, as for every model: nothing of the test process's
        # own variables (credentials, say) beyond the basics a program needs.
        env = {
            **inherited_environment(),
            **AWS_ISOLATION,
            **self.environment,
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "SM_MODEL_DIR": str(self.model_dir),
        }
        with self.log_path.open("wb") as log:
            try:
                self.process = subprocess.Popen(
                    [*tethered, "--", *argv],
                    env=env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stop its children too
                )
            except OSError as error:
                raise ModelLoadError(f"serve command {argv!r} could not start: {error}") from None
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.01
        last = "no answer"
        while True:
            code = self.process.poll()
            if code is not None:
                raise ModelLoadError(
                    f"serve command exited with code {code} before answering /ping"
                    + self.log_tail()
                )
            status = self._ping()
            if status == 200:
                return
            last = f"last /ping status {status}" if status else "no answer"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise ModelLoadError(
                    f"serve command did not answer GET /ping with 200 within "
                    f"{self.startup_timeout:g} s ({last})" + self.log_tail()
                )
            interrupt.check()
            if self._stopping.wait(min(delay, remaining, interrupt.POLL_SECONDS)):
                raise ModelLoadError("local serving closed while waiting for /ping")
            delay = min(delay * 2, 0.25)

    def _ping(self) -> int | None:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
        try:
            connection.request("GET", "/ping")
            response = connection.getresponse()
            response.read()
            return response.status
        except OSError:
            return None
        finally:
            connection.close()

    def invoke(self, request: InvokeRequest) -> InvokeResult:
        headers = {"Content-Type": request.content_type or "application/octet-stream"}
        if request.accept:
            headers["Accept"] = request.accept
        if request.custom_attributes is not None:
            headers[CUSTOM_ATTRIBUTES] = request.custom_attributes
        timeout = INVOKE_TIMEOUT if request.timeout is None else request.timeout
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)
        try:
            if request.path == EXECUTION_PARAMETERS_PATH:
                connection.request("GET", request.path)
            else:
                connection.request("POST", request.path, body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except OSError as error:
            raise InvocationError(
                500, f"the serving process did not answer {request.path}: {error}" + self.log_tail()
            ) from None
        finally:
            connection.close()
        if response.status >= 400:
            message = body.decode("utf-8", "replace")
            logger.error(
                "serving process of endpoint %s answered %s: %s",
                self.endpoint_name,
                response.status,
                message,
            )
            raise InvocationError(response.status, message)
        return InvokeResult(
            body=body,
            content_type=response.getheader("Content-Type") or "application/octet-stream",
            custom_attributes=response.getheader(CUSTOM_ATTRIBUTES),
        )

    def log_tail(self) -> str:
        """The process's last output lines, for error messages."""
        try:
            lines = self.log_path.read_text("utf-8", "replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            return ""
        if not lines:
            return "\n(no output)"
        return "\nlast output:\n" + "\n".join(lines)

    def close(self) -> None:
        """Terminate, then kill after a bound; idempotent."""
        self._stopping.set()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_GRACE)


class ByoMode:
    """Serves every model with the user's own server when --sm-serve-command is given."""

    def applies(self, options: LoadOptions) -> bool:
        return bool(options.serve_command)

    def start(
        self, spec: ContainerSpec, s3: Any, options: LoadOptions, model_dir: Path, workdir: Path
    ) -> tuple[ServedModel, str | None]:
        assert options.serve_command is not None  # applies() said so
        server = ByoServer(
            spec.endpoint_name,
            options.serve_command,
            model_dir,
            workdir / "serve.log",
            spec.environment,
            options.startup_timeout,
            cwd=options.serve_directory,
        )
        try:
            server.start()
        except BaseException:
            server.close()
            raise
        return server, "the bring-your-own serve command (--sm-serve-command)"


MODE = ByoMode()
