"""One endpoint per configuration for a whole pytest-xdist run, deleted once after the last worker.

The controller (which runs no tests) gives every worker the run's session identity, a directory
and, under moto, the URL of the moto server it runs with the models served behind it
(`serving/moto_server.py`). Workers coordinate with `filelock`, as pytest-xdist documents for
session fixtures that must run once: the first worker to take a configuration's lock deploys
and writes the record; the others wait on the lock and read it. No worker deletes anything: the
controller does at its session end, from the files workers wrote, once every worker has
finished or crashed. A worker killed mid-deploy releases its lock (the OS drops a dead
process's flock); the next worker removes what it had created (only what carries this run's
session tag) and deploys again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
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
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.tempdirs import XDIST_PREFIX, owned_path, remove_stale

if TYPE_CHECKING:
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord
    from pytest_smendpoint.endpoints.overrides import DeploymentSettings
    from pytest_smendpoint.settings.options import Settings

WORKERINPUT_KEY = "smendpoint"
CONTROLLER_PLUGIN = "smendpoint-xdist"  # `-p no:smendpoint-xdist`: every worker deploys its own
# Waiters give up this long after a deploy could have timed out on its own (--sm-deploy-timeout).
LOCK_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class RunShare:
    """What the controller hands every worker (through xdist's workerinput: plain values only)."""

    identity: dict[str, Any]
    directory: str
    server_url: str | None = None
    region: str | None = None

    def session_identity(self) -> SessionIdentity:
        return SessionIdentity(**self.identity)


def is_controller(config: pytest.Config) -> bool:
    """xdist will start workers from this process (not a worker, not -n0, not --collect-only)."""
    return (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly", False)
    )


def configure(config: pytest.Config, settings: Settings, state: Any) -> None:
    """On a controller, register the coordinator. (A worker's side is its provider:
    `XdistWorkerProvider`, which adopts the run's identity.) Both guard their whole
    session against stop signals."""
    if is_controller(config):
        controller = Controller(settings, state, config)
        if config.pluginmanager.register(controller, CONTROLLER_PLUGIN) is not None:
            controller.start()
    elif worker_share(config) is not None:
        config.pluginmanager.register(SessionGuard(config), "smendpoint-xdist-worker-signals")


def finish(session: pytest.Session) -> None:
    """At the controller's session end: release the run's endpoints (no-op elsewhere)."""
    controller = session.config.pluginmanager.get_plugin(CONTROLLER_PLUGIN)
    if isinstance(controller, Controller):
        controller.finish(session)


# -- signals ------------------------------------------------------------------------------


class SessionGuard:
    """The stop-signal guard (signals.py) over the whole session of an xdist process.

    A single process installs it when `sm_backend` starts; under xdist the controller holds the
    run's endpoints without ever using that fixture, and a CI runner signals the whole process
    group, workers included, at any moment. A SIGTERM, SIGHUP or Ctrl-C then stops the session
    in order: a worker tears down what it holds (it deletes nothing: the controller does), the
    controller shuts the workers down (xdist's own shutdown) and then deletes the run's
    endpoints. One that arrives while xdist brings the workers up is held until they are up and
    raised when the test loop starts: pytest runs no pytest_sessionfinish (xdist's shutdown,
    the deletion) for a session whose start was interrupted.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._installed = contextlib.ExitStack()
        self._pending: BaseException | None = None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Any:
        from pytest_smendpoint.aws.signal_holding import hold_signals

        stop = self.config.pluginmanager.get_plugin("smendpoint-signals")
        if stop is not None:
            self._installed.enter_context(stop.guard.installed())
        try:
            with hold_signals():  # delivered to the guard when the block ends
                return (yield)
        except KeyboardInterrupt as stopped:  # SessionStopped is one, as is Ctrl-C
            self._pending = stopped
            return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        stopped, self._pending = self._pending, None
        if stopped is not None:
            raise stopped

    def pytest_unconfigure(self) -> None:
        self._installed.close()


# -- controller ---------------------------------------------------------------------------


class Controller(SessionGuard):
    """The xdist controller's side: start the shared account, brief workers, clean up last."""

    def __init__(
        self,
        settings: Settings,
        state: Any,
        config: pytest.Config,
    ) -> None:
        super().__init__(config)
        self.settings = settings
        self.identity: SessionIdentity = state.identity
        self.state = state  # state.SessionState: what the session summary shows
        self.config = config
        # Made when the first worker is set up: a run that stops before that leaves none.
        # Named with this pid: a later run removes it if this one was killed (tempdirs.py).
        self.directory = owned_path(XDIST_PREFIX)
        self.server: Any = None
        self.region: str | None = None

    def start(self) -> None:
        """Under moto, start the shared server now: workers need its URL when they start.
        It costs moto's import (about 1 s) in this process, paid only under xdist."""
        remove_stale()  # what killed runs left in the temporary folder
        if self.settings.backend != "moto":
            return
        from pytest_smendpoint.extras import MissingExtraError, require

        try:
            require("pytest -n with the moto backend (a shared moto server)", "xdist", "flask")
        except MissingExtraError as error:
            raise pytest.UsageError(str(error)) from None
        import boto3

        from pytest_smendpoint.aws.backends import (
            MOTO_ACCOUNT_ID,
            MOTO_DEFAULT_REGION,
            serving_options,
        )
        from pytest_smendpoint.serving.moto_server import SharedMotoServer

        # The region as the in-process moto backend picks it.
        self.region = self.settings.region or boto3.Session().region_name or MOTO_DEFAULT_REGION
        self.server = SharedMotoServer(
            self.region, MOTO_ACCOUNT_ID, **serving_options(self.settings)
        )
        self.server.start()

    def pytest_configure_node(self, node: Any) -> None:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        run = RunShare(
            identity=dataclasses.asdict(self.identity),
            directory=str(self.directory),
            server_url=self.server.url if self.server is not None else None,
            region=self.region,
        )
        node.workerinput[WORKERINPUT_KEY] = dataclasses.asdict(run)

    def finish(self, session: pytest.Session) -> None:
        """Delete what workers deployed, then stop the server. Called from plugin.py's trylast
        pytest_sessionfinish: after xdist's own has shut the workers down, before the report."""
        try:
            failed = self.release_all()
            failed = self.release_uploads() or failed
        finally:
            self.close()
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self) -> None:
        try:
            self.close()  # a net: sessionfinish did not run (an error at start-up)
        finally:
            super().pytest_unconfigure()

    def release_all(self) -> bool:
        """Delete what workers deployed or began to deploy; True if something could not be."""
        intents = sorted(self.directory.glob("*.intent.json"))
        if not intents:
            return False
        from pytest_smendpoint.aws.deletion import confirm_gone
        from pytest_smendpoint.aws.records import EndpointRecord
        from pytest_smendpoint.errors import TeardownError

        with self._sagemaker() as (sagemaker, region, backend_name):
            failed = False
            for intent_path in intents:
                key = intent_path.name.removesuffix(".intent.json")
                intent = json.loads(intent_path.read_text())
                record_path = self.directory / f"{key}.record.json"
                if record_path.exists():
                    record = _record_from_json(record_path.read_text())
                else:  # deploy never finished: report what was (maybe) created
                    record = EndpointRecord(
                        name=intent["endpoint_name"],
                        config_name=intent["config_name"],
                        model_names=(intent["model_name"],),
                        region=region,
                        backend=backend_name,
                        deploy_seconds=0.0,
                        owned=True,
                        source="an interrupted deploy",
                    )
                if not record.owned or (self.settings.keep_endpoint and record_path.exists()):
                    self._report(record)
                    continue
                self.config.hook.pytest_smendpoint_before_teardown(
                    config=self.config, endpoint=record
                )
                try:
                    deleted = release(
                        sagemaker, region, backend_name, intent, checked=not record_path.exists()
                    )
                except TeardownError as error:
                    record.teardown = TeardownStatus.FAILED
                    record.manual_commands = error.commands
                    failed = True
                else:
                    record.teardown = TeardownStatus.DELETED
                    record.manual_commands = []
                    if not record_path.exists() and not deleted:
                        continue  # nothing had been created: nothing to report
                    if record_path.exists() or f"endpoint {record.name}" in deleted:
                        # As a single process does: DescribeEndpoint says it is gone.
                        record.deletion_confirmed = confirm_gone(sagemaker, record.name)
                self._report(record)
            return failed

    def _report(self, record: EndpointRecord) -> None:
        """Workers report the endpoint with their own sm_invoke counters (report.py); give
        their entries the teardown that happened here, or report it here if none did."""
        entries = [
            entry
            for payload in getattr(self.state, "worker_payloads", ())
            for entry in payload.get("endpoints", ())
            if entry.get("name") == record.name
        ]
        for entry in entries:
            entry["teardown"] = record.teardown
            entry["manual_commands"] = list(record.manual_commands)
            entry["deletion_confirmed"] = record.deletion_confirmed
        if not entries:
            self.state.endpoints.append(record)

    def release_uploads(self) -> bool:
        """Delete what workers uploaded to S3 (they handed the URIs over); True on a failure,
        which is reported with the commands that finish the job."""
        from pytest_smendpoint.aws.uploads import (
            delete_uploads,
            is_session_upload,
            removal_commands,
        )
        from pytest_smendpoint.errors import TeardownError

        uris = [
            uri
            for path in sorted(self.directory.glob("uploads.*.json"))
            for uri in json.loads(path.read_text())["uploads"]
        ]
        # A worker killed before its session end handed nothing over, but the models it
        # resolved for the run are in the share: their uploads are found there.
        for path in sorted(self.directory.glob("model*.json")):
            data = json.loads(path.read_text())
            environment = data.get("environment") or {}
            for uri in (data.get("model_data_url"), environment.get("SAGEMAKER_SUBMIT_DIRECTORY")):
                if uri and is_session_upload(uri, self.identity.session_id):
                    uris.append(uri)
        if not uris or self.settings.keep_endpoint:
            return False

        with self._clients() as (client, _, _):
            failures = delete_uploads(client("s3"), uris)
        if failures:
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            message = str(TeardownError(failures, removal_commands(uris)))
            if reporter is not None:
                reporter.write_line(message, red=True)
        return bool(failures)

    @contextlib.contextmanager
    def _sagemaker(self) -> Iterator[tuple[Any, str, str]]:
        """A SageMaker client for the account workers used: the shared server, or AWS."""
        with self._clients() as (client, region, backend_name):
            yield client("sagemaker"), region, backend_name

    @contextlib.contextmanager
    def _clients(self) -> Iterator[tuple[Callable[[str], Any], str, str]]:
        """Clients for the account workers used (the shared server, or AWS), its region and
        the backend's name; credentials and --sm-env values masked in log records, as the
        workers' are (redaction.py)."""
        from botocore.config import Config

        from pytest_smendpoint.aws.redaction import credentials_redacted

        retries = Config(retries={"mode": "standard"})
        if self.server is not None:
            import boto3

            region = self.region or self.server.region
            session = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
            )
            url = self.server.url

            def client(service: str) -> Any:
                return session.client(service, endpoint_url=url, config=retries)

            with credentials_redacted(session, also=self.settings.env.values()):
                yield client, region, "moto"
            return
        from pytest_smendpoint.aws.backends import open_backend

        with (
            open_backend(self.settings) as backend,
            credentials_redacted(backend.boto_session, also=self.settings.env.values()),
        ):
            yield backend.client, backend.region, backend.name

    def close(self) -> None:
        server, self.server = self.server, None
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def release(
    sagemaker: Any, region: str, backend_name: str, intent: dict[str, Any], *, checked: bool
) -> list[str]:
    """Delete what an intent names. `checked`: the deploy did not finish, so delete only what
    carries this run's session tag (a user-given name may belong to someone else)."""
    from pytest_smendpoint.aws.lifecycle import Lifecycle
    from pytest_smendpoint.aws.resources import (
        ENDPOINT,
        ENDPOINT_CONFIG,
        MODEL,
        carries_session_tag,
    )

    session_id = intent["session_id"]
    names = {
        "endpoint": intent["endpoint_name"],
        "config": intent["config_name"],
        "model": intent["model_name"],
    }
    if checked:
        kinds = {"endpoint": ENDPOINT, "config": ENDPOINT_CONFIG, "model": MODEL}
        names = {
            key: name
            for key, name in names.items()
            if carries_session_tag(sagemaker, kinds[key], name, session_id)
        }
    lifecycle = Lifecycle(sagemaker, region=region, backend=backend_name)
    return lifecycle.delete_for_session(
        names.get("endpoint"),
        names.get("config"),
        [names["model"]] if "model" in names else [],
        session_id,
    )


