"""The pytest side of signals.py: the hooks that mark when the session is finishing, set the exit
code a stop signal asks for, and say in the terminal what teardown confirmed. plugin.py registers
one per session as the plugin "smendpoint-signals". Its guard (signals.py) is made when a
fixture first holds resources: a suite that holds none never loads it (start-up cost)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
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
        self.state = state
        self._guard: SignalGuard | None = None
        self._finishing = False  # the test loop is over (also for a guard made after that)

    @property
    def guard(self) -> SignalGuard:
        """The session's guard, made on first use (sm_backend, the xdist session guard)."""
        if self._guard is None:
            from pytest_smendpoint.endpoints.signals import SignalGuard

            self._guard = SignalGuard()
            self._guard.finishing = self._finishing
        return self._guard

    def _finish(self) -> None:
        self._finishing = True
        if self._guard is not None:
            self._guard.finishing = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        if nextitem is None:  # the last teardown takes the session's endpoint down too
            self._finish()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        try:
            return (yield)
        finally:
            self._finish()  # session-end teardown: a signal must not cut it short

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        if self._guard is not None and self._guard.exit_code is not None:
            session.exitstatus = self._guard.exit_code
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
        note = self._guard.teardown_note() if self._guard is not None else None
        if note is not None:
            terminalreporter.write_line(note, red=True)
