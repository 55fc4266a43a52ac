"""Signals while the session holds AWS resources: SIGTERM and SIGHUP (what CI runners send on
cancel) become an orderly stop that runs teardown, and no signal cuts a create or a delete short.

Python's default for SIGTERM/SIGHUP kills the process on the spot, skipping every `finally`:
the endpoint would keep billing. Here the first one raises `SessionStopped` (a KeyboardInterrupt,
so pytest stops the run the way it does for Ctrl-C and still tears fixtures down). One that
user code swallowed (`except BaseException`) does not keep the run going: every later stop signal
raises again until the session is finishing. Once it is, signals are only recorded, so teardown
runs to its end. The process then exits with 128 + the first signal's number, the shell's
convention. A stop also ends the deploy waits of other threads (`stopping`, which
aws/signal_holding.py holds with `hold_signals`): the factory's deploys then clean up at once
instead of waiting for InService.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

from pytest_smendpoint.aws.signal_holding import (
    HELD_SIGNALS,
    in_main_thread,
    restore_handlers,
    stopping,
)
from pytest_smendpoint.serving import interrupt


class SessionStopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while the session held resources: stop and tear down."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__(
            f"{name} received: pytest-smendpoint stops the session and deletes what it created"
        )


class SignalGuard:
    """Turns SIGTERM/SIGHUP into SessionStopped (again if user code swallowed the last one);
    once finishing, records every signal (Ctrl-C too) for the exit code instead of cutting
    teardown short."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.finishing = False  # set once the test loop is over: teardown must not be cut
        # The exit code's signal arrived during teardown: nothing else said so (the run was
        # not stopped by it), so the session says it at the end.
        self.arrived_in_teardown = False
        self._installs = 0  # installed() blocks open: only then is `stopping` this guard's

    @property
    def exit_code(self) -> int | None:
        """128 + the first stop signal's number, or None when none arrived."""
        return 128 + self.received[0] if self.received else None

    def teardown_note(self) -> str | None:
        """What to tell the user when a signal during teardown set the exit code."""
        if not self.arrived_in_teardown or self.exit_code is None:
            return None
        name = signal.Signals(self.received[0]).name
        return (
            f"smendpoint: {name} arrived during teardown; teardown ran to its end, "
            f"and the exit code is {self.exit_code} (128 + {name})"
        )

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.finishing:  # teardown under way: never cut it short
            if not self.received:
                self.arrived_in_teardown = True
            self.received.append(signum)
            return
        if self._installs:
            stopping.set()  # deploys waiting on other threads give up and clean up
            interrupt.request_stop(signum)  # and models loading on any thread stop loading
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C mid-run: pytest's own behaviour (exit code 2)
        # Not finishing although a stop was raised before: user code swallowed it. Raise
        # again (and again), or the run would go on until CI kills it, leaving everything.
        self.received.append(signum)
        raise SessionStopped(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[SignalGuard]:
        """Install the handlers (main thread only) and restore the previous ones afterwards."""
        if not in_main_thread():
            yield self
            return
        previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
        for signum in HELD_SIGNALS:
            signal.signal(signum, self._handle)
        if not self._installs:
            stopping.clear()  # a stop of an earlier session in this process is not this one's
            interrupt.clear()
        self._installs += 1
        try:
            yield self
        finally:
            self._installs -= 1
            restore_handlers(previous)
            if not self._installs:
                stopping.clear()
                interrupt.clear()
