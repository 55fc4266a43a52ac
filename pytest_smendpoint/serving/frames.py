"""The wire between the test process and a model process: length-prefixed frames on two pipes.

A frame is a JSON header (what HTTP headers would carry: media types, status, custom attributes)
and a raw body. Pipes rather than a loopback HTTP server per worker: a call costs two writes and
two reads (tens of microseconds, against a few hundred for an HTTP round trip through http.client
and a server loop), no port is ever raced for, and the model process's death reads as EOF.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from dataclasses import dataclass
from typing import Any

# header length, body length
_PREFIX = struct.Struct("<IQ")
_CHUNK = 1 << 20


# Linux's fcntl F_SETPIPE_SZ (Python names it from 3.10 on); a pipe holds 64 KiB by default.
_SET_PIPE_SIZE = 1031
_PIPE_SIZE = 1 << 20
# A user's pipes share a soft limit (/proc/sys/fs/pipe-user-pages-soft: 64 MiB, for users without
# CAP_SYS_RESOURCE); past it, every new pipe of that user holds 8 KiB, the model's pipes and any
# other program's. At most this many widened pipes at once in this process: a quarter of it.
_MOST_WIDENED = 16
_widened = 0
_widened_lock = threading.Lock()


def widen(fd: int) -> bool:
    """Let the pipe hold 1 MiB (Linux's default ceiling, /proc/sys/fs/pipe-max-size) instead of
    64 KiB: a 2.5 MB body then crosses in three writes and reads instead of forty, each a switch
    between the two processes. Whether it was widened: then `narrowed()` once it is closed.
    Elsewhere, past a lowered ceiling or past _MOST_WIDENED, the pipe stays as it was."""
    global _widened
    import fcntl

    with _widened_lock:
        if _widened >= _MOST_WIDENED:
            return False
        try:
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _SET_PIPE_SIZE), _PIPE_SIZE)
        except OSError:
            return False
        _widened += 1
        return True


def narrowed() -> None:
    """A pipe `widen` widened is closed."""
    global _widened
    with _widened_lock:
        _widened = max(0, _widened - 1)


class PipeClosed(EOFError):
    """The other end of the pipe is gone (the process exited or closed it)."""


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    body: bytes


def write_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    """One frame, written whole (os.write may write less than asked on a pipe)."""
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    view = memoryview(_PREFIX.pack(len(head), len(body)) + head)
    _write_all(fd, view)
    if body:
        _write_all(fd, memoryview(body))


def read_frame(fd: int) -> Frame:
    """The next frame; PipeClosed at EOF."""
    head_len, body_len = _PREFIX.unpack(_read_exact(fd, _PREFIX.size))
    header = json.loads(_read_exact(fd, head_len)) if head_len else {}
    body = _read_exact(fd, body_len) if body_len else b""
    return Frame(header, body)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        try:
            written = os.write(fd, view[:_CHUNK])
        except BrokenPipeError:
            raise PipeClosed("the other process closed the pipe") from None
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        read = os.readv(fd, [view[got:]])
        if read == 0:
            raise PipeClosed("the other process closed the pipe")
        got += read
    return bytes(buffer)
