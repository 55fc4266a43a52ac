"""An image's packages, installed once into a cached virtual environment of the image's Python
(or the closest one here), never into the test environment. Keyed by image version, the
interpreter and the pins, so two sessions (xdist workers) share one install under a lock.

The cache is the requirements cache's root (serving/requirements.py): runtimes/ beside
requirements/. `smendpoint-cache` lists, prepares and clears it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.runtimes.catalog import ImageRuntime
from pytest_smendpoint.serving.runtimes.interpreters import Interpreter

# A one-off download of a few hundred MB of wheels; the container pull it stands for is slower.
INSTALL_TIMEOUT = 900.0
OUTPUT_TAIL_LINES = 12
COMPLETE = ".complete"
DESCRIPTION = "runtime.json"
# pip's words for a pin that has no wheel for this interpreter and platform.
_NO_MATCH = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the "
    r"requirement) ([A-Za-z0-9_.\-]+)"
)


@dataclass(frozen=True)
class InstalledRuntime:
    """A ready environment: its interpreter, and what it holds."""

    python: str  # the venv's bin/python
    python_version: str
    packages: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


RUNTIME_CACHE_VARIABLE = "PYTEST_SMENDPOINT_RUNTIME_CACHE"


def runtimes_root() -> Path:
    """$PYTEST_SMENDPOINT_RUNTIME_CACHE, else runtimes/ in the plugin's cache folder."""
    from pytest_smendpoint.serving.requirements import cache_root

    configured = os.environ.get(RUNTIME_CACHE_VARIABLE)
    return Path(configured).expanduser() if configured else cache_root() / "runtimes"


def runtime_key(runtime: ImageRuntime, interpreter: Interpreter) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(runtime.packages), sort_keys=True).encode())
    digest.update(f"{interpreter.path}|{interpreter.version}|{platform.machine()}".encode())
    slug = runtime.tag.replace(":", "-").replace("sagemaker-", "")
    return f"{slug}-py{interpreter.version}-{digest.hexdigest()[:12]}"


def requested(runtime: ImageRuntime, interpreter: Interpreter) -> list[str]:
    """pip's requirements: the image's exact pins on the image's Python; on another Python
    (the image's was not found here) the newest release at or below each pin, since an exact
    pin may have no wheel for it (numpy 2.5.1 needs Python 3.12)."""
    exact = interpreter.minor == runtime.python
    operator = "==" if exact else "<="
    pins = []
    for name, version in runtime.packages.items():
        distribution = runtime.install_as.get(name, name)
        pins.append(f"{distribution}{operator}{version}" if version else distribution)
    return pins


def ensure(runtime: ImageRuntime, interpreter: Interpreter) -> InstalledRuntime:
    """The runtime's environment, installed now unless cached.

    ModelLoadError when pip cannot install it here: it names the image, the package, the
    interpreter and what to do."""
    from filelock import FileLock

    root = runtimes_root()
    root.mkdir(parents=True, exist_ok=True)
    key = runtime_key(runtime, interpreter)
    target = root / key
    with FileLock(str(root / f"{key}.lock")):
        if (target / COMPLETE).is_file():
            return _read(target)
        shutil.rmtree(target, ignore_errors=True)
        try:
            _create(runtime, interpreter, target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / COMPLETE).write_text("")
    return _read(target)


def _create(runtime: ImageRuntime, interpreter: Interpreter, target: Path) -> None:
    _run(
        [interpreter.path, "-m", "venv", str(target)],
        runtime,
        interpreter,
        "python -m venv",
    )
    python = str(target / "bin" / "python")
    pins = requested(runtime, interpreter)
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            # Wheels only: the image ships built packages; a source build here would be neither
            # the image's binary nor quick.
            "--only-binary=:all:",
            *pins,
        ],
        runtime,
        interpreter,
        "pip install " + " ".join(pins),
    )
    inventory = subprocess.run(
        [python, "-c", _INVENTORY],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=True,
    )
    (target / DESCRIPTION).write_bytes(inventory.stdout)


_INVENTORY = (
    "import importlib.metadata as m, json, sys\n"
    "print(json.dumps({'python': '%d.%d.%d' % sys.version_info[:3], 'packages': "
    "{d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}}))"
)


def _read(target: Path) -> InstalledRuntime:
    data = json.loads((target / DESCRIPTION).read_text())
    return InstalledRuntime(
        python=str(target / "bin" / "python"),
        python_version=data["python"],
        packages=MappingProxyType(dict(sorted(data["packages"].items()))),
    )


def _run(command: list[str], runtime: ImageRuntime, interpreter: Interpreter, what: str) -> None:
    """One pip step, tethered and stopped at once by a stop signal (tethered_run.py): a one-off
    like an image pull, so not counted in the start-up health check's bound."""
    from pytest_smendpoint.serving import tethered_run

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = tethered_run.run(
            command,
            cwd=None,
            environment=environment,
            deadline=time.monotonic() + INSTALL_TIMEOUT,
        )
    except tethered_run.DeadlineExceeded:
        raise ModelLoadError(
            f"The packages of image {runtime.tag} could not be installed for Python "
            f"{interpreter.version} ({interpreter.path}): {what} did not finish within "
            f"{INSTALL_TIMEOUT:g} s"
        ) from None
    except OSError as error:
        raise ModelLoadError(
            f"The packages of image {runtime.tag} could not be installed for Python "
            f"{interpreter.version} ({interpreter.path}): {what} could not run: {error}"
        ) from None
    if done.returncode == 0:
        return
    output = done.output.decode("utf-8", "replace").strip()
    lines = [line for line in output.splitlines() if "is ignored: it is neither" not in line]
    tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
    missing = _NO_MATCH.search(output)
    package = missing.group(1) if missing else None
    if package:
        raise ModelLoadError(
            f"The packages of image {runtime.tag} cannot be installed for Python "
            f"{interpreter.version} ({interpreter.path}): pip finds no wheel of {package} "
            f"that fits (the image pins {package} {runtime.packages.get(package, '?')} on "
            f"Python {runtime.python}). To fix: install Python {runtime.python} (for example "
            f"`pyenv install {runtime.python}`) or name one with --sm-image-python="
            f"{runtime.python}=/path/to/python{runtime.python}; without a package index, "
            f"serve with --sm-image-packages=test-env. pip said:\n{tail}"
        )
    raise ModelLoadError(
        f"The packages of image {runtime.tag} could not be installed for Python "
        f"{interpreter.version} ({interpreter.path}): {what} failed with exit code "
        f"{done.returncode}. To fix: check that the package index is reachable, or serve with "
        f"--sm-image-packages=test-env. Its output:\n{tail}"
    )


def plugin_path() -> Path:
    """A folder holding only a link to this package, for the runtime's PYTHONPATH: the model's
    interpreter imports the plugin's serving code without seeing the test environment's
    site-packages (where the plugin is usually installed)."""
    package = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256(str(package).encode()).hexdigest()[:12]
    folder = runtimes_root() / f"plugin-{digest}"
    link = folder / package.name
    if link.is_symlink() and link.resolve() == package:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{package.name}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(package, target_is_directory=True)
    os.replace(temporary, link)  # atomic: a concurrent session sees the old link or the new
    return folder
