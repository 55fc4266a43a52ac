"""An xdist worker's side: the run's endpoints through the share (deployed by the first worker
that asks for a configuration, read by the others), deleted by the controller, never here."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.aws.records import TeardownStatus
from pytest_smendpoint.endpoints.provider import (
    EndpointProvider,
    InProcessProvider,
    Opened,
    short_hash,
    with_serial_clients,
)
from pytest_smendpoint.endpoints.xdist.shared import (
    LOCK_MARGIN_SECONDS,
    WORKERINPUT_KEY,
    RunShare,
    file_lock,
    intent_of,
    record_from_json,
    record_to_json,
    release,
    resources_of,
    spec_to_json,
    write_json,
)
from pytest_smendpoint.settings.naming import SessionIdentity

if TYPE_CHECKING:
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord
    from pytest_smendpoint.aws.resolve import ModelSpec
    from pytest_smendpoint.endpoints.overrides import DeploymentSettings
    from pytest_smendpoint.endpoints.plan import Deployment
    from pytest_smendpoint.settings.options import Settings


@dataclass(frozen=True)
class WorkerShare:
    """A worker's view of the run: the shared account and the coordination directory."""

    run: RunShare
    worker_id: str

    @contextlib.contextmanager
    def open_backend(self, settings: Settings) -> Iterator[Backend]:
        """The controller's server, when it runs one (one account for all workers: moto's);
        else as usual."""
        from pytest_smendpoint.aws.backends import kind_of

        kind = kind_of(settings.backend)
        with kind.open_for_worker(settings, self.run.server_url, self.run.region) as backend:
            yield backend

    def hand_over_uploads(self, uris: list[str]) -> None:
        """Tell the controller what this worker uploaded; it deletes them after every worker."""
        if uris:
            path = Path(self.run.directory) / f"uploads.{self.worker_id}.json"
            write_json(path, {"uploads": list(uris)})

    def model(self, resolve: Callable[[], Any], name: str = "model") -> Any:
        """The settings' model, resolved (and a local folder packed and uploaded) once per run;
        `name` tells configurations apart (a factory endpoint's model is its own)."""
        from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec

        directory = Path(self.run.directory)
        with file_lock(directory / f"{name}.lock", None):
            cached = directory / f"{name}.json"
            if cached.exists():
                data = json.loads(cached.read_text())
                if "existing" in data:
                    return ExistingEndpoint(data["existing"])
                return ModelSpec(**data)
            model = resolve()
            if isinstance(model, ExistingEndpoint):
                data = {"existing": model.name}
            else:
                data = spec_to_json(model)
            write_json(cached, data)
            return model

    def endpoint(self, deployment: Deployment) -> tuple[EndpointRecord, bool]:
        """The run's endpoint for this configuration, and whether this worker deployed it.
        Nothing is deleted in a worker: the controller deletes it after every worker is done."""
        from pytest_smendpoint.aws.resolve import aws_context
        from pytest_smendpoint.aws.sdk_objects import from_user_object
        from pytest_smendpoint.endpoints.deployment import open_endpoint
        from pytest_smendpoint.errors import SmEndpointError

        backend, settings = deployment.backend, deployment.settings
        sagemaker = backend.client("sagemaker")
        context = aws_context(backend, deployment.identity, sagemaker)
        target = from_user_object(deployment.model, settings, context)
        key = config_key(target, settings, backend)
        directory = Path(self.run.directory)
        paths = {kind: directory / f"{key}.{kind}.json" for kind in ("intent", "record", "failed")}
        with file_lock(directory / f"{key}.lock", settings.deploy_timeout + LOCK_MARGIN_SECONDS):
            if paths["record"].exists():
                record = record_from_json(paths["record"].read_text())
                record.teardown = TeardownStatus.BY_CONTROLLER
                if record.owned:  # renewed here too: the deploying worker may die first
                    backend.liveness.hold_named(sagemaker, resources_of(record))
                return record, False
            if paths["failed"].exists():
                raise SmEndpointError(
                    "the run's shared endpoint failed to deploy in another worker: "
                    + json.loads(paths["failed"].read_text())["error"]
                )
            if paths["intent"].exists():  # a worker died mid-deploy: remove what it created
                intent = json.loads(paths["intent"].read_text())
                release(sagemaker, backend.region, backend.name, intent, checked=True)

            # keep: leaving open_endpoint only marks the record; the controller deletes it.
            kept = dataclasses.replace(settings, keep_endpoint=True)
            announced = dataclasses.replace(deployment, model=target, settings=kept).then(
                Announced(paths["intent"], self.worker_id)
            )
            try:
                with open_endpoint(announced) as record:
                    pass
            except Exception as error:  # the deploy failed (and cleaned up): nobody retries
                write_json(paths["failed"], {"error": f"{type(error).__name__}: {error}"})
                raise
            if record.owned and not settings.keep_endpoint:
                record.teardown = TeardownStatus.PENDING
                record.manual_commands = []
            write_json(paths["record"], record_to_json(record))
            record.teardown = TeardownStatus.BY_CONTROLLER
            return record, True


