"""The pipes between the test process and a model process (frames.py)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from pytest_smendpoint.serving import frames


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_a_widened_pipe_holds_a_mebibyte() -> None:
    import fcntl

    get_size = getattr(fcntl, "F_GETPIPE_SZ", 1032)
    read_fd, write_fd = os.pipe()
    try:
        assert fcntl.fcntl(write_fd, get_size) == 64 * 1024
        assert frames.widen(write_fd)
        assert fcntl.fcntl(write_fd, get_size) == 1 << 20
        frames.narrowed()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_pipe_that_cannot_be_widened_stays_as_it_was() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    os.close(write_fd)
    assert not frames.widen(write_fd)  # a closed descriptor: EBADF, not widened


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_at_most_sixteen_pipes_are_widened_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's pipes share a soft limit (64 MiB): past it every new pipe of theirs shrinks."""
    monkeypatch.setattr(frames, "_widened", 0)
    pipes = [os.pipe() for _ in range(17)]
    try:
        widened = [frames.widen(write_fd) for _, write_fd in pipes]
        assert widened == [True] * 16 + [False]
        frames.narrowed()
        assert frames.widen(pipes[16][1])
    finally:
        for read_fd, write_fd in pipes:
            os.close(read_fd)
            os.close(write_fd)


def test_a_body_larger_than_the_pipe_crosses_whole() -> None:
    read_fd, write_fd = os.pipe()
    if frames.widen(read_fd):
        frames.narrowed()  # the count only: the pipe stays wide until closed below
    body = bytes(range(256)) * 12_000  # about 3 MB: more than the widened pipe holds
    try:
        writer = threading.Thread(target=frames.write_frame, args=(write_fd, {"a": 1}, body))
        writer.start()
        frame = frames.read_frame(read_fd)
        writer.join()
        assert (frame.header, frame.body) == ({"a": 1}, body)
    finally:
        os.close(read_fd)
        os.close(write_fd)
