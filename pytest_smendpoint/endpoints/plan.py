"""What one deployment needs, as one value, and the steps that shape its plan before anything
is created.

A `Deployment` carries the model to deploy, the settings, the backend, the session identity,
a status callback and a tuple of plan steps. `deployment.open_endpoint` resolves the model,
drafts the plan from the settings and passes the pair through every step in order: the
endpoint's overrides, the `pytest_smendpoint_before_deploy` hook, the progress line, and under
pytest-xdist the worker's announcement (xdist/worker.py appends it). A step is a value, not a
closure around the previous one, so a reader follows the plan down one loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported at collection: nothing that brings botocore in
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointPlan
    from pytest_smendpoint.aws.resolve import AwsContext, ModelSpec
    from pytest_smendpoint.endpoints.overrides import DeploymentSettings
    from pytest_smendpoint.settings.naming import SessionIdentity
    from pytest_smendpoint.settings.options import Settings

Planned = tuple["ModelSpec", "EndpointPlan"]


class PlanStep(Protocol):
    """One change to what is about to be deployed (or a look at it): takes the model and the
    plan, returns them (the same ones when it changes nothing)."""

    def __call__(self, model: ModelSpec, plan: EndpointPlan, /) -> Planned: ...


@dataclass(frozen=True)
class Deployment:
    """Everything one deployment needs: what to deploy, where, under which names, and the
    steps its plan goes through."""

    model: Any  # what `sm_model` gave: a ModelSpec, an ExistingEndpoint or an SDK object
    settings: Settings
    backend: Backend
    identity: SessionIdentity
    steps: tuple[PlanStep, ...] = ()
    on_status: Callable[[str, float], None] | None = None  # (status, seconds) while waiting

    def then(self, step: PlanStep) -> Deployment:
        """The same deployment with one more step, applied after the others."""
        return dataclasses.replace(self, steps=(*self.steps, step))


def planned(steps: Iterable[PlanStep], model: ModelSpec, plan: EndpointPlan) -> Planned:
    """The model and plan after every step, in order."""
    for step in steps:
        model, plan = step(model, plan)
    return model, plan


@dataclass(frozen=True)
class Overridden:
    """An endpoint's image, environment and role overrides: they apply to any model, even one
    from `sm_model`."""

    config: DeploymentSettings
    aws: AwsContext

    def __call__(self, model: ModelSpec, plan: EndpointPlan) -> Planned:
        overrides = self.config.overrides
        changes: dict[str, Any] = {}
        if "image_uri" in overrides:
            changes["image_uri"] = overrides["image_uri"]
        if "env" in overrides:
            from pytest_smendpoint.settings.environment import ContainerEnvironment

            changes["environment"] = ContainerEnvironment(model.environment) | overrides["env"]
        if "role" in overrides:
            from pytest_smendpoint.aws.resolve import role_arn

            changes["role_arn"] = role_arn(overrides["role"], self.aws)
        return (dataclasses.replace(model, **changes) if changes else model), plan


@dataclass(frozen=True)
class BeforeDeployHook:
    """`pytest_smendpoint_before_deploy`: a `(model, plan)` pair deploys something else; None
    (pytest's answer when no implementation returns one) keeps them."""

    config: Any  # the pytest.Config whose hooks are called

    def __call__(self, model: ModelSpec, plan: EndpointPlan) -> Planned:
        hook = self.config.hook
        adjusted = hook.pytest_smendpoint_before_deploy(config=self.config, model=model, plan=plan)
        return (model, plan) if adjusted is None else adjusted


@dataclass(frozen=True)
class Described:
    """The progress line names what is actually deployed (after the hook)."""

    progress: Any  # reporting/progress.py's DeployProgress

    def __call__(self, model: ModelSpec, plan: EndpointPlan) -> Planned:
        self.progress.describe(plan)
        return model, plan
