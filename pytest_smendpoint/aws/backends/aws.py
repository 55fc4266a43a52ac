"""Real AWS, as boto3 resolves credentials, region and AWS_ENDPOINT_URL. SageMaker serves its
own endpoints; under pytest-xdist every worker opens it on its own (the account is shared)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pytest_smendpoint.aws.backends import Backend, RunClients, open_backend, opened_clients

if TYPE_CHECKING:
    from pytest_smendpoint.settings.options import Settings


class AwsKind:
    region_fallback: str | None = None  # boto3 must name one (or --sm-region)
    unrecorded_serving = "SageMaker"  # SageMaker's own containers serve the endpoints

    @contextlib.contextmanager
    def open(self, settings: Settings) -> Iterator[Backend]:
        import boto3

        from pytest_smendpoint.aws.lifecycle import NoServing

        session = boto3.Session(region_name=settings.region)
        if not session.region_name:
            from pytest_smendpoint.errors import SmEndpointError

            raise SmEndpointError(
                "--sm-backend=aws needs a region: give --sm-region or set AWS_DEFAULT_REGION"
            )
        yield Backend("aws", session.region_name, session, NoServing())

    def start_run_server(self, settings: Settings) -> Any:
        return None

    @contextlib.contextmanager
    def open_for_worker(
        self, settings: Settings, server_url: str | None, region: str | None
    ) -> Iterator[Backend]:
        with open_backend(settings) as backend:
            yield backend

    def run_clients(
        self, settings: Settings, server: Any
    ) -> contextlib.AbstractContextManager[RunClients]:
        return opened_clients(settings)


KIND = AwsKind()
