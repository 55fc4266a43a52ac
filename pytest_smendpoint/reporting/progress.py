"""Deploy progress in the terminal: a real deploy takes minutes, and people need to see it move.

On a TTY one status line is rewritten in place at every poll and ended with a newline once the
endpoint settles. Elsewhere (CI logs, where `\\r` makes a mess) a plain line is written when the
status changes and every `interval` seconds while it does not. The lifecycle calls the object
with `(status, elapsed)` at every poll; everything goes through pytest's terminal reporter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from pytest_smendpoint.aws.resources import ENDPOINT_STATUSES, TRANSFORM_JOB_STATUSES

CI_INTERVAL_SECONDS = 30.0


class TerminalWriter(Protocol):
    """What progress needs of pytest's TerminalReporter (tests pass a fake)."""

    def ensure_newline(self) -> None: ...

    def rewrite(self, line: str, **markup: bool) -> None: ...

    def write(self, content: str, **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...


class DeployProgress:
    """The `on_status` callback of one deploy."""

    # The statuses a poll may still see change; any other ends the line.
    passing: frozenset[str] = ENDPOINT_STATUSES.transitional

    def __init__(
        self,
        writer: TerminalWriter | None,
        *,
        tty: bool,
        endpoint: str = "",
        instances: str = "",
        interval: float = CI_INTERVAL_SECONDS,
        uncaptured: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        self.writer = writer
        self.uncaptured = uncaptured
        self.tty = tty
        self.endpoint = endpoint
        self.instances = instances
        self.interval = interval
        self._last_status: str | None = None
        self._last_written = 0.0
        self._line_open = False

    @classmethod
    def for_reporter(cls, reporter: Any, capture_manager: Any, instances: str) -> DeployProgress:
        """Bound to pytest's terminal reporter (None when `-p no:terminal`, or on xdist workers,
        which have none: then nothing is shown). The deploy runs inside a test's setup, where
        pytest captures output: the writes go around the capture, as pytest's live logs do."""
        tty = bool(reporter is not None and reporter.isatty())
        uncaptured = getattr(capture_manager, "global_and_fixture_disabled", contextlib.nullcontext)
        return cls(
            reporter,
            tty=tty,
            instances=instances,
            uncaptured=uncaptured,
        )

    def writing(self) -> dict[str, Any]:
        """Where and how this progress writes: what a line of another kind (a transform job's,
        an asynchronous request's) shares with the session's deploy lines."""
        return {
            "writer": self.writer,
            "tty": self.tty,
            "interval": self.interval,
            "uncaptured": self.uncaptured,
        }

    def describe(self, plan: Any) -> None:
        """Name the endpoint and its instances from the plan actually deployed (a
        before_deploy hook may have changed it)."""
        self.endpoint = plan.endpoint_name
        self.instances = plan.capacity

    def line(self, status: str, elapsed: float) -> str:
        endpoint = f"endpoint {self.endpoint}" if self.endpoint else "endpoint"
        instances = f" ({self.instances})" if self.instances else ""
        return f"smendpoint: {endpoint} {status} after {elapsed:.0f} s{instances}"

    def __call__(self, status: str, elapsed: float) -> None:
        if self.writer is None:
            return
        with self.uncaptured():
            self._show(status, elapsed)

    def _show(self, status: str, elapsed: float) -> None:
        assert self.writer is not None
        # Settled: InService, Failed, OutOfService, ...
        settled = status not in self.passing
        text = self.line(status, elapsed)
        if self.tty:
            if not self._line_open:
                # Start on a line of our own: pytest may be mid-line ("test_x.py ").
                self.writer.ensure_newline()
                self._line_open = True
            self.writer.rewrite(text, erase=True)
            if settled:
                self.close()
            return
        changed = status != self._last_status
        if changed or settled or elapsed - self._last_written >= self.interval:
            self.writer.write_line(text)
            self._last_status = status
            self._last_written = elapsed

    def close(self) -> None:
        """End a rewritten line (a deploy that times out stops polling while still Creating)."""
        if self.writer is not None and self._line_open:
            with self.uncaptured():
                self.writer.write("\n")
            self._line_open = False


class TransformProgress(DeployProgress):
    """The `on_status` callback of one sm_transform job: its status, and how many of its
    objects are answered (`done()`, read at each poll)."""

    passing = TRANSFORM_JOB_STATUSES.transitional

    def __init__(
        self, base: DeployProgress, job_name: str, instances: str, done: Callable[[], str]
    ) -> None:
        super().__init__(**base.writing(), endpoint=job_name, instances=instances)
        self.done = done

    def line(self, status: str, elapsed: float) -> str:
        return (
            f"smendpoint: transform job {self.endpoint} {status} after {elapsed:.0f} s "
            f"({self.instances}; {self.done()})"
        )


class AsyncRequestProgress(DeployProgress):
    """The `on_status` callback of one asynchronous request that is taking a while (sm_invoke
    on an asynchronous endpoint): InProgress until its output or failure object appears."""

    passing = frozenset({"InProgress"})

    def __init__(self, base: DeployProgress, endpoint: str, inference_id: str, rows: str) -> None:
        super().__init__(**base.writing(), endpoint=endpoint, instances=rows)
        self.inference_id = inference_id

    def line(self, status: str, elapsed: float) -> str:
        return (
            f"smendpoint: asynchronous request {self.inference_id} to endpoint {self.endpoint} "
            f"{status} after {elapsed:.0f} s ({self.instances})"
        )
