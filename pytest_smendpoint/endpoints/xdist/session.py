"""Which side of a pytest-xdist run this process is, chosen once in pytest_configure: the
controller registers its coordinator, a worker its signal guard (its provider is
worker.worker_provider)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.endpoints.xdist.controller import (
    CONTROLLER_PLUGIN,
    Controller,
    is_controller,
)
from pytest_smendpoint.endpoints.xdist.shared import SessionGuard
from pytest_smendpoint.endpoints.xdist.worker import worker_share

if TYPE_CHECKING:
    from pytest_smendpoint.settings.options import Settings


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
