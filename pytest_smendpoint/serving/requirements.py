"""A model's requirements.txt, pip-installed as its container does at start, but into a cached
folder of its own (never the test environment), keyed by the file's hash and the interpreter.

The model process gets the folder first on PYTHONPATH, so what it lists wins over the test
environment's copy, as the container's pip install would replace the image's. The cache is
$PYTEST_SMENDPOINT_CACHE, else $XDG_CACHE_HOME/pytest-smendpoint, else ~/.cache/pytest-smendpoint;
a lock per key lets parallel sessions (xdist workers) share one install.

pip runs with the container's environment (plus pip's own PIP_* settings, which say where the
index is), counts against the start-up health check's bound, and is tethered (tethered_run.py)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from pytest_smendpoint.serving import interrupt, tethered_run
from pytest_smendpoint.serving.errors import ModelLoadError

CACHE_VARIABLE = "PYTEST_SMENDPOINT_CACHE"
OUTPUT_TAIL_LINES = 12
# pip's own configuration (index, certificates, find-links): where packages come from, which
# the container's pip gets from its image; nothing else of the test process's variables.
PIP_PREFIX = "PIP_"


def cache_root() -> Path:
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-smendpoint"


def requirements_key(requirements: Path, python: str = sys.executable) -> str:
    """The file's bytes plus what wheels depend on: the interpreter (its path names the image
    runtime, its version, ABI and platform)."""
    digest = hashlib.sha256(requirements.read_bytes())
    if python == sys.executable:
        digest.update(f"{sys.version}|{sys.implementation.cache_tag}".encode())
    digest.update(f"{platform.machine()}|{python}".encode())
    return digest.hexdigest()[:32]


def pip_environment(container: Mapping[str, str]) -> dict[str, str]:
    """The container's variables plus pip's own settings from the test process."""
    environment = {k: v for k, v in os.environ.items() if k.startswith(PIP_PREFIX)}
    environment.update(container)
    return environment


def install(
    requirements: Path,
    shown_as: str,
    python: str = sys.executable,
    environment: Mapping[str, str] | None = None,
    deadline: float | None = None,
) -> Path:
    """The folder holding the installed requirements (installed now unless cached).

    A failed install raises ModelLoadError with pip's last lines: the container would stop at
    the same `pip install -r requirements.txt` (InstallModuleError) and never answer /ping."""
    from filelock import FileLock, Timeout

    root = cache_root() / "requirements"
    root.mkdir(parents=True, exist_ok=True)
    key = requirements_key(requirements, python)
    target = root / key
    lock = FileLock(str(root / f"{key}.lock"))
    while True:  # another session may hold it for its own install: wait, interruptibly
        interrupt.check()
        if deadline is not None and time.monotonic() >= deadline:
            raise _too_slow(shown_as)
        try:
            lock.acquire(timeout=interrupt.POLL_SECONDS)
            break
        except Timeout:
            continue
    try:
        if (target / ".complete").is_file():
            return target
        shutil.rmtree(target, ignore_errors=True)
        partial = root / f"{key}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        command = [
            python,
            "-m",
            "pip",
            "install",
            "--target",
            str(partial),
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "-r",
            requirements.name,
        ]
        try:
            done = tethered_run.run(
                command,
                cwd=requirements.parent,  # relative paths in the file are relative to it
                environment=pip_environment(environment or {}),
                deadline=deadline,
            )
        except tethered_run.DeadlineExceeded:
            shutil.rmtree(partial, ignore_errors=True)
            raise _too_slow(shown_as) from None
        except OSError as error:
            shutil.rmtree(partial, ignore_errors=True)
            raise ModelLoadError(f"pip install -r {shown_as} could not run: {error}") from None
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            output = done.output.decode("utf-8", "replace").strip()
            tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
            raise ModelLoadError(
                f"InstallModuleError: pip install -r {shown_as} failed with exit code "
                f"{done.returncode}; the container stops at the same step and never answers "
                f"/ping. To fix: correct {shown_as} (every line must install with pip on "
                f"the serving interpreter, {python}). pip said:\n{tail}"
            )
        (partial / ".complete").write_text(" ".join(command))
        partial.rename(target)
    finally:
        lock.release()
    return target


def _too_slow(shown_as: str) -> ModelLoadError:
    return ModelLoadError(
        f"pip install -r {shown_as} did not finish within the container's start-up health "
        "check timeout (--sm-container-startup-health-check-timeout): the container would "
        "still be installing when SageMaker gives up on /ping"
    )
