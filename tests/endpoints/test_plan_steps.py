"""A deployment's plan steps: applied in order in one loop, each a value; the before_deploy hook
step keeps pytest's "None means unchanged"; xdist's announcement comes last."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_smendpoint.aws.records import EndpointPlan
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.endpoints.plan import (
    BeforeDeployHook,
    Deployment,
    Described,
    Overridden,
    planned,
)
from pytest_smendpoint.endpoints.xdist.worker import Announced
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.settings.options import Settings

MODEL = ModelSpec(image_uri="image:1", role_arn="arn:aws:iam::1:role/r", model_data_url="s3://b/m")
PLAN = EndpointPlan(endpoint_name="ep", config_name="ep", model_name="m")


def _hook_config(answer: Any, calls: list[tuple[Any, Any]]) -> Any:
    def before_deploy(config: Any, model: Any, plan: Any) -> Any:
        calls.append((model, plan))
        return answer

    return SimpleNamespace(hook=SimpleNamespace(pytest_smendpoint_before_deploy=before_deploy))


def test_steps_apply_in_order_each_seeing_the_last_ones_result() -> None:
    def bigger(model: ModelSpec, plan: EndpointPlan) -> tuple[ModelSpec, EndpointPlan]:
        return model, dataclasses.replace(plan, instance_count=plan.instance_count * 3)

    def one_more(model: ModelSpec, plan: EndpointPlan) -> tuple[ModelSpec, EndpointPlan]:
        return model, dataclasses.replace(plan, instance_count=plan.instance_count + 1)

    assert planned((bigger, one_more), MODEL, PLAN)[1].instance_count == 4
    assert planned((one_more, bigger), MODEL, PLAN)[1].instance_count == 6
    assert planned((), MODEL, PLAN) == (MODEL, PLAN)


def test_the_hook_step_keeps_the_plan_when_the_hook_returns_none() -> None:
    calls: list[tuple[Any, Any]] = []
    step = BeforeDeployHook(_hook_config(None, calls))
    assert step(MODEL, PLAN) == (MODEL, PLAN)
    assert calls == [(MODEL, PLAN)]


def test_the_hook_step_deploys_what_the_hook_returns() -> None:
    other = dataclasses.replace(PLAN, instance_type="ml.c5.xlarge")
    step = BeforeDeployHook(_hook_config((MODEL, other), []))
    assert step(MODEL, PLAN) == (MODEL, other)


def test_overrides_come_before_the_hook_and_the_progress_line_sees_the_hooks_plan(
    tmp_path: Path,
) -> None:
    from pytest_smendpoint.endpoints.overrides import deployment_settings

    config = deployment_settings(
        Settings(), {"image_uri": "image:2"}, source="test", base_dir=tmp_path
    )
    calls: list[tuple[Any, Any]] = []
    aws_context: Any = None  # read for a role override only
    hooked = dataclasses.replace(PLAN, instance_count=2)
    described: list[EndpointPlan] = []
    steps = (
        Overridden(config, aws_context),
        BeforeDeployHook(_hook_config((MODEL, hooked), calls)),
        Described(SimpleNamespace(describe=described.append)),
        Announced(tmp_path / "intent.json", "gw0"),
    )
    model, plan = planned(steps, MODEL, PLAN)
    assert calls[0][0].image_uri == "image:2"  # the hook saw the overridden model
    assert (model, plan) == (MODEL, hooked)  # and what it returned is deployed
    assert described == [hooked]
    intent = json.loads((tmp_path / "intent.json").read_text())
    assert (intent["endpoint_name"], intent["worker"]) == ("ep", "gw0")


def test_a_deployment_gains_a_step_at_the_end_and_stays_as_it_was() -> None:
    def first(model: ModelSpec, plan: EndpointPlan) -> tuple[ModelSpec, EndpointPlan]:
        return model, plan

    def last(model: ModelSpec, plan: EndpointPlan) -> tuple[ModelSpec, EndpointPlan]:
        return model, plan

    backend: Any = None  # not reached: nothing is deployed
    deployment = Deployment(MODEL, Settings(), backend, SessionIdentity.new())
    longer = deployment.then(first).then(last)
    assert longer.steps == (first, last)
    assert deployment.steps == ()
