"""Temporary folders named after the process that owns them, so that the next run can remove
those a killed run left (kill -9 skips every `finally`).

A folder is `<prefix><pid>-<random>` in the system's temporary folder: the owner's pid is in the
name from the moment the folder exists, so no run ever sees a folder of a live run without its
owner. A folder is stale only when no process with that pid exists; a reused pid keeps a stale
folder until that process is gone too (the safe direction).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Every prefix the plugin makes temporary folders with; none begins another.
XDIST_PREFIX = "pytest-smendpoint-xdist-"  # the xdist run's coordination folder
PACK_PREFIX = "pytest-smendpoint-pack-"  # a model folder packed as model.tar.gz for upload
SOURCE_PREFIX = "pytest-smendpoint-source-"  # a source folder packed as sourcedir.tar.gz
# A served model's folder (serving/loader.py): /opt/ml/model, the code, the model's log.
MODEL_PREFIX = "pytest-smendpoint-model-"
# A transform job's folder offline (aws/backends/moto/transforms.py): its outputs being written.
TRANSFORM_PREFIX = "pytest-smendpoint-transform-"
PREFIXES = (XDIST_PREFIX, PACK_PREFIX, SOURCE_PREFIX, MODEL_PREFIX, TRANSFORM_PREFIX)
# <pid>-<random>: uuid hex, or tempfile's random names (lower-case letters, digits, "_"); a
# model's folder has its endpoint's name between them (<pid>-<endpoint>-<random>).
_OWNED = re.compile(r"(?P<pid>[0-9]+)-([A-Za-z0-9-]+-)?[0-9a-z_]+")


def owned_path(prefix: str) -> Path:
    """Where to make a folder this process owns: `<prefix><this pid>-<random hex>`."""
    return Path(tempfile.gettempdir()) / f"{prefix}{os.getpid()}-{uuid.uuid4().hex}"


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder named for this process, removed on exit; those a killed process
    left under the same prefix are removed first."""
    remove_stale((prefix,))
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as scratch:
        yield Path(scratch)


def owner_pid(folder: Path, prefix: str) -> int | None:
    """The pid in a folder's name, or None when the name is not one owned_path gives."""
    rest = folder.name.removeprefix(prefix)
    match = _OWNED.fullmatch(rest) if rest != folder.name else None
    return int(match["pid"]) if match else None


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def remove_stale(prefixes: tuple[str, ...] = PREFIXES) -> list[Path]:
    """Remove this user's folders whose owner process is gone; returns what was removed."""
    removed: list[Path] = []
    root = Path(tempfile.gettempdir())
    for prefix in prefixes:
        for folder in root.glob(f"{prefix}*"):
            pid = owner_pid(folder, prefix)
            if pid is None or pid == os.getpid() or process_exists(pid):
                continue
            try:
                status = folder.lstat()
            except OSError:
                continue  # removed meanwhile by another run
            if not stat.S_ISDIR(status.st_mode) or status.st_uid != getattr(os, "getuid", int)():
                continue  # a link, or another user's: never touched
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
