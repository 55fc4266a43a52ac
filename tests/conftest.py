"""Shared test fixtures: a moto server on 127.0.0.1 for the aws path, small real models, and an
audit conftest that reports what a pytester run left in its mocked account."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers.models import build_sklearn_model

from pytest_smendpoint.serving.runtimes.install import runtimes_root
from pytest_smendpoint.serving.runtimes.interpreters import pyenv_roots

with contextlib.suppress(ImportError):
    # SageMaker SDK v2 depends on the importlib_metadata backport, whose import deletes the stdlib
    # PathFinder.find_distributions and puts its own finder on sys.meta_path. Imported for the
    # first time inside an in-process pytester run, its finder is then removed again by
    # pytester's sys.meta_path snapshot, and every later run finds no entry points (so no
    # plugin). Importing it here, before any snapshot, keeps the finder in place.
    import importlib_metadata  # noqa: F401
# moto's server (flask, werkzeug) likewise: first imported inside an in-process pytester run
# (the moto backend's serving loads it), it is dropped again by pytester's sys.modules snapshot,
# and a later import makes second copies of werkzeug's classes. The server the tests share then
# fails every request with "Cannot normalize request of type LocalProxy" (an isinstance check
# against the other copy). Importing it here, before any snapshot, keeps one copy.
import moto.moto_server.werkzeug_app  # noqa: E402, F401

# Dropped into a pytester project: at session end, after the plugin's own teardown and before
# the mocked account goes away, it writes what is left there to $SM_AUDIT_FILE.
AUDIT_CONFTEST = """
import json, os
import pytest

@pytest.fixture(scope="session", autouse=True)
def _audit_account(sm_backend):
    yield
    sm = sm_backend.boto_session.client("sagemaker")
    left = {
        "endpoints": sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]),
        "configs": sorted(c["EndpointConfigName"]
                          for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        "models": sorted(m["ModelName"] for m in sm.list_models()["Models"]),
    }
    with open(os.environ["SM_AUDIT_FILE"], "w") as handle:
        json.dump(left, handle)
"""


# pytester points HOME at each test's own folder, so the image runtimes (a virtual environment
# of a few hundred MB per image, under ~/.cache) would be installed again for every run under
# test: they are shared from the cache this session would use.
IMAGE_RUNTIMES = str(runtimes_root())
# Likewise pyenv's folder, where the images' Pythons are found: ~/.pyenv is no longer home there
# (and tox passes PATH but not PYENV_ROOT).
PYENV_ROOTS = [str(root) for root in pyenv_roots()]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outside option or AWS setting leaks into the runs under test."""
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.setenv("PYTEST_SMENDPOINT_RUNTIME_CACHE", IMAGE_RUNTIMES)
    if PYENV_ROOTS and not os.environ.get("PYENV_ROOT"):
        monkeypatch.setenv("PYENV_ROOT", PYENV_ROOTS[0])
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # On GitHub Actions every run under test would append its summary to the job's.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)


@dataclass(frozen=True)
class Inventory:
    """Names of what an account holds."""

    endpoints: tuple[str, ...]
    configs: tuple[str, ...]
    models: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.endpoints or self.configs or self.models)


def inventory_of(sagemaker: Any) -> Inventory:
    return Inventory(
        endpoints=tuple(sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"])),
        configs=tuple(
            sorted(
                c["EndpointConfigName"]
                for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
            )
        ),
        models=tuple(sorted(m["ModelName"] for m in sagemaker.list_models()["Models"])),
    )


@dataclass
class MotoServer:
    """A moto server on loopback, standing in for real AWS on the aws backend's code path."""

    url: str
    region: str = "us-east-1"

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def inventory(self) -> Inventory:
        return inventory_of(self.client("sagemaker"))

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


@pytest.fixture(scope="session")
def _moto_server_process() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_server(_moto_server_process: str, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A fresh moto server account, with AWS_ENDPOINT_URL and credentials pointing at it."""
    server = MotoServer(_moto_server_process)
    server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", server.region)
    return server


@pytest.fixture
def audit(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Installs the audit conftest; call the result to read what the run left behind."""
    pytester.makeconftest(AUDIT_CONFTEST)
    audit_file = pytester.path / "audit.json"
    monkeypatch.setenv("SM_AUDIT_FILE", str(audit_file))

    def read() -> Inventory:
        left = json.loads(audit_file.read_text())
        return Inventory(tuple(left["endpoints"]), tuple(left["configs"]), tuple(left["models"]))

    return read


@pytest.fixture(scope="session")
def sklearn_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sklearn_model(tmp_path_factory.mktemp("model") / "iris")
