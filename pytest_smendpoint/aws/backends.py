"""Where the session's AWS calls go: a moto-mocked account in this process, or real AWS.

Both hand out a boto3 session and serving hooks; everything above them is the same code.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_smendpoint.aws.lifecycle import NoServing, ServingHooks
from pytest_smendpoint.aws.liveness import LivenessMark
from pytest_smendpoint.settings.options import Settings

MOTO_ACCOUNT_ID = "123456789012"
MOTO_DEFAULT_REGION = "us-east-1"

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


@dataclass
class Backend:
    """The session's view of AWS: which backend, region, boto3 session and serving hooks."""

    name: str
    region: str
    boto_session: Any  # boto3.Session
    serving: ServingHooks
    # s3:// URIs this process uploaded (model.tar.gz, sourcedir.tar.gz): deleted at teardown.
    uploads: list[str] = field(default_factory=list)
    # Keeps what this process created marked alive for a sweep until the backend closes.
    liveness: LivenessMark = field(default_factory=LivenessMark)

    def client(self, service: str) -> Any:
        """A client with botocore's standard retry mode (throttling retried with backoff)."""
        from botocore.config import Config

        return self.boto_session.client(
            service, region_name=self.region, config=Config(retries={"mode": "standard"})
        )


@contextlib.contextmanager
def open_backend(settings: Settings) -> Iterator[Backend]:
    """Start the configured backend for the session and stop it afterwards."""
    if settings.backend == "moto":
        with _moto_backend(settings) as backend, renewing(backend):
            yield backend
    else:
        backend = _aws_backend(settings)
        with renewing(backend):
            yield backend


@contextlib.contextmanager
def renewing(backend: Backend) -> Iterator[Backend]:
    """The backend's liveness marks renewed until it closes (before a moto mock stops, so no
    renewal ever reaches past it)."""
    try:
        yield backend
    finally:
        backend.liveness.stop()


def serving_options(settings: Settings) -> dict[str, Any]:
    """How the local serving loads models, from the settings: the keywords of LocalServing and
    of the xdist controller's SharedMotoServer alike."""
    from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy

    return {
        "serve_command": settings.serve_command,
        "startup_timeout": settings.container_startup_health_check_timeout,
        "serve_directory": Path(settings.serve_directory) if settings.serve_directory else None,
        "runtime_policy": RuntimePolicy(settings.image_packages, dict(settings.image_pythons)),
    }


def _aws_backend(settings: Settings) -> Backend:
    import boto3

    session = boto3.Session(region_name=settings.region)
    if not session.region_name:
        from pytest_smendpoint.errors import SmEndpointError

        raise SmEndpointError(
            "--sm-backend=aws needs a region: give --sm-region or set AWS_DEFAULT_REGION"
        )
    return Backend("aws", session.region_name, session, NoServing())


@contextlib.contextmanager
def _moto_backend(settings: Settings) -> Iterator[Backend]:
    import boto3

    region = settings.region or boto3.Session().region_name or MOTO_DEFAULT_REGION
    with _isolated_environment(region):
        import moto

        from pytest_smendpoint.serving import MOTO_CONFIG, LocalServing
        from pytest_smendpoint.serving.moto_compat import sdk_v3_compatibility

        mock = moto.mock_aws(config=MOTO_CONFIG)
        mock.start()
        serving = LocalServing(
            region=region, account_id=MOTO_ACCOUNT_ID, **serving_options(settings)
        )
        try:
            serving.install()
            with sdk_v3_compatibility():
                yield Backend("moto", region, boto3.Session(region_name=region), serving)
        finally:
            try:
                serving.close()
            finally:
                _forget_sdk_v3_clients()
                mock.stop()


@contextlib.contextmanager
def shared_moto_backend(region: str, server_url: str) -> Iterator[Backend]:
    """A pytest-xdist worker's moto account: the controller's moto server on 127.0.0.1, which
    also serves the models (serving/moto_server.py), so the serving hooks here only ask it what
    served an endpoint."""
    import boto3

    from pytest_smendpoint.serving.moto_compat import sdk_v3_compatibility
    from pytest_smendpoint.serving.served_by import RemoteServing

    with _isolated_environment(region):
        # Every client made in this process goes to the shared server (restored afterwards).
        os.environ["AWS_ENDPOINT_URL"] = server_url
        try:
            with sdk_v3_compatibility():  # moto's empty dicts come over HTTP too
                session = boto3.Session(region_name=region)
                backend = Backend("moto", region, session, RemoteServing(server_url))
                with renewing(backend):
                    yield backend
        finally:
            _forget_sdk_v3_clients()


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