# -- workers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerShare:
    """A worker's view of the run: the shared account and the coordination directory."""

    run: RunShare
    worker_id: str

    @contextlib.contextmanager
    def open_backend(self, settings: Settings) -> Iterator[Backend]:
        """Under moto, the controller's server (one account for all workers); else as usual."""
        from pytest_smendpoint.aws.backends import open_backend, shared_moto_backend

        if settings.backend == "moto" and self.run.server_url:
            with shared_moto_backend(
                self.run.region or "us-east-1", self.run.server_url
            ) as backend:
                yield backend
        else:
            with open_backend(settings) as backend:
                yield backend

    def hand_over_uploads(self, uris: list[str]) -> None:
        """Tell the controller what this worker uploaded; it deletes them after every worker."""
        if uris:
            path = Path(self.run.directory) / f"uploads.{self.worker_id}.json"
            _write_json(path, {"uploads": list(uris)})

    def model(self, resolve: Callable[[], Any], name: str = "model") -> Any:
        """The settings' model, resolved (and a local folder packed and uploaded) once per run;
        `name` tells configurations apart (a factory endpoint's model is its own)."""
        from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec

        directory = Path(self.run.directory)
        with _lock(directory / f"{name}.lock", None):
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
                data = _spec_to_json(model)
            _write_json(cached, data)
            return model

    def endpoint(
        self,
        model_object: Any,
        *,
        settings: Settings,
        backend: Backend,
        identity: SessionIdentity,
        adjust: Callable[[Any, Any], Any] | None = None,
        on_status: Callable[[str, float], None] | None = None,
    ) -> tuple[EndpointRecord, bool]:
        """The run's endpoint for this configuration, and whether this worker deployed it.
        Nothing is deleted in a worker: the controller deletes it after every worker is done."""
        from pytest_smendpoint.aws.sdk_objects import from_user_object
        from pytest_smendpoint.endpoints.deployment import aws_context, open_endpoint
        from pytest_smendpoint.errors import SmEndpointError

        sagemaker = backend.client("sagemaker")
        target = from_user_object(model_object, settings, aws_context(backend, identity, sagemaker))
        key = config_key(target, settings, backend)
        directory = Path(self.run.directory)
        paths = {kind: directory / f"{key}.{kind}.json" for kind in ("intent", "record", "failed")}
        with _lock(directory / f"{key}.lock", settings.deploy_timeout + LOCK_MARGIN_SECONDS):
            if paths["record"].exists():
                record = _record_from_json(paths["record"].read_text())
                record.teardown = TeardownStatus.BY_CONTROLLER
                if record.owned:  # renewed here too: the deploying worker may die first
                    backend.liveness.hold_named(sagemaker, _resources(record))
                return record, False
            if paths["failed"].exists():
                raise SmEndpointError(
                    "the run's shared endpoint failed to deploy in another worker: "
                    + json.loads(paths["failed"].read_text())["error"]
                )
            if paths["intent"].exists():  # a worker died mid-deploy: remove what it created
                intent = json.loads(paths["intent"].read_text())
                release(sagemaker, backend.region, backend.name, intent, checked=True)

            def adjust_and_announce(model: Any, plan: EndpointPlan) -> Any:
                adjusted = adjust(model, plan) if adjust is not None else None
                final = adjusted[1] if adjusted is not None else plan
                # Written before anything is created, so nothing is ever created unannounced.
                _write_json(paths["intent"], _intent(final, self.worker_id))
                return adjusted

            # keep: leaving open_endpoint only marks the record; the controller deletes it.
            kept = dataclasses.replace(settings, keep_endpoint=True)
            try:
                with open_endpoint(
                    target,
                    settings=kept,
                    backend=backend,
                    identity=identity,
                    adjust=adjust_and_announce,
                    on_status=on_status,
                ) as record:
                    pass
            except Exception as error:  # the deploy failed (and cleaned up): nobody retries
                _write_json(paths["failed"], {"error": f"{type(error).__name__}: {error}"})
                raise
            if record.owned and not settings.keep_endpoint:
                record.teardown = TeardownStatus.PENDING
                record.manual_commands = []
            _write_json(paths["record"], _record_to_json(record))
            record.teardown = TeardownStatus.BY_CONTROLLER
            return record, True


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
    def open(
        self,
        model: Any,
        *,
        settings: Settings,
        backend: Backend,
        identity: SessionIdentity,
        adjust: Callable[[Any, Any], Any] | None,
        on_status: Callable[[str, float], None] | None,
    ) -> Iterator[Opened]:
        record, deployed_here = self.share.endpoint(
            model,
            settings=settings,
            backend=backend,
            identity=identity,
            adjust=adjust,
            on_status=on_status,
        )
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
    }
    return short_hash(material, 16)


