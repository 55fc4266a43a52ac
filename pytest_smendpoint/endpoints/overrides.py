"""Per-endpoint overrides: checked by the options' own rules and applied to the session's settings.

A factory call, an `@pytest.mark.sm_endpoint` marker and an indirect `sm_endpoint` parameter all
describe one deployment the same way: the session's settings with some of them overridden and,
optionally, another model. This module turns such overrides into `DeploymentSettings` (no AWS call).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_smendpoint.errors import SmEndpointError
from pytest_smendpoint.settings.endpoint_kinds import (
    SERVERLESS_MEMORY_SIZES,
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
)
from pytest_smendpoint.settings.environment import ContainerEnvironment
from pytest_smendpoint.settings.options import Settings, validate_overrides

# The settings an endpoint may override, plus `model`: what `sm_model` may return.
MODEL_SOURCES = ("model", "model_data", "training_job", "existing_endpoint")
# The kind of endpoint, as overrides: each key -> (its option's name, the Settings group and the
# field it fills). `async` is a keyword, so the flag is `async_inference=` (the group's name).
# Giving a serverless key makes the endpoint serverless, an async key (async_inference=True)
# asynchronous; what a key leaves out comes from the session when the session's endpoint is of
# that kind. `endpoint_kind="real-time"` goes back to instances from a serverless or async session.
SERVERLESS_OVERRIDES = (
    "serverless_memory_mb",
    "serverless_max_concurrency",
    "serverless_provisioned_concurrency",
)
ASYNC_OVERRIDES = (
    "async_inference",
    "async_output_path",
    "async_failure_path",
    "async_max_concurrent_invocations",
    "async_invocation_timeout",
)
KIND_FIELDS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "serverless_memory_mb": ("serverless_memory_mb", "serverless", "memory_mb"),
        "serverless_max_concurrency": (
            "serverless_max_concurrency",
            "serverless",
            "max_concurrency",
        ),
        "serverless_provisioned_concurrency": (
            "serverless_provisioned_concurrency",
            "serverless",
            "provisioned_concurrency",
        ),
        "async_inference": ("async", "async_inference", "enabled"),
        "async_output_path": ("async_output_path", "async_inference", "output_path"),
        "async_failure_path": ("async_failure_path", "async_inference", "failure_path"),
        "async_max_concurrent_invocations": (
            "async_max_concurrent_invocations",
            "async_inference",
            "max_concurrent_invocations_per_instance",
        ),
        "async_invocation_timeout": (
            "async_invocation_timeout",
            "async_inference",
            "invocation_timeout",
        ),
    }
)
KIND_NAMES = tuple(kind.value for kind in EndpointKind)
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
    "endpoint_kind",
    "serverless_inference_config",
    *SERVERLESS_OVERRIDES,
    *ASYNC_OVERRIDES,
    # An SDK AsyncInferenceConfig (or the API's mapping): the async_* keys it stands for.
    "async_inference_config",
)


class OverrideError(SmEndpointError, ValueError):
    """An endpoint override breaks the rule of the option it stands for."""


@dataclass(frozen=True)
class DeploymentSettings:
    """What one deployment uses: the session's settings with the overrides applied (not to be
    confused with a SageMaker endpoint config)."""

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


def deployment_settings(
    base: Settings, overrides: Mapping[str, Any], *, source: str, base_dir: Path
) -> DeploymentSettings:
    """Check overrides by the options' rules and apply them to the session's settings.

    Unknown names raise TypeError; bad values raise OverrideError with the option's message.
    A None value leaves the session's setting as it is. `base_dir` anchors a relative path.
    """
    __tracebackhide__ = True  # pytest would print `overrides`, env values and all
    unknown = sorted(set(overrides) - set(ENDPOINT_OVERRIDES))
    if unknown:
        raise TypeError(
            f"{source} got unknown override{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; known: {', '.join(ENDPOINT_OVERRIDES)}"
        )
    given = {name: value for name, value in overrides.items() if value is not None}
    if "serverless_inference_config" in given:
        given.update(_from_sdk_config(given.pop("serverless_inference_config"), given, source))
    if "async_inference_config" in given:
        given.update(_from_async_config(given.pop("async_inference_config"), given, source))
    sources = [name for name in MODEL_SOURCES if name in given]
    if len(sources) > 1:
        both = "both" if len(sources) == 2 else "all"
        raise OverrideError(
            f"{' and '.join(sources)} are {both} given ({source}): choose one model source"
        )
    kind = _kind_asked(given, source)
    if kind is EndpointKind.SERVERLESS:
        instances = [name for name in ("instance_type", "instance_count") if name in given]
        if instances:
            raise OverrideError(
                f"{' and '.join(instances)} ({source}): a serverless endpoint has no instances "
                "(its ServerlessConfig replaces them)"
            )
    options = {
        name: value
        for name, value in given.items()
        if name not in ("model", "endpoint_kind") and name not in KIND_FIELDS
    }
    raw = dict(options)
    raw.update(_kind_raw(base, given, kind, source))
    if "env" in raw:
        if not isinstance(raw["env"], Mapping):
            raise OverrideError(
                f"env=<{type(raw['env']).__name__}, not shown> ({source}): "
                "must be a mapping of variable names to values"
            )
        raw["env"] = [f"{key}={value}" for key, value in raw["env"].items()]
    if "model_data" in raw and "image_uri" not in raw and base.image_uri:
        raw["image_uri"] = base.image_uri  # the session's image serves the new artifacts
    try:
        checked = validate_overrides(raw, source, base_dir)
    except ValueError as error:
        raise OverrideError(str(error)) from None
    values = {name: getattr(checked, name) for name in options}
    changes: dict[str, Any] = dict(values)
    if kind is not None:
        changes["serverless"] = (
            checked.serverless if kind is EndpointKind.SERVERLESS else ServerlessSettings()
        )
        changes["async_inference"] = (
            checked.async_inference if kind is EndpointKind.ASYNC else AsyncSettings()
        )
        values["endpoint_kind"] = kind.value
        for name in KIND_FIELDS:
            if name in given:
                _, group, field_name = KIND_FIELDS[name]
                values[name] = getattr(getattr(checked, group), field_name)
    if "env" in values:
        changes["env"] = ContainerEnvironment(base.env) | values["env"]
    if sources:  # a source of its own replaces the session's, as the command line's does the ini's
        for name in MODEL_SOURCES[1:]:
            changes.setdefault(name, None)
    if "model" in given:
        values["model"] = given["model"]
    return DeploymentSettings(
        dataclasses.replace(base, **changes), MappingProxyType(values), given.get("model")
    )


# The SDK's own serverless configuration, as `Model.deploy(serverless_inference_config=...)` (v2,
# `sagemaker.serverless.ServerlessInferenceConfig`) and `ModelBuilder.deploy(inference_config=...)`
# (v3, `sagemaker.core.inference_config.ServerlessInferenceConfig`) take it; v3's
# `sagemaker.core.shapes.ProductionVariantServerlessConfig` names its fields alike.
SDK_SERVERLESS_FIELDS = (
    ("memory_size_in_mb", "serverless_memory_mb"),
    ("max_concurrency", "serverless_max_concurrency"),
    ("provisioned_concurrency", "serverless_provisioned_concurrency"),
)


def _from_sdk_config(config: Any, given: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`serverless_inference_config=` (an SDK object, as `Model.deploy` takes it) as the
    serverless_* keys, checked then by the options' rules like any other."""
    kind = type(config).__name__
    if getattr(config, "memory_size_in_mb", None) is None:
        raise OverrideError(
            f"serverless_inference_config=<{kind}> ({source}): not a ServerlessInferenceConfig "
            "(SDK v2 sagemaker.serverless, SDK v3 sagemaker.core.inference_config): it has no "
            "memory_size_in_mb"
        )
    both = [key for _, key in SDK_SERVERLESS_FIELDS if key in given]
    if both:
        raise OverrideError(
            f"serverless_inference_config and {', '.join(both)} are both given ({source}): "
            "give the serverless configuration one way"
        )
    return {
        key: getattr(config, name)
        for name, key in SDK_SERVERLESS_FIELDS
        if getattr(config, name, None) is not None
    }


