"""Run an install step (pip) the way a model's load must run: tethered to this process, in a
process group of its own, bounded, and stopped at once by a stop signal.

subprocess.run with a timeout kills only pip itself, leaves its build backends running, and
blocks signals' effect until it returns; a pytest killed with SIGKILL leaves it all running.
Here pip runs under serving/tethered.py (its group dies within a second of this process), the
wait polls the stop flag (interrupt.py), and any way out kills the whole group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_smendpoint.serving import interrupt


@dataclass(frozen=True)
class Finished:
    """A finished command: exit code (a signal's death as 128 + N) and its output."""

    returncode: int
    output: bytes


class DeadlineExceeded(Exception):
    """The command did not finish within its bound (it has been killed)."""


def run(
    command: Sequence[str],
    *,
    cwd: Path | None,
    environment: Mapping[str, str],
    deadline: float | None,
) -> Finished:
    """Run `command` to its end, or raise DeadlineExceeded / interrupt.LoadInterrupted (or a
    KeyboardInterrupt raised by a signal handler) with its whole process group killed."""
    tether = [sys.executable, "-m", "pytest_smendpoint.serving.tethered", str(os.getpid()), "--"]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [*tether, *command],
            cwd=cwd,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # pip and its build backends: one group to kill
        )
        try:
            while True:
                interrupt.check()
                wait = interrupt.POLL_SECONDS
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0.0))
                try:
                    code = process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise DeadlineExceeded from None
        finally:
            if process.returncode is None:
                _kill_group(process)
        output.seek(0)
        return Finished(code, output.read())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
