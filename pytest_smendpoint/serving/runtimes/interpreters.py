"""Finding a Python of a given minor version on this machine: named by --sm-image-python, on
PATH as pythonX.Y, under pyenv, or through uv. pyenv's shims answer on PATH even when the
version is not selected (they then fail), so each candidate is run once to ask its version."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT = 20.0
_PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


@dataclass(frozen=True)
class Interpreter:
    """A Python executable and its full version (3.9.18)."""

    path: str
    version: str

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def current() -> Interpreter:
    """The test environment's own interpreter."""
    return Interpreter(sys.executable, ".".join(str(part) for part in sys.version_info[:3]))


@functools.cache
def probe(path: str) -> Interpreter | None:
    """The interpreter at `path`, or None when it does not run (a shim, a broken link)."""
    try:
        done = subprocess.run(
            [path, "-c", _PROBE],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = done.stdout.decode("ascii", "replace").strip()
    if done.returncode != 0 or not version:
        return None
    return Interpreter(path, version)


def find(minor: str, named: Mapping[str, str] | None = None) -> Interpreter | None:
    """A Python `minor` ("3.9") as the first of: `named[minor]` (--sm-image-python), pythonX.Y
    on PATH, pyenv's versions, `uv python find`. None when none runs."""
    for candidate in _candidates(minor, named or {}):
        found = probe(candidate)
        if found is not None and found.minor == minor:
            return found
    return None


def _candidates(minor: str, named: Mapping[str, str]) -> Iterator[str]:
    if minor in named:
        yield named[minor]
        return  # a named interpreter is the user's choice: no silent second guess
    on_path = shutil.which(f"python{minor}")
    if on_path:
        yield on_path
    for root in pyenv_roots():
        # Newest patch release first: 3.9.18 before 3.9.2.
        found = sorted(
            (p for p in (root / "versions").iterdir() if _is_release_of(p.name, minor)),
            key=lambda p: tuple(int(part) for part in p.name.split(".")),
            reverse=True,
        )
        for folder in found:
            yield str(folder / "bin" / f"python{minor}")
    uv = shutil.which("uv")
    if uv:
        try:
            done = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", minor],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return
        if done.returncode == 0 and done.stdout.strip():
            yield done.stdout.decode("utf-8", "replace").strip()


def pyenv_roots() -> list[Path]:
    """Where pyenv keeps its versions: $PYENV_ROOT, else beside the pyenv program or its shims
    on PATH (tox passes PATH but not PYENV_ROOT, and pytester moves HOME), else ~/.pyenv."""
    candidates = [os.environ.get("PYENV_ROOT", "")]
    program = shutil.which("pyenv")
    if program:
        candidates.append(str(Path(program).resolve().parent.parent))
    candidates += [
        str(Path(entry).parent)
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if Path(entry).name == "shims"
    ]
    candidates.append(str(Path.home() / ".pyenv"))
    roots: list[Path] = []
    for candidate in candidates:
        root = Path(candidate) if candidate else None
        if root is not None and (root / "versions").is_dir() and root not in roots:
            roots.append(root)
    return roots


def _is_release_of(name: str, minor: str) -> bool:
    parts = name.split(".")
    return len(parts) == 3 and ".".join(parts[:2]) == minor and all(p.isdigit() for p in parts)
