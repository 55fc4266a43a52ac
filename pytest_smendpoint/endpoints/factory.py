"""More endpoints in one session: `sm_endpoint_factory(**overrides)`, deployed concurrently.

Each configuration (`overrides.DeploymentSettings`) is deployed once per session, on a thread
of its own with its own SageMaker client, so several endpoints spend their `Creating` minutes
side by side; all of them are torn down when the factory closes, at the session's end. The
session's own endpoint is the default configuration (no overrides), opened on the caller's
thread. Where an endpoint lives (this process or the xdist run) is the provider's business.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_smendpoint.endpoints.overrides import (
    DeploymentSettings,
    OverrideError,
    deployment_settings,
    env_masked,
)
from pytest_smendpoint.errors import SmEndpointError
from pytest_smendpoint.settings.options import RESOURCE_NAME, Settings

if TYPE_CHECKING:  # imported at collection: nothing that brings botocore in
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.provider import Opener

# Deploys spend their time waiting for InService, not computing: threads are the right tool.
MAX_PARALLEL_DEPLOYS = 8
NAME_MAX = 63  # SageMaker's limit for endpoint, endpoint config and model names


class EndpointFactory:
    """Deploys the session's endpoints, one per configuration, and tears them all down on close.

    `factory(**overrides)` returns the EndpointRecord (deploying it the first time that
    configuration is asked for; no overrides: the session's own endpoint);
    `factory.many([...])` deploys several at once; `factory.deploy(**overrides)` returns a
    Future without waiting.
    """

    def __init__(
        self,
        settings: Settings,
        opener: Opener,
        *,
        name_base: str,
        base_dir: Path,
        default_model: Callable[[], Any] | None = None,
        max_workers: int = MAX_PARALLEL_DEPLOYS,
        source: str = "sm_endpoint_factory",
        suffix: Callable[[DeploymentSettings], str] | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self._opener = opener
        self._name_base = name_base
        self._base_dir = base_dir
        self._default_model = default_model
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._cache: dict[Hashable, Future[EndpointRecord]] = {}
        self._held = contextlib.ExitStack()  # every deployment's exit, closed last-in first-out
        self._executor: ThreadPoolExecutor | None = None
        self._numbers = itertools.count(2)  # the session's own endpoint is the first
        # How a generated name ends: `-2`, `-3`, ... in order of first use, unless told
        # otherwise (under pytest-xdist, `configuration_suffix`: the same in every worker).
        self._suffix = suffix or (lambda config: f"-{next(self._numbers)}")
        self._closed = False
        self._released = False

    def __call__(self, **overrides: Any) -> EndpointRecord:
        overrides = env_masked(overrides)  # what a long traceback shows of this frame
        return self.deploy(**overrides).result()

    def deploy(self, **overrides: Any) -> Future[EndpointRecord]:
        """Start deploying this configuration (or return the deploy already started for it)."""
        overrides = env_masked(overrides)
        return self.submit(self.configure(overrides))

    def many(self, configurations: Sequence[Mapping[str, Any]]) -> list[EndpointRecord]:
        """Deploy several configurations concurrently; every one is checked before any starts.

        Waits for all of them; the first failure is raised (the others stay deployed and are
        torn down with the rest at the session's end)."""
        configurations = [env_masked(overrides) for overrides in configurations]
        configs = [self.configure(overrides) for overrides in configurations]
        futures = [self.submit(config) for config in configs]
        wait(futures)
        return [future.result() for future in futures]

    def configure(
        self, overrides: Mapping[str, Any], source: str | None = None
    ) -> DeploymentSettings:
        """The checked configuration these overrides describe (no AWS call)."""
        return deployment_settings(
            self.settings, overrides, source=source or self.source, base_dir=self._base_dir
        )

    def submit(self, config: DeploymentSettings) -> Future[EndpointRecord]:
        with self._lock:
            if self._closed:
                raise SmEndpointError("sm_endpoint_factory is closed: the session is ending")
            future = self._cache.get(config.key)
            if future is None:
                # Fixture look-ups and name numbering happen here, on the caller's thread.
                named = self._with_model(config)
                if config.overrides:  # the default configuration keeps the settings' names
                    named = self._named(named)
                future = self._pool().submit(self._open, named, self._opener)
                self._cache[config.key] = future
            return future

    def open_default(self, opener: Opener | None = None) -> EndpointRecord:
        """The session's own endpoint: the configuration without overrides, under the
        settings' names, deployed on this thread so that Ctrl-C and signals reach its wait.
        `opener` replaces the factory's for it (the session's endpoint has a progress line)."""
        config = self.configure({})
        with self._lock:
            if self._closed:
                raise SmEndpointError("sm_endpoint_factory is closed: the session is ending")
            future = self._cache.get(config.key)
            mine = future is None
            if future is None:
                future = self._cache[config.key] = Future()
        if mine:
            try:
                future.set_result(self._open(self._with_model(config), opener or self._opener))
            except BaseException as error:  # every later ask sees the same failure
                future.set_exception(error)
                raise
        return future.result()

    def close(self) -> None:
        """Wait for deploys in flight (an endpoint cannot be deleted while Creating), then
        tear down every endpoint, the last deployed first. After a stop signal that wait is
        short: each deploy stops waiting for InService and deletes what it created
        (signal_holding.stopping, aws/waiting.py)."""
        with self._lock:
            self._closed = True
            executor = self._executor
        try:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        finally:
            with self._lock:
                self._released = True
            self._held.close()

    def __enter__(self) -> EndpointFactory:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self._max_workers, thread_name_prefix="smendpoint-deploy"
            )
        return self._executor

    def _with_model(self, config: DeploymentSettings) -> DeploymentSettings:
        if config.has_own_source:
            return config
        if self._default_model is None:
            raise OverrideError(
                f"{self.source}: no model to deploy; give model=, model_data=, training_job= "
                "or existing_endpoint="
            )
        return dataclasses.replace(config, model=self._default_model())

    def _named(self, config: DeploymentSettings) -> DeploymentSettings:
        """Unique names: `<session endpoint name><suffix>` and `<that>-model`, unless given."""
        endpoint_name = config.overrides.get("endpoint_name") or _suffixed(
            self._name_base, self._suffix(config)
        )
        model_name = config.overrides.get("model_name")
        if model_name is None and not _names_itself(config):
            model_name = _suffixed(endpoint_name, "-model")
        settings = dataclasses.replace(
            config.settings, endpoint_name=endpoint_name, model_name=model_name
        )
        return dataclasses.replace(config, settings=settings)

    def _open(self, config: DeploymentSettings, opener: Opener) -> EndpointRecord:
        """Deploy, then hand the teardown to the factory."""
        deployment = contextlib.ExitStack()
        record = deployment.enter_context(opener(config))
        with self._lock:
            released = self._released
            if not released:
                self._held.push(deployment)
        if released:  # the factory was torn down while this deploy was in flight
            deployment.close()
        return record


def _names_itself(config: DeploymentSettings) -> bool:
    """A model object given with `model=` keeps its own name, if it has one."""
    return "model" in config.overrides and bool(getattr(config.model, "name", None))


def _suffixed(base: str, suffix: str) -> str:
    name = base[: NAME_MAX - len(suffix)] + suffix
    assert RESOURCE_NAME.match(name), name
    return name
