"""Signals while the session holds AWS resources: SIGTERM and SIGHUP (what CI runners send on
cancel) become an orderly stop that runs teardown, and no signal cuts a create or a delete short.

Python's default for SIGTERM/SIGHUP kills the process on the spot, skipping every `finally`:
the endpoint would keep billing. Here the first one raises `SessionStopped` (a KeyboardInterrupt,
so pytest stops the run the way it does for Ctrl-C and still tears fixtures down); later ones,
and any signal that arrives once the session is finishing, are only recorded. The process then
exits with 128 + the signal's number, the shell's convention.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

# SIGHUP does not exist on Windows.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
# While a create or delete call runs, Ctrl-C waits for it too.
HELD_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, *STOP_SIGNALS)


class SessionStopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while the session held resources: stop and tear down."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(
            f"{name} received: pytest-smendpoint stops the session and deletes what it created"
        )


def _in_main_thread() -> bool:
    # signal.signal() only works in the main thread; elsewhere signals are not ours to take.
    return threading.current_thread() is threading.main_thread()


class SignalGuard:
    """Turns the first SIGTERM/SIGHUP into SessionStopped; once stopping or finishing, records
    every signal (Ctrl-C too) for the exit code instead of cutting teardown short."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.finishing = False  # set once the test loop is over: teardown must not be cut

    @property
    def exit_code(self) -> int | None:
        """128 + the first stop signal's number, or None when none arrived."""
        return 128 + self.received[0] if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.finishing or self.received:  # teardown under way: never cut it short
            self.received.append(signum)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C mid-run: pytest's own behaviour (exit code 2)
        self.received.append(signum)
        raise SessionStopped(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[SignalGuard]:
        """Install the handlers (main thread only) and restore the previous ones afterwards."""
        if not _in_main_thread():
            yield self
            return
        previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
        for signum in HELD_SIGNALS:
            signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            _restore(previous)


def _restore(previous: dict[int, Any]) -> None:
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
    if not _in_main_thread() or getattr(_held, "active", False):
        yield
        return
    arrived: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
    for signum in HELD_SIGNALS:
        signal.signal(signum, record)
    _held.active = True
    try:
        yield
    finally:
        _held.active = False
        _restore(previous)
        for number in dict.fromkeys(arrived):  # each once, in arrival order
            signal.raise_signal(number)  # the previous handler decides: stop, record or exit
