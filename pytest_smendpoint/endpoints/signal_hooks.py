"""The pytest side of signals.py: the hooks that mark when the session is finishing, set the exit
code a stop signal asks for, and say in the terminal what teardown confirmed. plugin.py registers
one per session as the plugin "smendpoint-signals"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import pytest

from pytest_smendpoint.endpoints.signals import SignalGuard

PLUGIN_NAME = "smendpoint-signals"


class _Outcomes(Protocol):
    """What the terminal note reads of the session's state (state.SessionState)."""

    @property
    def endpoints(self) -> Sequence[Any]: ...

    @property
    def worker_payloads(self) -> Sequence[dict[str, Any]]: ...


class SignalStop:
    """SIGTERM/SIGHUP while resources are held (signals.py): an orderly stop, exit 128 + N."""

    def __init__(self, state: _Outcomes) -> None:
        self.guard = SignalGuard()
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        if nextitem is None:  # the last teardown takes the session's endpoint down too
            self.guard.finishing = True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        try:
            return (yield)
        finally:
            self.guard.finishing = True  # session-end teardown: a signal must not cut it short

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        if self.guard.exit_code is not None:
            session.exitstatus = self.guard.exit_code
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        state = self.state
        confirmed = [r.name for r in state.endpoints if getattr(r, "deletion_confirmed", None)]
        confirmed += [  # deleted by the xdist controller, reported by the workers
            entry.get("name")
            for payload in state.worker_payloads
            for entry in payload.get("endpoints", ())
            if entry.get("deletion_confirmed")
        ]
        for name in dict.fromkeys(confirmed):
            terminalreporter.write_line(
                f"smendpoint: deletion of {name} confirmed "
                "(DescribeEndpoint: not found or Deleting)"
            )
        note = self.guard.teardown_note()
        if note is not None:
            terminalreporter.write_line(note, red=True)
