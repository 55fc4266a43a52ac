"""Whether a file the session will write at its end can be written, asked at start-up: a
report that cannot be written should stop the run before the deploy, not after it."""

from __future__ import annotations

import contextlib
from pathlib import Path


def unwritable_reason(path: Path) -> str | None:
    """None when `path` can be written, else why not. Tries it for real (opening to append, or
    creating and removing the file), since permission bits do not tell for root or read-only
    file systems; an existing file's content is never changed."""
    if path.is_dir():
        return "is a folder, not a file"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    try:
        if path.exists():
            with open(path, "a", encoding="utf-8"):
                pass
        else:
            with open(path, "x", encoding="utf-8"):
                pass
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    except FileExistsError:  # another process (an xdist worker) made it meanwhile: writable
        return None
    except OSError as error:
        return f"cannot be written: {error.strerror or error}"
    return None
