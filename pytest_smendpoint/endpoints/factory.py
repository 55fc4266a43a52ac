"""More endpoints in one session: `sm_endpoint_factory(**overrides)`, deployed concurrently.

A configuration is the session's settings with some of them overridden (checked by the options'
own rules) and, optionally, another model. Each configuration is deployed once per session, on
a thread of its own with its own SageMaker client, so several endpoints spend their `Creating`
minutes side by side; all of them are torn down when the factory closes, at the session's end.
Under pytest-xdist a configuration is named from itself and deployed through the worker share
(`xdist_sharing.py`): once for the whole run, deleted by the controller after every worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from pytest_smendpoint.errors import SmEndpointError
from pytest_smendpoint.settings.options import RESOURCE_NAME, Settings, validate_overrides

if TYPE_CHECKING:  # imported at collection: nothing that brings botocore in
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.lifecycle import EndpointPlan, EndpointRecord
    from pytest_smendpoint.aws.resolve import AwsContext, ModelSpec
    from pytest_smendpoint.endpoints.xdist_sharing import WorkerShare
    from pytest_smendpoint.settings.naming import SessionIdentity

# The settings an endpoint may override, plus `model`: what `sm_model` may return.
MODEL_SOURCES = ("model", "model_data", "training_job", "existing_endpoint")
ENDPOINT_OVERRIDES = (
    *MODEL_SOURCES,
    "image_uri",
    "role",
    "env",
    "endpoint_name",
    "model_name",
    "instance_type",
    "instance_count",
    "model_data_download_timeout",
    "container_startup_health_check_timeout",
    "deploy_timeout",
)
# Deploys spend their time waiting for InService, not computing: threads are the right tool.
MAX_PARALLEL_DEPLOYS = 8
NAME_MAX = 63  # SageMaker's limit for endpoint, endpoint config and model names


class OverrideError(SmEndpointError, ValueError):
    """An endpoint override breaks the rule of the option it stands for."""


@dataclass(frozen=True)
class EndpointConfig:
    """One endpoint's configuration: the session's settings with the overrides applied."""

    settings: Settings
    overrides: Mapping[str, Any]  # the validated overridden values (and `model` if given)
    model: Any = None  # what to deploy; None: resolve the source the settings name

    @property
    def has_own_source(self) -> bool:
        """True when the overrides say what to deploy (the session's model is not needed)."""
        return any(name in self.overrides for name in MODEL_SOURCES)

    @property
    def key(self) -> Hashable:
        """Equal for equal configurations: the factory deploys each one once per session."""
        return tuple(sorted((name, _frozen(value)) for name, value in self.overrides.items()))


def endpoint_config(
    base: Settings, overrides: Mapping[str, Any], *, source: str, base_dir: Path
) -> EndpointConfig:
    """Check overrides by the options' rules and apply them to the session's settings.

    Unknown names raise TypeError; bad values raise OverrideError with the option's message.
    A None value leaves the session's setting as it is. `base_dir` anchors a relative path.
    """
    unknown = sorted(set(overrides) - set(ENDPOINT_OVERRIDES))
    if unknown:
        raise TypeError(
            f"{source} got unknown override{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; known: {', '.join(ENDPOINT_OVERRIDES)}"
        )
    given = {name: value for name, value in overrides.items() if value is not None}
    sources = [name for name in MODEL_SOURCES if name in given]
    if len(sources) > 1:
        both = "both" if len(sources) == 2 else "all"
        raise OverrideError(
            f"{' and '.join(sources)} are {both} given ({source}): choose one model source"
        )
    options = {name: value for name, value in given.items() if name != "model"}
    raw = dict(options)
    if "env" in raw:
        if not isinstance(raw["env"], Mapping):
            raise OverrideError(
                f"env={raw['env']!r} ({source}): must be a mapping of variable names to values"
            )
        raw["env"] = [f"{key}={value}" for key, value in raw["env"].items()]
    if "model_data" in raw and "image_uri" not in raw and base.image_uri:
        raw["image_uri"] = base.image_uri  # the session's image serves the new artifacts
    try:
        checked = validate_overrides(raw, source, base_dir)
    except ValueError as error:
        raise OverrideError(str(error)) from None
    values = {name: getattr(checked, name) for name in options}
    changes = dict(values)
    if "env" in values:
        changes["env"] = MappingProxyType({**base.env, **values["env"]})
    if sources:  # a source of its own replaces the session's, as the command line's does the ini's
        for name in MODEL_SOURCES[1:]:
            changes.setdefault(name, None)
    if "model" in given:
        values["model"] = given["model"]
    return EndpointConfig(
        dataclasses.replace(base, **changes), MappingProxyType(values), given.get("model")
    )


def override_id(overrides: Mapping[str, Any]) -> str:
    """A test id for a marker's overrides: `instance_type=ml.c5.xlarge-instance_count=2`."""
    return "-".join(f"{name}={_shown(value)}" for name, value in overrides.items()) or "default"


def item_overrides(item: Any) -> tuple[Mapping[str, Any] | None, str]:
    """The overrides a test's `sm_endpoint` is parametrized with (by the marker or indirectly),
    and what to call their source in messages; (None, "") for the session's own endpoint."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "sm_endpoint" not in params:
        return None, ""
    marker = item.get_closest_marker("sm_endpoint")
    if marker is not None and marker.args:
        raise TypeError(
            f"{item.nodeid}: @pytest.mark.sm_endpoint takes keyword arguments only, "
            "e.g. @pytest.mark.sm_endpoint(instance_type='ml.c5.xlarge')"
        )
    where = "sm_endpoint parameter" if marker is None else "@pytest.mark.sm_endpoint"
    value = params["sm_endpoint"]
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(
            f"{item.nodeid}: an {where} is a dict of overrides (or None for the session's "
            f"endpoint), not {type(value).__name__}"
        )
    return (value or None), where


def checked_item_overrides(
    settings: Settings, items: Sequence[Any], base_dir: Path
) -> dict[str, EndpointConfig]:
    """Every selected test's endpoint configuration, checked at collection (nodeid -> config),
    so a bad override stops the run before anything is deployed."""
    configs: dict[str, EndpointConfig] = {}
    for item in items:
        overrides, where = item_overrides(item)
        if overrides is None:
            continue
        try:
            configs[item.nodeid] = endpoint_config(
                settings, overrides, source=where, base_dir=base_dir
            )
        except (TypeError, OverrideError) as error:
            raise type(error)(f"{item.nodeid}: {error}") from None
    return configs


Opener = Callable[[EndpointConfig], "contextlib.AbstractContextManager[EndpointRecord]"]


class EndpointFactory:
    """Deploys endpoints for further configurations and tears them all down on close.

    `factory(**overrides)` returns the EndpointRecord (deploying it the first time that
    configuration is asked for); `factory.many([...])` deploys several at once;
    `factory.deploy(**overrides)` returns a Future without waiting.
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
        suffix: Callable[[EndpointConfig], str] | None = None,
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
        return self.deploy(**overrides).result()

    def deploy(self, **overrides: Any) -> Future[EndpointRecord]:
        """Start deploying this configuration (or return the deploy already started for it)."""
        return self.submit(self.configure(overrides))

    def many(self, configurations: Sequence[Mapping[str, Any]]) -> list[EndpointRecord]:
        """Deploy several configurations concurrently; every one is checked before any starts.

        Waits for all of them; the first failure is raised (the others stay deployed and are
        torn down with the rest at the session's end)."""
        configs = [self.configure(dict(overrides)) for overrides in configurations]
        futures = [self.submit(config) for config in configs]
        wait(futures)
        return [future.result() for future in futures]

    def configure(self, overrides: Mapping[str, Any], source: str | None = None) -> EndpointConfig:
        """The checked configuration these overrides describe (no AWS call)."""
        return endpoint_config(
            self.settings, overrides, source=source or self.source, base_dir=self._base_dir
        )

    def submit(self, config: EndpointConfig) -> Future[EndpointRecord]:
        with self._lock:
            if self._closed:
                raise SmEndpointError("sm_endpoint_factory is closed: the session is ending")
            future = self._cache.get(config.key)
            if future is None:
                # Fixture look-ups and name numbering happen here, on the caller's thread.
                named = self._named(self._with_model(config))
                future = self._pool().submit(self._open, named)
                self._cache[config.key] = future
            return future

    def close(self) -> None:
        """Wait for deploys in flight (an endpoint cannot be deleted while Creating), then
        tear down every endpoint, the last deployed first."""
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

    def _with_model(self, config: EndpointConfig) -> EndpointConfig:
        if config.has_own_source:
            return config
        if self._default_model is None:
            raise OverrideError(
                f"{self.source}: no model to deploy; give model=, model_data=, training_job= "
                "or existing_endpoint="
            )
        return dataclasses.replace(config, model=self._default_model())

    def _named(self, config: EndpointConfig) -> EndpointConfig:
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

    def _open(self, config: EndpointConfig) -> EndpointRecord:
        """On a pool thread: deploy, then hand the teardown to the factory."""
        deployment = contextlib.ExitStack()
        record = deployment.enter_context(self._opener(config))
        with self._lock:
            released = self._released
            if not released:
                self._held.push(deployment)
        if released:  # the factory was torn down while this deploy was in flight
            deployment.close()
        return record


# -- the session's way of opening one configuration -------------------------------------------


@dataclass(frozen=True)
class DeployHooks:
    """What the session does around each deployment (its pytest hooks, its summary)."""

    adjust: Callable[[Any, EndpointPlan], Any] | None = None
    on_status: Callable[[str, float], None] | None = None
    listed: Callable[[EndpointRecord], None] | None = None  # in use here (deployed or shared)
    deployed: Callable[[EndpointRecord], None] | None = None  # deployed by this process
    tearing_down: Callable[[EndpointRecord], None] | None = None

    @classmethod
    def of(cls, config: Any, endpoints: list[EndpointRecord]) -> DeployHooks:
        """The plugin's own hooks, called as for the session's endpoint, and its summary list.
        (No progress line: several deploys at once would overwrite each other's.)"""
        hook = config.hook

        def adjust(model: Any, plan: EndpointPlan) -> Any:
            return hook.pytest_smendpoint_before_deploy(config=config, model=model, plan=plan)

        def deployed(record: EndpointRecord) -> None:
            hook.pytest_smendpoint_after_deploy(config=config, endpoint=record)

        def tearing_down(record: EndpointRecord) -> None:
            hook.pytest_smendpoint_before_teardown(config=config, endpoint=record)

        return cls(
            adjust=adjust, listed=endpoints.append, deployed=deployed, tearing_down=tearing_down
        )


def name_base(settings: Settings, identity: SessionIdentity, *, per_worker: bool = True) -> str:
    """What factory endpoints' names start with: the session endpoint's name and, when each
    pytest-xdist worker deploys its own (`per_worker`), the worker's id (every worker of a
    run shares the session id)."""
    base = settings.endpoint_name or identity.name("endpoint")
    worker = os.environ.get("PYTEST_XDIST_WORKER") if per_worker else None
    return f"{base}-{worker}" if worker else base


def serialized(backend: Backend) -> Backend:
    """The backend with a boto3 session whose `client()` calls take turns (idempotent)."""
    # boto3 clients are thread-safe, boto3 sessions are not: clients are made one at a time.
    if isinstance(backend.boto_session, _SerialSession):
        return backend
    return dataclasses.replace(
        backend, boto_session=_SerialSession(backend.boto_session, threading.Lock())
    )


def configuration_suffix(
    backend: Backend, identity: SessionIdentity
) -> Callable[[EndpointConfig], str]:
    """Name suffixes for pytest-xdist: `-<8 hex>` from the configuration itself (overrides and
    the resolved model), so every worker names a configuration alike and can share it. A model
    object is keyed by its resolved ModelSpec: an SDK object cannot be compared across processes."""
    serial = serialized(backend)
    clients: list[Any] = []  # one SageMaker client, made on first need (SDK objects only)

    def suffix(config: EndpointConfig) -> str:
        from pytest_smendpoint.aws.resolve import from_user_object
        from pytest_smendpoint.endpoints.deployment import aws_context
        from pytest_smendpoint.endpoints.xdist_sharing import model_material

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
        text = json.dumps(material, sort_keys=True, default=str)
        return "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]

    return suffix


def session_opener(
    backend: Backend,
    identity: SessionIdentity,
    hooks: DeployHooks,
    share: WorkerShare | None = None,
) -> Opener:
    """Open a configuration in the session's backend, as `sm_endpoint` opens its own; with a
    pytest-xdist `share`, through it: the first worker deploys, the controller deletes."""
    serial = serialized(backend)

    @contextlib.contextmanager
    def open_configured(config: EndpointConfig) -> Iterator[EndpointRecord]:
        from pytest_smendpoint.aws.resolve import resolve_from_settings
        from pytest_smendpoint.endpoints.deployment import aws_context, open_endpoint

        # Local model data is uploaded under the endpoint's own key, not the session's one.
        aws = dataclasses.replace(
            aws_context(serial, identity, serial.client("sagemaker")),
            key_prefix=f"pytest-smendpoint/{identity.session_id}/{config.settings.endpoint_name}",
        )
        model = config.model
        if model is None and share is not None:  # resolved (and uploaded) once per run
            model = share.model(
                lambda: resolve_from_settings(config.settings, aws),
                name=f"model-{config.settings.endpoint_name}",
            )
        elif model is None:
            model = resolve_from_settings(config.settings, aws)

        def adjust(target: ModelSpec, plan: EndpointPlan) -> Any:
            target = _overridden(target, config, aws)
            adjusted = hooks.adjust(target, plan) if hooks.adjust is not None else None
            return adjusted if adjusted is not None else (target, plan)

        if share is not None:  # nothing to tear down here: the xdist controller deletes it
            record, deployed_here = share.endpoint(
                model,
                settings=config.settings,
                backend=serial,
                identity=identity,
                adjust=adjust,
                on_status=hooks.on_status,
            )
            if hooks.listed is not None:
                hooks.listed(record)
            if deployed_here and hooks.deployed is not None:
                hooks.deployed(record)
            yield record
            return
        with contextlib.ExitStack() as stack:
            record = stack.enter_context(
                open_endpoint(
                    model,
                    settings=config.settings,
                    backend=serial,
                    identity=identity,
                    adjust=adjust,
                    on_status=hooks.on_status,
                )
            )
            if hooks.tearing_down is not None:
                stack.callback(hooks.tearing_down, record)
            if hooks.listed is not None:
                hooks.listed(record)
            if hooks.deployed is not None:
                hooks.deployed(record)
            yield record

    return open_configured


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


def _overridden(target: ModelSpec, config: EndpointConfig, aws: AwsContext) -> ModelSpec:
    """Image, environment and role overrides apply to any model, even one from `sm_model`."""
    from pytest_smendpoint.aws.resolve import role_arn

    overrides = config.overrides
    changes: dict[str, Any] = {}
    if "image_uri" in overrides:
        changes["image_uri"] = overrides["image_uri"]
    if "env" in overrides:
        changes["environment"] = MappingProxyType({**target.environment, **overrides["env"]})
    if "role" in overrides:
        changes["role_arn"] = role_arn(overrides["role"], aws)
    return dataclasses.replace(target, **changes) if changes else target


def _names_itself(config: EndpointConfig) -> bool:
    """A model object given with `model=` keeps its own name, if it has one."""
    return "model" in config.overrides and bool(getattr(config.model, "name", None))


def _suffixed(base: str, suffix: str) -> str:
    name = base[: NAME_MAX - len(suffix)] + suffix
    assert RESOURCE_NAME.match(name), name
    return name


def _frozen(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))  # a model object: the same object, the same endpoint
    return value


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return type(value).__name__
