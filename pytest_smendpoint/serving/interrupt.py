"""A stop signal that arrived while a model loads: loading gives up at once.

The load runs inside moto's CreateEndpoint, which the session runs with its stop signals held
(endpoints/signals.py) so that no create is cut short. A held signal sets this flag; every wait
of a load (pip, the model process, a BYO server's /ping) polls it with short timeouts and gives
up, so CreateEndpoint returns (the endpoint Failed), the held signal is delivered, and the session
tears down. Process-wide, as signals are."""

from __future__ import annotations

import signal
import threading

from pytest_smendpoint.serving.errors import ModelLoadError

# How long a load's waits block before looking at the flag again.
POLL_SECONDS = 0.1

_requested = threading.Event()
_signal: list[int] = []


class LoadInterrupted(ModelLoadError):
    """A stop signal ended a model's load."""


def request_stop(signum: int) -> None:
    """Make every load in progress, and any started later, give up."""
    _signal[:] = [signum]
    _requested.set()


def clear() -> None:
    """A new session: an earlier stop is not this one's."""
    _signal.clear()
    _requested.clear()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise LoadInterrupted if a stop was asked for."""
    if _requested.is_set():
        name = signal.Signals(_signal[0]).name if _signal else "a stop signal"
        raise LoadInterrupted(f"loading was stopped: {name} received")
