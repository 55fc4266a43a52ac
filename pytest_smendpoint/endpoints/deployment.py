"""One endpoint for the session: from a resolved model to a record, and back to nothing.

`open_endpoint(deployment)` is the one deploy entry: the fixtures (through a provider), the
xdist worker, the baseline and the benchmarks all hand it a `plan.Deployment`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pytest_smendpoint.aws.diagnostics import deploy_diagnostics
from pytest_smendpoint.aws.endpoints import with_async_paths
from pytest_smendpoint.aws.lifecycle import Lifecycle
from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord
from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec, aws_context
from pytest_smendpoint.aws.sdk_objects import from_user_object
from pytest_smendpoint.endpoints.plan import Deployment, planned
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.settings.options import Settings


def plan_for(model: ModelSpec, settings: Settings, identity: SessionIdentity) -> EndpointPlan:
    """Names and instance settings; the endpoint config shares the endpoint's name, as the SDK's."""
    endpoint_name = settings.endpoint_name or identity.name("endpoint")
    return EndpointPlan(
        endpoint_name=endpoint_name,
        config_name=endpoint_name,
        model_name=settings.model_name or model.name or identity.name("model"),
        instance_type=settings.instance_type,
        instance_count=settings.instance_count,
        model_data_download_timeout=settings.model_data_download_timeout,
        container_startup_health_check_timeout=settings.container_startup_health_check_timeout,
        deploy_timeout=settings.deploy_timeout,
        session_id=identity.session_id,
        tags=tuple(identity.tags()),
        serverless=settings.serverless if settings.serverless.enabled else None,
        async_inference=settings.async_inference if settings.async_inference.enabled else None,
    )


@contextlib.contextmanager
def open_endpoint(deployment: Deployment) -> Iterator[EndpointRecord]:
    """Deploy what `sm_model` gave (or attach to an existing endpoint); clean up on exit.
    The plan goes through the deployment's steps, in order, before anything is created."""
    backend, settings = deployment.backend, deployment.settings
    sagemaker = backend.client("sagemaker")
    lifecycle = Lifecycle(
        sagemaker,
        region=backend.region,
        backend=backend.name,
        serving=backend.serving,
        on_status=deployment.on_status,
        diagnose=deploy_diagnostics(lambda: backend.client("logs")),  # made only on failure
        liveness=backend.liveness,
    )
    context = aws_context(backend, deployment.identity, sagemaker)
    target = from_user_object(deployment.model, settings, context)
    if isinstance(target, ExistingEndpoint):  # attached as it is: no plan, no steps
        with lifecycle.attached(target) as record:
            yield record
        return
    plan = plan_for(target, settings, deployment.identity)
    target, plan = planned(deployment.steps, target, plan)
    s3 = context.client("s3")
    plan, async_prefix = with_async_paths(
        plan, s3, context.client("sts"), context.region, context.key_prefix
    )
    lifecycle.refuse_existing(plan)  # nothing is created over a name someone else holds
    with contextlib.ExitStack() as stack:
        if async_prefix is not None and not settings.keep_endpoint:
            # After the endpoint is gone (nothing writes there any more): what any client's
            # asynchronous requests left under the session's own output and failure paths.
            stack.callback(_delete_async_data, s3, async_prefix)
        record = stack.enter_context(lifecycle.deployed(target, plan, keep=settings.keep_endpoint))
        yield record


def _delete_async_data(s3: Any, prefix: str) -> None:
    from pytest_smendpoint.aws.uploads import delete_under
    from pytest_smendpoint.errors import TeardownError

    failures = delete_under(s3, prefix)
    if failures:
        raise TeardownError(failures, [f"aws s3 rm --recursive {prefix}"])
