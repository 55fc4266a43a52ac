"""Whether a file the session will write at its end can be written, asked at start-up: a
report that cannot be written should stop the run before the deploy, not after it.

Reports are written as a new file renamed over the path, so only a regular file (or nothing)
may be there: renaming over a symbolic link, a FIFO or a device replaces it (as root, even
/dev/full). The job summary is appended to instead, which a FIFO or a device takes as it is."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FOLDER = "is a folder, not a file"


def special_file_reason(path: Path | str) -> str | None:
    """Why `path` may not be replaced, or None when it is a regular file or absent. Asked with
    lstat: a symbolic link is itself the problem, whatever it points at."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # absent: the folder check says more
        return None
    except OSError as error:
        return f"cannot be inspected: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return FOLDER
    return f"is {_kind(path, mode)}, not a regular file: name a regular file or a new one"


def unwritable_reason(path: Path, *, replaced: bool = True) -> str | None:
    """None when `path` can be written, else why not. `replaced`: written whole over the path
    (a report: only a regular file or none may be there); else appended to (the job summary:
    a FIFO or a device is fine, a symbolic link is followed). Tries a regular file for real
    (opening to append, or creating and removing it), since permission bits do not tell for
    root or read-only file systems; an existing file's content is never changed."""
    if replaced:
        problem = special_file_reason(path)
        if problem is not None:
            return problem
    elif path.is_dir():
        return FOLDER
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if path.exists() and not path.is_file():  # appended to: opening a FIFO would block here
        return None if os.access(path, os.W_OK) else "cannot be written: Permission denied"
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


def _kind(path: Path | str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        try:
            return f"a symbolic link (to {os.readlink(path)})"
        except OSError:
            return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return f"a special file (mode {stat.filemode(mode)})"
