"""Signals around AWS calls: no signal cuts a create or a delete short (`hold_signals`), and a
stop ends every deploy wait at once (`stopping`, read by waiting.py).

The session's own handler (endpoints/signals.py) turns SIGTERM/SIGHUP into an orderly stop and
sets `stopping`; this module is what the AWS calls below it need of that, and nothing more.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from pytest_smendpoint.serving import interrupt

# SIGHUP does not exist on Windows.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
# While a create or delete call runs, Ctrl-C waits for it too.
HELD_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, *STOP_SIGNALS)

# Set when a signal stops the session: deploy waits on other threads (the factory's) end at
# once. Process-wide, as signals are; cleared whenever a guard is installed or removed.
stopping = threading.Event()


def in_main_thread() -> bool:
    # signal.signal() only works in the main thread; elsewhere signals are not ours to take.
    return threading.current_thread() is threading.main_thread()


def restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        # getsignal() says None for a handler installed outside Python: the default stands in.
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)


_held = threading.local()


@contextlib.contextmanager
def hold_signals() -> Iterator[None]:
    """Run a create or a delete to its end: signals that arrive meanwhile are delivered after.

    An interrupted CreateEndpoint can leave an endpoint that nobody recorded; an interrupted
    teardown leaves the rest undeleted. Both calls are short (a deploy's long wait is not held).
    """
    if not in_main_thread() or getattr(_held, "active", False):
        yield
        return
    arrived: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)
        # A model loading inside this create (moto's CreateEndpoint) gives up at once, so the
        # call returns and the signal is delivered within a moment, not after the load.
        interrupt.request_stop(signum)

    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
    for signum in HELD_SIGNALS:
        signal.signal(signum, record)
    _held.active = True
    try:
        yield
    finally:
        _held.active = False
        restore_handlers(previous)
        for number in dict.fromkeys(arrived):  # each once, in arrival order
            signal.raise_signal(number)  # the previous handler decides: stop, record or exit