def model_material(target: Any) -> dict[str, Any]:
    """A resolved model (ModelSpec or ExistingEndpoint) as plain data, equal in every process."""
    from pytest_smendpoint.aws.resolve import ExistingEndpoint

    if isinstance(target, ExistingEndpoint):
        return {"existing": target.name}
    return _spec_to_json(target)


def _spec_to_json(spec: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies, and the environment is a (unpicklable) mappingproxy.
    data = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    return {**data, "environment": dict(spec.environment)}


def _intent(plan: EndpointPlan, worker_id: str) -> dict[str, Any]:
    return {
        "endpoint_name": plan.endpoint_name,
        "config_name": plan.config_name,
        "model_name": plan.model_name,
        "session_id": plan.session_id,
        "worker": worker_id,
    }


def _resources(record: EndpointRecord) -> list[tuple[Any, str]]:
    from pytest_smendpoint.aws.resources import ENDPOINT, ENDPOINT_CONFIG, MODEL

    return [
        (ENDPOINT, record.name),
        (ENDPOINT_CONFIG, record.config_name),
        *((MODEL, name) for name in record.model_names),
    ]


def _record_to_json(record: EndpointRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)


def _record_from_json(text: str) -> EndpointRecord:
    from pytest_smendpoint.aws.records import EndpointRecord

    data = json.loads(text)
    data["model_names"] = tuple(data["model_names"])
    data["teardown"] = TeardownStatus(data["teardown"])
    return EndpointRecord(**data)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a reader never sees half a file (a worker may die while writing)."""
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data))
    os.replace(scratch, path)


@contextlib.contextmanager
def _lock(path: Path, timeout: float | None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    from pytest_smendpoint.errors import SmEndpointError

    lock = FileLock(str(path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise SmEndpointError(
            f"waited {timeout:.0f} s for another pytest-xdist worker to deploy the run's "
            f"endpoint ({path.name}); it is still holding the lock"
        ) from None
    try:
        yield
    finally:
        lock.release()


def configuration_suffix(
    backend: Backend, identity: SessionIdentity
) -> Callable[[DeploymentSettings], str]:
    """Name suffixes for pytest-xdist: `-<8 hex>` from the configuration itself (overrides and
    the resolved model), so every worker names a configuration alike and can share it. A model
    object is keyed by its resolved ModelSpec: an SDK object cannot be compared across processes."""
    serial = with_serial_clients(backend)
    clients: list[Any] = []  # one SageMaker client, made on first need (SDK objects only)

    def suffix(config: DeploymentSettings) -> str:
        from pytest_smendpoint.aws.sdk_objects import from_user_object
        from pytest_smendpoint.endpoints.deployment import aws_context

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
