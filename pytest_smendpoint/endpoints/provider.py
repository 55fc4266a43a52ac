"""One way to open an endpoint, two places it can live: this process, or the pytest-xdist run.

Every endpoint of a session (its own, a factory's, a marker's) is opened by the provider chosen
once in `pytest_configure`: `InProcessProvider` deploys and deletes in this process;
xdist/worker.py's `XdistWorkerProvider` deploys once for the whole run through the worker
share and leaves the deletion to the xdist controller. Both hand the factory the same kind of
opener, so nothing above this module asks which mode it is in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported at collection: nothing that brings botocore in
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.overrides import DeploymentSettings
    from pytest_smendpoint.endpoints.plan import Deployment, PlanStep
    from pytest_smendpoint.settings.naming import SessionIdentity
    from pytest_smendpoint.settings.options import Settings

Opener = Callable[["DeploymentSettings"], "contextlib.AbstractContextManager[EndpointRecord]"]
# The share key of the session's own model (a factory configuration's is its endpoint name).
SESSION_MODEL_KEY = "model"


@dataclass(frozen=True)
class DeployHooks:
    """What the session does around each deployment: the steps its plan goes through (its
    pytest hook, its progress line), and its summary and hooks once an endpoint is open."""

    steps: tuple[PlanStep, ...] = ()
    on_status: Callable[[str, float], None] | None = None
    listed: Callable[[EndpointRecord], None] | None = None  # in use here (deployed or shared)
    deployed: Callable[[EndpointRecord], None] | None = None  # deployed by this process
    tearing_down: Callable[[EndpointRecord], None] | None = None

    @classmethod
    def of(cls, config: Any, listed: Callable[[EndpointRecord], None]) -> DeployHooks:
        """The plugin's own hooks and its summary list, for every deployment alike.
        (No progress line: several deploys at once would overwrite each other's.)"""
        from pytest_smendpoint.endpoints.plan import BeforeDeployHook

        hook = config.hook

        def deployed(record: EndpointRecord) -> None:
            hook.pytest_smendpoint_after_deploy(config=config, endpoint=record)

        def tearing_down(record: EndpointRecord) -> None:
            hook.pytest_smendpoint_before_teardown(config=config, endpoint=record)

        return cls(
            steps=(BeforeDeployHook(config),),
            listed=listed,
            deployed=deployed,
            tearing_down=tearing_down,
        )

    def with_progress(self, progress: Any) -> DeployHooks:
        """The same hooks, reporting to a progress line (the session's own endpoint has one)."""
        from pytest_smendpoint.endpoints.plan import Described

        return dataclasses.replace(
            self, steps=(*self.steps, Described(progress)), on_status=progress
        )


@dataclass(frozen=True)
class Opened:
    """An endpoint as this process holds it."""

    record: EndpointRecord
    deployed_here: bool  # this process created it: after_deploy runs here
    torn_down_here: bool  # this process deletes it: before_teardown runs here


class EndpointProvider(Protocol):
    """Where this process's endpoints come from and who deletes them."""

    def identity(self, run_label: str | None) -> SessionIdentity: ...

    def open_backend(self, settings: Settings) -> contextlib.AbstractContextManager[Backend]: ...

    def resolved_model(self, resolve: Callable[[], Any], key: str) -> Any: ...

    def open(self, deployment: Deployment) -> contextlib.AbstractContextManager[Opened]: ...

    def name_base(self, settings: Settings, identity: SessionIdentity) -> str: ...

    def release_uploads(self, backend: Backend, settings: Settings) -> None: ...

    def name_suffix(
        self, backend: Backend, identity: SessionIdentity
    ) -> Callable[[DeploymentSettings], str] | None: ...


class InProcessProvider:
    """Deploy in this process; delete when the deployment closes."""

    def identity(self, run_label: str | None) -> SessionIdentity:
        from pytest_smendpoint.settings.naming import SessionIdentity

        return SessionIdentity.new(run_label)

    def open_backend(self, settings: Settings) -> contextlib.AbstractContextManager[Backend]:
        from pytest_smendpoint.aws.backends import open_backend

        return open_backend(settings)

    def resolved_model(self, resolve: Callable[[], Any], key: str) -> Any:
        return resolve()

    @contextlib.contextmanager
    def open(self, deployment: Deployment) -> Iterator[Opened]:
        from pytest_smendpoint.endpoints.deployment import open_endpoint

        with open_endpoint(deployment) as record:
            yield Opened(record, deployed_here=True, torn_down_here=True)

    def name_base(self, settings: Settings, identity: SessionIdentity) -> str:
        """The session endpoint's name and, when each pytest-xdist worker deploys its own
        (sharing turned off), the worker's id: every worker of a run shares the session id."""
        base = settings.endpoint_name or identity.name("endpoint")
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        return f"{base}-{worker}" if worker else base

    def name_suffix(
        self, backend: Backend, identity: SessionIdentity
    ) -> Callable[[DeploymentSettings], str] | None:
        return None  # the factory numbers its endpoints -2, -3, ... in order of first use

    def release_uploads(self, backend: Backend, settings: Settings) -> None:
        """Delete what this session uploaded to S3, after its endpoints are gone. Kept with
        --sm-keep-endpoint: the kept model points at them (the sweep removes them later)."""
        if not backend.uploads or settings.keep_endpoint:
            return
        from pytest_smendpoint.aws.uploads import delete_uploads, removal_commands
        from pytest_smendpoint.errors import TeardownError

        failures = delete_uploads(backend.client("s3"), backend.uploads)
        if failures:
            raise TeardownError(failures, removal_commands(backend.uploads))
        backend.uploads.clear()


def opener(
    provider: EndpointProvider,
    backend: Backend,
    identity: SessionIdentity,
    hooks: DeployHooks,
) -> Opener:
    """Open a configuration through `provider`, calling the session's hooks around it."""
    serial = with_serial_clients(backend)

    @contextlib.contextmanager
    def open_configured(config: DeploymentSettings) -> Iterator[EndpointRecord]:
        from pytest_smendpoint.aws.resolve import aws_context, resolve_from_settings
        from pytest_smendpoint.endpoints.plan import Deployment, Overridden

        session_default = not config.overrides
        aws = aws_context(serial, identity, serial.client("sagemaker"))
        if not session_default:  # a factory endpoint's local model data gets its own key
            aws = dataclasses.replace(
                aws, key_prefix=f"{aws.key_prefix}/{config.settings.endpoint_name}"
            )
        model = config.model
        if model is None:
            key = SESSION_MODEL_KEY if session_default else f"model-{config.settings.endpoint_name}"
            model = provider.resolved_model(
                lambda: resolve_from_settings(config.settings, aws), key
            )

        deployment = Deployment(
            model,
            config.settings,
            serial,
            identity,
            steps=(Overridden(config, aws), *hooks.steps),  # overrides first, then the hook
            on_status=hooks.on_status,
        )
        with contextlib.ExitStack() as stack:
            opened = stack.enter_context(provider.open(deployment))
            if opened.torn_down_here and hooks.tearing_down is not None:
                stack.callback(hooks.tearing_down, opened.record)
            if hooks.listed is not None:
                hooks.listed(opened.record)
            if opened.deployed_here and hooks.deployed is not None:
                hooks.deployed(opened.record)
            yield opened.record

    return open_configured


def with_serial_clients(backend: Backend) -> Backend:
    """The backend with a boto3 session whose `client()` calls take turns (idempotent)."""
    # boto3 clients are thread-safe, boto3 sessions are not: clients are made one at a time.
    if isinstance(backend.boto_session, _SerialSession):
        return backend
    return dataclasses.replace(
        backend, boto_session=_SerialSession(backend.boto_session, threading.Lock())
    )


def short_hash(material: Mapping[str, Any], length: int) -> str:
    """A configuration's identity, equal in every process: sha256 of its sorted JSON."""
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class _SerialSession:
    """A boto3 session whose `client()` calls take turns; everything else passes through."""

    def __init__(self, session: Any, lock: threading.Lock) -> None:
        self._session = session
        self._lock = lock

    def client(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._session.client(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)
