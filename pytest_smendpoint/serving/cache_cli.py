"""`smendpoint-cache list | clear`: where the requirements and image-runtime caches live, how
large they are, and a way to evict them.

Both caches are keyed by content (a requirements.txt's bytes, an image version's pins), so an
unpinned requirement stays at the version first installed until the cache is cleared."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path


def caches() -> dict[str, Path]:
    """{name: folder} of every cache the serving keeps."""
    from pytest_smendpoint.serving.requirements import cache_root
    from pytest_smendpoint.serving.runtimes.install import runtimes_root

    return {"requirements": cache_root() / "requirements", "runtimes": runtimes_root()}


def size_of(folder: Path) -> int:
    """Bytes of every regular file below `folder` (links not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _shown(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="smendpoint-cache",
        description="List or clear pytest-smendpoint's requirements and image-runtime caches "
        "($PYTEST_SMENDPOINT_CACHE, else $XDG_CACHE_HOME/pytest-smendpoint, else "
        "~/.cache/pytest-smendpoint; runtimes: $PYTEST_SMENDPOINT_RUNTIME_CACHE if set).",
    )
    parser.add_argument("action", choices=("list", "clear"))
    parser.add_argument(
        "--only",
        choices=("requirements", "runtimes"),
        help="act on one cache (default: both)",
    )
    arguments = parser.parse_args(argv)
    chosen = {k: v for k, v in caches().items() if arguments.only in (None, k)}
    for name, folder in chosen.items():
        if not folder.exists():
            print(f"{name}: {folder} (empty)")
            continue
        entries = len([p for p in folder.iterdir() if p.is_dir()])
        size = size_of(folder)
        if arguments.action == "list":
            print(f"{name}: {folder} ({entries} entries, {_shown(size)})")
            continue
        shutil.rmtree(folder, ignore_errors=True)
        print(f"{name}: removed {folder} ({entries} entries, {_shown(size)})")
    if arguments.action == "clear":
        print("The next session installs what it needs again.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
