"""Where the session's AWS calls go: one module per backend, each a `BackendKind` named as the
`--sm-backend` choice it serves (settings/options.py `BACKENDS`, the registry): moto/ (a
mocked account in this process, its models served for real) and aws.py (real AWS). Every kind
hands out the same `Backend`; everything above this package is the same code for all of them.

Light on purpose: the report header asks a kind for its region fallback in every run, so
boto3, botocore and moto load only when a backend opens.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pytest_smendpoint.aws.lifecycle import ServingHooks
    from pytest_smendpoint.aws.liveness import LivenessMark
    from pytest_smendpoint.settings.options import Settings

# A pytest-xdist controller's clients for the run's account: a client maker, the region, the
# backend's name and the boto3 session (whose credentials are masked in the logs).
RunClients = tuple[Callable[[str], Any], str, str, Any]


def _liveness_mark() -> LivenessMark:
    from pytest_smendpoint.aws.liveness import LivenessMark

    return LivenessMark()


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
    liveness: LivenessMark = field(default_factory=_liveness_mark)
    # The role of a model that names none (a mocked account's); None: a role must be given.
    default_role: str | None = None

    def client(self, service: str, **config: Any) -> Any:
        """A client with botocore's standard retry mode (throttling retried with backoff), and
        any other botocore Config settings the caller names."""
        from botocore.config import Config

        return self.boto_session.client(
            service,
            region_name=self.region,
            config=Config(retries={"mode": "standard"}, **config),
        )


class BackendKind(Protocol):
    """One backend: how a session opens it, and how a pytest-xdist run shares one account."""

    # The region when neither --sm-region nor boto3 names one (None: boto3 must name one).
    region_fallback: str | None
    # What the report says served an endpoint whose record names no runtime.
    unrecorded_serving: str

    def open(self, settings: Settings) -> contextlib.AbstractContextManager[Backend]:
        """This process's backend, for the session (closed after its last endpoint)."""
        ...

    def start_run_server(self, settings: Settings) -> Any:
        """On an xdist controller: a server every worker uses (one account for the run, with
        `url`, `region` and `stop()`), or None when each worker opens the backend itself."""
        ...

    def open_for_worker(
        self, settings: Settings, server_url: str | None, region: str | None
    ) -> contextlib.AbstractContextManager[Backend]:
        """An xdist worker's backend: the controller's server's account, when it runs one."""
        ...

    def run_clients(
        self, settings: Settings, server: Any
    ) -> contextlib.AbstractContextManager[RunClients]:
        """The xdist controller's clients for the account its workers used."""
        ...


def kind_of(name: str) -> BackendKind:
    """The backend module named `name` (a `--sm-backend` choice, validated by the settings)."""
    kind: BackendKind = importlib.import_module(f"{__name__}.{name}").KIND
    return kind


@contextlib.contextmanager
def open_backend(settings: Settings) -> Iterator[Backend]:
    """Start the configured backend for the session and stop it afterwards."""
    with kind_of(settings.backend).open(settings) as backend, renewing(backend):
        yield backend


@contextlib.contextmanager
def renewing(backend: Backend) -> Iterator[Backend]:
    """The backend's liveness marks renewed until it closes (before a moto mock stops, so no
    renewal ever reaches past it)."""
    try:
        yield backend
    finally:
        backend.liveness.stop()


@contextlib.contextmanager
def opened_clients(settings: Settings) -> Iterator[RunClients]:
    """RunClients of a backend opened here, as the session opens it."""
    with open_backend(settings) as backend:
        yield backend.client, backend.region, backend.name, backend.boto_session