def _from_async_config(config: Any, given: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`async_inference_config=` (an SDK object, as `Model.deploy` takes it, or the API's
    mapping) as the async_* keys, checked then by the options' rules like any other."""
    from pytest_smendpoint.aws.sdk_objects import async_inference_options
    from pytest_smendpoint.errors import ModelResolutionError

    try:
        options = async_inference_options(config)
    except ModelResolutionError as error:
        raise OverrideError(f"{error} ({source})") from None
    both = [key for key in ASYNC_OVERRIDES if key in given]
    if both:
        raise OverrideError(
            f"async_inference_config and {', '.join(both)} are both given ({source}): "
            "give the asynchronous configuration one way"
        )
    keys = {"async": "async_inference"}  # the option's name -> the override's
    return {keys.get(name, name): value for name, value in options.items()}


def _kind_asked(given: Mapping[str, Any], source: str) -> EndpointKind | None:
    """The kind of endpoint the overrides ask for (None: the session's): `endpoint_kind=`, or
    what the serverless and async keys imply."""
    named = given.get("endpoint_kind")
    if named is not None and named not in KIND_NAMES:
        raise OverrideError(
            f"endpoint_kind={named!r} ({source}): must be one of {', '.join(KIND_NAMES)}"
        )
    serverless = any(name in given for name in SERVERLESS_OVERRIDES)
    asynchronous = given.get("async_inference") is True or any(
        name in given for name in ASYNC_OVERRIDES[1:]
    )
    implied = [
        kind
        for kind, asked in (
            (EndpointKind.SERVERLESS, serverless),
            (EndpointKind.ASYNC, asynchronous),
            (EndpointKind.REAL_TIME, given.get("async_inference") is False),
        )
        if asked
    ]
    if named is not None and any(kind.value != named for kind in implied):
        keys = ", ".join(n for n in (*SERVERLESS_OVERRIDES, *ASYNC_OVERRIDES) if n in given)
        raise OverrideError(
            f"endpoint_kind={named!r} and {keys} are both given ({source}): they ask for "
            "different kinds of endpoint"
        )
    if named is not None:
        return EndpointKind(named)
    if len(implied) > 1:  # the options' own rule names the clash (serverless and async)
        return EndpointKind.SERVERLESS
    return implied[0] if implied else None


def _kind_raw(
    base: Settings, given: Mapping[str, Any], kind: EndpointKind | None, source: str
) -> dict[str, Any]:
    """The raw option values of the kind asked for, checked by the options' rules together: the
    overridden ones, and the session's for the rest when its endpoint is of that kind."""
    raw: dict[str, Any] = {}
    if kind is None or kind is EndpointKind.REAL_TIME:
        return raw
    group = "serverless" if kind is EndpointKind.SERVERLESS else "async_inference"
    session = getattr(base, group)
    session_kind = base.endpoint_kind is kind
    for name, (option, owner, field_name) in KIND_FIELDS.items():
        if owner != group:
            continue
        if name in given:
            raw[option] = given[name]
        elif session_kind:
            value = getattr(session, field_name)
            if value is not None and value is not False:
                raw[option] = value
    if kind is EndpointKind.ASYNC:
        raw["async"] = True
    if kind is EndpointKind.SERVERLESS and "serverless_memory_mb" not in raw:
        sizes = ", ".join(map(str, SERVERLESS_MEMORY_SIZES))
        raise OverrideError(
            f"a serverless endpoint needs serverless_memory_mb, one of {sizes} ({source}): "
            "the session's endpoint is not serverless"
        )
    # Other serverless or async keys given together: checked by the options' rule between kinds.
    for name, (option, owner, _) in KIND_FIELDS.items():
        if owner != group and name in given:
            raw[option] = given[name]
    return raw


def env_masked(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides with an `env` mapping that prints masked (its values may be secrets);
    callers rebind their own argument to it, since pytest's tracebacks print frames' arguments."""
    copied = dict(overrides)
    if isinstance(copied.get("env"), Mapping):
        copied["env"] = ContainerEnvironment(copied["env"])
    return copied


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
) -> dict[str, DeploymentSettings]:
    """Every selected test's endpoint configuration, checked at collection (nodeid -> config),
    so a bad override stops the run before anything is deployed."""
    configs: dict[str, DeploymentSettings] = {}
    for item in items:
        overrides, where = item_overrides(item)
        if overrides is None:
            continue
        try:
            configs[item.nodeid] = deployment_settings(
                settings, overrides, source=where, base_dir=base_dir
            )
        except (TypeError, OverrideError) as error:
            raise type(error)(f"{item.nodeid}: {error}") from None
    return configs


def _frozen(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))  # a model object: the same object, the same endpoint
    hashable: Hashable = value
    return hashable


def _shown(value: Any) -> str:
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):  # an environment: its keys (values may be secrets)
        return ",".join(str(key) for key in value)
    return type(value).__name__
