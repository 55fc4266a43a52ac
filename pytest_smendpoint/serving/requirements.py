"""A model's requirements.txt, pip-installed as its container does at start, but into a cached
folder of its own (never the test environment), keyed by the file's hash and the interpreter.

The model process gets the folder first on PYTHONPATH, so what it lists wins over the test
environment's copy, as the container's pip install would replace the image's. The cache is
$PYTEST_SMENDPOINT_CACHE, else $XDG_CACHE_HOME/pytest-smendpoint, else ~/.cache/pytest-smendpoint;
a lock per key lets parallel sessions (xdist workers) share one install."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_smendpoint.serving.errors import ModelLoadError

CACHE_VARIABLE = "PYTEST_SMENDPOINT_CACHE"
INSTALL_TIMEOUT = 600.0
OUTPUT_TAIL_LINES = 12


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


def install(requirements: Path, shown_as: str, python: str = sys.executable) -> Path:
    """The folder holding the installed requirements (installed now unless cached).

    A failed install raises ModelLoadError with pip's last lines: the container would stop at
    the same `pip install -r requirements.txt` (InstallModuleError) and never answer /ping."""
    from filelock import FileLock

    root = cache_root() / "requirements"
    root.mkdir(parents=True, exist_ok=True)
    key = requirements_key(requirements, python)
    target = root / key
    with FileLock(str(root / f"{key}.lock")):
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
            done = subprocess.run(
                command,
                cwd=requirements.parent,  # relative paths in the file are relative to it
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            shutil.rmtree(partial, ignore_errors=True)
            raise ModelLoadError(f"pip install -r {shown_as} could not run: {error}") from None
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            output = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
            tail = "\n".join(output.splitlines()[-OUTPUT_TAIL_LINES:])
            raise ModelLoadError(
                f"InstallModuleError: pip install -r {shown_as} failed with exit code "
                f"{done.returncode}; the container stops at the same step and never answers "
                f"/ping. To fix: correct {shown_as} (every line must install with pip on "
                f"the serving interpreter, {python}). pip said:\n{tail}"
            )
        (partial / ".complete").write_text(" ".join(command))
        partial.rename(target)
    return target
