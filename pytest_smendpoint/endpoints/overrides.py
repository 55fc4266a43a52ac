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
from pytest_smendpoint.settings.environment import ContainerEnvironment
from pytest_smendpoint.settings.options import Settings, validate_overrides

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
    # An SDK AsyncInferenceConfig (or its API mapping): the endpoint is asynchronous.
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
    sources = [name for name in MODEL_SOURCES if name in given]
    if len(sources) > 1:
        both = "both" if len(sources) == 2 else "all"
        raise OverrideError(
            f"{' and '.join(sources)} are {both} given ({source}): choose one model source"
        )
    options = {
        name: value
        for name, value in given.items()
        if name not in ("model", "async_inference_config")
    }
    raw = dict(options)
    async_options: dict[str, Any] = {}
    if "async_inference_config" in given:
        from pytest_smendpoint.aws.sdk_objects import async_inference_options
        from pytest_smendpoint.errors import ModelResolutionError

        try:
            async_options = async_inference_options(given["async_inference_config"])
        except ModelResolutionError as error:
            raise OverrideError(f"{error} ({source})") from None
        raw.update(async_options)
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
    changes = dict(values)
    if async_options:
        # The config's paths and concurrency; the session's invocation timeout (a per-request
        # setting, not the endpoint config's).
        made = checked.async_inference
        changes["async_inference"] = dataclasses.replace(
            base.async_inference,
            enabled=True,
            output_path=made.output_path,
            failure_path=made.failure_path,
            max_concurrent_invocations_per_instance=made.max_concurrent_invocations_per_instance,
        )
        values["async_inference_config"] = given["async_inference_config"]
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
