"""What an xdist worker learns of an endpoint served by the controller's shared moto server: the
served-by path answers its runtime and whether it reads CSV as float32, and the worker's serving
hooks read both (sm_invoke then sends float32 text from the worker too)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from pytest_smendpoint.aws.backends.moto.served_by import RemoteServing
from pytest_smendpoint.aws.backends.moto.server import ServingMiddleware


class FakeServing:
    def runtime_description(self, endpoint_name: str) -> str | None:
        return "image sagemaker-scikit-learn:1.9-0" if endpoint_name == "ep" else None

    def reads_csv_as_float32(self, endpoint_name: str) -> bool:
        return endpoint_name == "ep"


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def server_url() -> Iterator[str]:
    middleware = ServingMiddleware(lambda environ, start: [b""])
    middleware.serving = FakeServing()  # type: ignore[assignment]
    server = make_server("127.0.0.1", 0, middleware, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_worker_learns_that_the_shared_servers_endpoint_reads_float32(server_url: str) -> None:
    remote = RemoteServing(server_url)
    assert remote.runtime_description("ep") == "image sagemaker-scikit-learn:1.9-0"
    assert remote.reads_csv_as_float32("ep") is True
    assert remote.reads_csv_as_float32("other") is False
    assert RemoteServing("http://127.0.0.1:9").reads_csv_as_float32("ep") is False  # unreachable
