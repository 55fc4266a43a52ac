"""The default backend: a moto-mocked account in this process, with the models served for real
behind it by the container emulator (serving/), which this package's adapter attaches to moto
(serving.py: hooks.py, routing.py, state.py). Nothing leaves the machine. Under pytest-xdist the
controller runs moto's server instead (server.py), the models served behind it, and every
worker uses that one account."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_smendpoint.aws.backends import (
    Backend,
    RunClients,
    open_backend,
    opened_clients,
    renewing,
)

if TYPE_CHECKING:
    from pytest_smendpoint.settings.options import Settings

MOTO_ACCOUNT_ID = "123456789012"
MOTO_DEFAULT_REGION = "us-east-1"
# Under moto any role ARN of the mocked account works; this one saves a flag in the quickstart.
MOTO_DEFAULT_ROLE = f"arn:aws:iam::{MOTO_ACCOUNT_ID}:role/pytest-smendpoint-moto"

# Under moto, nothing may leave the machine: these would point boto3 at a real account or a
# real endpoint, so they are unset for the session (and restored afterwards).
_ISOLATED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


class MotoKind:
    region_fallback: str | None = MOTO_DEFAULT_REGION
    # Every endpoint it deploys records its runtime: one without is an existing endpoint.
    unrecorded_serving = "not recorded"

    @contextlib.contextmanager
    def open(self, settings: Settings) -> Iterator[Backend]:
        import boto3

        region = _region(settings)
        with _isolated_environment(region):
            import moto

            from pytest_smendpoint.aws.backends.moto import closed_account
            from pytest_smendpoint.aws.backends.moto.compat import sdk_v3_compatibility
            from pytest_smendpoint.aws.backends.moto.routing import MOTO_CONFIG
            from pytest_smendpoint.aws.backends.moto.serving import MotoServing

            # moto types `config` as its DefaultConfig TypedDict; MOTO_CONFIG is the plain dict
            # of the sections it merges (routing.py).
            closed_account.install()
            mock = moto.mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
            mock.start()
            serving = MotoServing(
                region=region, account_id=MOTO_ACCOUNT_ID, **serving_options(settings)
            )
            try:
                serving.install()
                with sdk_v3_compatibility():
                    session = boto3.Session(region_name=region)
                    yield Backend("moto", region, session, serving, default_role=MOTO_DEFAULT_ROLE)
            finally:
                try:
                    serving.close()
                finally:
                    _forget_sdk_v3_clients()
                    mock.stop()
                    closed_account.arm()  # threads the tests left must not reach real AWS

    def start_run_server(self, settings: Settings) -> Any:
        """Moto's server on 127.0.0.1 with the models served behind it. It costs moto's import
        (about 1 s) in the controller, paid only under xdist."""
        import pytest

        from pytest_smendpoint.extras import MissingExtraError, require

        try:
            require("pytest -n with the moto backend (a shared moto server)", "xdist", "flask")
        except MissingExtraError as error:
            raise pytest.UsageError(str(error)) from None
        from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

        # The region as the in-process moto backend picks it.
        server = SharedMotoServer(_region(settings), MOTO_ACCOUNT_ID, **serving_options(settings))
        server.start()
        return server

    @contextlib.contextmanager
    def open_for_worker(
        self, settings: Settings, server_url: str | None, region: str | None
    ) -> Iterator[Backend]:
        if server_url:
            with shared_moto_backend(region or MOTO_DEFAULT_REGION, server_url) as backend:
                yield backend
        else:
            with open_backend(settings) as backend:
                yield backend

    @contextlib.contextmanager
    def run_clients(self, settings: Settings, server: Any) -> Iterator[RunClients]:
        if server is None:
            with opened_clients(settings) as clients:
                yield clients
            return
        import boto3
        from botocore.config import Config

        retries = Config(retries={"mode": "standard"})
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=server.region
        )
        url = server.url

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=url, config=retries)

        yield client, server.region, "moto", session


KIND = MotoKind()


def serving_options(settings: Settings) -> dict[str, Any]:
    """How the local serving loads models, from the settings: the keywords of MotoServing and
    of the xdist controller's SharedMotoServer alike."""
    from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy

    return {
        "serve_command": settings.serve_command,
        "startup_timeout": settings.container_startup_health_check_timeout,
        "serve_directory": Path(settings.serve_directory) if settings.serve_directory else None,
        "runtime_policy": RuntimePolicy(settings.image_packages, dict(settings.image_pythons)),
    }


@contextlib.contextmanager
def shared_moto_backend(region: str, server_url: str) -> Iterator[Backend]:
    """A pytest-xdist worker's moto account: the controller's moto server on 127.0.0.1, which
    also serves the models (server.py), so the serving hooks here only ask it what
    served an endpoint."""
    import boto3

    from pytest_smendpoint.aws.backends.moto.compat import sdk_v3_compatibility
    from pytest_smendpoint.aws.backends.moto.served_by import RemoteServing

    with _isolated_environment(region):
        # Every client made in this process goes to the shared server (restored afterwards).
        os.environ["AWS_ENDPOINT_URL"] = server_url
        try:
            with sdk_v3_compatibility():  # moto's empty dicts come over HTTP too
                session = boto3.Session(region_name=region)
                backend = Backend(
                    "moto",
                    region,
                    session,
                    RemoteServing(server_url),
                    default_role=MOTO_DEFAULT_ROLE,
                )
                with renewing(backend):
                    yield backend
        finally:
            _forget_sdk_v3_clients()


def _region(settings: Settings) -> str:
    """The session's region under moto: the settings', else boto3's, else us-east-1."""
    import boto3

    return settings.region or boto3.Session().region_name or MOTO_DEFAULT_REGION


@contextlib.contextmanager
def _isolated_environment(region: str) -> Iterator[None]:
    """Fake credentials and the region for every client the tests make; restore afterwards."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name in _ISOLATED_VARIABLES or name.startswith("AWS_ENDPOINT_URL"):
            del os.environ[name]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            # A profile in ~/.aws/config may name endpoints or credential processes.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _forget_sdk_v3_clients() -> None:
    """SDK v3's SageMakerClient caches clients process-wide (the first one made becomes the
    default): a cached one would outlive the mock and point later code at a dead account."""
    utils = sys.modules.get("sagemaker.core.utils.utils")
    client_cache = getattr(utils, "SageMakerClient", None)
    if client_cache is not None and hasattr(client_cache, "reset"):
        client_cache.reset()
