"""The model process: `python -m pytest_smendpoint.serving.model_worker REQUEST_FD REPLY_FD`.

It reads one start frame (profile module, model and code folders), loads the model as the
profile's container would, answers `{"ready": true}` (or the container's complaint), then one
reply per request frame until its request pipe closes. It exits when the test process goes away:
EOF on the request pipe while idle, and a watchdog on the test process's pid while busy (not
PR_SET_PDEATHSIG: that fires when the *thread* that started the process ends, and endpoints
are often created from short-lived threads). A process forked by the zygote watches the test
process, not the zygote: a killed zygote leaves its workers serving.

Whatever the model's code starts, `setsid` children too, is killed when this process ends
(reaping.py); the instance type's memory, or a serverless endpoint's MemorySizeInMB, bounds it
(memory_limit in the start frame)."""

from __future__ import annotations

import importlib
import os
import resource
import signal
import sys
import threading
import traceback
from typing import Any

from pytest_smendpoint.serving import reaping
from pytest_smendpoint.serving.frames import PipeClosed, read_frame, write_frame
from pytest_smendpoint.serving.profiles.base import (
    INVOCATIONS,
    Request,
    StartupFailure,
    handler_reads_float32,
)

WATCHDOG_SECONDS = 0.5


def _gone(watched: int, parent: int) -> bool:
    if watched == parent:
        return os.getppid() != parent  # reparented: the parent is gone (pid reuse cannot fool it)
    try:
        os.kill(watched, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _watch(watched: int, parent: int) -> None:
    stop = threading.Event()
    while not stop.wait(WATCHDOG_SECONDS):
        if _gone(watched, parent):
            reaping.kill_descendants(os.getpid())
            os._exit(0)


def _limit_memory(limit: int | None) -> None:
    """The instance's memory as RLIMIT_DATA: counts what the process writes to (heap, anonymous
    mappings, thread stacks) but not reserved-only address space, which RLIMIT_AS would count
    (glibc's per-thread malloc arenas and OpenBLAS reserve GiBs of it they never touch)."""
    if limit:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _out_of_memory(memory_text: str) -> None:
    """Die as the kernel's OOM killer ends a container's worker (SIGKILL), saying why in the log:
    while loading, the container then never answers /ping; during a request, it answers 500."""
    print(f"out of memory: {memory_text}", file=sys.stderr)
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str], watch: int | None = None) -> int:
    reaping.become_subreaper()
    try:
        return _serve(argv, watch)
    finally:
        reaping.kill_descendants(os.getpid())


def _serve(argv: list[str], watch: int | None) -> int:
    request_fd, reply_fd = int(argv[0]), int(argv[1])
    parent = os.getppid()
    watched = parent if watch is None else watch
    threading.Thread(target=_watch, args=(watched, parent), daemon=True).start()
    try:
        start = read_frame(request_fd).header
    except PipeClosed:
        return 0
    memory_limit = start.get("memory_limit")
    memory_text = start.get("memory_text") or f"the instance has {memory_limit} bytes"
    try:
        _limit_memory(memory_limit)
    except (ValueError, OSError) as error:
        print(f"the instance memory bound could not be applied: {error}", file=sys.stderr)
    try:
        profile: Any = importlib.import_module(start["worker_module"])
        handler = profile.serve(start["model_dir"], start.get("code_dir"), start["settings"])
    except StartupFailure as failure:
        if memory_limit and "MemoryError" in str(failure):
            _out_of_memory(memory_text)
        write_frame(reply_fd, {"ready": False, "error": str(failure)})
        return 1
    except BaseException as error:  # the profile itself failed: say so, with the trace
        traceback.print_exc()
        if memory_limit and isinstance(error, MemoryError):
            _out_of_memory(memory_text)
        write_frame(
            reply_fd,
            {"ready": False, "error": f"{type(error).__name__}: {error}", "internal": True},
        )
        return 1
    write_frame(reply_fd, {"ready": True, "csv_float32": handler_reads_float32(handler)})
    while True:
        try:
            frame = read_frame(request_fd)
        except PipeClosed:
            return 0
        header = frame.header
        request = Request(
            body=frame.body,
            content_type=header.get("content_type"),
            accept=header.get("accept"),
            custom_attributes=header.get("custom_attributes"),
            path=header.get("path") or INVOCATIONS,
        )
        try:
            reply = handler(request)
        except BaseException:  # a profile bug: answer 500 rather than leave the caller hanging
            trace = traceback.format_exc()
            write_frame(reply_fd, {"status": 500, "content_type": "text/plain", "log": trace})
            continue
        if reply.log:
            print(reply.log, file=sys.stderr, flush=True)  # the container's CloudWatch log
        if memory_limit and reply.log and "MemoryError" in reply.log:
            # On the instance the kernel's OOM killer ends the worker mid-request (the model
            # server then answers 500 and starts a new one): die the same way.
            _out_of_memory(memory_text)
        write_frame(
            reply_fd,
            {
                "status": reply.status,
                "content_type": reply.content_type,
                "custom_attributes": reply.custom_attributes,
                "log": reply.log,
            },
            reply.body,
        )


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter shutdown: it takes longer than the model's life did to unload scikit-learn,
    # and a container stopped by SageMaker gets no orderly exit either.
    os._exit(code)
