"""Hooks other plugins and conftests implement to take part in the endpoint's life."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord
    from pytest_smendpoint.aws.resolve import ModelSpec


@pytest.hookspec(firstresult=True)
def pytest_smendpoint_before_deploy(
    config: pytest.Config, model: ModelSpec, plan: EndpointPlan
) -> tuple[ModelSpec, EndpointPlan] | None:
    """Called with the resolved ModelSpec and EndpointPlan before anything is created.

    Return a `(model, plan)` pair to deploy something else (e.g. `dataclasses.replace(plan,
    instance_type=...)`), or None to keep them.
    """


@pytest.hookspec
def pytest_smendpoint_after_deploy(config: pytest.Config, endpoint: EndpointRecord) -> None:
    """Called with the EndpointRecord once the endpoint is InService (or attached)."""


@pytest.hookspec
def pytest_smendpoint_before_teardown(config: pytest.Config, endpoint: EndpointRecord) -> None:
    """Called with the EndpointRecord before the plugin deletes (or keeps) it."""
