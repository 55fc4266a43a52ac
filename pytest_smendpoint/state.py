"""What the plugin keeps for a run in `config.stash`: the settings, the session's state (identity,
open resources, what happened to them) and the stop-signal guard. Shared by plugin.py's hooks
and fixtures.py's fixtures; nothing here deploys, reports or parses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.settings.options import Settings

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.provider import EndpointProvider
    from pytest_smendpoint.endpoints.signal_hooks import SignalStop


@dataclass
class SessionState:
    """What the plugin holds for the run: identity, open resources, what happened to them."""

    identity: SessionIdentity
    # Where endpoints come from, chosen once in pytest_configure: an xdist worker's share, or
    # None for this process (the provider module then loads on first use: start-up cost).
    chosen_provider: EndpointProvider | None = None
    open_stacks: list[contextlib.ExitStack] = field(default_factory=list)
    endpoints: list[EndpointRecord] = field(default_factory=list)
    # Per endpoint name, the invokers' counters (pytest_smendpoint.invoke.invoker.InvocationStats).
    invocation_stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # sm_metrics.record(name, value)
    worker_payloads: list[dict[str, Any]] = field(default_factory=list)  # from xdist workers
    # sm_compare calls (pytest_smendpoint.reporting.comparisons.ComparisonSummary).
    comparisons: list[Any] = field(default_factory=list)
    # sm_transform calls (pytest_smendpoint.aws.records.TransformRecord).
    transforms: list[Any] = field(default_factory=list)
    report: Any = None  # pytest_smendpoint.reporting.report.SessionReport, built at session end

    @contextlib.contextmanager
    def holding(self) -> Iterator[contextlib.ExitStack]:
        """An exit stack closed by the fixture, or by the safety net if the fixture never is."""
        stack = contextlib.ExitStack()
        self.open_stacks.append(stack)
        try:
            with stack:
                yield stack
        finally:
            if stack in self.open_stacks:
                self.open_stacks.remove(stack)

    @property
    def provider(self) -> EndpointProvider:
        if self.chosen_provider is None:
            from pytest_smendpoint.endpoints.provider import InProcessProvider

            self.chosen_provider = InProcessProvider()
        return self.chosen_provider

    def close_leftovers(self) -> None:
        while self.open_stacks:
            self.open_stacks.pop().close()


# Said at collection (plugin.py) and by the sm_model fixture (fixtures.py) alike.
NO_MODEL_SOURCE = (
    "no model source is configured: give --sm-model-data with --sm-image-uri, "
    "--sm-training-job or --sm-existing-endpoint (or the sm_model_data, sm_training_job, "
    "sm_existing_endpoint ini keys), or override the sm_model fixture in a conftest.py"
)

SETTINGS_KEY = pytest.StashKey[Settings]()
STATE_KEY = pytest.StashKey[SessionState]()
# The stop-signal hooks; their guard (endpoints/signals.py), made and installed by sm_backend
# while resources are held.
GUARD_KEY: pytest.StashKey[SignalStop] = pytest.StashKey()