@dataclass(frozen=True)
class Announced:
    """The last plan step under xdist: the final plan written to the intent file before
    anything is created, so nothing is ever created unannounced."""

    path: Path
    worker_id: str

    def __call__(self, model: ModelSpec, plan: EndpointPlan) -> tuple[ModelSpec, EndpointPlan]:
        write_json(self.path, intent_of(plan, self.worker_id))
        return model, plan


@dataclass(frozen=True)
class XdistWorkerProvider:
    """A pytest-xdist worker: one endpoint per configuration for the whole run, deployed by
    the first worker that asks, deleted by the controller after every worker is done."""

    share: WorkerShare

    def identity(self, run_label: str | None) -> SessionIdentity:
        return self.share.run.session_identity()  # every worker names and tags alike

    def open_backend(self, settings: Settings) -> contextlib.AbstractContextManager[Backend]:
        return self.share.open_backend(settings)

    def resolved_model(self, resolve: Callable[[], Any], key: str) -> Any:
        return self.share.model(resolve, name=key)  # resolved (and uploaded) once per run

    @contextlib.contextmanager
    def open(self, deployment: Deployment) -> Iterator[Opened]:
        record, deployed_here = self.share.endpoint(deployment)
        yield Opened(record, deployed_here=deployed_here, torn_down_here=False)

    def name_base(self, settings: Settings, identity: SessionIdentity) -> str:
        return settings.endpoint_name or identity.name("endpoint")

    def name_suffix(
        self, backend: Backend, identity: SessionIdentity
    ) -> Callable[[DeploymentSettings], str] | None:
        return configuration_suffix(backend, identity)

    def release_uploads(self, backend: Backend, settings: Settings) -> None:
        """Other workers may still deploy from these: the controller deletes them at the end."""
        self.share.hand_over_uploads(backend.uploads)


def worker_provider(config: pytest.Config) -> EndpointProvider:
    """The provider of an xdist worker: the run's share, or its own endpoints when the
    controller does not coordinate (`-p no:smendpoint-xdist`)."""
    share = worker_share(config)
    return XdistWorkerProvider(share) if share is not None else InProcessProvider()


def worker_share(config: pytest.Config) -> WorkerShare | None:
    """This process is an xdist worker of a run the controller coordinates (else None)."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or WORKERINPUT_KEY not in workerinput:
        return None
    return WorkerShare(RunShare(**workerinput[WORKERINPUT_KEY]), workerinput.get("workerid", "?"))


def config_key(target: Any, settings: Settings, backend: Backend) -> str:
    """Workers deploying the same model with the same settings share one endpoint: this is
    that identity (a resolved ModelSpec, not the SDK object, so it is the same in every process)."""
    material = {
        "model": model_material(target),
        "backend": backend.name,
        "region": backend.region,
        "endpoint_name": settings.endpoint_name,
        "model_name": settings.model_name,
        "instance_type": settings.instance_type,
        "instance_count": settings.instance_count,
        "model_data_download_timeout": settings.model_data_download_timeout,
        "container_startup_health_check_timeout": settings.container_startup_health_check_timeout,
        # A serverless or asynchronous endpoint is another configuration than instances alone.
        "serverless": dataclasses.asdict(settings.serverless),
        "async_inference": dataclasses.asdict(settings.async_inference),
    }
    return short_hash(material, 16)


def model_material(target: Any) -> dict[str, Any]:
    """A resolved model (ModelSpec or ExistingEndpoint) as plain data, equal in every process."""
    from pytest_smendpoint.aws.resolve import ExistingEndpoint

    if isinstance(target, ExistingEndpoint):
        return {"existing": target.name}
    return spec_to_json(target)


def configuration_suffix(
    backend: Backend, identity: SessionIdentity
) -> Callable[[DeploymentSettings], str]:
    """Name suffixes for pytest-xdist: `-<8 hex>` from the configuration itself (overrides and
    the resolved model), so every worker names a configuration alike and can share it. A model
    object is keyed by its resolved ModelSpec: an SDK object cannot be compared across processes."""
    serial = with_serial_clients(backend)
    clients: list[Any] = []  # one SageMaker client, made on first need (SDK objects only)

    def suffix(config: DeploymentSettings) -> str:
        from pytest_smendpoint.aws.resolve import aws_context
        from pytest_smendpoint.aws.sdk_objects import from_user_object

        material: dict[str, Any] = {
            name: dict(sorted(value.items())) if isinstance(value, Mapping) else value
            for name, value in config.overrides.items()
            if name != "model"
        }
        if config.model is not None:
            if not clients:
                clients.append(serial.client("sagemaker"))
            aws = aws_context(serial, identity, clients[0])
            material["model"] = model_material(from_user_object(config.model, config.settings, aws))
        return "-" + short_hash(material, 8)

    return suffix
